"""CycleGAN (Zhu, Park, Isola, Efros, ICCV 2017): unpaired translation with two generators and cycle consistency.

Read against the paper (Sec. 3-4) and the reference's `models/cycle_gan_model.py`: G_A maps domain A to B and
G_B maps B to A; D_A judges domain B, D_B domain A, each on one image (unconditional). One step updates both
generators together through the current (frozen) discriminators -- LSGAN terms, cycle L1 (lambda 10 each way) and
identity L1 (0.5 x lambda) -- then both discriminators on fakes drawn from a pool of 50 earlier fakes.
"""

from __future__ import annotations

import argparse
import itertools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .base import Method, Recipe, TrainingState, option, upsample_option

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from torch import nn

    from ..data.unpaired import UnpairedSplits
    from ..evaluation.evaluate import Evaluation
    from ..losses import GANLoss

PAPER_URL = "https://arxiv.org/abs/1703.10593"
DIRECTIONS = {"AtoB": "generator_A", "BtoA": "generator_B"}  # exported subfolder -> trained network


@dataclass(frozen=True)
class CycleGANRecipe(Recipe):
    """CycleGAN as the reference trains it: ResNet-9 generators, 70x70 PatchGANs, LSGAN, batch 1, 100+100 epochs."""

    generator_arch: str = option(
        "resnet_9blocks", "generators (a registered arch)", "networks", flag="--arch", aliases=["--netG"]
    )
    ngf: int = option(64, "generator width", "networks")
    upsample: str = upsample_option()
    ndf: int = option(64, "discriminator width", "networks")
    discriminator_arch: str = option(
        "basic",
        "basic/n_layers: PatchGAN --n_layers_D deep; pixel: 1x1 PixelGAN",
        "networks",
        flag="--netD",
        choices=("basic", "n_layers", "pixel"),
    )
    n_layers_discriminator: int = option(3, "PatchGAN depth (3: 70x70)", "networks", flag="--n_layers_D")
    norm: str = option("instance", "normalisation in G and D", "networks", choices=("batch", "instance", "none"))
    use_dropout: bool = option(False, "dropout in the generators' residual blocks", "networks")
    gan_mode: str = option("lsgan", "adversarial loss", choices=("vanilla", "lsgan"))
    lambda_A: float = option(10.0, "weight of the cycle loss A -> B -> A")
    lambda_B: float = option(10.0, "weight of the cycle loss B -> A -> B")
    lambda_identity: float = option(0.5, "identity loss weight, as a fraction of lambda_A/lambda_B (0: off)")
    pool_size: int = option(50, "earlier fakes the discriminators also see (0: only the current ones)")


PAPER = CycleGANRecipe()


class ImagePool:
    """The reference's history of generated images (Shrivastava et al. 2017), checkpointed with the run.

    Until `size` images are stored each query returns its input; afterwards each image is, with probability 1/2,
    swapped for a random stored one. Python's `random` draws, as the reference's, and accelerate checkpoints it.
    """

    def __init__(self, size: int):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        import torch

        if self.size == 0:
            return images
        chosen = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                chosen.append(image)
            elif random.uniform(0, 1) > 0.5:
                index = random.randint(0, self.size - 1)
                chosen.append(self.images[index].clone().to(image.device))
                self.images[index] = image
            else:
                chosen.append(image)
        return torch.cat(chosen, 0)

    def state_dict(self) -> dict:
        import torch

        stored = torch.cat([image.cpu() for image in self.images]) if self.images else torch.zeros(0)
        return {"size": torch.tensor(self.size), "images": stored}

    def load_state_dict(self, state: dict) -> None:
        self.size = int(state["size"])
        self.images = [image.unsqueeze(0) for image in state["images"]] if state["images"].numel() else []


class CycleGAN(Method):
    """`--method cyclegan`: the reference's `CycleGANModel.optimize_parameters`, step for step."""

    name = "cyclegan"
    paper_url = PAPER_URL
    Recipe = CycleGANRecipe
    description = "CycleGAN (Zhu et al., ICCV 2017): two GANs with cycle consistency, trained on unpaired images"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("unpaired data (instead of --dataset)")
        group.add_argument("--dataset_A", default=None, help="domain A: a folder of images or a 🤗 dataset")
        group.add_argument("--dataset_B", default=None, help="domain B: a folder of images or a 🤗 dataset")
        group.add_argument("--image_column", default=None, help="the image column of --dataset_A/--dataset_B")

    def validate(self, args: argparse.Namespace) -> None:
        if not args.dataset and not (args.dataset_A and args.dataset_B):
            raise ValueError(
                "pass --dataset (trainA/ trainB/ folders, or paired data read unaligned) "
                "or both --dataset_A and --dataset_B"
            )

    def load_data(self, args: argparse.Namespace, recipe: CycleGANRecipe) -> UnpairedData:
        from ..data.unpaired import domain_channels, load_unpaired

        splits = load_unpaired(args)
        return UnpairedData(splits, (domain_channels(splits.train_a), domain_channels(splits.train_b)))

    def build(self, recipe: CycleGANRecipe, data: UnpairedData, args: argparse.Namespace) -> TrainingState:
        state = self.build_networks(recipe, data.channels, args)
        data.make_datasets(args, recipe, state.modules["generator_A"].size_multiple)
        return state

    def build_networks(
        self, recipe: CycleGANRecipe, channels: tuple[int, int], args: argparse.Namespace
    ) -> TrainingState:
        """G_A: A -> B, G_B: B -> A, D_A (judges B), D_B (judges A), one Adam per pair, and the two image pools."""
        from ..networks import Pix2PixGenerator, create_discriminator
        from .gan import adam, initialise, upsampling

        a, b = channels
        if recipe.lambda_identity > 0 and a != b:
            raise ValueError(f"the identity loss needs domains with equal channels ({a} vs {b}): --lambda_identity 0")
        generators = [
            Pix2PixGenerator(
                recipe.generator_arch,
                source,
                target,
                recipe.ngf,
                recipe.norm,
                recipe.use_dropout,
                "eval",
                upsampling(recipe),
            )
            for source, target in ((a, b), (b, a))
        ]
        discriminators = [  # D_A judges domain B (G_A's outputs), D_B judges domain A
            create_discriminator(
                recipe.discriminator_arch,
                in_channels=judged,
                ndf=recipe.ndf,
                norm=recipe.norm,
                n_layers=recipe.n_layers_discriminator,
            )
            for judged in (b, a)
        ]
        initialise(recipe, *generators, *discriminators)
        names = ("generator_A", "generator_B", "discriminator_A", "discriminator_B")
        modules = dict(zip(names, (*generators, *discriminators), strict=True))
        fused = not args.no_fused_adam
        return TrainingState(
            modules=modules,
            optimizers={
                "generators": adam(itertools.chain(*(g.parameters() for g in generators)), recipe, fused),
                "discriminators": adam(itertools.chain(*(d.parameters() for d in discriminators)), recipe, fused),
            },
            extras={"pool_A": ImagePool(recipe.pool_size), "pool_B": ImagePool(recipe.pool_size)},
        )

    def training_step(
        self, accelerator: Accelerator, state: TrainingState, batch: dict, recipe: CycleGANRecipe
    ) -> dict[str, torch.Tensor]:
        """Both generators through the frozen discriminators, then both discriminators on pooled fakes."""
        from ..losses import GANLoss

        nets, gan = state.modules, GANLoss(recipe.gan_mode)
        real_a, real_b = batch["source"], batch["target"]
        fake_b = nets["generator_A"](real_a)
        rec_a = nets["generator_B"](fake_b)
        fake_a = nets["generator_B"](real_b)
        rec_b = nets["generator_A"](fake_a)
        losses = self.generator_losses(accelerator, state, recipe, gan, (real_a, real_b, fake_a, fake_b, rec_a, rec_b))
        total = losses["G_A"] + losses["G_B"] + losses["cycle_A"] + losses["cycle_B"]
        total = total + losses["idt_A"] + losses["idt_B"]
        accelerator.backward(total)
        state.optimizers["generators"].step()
        state.optimizers["generators"].zero_grad(set_to_none=True)

        for name in ("discriminator_A", "discriminator_B"):
            nets[name].requires_grad_(True)
        pooled_b, pooled_a = state.extras["pool_B"].query(fake_b), state.extras["pool_A"].query(fake_a)
        for name, real, fake, key in (
            ("discriminator_A", real_b, pooled_b, "D_A"),
            ("discriminator_B", real_a, pooled_a, "D_B"),
        ):
            losses[key] = (gan(nets[name](real), True) + gan(nets[name](fake.detach()), False)) * 0.5
            accelerator.backward(losses[key])
        state.optimizers["discriminators"].step()
        state.optimizers["discriminators"].zero_grad(set_to_none=True)
        losses["G"] = total
        return {name: loss.detach() for name, loss in losses.items()}

    @staticmethod
    def generator_losses(
        accelerator: Accelerator,
        state: TrainingState,
        recipe: CycleGANRecipe,
        gan: GANLoss,
        images: tuple[torch.Tensor, ...],
    ) -> dict[str, torch.Tensor]:
        """Identity, adversarial and cycle terms of both generators, in the reference's order and weights."""
        import torch.nn.functional as F

        from .gan import frozen

        real_a, real_b, fake_a, fake_b, rec_a, rec_b = images
        nets = state.modules
        judge_a, judge_b = (frozen(accelerator, nets[name]) for name in ("discriminator_A", "discriminator_B"))
        losses = {}
        if recipe.lambda_identity > 0:
            weight = recipe.lambda_identity
            losses["idt_A"] = F.l1_loss(nets["generator_A"](real_b), real_b) * recipe.lambda_B * weight
            losses["idt_B"] = F.l1_loss(nets["generator_B"](real_a), real_a) * recipe.lambda_A * weight
        else:
            losses["idt_A"] = losses["idt_B"] = real_a.new_zeros(())
        losses["G_A"] = gan(judge_a(fake_b), True)
        losses["G_B"] = gan(judge_b(fake_a), True)
        losses["cycle_A"] = F.l1_loss(rec_a, real_a) * recipe.lambda_A
        losses["cycle_B"] = F.l1_loss(rec_b, real_b) * recipe.lambda_B
        return losses

    def exports(self, accelerator: Accelerator, state: TrainingState) -> dict[str, nn.Module]:
        from .paired import plain_copy

        return {direction: plain_copy(state.modules[name], accelerator) for direction, name in DIRECTIONS.items()}

    def evaluate(self, exported: dict[str, nn.Module], data: UnpairedData, args, device) -> Evaluation:
        from ..evaluation.cycle import evaluate_cycle

        return evaluate_cycle(exported["AtoB"], exported["BtoA"], data.eval_a, data.eval_b, data.eval_pairs, device)

    def save(self, exported: dict[str, nn.Module], output_dir: Path, result: Evaluation, args, record) -> None:
        """One Hub repo, both directions: `AtoB/` and `BtoA/` generator folders, each with a card, one at the top."""
        from ..hub import atomic_write_text

        values = card_values(record, result, args)
        atomic_write_text(output_dir / "README.md", str(render_card(values)))
        for direction, generator in exported.items():
            generator.save_pretrained(output_dir / direction)
            text = "A to B" if direction == "AtoB" else "B to A"
            card = render_card(values | {"direction": direction, "direction_text": text, "sample_grid": None})
            atomic_write_text(output_dir / direction / "README.md", str(card))


def card_values(record: dict, result: Evaluation, args: argparse.Namespace) -> dict:
    """Template values of model_cards/cyclegan.md, from training.json and the final evaluation."""
    changes = ", ".join(f"{name}={value}" for name, value in record["recipe_changes"].items() if name != "direction")
    data = record["data"]
    return {
        "model_name": f"CycleGAN {Path(str(data['dataset'])).name}",
        "repo_id": args.hub_model_id if args.push_to_hub else None,
        "dataset": data["dataset"],
        "data_description": data["description"],
        "domain_a": "A" if data["direction"] == "AtoB" else "B of the data, read as A (--direction BtoA)",
        "domain_b": "B" if data["direction"] == "AtoB" else "A of the data",
        "recipe": "the paper's" + (f", except {changes}" if changes else ""),
        "steps": record["steps"],
        "hardware": ", ".join(record["hardware"]),
        "training_time": f"{record['wall_time_s'] / 60:.1f} min",
        "command": "\n".join(stage["command"] for stage in record["stages"]),
        "metrics": {name: f"{value:.4f}" for name, value in result.metrics.items()},
        "metrics_intro": f"Measured at step {record['steps']} on the evaluation images ({result.num_pairs} in all): "
        "cycle_l1_X is the mean absolute error of a round trip X -> Y -> X on 8-bit images in [0, 1]; AtoB_swd* and "
        "BtoA_swd* are realism (multi-scale sliced Wasserstein distance x10³ of the translations against the real "
        "evaluation images of their target domain, lower is better; *_swd_floor* is the same between two halves of "
        "those real images); the other AtoB_* and BtoA_* are paired metrics, present when the evaluation split is "
        "aligned.",
        "sample_grid": "samples.png",
    }


def render_card(values: dict):
    """The card as huggingface_hub renders model cards (YAML metadata, then the template)."""
    from huggingface_hub import ModelCard, ModelCardData

    from ..hub import PROJECT_REPO_URL, read_model_card_template

    metadata = ModelCardData(
        library_name="pix2pix-hub",
        license="bsd-3-clause",
        pipeline_tag="image-to-image",
        tags=["cyclegan", "image-to-image", "gan", "unpaired"],
    )
    return ModelCard.from_template(
        metadata, template_str=read_model_card_template("cyclegan.md"), repo_url=PROJECT_REPO_URL, **values
    )


@dataclass
class UnpairedData:
    """Both domains of a run and, once the generators' size multiple is known, the datasets."""

    splits: UnpairedSplits
    channels: tuple[int, int]
    train: object = None
    eval_a: object = None
    eval_b: object = None
    eval_pairs: object = None
    collate: object = None

    @property
    def description(self) -> str:
        return self.splits.description

    def make_datasets(self, args: argparse.Namespace, recipe: Recipe, size_multiple: int) -> None:
        from ..data import PairedImageDataset, collate_pairs
        from ..data.arguments import preprocessing
        from ..data.unpaired import DomainImageDataset, UnpairedImageDataset

        splits, look = self.splits, preprocessing(args, size_multiple)
        self.train = UnpairedImageDataset(splits.train_a, splits.train_b, look, self.channels, args.seed)
        self.eval_a = DomainImageDataset(splits.eval_a, look, self.channels[0])
        self.eval_b = DomainImageDataset(splits.eval_b, look, self.channels[1])
        if splits.eval_pairs is not None:  # aligned eval data: the paired metrics apply too
            self.eval_pairs = PairedImageDataset(splits.eval_pairs, look, self.channels, augment=False)
        self.collate = collate_pairs

    def record(self, args: argparse.Namespace) -> dict:
        return {
            "dataset": args.dataset or f"{args.dataset_A} + {args.dataset_B}",
            "direction": args.direction,
            "description": self.description,
            "train_images": [len(self.splits.train_a), len(self.splits.train_b)],
            "eval_images": [len(self.splits.eval_a), len(self.splits.eval_b)],
        }
