"""Inference speed: eager float32 `generator(x)` against the pipeline's backends, side by side in one run.

    python -m benchmarks.inference            # writes the "Inference" section of benchmarks/RESULTS.md

The paper's U-Net-256 (ngf 64, batch norm with trained-looking statistics) on one image at 256x256 and at
512x512. Every path gets the same input; the table reports median latency, the speed-up over eager float32
and the largest absolute difference from the eager output.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.common import interleaved_medians, write_section
from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline


def trained_looking_generator() -> Pix2PixGenerator:
    torch.manual_seed(0)
    generator = Pix2PixGenerator()  # the paper's unet_256
    for layer in generator.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.2, 0.2)
            layer.running_var.uniform_(0.5, 2.0)
    return generator.eval()


def measure(generator: Pix2PixGenerator, size: int, rounds: int, repeats: int) -> list[str]:
    """Table rows for one input size: eager float32 and each pipeline backend."""
    pipelines = {
        backend: Pix2PixPipeline(generator, device="cpu", image_size=size, backend=backend)
        for backend in ("onnxruntime", "torch")
    }
    x = torch.rand(1, 3, size, size) * 2 - 1

    def eager() -> torch.Tensor:
        with torch.inference_mode():
            return generator(x)

    reference = eager()
    candidates = {"eager float32 generator(x)": eager}
    candidates |= {f"pipeline backend={name}": (lambda p=p: p.forward(x)) for name, p in pipelines.items()}
    medians = interleaved_medians(candidates, rounds, repeats)
    baseline = medians["eager float32 generator(x)"]
    rows = []
    for name, seconds in medians.items():
        difference = (candidates[name]() - reference).abs().max().item()
        default = " (default)" if name == "pipeline backend=onnxruntime" else ""
        rows.append(
            f"| {size}x{size} | {name}{default} | {seconds * 1000:.1f} | {baseline / seconds:.2f}x | {difference:.1e} |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    args = parser.parse_args()

    generator = trained_looking_generator()
    rows = [row for size in args.sizes for row in measure(generator, size, args.rounds, args.repeats)]
    table = "\n".join(
        [
            "U-Net-256 (ngf 64, 54.4M parameters), batch 1, median of "
            f"{args.rounds} interleaved rounds x {args.repeats} calls.",
            "",
            "| input | path | median ms | speed-up vs eager | max abs diff vs eager |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )
    write_section("Inference (CPU)", table)


if __name__ == "__main__":
    main()
