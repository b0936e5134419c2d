"""Networks found by name (timm-style): `@register_generator("unet_256")`, `create_generator(name, ...)`.

A network family lives in its own module and registers its named variants there; importing
`pix2pix_hub.networks` imports every family, so the registries are complete for any caller.
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


_GENERATORS: dict[str, GeneratorEntry] = {}
_DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {}


def register_generator(name: str, native_size: int | tuple[int, int] = 256) -> Callable:
    """Decorator: `factory(in_channels, out_channels, ngf, norm, use_dropout, **options) -> nn.Module`.

    The module it returns has a `size_multiple` attribute (input height and width must be multiples of it).
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
    """The bare network (no Hub mixin); `Pix2PixGenerator(arch=name, ...)` wraps it for saving and loading."""
    return generator_entry(name).factory(**kwargs)


def create_discriminator(name: str, **kwargs) -> nn.Module:
    if name not in _DISCRIMINATORS:
        raise _unknown("discriminator", name, list_discriminators())
    return _DISCRIMINATORS[name](**kwargs)


def list_generators(pattern: str = "*") -> list[str]:
    return sorted(fnmatch.filter(_GENERATORS, pattern))


def list_discriminators(pattern: str = "*") -> list[str]:
    return sorted(fnmatch.filter(_DISCRIMINATORS, pattern))
