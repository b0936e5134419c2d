"""The default path of every bundled model at two commits, side by side in one run: is a refactor any slower?

    python -m benchmarks.before_after --before 5532c3e [--rounds 7] [--calls 20] [--threads 2]

The `--before` commit is checked out (`git worktree`, code only, in a temporary folder) and each model's default
call, `Pix2PixPipeline.from_pretrained(model)(example, seed=0)`, is timed in a child process per tree, alternating
before, after, before, ... for `--rounds` rounds of `--calls` calls each (after untimed warm-up calls), so that
drift on this shared machine hits both alike. The table gives each tree's median milliseconds per call and the
median of the per-round ratios after/before (below 1: faster now), and writes a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import write_section

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS = {  # model folder (subfolder) -> the example it translates
    "facades_label2photo": ("weights/facades_label2photo", None, "examples/facades_label2photo/1_input.jpg"),
    "sat2map": ("weights/sat2map", None, "examples/sat2map/1_input.jpg"),
    "cityscapes_photo2label": ("weights/cityscapes_photo2label", None, "examples/cityscapes_photo2label/1_input.jpg"),
    "edges2shoes": ("weights/edges2shoes", None, "examples/edges2shoes/1_input.jpg"),
    "apple2orange": ("weights/apple2orange", "AtoB", "examples/apple2orange/1_input.jpg"),
}
CHILD = r"""
import json, statistics, sys, time
import torch
torch.set_num_threads(int(sys.argv[5]))
from pix2pix_hub import Pix2PixPipeline
folder, subfolder, example, calls = sys.argv[1], sys.argv[2] or None, sys.argv[3], int(sys.argv[4])
pipe = Pix2PixPipeline.from_pretrained(folder, subfolder=subfolder).warm_up()
for _ in range(5):
    pipe(example, seed=0)
seconds = []
for _ in range(calls):
    start = time.perf_counter()
    pipe(example, seed=0)
    seconds.append(time.perf_counter() - start)
print(json.dumps({"median": statistics.median(seconds), "precision": pipe.precision}))
"""


def timed(tree: Path, model: str, calls: int, threads: int) -> dict:
    """One child's median seconds per default call of `model`, with `tree`'s code (and this tree's weights)."""
    folder, subfolder, example = MODELS[model]
    argv = [str(REPO_ROOT / folder), subfolder or "", str(REPO_ROOT / example), str(calls), str(threads)]
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the commit to compare with (e.g. the one before a refactor)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        before = Path(folder) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), args.before], cwd=REPO_ROOT, check=True)
        try:
            rows = [measure(model, before, args) for model in MODELS]
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=REPO_ROOT, check=True)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    table = (
        f"| model | precision | ms before ({args.before}) | ms after ({head.stdout.strip()}) | after / before, "
        "median of rounds (range) |\n|---|---|---|---|---|\n" + "\n".join(rows)
    )
    print(table)
    write_section(f"Default path before and after a refactor ({args.threads} threads)", table)


def measure(model: str, before: Path, args: argparse.Namespace) -> str:
    """One table row: `args.rounds` alternating rounds of the two trees."""
    times: dict[str, list[float]] = {"before": [], "after": []}
    precision = ""
    for _ in range(args.rounds):
        for name, tree in (("before", before), ("after", REPO_ROOT)):
            result = timed(tree, model, args.calls, args.threads)
            times[name].append(result["median"])
            precision = result["precision"]
    ratios = [after / earlier for after, earlier in zip(times["after"], times["before"], strict=True)]
    row = (
        f"| {model} | {precision} | {statistics.median(times['before']) * 1000:.2f} "
        f"| {statistics.median(times['after']) * 1000:.2f} | **{statistics.median(ratios):.3f}** "
        f"({min(ratios):.3f}-{max(ratios):.3f}) |"
    )
    print(row, flush=True)
    return row


if __name__ == "__main__":
    main()
