"""What inference needs of a generator, and the input sizes it accepts.

Any network that exposes this interface runs through the runner and the pipeline: `Pix2PixGenerator` (every
registered architecture behind the Hub mixin) or another wrapper with the same attributes. Sizes are
(height, width); an int means a square.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from ..networks.registry import LATENT, GeneratorInput, source_input

Size = int | tuple[int, int]


class InferenceGenerator(Protocol):
    """A generator module the runner can run: its call is the network, `net` the part that is exported. It may
    declare `inputs` (see the registry; `Pix2PixGenerator` does): without, it takes the source image alone."""

    arch: str  # the registered architecture, named in errors
    in_channels: int
    out_channels: int
    inference_mode: str  # "eval" or "paper" (see `pix2pix_hub.networks.INFERENCE_MODES`)
    size_multiple: int  # input height and width must be multiples of it
    native_size: Size  # the resolution it is trained at: the default input size
    net: nn.Module  # the bare network; its module names key int8 calibrations, so the export starts here

    def __call__(self, x: torch.Tensor, *more: torch.Tensor) -> torch.Tensor: ...


REQUIRED_ATTRIBUTES = tuple(InferenceGenerator.__annotations__)


def inputs_of(generator: InferenceGenerator) -> tuple[GeneratorInput, ...]:
    """What the generator's call takes, in order (its `inputs` declaration; without one, the source image alone)."""
    declared = getattr(generator, "inputs", None)
    return tuple(declared) if declared is not None else source_input(generator.in_channels)


def check_generator(generator: object) -> None:
    """Refuse, in plain words, an object the runner could not run (duck-typed: no particular class is needed)."""
    if not isinstance(generator, nn.Module):
        raise ValueError(
            f"generator must be a torch.nn.Module such as Pix2PixGenerator, got {type(generator).__name__}"
        )
    missing = [name for name in REQUIRED_ATTRIBUTES if not hasattr(generator, name)]
    if missing:
        raise ValueError(
            f"{type(generator).__name__} is not a generator the pipeline can run: it has no {', '.join(missing)} "
            "(wrap the network in Pix2PixGenerator, or give it these attributes)"
        )


def height_width(size: Size | list[int]) -> tuple[int, int]:
    """(height, width) of a size given as an int (a square) or a (height, width) pair."""
    if isinstance(size, int) and not isinstance(size, bool):
        return size, size
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(isinstance(side, int) for side in size):
        return int(size[0]), int(size[1])
    raise ValueError(f"image size {size!r} must be an int (a square) or a (height, width) pair of ints")


def input_size(generator: InferenceGenerator, size: Size | None) -> tuple[int, int]:
    """The (height, width) a generator will be fed: `size`, or its native square; refused when it cannot take it."""
    height, width = height_width(generator.native_size if size is None else size)
    multiple = generator.size_multiple
    if height < 1 or width < 1 or height % multiple or width % multiple:
        raise ValueError(
            f"image_size {size!r} (height {height}, width {width}) does not fit {generator.arch}: height and width "
            f"must be positive multiples of {multiple}, e.g. ({multiple}, {2 * multiple})"
        )
    return height, width


def size_text(size: tuple[int, int]) -> str:
    """A (height, width) size for messages: "256x256" for a square, else with the sides named (no W x H guessing)."""
    height, width = size
    return f"{height}x{width}" if height == width else f"height {height} x width {width}"


def example_inputs(
    inputs: tuple[GeneratorInput, ...], batch: int, height: int, width: int, generator: torch.Generator | None = None
) -> dict[str, torch.Tensor]:
    """Inputs of the declared shapes for a batch of this size: zeros, latent codes drawn from N(0, 1)."""
    return {
        item.name: torch.randn(item.shape(batch, height, width), generator=generator)
        if item.kind == LATENT
        else torch.zeros(item.shape(batch, height, width))
        for item in inputs
    }


def ordered(inputs: tuple[GeneratorInput, ...], given: dict[str, torch.Tensor], owner: str) -> list[torch.Tensor]:
    """The values of the declared inputs in declaration order; a plain-words error naming what is missing or extra."""
    names = [item.name for item in inputs]
    missing, extra = [name for name in names if name not in given], sorted(set(given) - set(names))
    if missing or extra:
        problems = [f"no {', '.join(missing)}" if missing else "", f"unknown {', '.join(extra)}" if extra else ""]
        raise ValueError(f"{owner} takes {', '.join(names)}: {'; '.join(filter(None, problems))}")
    return [given[name] for name in names]
