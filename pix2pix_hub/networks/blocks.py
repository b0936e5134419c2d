"""Layers shared by the networks: the reference's norm layers, its weight init, and conv-norm-activation units."""

from __future__ import annotations

from torch import nn

NORMS = ("batch", "instance", "none")
UPSAMPLINGS = ("basic", "bilinear")
INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")
INIT_STD = 0.02  # the reference's init_gain


def check_choice(name: str, value: object, choices: tuple) -> None:
    """Refuse an unknown option value, naming the valid ones."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(map(repr, choices))}")


def make_norm(norm: str, channels: int) -> nn.Module:
    """The reference's norm layers: affine batch norm with running stats, or instance norm without either."""
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


def init_weights(module: nn.Module, init_type: str = "normal", gain: float = INIT_STD) -> None:
    """The reference's `init_weights`: conv/linear weights by `init_type`, biases 0; batch norm scale ~ N(1, gain)."""
    check_choice("init_type", init_type, INIT_TYPES)
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if init_type == "normal":
                nn.init.normal_(layer.weight, 0.0, gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(layer.weight, gain=gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(layer.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(layer.weight, gain=gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, gain)
            nn.init.zeros_(layer.bias)


def upsampling_conv(in_channels: int, out_channels: int, kernel: int, bias: bool, upsample: str = "basic") -> nn.Module:
    """A decoder's 2x upsampling convolution. "basic" is the papers': a stride-2 transposed convolution (`kernel` 4
    for the U-Net, 3 with output padding for the ResNet), whose kernel overlaps unevenly between neighbouring output
    pixels and so can print a checkerboard (Odena et al., Distill 2016). "bilinear" is BicycleGAN's code's option
    (`--upsample bilinear`): resize 2x bilinearly, reflection-pad by 1, then a 3x3 convolution: every output pixel
    sees the same kernel, so there is no checkerboard to learn away."""
    check_choice("upsample", upsample, UPSAMPLINGS)
    if upsample == "bilinear":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.ReflectionPad2d(1),
            nn.Conv2d(in_channels, out_channels, 3, bias=bias),
        )
    output_padding = 1 if kernel % 2 else 0
    return nn.ConvTranspose2d(in_channels, out_channels, kernel, 2, 1, output_padding=output_padding, bias=bias)


class ConvNormAct(nn.Sequential):
    """`act -> conv -> norm` (pre-activation, as the U-Net) or `conv -> norm -> act`; absent parts are skipped."""

    def __init__(
        self,
        conv: nn.Module,
        norm: nn.Module | None = None,
        pre_act: nn.Module | None = None,
        post_act: nn.Module | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        if pre_act is not None:
            self.pre_act = pre_act
        self.conv = conv
        if norm is not None and not isinstance(norm, nn.Identity):
            self.norm = norm
        if post_act is not None:
            self.post_act = post_act
        if dropout > 0:
            self.dropout = nn.Dropout(dropout)
