"""The pix2pix U-Net generator (the paper's G), with flat weight names."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvNormAct, make_norm, upsampling_conv
from .registry import register_generator, source_input


class UNet(nn.Module):
    """U-Net with `num_downs` stride-2 levels; decoder level i sees the encoder output of the same depth.

    unet_256 has 8 levels (1x1 bottleneck at 256x256), unet_128 has 7. Dropout 0.5 on the decoder levels just
    after the bottleneck (3 of them for unet_256), as in the paper.

    `exact_rewrites` names the graph rewrite its layout admits (`inference/fast/rewrites.py`): decoder levels that
    convolve skip and upsampled input apart. It applies while the network declares one input, the source image: a
    subclass that declares more (a latent code) keeps its own forward.
    """

    exact_rewrites = ("split_skips",)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_downs: int,
        ngf: int,
        norm: str,
        use_dropout: bool,
        upsample: str = "basic",
    ):
        super().__init__()
        bias = norm != "batch"
        widths = [min(ngf * 2**level, ngf * 8) for level in range(num_downs)]
        encoder = []
        for level, width in enumerate(widths):
            outermost, innermost = level == 0, level == num_downs - 1
            encoder.append(
                ConvNormAct(
                    nn.Conv2d(in_channels if outermost else widths[level - 1], width, 4, 2, 1, bias=bias),
                    norm=None if outermost or innermost else make_norm(norm, width),
                    pre_act=None if outermost else nn.LeakyReLU(0.2),
                )
            )
        decoder = []
        for level in reversed(range(num_downs)):  # bottleneck first: decoder[0] is the innermost level
            outermost, innermost = level == 0, level == num_downs - 1
            in_width = widths[level] if innermost else widths[level] * 2
            out_width = out_channels if outermost else widths[level - 1]
            with_dropout = use_dropout and 4 <= level <= num_downs - 2
            decoder.append(
                ConvNormAct(
                    upsampling_conv(in_width, out_width, 4, bias or outermost, upsample),
                    norm=None if outermost else make_norm(norm, out_width),
                    pre_act=nn.ReLU(),
                    post_act=nn.Tanh() if outermost else None,
                    dropout=0.5 if with_dropout else 0.0,
                )
            )
        self.encoder = nn.ModuleList(encoder)
        self.decoder = nn.ModuleList(decoder)
        self.size_multiple = 2**num_downs
        self.inputs = source_input(in_channels)
        if upsample != "basic":
            self.exact_rewrites = ()  # SplitSkipUNet reads transposed convolutions

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        x = self.decoder[0](skips.pop())
        for block in self.decoder[1:]:
            x = block(torch.cat([skips.pop(), x], dim=1))
        return x


@register_generator("unet_256", native_size=256)
def unet_256(
    in_channels: int, out_channels: int, ngf: int, norm: str, use_dropout: bool, upsample: str = "basic"
) -> UNet:
    """8 levels: a 1x1 bottleneck at 256x256 (the paper's generator); `upsample` see `blocks.upsampling_conv`."""
    return UNet(in_channels, out_channels, 8, ngf, norm, use_dropout, upsample)


@register_generator("unet_128", native_size=128)
def unet_128(
    in_channels: int, out_channels: int, ngf: int, norm: str, use_dropout: bool, upsample: str = "basic"
) -> UNet:
    """7 levels: a 1x1 bottleneck at 128x128."""
    return UNet(in_channels, out_channels, 7, ngf, norm, use_dropout, upsample)
