"""Inference at the image's own size: `full` (the whole image in one pass) and `tiled` (overlapping tiles, blended).

- The image is padded to a multiple of the tile grid by reflection (numpy's "reflect", which repeats for pads longer
  than the image): the network sees plausible content rather than a flat band, the ResNet generators pad their own
  convolutions the same way, and the padding is cropped off the output.
- The grid is the generator's `size_multiple` (256 for a U-Net-256, whose 8 stride-2 levels make it
  translation-equivariant only for shifts by multiples of 256), at least `MIN_GRID` pixels. Tiles start on it,
  so a tile computes what `full` computes wherever the tile holds the pixel's context.
- Tiles overlap by `overlap` pixels and are blended with a window that ramps up over the overlap, so no seam is a
  hard cut; output rows are written as soon as no later tile touches them, so memory grows with the width only.
- Normalisation from the input's own statistics (paper mode's train-mode batch norm, instance norm) would
  differ tile by tile and give tiles of different colours. Those layers run as `SharedNorm` instead: a first pass
  over the whole image (or a proxy downscaled to `proxy_side`) records each layer's statistics, and every tile
  is normalised with them.
- Paper mode's dropout masks are drawn grid cell by grid cell from (seed, layer, cell position)
  (`PaperModeNetwork.position_masks`), so every tile that covers a cell drops the same units as `full` does.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..images import pixels_to_tensor, tensor_to_image, to_mode
from .interface import InferenceGenerator, inputs_of
from .paper_mode import PerImageNorm

MODES = ("resize", "full", "tiled")
MIN_GRID = 64  # pixels: dropout masks are drawn per grid cell, so cells of 4 pixels (ResNet) would be too many
RunRegion = Callable[[torch.Tensor, int, int], torch.Tensor]  # (1, C, h, w) source region at (top, left) -> output
WriteRows = Callable[[int, torch.Tensor], None]  # (first row, (C, rows, W) output in [-1, 1])


@dataclass(frozen=True)
class Tiling:
    """Tile side and overlap (pixels, multiples of the grid; None: the network's default) and the long side of the
    image that per-image norm statistics are computed on (larger images are downscaled to it for that pass)."""

    tile: int | None = None
    overlap: int | None = None
    proxy_side: int = 2048


def tile_grid(generator: InferenceGenerator) -> int:
    """The pixel grid that tiles, padding and dropout cells align to."""
    multiple = generator.size_multiple
    return multiple * -(-MIN_GRID // multiple)


def resolve_tiling(tiling: Tiling | None, generator: InferenceGenerator) -> Tiling:
    """`tiling` with its unset sides filled in: tiles of 4 grid cells (1024 px for a U-Net-256, at least 512 px)
    overlapping by a quarter of the tile (at least one cell); refused in plain words when the network cannot take it."""
    tiling = tiling or Tiling()
    grid = tile_grid(generator)
    tile = tiling.tile or grid * max(4, -(-512 // grid))
    overlap = min(grid * max(1, tile // grid // 4), tile - grid) if tiling.overlap is None else tiling.overlap
    tiling = Tiling(tile, overlap, tiling.proxy_side)
    if tiling.tile < grid or tiling.tile % grid or tiling.overlap % grid or not 0 <= tiling.overlap < tiling.tile:
        raise ValueError(
            f"tile {tiling.tile} with overlap {tiling.overlap} does not fit {generator.arch}: both must be multiples "
            f"of {grid} pixels, the overlap smaller than the tile (e.g. tile {4 * grid}, overlap {grid})"
        )
    if tiling.proxy_side < grid:
        raise ValueError(f"proxy_side {tiling.proxy_side} must be at least {grid} pixels")
    return tiling


def pad_to_grid(array: np.ndarray, grid: int) -> np.ndarray:
    """An (H, W[, C]) image padded at the bottom and right to multiples of `grid` by reflection."""
    height, width = array.shape[:2]
    pads = [(0, -height % grid), (0, -width % grid)] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, pads, mode="reflect") if any(after for _, after in pads) else array


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """(h, w[, C]) uint8 pixels to a (1, C, h, w) batch in [-1, 1] (`images.pixels_to_tensor`)."""
    return pixels_to_tensor(array[None] if array.ndim == 3 else array[None, :, :, None])


def ramp(length: int, overlap: int, rise: bool, fall: bool) -> torch.Tensor:
    """Blending weights along one side of a tile, over the `overlap` it shares with a neighbour before (`rise`) or
    after it (`fall`): 0 on the overlap's outer quarter (the pixels whose context the tile cuts off most), then a
    linear cross-fade over its middle half; 1 elsewhere, and up to the image's own borders."""
    quarter = overlap / 4
    position = torch.arange(length, dtype=torch.float32) + 0.5
    weights = torch.ones(length)
    if overlap and rise:
        weights = torch.minimum(weights, ((position - quarter) / (2 * quarter)).clamp(0, 1))
    if overlap and fall:
        weights = torch.minimum(weights, ((length - position - quarter) / (2 * quarter)).clamp(0, 1))
    return weights


def origins(length: int, tile: int, stride: int) -> list[int]:
    """Tile starts along one side: every `stride` pixels, the last one flush with the end."""
    starts = list(range(0, max(length - tile, 0) + 1, stride))
    return starts if starts[-1] + tile >= length else [*starts, length - tile]


def blend_tiles(source: np.ndarray, run_region: RunRegion, tiling: Tiling, write: WriteRows) -> None:
    """Translate a padded (H, W[, C]) uint8 image tile by tile; `write` gets each band of rows once it is final."""
    height, width = source.shape[:2]
    tile_h, tile_w = min(tiling.tile, height), min(tiling.tile, width)
    stride = tiling.tile - tiling.overlap
    rows, columns = origins(height, tile_h, stride), origins(width, tile_w, stride)
    total, weights = None, torch.zeros(1, tile_h, width)
    for index, top in enumerate(rows):
        vertical = ramp(tile_h, tiling.overlap, rise=index > 0, fall=index + 1 < len(rows))
        for left in columns:
            horizontal = ramp(tile_w, tiling.overlap, rise=left > 0, fall=left + tile_w < width)
            window = vertical[:, None] * horizontal[None, :]
            output = run_region(to_tensor(source[top : top + tile_h, left : left + tile_w]), top, left)[0]
            if total is None:
                total = torch.zeros(output.shape[0], tile_h, width)
            total[:, :, left : left + tile_w] += output * window
            weights[:, :, left : left + tile_w] += window
        done = rows[index + 1] - top if index + 1 < len(rows) else tile_h
        write(top, total[:, :done] / weights[:, :done])
        total, weights = total.roll(-done, 1), weights.roll(-done, 1)
        total[:, tile_h - done :], weights[:, tile_h - done :] = 0, 0


class SharedNorm(nn.Module):
    """Per-image normalisation with statistics recorded once (`recording`) and then reused for every tile."""

    def __init__(self, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float):
        super().__init__()
        self.weight, self.bias, self.eps = weight, bias, eps
        self.recording = False
        self.mean: torch.Tensor | None = None
        self.var: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recording:
            self.var, self.mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        x = (x - self.mean) * torch.rsqrt(self.var + self.eps)
        if self.weight is not None:
            x = x * self.weight[:, None, None] + self.bias[:, None, None]
        return x


def normalises_per_image(layer: nn.Module) -> bool:
    """Whether a layer normalises with its input's own statistics (so tiles would each get their own)."""
    if isinstance(layer, PerImageNorm):
        return True
    return isinstance(layer, nn.InstanceNorm2d) and not layer.track_running_stats


def shared_statistics_network(network: nn.Module) -> nn.Module | None:
    """A copy of `network` (sharing its weights) whose per-image norms are `SharedNorm`s; None if it has none."""
    if not any(normalises_per_image(layer) for layer in network.modules()):
        return None
    shared = copy.deepcopy(network, memo={id(tensor): tensor for tensor in [*network.parameters(), *network.buffers()]})
    for parent in list(shared.modules()):
        for name, child in list(parent.named_children()):
            if normalises_per_image(child):
                setattr(parent, name, SharedNorm(child.weight, child.bias, child.eps))
    return shared


@contextmanager
def recording(network: nn.Module):
    """Within the block, each `SharedNorm` of `network` records the statistics of what it normalises."""
    norms = [layer for layer in network.modules() if isinstance(layer, SharedNorm)]
    for norm in norms:
        norm.recording = True
    try:
        yield
    finally:
        for norm in norms:
            norm.recording = False


def statistics_proxy(source: np.ndarray, grid: int, proxy_side: int) -> np.ndarray:
    """The padded image itself when its long side is within `proxy_side`, else a downscaled copy on the grid."""
    height, width = source.shape[:2]
    scale = proxy_side / max(height, width)
    if scale >= 1:
        return source
    size = (max(grid, round(width * scale / grid) * grid), max(grid, round(height * scale / grid) * grid))
    return np.asarray(Image.fromarray(source).resize(size, Image.Resampling.BOX))


class AnySizeTranslator:
    """`full` or `tiled` translation of one PIL image at its own size with a runner's network (see the module).

    The generator's other inputs come as (1, C) latent codes, passed whole to every tile, or (1, C, H, W) images at
    the image's size (a previous frame), padded and cut with it."""

    def __init__(self, runner, mode: str, tiling: Tiling | None = None):
        self.runner, self.mode = runner, mode
        self.generator: InferenceGenerator = runner.generator
        self.grid = tile_grid(self.generator)
        self.tiling = resolve_tiling(tiling, self.generator)
        self.shared = None
        if mode == "tiled":
            self.shared = shared_statistics_network(runner.paper_mode or self.generator.net)
        self._lock = threading.Lock()  # the networks hold one image's statistics and dropout masks at a time

    def __call__(self, image: Image.Image, seed: int | None = None, others: dict | None = None) -> Image.Image:
        """The translation of `image` at its own (width, height); `others`: the generator's other inputs."""
        padded = pad_to_grid(np.asarray(to_mode(image, self.generator.in_channels)), self.grid)
        result = np.empty((*padded.shape[:2], 3), np.uint8)

        def write(top: int, rows: torch.Tensor) -> None:
            result[top : top + rows.shape[1]] = np.asarray(tensor_to_image(rows))

        self.translate(padded, seed, write, others or {})
        return Image.fromarray(result[: image.height, : image.width], mode="RGB")

    def translate(self, padded: np.ndarray, seed: int | None, write: WriteRows, others: dict | None = None) -> None:
        """Translate an image padded to the grid; `write` gets the output (float, [-1, 1]) band by band."""
        if seed is None and self.runner.paper_mode is not None:
            seed = int(torch.randint(2**62, ()))
        run_region = self._region_runner(seed, self._padded_others(others or {}, padded.shape[:2]))
        with self._lock:
            if self.mode == "full":
                write(0, run_region(to_tensor(padded), 0, 0)[0])
                return
            if self.shared is not None:
                proxy = statistics_proxy(padded, self.grid, self.tiling.proxy_side)
                with recording(self.shared):
                    run_region(to_tensor(proxy), 0, 0)
            blend_tiles(padded, run_region, self.tiling, write)

    def _padded_others(self, others: dict, size: tuple[int, int]) -> dict:
        """The other inputs with the spatial ones padded to the padded image's size, as the image was."""
        spatial = {item.name for item in inputs_of(self.generator) if item.spatial}
        padded = dict(others)
        for name in spatial & set(others):
            value = others[name]
            pads = (0, size[1] - value.shape[-1], 0, size[0] - value.shape[-2])
            padded[name] = torch.nn.functional.pad(value, pads, mode="reflect") if any(pads) else value
        return padded

    def _region_runner(self, seed: int | None, others: dict) -> RunRegion:
        """The network on a region at (top, left) of the padded image, with that region's dropout masks and the
        same region of the other spatial inputs."""

        def run_region(region: torch.Tensor, top: int, left: int) -> torch.Tensor:
            height, width = region.shape[-2:]
            inputs = {"source": region}
            for name, value in others.items():
                cut = value.ndim == 4 and value.shape[-2:] != region.shape[-2:]
                inputs[name] = value[..., top : top + height, left : left + width] if cut else value
            if self.runner.paper_mode is not None:
                masks = self.runner.paper_mode.position_masks(top, left, height, width, self.grid, seed)
                inputs |= {f"mask{index}": mask for index, mask in enumerate(masks)}
            return self.runner.run(inputs, network=self.shared).cpu()

        return run_region


def check_mode(mode: str) -> None:
    """Refuse an unknown inference mode, naming the three."""
    if mode not in MODES:
        raise ValueError(
            f"mode={mode!r} is not supported; choose 'resize' (the model's input size), 'full' (the whole image "
            "at its own size) or 'tiled' (overlapping tiles, any size)"
        )
