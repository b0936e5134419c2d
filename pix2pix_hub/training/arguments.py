"""The trainer's command line: the method's recipe flags, the data flags, and the run's own flags.

Building the parser imports neither torch nor accelerate, so `train_accelerate.py --help` answers at once.
"""

from __future__ import annotations

import argparse
import sys

from ..data.arguments import add_data_arguments
from ..methods import BUILT_IN, get_method
from ..methods.base import add_recipe_arguments
from .precision import CHOICES as PRECISIONS

DESCRIPTION = """Train an image-to-image translation method with 🤗 Accelerate: one CPU, one GPU, many GPUs or nodes.

    accelerate launch train_accelerate.py --dataset huggan/facades --direction BtoA --output_dir pix2pix-facades

Every default is the chosen method's paper recipe (see --method). OUTPUT_DIR ends as a Hub folder (model.safetensors,
config.json, a model card with metrics and samples), with training.json (the run's record), checkpoint-<step>/
folders, metrics.json and logs/."""


def chosen_method(argv: list[str]) -> str:
    """The --method value (before the full parser exists: the method decides which flags there are)."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--method", "--model", default="pix2pix")
    return early.parse_known_args(argv)[0].method


def build_parser(method_name: str) -> argparse.ArgumentParser:
    method = get_method(method_name)
    parser = argparse.ArgumentParser(
        description=f"{DESCRIPTION}\n\nThis method: {method.description}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--method",
        "--model",
        default="pix2pix",
        help=f"the paper to train: {', '.join(BUILT_IN)}, or module:ClassName of your own Method (default: pix2pix)",
    )
    add_data_arguments(parser, preprocessing_flags=False, dataset_required=False)
    parser.add_argument("--eval_split", default=None, help="default: test, validation or val, else held out")
    parser.add_argument("--max_dataset_size", type=int, default=None, help="train on the first N pairs only")
    parser.add_argument("--serial_batches", action="store_true", help="take the pairs in order, not shuffled")
    add_recipe_arguments(parser, method.Recipe)
    method.add_arguments(parser)
    add_run_arguments(parser)
    return parser


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    run = parser.add_argument_group("run")
    run.add_argument("--output_dir", default="pix2pix-model", help="(default: pix2pix-model)")
    run.add_argument("--seed", type=int, default=0, help="data order, augmentation, init and dropout (default: 0)")
    run.add_argument("--max_train_steps", type=int, default=None, help="stop after this many steps (same schedule)")
    run.add_argument("--gradient_accumulation_steps", type=int, default=1)
    run.add_argument(
        "--mixed_precision",
        default="auto",
        choices=PRECISIONS,
        help="auto (default): bf16 where the GPU or CPU computes it natively (AVX512-BF16, AMX), else float32; "
        "no: float32",
    )
    run.add_argument("--checkpointing_steps", type=int, default=500, help="(default: 500)")
    run.add_argument("--checkpoints_total_limit", type=int, default=None, help="keep only the newest N")
    run.add_argument("--resume_from_checkpoint", default=None, help="'latest' or a checkpoint-<step> folder")
    run.add_argument("--eval_steps", type=int, default=1000, help="evaluate every N steps, and at the end")
    run.add_argument("--eval_batch_size", type=int, default=8, help="(default: 8)")
    run.add_argument("--logging_steps", type=int, default=10, help="log losses every N steps (default: 10)")
    run.add_argument("--report_to", default="tensorboard", help="tensorboard, wandb, trackio, all or none")
    run.add_argument("--record_batches", action="store_true", help="write each process's sample names per step")
    run.add_argument("--push_to_hub", action="store_true")
    run.add_argument("--hub_model_id", default=None, help="ORG/NAME (default: the output folder's name)")
    run.add_argument("--hub_token", default=None, help="default: the logged-in token or HF_TOKEN")
    speed = parser.add_argument_group("fast paths (same results; on by default where they apply)")
    speed.add_argument("--no_channels_last", action="store_true", help="CUDA: keep NCHW memory layout")
    speed.add_argument("--no_fused_adam", action="store_true", help="use the multi-kernel Adam, not the fused one")
    speed.add_argument("--no_cudnn_benchmark", action="store_true", help="CUDA: no cuDNN autotuning")
    speed.add_argument(
        "--no_stacked_discriminator", action="store_true", help="two D forwards instead of one (without batch norm)"
    )
    speed.add_argument("--torch_compile", action="store_true", help="compile the networks (start-up cost: minutes)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser(chosen_method(argv))
    except ValueError as error:  # an unknown --method
        raise SystemExit(f"train_accelerate.py: error: {error}") from error
    args = parser.parse_args(argv)
    try:
        get_method(args.method).validate(args)
    except ValueError as error:
        parser.error(str(error))
    return args
