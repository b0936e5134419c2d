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
    from pix2pix_hub.methods import get_method
    from pix2pix_hub.training.loop import train

    exported = train(get_method(args.method), args)
    return exported[""] if set(exported) == {""} else exported


def cli() -> None:
    """The command line: without a reachable Hub the process works offline from the start; data or weights that
    cannot be had end the run with one plain line, leaving no output folder when this run made it and wrote
    nothing but its log."""
    args = parse_args()
    output_dir = Path(args.output_dir)
    fresh = not output_dir.exists()
    from pix2pix_hub.hub import go_offline_unless_reachable, plain_load_error

    # Before `datasets` loads (process-wide, so here and not in `main`): without network, Hub data and models come
    # from the local cache at once instead of after half a minute of retries.
    if not go_offline_unless_reachable() and args.push_to_hub:
        raise SystemExit("train_accelerate.py: --push_to_hub needs the Hub, which cannot be reached; push later")
    try:
        main(args)
    except (FileNotFoundError, ConnectionError) as error:
        if fresh and output_dir.is_dir() and {path.name for path in output_dir.iterdir()} <= {"logs"}:
            shutil.rmtree(output_dir, ignore_errors=True)
        raise SystemExit(f"train_accelerate.py: {plain_load_error(error)}") from None


if __name__ == "__main__":
    cli()
