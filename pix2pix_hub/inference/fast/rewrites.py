"""Exact rewrites that make the exported test-time graph faster on a CPU; the arithmetic stays the same.

What ONNX Runtime is slow at on 2 CPU cores, and what each rewrite does instead (measured by
benchmarks/inference.py; the row "export without graph rewrites" is the plain export):
- A stride-2 transposed convolution runs as a GEMM and a scatter-add (col2im). It is four ordinary convolutions
  on the input, one per output phase (even or odd row, even or odd column), interleaved: `SubPixelConvTranspose`
  computes all four as one small-kernel convolution with 4x the output channels (an "eval"-mode batch norm folded
  into its weights), and interleaves them with a grouped stride-2 transposed convolution whose 2x2 kernels are
  one-hot, which copies each value to its place, about 4x as fast as DepthToSpace, and crops through its padding.
- A LeakyReLU that is not the only consumer of a convolution's output runs on its own, with layout conversions
  around it: the encoder's LeakyReLUs move onto the convolution before them, where they fuse.
- The decoder's concatenation of skip and upsampled input is a copy with layout conversions: `SplitSkipUNet`
  convolves the two apart with the weights split by input channel, the second convolution accumulating into the
  first's output.
- A stride-1 convolution with a few output channels at full resolution (the ResNet and pix2pixHD generators' 7x7
  RGB head) reads its whole input window for each of three outputs: ONNX Runtime and PyTorch run it no faster than
  one with 16 outputs. `PhaseConv` computes the four output phases (even or odd row and column) as one stride-2
  convolution with a kernel one tap larger and 4x the output channels, and interleaves them: about 2.7x as fast.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ...networks import ConvNormAct, UNet  # UNet: the layout SplitSkipUNet reads

PHASES = 2  # the stride this rewrite handles: every generator upsamples by 2


def _phase_taps(kernel: int, padding: int) -> list[dict[int, int]]:
    """For output phase a, {input offset o: kernel tap} with output row 2i + a reading input row i + o."""
    # ConvTranspose: output row 2m - padding + tap receives input row m, so tap = a + padding - 2o.
    return [
        {o: a + padding - PHASES * o for o in range(-kernel, kernel + 1) if 0 <= a + padding - PHASES * o < kernel}
        for a in range(PHASES)
    ]


def can_rewrite(layer: nn.Module) -> bool:
    """A plain 2-D transposed convolution that exactly doubles height and width."""
    if not isinstance(layer, nn.ConvTranspose2d):
        return False
    kernel, stride, padding = layer.kernel_size, layer.stride, layer.padding
    square = kernel[0] == kernel[1] and padding[0] == padding[1] and layer.output_padding[0] == layer.output_padding[1]
    doubles = kernel[0] + layer.output_padding[0] - 2 * padding[0] == PHASES  # (H-1)*2 - 2p + k + op == 2H
    return (
        square
        and doubles
        and kernel[0] >= PHASES  # a smaller kernel leaves a phase with no tap at all (only the bias)
        and stride == (PHASES, PHASES)
        and layer.dilation == (1, 1)
        and layer.groups == 1
        and layer.padding_mode == "zeros"
    )


class SubPixelConvTranspose(nn.Module):
    """A stride-2 `ConvTranspose2d` (optionally followed by an eval-mode `BatchNorm2d`) as conv -> interleave."""

    def __init__(self, layer: nn.ConvTranspose2d, batch_norm: nn.BatchNorm2d | None = None):
        super().__init__()
        if not can_rewrite(layer):
            raise ValueError(f"cannot rewrite {layer}: needs stride 2, square kernel and an output twice the input")
        taps = _phase_taps(layer.kernel_size[0], layer.padding[0])
        starts = [min(phase) for phase in taps]  # the first input offset each phase reads
        window = max(max(phase) - min(phase) + 1 for phase in taps)
        self.pads = (-min(starts), max(starts) + window - 1)  # before, after (rows and columns alike)
        # Convolution position q reads input rows q - pads[0] ... ; phase a of output row 2i + a sits at
        # q = i + starts[a] - min(starts). Put phase a in shuffle slot `slots[a]`: the shuffled row 2q + slot is
        # then output row 2i + a shifted by `self.crop`, one constant for both phases.
        self.crop, slots = next(
            (crop, slots)
            for crop in range(2 * PHASES * window)
            if sorted(slots := [a + crop - PHASES * (start - min(starts)) for a, start in enumerate(starts)])
            == list(range(PHASES))
        )

        weight = layer.weight.detach()  # (in, out, k, k)
        in_channels, out_channels = weight.shape[:2]
        # (out, row slot, column slot, in, window, window): channel c * 4 + 2 * slot_a + slot_b, as pixel_shuffle
        phase_weights = torch.zeros(out_channels, PHASES, PHASES, in_channels, window, window)
        for a, rows in enumerate(taps):
            for b, cols in enumerate(taps):
                for row_offset, row_tap in rows.items():
                    for col_offset, col_tap in cols.items():
                        dy, dx = row_offset - starts[a], col_offset - starts[b]
                        phase_weights[:, slots[a], slots[b], :, dy, dx] = weight[:, :, row_tap, col_tap].t()
        bias = layer.bias.detach() if layer.bias is not None else None
        if batch_norm is not None:  # eval-mode batch norm is a per-channel affine map: fold it in
            scale = batch_norm.weight.detach() / torch.sqrt(batch_norm.running_var + batch_norm.eps)
            phase_weights *= scale.view(-1, 1, 1, 1, 1, 1)
            bias = (0 if bias is None else bias) - batch_norm.running_mean
            bias = bias * scale + batch_norm.bias.detach()
        # symmetric padding goes into the convolution itself (no separate Pad node in the graph)
        self.pad_input = self.pads[0] != self.pads[1]
        conv_padding = 0 if self.pad_input else self.pads[0]
        # no bias where the layer has none (paper mode: a norm follows): a zero bias would stay float32 in int8
        # graphs, where the exporter shares one zero tensor between convolutions and the quantizer leaves it alone
        self.conv = nn.Conv2d(
            in_channels, out_channels * PHASES * PHASES, window, padding=conv_padding, bias=bias is not None
        )
        self.conv.weight.data = phase_weights.reshape(-1, in_channels, window, window)
        if bias is not None:
            self.conv.bias.data = bias.repeat_interleave(PHASES * PHASES)
        # the interleave: a grouped transposed convolution whose kernel copies phase channel (slot_row, slot_col)
        # of each output channel to row slot_row and column slot_col of its 2x2 output block
        self.out_channels = out_channels
        self.register_buffer("interleave", interleave_kernel(out_channels))

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """The asymmetric part of the zero padding, which the convolution itself cannot do."""
        if not self.pad_input:
            return x
        before, after = self.pads
        return F.pad(x, (before, after, before, after))

    def interleave_phases(self, phases: torch.Tensor) -> torch.Tensor:
        """The (N, C, 2H, 2W) output from the convolution's (N, 4C, h, w) phases; the padding crops the margin."""
        return F.conv_transpose2d(phases, self.interleave, stride=PHASES, padding=self.crop, groups=self.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.interleave_phases(self.conv(self.pad(x)))


FEW_OUTPUTS = 4  # PhaseConv rewrites convolutions with at most this many output channels (RGB, grey)


def interleave_kernel(out_channels: int) -> torch.Tensor:
    """The one-hot (4C, 1, 2, 2) kernel of a grouped stride-2 transposed convolution that puts phase channel
    c * 4 + 2 * row + column at (row, column) of output channel c's 2x2 blocks."""
    interleave = torch.zeros(out_channels * PHASES * PHASES, 1, PHASES, PHASES)
    for slot_row in range(PHASES):
        for slot_col in range(PHASES):
            interleave[slot_row * PHASES + slot_col :: PHASES * PHASES, 0, slot_row, slot_col] = 1
    return interleave


def can_split_phases(layer: nn.Module) -> bool:
    """A size-keeping stride-1 2-D convolution with an odd square kernel and at most `FEW_OUTPUTS` outputs."""
    if type(layer) is not nn.Conv2d or layer.out_channels > FEW_OUTPUTS:
        return False
    kernel, padding = layer.kernel_size, layer.padding
    return (
        kernel[0] == kernel[1] > 1
        and kernel[0] % 2 == 1
        and padding == ((kernel[0] - 1) // 2,) * 2
        and layer.stride == (1, 1)
        and layer.dilation == (1, 1)
        and layer.groups == 1
    )


class PhaseConv(nn.Module):
    """A size-keeping convolution as a stride-2 convolution over its four output phases, then an interleave.

    Output row 2i + a reads padded input rows 2i + a ... 2i + a + k - 1: all four phases of (i, j) are one
    stride-2 window of k + 1 taps, each phase's kernel the original one shifted by (a, b) inside it. Inputs must
    have even height and width (every generator's size multiple is even).
    """

    def __init__(self, layer: nn.Conv2d):
        super().__init__()
        if not can_split_phases(layer):
            raise ValueError(f"cannot rewrite {layer}: needs a size-keeping stride-1 conv with few outputs")
        kernel, self.padding, self.padding_mode = layer.kernel_size[0], layer.padding[0], layer.padding_mode
        weight = layer.weight.detach()  # (out, in, k, k)
        phase_weights = torch.zeros(layer.out_channels, PHASES, PHASES, layer.in_channels, kernel + 1, kernel + 1)
        for a in range(PHASES):
            for b in range(PHASES):
                phase_weights[:, a, b, :, a : a + kernel, b : b + kernel] = weight
        self.conv = nn.Conv2d(
            layer.in_channels, layer.out_channels * PHASES * PHASES, kernel + 1, PHASES, bias=layer.bias is not None
        )
        self.conv.weight.data = phase_weights.reshape(-1, layer.in_channels, kernel + 1, kernel + 1)
        if layer.bias is not None:
            self.conv.bias.data = layer.bias.detach().repeat_interleave(PHASES * PHASES)
        self.out_channels = layer.out_channels
        self.register_buffer("interleave", interleave_kernel(layer.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and (x.shape[-2] % PHASES or x.shape[-1] % PHASES):  # traced: a constant
            raise ValueError(f"PhaseConv needs an even height and width, got {tuple(x.shape[-2:])}")
        sides = (self.padding,) * 4
        padded = F.pad(x, sides) if self.padding_mode == "zeros" else F.pad(x, sides, mode=self.padding_mode)
        phases = self.conv(padded)
        return F.conv_transpose2d(phases, self.interleave, stride=PHASES, groups=self.out_channels)


class SplitSkipUNet(nn.Module):
    """A U-Net (decoder already rewritten to `SubPixelConvTranspose`) that never concatenates skip and input.

    Decoder level k computes conv(ReLU(cat(skip, up))); that equals conv_up(ReLU(up)) + conv_skip(ReLU(skip))
    with the weights split by input channel, and ONNX Runtime accumulates the second convolution into the first's
    output. Where a level's output goes straight to the next level's ReLU (no norm, activation or active dropout
    after the convolution, as in "eval" mode with batch norm folded), the ReLU runs on the phases before the
    interleave, which copies values unchanged, and fuses into the convolutions.
    """

    def __init__(self, unet: UNet):
        super().__init__()
        if not all(isinstance(block.conv, SubPixelConvTranspose) for block in unet.decoder):
            raise ValueError("SplitSkipUNet needs a U-Net whose decoder convolutions are SubPixelConvTranspose")
        self.encoder, self.decoder = unet.encoder, unet.decoder
        skip_widths = [0] + [level.conv.out_channels for level in reversed(unet.encoder[:-1])]
        self.up_convs, self.skip_convs = nn.ModuleList(), nn.ModuleList()
        for block, skip_width in zip(self.decoder, skip_widths, strict=True):
            whole = block.conv.conv
            self.up_convs.append(_input_channel_part(whole, slice(skip_width, whole.in_channels), with_bias=True))
            if skip_width:
                self.skip_convs.append(_input_channel_part(whole, slice(0, skip_width), with_bias=False))
        last = len(self.decoder) - 1
        self.rectify_phases = [level < last and _output_is_plain(block) for level, block in enumerate(self.decoder)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        x = skips.pop()
        rectified = False  # whether x already went through the ReLU every decoder level starts with
        for level, block in enumerate(self.decoder):
            sub_pixel = block.conv
            phases = self.up_convs[level](sub_pixel.pad(x if rectified else F.relu(x)))
            if level > 0:
                phases = phases + self.skip_convs[level - 1](sub_pixel.pad(F.relu(skips.pop())))
            rectified = self.rectify_phases[level]
            if rectified:
                phases = F.relu(phases)
            x = sub_pixel.interleave_phases(phases)
            for name in ("norm", "post_act", "dropout"):
                if hasattr(block, name):
                    x = getattr(block, name)(x)
        return x


def _input_channel_part(conv: nn.Conv2d, channels: slice, with_bias: bool) -> nn.Conv2d:
    """The convolution restricted to some of its input channels (the others taken as zero)."""
    with_bias = with_bias and conv.bias is not None
    part = nn.Conv2d(
        channels.stop - channels.start, conv.out_channels, conv.kernel_size, padding=conv.padding, bias=with_bias
    )
    part.weight.data = conv.weight.data[:, channels].clone()
    if with_bias:
        part.bias.data = conv.bias.data.clone()
    return part


def _output_is_plain(block: ConvNormAct) -> bool:
    """Nothing after the convolution but identities (a folded norm, eval-mode dropout)."""
    after = [getattr(block, name) for name in ("norm", "post_act", "dropout") if hasattr(block, name)]
    return all(
        isinstance(layer, nn.Identity) or (isinstance(layer, nn.Dropout) and not layer.training) for layer in after
    )


def _move_leaky_relus_into_encoder_outputs(unet: UNet) -> None:
    """Apply each encoder level's input LeakyReLU at the end of the level before it, where it fuses into the conv.

    Encoder level k's output feeds level k + 1 (LeakyReLU first) and, as a skip, decoder level k (ReLU first).
    ReLU(LeakyReLU(x)) == ReLU(x) exactly, so the skip may carry the LeakyReLU'd tensor: the convolution's output
    then has one activation, which ONNX Runtime fuses into the convolution instead of running it on its own.
    """
    for previous, block in zip(unet.encoder[:-1], unet.encoder[1:], strict=True):
        if isinstance(getattr(block, "pre_act", None), nn.LeakyReLU) and not hasattr(previous, "post_act"):
            previous.post_act = block.pre_act
            del block.pre_act
    # the innermost output goes to the bottleneck decoder level alone: it needs its own ReLU, which is kept


def fast_inference_graph(network: nn.Module) -> nn.Module:
    """A copy of an eval-mode network with the rewrites above: same outputs, a faster exported graph."""
    network = copy.deepcopy(network).eval()
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if not can_rewrite(child):
                continue
            batch_norm = getattr(parent, "norm", None)  # in a ConvNormAct the norm directly follows the conv
            if (
                isinstance(parent, ConvNormAct)
                and isinstance(batch_norm, nn.BatchNorm2d)
                and batch_norm.affine
                and batch_norm.running_var is not None
            ):
                setattr(parent, name, SubPixelConvTranspose(child, batch_norm))
                parent.norm = nn.Identity()
            else:
                setattr(parent, name, SubPixelConvTranspose(child))
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if can_split_phases(child) and not isinstance(parent, SubPixelConvTranspose):  # its phases: 4x outputs
                setattr(parent, name, PhaseConv(child))
    if splits_skips(network):
        return _rewrite_unet(network)
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if splits_skips(child):
                setattr(parent, name, _rewrite_unet(child))
    return network


def splits_skips(network: nn.Module) -> bool:
    """Whether a network declares that it runs as `SplitSkipUNet`: it names the rewrite among its
    `exact_rewrites` and takes one input, the image (`SplitSkipUNet.forward` takes nothing else)."""
    inputs = getattr(network, "inputs", ())
    return "split_skips" in getattr(network, "exact_rewrites", ()) and [item.kind for item in inputs] == ["image"]


def _rewrite_unet(unet: UNet) -> SplitSkipUNet:
    _move_leaky_relus_into_encoder_outputs(unet)
    return SplitSkipUNet(unet)
