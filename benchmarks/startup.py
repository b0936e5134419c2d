"""Start-up of the trainer: how long `--help` takes, and how long a real run takes to finish its first step.

    python -m benchmarks.startup                  # writes the "Start-up" section of benchmarks/RESULTS.md
    python -m benchmarks.startup --data ../shared/data/facades --rounds 3 --help_runs 5

`--help` is timed as a whole process (median of `--help_runs`). A real run (a tiny U-Net-128 on the paired folder,
`--max_train_steps 1 --logging_steps 1`) is launched as `python train_accelerate.py ...`, as
`OMP_NUM_THREADS=1 python train_accelerate.py ...` (the one CPU thread `accelerate launch` sets) and as
`accelerate launch train_accelerate.py ...`, alternating, `--rounds` times each. Its phases are read from the
timestamps of OUTPUT_DIR/logs/train.log against the wall clock at launch: the first log line (Python, imports,
the Accelerator and the data listing done), "networks ready" (built, prepared, resumed), "step 1:" (the first
optimisation step done), and the process's exit (after the final evaluation on the eval split and the save).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import write_section

ROOT = Path(__file__).resolve().parent.parent
TINY_RUN = ["--direction", "BtoA", "--arch", "unet_128", "--ngf", "8", "--ndf", "8"]
TINY_RUN += ["--load_size", "143", "--crop_size", "128"]
ONE_STEP = ["--max_train_steps", "1", "--logging_steps", "1", "--report_to", "none"]
# (phase, the train.log line that ends it; None: the first line)
PHASES = [("first log line", None), ("networks ready", "training samples, "), ("step 1 done", "step 1: ")]


def launchers() -> dict[str, tuple[list[str], dict[str, str]]]:
    """How a user starts the trainer (command, extra environment); the middle row runs plain `python` with the one
    CPU thread that `accelerate launch` sets (OMP_NUM_THREADS=1 when unset), to tell the launcher's own cost from
    the threads' effect."""
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or shutil.which("accelerate")
    if accelerate is None:
        raise SystemExit("no `accelerate` command on PATH (pip install accelerate)")
    python = [sys.executable, "train_accelerate.py"]
    return {
        "python train_accelerate.py": (python, {}),
        "OMP_NUM_THREADS=1 python train_accelerate.py": (python, {"OMP_NUM_THREADS": "1"}),
        "accelerate launch train_accelerate.py": ([accelerate, "launch", "train_accelerate.py"], {}),
    }


def process_seconds(command: list[str]) -> float:
    """Wall time of one process from launch to exit; it must succeed."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def log_time(line: str) -> float:
    """The wall-clock time of a train.log line (logging's asctime: local time, milliseconds)."""
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def timed_run(command: list[str], environment: dict[str, str], data: Path) -> dict[str, float]:
    """Seconds from launch to each phase and to exit, for one real one-step run in a fresh output folder."""
    with tempfile.TemporaryDirectory(prefix="startup-") as output_dir:
        argv = [*command, "--dataset", str(data.resolve()), "--output_dir", output_dir, *TINY_RUN, *ONE_STEP]
        launched = time.time()
        result = subprocess.run(argv, cwd=ROOT, env=os.environ | environment, capture_output=True, text=True)
        exited = time.time()
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        lines = (Path(output_dir) / "logs" / "train.log").read_text(encoding="utf-8").splitlines()
    seconds = {}
    for phase, marker in PHASES:
        found = [line for line in lines if marker is None or marker in line]
        if not found:
            raise SystemExit(f"logs/train.log of `{' '.join(argv)}` has no line with {marker!r}")
        seconds[phase] = log_time(found[0]) - launched
    return seconds | {"exit": exited - launched}


def spread(values: list[float]) -> str:
    """The median, and the range when there is more than one value."""
    median = f"{statistics.median(values):.1f}"
    return median if len(values) == 1 else f"{median} ({min(values):.1f}-{max(values):.1f})"


def measure_help(runs: int) -> list[str]:
    """`--help`, and `import torch` alone: the floor under any start-up that needs torch."""
    commands = {
        "python train_accelerate.py --help": [sys.executable, "train_accelerate.py", "--help"],
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):  # interleaved
        for name, command in commands.items():
            times[name].append(process_seconds(command))
    rows = [f"| `{name}` | {spread(values)} |" for name, values in times.items()]
    print(*rows, sep="\n", flush=True)
    return rows


def measure_first_step(data: Path, rounds: int) -> list[str]:
    """Phases of a real one-step run under each launcher, medians over interleaved rounds."""
    commands = launchers()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, (command, environment) in commands.items():
            runs[name].append(timed_run(command, environment, data))
            print(name, {phase: round(value, 1) for phase, value in runs[name][-1].items()}, flush=True)
    rows = []
    for name, measured in runs.items():
        cells = [spread([run[phase] for run in measured]) for phase in [*dict(PHASES), "exit"]]
        rows.append(f"| `{name}` | " + " | ".join(cells) + " |")
    print(*rows, sep="\n", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/facades"), help="a paired folder")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the real runs (default: 3)")
    parser.add_argument("--help_runs", type=int, default=5, help="--help processes timed (default: 5)")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"--data {args.data}: no such folder (a paired folder, e.g. ../shared/data/facades)")
    process_seconds([sys.executable, "-c", "import torch, accelerate, datasets"])  # warm the page cache
    load_before = os.getloadavg()[0]
    help_rows = measure_help(args.help_runs)
    step_rows = measure_first_step(args.data, args.rounds)
    load_after = os.getloadavg()[0]
    run_flags = " ".join([*TINY_RUN, *ONE_STEP])
    threads = f"{torch.get_num_threads()} intra-op threads"
    body = [
        f"Whole processes, seconds from launch; median of {args.help_runs} runs, range in brackets. "
        f"1-minute load average {load_before:.1f} before and {load_after:.1f} after the measurements.",
        "",
        "| command | s |",
        "|---|---|",
        *help_rows,
        "",
        f"A real run to its first step: `--dataset {args.data} {run_flags}`, median of {args.rounds} interleaved "
        "rounds (range in brackets), seconds from launch to each line of OUTPUT_DIR/logs/train.log: the first "
        "(imports, Accelerator, data listing), `... training samples, ...` (networks built and prepared), "
        "`step 1: ...` (the first step done); and to the process's exit (after the final evaluation on the eval "
        f"split and the save). Plain `python` runs torch's default {threads} (OMP_NUM_THREADS "
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}); `accelerate launch` sets OMP_NUM_THREADS=1 when it is unset.",
        "",
        "| launcher | first log line | networks ready | step 1 done | exit |",
        "|---|---|---|---|---|",
        *step_rows,
    ]
    write_section("Start-up (" + ("GPU" if torch.cuda.is_available() else "CPU") + ")", "\n".join(body))


if __name__ == "__main__":
    main()
