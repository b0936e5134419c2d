"""BicycleGAN's networks (Zhu et al., NeurIPS 2017; junyanz/BicycleGAN `models/networks.py` at 40b9d52).

- G: a U-Net that takes the source image and a latent code z (`nz` numbers), z tiled over the image and stacked
  with the input of every down block (`where_add="all"`, the paper's choice) or of the first one only ("input").
  Unlike pix2pix's U-Net, every convolution has a bias and a decoder level sees `[upsampled, skip]` in that order.
- E: the encoder from an image to the mean and log-variance of z (a VAE's head): `resnet_*` (E_ResNet, residual
  blocks that halve the size) or `conv_*` (E_NLayers, plain strided convolutions).
- D: `basic_*_multi` (D_NLayersMulti), a PatchGAN at `num_D` scales, each on the image average-pooled by 2 again,
  with half the width of the one before.

Layers are registered in the reference's order (its key names sorted), so `reference.reference_key_map` reads its
checkpoints; our own names are flat.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..hub import PROJECT_REPO_URL, StrictHubMixin
from .blocks import NORMS, ConvNormAct, check_choice, init_weights, make_norm, upsampling_conv
from .reference import load_reference_file, load_reference_state_dict
from .registry import IMAGE, LATENT, GeneratorInput, register_discriminator, register_generator

BICYCLEGAN_PAPER_URL = "https://arxiv.org/abs/1711.11586"
WHERE_ADD = ("all", "input")
NONLINEARITIES = {"relu": lambda: nn.ReLU(), "lrelu": lambda: nn.LeakyReLU(0.2), "elu": lambda: nn.ELU()}


def tiled(z: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """z (N, nz) as a (N, nz, H, W) map at `like`'s height and width, to stack with it."""
    return z[:, :, None, None].expand(-1, -1, like.shape[2], like.shape[3])


class LatentUNet(nn.Module):
    """G(x, z): BicycleGAN's U-Net (`G_Unet_add_all`, or `G_Unet_add_input` with `where_add="input"`).

    Level i's encoder block sees the output of level i-1 (with z stacked on when z is added there); its decoder
    block sees `[decoder output of level i+1, encoder output of level i-1]`. With `nz` 0 it is a one-input U-Net.
    """

    exact_rewrites = ()

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_downs: int,
        ngf: int,
        norm: str,
        use_dropout: bool,
        nz: int = 8,
        where_add: str = "all",
        upsample: str = "basic",
        nl: str = "relu",
    ):
        super().__init__()
        check_choice("where_add", where_add, WHERE_ADD)
        check_choice("nl", nl, tuple(NONLINEARITIES))
        self.nz, self.where_add = nz, where_add if nz else "input"
        widths = [min(ngf * 2**level, ngf * 8) for level in range(num_downs)]
        encoder = []
        for level, width in enumerate(widths):
            outermost, innermost = level == 0, level == num_downs - 1
            with_z = nz if outermost or self.where_add == "all" else 0
            encoder.append(
                ConvNormAct(
                    nn.Conv2d((in_channels if outermost else widths[level - 1]) + with_z, width, 4, 2, 1),
                    norm=None if outermost or innermost else make_norm(norm, width),
                    pre_act=None if outermost else nn.LeakyReLU(0.2),
                )
            )
        decoder = []
        for level in reversed(range(num_downs)):  # innermost first
            outermost, innermost = level == 0, level == num_downs - 1
            decoder.append(
                ConvNormAct(
                    upsampling_conv(
                        widths[level] * (1 if innermost else 2),
                        widths[level - 1] if level else out_channels,
                        4,
                        True,
                        upsample,
                    ),
                    norm=None if outermost else make_norm(norm, widths[level - 1]),
                    pre_act=NONLINEARITIES[nl](),
                    post_act=nn.Tanh() if outermost else None,
                    dropout=0.5 if use_dropout and 4 <= level <= num_downs - 2 else 0.0,
                )
            )
        self.encoder, self.decoder = nn.ModuleList(encoder), nn.ModuleList(decoder)
        self.size_multiple = 2**num_downs
        source = GeneratorInput("source", IMAGE, in_channels)
        self.inputs = (source, GeneratorInput("z", LATENT, nz)) if nz else (source,)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        skips = []
        for level, block in enumerate(self.encoder):
            adds_z = self.nz and (level == 0 or self.where_add == "all")
            x = block(torch.cat([x, tiled(z, x)], 1) if adds_z else x)
            skips.append(x)
        x = self.decoder[0](skips.pop())
        for block in self.decoder[1:]:
            x = block(torch.cat([x, skips.pop()], 1))
        return x


@register_generator("bicycle_unet_256", native_size=256)
def bicycle_unet_256(
    in_channels: int,
    out_channels: int,
    ngf: int,
    norm: str,
    use_dropout: bool,
    nz: int = 8,
    where_add: str = "all",
    upsample: str = "basic",
    nl: str = "relu",
) -> LatentUNet:
    """BicycleGAN's G for 256x256 (the reference's netG unet_256): 8 levels, z of `nz` numbers."""
    return LatentUNet(in_channels, out_channels, 8, ngf, norm, use_dropout, nz, where_add, upsample, nl)


@register_generator("bicycle_unet_128", native_size=128)
def bicycle_unet_128(
    in_channels: int,
    out_channels: int,
    ngf: int,
    norm: str,
    use_dropout: bool,
    nz: int = 8,
    where_add: str = "all",
    upsample: str = "basic",
    nl: str = "relu",
) -> LatentUNet:
    """BicycleGAN's G for 128x128 (netG unet_128): 7 levels."""
    return LatentUNet(in_channels, out_channels, 7, ngf, norm, use_dropout, nz, where_add, upsample, nl)


class ResidualDown(nn.Module):
    """E_ResNet's BasicBlock: [norm] lrelu conv3x3 [norm] lrelu conv3x3 avgpool2, plus avgpool2 conv1x1 of the input.

    Without a norm the reference's in-place activation also reaches the shortcut; so it does here.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str):
        super().__init__()
        shared = norm == "none"
        self.input_activation = nn.LeakyReLU(0.2) if shared else nn.Identity()
        self.residual = nn.Sequential(
            *([] if shared else [make_norm(norm, in_channels), nn.LeakyReLU(0.2)]),
            nn.Conv2d(in_channels, in_channels, 3, 1, 1),
            make_norm(norm, in_channels),
            nn.LeakyReLU(0.2),
            nn.Conv2d(in_channels, out_channels, 3, 1, 1),
            nn.AvgPool2d(2, 2),
        )
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(in_channels, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_activation(x)
        return self.residual(x) + self.shortcut(x)


class LatentEncoder(
    nn.Module,
    StrictHubMixin,
    library_name="pix2pix-hub",
    tags=["bicyclegan", "encoder", "image-to-image", "gan"],
    license="bsd-3-clause",
    paper_url=BICYCLEGAN_PAPER_URL,
    repo_url=PROJECT_REPO_URL,
):
    """E(y) -> (mu, logvar): the latent code's posterior for an image y in [-1, 1] (BicycleGAN's netE, VAE-like).

    `arch`: "resnet_256"/"resnet_128" (E_ResNet with 5/4 levels) or "conv_256"/"conv_128" (E_NLayers); the last
    feature map is average-pooled over 8x8, so the input is 256 or 128 pixels square. `nef` is the first width.
    """

    ARCHS = {"resnet_256": ("resnet", 5), "resnet_128": ("resnet", 4), "conv_256": ("conv", 5), "conv_128": ("conv", 4)}

    def __init__(
        self, arch: str = "resnet_256", in_channels: int = 3, nz: int = 8, nef: int = 64, norm: str = "instance"
    ):
        super().__init__()
        check_choice("arch", arch, tuple(self.ARCHS))
        check_choice("norm", norm, NORMS)
        self.arch, self.in_channels, self.nz = arch, in_channels, nz
        kind, levels = self.ARCHS[arch]
        self.image_size = 2**levels * 8  # halved `levels` times down to the final 8x8 average
        if kind == "resnet":
            widths = [nef * min(4, level) for level in range(1, levels + 1)]
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, nef, 4, 2, 1),
                *[ResidualDown(widths[n], widths[n + 1], norm) for n in range(levels - 1)],
                nn.LeakyReLU(0.2),
                nn.AvgPool2d(8),
            )
        else:
            widths = [nef * min(2**level, 4) for level in range(levels)]
            self.features = nn.Sequential(
                ConvNormAct(nn.Conv2d(in_channels, nef, 4, 2, 1), post_act=nn.LeakyReLU(0.2)),
                *[
                    ConvNormAct(
                        nn.Conv2d(widths[n - 1], widths[n], 4, 2, 1),
                        make_norm(norm, widths[n]),
                        post_act=nn.LeakyReLU(0.2),
                    )
                    for n in range(1, levels)
                ],
                nn.AvgPool2d(8),
            )
        self.mean = nn.Linear(widths[-1], nz)
        self.log_variance = nn.Linear(widths[-1], nz)
        init_weights(self, "xavier")

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if image.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f"encoder {self.arch} reads {self.image_size}x{self.image_size} images, got {tuple(image.shape[-2:])}"
            )
        features = self.features(image).flatten(1)
        return self.mean(features), self.log_variance(features)

    @classmethod
    def from_reference_checkpoint(cls, path: str | Path, **constructor_kwargs) -> LatentEncoder:
        """Load a reference `latest_net_E.pth` (E_ResNet or E_NLayers, vaeLike)."""
        model = cls(**constructor_kwargs)
        load_reference_state_dict(model, load_reference_file(path), source=str(path))
        return model.eval()


def patch_layers(in_channels: int, ndf: int, n_layers: int, norm: str) -> nn.Sequential:
    """One scale of D_NLayersMulti: a PatchGAN with biases everywhere (`get_layers`)."""
    widths = [ndf * min(2**n, 8) for n in range(n_layers + 1)]
    layers = [ConvNormAct(nn.Conv2d(in_channels, ndf, 4, 2, 1), post_act=nn.LeakyReLU(0.2))]
    for n in range(1, n_layers + 1):
        stride = 2 if n < n_layers else 1
        layers.append(
            ConvNormAct(
                nn.Conv2d(widths[n - 1], widths[n], 4, stride, 1),
                make_norm(norm, widths[n]),
                post_act=nn.LeakyReLU(0.2),
            )
        )
    layers.append(nn.Conv2d(widths[-1], 1, 4, 1, 1))
    return nn.Sequential(*layers)


class MultiScalePatchDiscriminator(nn.Module):
    """D_NLayersMulti: `num_D` PatchGANs, scale s on the image average-pooled s times (3x3, stride 2) with width
    round(ndf / 2**s). Returns the list of their logit maps (one map, not a list, when `num_D` is 1, as the
    reference: its GAN loss then sums over the batch, see `methods.bicyclegan.gan_terms`)."""

    def __init__(self, in_channels: int, ndf: int, n_layers: int, norm: str, num_D: int):
        super().__init__()
        self.scales = nn.ModuleList(
            [patch_layers(in_channels, int(round(ndf / 2**scale)), n_layers, norm) for scale in range(num_D)]
        )
        self.down = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor] | torch.Tensor:
        if len(self.scales) == 1:
            return self.scales[0](image)
        verdicts = []
        for scale, patch_gan in enumerate(self.scales):
            verdicts.append(patch_gan(image))
            if scale < len(self.scales) - 1:
                image = self.down(image)
        return verdicts


@register_discriminator("basic_256_multi")
def basic_256_multi(in_channels: int, ndf: int, norm: str, num_D: int = 2) -> MultiScalePatchDiscriminator:
    """BicycleGAN's D for 256x256: 70x70 PatchGANs (3 layers) at `num_D` scales."""
    return MultiScalePatchDiscriminator(in_channels, ndf, 3, norm, num_D)


@register_discriminator("basic_128_multi")
def basic_128_multi(in_channels: int, ndf: int, norm: str, num_D: int = 2) -> MultiScalePatchDiscriminator:
    """BicycleGAN's D for 128x128: 2-layer PatchGANs at `num_D` scales."""
    return MultiScalePatchDiscriminator(in_channels, ndf, 2, norm, num_D)
