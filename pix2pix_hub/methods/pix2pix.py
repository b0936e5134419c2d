"""pix2pix (Isola, Zhu, Zhou, Efros, CVPR 2017): a conditional GAN with an L1 term, on paired images.

Read against the paper (Sec. 3) and the reference's `models/pix2pix_model.py`: G is a U-Net, D a 70x70
PatchGAN that sees the source stacked with a real or generated target; one step updates D on a generated pair
and a real pair, then G to fool the updated D and to match the target in L1 (lambda 100).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import Recipe, TrainingState, option, upsample_option
from .paired import PairedTranslation

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator

PAPER_URL = "https://arxiv.org/abs/1611.07004"
REFERENCE_REPO_URL = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"


@dataclass(frozen=True)
class Pix2PixRecipe(Recipe):
    """pix2pix as trained in the paper: U-Net-256 + 70x70 PatchGAN, cGAN + 100 * L1, Adam(2e-4, 0.5), batch 1."""

    generator_arch: str = option(
        "unet_256", "generator (a registered arch)", "networks", flag="--arch", aliases=["--netG"]
    )
    ngf: int = option(64, "generator width", "networks")
    upsample: str = upsample_option()
    ndf: int = option(64, "discriminator width", "networks")
    discriminator_arch: str = option(
        "basic",
        "basic/n_layers: PatchGAN --n_layers_D deep (3: 70x70); pixel: 1x1 PixelGAN",
        "networks",
        flag="--netD",
        choices=("basic", "n_layers", "pixel"),
    )
    n_layers_discriminator: int = option(3, "PatchGAN depth (3: 70x70)", "networks", flag="--n_layers_D")
    norm: str = option("batch", "normalisation in G and D", "networks", choices=("batch", "instance", "none"))
    use_dropout: bool = option(True, "no dropout in the generator", "networks", flag="--no_dropout")
    inference_mode: str = option(
        "paper",
        "how the saved model runs at test time: paper = batch statistics + dropout, as the paper's test.py",
        "networks",
        choices=("eval", "paper"),
    )
    conditional_discriminator: bool = option(
        True,
        "D sees the target alone, not stacked with the source (the paper's 'GAN' ablation)",
        flag="--unconditional_discriminator",
    )
    gan_mode: str = option("vanilla", "adversarial loss", choices=("vanilla", "lsgan", "wgangp"))
    lambda_gan: float = option(1.0, "weight of G's adversarial term (0: the paper's 'L1 only' ablation)")
    lambda_l1: float = option(
        100.0, "weight of the L1 term (0: the paper's 'cGAN only' ablation)", aliases=["--lambda_L1"]
    )
    lambda_gradient_penalty: float = option(10.0, "wgangp only", flag="--lambda_gp")


PAPER = Pix2PixRecipe()


class Pix2Pix(PairedTranslation):
    """`--method pix2pix`: the paper's conditional GAN, step for step as the reference's `optimize_parameters`."""

    name = "pix2pix"
    paper_url = PAPER_URL
    Recipe = Pix2PixRecipe
    description = "pix2pix (Isola et al., CVPR 2017): a conditional GAN trained on paired images"

    def build_networks(
        self, recipe: Pix2PixRecipe, channels: tuple[int, int], args: argparse.Namespace
    ) -> TrainingState:
        from ..networks import Pix2PixGenerator, create_discriminator
        from .gan import adam, has_batch_norm, initialise, upsampling

        generator = Pix2PixGenerator(
            arch=recipe.generator_arch,
            in_channels=channels[0],
            out_channels=channels[1],
            ngf=recipe.ngf,
            norm=recipe.norm,
            use_dropout=recipe.use_dropout,
            inference_mode=recipe.inference_mode,
            arch_options=upsampling(recipe),
        )
        discriminator = create_discriminator(
            recipe.discriminator_arch,
            in_channels=sum(channels) if recipe.conditional_discriminator else channels[1],
            ndf=recipe.ndf,
            n_layers=recipe.n_layers_discriminator,
            norm=recipe.norm,
        )
        initialise(recipe, generator, discriminator)
        fused = not args.no_fused_adam
        return TrainingState(
            modules={"generator": generator, "discriminator": discriminator},
            optimizers={
                "generator": adam(generator.parameters(), recipe, fused),
                "discriminator": adam(discriminator.parameters(), recipe, fused),
            },
            # one D forward over fake and real stacked: exact only without batch norm, which would mix statistics
            extras={"stack_discriminator": not args.no_stacked_discriminator and not has_batch_norm(discriminator)},
        )

    def training_step(
        self, accelerator: Accelerator, state: TrainingState, batch: dict, recipe: Pix2PixRecipe
    ) -> dict[str, torch.Tensor]:
        """D on a generated and a real pair (fake first, as the reference), then G through the updated D."""
        import torch

        from ..losses import GANLoss, gradient_penalty, l1_loss
        from .gan import frozen

        generator, discriminator = state.modules["generator"], state.modules["discriminator"]
        gan_loss = GANLoss(recipe.gan_mode)
        source, target = batch["source"], batch["target"]
        condition = (lambda image: torch.cat([source, image], 1)) if recipe.conditional_discriminator else (lambda x: x)
        fake = generator(source)

        discriminator.requires_grad_(True)
        fake_pair, real_pair = condition(fake.detach()), condition(target)
        if state.extras["stack_discriminator"]:
            logits_fake, logits_real = discriminator(torch.cat([fake_pair, real_pair])).chunk(2)
        else:
            logits_fake, logits_real = discriminator(fake_pair), discriminator(real_pair)
        loss_d_fake, loss_d_real = gan_loss(logits_fake, False), gan_loss(logits_real, True)
        loss_d = (loss_d_fake + loss_d_real) * 0.5
        if recipe.gan_mode == "wgangp":
            loss_d = loss_d + gradient_penalty(discriminator, real_pair, fake_pair, recipe.lambda_gradient_penalty)
        accelerator.backward(loss_d)
        state.optimizers["discriminator"].step()
        state.optimizers["discriminator"].zero_grad(set_to_none=True)

        loss_g_gan = gan_loss(frozen(accelerator, discriminator)(condition(fake)), True)
        loss_g_l1 = l1_loss(fake, target, recipe.lambda_l1)
        accelerator.backward(recipe.lambda_gan * loss_g_gan + loss_g_l1)
        state.optimizers["generator"].step()
        state.optimizers["generator"].zero_grad(set_to_none=True)
        losses = {"G_GAN": loss_g_gan, "G_L1": loss_g_l1, "D_real": loss_d_real, "D_fake": loss_d_fake}
        return {name: loss.detach() for name, loss in losses.items()}
