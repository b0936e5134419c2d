"""pix2pixHD (Wang, Liu, Zhu, Tao, Kautz, Catanzaro, CVPR 2018): high-resolution conditional GANs on paired images.

Read against the paper (Sec. 3) and the reference's `models/pix2pixHD_model.py` and `train.py` (NVIDIA/pix2pixHD).
G is the global generator G1, or G1 inside the local enhancer G2 at twice the resolution; D is `num_D` PatchGANs at
1, 1/2, ... of the resolution. One step asks the current D about the generated pair (detached), the real pair and
the generated pair again; updates G on the LSGAN term plus lambda_feat x the L1 between D's features of the real
and the generated pair (plus the VGG term when VGG19 weights are given); then updates D on half its fake + real terms.

Coarse to fine is two runs, each resumable: `--netG global`, then `--netG local --load_pretrain <the global run>`,
whose global part starts from the global run's generator and stays fixed for `--niter_fix_global` epochs, after
which G's optimizer starts afresh over all of G (the reference's `update_fixed_params`). That is the paper's schedule
and its authors' description; the reference's train.py as published keeps stepping the optimizer it fetched before
`update_fixed_params` replaced it, so there the global part never joins (nor does G's rate decay afterwards).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.pairs import PairView
from ..data.preprocessing import PREPROCESS_MODES
from .base import LR_POLICIES, Recipe, TrainingState, option
from .paired import PairedData, PairedTranslation

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from torch import nn

    from ..evaluation.evaluate import Evaluation

PAPER_URL = "https://arxiv.org/abs/1711.11585"
REFERENCE_REPO_URL = "https://github.com/NVIDIA/pix2pixHD"


@dataclass(frozen=True)
class Pix2PixHDRecipe(Recipe):
    """pix2pixHD as its train options and scripts set it: G1 at 1024 px wide, 2 x 3-layer D, LSGAN + 10 x features."""

    batch_size: int = option(
        1, "images per process and step", flag="--train_batch_size", aliases=["--batch_size", "--batchSize"]
    )
    epochs: int = option(100, "epochs at the initial learning rate", aliases=["--n_epochs", "--niter"])
    decay_epochs: int = option(100, "then epochs of linear decay", aliases=["--n_epochs_decay", "--niter_decay"])
    lr_policy: str = option(
        "linear_hd", "the learning-rate rule (linear_hd: pix2pixHD's linear decay to zero)", choices=LR_POLICIES
    )
    preprocess: str = option(
        "scale_width",
        "augmentation (scale_width: width to --load_size, height in proportion, as the reference's default)",
        "data",
        choices=PREPROCESS_MODES,
        aliases=["--resize_or_crop"],
    )
    load_size: int = option(1024, "scale or resize to this before cropping", "data", aliases=["--loadSize"])
    crop_size: int = option(512, "crop size (crop modes) and evaluation width", "data", aliases=["--fineSize"])

    generator_arch: str = option(
        "global",
        "global: G1; local: G1 + local enhancer G2",
        "networks",
        flag="--netG",
        aliases=["--arch"],
        choices=("global", "local"),
    )
    ngf: int = option(64, "generator width (local: G2's; its G1 runs at ngf * 2^n_local_enhancers)", "networks")
    n_downsample_global: int = option(4, "G1's stride-2 convolutions", "networks")
    n_blocks_global: int = option(9, "G1's residual blocks", "networks")
    n_local_enhancers: int = option(1, "local enhancers (each doubles the resolution)", "networks")
    n_blocks_local: int = option(3, "residual blocks per local enhancer", "networks")
    label_nc: int = option(
        0, "0: the source is an image (RGB colour maps); N: class-index label maps, one-hot encoded", "networks"
    )
    instance_maps: str = option(
        "",
        "a folder of instance-id maps mirroring the data's split folders (DIR/<split>/<stem>.png): their "
        "boundaries join the input as one channel (the reference's instance maps; off without a folder)",
        "data",
    )
    ndf: int = option(64, "discriminator width", "networks")
    num_D: int = option(2, "discriminators, at 1, 1/2, 1/4 ... of the resolution", "networks")
    n_layers_discriminator: int = option(3, "layers of each discriminator", "networks", flag="--n_layers_D")
    norm: str = option("instance", "normalisation in G and D", "networks", choices=("batch", "instance", "none"))
    use_dropout: bool = option(False, "dropout in the residual blocks", "networks")

    gan_mode: str = option("lsgan", "adversarial loss (--no_lsgan: vanilla)", choices=("lsgan", "vanilla"))
    lambda_feat: float = option(10.0, "weight of the feature-matching (and VGG) terms")
    gan_feat_loss: bool = option(True, "no discriminator feature matching", flag="--no_ganFeat_loss")
    vgg_weights: str = option(
        "",
        "VGG19 weights (torchvision layout, .safetensors or a torch state dict) to add the VGG perceptual term; "
        "without them it is off (the reference's default is on, with ImageNet weights no package here ships)",
    )
    pool_size: int = option(0, "earlier fakes the discriminator also sees (0: only the current ones)")

    load_pretrain: str = option(
        "", "initialise G from this finished run's folder (a global run for --netG local)", "stages"
    )
    niter_fix_global: int = option(0, "--netG local: epochs in which only the outermost enhancer trains", "stages")


PAPER = Pix2PixHDRecipe()


class PerceptualLoss:
    """The reference's VGGLoss: L1 between VGG19 activations (weights 1/32 ... 1), on images in [-1, 1] as it feeds."""

    WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)

    def __init__(self, weights_path: str):
        from ..networks.pix2pixhd import load_vgg19_weights

        self.path, self.vgg = weights_path, load_vgg19_weights(weights_path)

    def __call__(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        self.vgg.to(fake.device)
        pairs = zip(self.vgg(fake), self.vgg(real), strict=True)
        return sum(weight * F.l1_loss(x, y.detach()) for weight, (x, y) in zip(self.WEIGHTS, pairs, strict=True))


class ClassIndexMaps(PairView):
    """Pairs whose source holds class indices (grey level i = class i), handed on as palette images.

    PIL resizes palette images nearest-neighbour whatever it is asked for, so the shared augmentation keeps every
    index, as the reference resizes label maps with NEAREST.
    """

    def __init__(self, pairs, label_nc: int):
        super().__init__(pairs)
        self.label_nc = label_nc

    def load(self, index: int):
        source, target = self.pairs.load(index)
        return class_index_image(source, self.label_nc, self.pairs.name(index)), target


def class_index_image(image, label_nc: int, name: str):
    """A label map (L, P, 16-bit or grey RGB) as a palette image of its class indices; refused if it holds colours."""
    import numpy as np
    from PIL import Image

    if image.mode in ("L", "P", "I", "I;16"):
        indices = np.asarray(image)
    else:
        rgb = np.asarray(image.convert("RGB"))
        if not ((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()):
            raise ValueError(
                f"{name}: --label_nc {label_nc} reads label maps whose pixels are class indices (grey levels), "
                "but this one holds colours; train colour label maps with --label_nc 0"
            )
        indices = rgb[..., 0]
    if indices.size and int(indices.max()) >= label_nc:
        raise ValueError(f"{name}: holds class index {int(indices.max())}, but --label_nc is {label_nc}")
    return Image.fromarray(indices.astype(np.uint8), mode="L").convert("P")


class Pix2PixHD(PairedTranslation):
    """`--method pix2pixhd`: the reference's `Pix2PixHDModel.forward` and `train.py` update, step for step."""

    name = "pix2pixhd"
    paper_url = PAPER_URL
    Recipe = Pix2PixHDRecipe
    description = (
        "pix2pixHD (Wang et al., CVPR 2018): high-resolution paired translation, coarse-to-fine G, multi-scale D"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("the reference's switches")
        group.add_argument(
            "--no_lsgan", dest="gan_mode", action="store_const", const="vanilla", default=argparse.SUPPRESS,
            help="the vanilla GAN loss instead of LSGAN (same as --gan_mode vanilla)",
        )  # fmt: skip
        group.add_argument(
            "--no_vgg_loss", dest="vgg_weights", action="store_const", const="", default=argparse.SUPPRESS,
            help="no VGG loss (the default here: pass --vgg_weights to turn it on)",
        )  # fmt: skip

    def validate(self, args: argparse.Namespace) -> None:
        super().validate(args)
        if args.niter_fix_global and args.generator_arch != "local":
            raise ValueError("--niter_fix_global fixes the global generator inside a local one: it needs --netG local")
        if args.niter_fix_global < 0:
            raise ValueError(f"--niter_fix_global must be 0 or more epochs, got {args.niter_fix_global}")
        if not 0 <= args.label_nc <= 256:
            raise ValueError(f"--label_nc must be between 0 and 256 (class indices are 8-bit), got {args.label_nc}")
        for flag, path in (("--load_pretrain", args.load_pretrain), ("--vgg_weights", args.vgg_weights)):
            if path and not Path(path).exists():
                raise ValueError(f"{flag} {path}: no such file or folder")

    def load_data(self, args: argparse.Namespace, recipe: Pix2PixHDRecipe) -> PairedData:
        """The shared paired data; with --label_nc, sources read as class-index maps (one channel); with
        --instance_maps, each pair's instance map joins its source as one more channel."""
        from ..data.instances import InstanceMaps

        data = super().load_data(args, recipe)
        if recipe.label_nc:
            data.train_pairs = ClassIndexMaps(data.train_pairs, recipe.label_nc)
            data.eval_pairs = ClassIndexMaps(data.eval_pairs, recipe.label_nc)
            data.channels = (1, data.channels[1])
            data.description += f"; sources read as maps of {recipe.label_nc} class indices (--label_nc)"
        if recipe.instance_maps:
            data.train_pairs = InstanceMaps(data.train_pairs, recipe.instance_maps)
            data.eval_pairs = InstanceMaps(data.eval_pairs, recipe.instance_maps)
            data.channels = (data.channels[0] + 1, data.channels[1])
            data.description += f"; instance boundaries from {recipe.instance_maps} (--instance_maps)"
        return data

    def build_networks(
        self, recipe: Pix2PixHDRecipe, channels: tuple[int, int], args: argparse.Namespace
    ) -> TrainingState:
        """G (global or local, from --load_pretrain if given), the multi-scale D, their Adams, the stage clock."""
        from ..networks import Pix2PixGenerator, create_discriminator
        from ..networks.pix2pixhd import init_pix2pixhd_weights
        from .cyclegan import ImagePool
        from .gan import adam, has_batch_norm, initialise

        generator = Pix2PixGenerator(
            recipe.generator_arch, channels[0], channels[1], recipe.ngf, recipe.norm, recipe.use_dropout, "eval",
            arch_options(recipe),
        )  # fmt: skip
        encoding = getattr(generator.net.encoding, "out_channels", channels[0])
        discriminator = create_discriminator(
            "multiscale", in_channels=encoding + channels[1], ndf=recipe.ndf, norm=recipe.norm,
            n_layers=recipe.n_layers_discriminator, num_D=recipe.num_D,
        )  # fmt: skip
        initialise(recipe, generator, discriminator, reference_init=init_pix2pixhd_weights)
        if recipe.load_pretrain:
            load_pretrained_generator(generator, recipe.load_pretrain)
        fused = not args.no_fused_adam
        return TrainingState(
            modules={"generator": generator, "discriminator": discriminator},
            optimizers={
                "generator": adam(generator.parameters(), recipe, fused),
                "discriminator": adam(discriminator.parameters(), recipe, fused),
            },
            extras={
                "pool": ImagePool(recipe.pool_size),
                "perceptual": PerceptualLoss(recipe.vgg_weights) if recipe.vgg_weights else None,
                # one D forward over fake and real stacked: exact only without batch norm
                "stack_discriminator": not args.no_stacked_discriminator and not has_batch_norm(discriminator),
            },
        )

    def training_step(
        self, accelerator: Accelerator, state: TrainingState, batch: dict, recipe: Pix2PixHDRecipe
    ) -> dict[str, torch.Tensor]:
        """D's verdicts and every loss from one G forward, then G's update, then D's (the reference's train.py)."""
        generator = state.modules["generator"]
        release_step = recipe.niter_fix_global * state.steps_per_epoch  # the global G joins after these epochs
        if release_step and state.step == release_step:  # the reference's update_fixed_params
            state.optimizers["generator"].state.clear()  # a new Adam over all of G: fresh moments and step counts
        source, target = batch["source"], batch["target"]
        label = accelerator.unwrap_model(generator).net.encoding(source)  # the reference's input_label
        fake = generator(source)
        losses = self.losses(accelerator, state, recipe, label, target, fake)
        accelerator.backward(losses["G"])
        if state.step < release_step:  # the reference's G optimizer holds only the outermost enhancer until then
            for parameter in accelerator.unwrap_model(generator).net.fixed_global_parameters():
                parameter.grad = None
        state.optimizers["generator"].step()
        state.optimizers["generator"].zero_grad(set_to_none=True)
        state.modules["discriminator"].requires_grad_(True)  # `losses` froze it for G's verdict; D learns now
        accelerator.backward(losses["D"])
        state.optimizers["discriminator"].step()
        state.optimizers["discriminator"].zero_grad(set_to_none=True)
        return {name: loss.detach() for name, loss in losses.items()}

    @staticmethod
    def losses(accelerator, state, recipe, label, target, fake) -> dict[str, torch.Tensor]:
        """The reference's `Pix2PixHDModel.forward`: D_fake (pooled), D_real, G_GAN, G_GAN_Feat, G_VGG; G and D."""
        import torch

        from ..losses import GANLoss
        from .gan import multiscale_judge

        fake_pair = state.extras["pool"].query(torch.cat([label, fake.detach()], 1))
        verdicts = multiscale_judge(
            accelerator, state.modules["discriminator"], GANLoss(recipe.gan_mode), state.extras["stack_discriminator"],
            (fake_pair, torch.cat([label, target], 1), torch.cat([label, fake], 1)),
            (recipe.n_layers_discriminator, recipe.lambda_feat) if recipe.gan_feat_loss else None,
        )  # fmt: skip
        losses = {name: verdicts[name] for name in ("G_GAN", "G_GAN_Feat")} | {"G_VGG": fake.new_zeros(())}
        losses |= {name: verdicts[name] for name in ("D_real", "D_fake")}
        if state.extras["perceptual"] is not None:
            losses["G_VGG"] = state.extras["perceptual"](fake, target) * recipe.lambda_feat
        losses["G"] = losses["G_GAN"] + losses["G_GAN_Feat"] + losses["G_VGG"]
        losses["D"] = (losses["D_fake"] + losses["D_real"]) * 0.5
        return losses

    def save(self, exported: dict[str, nn.Module], output_dir: Path, result: Evaluation, args, record) -> None:
        """The paired Hub folder, its card saying which G was trained and whether the VGG term was used."""
        from .paired import paired_card

        (output_dir / "README.md").unlink(missing_ok=True)  # save_pretrained keeps an old card; this run's replaces it
        card = paired_card(record, result, args) | {"description": card_description(record["recipe"])}
        exported[""].save_pretrained(output_dir, model_card_kwargs=card)


def arch_options(recipe: Pix2PixHDRecipe) -> dict:
    """The generator's config.json `arch_options`: every pix2pixHD option of its arch, spelled out."""
    options = {"n_downsample_global": recipe.n_downsample_global, "n_blocks_global": recipe.n_blocks_global}
    if recipe.generator_arch == "local":
        options |= {"n_local_enhancers": recipe.n_local_enhancers, "n_blocks_local": recipe.n_blocks_local}
    if recipe.label_nc:
        options["label_nc"] = recipe.label_nc
    if recipe.instance_maps:
        options["instance_edges"] = True
    return options


def load_pretrained_generator(generator: nn.Module, folder: str) -> None:
    """--load_pretrain: a global run's G into the local enhancer's global part (all but its head), or a run of the
    same arch whole; anything that does not fit is refused with the widths that would."""
    from ..networks import Pix2PixGenerator

    pretrained = Pix2PixGenerator.from_pretrained(folder)
    if pretrained.arch == generator.arch:
        target, weights = generator.net, pretrained.net.state_dict()
    elif (pretrained.arch, generator.arch) == ("global", "local"):
        target = generator.net.global_part
        weights = {key: value for key, value in pretrained.net.state_dict().items() if not key.startswith("head.")}
    else:
        raise ValueError(f"--load_pretrain {folder}: a {pretrained.arch!r} generator cannot start a {generator.arch!r}")
    expected = target.state_dict()
    wrong = [key for key in expected if key not in weights or weights[key].shape != expected[key].shape]
    if wrong or len(weights) != len(expected):
        levels = generator.arch_options.get("n_local_enhancers", 0)
        what = f"{wrong[0]} differs" if wrong else "the layer counts differ"
        raise ValueError(
            f"--load_pretrain {folder}: its generator (ngf {pretrained._hub_mixin_config['ngf']}, arch_options "
            f"{pretrained.arch_options}) does not fit this one's global part ({what}); a global run of ngf N "
            f"starts a local one of --ngf N/{2**levels} with the same G1 options"
        )
    target.load_state_dict(weights)


def card_description(recipe: dict) -> str:
    """What the card says about the pix2pixHD specifics, the VGG term first (it is off unless weights were given)."""
    vgg = (
        f"used (VGG19 weights from `{Path(recipe['vgg_weights']).name}`)"
        if recipe["vgg_weights"]
        else "not used (no VGG19 weights were given)"
    )
    feat = f"on (lambda_feat {recipe['lambda_feat']})" if recipe["gan_feat_loss"] else "off"
    generator = "global generator G1" if recipe["generator_arch"] == "global" else "G1 + local enhancer G2"
    pretrained = f", G1 initialised from `{recipe['load_pretrain']}`" if recipe["load_pretrain"] else ""
    return (
        f"Trained as [pix2pixHD]({PAPER_URL}) (Wang et al., CVPR 2018; reference: {REFERENCE_REPO_URL}): "
        f"{generator}{pretrained}, {recipe['num_D']} discriminators, {recipe['gan_mode']} GAN loss, "
        f"discriminator feature matching {feat}, VGG perceptual loss {vgg}."
    )
