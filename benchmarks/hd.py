"""pix2pixHD's generators against pix2pix's U-Net: training-step time and peak memory at three image sizes.

    python -m benchmarks.hd [--sizes 256x256 512x256 1024x512] [--steps 3] [--threads 1]

Each (network, size) runs in a fresh process (so peak memory is its own): G forward + L1 backward + Adam step at
batch 1, one warm-up step, then the median of `--steps` timed steps; memory is the process's peak resident set
above what it held before the network was built. The networks are the papers' defaults: unet_256 (ngf 64, batch
norm, dropout), pix2pixHD's global generator (ngf 64, 4 downsamplings, 9 residual blocks, instance norm) and its
local enhancer (ngf 32 around a global part of ngf 64, 3 + 9 blocks). The local enhancer works at twice its global
part's resolution, so it is measured at the same image sizes as the others.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

NETWORKS = {
    "unet_256 (pix2pix)": {"arch": "unet_256", "ngf": 64, "norm": "batch", "use_dropout": True},
    "global (pix2pixHD G1)": {"arch": "global", "ngf": 64, "norm": "instance", "use_dropout": False},
    "local (pix2pixHD G2 + G1)": {"arch": "local", "ngf": 32, "norm": "instance", "use_dropout": False},
}


def measure(network: dict, height: int, width: int, steps: int) -> dict[str, float]:
    """One network at one size, in this process: median step seconds and peak memory (MiB) above the start."""
    from pix2pix_hub.networks import Pix2PixGenerator

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    torch.manual_seed(0)
    generator = Pix2PixGenerator(**network).train()
    optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
    source, target = torch.rand(2, 1, 3, height, width) * 2 - 1
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        loss = (generator(source) - target).abs().mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "seconds": statistics.median(times[1:]),
        "peak_mib": (peak - before) / 1024,
        "parameters_m": sum(p.numel() for p in generator.parameters()) / 1e6,
    }


def run_child(name: str, height: int, width: int, steps: int, threads: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.hd", "--child", name, f"{height}x{width}", str(steps), str(threads)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def table(results: dict) -> str:
    sizes = sorted({size for _, size in results}, key=lambda s: [int(x) for x in s.split("x")])
    lines = ["| generator | parameters | " + " | ".join(f"{s} step, peak memory" for s in sizes) + " |"]
    lines.append("|---|---|" + "---|" * len(sizes))
    for name in NETWORKS:
        cells = []
        for size in sizes:
            row = results[(name, size)]
            cells.append(row.get("error", f"{row['seconds']:.2f} s, {row['peak_mib']:.0f} MiB"))
        parameters = next((r["parameters_m"] for (n, _), r in results.items() if n == name and "parameters_m" in r), 0)
        lines.append(f"| {name} | {parameters:.1f} M | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        name, size, steps, threads = sys.argv[2:6]
        torch.set_num_threads(int(threads))
        height, width = (int(side) for side in size.split("x")[::-1])  # "WIDTHxHEIGHT" as people write it
        print(json.dumps(measure(NETWORKS[name], height, width, int(steps))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["256x256", "512x256", "1024x512"], help="WIDTHxHEIGHT")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no_write", action="store_true", help="print the table, leave RESULTS.md alone")
    args = parser.parse_args()
    results = {}
    for size in args.sizes:
        width, height = (int(side) for side in size.split("x"))
        for name in NETWORKS:
            results[(name, size)] = run_child(name, height, width, args.steps, args.threads)
            print(name, size, results[(name, size)], flush=True)
    body = (
        f"G forward + L1 backward + fused Adam at batch 1, {args.threads} thread(s), median of {args.steps} steps "
        "after a warm-up, each in its own process; peak memory is the resident set above the process's start.\n\n"
        + table(results)
    )
    print(body)
    if not args.no_write:
        from benchmarks.common import write_section

        write_section("pix2pixHD generators vs U-Net (CPU training step)", body)


if __name__ == "__main__":
    main()
