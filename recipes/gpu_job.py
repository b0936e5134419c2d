"""Prepare a GPU job: set aside what a job does not need, run a command in the slimmed tree, put everything back.

The GPU machines this project can rent take a job as a copy of the working tree as it is on disk, at most 64 MiB.
The tree is about 109 MB; what a training or benchmark job needs is the code, the recipes and the benchmarks. So
this script moves the served weights and the judges (`weights/`), the golden test files (`tests/fixtures/`) and
everything git ignores (`web/node_modules`, caches, `test-artifacts/`, exported web models, ...) into a folder
beside the repository (same file system: a rename, so nothing is copied and every byte comes back as it was),
checks that what stays is under 60 MB, runs the command from the repository root through the project's own entry
points (`accelerate launch train_accelerate.py ...`, `python -m benchmarks.training ...`), and moves everything
back, also when the command fails or is interrupted (Ctrl-C, SIGTERM). A job that needs one set-aside path keeps it
with `--keep PATH` (e.g. `--keep weights/facades_label2photo`, 7.8 MB). The machines reach nothing outside the copy,
so the data a job trains on must be in the tree: copy it in first (`cp -r ../shared/data/facades job_data/`, 25 MB;
an untracked folder travels unless git ignores it, and then `--keep` takes it along) and remove it afterwards.

    python -m recipes.gpu_job --size                 # what would travel, in bytes, and what is set aside
    python -m recipes.gpu_job -- COMMAND [ARGS ...]  # set aside, run COMMAND, put back; exits with COMMAND's status
    python -m recipes.gpu_job --restore              # put back what a killed run (SIGKILL, power loss) left aside

Measured on this tree (168.6 MB of tracked files): 7.6 MB travels (code, docs, examples, recipes, benchmarks,
tests without their fixtures; 4.9 MB before the BicycleGAN docs and grids); with `--keep weights/facades_label2photo`,
about 28 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SET_ASIDE = ("weights", "tests/fixtures")  # served weights, judges, golden files: not what a training job runs
LIMIT_BYTES = 60_000_000  # the machines take 64 MiB; leave room for what the job writes into the tree
MANIFEST = "manifest.json"


def aside_folder(root: Path) -> Path:
    """Where set-aside paths wait: beside the repository, on its file system, so moving is a rename."""
    return root.parent / f".{root.name}.gpu-job-aside"


def ignored_paths(root: Path) -> list[str]:
    """What git ignores in the tree (folders once, as git names them), e.g. `web/node_modules/`, `__pycache__/`."""
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [path.rstrip("/") for path in listed.split("\0") if path]


def paths_to_set_aside(root: Path, keep: list[str]) -> list[str]:
    """The default set plus every ignored path, less what the job keeps (and the Python running this, when it lives
    in the tree): a folder holding a kept path goes aside entry by entry around it."""
    kept = {Path(path).as_posix().rstrip("/") for path in keep}
    python = Path(sys.prefix).resolve()
    if python.is_relative_to(root):  # a virtual environment inside the tree runs the command: it stays
        kept.add(python.relative_to(root).as_posix())
    chosen: list[str] = []
    for path in dict.fromkeys([*SET_ASIDE, *ignored_paths(root)]):
        if (root / path).exists() and not any(path.startswith(done + "/") for done in chosen):
            chosen += _around_kept(root, path, kept)
    return chosen


def _around_kept(root: Path, path: str, kept: set[str]) -> list[str]:
    """`path` itself, or, when a kept path lies inside it, its entries around the kept one (recursively)."""
    if path in kept:
        return []
    if not any(kept_path.startswith(path + "/") for kept_path in kept):
        return [path]
    entries = sorted(entry.relative_to(root).as_posix() for entry in (root / path).iterdir())
    return [inner for entry in entries for inner in _around_kept(root, entry, kept)]


def tree_bytes(root: Path, leave_out: list[str] = ()) -> int:
    """Bytes of every file on disk under `root`, ignored ones included, `.git` and `leave_out` excluded: what a copy
    of the tree holds."""
    skipped = {".git", *leave_out}
    total = 0
    for folder, subfolders, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        subfolders[:] = [name for name in subfolders if (relative / name).as_posix() not in skipped]
        total += sum(
            (Path(folder) / name).lstat().st_size for name in files if (relative / name).as_posix() not in skipped
        )
    return total


def set_aside(root: Path, paths: list[str]) -> Path:
    """Move `paths` into the aside folder, writing the manifest first so that `--restore` can always undo it."""
    aside = aside_folder(root)
    if aside.exists():
        raise SystemExit(f"{aside} exists: a job's paths are still aside; run `python -m recipes.gpu_job --restore`")
    aside.mkdir()
    (aside / MANIFEST).write_text(json.dumps({"root": str(root), "paths": paths}, indent=2))
    for index, path in enumerate(paths):
        os.rename(root / path, aside / str(index))
    return aside


def restore(root: Path) -> list[str]:
    """Move every set-aside path back where it was and remove the aside folder; returns the paths."""
    aside = aside_folder(root)
    if not aside.exists():
        return []
    paths = json.loads((aside / MANIFEST).read_text())["paths"]
    for index, path in enumerate(paths):
        if (aside / str(index)).exists():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            os.rename(aside / str(index), root / path)
    (aside / MANIFEST).unlink()
    aside.rmdir()
    return paths


def run_job(root: Path, command: list[str], keep: list[str]) -> int:
    """Set aside, check the size, run `command` from the root, and always put everything back."""
    paths = paths_to_set_aside(root, keep)
    if aside_folder(root).exists():  # a killed run's paths: put them back first, never mix two jobs' paths
        raise SystemExit(f"{aside_folder(root)} exists: run `python -m recipes.gpu_job --restore` first")
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM unwinds through `finally` too
    try:
        set_aside(root, paths)  # inside: a move that fails or is interrupted half-way is undone too
        travelling = tree_bytes(root)
        print(f"gpu_job: {travelling / 1e6:.1f} MB travels; {len(paths)} paths set aside", file=sys.stderr)
        if travelling > LIMIT_BYTES:
            print(f"gpu_job: over the {LIMIT_BYTES / 1e6:.0f} MB limit; set more aside", file=sys.stderr)
            return 2
        return subprocess.run(command, cwd=root, check=False).returncode
    except KeyboardInterrupt:
        print("gpu_job: interrupted; putting everything back", file=sys.stderr)
        return 130
    finally:
        restore(root)
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recipes.gpu_job", description=__doc__.split("\n\n")[0], epilog="see the module docstring"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="after --: the command to run in the slim tree")
    parser.add_argument("--keep", action="append", default=[], help="a set-aside path the job needs (repeatable)")
    parser.add_argument(
        "--size", action="store_true", help="print what would travel and what is set aside; run nothing"
    )
    parser.add_argument("--restore", action="store_true", help="put back what a killed run left aside")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)  # the tests' scratch tree
    args = parser.parse_args(argv)
    root = args.root.resolve()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.restore:
        print(f"gpu_job: put back {len(restore(root))} paths", file=sys.stderr)
        return 0
    if args.size:
        paths = paths_to_set_aside(root, args.keep)
        print(json.dumps({"travels_bytes": tree_bytes(root, paths), "set_aside": paths}, indent=2))
        return 0
    if not command:
        parser.error("give a command after --, or --size or --restore")
    return run_job(root, command, args.keep)


if __name__ == "__main__":
    sys.exit(main())
