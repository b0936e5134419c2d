"""The ResNet generator of the reference (Johnson et al. 2016): CycleGAN's G, an option for pix2pix."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvNormAct, make_norm, upsampling_conv
from .registry import register_generator


class ResnetBlock(nn.Module):
    """Two reflection-padded 3x3 convs with a residual connection (Johnson et al. 2016)."""

    def __init__(self, channels: int, norm: str, use_dropout: bool, bias: bool):
        super().__init__()
        self.conv1 = ConvNormAct(
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect", bias=bias),
            norm=make_norm(norm, channels),
            post_act=nn.ReLU(),
            dropout=0.5 if use_dropout else 0.0,
        )
        self.conv2 = ConvNormAct(
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect", bias=bias),
            norm=make_norm(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))


class ResnetGenerator(nn.Module):
    """7x7 stem, two stride-2 downsamplings, `n_blocks` residual blocks, two upsamplings, 7x7 tanh head."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        n_blocks: int,
        ngf: int,
        norm: str,
        use_dropout: bool,
        upsample: str = "basic",
    ):
        super().__init__()
        bias = norm != "batch"
        self.stem = ConvNormAct(
            nn.Conv2d(in_channels, ngf, 7, padding=3, padding_mode="reflect", bias=bias),
            norm=make_norm(norm, ngf),
            post_act=nn.ReLU(),
        )
        self.down = nn.Sequential(
            *[
                ConvNormAct(
                    nn.Conv2d(ngf * 2**i, ngf * 2 ** (i + 1), 3, stride=2, padding=1, bias=bias),
                    norm=make_norm(norm, ngf * 2 ** (i + 1)),
                    post_act=nn.ReLU(),
                )
                for i in range(2)
            ]
        )
        self.blocks = nn.Sequential(*[ResnetBlock(ngf * 4, norm, use_dropout, bias) for _ in range(n_blocks)])
        self.up = nn.Sequential(
            *[
                ConvNormAct(
                    upsampling_conv(ngf * 2 ** (2 - i), ngf * 2 ** (1 - i), 3, bias, upsample),
                    norm=make_norm(norm, ngf * 2 ** (1 - i)),
                    post_act=nn.ReLU(),
                )
                for i in range(2)
            ]
        )
        self.head = ConvNormAct(nn.Conv2d(ngf, out_channels, 7, padding=3, padding_mode="reflect"), post_act=nn.Tanh())
        self.size_multiple = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(self.blocks(self.down(self.stem(x)))))


@register_generator("resnet_9blocks", native_size=256)
def resnet_9blocks(
    in_channels: int, out_channels: int, ngf: int, norm: str, use_dropout: bool, upsample: str = "basic"
) -> ResnetGenerator:
    """9 residual blocks (the reference's choice at 256x256); `upsample` see `blocks.upsampling_conv`."""
    return ResnetGenerator(in_channels, out_channels, 9, ngf, norm, use_dropout, upsample)


@register_generator("resnet_6blocks", native_size=256)
def resnet_6blocks(
    in_channels: int, out_channels: int, ngf: int, norm: str, use_dropout: bool, upsample: str = "basic"
) -> ResnetGenerator:
    """6 residual blocks (the reference's choice at 128x128)."""
    return ResnetGenerator(in_channels, out_channels, 6, ngf, norm, use_dropout, upsample)
