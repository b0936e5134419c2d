"""The paper's defaults, in one place (Isola et al. 2017, Sec. 3-4 and the reference implementation).

Every other module reads its defaults from here: the networks, the losses, the data pipeline and
`train_accelerate.py`. Changing the recipe means changing this file and nothing else.
"""

from dataclasses import dataclass

PAPER_URL = "https://arxiv.org/abs/1611.07004"
REFERENCE_REPO_URL = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"
PROJECT_REPO_URL = "https://github.com/pix2pix-hub/pix2pix-hub"


@dataclass(frozen=True)
class PaperRecipe:
    """pix2pix as trained in the paper: U-Net-256 + 70x70 PatchGAN, cGAN + 100 * L1, Adam(2e-4, 0.5)."""

    # Networks
    generator_arch: str = "unet_256"
    ngf: int = 64
    ndf: int = 64
    n_layers_discriminator: int = 3  # 70x70 receptive field
    norm: str = "batch"
    use_dropout: bool = True
    init_std: float = 0.02

    # Objective
    gan_mode: str = "vanilla"
    lambda_l1: float = 100.0
    lambda_gradient_penalty: float = 10.0  # only for gan_mode="wgangp"

    # Optimisation
    learning_rate: float = 2e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.999
    batch_size: int = 1
    epochs: int = 100  # at the initial learning rate
    decay_epochs: int = 100  # then linear decay to zero

    # Data
    load_size: int = 286
    crop_size: int = 256
    preprocess: str = "resize_and_crop"
    flip: bool = True
    direction: str = "AtoB"


PAPER = PaperRecipe()
