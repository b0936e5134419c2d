"""Train pix2pix (or another method of the family) with 🤗 Accelerate: one CPU, one GPU, many GPUs or many nodes.

    accelerate launch train_accelerate.py --dataset huggan/facades --direction BtoA --output_dir pix2pix-facades

`--method` picks the paper (default pix2pix); its recipe (`pix2pix_hub/methods/<method>.py`) holds the paper's
defaults and generates the flags (`--help` lists them with their defaults). The loop is
`pix2pix_hub/training/loop.py`: data, accelerate, resume, evaluation, checkpoints and the Hub folder.
"""

from __future__ import annotations

import argparse

from pix2pix_hub.training.arguments import parse_args


def main(args: argparse.Namespace):
    """Train as `args` say; returns the trained generator (or the dict of exported networks for several)."""
    from pix2pix_hub.methods import get_method
    from pix2pix_hub.training.loop import train

    exported = train(get_method(args.method), args)
    return exported[""] if set(exported) == {""} else exported


if __name__ == "__main__":
    main(parse_args())
