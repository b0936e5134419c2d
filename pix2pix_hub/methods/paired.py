"""What every paired image-to-image method shares: paired data, one exported generator, paired evaluation, its card.

pix2pix and pix2pixHD train a generator on (source, target) pairs; a method built on `PairedTranslation`
supplies only its recipe, `build_networks` and `training_step`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import Method, Recipe, TrainingState

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from torch import nn

    from ..data import PairedImageDataset, PairSource
    from ..evaluation.evaluate import Evaluation


@dataclass
class PairedData:
    """The train and eval pairs of a run, and their datasets once the generator's size multiple is known."""

    train_pairs: PairSource
    eval_pairs: PairSource
    description: str
    channels: tuple[int, int]
    train: PairedImageDataset | None = None
    evaluation: PairedImageDataset | None = None
    collate: Any = field(default=None, repr=False)

    def make_datasets(self, args: argparse.Namespace, size_multiple: int) -> None:
        """The augmented training view and the deterministic evaluation view, under the shared data flags."""
        from ..data import PairedImageDataset, collate_pairs
        from ..data.arguments import preprocessing

        self.train = PairedImageDataset(
            self.train_pairs, preprocessing(args, size_multiple), self.channels, args.seed, True, args.skip_bad_images
        )
        self.evaluation = PairedImageDataset(
            self.eval_pairs,
            preprocessing(args, size_multiple),
            self.channels,
            augment=False,
            skip_bad_images=args.skip_bad_images,
        )
        self.collate = collate_pairs

    def record(self, args: argparse.Namespace) -> dict:
        """The data part of training.json."""
        return data_record(args, self.train_pairs, self.eval_pairs, self.description)


def data_record(
    args: argparse.Namespace,
    train: PairSource,
    evaluation: PairSource,
    description: str,
    train_count: int | None = None,
) -> dict:
    """The data part of training.json: where the pairs come from, which sides, how many (`train_count`: the number
    of training samples when it is not the number of pairs)."""
    source, target = train.side_names
    return {
        "dataset": args.dataset,
        "direction": args.direction,
        "source": source,
        "target": target,
        "description": description,
        "train_pairs": len(train) if train_count is None else train_count,
        "eval_pairs": len(evaluation),
    }


def plain_copy(trained: nn.Module, accelerator: Accelerator) -> nn.Module:
    """A fresh instance of the trained Hub-mixin network (plain batch norm, float32, CPU) holding its weights."""
    unwrapped = accelerator.unwrap_model(trained, keep_torch_compile=False)
    copy = type(unwrapped)(**unwrapped._hub_mixin_config)  # the constructor arguments, as config.json holds them
    copy.load_state_dict({name: tensor.float().cpu() for name, tensor in unwrapped.state_dict().items()})
    return copy


class PairedTranslation(Method):
    """A method that learns one generator from paired images; subclasses add networks and the step."""

    def load_data(self, args: argparse.Namespace, recipe: Recipe) -> PairedData:
        from ..data import Subset, image_channels, load_splits
        from ..data.arguments import data_spec

        train_pairs, eval_pairs, description = load_splits(data_spec(args), args.eval_split)
        if args.max_dataset_size and args.max_dataset_size < len(train_pairs):
            train_pairs = Subset(train_pairs, range(args.max_dataset_size))
            description += f"; the first {args.max_dataset_size} training pairs used (--max_dataset_size)"
        return PairedData(train_pairs, eval_pairs, description, image_channels(train_pairs, args.skip_bad_images))

    def build(self, recipe: Recipe, data: PairedData, args: argparse.Namespace) -> TrainingState:
        state = self.build_networks(recipe, data.channels, args)
        data.make_datasets(args, state.modules["generator"].size_multiple)
        if len(data.evaluation):  # the saved model's config says at what size it was trained and scored
            state.modules["generator"].record_image_size(tuple(data.evaluation[0]["source"].shape[-2:]))
        return state

    def build_networks(self, recipe: Recipe, channels: tuple[int, int], args: argparse.Namespace) -> TrainingState:
        """The generator (as `modules["generator"]`, a Hub-mixin network), the rest, and the optimizers."""
        raise NotImplementedError

    def exports(self, accelerator: Accelerator, state: TrainingState) -> dict[str, nn.Module]:
        return {"": plain_copy(state.modules["generator"], accelerator)}

    def evaluate(
        self, exported: dict[str, nn.Module], data: PairedData, args: argparse.Namespace, device: torch.device
    ) -> Evaluation:
        from ..evaluation.evaluate import evaluate

        generator = exported[""]
        result = evaluate(generator, data.evaluation, args.eval_batch_size, device, 0, args.dataloader_num_workers)
        generator.cpu()
        return result

    def save(self, exported: dict[str, nn.Module], output_dir: Path, result: Evaluation, args, record) -> None:
        """The Hub folder: weights, config.json and a model card written from the run's record and the evaluation."""

        (output_dir / "README.md").unlink(missing_ok=True)  # save_pretrained keeps an old card; this run's replaces it
        card = paired_card(record, result, args)
        exported[""].save_pretrained(output_dir, model_card_kwargs=card)


def realism_card_rows(metrics: dict) -> dict[str, str]:
    """The card's realism rows: SWD x10³ and, in brackets, the real-vs-real floor, as the mean of pyramid levels and
    per level (none when the evaluation had fewer than 2 pairs)."""
    levels = [name.removeprefix("swd_floor_") for name in metrics if name.startswith("swd_floor_")]
    labels = {"": "mean of levels"} | {f"_{level}": f"{level} px level" for level in levels}
    return {
        f"realism SWD x10³, {label} (floor)": f"{metrics['swd' + key]:.1f} ({metrics['swd_floor' + key]:.1f})"
        for key, label in labels.items()
        if "swd" in metrics
    }


def paired_card(record: dict, result: Evaluation, args: argparse.Namespace) -> dict:
    """Template values of model_cards/pix2pix_generator.md, from training.json and the final evaluation."""
    data, metrics = record["data"], result.metrics
    changes = {name: value for name, value in record["recipe_changes"].items() if name != "direction"}
    described = ", ".join(f"{name}={value}" for name, value in changes.items())
    on_hub = not Path(data["dataset"]).exists()
    inference_mode = record["recipe"].get("inference_mode", "eval")
    dataset_link = f"[{data['dataset']}](https://huggingface.co/datasets/{data['dataset']})"
    return {
        "model_name": f"{record['method']} {Path(data['dataset']).name} {data['direction']}",
        "repo_id": args.hub_model_id if args.push_to_hub else None,
        "dataset": dataset_link if on_hub else data["dataset"],
        "direction": data["direction"],
        "source": data["source"],
        "target": data["target"],
        "recipe": "the paper's" + (f", except {described}" if described else ""),
        "steps": record["steps"],
        "hardware": ", ".join(record["hardware"]),
        "training_time": f"{record['wall_time_s'] / 60:.1f} min",
        "command": "\n".join(stage["command"] for stage in record["stages"]),
        "metrics": {
            "L1": f"{metrics['l1']:.4f}",
            "PSNR (dB)": f"{metrics['psnr']:.2f}",
            "SSIM": f"{metrics['ssim']:.4f}",
            **realism_card_rows(metrics),
        },
        "metrics_intro": f"Measured by `python -m pix2pix_hub.evaluate` at step {record['steps']} on "
        f"{result.num_pairs} pairs ({data['description']}; inference_mode `{inference_mode}`).",
        "sample_grid": "samples.png",
        "card_data": {"datasets": [data["dataset"]]} if on_hub else {},
    }
