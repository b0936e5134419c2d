"""Discriminators: the PatchGAN of pix2pix and CycleGAN (70x70 by default, PixelGAN with n_layers=0)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..hub import PROJECT_REPO_URL, StrictHubMixin
from .blocks import NORMS, ConvNormAct, check_choice, init_weights, make_norm
from .generator import PIX2PIX_PAPER_URL
from .reference import load_reference_file, load_reference_state_dict
from .registry import register_discriminator


class PatchDiscriminator(
    nn.Module,
    StrictHubMixin,
    library_name="pix2pix-hub",
    tags=["pix2pix", "patchgan", "gan"],
    license="bsd-3-clause",
    paper_url=PIX2PIX_PAPER_URL,
    repo_url=PROJECT_REPO_URL,
):
    """PatchGAN D(x, y): one real/fake logit per overlapping patch of the (source, target) pair.

    n_layers=3 is the paper's 70x70 PatchGAN (30x30 logits at 256x256); n_layers=1 gives 16x16 patches,
    n_layers=5 286x286, and n_layers=0 the 1x1 PixelGAN of the paper's ablation.
    """

    def __init__(
        self,
        in_channels: int = 6,
        ndf: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
    ):
        super().__init__()
        check_choice("norm", norm, NORMS)
        if not isinstance(n_layers, int) or n_layers < 0:
            raise ValueError(f"n_layers must be an integer >= 0, got {n_layers!r}")
        bias = norm != "batch"
        if n_layers == 0:
            self.stem = ConvNormAct(nn.Conv2d(in_channels, ndf, 1), post_act=nn.LeakyReLU(0.2))
            self.blocks = nn.Sequential(
                ConvNormAct(nn.Conv2d(ndf, ndf * 2, 1, bias=bias), make_norm(norm, ndf * 2), post_act=nn.LeakyReLU(0.2))
            )
            self.head = nn.Conv2d(ndf * 2, 1, 1, bias=bias)
        else:
            widths = [ndf * min(2**i, 8) for i in range(n_layers + 1)]
            self.stem = ConvNormAct(nn.Conv2d(in_channels, ndf, 4, 2, 1), post_act=nn.LeakyReLU(0.2))
            self.blocks = nn.Sequential(
                *[
                    ConvNormAct(
                        nn.Conv2d(widths[i - 1], widths[i], 4, stride=2 if i < n_layers else 1, padding=1, bias=bias),
                        make_norm(norm, widths[i]),
                        post_act=nn.LeakyReLU(0.2),
                    )
                    for i in range(1, n_layers + 1)
                ]
            )
            self.head = nn.Conv2d(widths[-1], 1, 4, 1, 1)
        init_weights(self)

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(pair)))

    @classmethod
    def from_reference_checkpoint(cls, path: str | Path, **constructor_kwargs) -> PatchDiscriminator:
        """Load a reference `latest_net_D.pth` (`basic`, `n_layers` or `pixel` netD)."""
        model = cls(**constructor_kwargs)
        load_reference_state_dict(model, load_reference_file(path), source=str(path))
        return model.eval()


@register_discriminator("basic")
@register_discriminator("n_layers")
def patch_gan(in_channels: int, ndf: int, norm: str, n_layers: int = 3) -> PatchDiscriminator:
    """The PatchGAN, `n_layers` deep: 3 is the 70x70 of the paper (the reference's netD "basic"/"n_layers")."""
    return PatchDiscriminator(in_channels, ndf, n_layers, norm)


@register_discriminator("pixel")
def pixel_gan(in_channels: int, ndf: int, norm: str, n_layers: int = 0) -> PatchDiscriminator:
    """The 1x1 PixelGAN of the paper's ablation (the reference's netD "pixel"); `n_layers` is ignored."""
    return PatchDiscriminator(in_channels, ndf, 0, norm)
