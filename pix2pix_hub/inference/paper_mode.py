"""The paper's test-time behaviour as an explicit, batchable, exportable computation.

The paper runs G at test time "in exactly the same manner as during the training phase": batch norm with the
statistics of the test batch (one image) and dropout on. Written as module state that is a per-image loop with
hidden randomness. Here the same arithmetic is explicit instead:
- batch norm over a batch of one image is instance normalisation with the batch norm's scale and shift, so every
  image of a batch is normalised with its own statistics, exactly as if it ran alone;
- dropout multiplies by masks (0 or 1/(1-p)) that are inputs, drawn by the caller from a seeded generator.
Both the PyTorch and the ONNX Runtime backends run this module, so they agree for the same masks.
"""

from __future__ import annotations

import copy
import hashlib

import torch
import torch.nn.functional as F
from torch import nn

from ..networks.registry import MASK, GeneratorInput
from .interface import InferenceGenerator, example_inputs, inputs_of


class PerImageNorm(nn.Module):
    """A trained BatchNorm2d applied with each image's own statistics (training-mode batch norm at batch 1)."""

    def __init__(self, batch_norm: nn.BatchNorm2d):
        super().__init__()
        self.weight, self.bias, self.eps = batch_norm.weight, batch_norm.bias, batch_norm.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


class MaskedDropout(nn.Module):
    """Dropout whose mask is given from outside (set by `PaperModeNetwork.forward` before each call)."""

    def __init__(self, probability: float):
        super().__init__()
        self.probability = probability
        self.mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask


class PaperModeNetwork(nn.Module):
    """`forward(*inputs, *masks)`: the generator in the paper's test-time mode (its declared inputs in order), one
    mask per dropout layer."""

    def __init__(self, generator: InferenceGenerator):
        super().__init__()
        self.generator_inputs = inputs_of(generator)
        self.net = copy.deepcopy(generator.net).eval()
        self.dropouts: list[MaskedDropout] = []
        for parent in list(self.net.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.BatchNorm2d):
                    setattr(parent, name, PerImageNorm(child))
                elif isinstance(child, nn.Dropout):
                    dropout = MaskedDropout(child.p)
                    setattr(parent, name, dropout)
                    self.dropouts.append(dropout)
        self._mask_shapes: dict[tuple[int, int], list[tuple[int, ...]]] = {}

    @torch.no_grad()
    def mask_shapes(self, height: int, width: int) -> list[tuple[int, ...]]:
        """(C, H, W) of each dropout layer's input for an image of this size."""
        if (height, width) not in self._mask_shapes:
            shapes: list[tuple[int, ...]] = []
            hooks = [
                d.register_forward_pre_hook(lambda _, args: shapes.append(args[0].shape[1:])) for d in self.dropouts
            ]
            for dropout in self.dropouts:
                dropout.mask = torch.tensor(1.0)
            device = next(self.net.parameters()).device
            examples = example_inputs(self.generator_inputs, 1, height, width)
            self.net(*(value.to(device) for value in examples.values()))
            for hook in hooks:
                hook.remove()
            self._mask_shapes[height, width] = [tuple(shape) for shape in shapes]
        return self._mask_shapes[height, width]

    def mask_inputs(self, height: int, width: int) -> tuple[GeneratorInput, ...]:
        """The dropout masks as declared inputs, named mask0, mask1, ... in layer order."""
        shapes = self.mask_shapes(height, width)
        return tuple(GeneratorInput(f"mask{index}", MASK, shape[0]) for index, shape in enumerate(shapes))

    def draw_masks(self, batch_shape: torch.Size, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Dropout masks for an (N, C, H, W) batch: keep with probability 1-p, scaled by 1/(1-p) as nn.Dropout.

        Drawn image by image, so with a seed the i-th image's noise does not depend on the batch size.
        """
        batch_size, _, height, width = batch_shape
        layers = list(zip(self.dropouts, self.mask_shapes(height, width), strict=True))
        per_image = [
            [
                (torch.rand(shape, generator=generator) < 1 - d.probability).float() / (1 - d.probability)
                for d, shape in layers
            ]
            for _ in range(batch_size)
        ]
        return [torch.stack([masks[layer] for masks in per_image]) for layer in range(len(layers))]

    def position_masks(self, top: int, left: int, height: int, width: int, cell: int, seed: int) -> list[torch.Tensor]:
        """Masks (batch 1) for the region at (top, left) of a larger image, drawn per `cell`-pixel square from
        (seed, layer, cell row, cell column): a pixel's noise depends on where it is, not on the tile around it.
        """
        rows, columns = range(top // cell, (top + height) // cell), range(left // cell, (left + width) // cell)
        masks = []
        for layer, (dropout, shape) in enumerate(zip(self.dropouts, self.mask_shapes(cell, cell), strict=True)):
            keep = 1 - dropout.probability
            cells = [
                torch.cat(
                    [
                        (torch.rand(shape, generator=cell_generator(seed, layer, row, column)) < keep)
                        for column in columns
                    ],
                    2,
                )
                for row in rows
            ]
            masks.append((torch.cat(cells, 1).float() / keep)[None])
        return masks

    def forward(self, *inputs_and_masks: torch.Tensor) -> torch.Tensor:
        inputs, masks = inputs_and_masks[: len(self.generator_inputs)], inputs_and_masks[len(self.generator_inputs) :]
        for dropout, mask in zip(self.dropouts, masks, strict=True):
            dropout.mask = mask
        return self.net(*inputs)


def cell_generator(seed: int, layer: int, row: int, column: int) -> torch.Generator:
    """A random generator for one dropout layer's cell of an image, seeded by the image's seed and the cell."""
    digest = hashlib.blake2b(f"{seed}:{layer}:{row}:{column}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little"))


def paper_mode_network(generator: InferenceGenerator) -> PaperModeNetwork | None:
    """The network that runs a generator whose `inference_mode` is "paper" (None for "eval", which runs as is)."""
    return PaperModeNetwork(generator) if generator.inference_mode == "paper" else None
