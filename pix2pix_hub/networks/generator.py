"""`Pix2PixGenerator`: any registered generator behind the Hub mixin (config.json = the constructor call)."""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
from torch import nn

from ..hub import PROJECT_REPO_URL, StrictHubMixin, read_model_card_template
from .blocks import NORMS, check_choice, init_weights
from .reference import load_reference_file, load_reference_state_dict
from .registry import GeneratorInput, create_generator, declared_inputs, generator_entry

PIX2PIX_PAPER_URL = "https://arxiv.org/abs/1611.07004"
# "eval": standard PyTorch eval (running statistics, no dropout): deterministic.
# "paper": as the paper's test.py ran it: batch statistics of each image and dropout on (the noise source).
INFERENCE_MODES = ("eval", "paper")
COMMON_ARGUMENTS = {"in_channels", "out_channels", "ngf", "norm", "use_dropout"}  # every factory's own


def check_arch_options(arch: str, factory, options: dict) -> None:
    """Refuse options the arch's factory does not take, naming the ones it does (config.json must rebuild it)."""
    accepted = set(inspect.signature(factory).parameters) - COMMON_ARGUMENTS
    unknown = sorted(set(options) - accepted)
    if unknown:
        takes = ", ".join(sorted(accepted)) or "none"
        raise ValueError(f"arch {arch!r} has no option {', '.join(unknown)}; its arch_options are: {takes}")


def checked_image_size(size: int | list[int] | None) -> tuple[int, int] | int | None:
    """A config's `image_size` (a side, or [height, width]) as the pipeline takes it, or a plain-words error."""
    if size is None or (isinstance(size, int) and size > 0):
        return size
    if isinstance(size, list | tuple) and len(size) == 2 and all(isinstance(side, int) and side > 0 for side in size):
        return tuple(size)
    raise ValueError(f"image_size must be a positive side or [height, width], got {size!r}")


class Pix2PixGenerator(
    nn.Module,
    StrictHubMixin,
    library_name="pix2pix-hub",
    tags=["pix2pix", "image-to-image", "gan", "conditional-gan"],
    pipeline_tag="image-to-image",
    license="bsd-3-clause",
    paper_url=PIX2PIX_PAPER_URL,
    repo_url=PROJECT_REPO_URL,
    model_card_template=read_model_card_template("pix2pix_generator.md"),
):
    """The pix2pix generator G(x): an image in [-1, 1] to an image in [-1, 1].

    Constructor arguments are the model's config (`config.json`). `inference_mode` records how the model is meant
    to run at test time: "eval" (running statistics, no dropout; deterministic) or "paper" (each image normalised
    with its own batch statistics and dropout left on, as the paper's test.py did). `.eval()` keeps its standard
    PyTorch meaning; `prepare_for_inference()` applies the recorded mode, and the pipeline calls it.
    `arch_options` are the arch's own keyword arguments beyond the common ones (pix2pixHD's "local":
    `{"n_downsample_global": 4, "n_blocks_global": 9, "n_local_enhancers": 1, "n_blocks_local": 3}`).
    `image_size` is the size it was trained at when that is not the arch's native size (a 256x256 pix2pixHD
    global generator): the pipeline's default input size.
    """

    def __init__(
        self,
        arch: str = "unet_256",
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        norm: str = "batch",
        use_dropout: bool = True,
        inference_mode: str = "eval",
        arch_options: dict | None = None,
        image_size: int | list[int] | None = None,
    ):
        super().__init__()
        entry = generator_entry(arch)  # an unknown arch fails here, naming the registered ones
        check_choice("norm", norm, NORMS)
        check_choice("inference_mode", inference_mode, INFERENCE_MODES)
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("ngf", ngf)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.arch, self.in_channels, self.out_channels = arch, in_channels, out_channels
        self.norm, self.inference_mode = norm, inference_mode
        self.arch_options = dict(arch_options or {})
        check_arch_options(entry.name, entry.factory, self.arch_options)
        if not self.arch_options:  # config.json of an arch without options stays as it always was
            self._hub_mixin_config.pop("arch_options", None)
        self.image_size = checked_image_size(image_size)
        if image_size is None:  # nor does that of a model trained at its arch's native size
            self._hub_mixin_config.pop("image_size", None)
        self.net = create_generator(
            arch,
            in_channels=in_channels,
            out_channels=out_channels,
            ngf=ngf,
            norm=norm,
            use_dropout=use_dropout,
            **self.arch_options,
        )
        init_weights(self)

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (256 for unet_256)."""
        return self.net.size_multiple

    @property
    def native_size(self) -> int | tuple[int, int]:
        """The resolution this model was trained at (else the paper's for its arch); the pipeline resizes to it."""
        return self.image_size or generator_entry(self.arch).native_size

    def record_image_size(self, size: tuple[int, int]) -> None:
        """Note the (height, width) this model trains at in its config, when it is not its arch's native size."""
        native = generator_entry(self.arch).native_size
        if tuple(size) in (native, (native, native)):
            return
        self.image_size = checked_image_size(list(size))
        self._hub_mixin_config["image_size"] = list(size)

    @property
    def inputs(self) -> tuple[GeneratorInput, ...]:
        """What `forward` takes, in order (the network's declaration; the first is the source image)."""
        return declared_inputs(self.net)

    def forward(self, x: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
        """G(x, ...): the source image, then the network's other declared inputs in order (a latent code, ...)."""
        if len(more) != len(self.inputs) - 1:
            names = ", ".join(item.name for item in self.inputs)
            raise ValueError(f"{self.arch} takes {len(self.inputs)} input(s) ({names}), got {1 + len(more)}")
        if x.ndim != 4:
            raise ValueError(f"expected a (N, {self.in_channels}, H, W) tensor, got shape {tuple(x.shape)}")
        batch, height, width = x.shape[0], *x.shape[-2:]
        for declared, value in zip(self.inputs, (x, *more), strict=True):
            if tuple(value.shape) != declared.shape(batch, height, width):
                expected = declared.shape(batch, height, width)
                raise ValueError(f"{declared.name}: expected a tensor of shape {expected}, got {tuple(value.shape)}")
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(
                f"{self.arch} needs height and width that are multiples of {self.size_multiple}, got {height}x{width}"
            )
        return self.net(x, *more)

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
        load_reference_state_dict(model, load_reference_file(path), source=str(path))
        return model.eval()
