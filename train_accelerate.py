"""Train pix2pix (or another method of the family) with 🤗 Accelerate: one CPU, one GPU, many GPUs or many nodes.

    accelerate launch train_accelerate.py --dataset huggan/facades --direction BtoA --output_dir pix2pix-facades

`--method` picks the paper (default pix2pix); its recipe (`pix2pix_hub/methods/<method>.py`) holds the paper's
defaults and generates the flags (`--help` lists them with their defaults). The loop is
`pix2pix_hub/training/loop.py`: data, accelerate, resume, evaluation, checkpoints and the Hub folder.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pix2pix_hub.training.arguments import parse_args


def main(args: argparse.Namespace):
    """Train as `args` say; returns the trained generator (or the dict of exported networks for several)."""
    from pix2pix_hub.hub import go_offline_unless_reachable

    # Before `datasets` loads: a machine without network then reads Hub data from the local cache at once.
    if not go_offline_unless_reachable() and args.push_to_hub:
        raise ConnectionError("--push_to_hub needs the Hub, which cannot be reached; train without it, push later")
    from pix2pix_hub.methods import get_method
    from pix2pix_hub.training.loop import train

    exported = train(get_method(args.method), args)
    return exported[""] if set(exported) == {""} else exported


def cli() -> None:
    """Data or weights that cannot be had end the run with one plain line, and no output folder is left behind
    when this run made it and wrote nothing but its log."""
    args = parse_args()
    output_dir = Path(args.output_dir)
    fresh = not output_dir.exists()
    try:
        main(args)
    except (FileNotFoundError, ConnectionError) as error:
        from pix2pix_hub.hub import plain_load_error

        if fresh and output_dir.is_dir() and {path.name for path in output_dir.iterdir()} <= {"logs"}:
            shutil.rmtree(output_dir, ignore_errors=True)
        raise SystemExit(f"train_accelerate.py: {plain_load_error(error)}") from None


if __name__ == "__main__":
    cli()
