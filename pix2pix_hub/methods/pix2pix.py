"""pix2pix (Isola, Zhu, Zhou, Efros, CVPR 2017): a conditional GAN with an L1 term, on paired images.

Read against the paper (Sec. 3) and the reference's `models/pix2pix_model.py`: G is a U-Net, D a 70x70
PatchGAN that sees the source stacked with a real or generated target; one step updates D on a generated pair
and a real pair, then G to fool the updated D and to match the target in L1 (lambda 100).
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Method, Recipe, option

PAPER_URL = "https://arxiv.org/abs/1611.07004"
REFERENCE_REPO_URL = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"


@dataclass(frozen=True)
class Pix2PixRecipe(Recipe):
    """pix2pix as trained in the paper: U-Net-256 + 70x70 PatchGAN, cGAN + 100 * L1, Adam(2e-4, 0.5), batch 1."""

    generator_arch: str = option(
        "unet_256", "generator (a registered arch)", "networks", flag="--arch", aliases=["--netG"]
    )
    ngf: int = option(64, "generator width", "networks")
    ndf: int = option(64, "discriminator width", "networks")
    discriminator_arch: str = option(
        "basic",
        "basic: 70x70 PatchGAN (n_layers_D deep); pixel: 1x1 PixelGAN",
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
