"""pix2pixHD's networks (Wang et al., CVPR 2018): the coarse-to-fine generator and the multi-scale discriminator.

Read against the reference's `models/networks.py` (NVIDIA/pix2pixHD). The global generator G1 is a ResNet
generator (7x7 stem, `n_downsample_global` stride-2 convs, `n_blocks_global` residual blocks, as many upsamplings, 7x7
tanh head; reflect padding, conv biases everywhere). A local enhancer G2 runs G1 without its head, at 2^k * ngf, on
the input average-pooled k times, and each of its k stages adds its own downsampled features of a finer input to
the coarser output before residual blocks and one upsampling. The multi-scale discriminator is `num_D` PatchGANs,
each on a 2x-pooled copy of the previous one's input, returning every layer's output for feature matching.

Label maps can be one-hot encoded inside the generator (`label_nc`: the input's first channel holds class indices
as grey levels), and instance boundaries computed from an instance-id channel (`instance_edges`), so a label-map
model still takes an image tensor and exports to ONNX like any other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ConvNormAct, make_norm
from .reference import load_reference_file, load_reference_state_dict
from .registry import FRAME, IMAGE, GeneratorInput, register_discriminator, register_generator
from .resnet import ResnetBlock

REFERENCE_STD = 0.02  # the reference's weights_init draws conv weights from N(0, 0.02)
MAX_DISCRIMINATOR_WIDTH = 512


def halve() -> nn.AvgPool2d:
    """The reference's 2x downsampling of images (the enhancers' input pyramid, the discriminators' scales)."""
    return nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)


def init_pix2pixhd_weights(module: nn.Module) -> None:
    """The reference's `weights_init`: conv weights ~ N(0, 0.02), PyTorch's default biases, BN scale ~ N(1, 0.02)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            layer.reset_parameters()  # PyTorch's default init, whose biases the reference keeps
            nn.init.normal_(layer.weight, 0.0, REFERENCE_STD)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, REFERENCE_STD)
            nn.init.zeros_(layer.bias)


class LabelEncoding(nn.Module):
    """The reference's `encode_input` as a layer: class indices to one-hot, instance ids to a boundary map.

    Input channels: the label image (class index i stored as grey level i, i.e. (i / 255) * 2 - 1, when `label_nc`
    > 0), then one instance-id channel when `instance_edges` is on. Output: `label_nc` one-hot channels (or the label
    image as is), then 1.0 where a pixel's instance differs from a 4-neighbour's. No weights: the config says it all.
    """

    def __init__(self, in_channels: int, label_nc: int = 0, instance_edges: bool = False):
        super().__init__()
        label_channels = in_channels - int(instance_edges)
        if label_channels < 1:
            raise ValueError(
                f"instance_edges needs a label channel before the instance channel; in_channels is {in_channels}"
            )
        if label_nc and label_channels != 1:
            raise ValueError(
                f"label_nc {label_nc} needs one channel of class indices, got {label_channels} label channels"
            )
        self.label_nc, self.instance_edges, self.label_channels = label_nc, instance_edges, label_channels
        self.out_channels = (label_nc or label_channels) + int(instance_edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        labels = x[:, : self.label_channels]
        if self.label_nc:
            index = torch.round((labels + 1) * 127.5)
            classes = torch.arange(self.label_nc, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
            labels = (index == classes).to(x.dtype)
        if not self.instance_edges:
            return labels
        return torch.cat([labels, instance_boundaries(x[:, -1:])], dim=1)


def instance_boundaries(instances: torch.Tensor) -> torch.Tensor:
    """The reference's `get_edges`: 1.0 on both sides of every horizontal and vertical change of instance id."""
    horizontal = (instances[..., :, 1:] != instances[..., :, :-1]).to(instances.dtype)
    vertical = (instances[..., 1:, :] != instances[..., :-1, :]).to(instances.dtype)
    # each change marks the pixels on both of its sides (padding puts the differences at either neighbour)
    sides = (F.pad(horizontal, (1, 0)), F.pad(horizontal, (0, 1)), F.pad(vertical, (0, 0, 1, 0)))
    return functools.reduce(torch.maximum, sides, F.pad(vertical, (0, 0, 0, 1)))


def stem(in_channels: int, width: int, norm: str) -> ConvNormAct:
    """7x7 reflect-padded conv, norm, ReLU: the first layer of G1 and of every enhancer."""
    conv = nn.Conv2d(in_channels, width, 7, padding=3, padding_mode="reflect")
    return ConvNormAct(conv, make_norm(norm, width), post_act=nn.ReLU())


def downsampling(width: int, norm: str) -> ConvNormAct:
    return ConvNormAct(
        nn.Conv2d(width, width * 2, 3, stride=2, padding=1), make_norm(norm, width * 2), post_act=nn.ReLU()
    )


def upsampling(width: int, norm: str) -> ConvNormAct:
    """Transposed 3x3 conv from `width` to width / 2 channels at twice the resolution."""
    conv = nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1)
    return ConvNormAct(conv, make_norm(norm, width // 2), post_act=nn.ReLU())


def head(width: int, out_channels: int) -> ConvNormAct:
    return ConvNormAct(nn.Conv2d(width, out_channels, 7, padding=3, padding_mode="reflect"), post_act=nn.Tanh())


def residual_blocks(width: int, count: int, norm: str, use_dropout: bool) -> nn.Sequential:
    return nn.Sequential(*[ResnetBlock(width, norm, use_dropout, bias=True) for _ in range(count)])


class GlobalGenerator(nn.Module):
    """G1: the reference's GlobalGenerator; `out_channels=None` drops the head (the local enhancer's trunk)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None,
        ngf: int,
        n_downsample: int,
        n_blocks: int,
        norm: str,
        use_dropout: bool = False,
        encoding: LabelEncoding | None = None,
    ):
        super().__init__()
        self.encoding = encoding or nn.Identity()
        self.stem = stem(encoding.out_channels if encoding else in_channels, ngf, norm)
        self.down = nn.Sequential(*[downsampling(ngf * 2**i, norm) for i in range(n_downsample)])
        self.blocks = residual_blocks(ngf * 2**n_downsample, n_blocks, norm, use_dropout)
        self.up = nn.Sequential(*[upsampling(ngf * 2 ** (n_downsample - i), norm) for i in range(n_downsample)])
        self.head = nn.Identity() if out_channels is None else head(ngf, out_channels)
        self.size_multiple = 2**n_downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(self.blocks(self.down(self.stem(self.encoding(x))))))


class EnhancerStage(nn.Module):
    """One local enhancer: a finer input's features plus the coarser output, refined and upsampled 2x."""

    def __init__(
        self, in_channels: int, width: int, n_blocks: int, norm: str, use_dropout: bool, out_channels: int | None
    ):
        super().__init__()
        self.stem = stem(in_channels, width, norm)
        self.down = downsampling(width, norm)
        self.blocks = residual_blocks(width * 2, n_blocks, norm, use_dropout)
        self.up = upsampling(width * 2, norm)
        # only the outermost stage ends the network with a tanh head
        self.head = nn.Identity() if out_channels is None else head(width, out_channels)

    def forward(self, image: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(self.blocks(self.down(self.stem(image)) + coarse)))


class LocalEnhancer(nn.Module):
    """G = G2 on top of G1: `global_part` at ngf * 2^n_local_enhancers on the coarsest input, then the stages."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ngf: int,
        n_downsample_global: int,
        n_blocks_global: int,
        n_local_enhancers: int,
        n_blocks_local: int,
        norm: str,
        use_dropout: bool = False,
        encoding: LabelEncoding | None = None,
    ):
        super().__init__()
        self.encoding = encoding or nn.Identity()
        channels = encoding.out_channels if encoding else in_channels
        top = n_local_enhancers
        self.global_part = GlobalGenerator(
            channels, None, ngf * 2**top, n_downsample_global, n_blocks_global, norm, use_dropout
        )
        self.enhancers = nn.ModuleList(
            EnhancerStage(
                channels, ngf * 2 ** (top - n), n_blocks_local, norm, use_dropout, out_channels if n == top else None
            )
            for n in range(1, top + 1)
        )
        self.pool = halve()
        self.size_multiple = 2 ** (n_downsample_global + n_local_enhancers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pyramid = [self.encoding(x)]
        for _ in self.enhancers:
            pyramid.append(self.pool(pyramid[-1]))
        output = self.global_part(pyramid.pop())
        for stage, image in zip(self.enhancers, reversed(pyramid), strict=True):  # coarse to fine
            output = stage(image, output)
        return output

    def fixed_global_parameters(self) -> Iterator[nn.Parameter]:
        """What the reference keeps fixed for `--niter_fix_global` epochs: all but the outermost enhancer."""
        yield from self.global_part.parameters()
        for stage in self.enhancers[:-1]:
            yield from stage.parameters()


def label_encoding(in_channels: int, label_nc: int, instance_edges: bool) -> LabelEncoding | None:
    return LabelEncoding(in_channels, label_nc, instance_edges) if label_nc or instance_edges else None


@register_generator("global", native_size=(512, 1024))
def global_generator(
    in_channels: int,
    out_channels: int,
    ngf: int,
    norm: str,
    use_dropout: bool,
    n_downsample_global: int = 4,
    n_blocks_global: int = 9,
    label_nc: int = 0,
    instance_edges: bool = False,
) -> GlobalGenerator:
    """pix2pixHD's G1 (the reference's netG "global"), trained at 1024x512 in the paper."""
    encoding = label_encoding(in_channels, label_nc, instance_edges)
    return GlobalGenerator(
        in_channels, out_channels, ngf, n_downsample_global, n_blocks_global, norm, use_dropout, encoding
    )


class PreviousFrameGenerator(GlobalGenerator):
    """Everybody Dance Now's G: the global generator fed a pose and the frame it generated before (Sec. 3.3)."""

    def __init__(self, in_channels: int, out_channels: int, ngf: int, n_downsample: int, n_blocks: int, norm: str):
        super().__init__(in_channels + out_channels, out_channels, ngf, n_downsample, n_blocks, norm)
        self.inputs = (GeneratorInput("source", IMAGE, in_channels), GeneratorInput("previous", FRAME, out_channels))

    def forward(self, pose: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        return super().forward(torch.cat([pose, previous], 1))


@register_generator("global_previous_frame", native_size=256)
def previous_frame_generator(
    in_channels: int,
    out_channels: int,
    ngf: int,
    norm: str,
    use_dropout: bool,
    n_downsample_global: int = 4,
    n_blocks_global: int = 9,
) -> PreviousFrameGenerator:
    """pix2pixHD's G1 conditioned on the previous output frame (Everybody Dance Now); `in_channels` are the pose's."""
    if use_dropout:
        raise ValueError("global_previous_frame has no dropout (use_dropout=False)")
    return PreviousFrameGenerator(in_channels, out_channels, ngf, n_downsample_global, n_blocks_global, norm)


@register_generator("local", native_size=(1024, 2048))
def local_enhancer(
    in_channels: int,
    out_channels: int,
    ngf: int,
    norm: str,
    use_dropout: bool,
    n_downsample_global: int = 4,
    n_blocks_global: int = 9,
    n_local_enhancers: int = 1,
    n_blocks_local: int = 3,
    label_nc: int = 0,
    instance_edges: bool = False,
) -> LocalEnhancer:
    """pix2pixHD's G1 + G2 (the reference's netG "local"), trained at 2048x1024 in the paper; ngf is G2's width."""
    encoding = label_encoding(in_channels, label_nc, instance_edges)
    return LocalEnhancer(
        in_channels,
        out_channels,
        ngf,
        n_downsample_global,
        n_blocks_global,
        n_local_enhancers,
        n_blocks_local,
        norm,
        use_dropout,
        encoding,
    )


class PatchFeatures(nn.Module):
    """One scale of the multi-scale discriminator: a PatchGAN whose every layer's output is returned."""

    def __init__(self, in_channels: int, ndf: int, n_layers: int, norm: str):
        super().__init__()
        widths = [min(ndf * 2**i, MAX_DISCRIMINATOR_WIDTH) for i in range(n_layers + 1)]
        layers = [ConvNormAct(nn.Conv2d(in_channels, ndf, 4, stride=2, padding=2), post_act=nn.LeakyReLU(0.2))]
        for i in range(1, n_layers + 1):
            conv = nn.Conv2d(widths[i - 1], widths[i], 4, stride=2 if i < n_layers else 1, padding=2)
            layers.append(ConvNormAct(conv, make_norm(norm, widths[i]), post_act=nn.LeakyReLU(0.2)))
        layers.append(ConvNormAct(nn.Conv2d(widths[-1], 1, 4, stride=1, padding=2)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features


class MultiscaleDiscriminator(nn.Module):
    """`num_D` PatchGANs; `scales[s]` judges the input pooled s times. Returns features[s][layer], logits last.

    The reference names its scales the other way round (`scale{num_D-1-s}_layer*` computes list position s), so
    that a checkpoint with more scales shares names with a coarser run's; `from_reference_state_dict` maps both.
    """

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3, norm: str = "instance", num_D: int = 2):
        super().__init__()
        if not isinstance(n_layers, int) or n_layers < 1 or not isinstance(num_D, int) or num_D < 1:
            raise ValueError(f"n_layers and num_D must be integers >= 1, got {n_layers!r} and {num_D!r}")
        self.num_D, self.n_layers = num_D, n_layers
        self.scales = nn.ModuleList(PatchFeatures(in_channels, ndf, n_layers, norm) for _ in range(num_D))
        self.pool = halve()
        init_pix2pixhd_weights(self)

    def forward(self, pair: torch.Tensor) -> list[list[torch.Tensor]]:
        results = []
        for index, scale in enumerate(self.scales):
            if index:
                pair = self.pool(pair)
            results.append(scale(pair))
        return results

    @classmethod
    def from_reference_state_dict(
        cls, state_dict: dict[str, torch.Tensor], source: str = "checkpoint", **constructor_kwargs
    ) -> MultiscaleDiscriminator:
        """A reference netD state dict, with or without getIntermFeat (`scale0_layer0.0.weight`, `layer0.0.weight`)."""
        model = cls(**constructor_kwargs)
        load_reference_state_dict(model, reference_scales_in_our_order(state_dict, model.num_D), source)
        return model

    @classmethod
    def from_reference_checkpoint(cls, path: str | Path, **constructor_kwargs) -> MultiscaleDiscriminator:
        """Load a reference `latest_net_D.pth` of a pix2pixHD run."""
        return cls.from_reference_state_dict(load_reference_file(path), str(path), **constructor_kwargs).eval()


def reference_scales_in_our_order(state_dict: dict[str, torch.Tensor], num_D: int) -> dict[str, torch.Tensor]:
    """Rename the reference's scale k to num_D-1-k, so that its layer order is ours (full resolution first)."""
    renamed = {}
    for key, tensor in state_dict.items():
        prefix, dot, rest = key.partition(".")
        scale, underscore, layer = prefix.removeprefix("scale").partition("_")
        if prefix.startswith("scale") and scale.isdigit():
            prefix = f"scale{num_D - 1 - int(scale)}{underscore}{layer}"
        elif prefix.startswith("layer") and prefix[5:].isdigit():
            prefix = f"layer{num_D - 1 - int(prefix[5:])}"
        renamed[prefix + dot + rest] = tensor
    return renamed


@register_discriminator("multiscale")
def multiscale_discriminator(
    in_channels: int, ndf: int, norm: str, n_layers: int = 3, num_D: int = 2
) -> MultiscaleDiscriminator:
    """pix2pixHD's D: `num_D` PatchGANs `n_layers` deep at 1, 1/2, 1/4... of the resolution."""
    return MultiscaleDiscriminator(in_channels, ndf, n_layers, norm, num_D)


# torchvision's vgg19().features up to relu5_1: conv widths, "M" for max pooling
VGG19_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512)
VGG19_SLICES = (2, 7, 12, 21, 30)  # the reference's slices end after relu1_1, relu2_1, relu3_1, relu4_1, relu5_1


class VGG19Features(nn.Module):
    """VGG19's convolutional layers up to relu5_1, laid out as torchvision's (`features.0.weight`...), frozen.

    The reference's VGG perceptual loss compares these five activations; the weights (ImageNet VGG19) are not
    shipped with any package here, so they come from a file the user names (`load_vgg19_weights`).
    """

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in VGG19_LAYERS:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*layers[: VGG19_SLICES[-1]])
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs, start = [], 0
        for end in VGG19_SLICES:
            x = self.features[start:end](x)
            outputs.append(x)
            start = end
        return outputs


def load_vgg19_weights(path: str | Path) -> VGG19Features:
    """VGG19 features from a torchvision-layout state dict (safetensors, or a `torch.save`d state dict of tensors)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such VGG19 weights file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state_dict = load_file(str(path))
    else:
        state_dict = load_reference_file(path)
    model = VGG19Features()
    wanted = model.state_dict()
    found = {key: state_dict.get(key, state_dict.get(key.removeprefix("features."))) for key in wanted}
    missing = sorted(key for key, tensor in found.items() if tensor is None)
    if missing:
        raise ValueError(
            f"{path}: not VGG19 weights in torchvision's layout (features.0.weight ... features.28.bias); "
            f"missing {', '.join(missing[:4])}"
        )
    misshapen = [key for key, tensor in found.items() if tensor.shape != wanted[key].shape]
    if misshapen:
        raise ValueError(
            f"{path}: {misshapen[0]} has shape {tuple(found[misshapen[0]].shape)}, VGG19's is "
            f"{tuple(wanted[misshapen[0]].shape)}"
        )
    model.load_state_dict({key: tensor.float() for key, tensor in found.items()})
    return model.eval()
