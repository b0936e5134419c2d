"""Networks found by name (timm-style): `@register_generator("unet_256")`, `create_generator(name, ...)`.

A network family lives in its own module and registers its named variants there; importing
`pix2pix_hub.networks` imports every family, so the registries are complete for any caller.

Every generator declares its inputs (`GeneratorInput`: name, kind, channels), in the order its `forward` takes
them: a network without its own `inputs` takes one, the source image. Inference (the runner, its PyTorch and ONNX
Runtime paths, int8 calibration, tiling, the web export) iterates over this declaration, so a generator that also
takes a latent code or its previous frame runs everywhere without a change there.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class GeneratorEntry:
    """A named generator: its factory and the resolution it is trained at (what the pipeline resizes to)."""

    name: str
    factory: Callable[..., nn.Module]
    native_size: int | tuple[int, int]  # a square side, or (height, width) for non-square archs (pix2pixHD)


IMAGE, FRAME, LATENT, MASK = "image", "frame", "latent", "mask"
INPUT_KINDS = {
    IMAGE: "an image in [-1, 1], (N, C, H, W)",
    FRAME: "an output image fed back (the frame before), (N, C, H, W) at the source's size",
    LATENT: "a code vector, (N, C)",
    MASK: "a dropout mask of the paper's test-time mode, (N, C, h, w) at a layer's size (drawn by the runner)",
}
SPATIAL_KINDS = (IMAGE, FRAME, MASK)  # inputs whose height and width follow the image (tiles cut them too)


@dataclass(frozen=True)
class GeneratorInput:
    """One input of a generator's forward: `name` (the ONNX input's too), `kind` (see `INPUT_KINDS`), `channels`."""

    name: str
    kind: str
    channels: int

    def __post_init__(self):
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"input {self.name!r}: kind {self.kind!r} is not one of {', '.join(INPUT_KINDS)}")

    @property
    def spatial(self) -> bool:
        return self.kind in SPATIAL_KINDS

    def shape(self, batch: int, height: int, width: int) -> tuple[int, ...]:
        """The shape this input has for a batch of images of this size (a mask's own size is the network's)."""
        return (batch, self.channels, height, width) if self.spatial else (batch, self.channels)


def source_input(in_channels: int) -> tuple[GeneratorInput, ...]:
    """What a one-image generator takes: the source image."""
    return (GeneratorInput("source", IMAGE, in_channels),)


def declared_inputs(network: nn.Module) -> tuple[GeneratorInput, ...]:
    """A network's declared inputs (its `inputs` attribute), or the source image alone."""
    inputs = getattr(network, "inputs", None)
    if inputs is None:
        raise ValueError(f"{type(network).__name__} declares no inputs (create it with create_generator)")
    return tuple(inputs)


_GENERATORS: dict[str, GeneratorEntry] = {}
_DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {}


def register_generator(name: str, native_size: int | tuple[int, int] = 256) -> Callable:
    """Decorator: `factory(in_channels, out_channels, ngf, norm, use_dropout, **options) -> nn.Module`.

    The module it returns has a `size_multiple` attribute (input height and width must be multiples of it) and may
    declare its `inputs` (a tuple of `GeneratorInput`, the first the source image of `in_channels`).
    """

    def decorate(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _GENERATORS:
            raise ValueError(f"generator {name!r} is already registered")
        _GENERATORS[name] = GeneratorEntry(name, factory, native_size)
        return factory

    return decorate


def register_discriminator(name: str) -> Callable:
    """Decorator: `factory(in_channels, ndf, norm, **options) -> nn.Module`."""

    def decorate(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _DISCRIMINATORS:
            raise ValueError(f"discriminator {name!r} is already registered")
        _DISCRIMINATORS[name] = factory
        return factory

    return decorate


def _unknown(kind: str, name: str, known: list[str]) -> ValueError:
    return ValueError(f"{kind}={name!r} is not registered; choose one of {', '.join(map(repr, known))}")


def generator_entry(name: str) -> GeneratorEntry:
    if name not in _GENERATORS:
        raise _unknown("arch", name, list_generators())
    return _GENERATORS[name]


def create_generator(name: str, **kwargs) -> nn.Module:
    """The bare network (no Hub mixin); `Pix2PixGenerator(arch=name, ...)` wraps it for saving and loading.

    A network that does not declare its `inputs` takes the source image alone (`source_input`).
    """
    network = generator_entry(name).factory(**kwargs)
    if getattr(network, "inputs", None) is None:
        network.inputs = source_input(kwargs.get("in_channels", 3))
    return network


def create_discriminator(name: str, **kwargs) -> nn.Module:
    if name not in _DISCRIMINATORS:
        raise _unknown("discriminator", name, list_discriminators())
    return _DISCRIMINATORS[name](**kwargs)


def list_generators(pattern: str = "*") -> list[str]:
    return sorted(fnmatch.filter(_GENERATORS, pattern))


def list_discriminators(pattern: str = "*") -> list[str]:
    return sorted(fnmatch.filter(_DISCRIMINATORS, pattern))
