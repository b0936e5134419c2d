"""The seam between a paper's method and the shared machinery.

A method is one file: its `Recipe` (a frozen dataclass holding the paper's defaults, which is also the source of
its command-line flags), how it builds its networks and optimizers, one training step, and what it exports to the
Hub folder. The loop (`pix2pix_hub.training.loop`) knows accelerate, data loading, checkpoints, evaluation and the
model card, and nothing about any paper. This module imports neither torch nor the data stack, so
`train_accelerate.py --help` answers before they load.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..data.arguments import ASPECT_RATIO_HELP, DIRECTIONS
from ..data.preprocessing import PREPROCESS_MODES

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from torch import nn

    from ..evaluation.evaluate import Evaluation

LR_POLICIES = ("linear", "linear_hd", "step", "cosine", "linear_per_step")
INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")


def option(default: Any, help: str, group: str = "objective", **argparse_kwargs: Any) -> Any:
    """A recipe field with its flag: `flag` (default `--<name>`), `aliases` (e.g. the reference's names), `choices`.

    A boolean whose default is True becomes `--no_<name>` (or the given `flag`), one that is False `--<name>`.
    """
    return field(default=default, metadata={"help": help, "group": group, **argparse_kwargs})


@dataclass(frozen=True)
class Recipe:
    """What every method trains with: optimisation, schedule and the paired-image augmentation (paper defaults)."""

    learning_rate: float = option(2e-4, "Adam's initial learning rate", aliases=["--lr"])
    adam_beta1: float = option(0.5, "Adam's beta1", aliases=["--beta1"])
    adam_beta2: float = option(0.999, "Adam's beta2")
    batch_size: int = option(1, "images per process and step", flag="--train_batch_size", aliases=["--batch_size"])
    epochs: int = option(100, "epochs at the initial learning rate", aliases=["--n_epochs"])
    decay_epochs: int = option(
        100, "then epochs of decay (linear: to lr/(decay_epochs+1))", aliases=["--n_epochs_decay"]
    )
    lr_policy: str = option(
        "linear",
        "linear: the reference's per-epoch rule; linear_hd: pix2pixHD's; step: x0.1 every --lr_decay_iters epochs; "
        "cosine; "
        "linear_per_step: decay at every step",
        choices=LR_POLICIES,
    )
    lr_decay_iters: int = option(50, "step policy: epochs between decays")
    init_type: str = option("normal", "weight init (the reference's --init_type)", choices=INIT_TYPES)
    init_gain: float = option(0.02, "std (normal) or gain (xavier, orthogonal) of the init")

    direction: str = option("AtoB", "AtoB: A is the source", "data", choices=DIRECTIONS)
    preprocess: str = option("resize_and_crop", "augmentation", "data", choices=PREPROCESS_MODES)
    load_size: int = option(286, "resize to this before cropping", "data")
    crop_size: int = option(256, "training (and evaluation) resolution", "data")
    flip: bool = option(True, "no random horizontal flips", "data", flag="--no_flip")
    aspect_ratio: float = option(0.0, ASPECT_RATIO_HELP, "data")

    def changes(self) -> dict[str, Any]:
        """Settings that differ from the paper's (this class's defaults), for the model card and training.json."""
        paper = type(self)()
        return {
            item.name: getattr(self, item.name)
            for item in dataclasses.fields(self)
            if getattr(self, item.name) != getattr(paper, item.name)
        }


def flag_name(item: dataclasses.Field) -> str:
    if "flag" in item.metadata:
        return item.metadata["flag"]
    return f"--no_{item.name}" if item.type in ("bool", bool) and item.default is True else f"--{item.name}"


def add_recipe_arguments(parser: argparse.ArgumentParser, recipe: type[Recipe]) -> None:
    """One flag per recipe field, grouped, with the paper's default in the help text."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for item in dataclasses.fields(recipe):
        meta = dict(item.metadata)
        group_name = meta.pop("group", "objective")
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(f"{group_name} (default: the paper's)")
        names = [meta.pop("flag", None) or flag_name(item), *meta.pop("aliases", [])]
        help_text = meta.pop("help", "")
        if item.type in ("bool", bool):
            action = "store_false" if item.default is True else "store_true"
            groups[group_name].add_argument(*names, dest=item.name, action=action, help=help_text, **meta)
        else:
            kind = {"int": int, "float": float, "str": str}.get(item.type, type(item.default))
            help_text += f" (default: {item.default})"
            groups[group_name].add_argument(
                *names, dest=item.name, type=kind, default=item.default, help=help_text, **meta
            )


def recipe_from_args(recipe: type[Recipe], args: argparse.Namespace) -> Recipe:
    """The run's recipe: the paper's, with whatever the flags changed."""
    return recipe(**{item.name: getattr(args, item.name) for item in dataclasses.fields(recipe)})


@dataclass
class TrainingState:
    """The prepared networks and optimizers of a run, by name (`modules["generator"]`, `optimizers["generator"]`)."""

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    extras: dict[str, Any] = field(default_factory=dict)  # method-owned state, e.g. image pools
    step: int = 0  # optimisation steps done before the one being taken (the loop sets it; resumes restore it)
    steps_per_epoch: int = 1  # the schedule's epoch in optimisation steps (the loop's, after sharding)


class TrainingData(Protocol):
    """What a method's `load_data` returns and the loop reads: the training samples (a torch Dataset, filled in by
    `build`, which knows the networks' size multiple), how to batch them, and what training.json says of them."""

    train: Any
    collate: Any
    description: str

    def record(self, args: argparse.Namespace) -> dict: ...


class Method:
    """A paper's training method. Subclasses set `name` and `Recipe` and implement every hook the loop calls, in the
    order it calls them: `load_data`, `build`, `training_step` (each step), `exports` and `evaluate` (at each
    evaluation and at the end), `save` (at the end)."""

    name: ClassVar[str]
    Recipe: ClassVar[type[Recipe]]
    description: ClassVar[str] = ""  # "<paper> (<authors, venue>): <what it does>", shown by the app and --help
    paper_url: ClassVar[str] = ""  # where the paper is (the app and the cards link it)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The method's flags beyond its recipe (none by default)."""

    def validate(self, args: argparse.Namespace) -> None:
        """Refuse flags that cannot work together, in plain words (a ValueError becomes a usage error)."""
        if not args.dataset:
            raise ValueError("--dataset is required")

    def load_data(self, args: argparse.Namespace, recipe: Recipe) -> TrainingData:
        """The training and evaluation data the flags name (files or a 🤗 dataset), before any network exists."""
        raise NotImplementedError

    def build(self, recipe: Recipe, data: TrainingData, args: argparse.Namespace) -> TrainingState:
        """Networks (initialised) and optimizers, before `accelerator.prepare`; may finish `data` (e.g. its crop)."""
        raise NotImplementedError

    def training_step(
        self, accelerator: Accelerator, state: TrainingState, batch: dict, recipe: Recipe
    ) -> dict[str, torch.Tensor]:
        """One optimisation step in the paper's order; returns the losses (detached) by name."""
        raise NotImplementedError

    def exports(self, accelerator: Accelerator, state: TrainingState) -> dict[str, nn.Module]:
        """Plain float32 CPU copies of what the Hub folder holds, by subfolder ("" = the folder itself)."""
        raise NotImplementedError

    def evaluate(
        self, exported: dict[str, nn.Module], data: TrainingData, args: argparse.Namespace, device: torch.device
    ) -> Evaluation:
        """Score the exported model(s) on the evaluation data on `device` (the trainer's metrics.json and card)."""
        raise NotImplementedError

    def save(
        self,
        exported: dict[str, nn.Module],
        output_dir: Path,
        result: Evaluation,
        args: argparse.Namespace,
        record: dict,
    ) -> None:
        """Write the Hub folder of the exported model(s) into `output_dir`, its card from the run's `record` (what
        training.json holds) and `result`."""
        raise NotImplementedError


def upsample_option():
    """The recipe field `--upsample`: the paper's transposed convolutions by default (`blocks.upsampling_conv`)."""
    return option(
        "basic",
        "the generator's 2x upsampling: basic = the paper's transposed convolution; bilinear = resize then 3x3 "
        "convolution (BicycleGAN's code's option: no checkerboard; not the paper's)",
        "networks",
        choices=("basic", "bilinear"),
    )
