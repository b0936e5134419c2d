"""Helpers shared by the benchmark scripts: interleaved timing, machine description, RESULTS.md sections."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "RESULTS.md"


WARM_SECONDS = 0.05  # untimed calls before each candidate's timed ones in a round: longer than OpenMP's spin-wait


def interleaved_rounds(
    candidates: dict[str, Callable[[], object]], rounds: int, repeats: int
) -> dict[str, list[float]]:
    """Each candidate's median seconds per call in every round; candidates alternate so drift hits all alike.

    Each candidate's calls in a round follow `WARM_SECONDS` of untimed calls of it: PyTorch's OpenMP workers keep
    spinning on the cores for milliseconds after a call returns, which slowed whichever candidate ran next (ONNX
    Runtime's worker most, up to 1.8x), so each is timed in its own steady state, as when it is called again and
    again. (A pause instead lets this virtual machine's cores go idle, and the next calls then run up to 2x slower.)
    """
    for run in candidates.values():  # warm-up: allocations, ONNX Runtime's first-run planning
        run()
    per_round: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            warm_until = time.perf_counter() + WARM_SECONDS
            run()
            while time.perf_counter() < warm_until:
                run()
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                run()
                samples.append(time.perf_counter() - start)
            per_round[name].append(statistics.median(samples))
    return per_round


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, TypeError):  # no lscpu, or no model name in it
        cpu = re.search(r"Model name:\s*(.+)", subprocess.run(["lscpu"], capture_output=True, text=True).stdout)[1]
    import onnxruntime

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    load = os.getloadavg()[0]  # other work on the machine skews absolute times; interleaving protects ratios
    return (
        f"{cpu}, {torch.get_num_threads()} torch threads, {gpu}, 1-minute load average {load:.1f} when written; "
        f"Python {platform.python_version()}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}"
    )


def write_section(title: str, body: str) -> None:
    """Replace (or add) the `## title` section of RESULTS.md with a dated body and the command that made it."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m benchmarks." + Path(sys.argv[0]).stem + "".join(f" {a}" for a in sys.argv[1:])
    section = f"## {title}\n\n{stamp} · {machine_description()}\n\nCommand: `{command}`\n\n{body.strip()}\n"
    text = (
        RESULTS.read_text()
        if RESULTS.exists()
        else "# Benchmark results\n\nWritten by the scripts in benchmarks/; never edited by hand.\n"
    )
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")
