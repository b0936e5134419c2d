"""Inference speed: eager float32 `generator(x)` against the pipeline's backends, and the app under load.

    python -m benchmarks.inference            # writes the "Inference" and "App" sections of benchmarks/RESULTS.md

The paper's U-Net-256 (ngf 64, batch norm with trained-looking statistics) on one image at 256x256 and at
512x512 in "eval" mode, and at 256x256 in "paper" mode (the bundled models' mode; eager runs the plain paper-mode
network with the masks the pipelines draw for seed 0). Every path gets the same input; the table reports median
latency, the speed-up over eager float32, the largest absolute difference from the eager output and the PSNR
against it (outputs span [-1, 1]). The int8 row's ranges come from random inputs (this network is untrained):
it times int8, and the bundled models' own calibrations (weights/*/int8_calibration.json) say how close int8
stays on real data. The row
"export without graph rewrites" is ONNX Runtime on the plain export, without `pix2pix_hub.graph_rewrites`; two
more rows measure candidates the pipeline does not use: eager with channels-last tensors, and (at the first size,
"eval" mode) `torch.compile` of the rewritten graph, whose start-up cost the row names.
Then `python app.py` is started on a loopback port with that model (and its int8 calibration) behind the facades
task, and 1, 4 and 16 concurrent `gradio_client` callers hit `/translate`.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch._inductor.config
from gradio_client import Client, handle_file
from PIL import Image

from benchmarks.common import interleaved_rounds, write_section
from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.calibrate_int8 import graph_feeds, record_ranges
from pix2pix_hub.evaluation.metrics import output_psnr
from pix2pix_hub.inference.fast.int8 import Int8Calibration, weights_sha256
from pix2pix_hub.inference.fast.onnx import OnnxGenerator, export_to_onnx
from pix2pix_hub.inference.fast.rewrites import fast_inference_graph
from pix2pix_hub.inference.paper_mode import PaperModeNetwork
from space.launch import start_app


def trained_looking_generator() -> Pix2PixGenerator:
    torch.manual_seed(0)
    generator = Pix2PixGenerator()  # the paper's unet_256
    for layer in generator.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.2, 0.2)
            layer.running_var.uniform_(0.5, 2.0)
    return generator.eval()


INT8_FLOAT_LEVELS = 2  # what the bundled models' validations settled on (weights/*/int8_calibration.json)


def random_input_calibration(generator: Pix2PixGenerator, size: int) -> Int8Calibration:
    """Int8 ranges over random inputs: enough to time int8 on this untrained network (a real model's calibration
    comes from its own data, `python -m pix2pix_hub.calibrate_int8`)."""
    paper_mode = PaperModeNetwork(generator) if generator.inference_mode == "paper" else None
    sources = torch.rand(8, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    ranges = record_ranges(export_to_onnx(generator, paper_mode, size), graph_feeds(sources, paper_mode, seed=0))
    return Int8Calibration(
        weights_sha256(generator), size, generator.inference_mode, INT8_FLOAT_LEVELS, ranges, validation={}
    )


def inference(network: Callable, *inputs: torch.Tensor) -> Callable[[], torch.Tensor]:
    """A no-argument call of `network(*inputs)` in inference mode, as the timing loop wants it."""

    def run() -> torch.Tensor:
        with torch.inference_mode():
            return network(*inputs)

    return run


def compiled(network: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> tuple[Callable, float]:
    """`torch.compile` (inductor, weights frozen as constants) and the seconds its first call took."""
    start = time.perf_counter()
    with torch._inductor.config.patch(freezing=True), torch.inference_mode():
        network = torch.compile(network)
        network(*example)
    return network, time.perf_counter() - start


def measure(generator: Pix2PixGenerator, size: int, rounds: int, repeats: int, with_compile: bool = False) -> list[str]:
    """Table rows for one input size and the generator's inference mode: eager float32 and each backend.

    Besides the pipeline's backends, two candidates the pipeline does not use: eager PyTorch with channels-last
    tensors, and (`with_compile`) `torch.compile` of the rewritten graph, whose compile time is in its name.
    """
    mode = generator.inference_mode
    pipelines = {
        backend: Pix2PixPipeline(generator, device="cpu", image_size=size, backend=backend)
        for backend in ("onnxruntime", "torch")
    }
    int8 = Pix2PixPipeline(
        generator, device="cpu", image_size=size, int8_calibration=random_input_calibration(generator, size)
    )
    x = torch.rand(1, 3, size, size) * 2 - 1
    # paper mode: the plain network with the dropout masks the pipelines draw for seed 0
    paper_mode = PaperModeNetwork(generator) if mode == "paper" else None
    masks = paper_mode.draw_masks(x.shape, torch.Generator().manual_seed(0)) if paper_mode else []

    eager = inference(paper_mode or generator, x, *masks)
    reference = eager()
    plain_export = OnnxGenerator(generator, paper_mode, size, fast_graph=False)  # what the rewrites are worth
    candidates = {"eager float32": eager}
    candidates |= {f"pipeline backend={name}": (lambda p=p: p.forward(x, seed=0)) for name, p in pipelines.items()}
    int8_name = f"pipeline with an int8 calibration ({INT8_FLOAT_LEVELS} float32 levels)"
    candidates[int8_name] = lambda: int8.forward(x, seed=0)
    candidates["onnxruntime, export without graph rewrites"] = lambda: plain_export(x, masks)
    channels_last = copy.deepcopy(paper_mode or generator).to(memory_format=torch.channels_last)
    candidates["eager float32, channels-last"] = inference(
        channels_last, x.contiguous(memory_format=torch.channels_last), *masks
    )
    if with_compile:
        network, seconds = compiled(fast_inference_graph(paper_mode or generator.net), (x, *masks))
        candidates[f"torch.compile of the rewritten graph (first call {seconds:.0f} s)"] = inference(network, x, *masks)
    per_round = interleaved_rounds(candidates, rounds, repeats)
    baseline = per_round["eager float32"]
    rows = []
    for name, seconds in per_round.items():
        output = candidates[name]()
        difference, fidelity = (output - reference).abs().max().item(), output_psnr(output.numpy(), reference.numpy())
        default = {
            "pipeline backend=onnxruntime": " (default: float32 for a model without an int8 calibration)",
            int8_name: " (default for a calibrated model)",
        }.get(name, "")
        ratios = [slow / own for slow, own in zip(baseline, seconds, strict=True)]  # each round's own speed-up
        rows.append(
            f"| {size}x{size} | {mode} | {name}{default} | {statistics.median(seconds) * 1000:.1f} "
            f"| {statistics.median(baseline) / statistics.median(seconds):.2f}x | {min(ratios):.2f}-{max(ratios):.2f}x "
            f"| {difference:.1e} | {fidelity:.1f} |"
        )
        print(rows[-1], flush=True)
    return rows


def load_test(url: str, image: Path, callers: int, requests_each: int) -> str:
    """Latency and throughput of `/translate` with `callers` concurrent clients; every error is counted."""
    clients = [Client(url, verbose=False) for _ in range(callers)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def caller(client: Client) -> None:
        for _ in range(requests_each):
            start = time.perf_counter()
            try:
                client.predict("facades_label2photo", handle_file(str(image)), api_name="/translate")
                with lock:
                    latencies.append(time.perf_counter() - start)
            except Exception as error:  # counted and reported, never hidden
                with lock:
                    errors.append(repr(error))

    threads = [threading.Thread(target=caller, args=(client,)) for client in clients]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    row = (
        f"| {callers} | {len(latencies) + len(errors)} | {len(errors)} | {statistics.median(latencies) * 1000:.0f} | "
        f"{len(latencies) / elapsed:.2f} |"
    )
    print(row, errors[:3], flush=True)
    return row


def measure_app(generator: Pix2PixGenerator, requests_each: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        generator.save_pretrained(workdir / "model")
        random_input_calibration(generator, 256).save(workdir / "model")  # served in int8, as calibrated models are
        image = workdir / "input.png"
        Image.effect_mandelbrot((256, 256), (-2, -1.5, 1, 1.5), 64).convert("RGB").save(image)
        env = {
            "HF_HUB_OFFLINE": "1",
            "GRADIO_TEMP_DIR": str(workdir / "uploads"),
            "PIX2PIX_MODEL_FACADES_LABEL2PHOTO": str(workdir / "model"),
        }
        process, url = start_app(env, workdir / "app.log")
        try:
            load_test(url, image, 1, 2)  # warm-up: model load, first request
            rows = [load_test(url, image, callers, requests_each) for callers in (1, 4, 16)]
        finally:
            process.terminate()
            process.wait(timeout=60)
    return "\n".join(
        [
            "`python app.py` serving U-Net-256 (ngf 64, with an int8 calibration) on loopback; each caller sends "
            f"{requests_each} 256x256 PNGs to `/translate` through `gradio_client`, one after another.",
            "",
            "| concurrent callers | requests | errors | median latency ms | throughput req/s |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--app_requests", type=int, default=4, help="requests per caller in the app load test")
    args = parser.parse_args()

    generator = trained_looking_generator()
    rows = [
        row
        for size in args.sizes
        for row in measure(generator, size, args.rounds, args.repeats, with_compile=size == args.sizes[0])
    ]
    paper = trained_looking_generator()
    paper.inference_mode = "paper"  # the bundled models' mode: per-image statistics, seeded dropout masks
    rows += measure(paper, args.sizes[0], args.rounds, args.repeats)
    table = "\n".join(
        [
            "U-Net-256 (ngf 64, 54.4M parameters), batch 1, median of "
            f"{args.rounds} interleaved rounds x {args.repeats} calls; the range is the lowest and highest speed-up "
            "of a single round (the machine's speed drifts between rounds).",
            "",
            "| input | inference mode | path | median ms | speed-up vs eager | range over rounds "
            "| max abs diff vs eager | PSNR vs eager dB |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    write_section("Inference (CPU)", table)
    write_section("App /translate under concurrent callers", measure_app(generator, args.app_requests))


if __name__ == "__main__":
    main()
