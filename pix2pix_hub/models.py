"""The paper's networks: U-Net and ResNet generators, PatchGAN discriminators, weight init, reference loading.

Layer for layer these match junyanz/pytorch-CycleGAN-and-pix2pix (`models/networks.py`), so its checkpoints
load here; our own weight names are flat (`encoder.3.conv.weight`, `decoder.0.norm.running_mean`) instead of
the reference's recursive `model.model.1.model.3...`. `load_reference_state_dict` translates between the two.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .hub import StrictHubMixin, read_model_card_template
from .recipe import PAPER, PAPER_URL, PROJECT_REPO_URL

GENERATOR_ARCHS = ("unet_256", "unet_128", "resnet_9blocks", "resnet_6blocks")
NORMS = ("batch", "instance", "none")
# "eval": standard PyTorch eval (running statistics, no dropout): deterministic.
# "paper": as the paper's test.py ran it: batch statistics of each image and dropout on (the noise source).
INFERENCE_MODES = ("eval", "paper")

_UNET_DOWNSAMPLINGS = {"unet_256": 8, "unet_128": 7}
_RESNET_BLOCKS = {"resnet_9blocks": 9, "resnet_6blocks": 6}


def _check_choice(name: str, value: object, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(map(repr, choices))}")


def make_norm(norm: str, channels: int) -> nn.Module:
    """The reference's norm layers: affine batch norm with running stats, or instance norm without either."""
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


def init_weights(module: nn.Module, std: float = PAPER.init_std) -> None:
    """The paper's init: conv weights ~ N(0, std), batch-norm scales ~ N(1, std), biases zero."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, std)
            nn.init.zeros_(layer.bias)


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


class UNet(nn.Module):
    """U-Net with `num_downs` stride-2 levels; decoder level i sees the encoder output of the same depth.

    unet_256 has 8 levels (1x1 bottleneck at 256x256), unet_128 has 7. Dropout 0.5 on the decoder levels just
    after the bottleneck (3 of them for unet_256), as in the paper.
    """

    def __init__(self, in_channels: int, out_channels: int, num_downs: int, ngf: int, norm: str, use_dropout: bool):
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
                    nn.ConvTranspose2d(in_width, out_width, 4, 2, 1, bias=bias or outermost),
                    norm=None if outermost else make_norm(norm, out_width),
                    pre_act=nn.ReLU(),
                    post_act=nn.Tanh() if outermost else None,
                    dropout=0.5 if with_dropout else 0.0,
                )
            )
        self.encoder = nn.ModuleList(encoder)
        self.decoder = nn.ModuleList(decoder)
        self.size_multiple = 2**num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        x = self.decoder[0](skips.pop())
        for block in self.decoder[1:]:
            x = block(torch.cat([skips.pop(), x], dim=1))
        return x


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

    def __init__(self, in_channels: int, out_channels: int, n_blocks: int, ngf: int, norm: str, use_dropout: bool):
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
                    nn.ConvTranspose2d(ngf * 2 ** (2 - i), ngf * 2 ** (1 - i), 3, 2, 1, output_padding=1, bias=bias),
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


class Pix2PixGenerator(
    nn.Module,
    StrictHubMixin,
    library_name="pix2pix-hub",
    tags=["pix2pix", "image-to-image", "gan", "conditional-gan"],
    pipeline_tag="image-to-image",
    license="bsd-3-clause",
    paper_url=PAPER_URL,
    repo_url=PROJECT_REPO_URL,
    model_card_template=read_model_card_template("pix2pix_generator.md"),
):
    """The pix2pix generator G(x): an image in [-1, 1] to an image in [-1, 1].

    Constructor arguments are the model's config (`config.json`). `inference_mode` records how the model is meant
    to run at test time: "eval" (running statistics, no dropout; deterministic) or "paper" (each image normalised
    with its own batch statistics and dropout left on, as the paper's test.py did). `.eval()` keeps its standard
    PyTorch meaning; `prepare_for_inference()` applies the recorded mode, and the pipeline calls it.
    """

    def __init__(
        self,
        arch: str = PAPER.generator_arch,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = PAPER.ngf,
        norm: str = PAPER.norm,
        use_dropout: bool = PAPER.use_dropout,
        inference_mode: str = "eval",
    ):
        super().__init__()
        _check_choice("arch", arch, GENERATOR_ARCHS)
        _check_choice("norm", norm, NORMS)
        _check_choice("inference_mode", inference_mode, INFERENCE_MODES)
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("ngf", ngf)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.arch, self.in_channels, self.out_channels = arch, in_channels, out_channels
        self.norm, self.inference_mode = norm, inference_mode
        if arch in _UNET_DOWNSAMPLINGS:
            self.net = UNet(in_channels, out_channels, _UNET_DOWNSAMPLINGS[arch], ngf, norm, use_dropout)
        else:
            self.net = ResnetGenerator(in_channels, out_channels, _RESNET_BLOCKS[arch], ngf, norm, use_dropout)
        init_weights(self)

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (256 for unet_256)."""
        return self.net.size_multiple

    @property
    def native_size(self) -> int:
        """The resolution the paper trains this architecture at; the pipeline resizes to it."""
        return 128 if self.arch == "unet_128" else 256

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected a (N, {self.in_channels}, H, W) tensor, got shape {tuple(x.shape)}")
        height, width = x.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(
                f"{self.arch} needs height and width that are multiples of {self.size_multiple}, got {height}x{width}"
            )
        return self.net(x)

    def prepare_for_inference(self) -> Pix2PixGenerator:
        """Switch to the test-time behaviour named by `inference_mode`, without touching stored statistics."""
        self.eval()
        if self.inference_mode == "paper":
            for layer in self.modules():
                if isinstance(layer, nn.Dropout):
                    layer.train()
                elif isinstance(layer, nn.BatchNorm2d):
                    # Training-mode batch norm with tracking off normalises with batch statistics and leaves the
                    # running statistics as they are.
                    layer.train()
                    layer.track_running_stats = False
        return self

    def train(self, mode: bool = True) -> Pix2PixGenerator:
        super().train(mode)
        for layer in self.modules():
            if isinstance(layer, nn.BatchNorm2d):
                layer.track_running_stats = True
        return self

    @classmethod
    def from_reference_checkpoint(cls, path: str | Path, **constructor_kwargs) -> Pix2PixGenerator:
        """Load a reference `latest_net_G.pth` (a state dict; never unpickled beyond tensors)."""
        model = cls(**constructor_kwargs)
        load_reference_state_dict(model, _load_reference_file(path), source=str(path))
        return model.eval()


class PatchDiscriminator(
    nn.Module,
    StrictHubMixin,
    library_name="pix2pix-hub",
    tags=["pix2pix", "patchgan", "gan"],
    license="bsd-3-clause",
    paper_url=PAPER_URL,
    repo_url=PROJECT_REPO_URL,
):
    """PatchGAN D(x, y): one real/fake logit per overlapping patch of the (source, target) pair.

    n_layers=3 is the paper's 70x70 PatchGAN (30x30 logits at 256x256); n_layers=1 gives 16x16 patches,
    n_layers=5 286x286, and n_layers=0 the 1x1 PixelGAN of the paper's ablation.
    """

    def __init__(
        self,
        in_channels: int = 6,
        ndf: int = PAPER.ndf,
        n_layers: int = PAPER.n_layers_discriminator,
        norm: str = PAPER.norm,
    ):
        super().__init__()
        _check_choice("norm", norm, NORMS)
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
        load_reference_state_dict(model, _load_reference_file(path), source=str(path))
        return model.eval()


def _load_reference_file(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a bad or non-tensor pickle
        raise ValueError(f"{path}: not a loadable PyTorch state dict ({error})") from error
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f"{path}: expected a state dict of tensors (torch.save(net.state_dict()))")
    # DataParallel checkpoints prefix every key with "module."
    return {key.removeprefix("module."): value for key, value in state_dict.items()}


def _numeric_order(name: str) -> tuple:
    layer = name.rpartition(".")[0]
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in layer.split("."))


def _group_by_layer(names: list[str]) -> list[tuple[str, list[str]]]:
    """Group tensor names by their owning layer, keeping first-appearance order."""
    groups: dict[str, list[str]] = {}
    for name in names:
        layer, _, leaf = name.rpartition(".")
        groups.setdefault(layer, []).append(leaf)
    return list(groups.items())


def load_reference_state_dict(model: nn.Module, reference: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Copy a reference-implementation state dict into `model`.

    Both implementations register their layers in forward order, so the i-th layer holding tensors in the
    reference is the i-th in ours; names differ, kinds and shapes must not. The reference's layer order is its
    names in numeric order (`model.model.1.model.3` comes after `model.model.1.model.2`), whatever order the
    file's keys happen to be in.
    """
    ours = _group_by_layer(list(model.state_dict()))
    theirs = _group_by_layer(sorted(reference, key=_numeric_order))
    if len(ours) != len(theirs):
        raise ValueError(
            f"{source}: has {len(theirs)} layers with weights, {type(model).__name__}"
            f"({_describe(model)}) has {len(ours)}; pass the constructor arguments the checkpoint was trained with"
        )
    own_state = model.state_dict()
    translated = {}
    for (our_layer, our_leaves), (their_layer, their_leaves) in zip(ours, theirs, strict=True):
        if sorted(our_leaves) != sorted(their_leaves):
            raise ValueError(
                f"{source}: layer {their_layer} holds {sorted(their_leaves)} but {our_layer} expects "
                f"{sorted(our_leaves)}; is the norm ({_describe(model)}) right?"
            )
        for leaf in our_leaves:
            tensor = reference[f"{their_layer}.{leaf}"]
            expected = own_state[f"{our_layer}.{leaf}"]
            if tensor.shape != expected.shape:
                raise ValueError(
                    f"{source}: {their_layer}.{leaf} has shape {tuple(tensor.shape)}, expected "
                    f"{tuple(expected.shape)} for {_describe(model)}; check arch, channels and ngf/ndf"
                )
            translated[f"{our_layer}.{leaf}"] = tensor
    model.load_state_dict(translated, strict=True)


def _describe(model: nn.Module) -> str:
    config = getattr(model, "_hub_mixin_config", None) or {}
    return ", ".join(f"{key}={value!r}" for key, value in sorted(config.items()))
