"""Our trainer's loop against the reference implementation's own, unmodified, side by side: steps per second.

    python -m benchmarks.reference_loop --reference_code DIR [--reference_python PY] [--data ../shared/data/facades]

DIR holds `models/`, `data/`, `options/` and `util/` of junyanz/pytorch-CycleGAN-and-pix2pix (2a7afba), e.g.
`git archive 2a7afba models data options util | tar -x -C DIR`; PY is a Python that can import `torchvision`'s
`transforms` beside this torch (a venv with `pip install --no-deps torchvision`; only `torchvision.transforms` is
imported, without the package's compiled operators).

Three worker processes, each on one thread, train pix2pix on facades (BtoA) with the same recipe: unet_128,
ngf = ndf = 32, load 143, random crop 128, flips, batch 1, vanilla GAN + 100 L1, data decoded in the process:
- reference: the reference's `train.py` loop body (`create_dataset`, `create_model`, `setup`, then `set_input` and
  `optimize_parameters` per batch), float32, without its display, printing and saving;
- ours float32 and ours bf16: `train_accelerate.py`'s own `set_up` and `run_steps` with
  `--mixed_precision no` / `bf16` (checkpoints and evaluation off, logging on).
The parent asks each worker in turn for a round of steps (interleaved, so drift on the machine hits all alike) and
reports the median steps per second over the rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

RECIPE = {"width": 32, "load_size": 143, "crop_size": 128, "arch": "unet_128"}


def reference_steps_function(code: Path, data: Path, scratch: Path):
    """The reference's model and data loader, built as its train.py builds them; returns `steps(count)`."""
    spec = importlib.util.find_spec("torchvision")  # import transforms without torchvision's compiled operators
    package = types.ModuleType("torchvision")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["torchvision"] = package
    sys.path.insert(0, str(code))
    from data import create_dataset
    from models import create_model
    from options.train_options import TrainOptions
    from util.util import init_ddp

    sys.argv = ["train.py", "--dataroot", str(data), "--name", "bench", "--checkpoints_dir", str(scratch)]
    sys.argv += ["--model", "pix2pix", "--direction", "BtoA", "--netG", RECIPE["arch"]]
    sys.argv += ["--ngf", str(RECIPE["width"]), "--ndf", str(RECIPE["width"]), "--num_threads", "0"]
    sys.argv += ["--load_size", str(RECIPE["load_size"]), "--crop_size", str(RECIPE["crop_size"])]
    opt = TrainOptions().parse()
    opt.device = init_ddp()
    dataset = create_dataset(opt)
    model = create_model(opt)
    model.setup(opt)
    batches = iter(())

    def steps(count: int) -> None:
        nonlocal batches
        for _ in range(count):
            batch = next(batches, None)
            if batch is None:  # a new epoch, as train.py's outer loop
                batches = iter(dataset)
                batch = next(batches)
            model.set_input(batch)
            model.optimize_parameters()

    return steps


def our_steps_function(precision: str, data: Path, scratch: Path):
    """`train_accelerate.py`'s run, advanced `count` steps at a time through its own loop."""
    from pix2pix_hub.methods import get_method
    from pix2pix_hub.training.arguments import parse_args
    from pix2pix_hub.training.loop import resume, run_steps, set_up

    args = parse_args(
        ["--dataset", str(data), "--direction", "BtoA", "--arch", RECIPE["arch"], "--mixed_precision", precision]
        + ["--ngf", str(RECIPE["width"]), "--ndf", str(RECIPE["width"]), "--output_dir", str(scratch / "ours")]
        + ["--load_size", str(RECIPE["load_size"]), "--crop_size", str(RECIPE["crop_size"])]
        + ["--report_to", "none", "--eval_steps", "0", "--checkpointing_steps", "0"]
    )
    run = set_up(get_method(args.method), args)
    resume(run)

    def steps(count: int) -> None:
        run.max_steps = run.step + count
        run_steps(run)

    return steps


def serve(worker: str, data: Path, code: Path | None) -> None:
    """Worker: build, then for each line N on stdin run N steps and answer the seconds they took."""
    import torch

    torch.set_num_threads(1)
    answers = os.fdopen(os.dup(1), "w")  # the libraries' prints go to stderr, only answers to the parent
    os.dup2(2, 1)
    with tempfile.TemporaryDirectory() as scratch:
        if worker == "reference":
            steps = reference_steps_function(code, data, Path(scratch))
        else:
            steps = our_steps_function(worker, data, Path(scratch))
        for line in sys.stdin:
            start = time.perf_counter()
            steps(int(line))
            answers.write(f"{time.perf_counter() - start}\n")
            answers.flush()


def start_worker(python: str, worker: str, data: Path, code: Path) -> subprocess.Popen:
    command = [python, "-m", "benchmarks.reference_loop", "--serve", worker, "--data", str(data)]
    command += ["--reference_code", str(code)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent.parent)}
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment
    )


def ask(worker: subprocess.Popen, steps: int) -> float:
    worker.stdin.write(f"{steps}\n")
    worker.stdin.flush()
    answer = worker.stdout.readline()
    if not answer:
        raise RuntimeError(f"a worker ({' '.join(worker.args[3:5])}) stopped; run it alone to see its error")
    return float(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference_code", type=Path, required=True)
    parser.add_argument("--reference_python", default=sys.executable)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/facades"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="steps per worker and round")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.data.resolve(), args.reference_code.resolve())
    pythons = {"reference": args.reference_python, "no": sys.executable, "bf16": sys.executable}
    workers = {
        name: start_worker(python, name, args.data.resolve(), args.reference_code.resolve())
        for name, python in pythons.items()
    }
    rates: dict[str, list[float]] = {name: [] for name in workers}
    with contextlib.ExitStack() as stack:
        for worker in workers.values():
            stack.callback(worker.kill)
        for worker in workers.values():
            ask(worker, 3)  # warm-up: allocator, oneDNN primitive caches, first epoch's files
        for _ in range(args.rounds):
            for name, worker in workers.items():
                rates[name].append(args.steps / ask(worker, args.steps))
    report(rates, args)


def report(rates: dict[str, list[float]], args: argparse.Namespace) -> None:
    from benchmarks.common import write_section
    from pix2pix_hub.training.precision import detect_hardware

    median = {name: statistics.median(values) for name, values in rates.items()}
    names = {"reference": "reference (junyanz 2a7afba), float32", "no": "ours, float32", "bf16": "ours, bf16"}
    rows = [
        f"| {names[name]} | {median[name]:.2f} | {min(values):.2f}-{max(values):.2f} | "
        f"**{median[name] / median['reference']:.2f}x** |"
        for name, values in rates.items()
    ]
    body = (
        f"pix2pix on `{args.data}` (BtoA), unet_128, ngf = ndf = 32, load 143, crop 128, batch 1, data decoded in "
        f"each process, one thread per process; {args.rounds} interleaved rounds of {args.steps} steps per loop after "
        f"3 warm-up steps. bf16 here: {detect_hardware().description}.\n\n"
        "| loop | steps/s (median) | range over rounds | vs the reference |\n|---|---|---|---|\n" + "\n".join(rows)
    )
    write_section("Training loop vs the reference implementation (CPU)", body)
    print(body)


if __name__ == "__main__":
    main()
