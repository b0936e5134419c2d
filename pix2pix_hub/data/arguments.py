"""The data flags shared by `train_accelerate.py`, `python -m pix2pix_hub.evaluate` and the calibration CLI, so all
read pairs alike. Imports neither torch nor 🤗 datasets (the trainer's `--help` stays fast)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .preprocessing import PREPROCESS_MODES, Preprocessing

if TYPE_CHECKING:
    from .sources import DataSpec

DIRECTIONS = ("AtoB", "BtoA")


def add_data_arguments(
    parser: argparse.ArgumentParser, preprocessing_flags: bool = True, dataset_required: bool = True
) -> None:
    """Dataset location and layout, eval hold-out and (unless a method's recipe owns them) the preprocessing."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset",
        "--dataroot",
        required=dataset_required,
        help="a Hub dataset id (huggan/facades), a save_to_disk folder, parquet file(s), a folder with "
        "train/ val/ test/ of side-by-side AB images (A left), or a folder with A/ and B/ paired by file name",
    )
    group.add_argument("--dataset_config", default=None, help="the Hub dataset's configuration name")
    group.add_argument("--cache_dir", default=None, help="where 🤗 datasets caches downloads")
    group.add_argument("--source_column", default=None, help="image column of the source (default: from direction)")
    group.add_argument("--target_column", default=None, help="image column of the target (default: from direction)")
    group.add_argument("--train_split", default="train")
    group.add_argument(
        "--eval_split_fraction",
        type=float,
        default=0.1,
        help="when the eval split does not exist, hold out this fraction of the train split (seeded by --split_seed)",
    )
    group.add_argument("--split_seed", type=int, default=0, help="seed of the eval hold-out")
    group.add_argument(
        "--skip_bad_images", action="store_true", help="skip (and log) undecodable images instead of stopping"
    )
    group.add_argument("--dataloader_num_workers", type=int, default=0, help="processes decoding images")
    if preprocessing_flags:
        defaults = Preprocessing()
        group.add_argument("--direction", default="AtoB", choices=DIRECTIONS, help="AtoB: A is the source")
        group.add_argument("--preprocess", default=defaults.mode, choices=PREPROCESS_MODES)
        group.add_argument("--load_size", type=int, default=defaults.load_size, help="resize to this before cropping")
        group.add_argument("--crop_size", type=int, default=defaults.crop_size, help="evaluation resolution")
        group.add_argument("--no_flip", dest="flip", action="store_false", help="no random horizontal flips")
        group.add_argument("--aspect_ratio", type=float, default=0.0, help=ASPECT_RATIO_HELP)


def data_spec(args: argparse.Namespace) -> DataSpec:
    from .sources import DataSpec

    return DataSpec(
        dataset=args.dataset,
        dataset_config=args.dataset_config,
        direction=args.direction,
        source_column=args.source_column,
        target_column=args.target_column,
        train_split=args.train_split,
        eval_split_fraction=args.eval_split_fraction,
        split_seed=args.split_seed,
        cache_dir=args.cache_dir,
    )


ASPECT_RATIO_HELP = (
    "scale_width modes: load at this width / height (e.g. 2 for Cityscapes photos stored as squeezed squares; "
    "0: each image's own)"
)


def preprocessing(args: argparse.Namespace, size_multiple: int) -> Preprocessing:
    return Preprocessing(
        mode=args.preprocess,
        load_size=args.load_size,
        crop_size=args.crop_size,
        flip=args.flip,
        size_multiple=size_multiple,
        aspect_ratio=getattr(args, "aspect_ratio", 0.0),
    )
