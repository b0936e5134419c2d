"""Realism: how far generated images are, as a distribution, from real ones, beside the real-vs-real floor.

L1, PSNR, SSIM and the judges reward a blurry image that has the right layout; a person sees the blur, the
checkerboard of a transposed convolution and a colour cast. The multi-scale sliced Wasserstein distance (SWD) of
Karras et al. 2018 (Progressive GANs, sec. 5 and appendix D) sees them and needs no downloaded weights:
- each image becomes a Laplacian pyramid (5x5 binomial filter, mirrored borders), from the full resolution down
  to the last level whose shorter side is at least 16 pixels, which keeps the low-pass image (colour, layout);
  the finer levels are band-passes (texture, edges, blur, checkerboards);
- from every level of every image, 128 random 7x7 neighbourhoods (positions seeded) are the descriptors;
- per level, the descriptors are normalised per channel with the mean and standard deviation of the REAL images'
  descriptors (Karras' code normalises each set with its own, which forgives a colour cast; here it counts);
- the SWD of two equally large descriptor sets is the mean distance between their sorted projections on 512
  random unit directions, repeated 4 times with new directions and averaged; reported x1e3, per level and as the
  mean over levels.

A finite sample of real images is not at distance 0 from another: the floor is what real images score. So that a
score and its floor are measured alike, the images are split into two disjoint halves of the same size (a seeded
shuffle of the image indices):
- floor = SWD(real half 1, real half 2);
- score = (SWD(generated half 1, real half 2) + SWD(generated half 2, real half 1)) / 2, where generated image i is
  the translation of the input whose real target is real image i, so each generated half is compared with the real
  images of the other inputs, never its own targets.
Both compare N/2 images with N/2 images, with the same descriptor positions (by index) and the same directions,
so a model whose outputs were its targets scores exactly the floor. For unpaired data (CycleGAN: translated B
against the real B of the test split) the first min(N_generated, N_real) images of each are used. Frames of a
video are shuffled too: neighbouring frames are near copies, so the floor is that of near copies and each generated
frame meets the real frames around its own target, both sides alike; halves in time order would compare two
stretches of the dance whose poses differ more than a blurry frame differs from a sharp one (the bundled
edn_subject at its finest level: 104 against a floor of 90 in time order, 66 against 33 shuffled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SMALLEST_LEVEL = 16  # pixels on the shorter side of the coarsest pyramid level
NEIGHBOURHOOD = 7
NEIGHBOURHOODS_PER_IMAGE = 128
DIRECTIONS = 512
DIRECTION_REPEATS = 4
REPORT_SCALE = 1e3
CHUNK = 32  # images per pyramid pass: bounds memory for a few hundred 256x256 images
BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


@dataclass(frozen=True)
class Realism:
    """SWD x1e3 of generated vs real images and of real vs real (the floor), per pyramid level (by its height in
    pixels, finest first), for `images_per_half` images on each side."""

    score: dict[int, float]
    floor: dict[int, float]
    images_per_half: int

    @property
    def mean_score(self) -> float:
        return float(np.mean(list(self.score.values())))

    @property
    def mean_floor(self) -> float:
        return float(np.mean(list(self.floor.values())))

    def metrics(self) -> dict[str, float]:
        """Flat numbers for metrics.json and trackers: `swd` and `swd_floor` (means over levels), then `swd_<height>`
        and `swd_floor_<height>` per level."""
        per_level = {f"swd_{height}": value for height, value in self.score.items()}
        per_level |= {f"swd_floor_{height}": value for height, value in self.floor.items()}
        return {"swd": self.mean_score, "swd_floor": self.mean_floor, **per_level}


def _blur(images: torch.Tensor) -> torch.Tensor:
    """The 5x5 binomial low-pass of Burt and Adelson's pyramid, channel by channel, mirrored at the borders."""
    channels = images.shape[1]
    kernel = torch.outer(BINOMIAL, BINOMIAL).to(images).expand(channels, 1, 5, 5)
    return F.conv2d(F.pad(images, (2, 2, 2, 2), mode="reflect"), kernel, groups=channels)


def _upsample(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The pyramid's expand step: zeros between the samples, then the low-pass (x4 keeps the brightness)."""
    batch, channels, height, width = images.shape
    spread = images.new_zeros(batch, channels, 2 * height, 2 * width)
    spread[:, :, ::2, ::2] = images * 4
    return _blur(spread)[:, :, : size[0], : size[1]]


def _halved(side: int) -> int:
    """A side after the pyramid's reduce step (every other sample, from the first)."""
    return (side + 1) // 2


def laplacian_pyramid(images: torch.Tensor) -> list[torch.Tensor]:
    """(N, C, H, W) float images to their Laplacian pyramid, finest level first; the last level is the low-pass image
    at the smallest size whose shorter side is still at least `SMALLEST_LEVEL` (the image itself if it is smaller)."""
    levels, current = [], images
    while min(_halved(side) for side in current.shape[-2:]) >= SMALLEST_LEVEL:
        smaller = _blur(current)[:, :, ::2, ::2]
        levels.append(current - _upsample(smaller, current.shape[-2:]))
        current = smaller
    return [*levels, current]


def _pixels(images: Sequence[Image.Image | np.ndarray] | np.ndarray) -> np.ndarray:
    """8-bit RGB images (PIL or (H, W, 3) arrays) as one uint8 (N, H, W, 3) array; they must share one size."""
    arrays = [np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image) for image in images]
    sizes = {array.shape for array in arrays}
    if len(sizes) > 1:
        raise ValueError(f"realism compares images of one size, got sizes {sorted(sizes)}: resize them first")
    return np.stack(arrays)


def neighbourhood_positions(count: int, shapes: list[tuple[int, int]], seed: int) -> list[np.ndarray]:
    """Per level (height, width), the top-left corners (count, NEIGHBOURHOODS_PER_IMAGE, 2) of each image's
    neighbourhoods; drawn once for both sets, so generated and real image i are read at the same places."""
    rng = np.random.default_rng(seed)
    size = (count, NEIGHBOURHOODS_PER_IMAGE)
    return [
        np.stack([rng.integers(0, h - NEIGHBOURHOOD + 1, size), rng.integers(0, w - NEIGHBOURHOOD + 1, size)], -1)
        for h, w in shapes
    ]


def _cut_neighbourhoods(level: torch.Tensor, corners: np.ndarray) -> torch.Tensor:
    """(N, C, H, W) level and (N, P, 2) corners to (N, P, C, 7, 7) neighbourhoods, by one gather."""
    offsets = torch.arange(NEIGHBOURHOOD)
    corners = torch.from_numpy(corners)
    rows = (corners[..., 0, None] + offsets)[:, :, :, None]  # (N, P, 7, 1)
    columns = (corners[..., 1, None] + offsets)[:, :, None, :]  # (N, P, 1, 7)
    images = torch.arange(len(level))[:, None, None, None]
    return level.permute(0, 2, 3, 1)[images, rows, columns].permute(0, 1, 4, 2, 3)


def descriptors(pixels: np.ndarray, positions: list[np.ndarray]) -> list[torch.Tensor]:
    """Per pyramid level, the (N, P, C, 7, 7) neighbourhoods of uint8 (N, H, W, C) images at `positions`."""
    per_level = [[] for _ in positions]
    for start in range(0, len(pixels), CHUNK):
        chunk = torch.from_numpy(pixels[start : start + CHUNK]).permute(0, 3, 1, 2).float()
        for index, level in enumerate(laplacian_pyramid(chunk)):
            per_level[index].append(_cut_neighbourhoods(level, positions[index][start : start + CHUNK]))
    return [torch.cat(parts) for parts in per_level]


def sliced_wasserstein(halves: dict[str, torch.Tensor], pairs: list[tuple[str, str]], seed: int) -> list[float]:
    """SWD of each (a, b) pair of equally large (M, D) descriptor sets in `halves`, with the same random directions
    for every pair (so a score and its floor differ by the images, not by the draw). Each set is projected and
    sorted once per repeat, however many pairs it is in."""
    generator = torch.Generator().manual_seed(seed)
    distances = np.zeros(len(pairs))
    for _ in range(DIRECTION_REPEATS):
        directions = torch.randn(next(iter(halves.values())).shape[1], DIRECTIONS, generator=generator)
        directions /= directions.norm(dim=0, keepdim=True)
        needed = {name for pair in pairs for name in pair}
        # numpy sorts contiguous float32 rows about 3x faster than torch sorts columns (one thread)
        sorted_projections = {name: np.sort((directions.T @ halves[name].T).numpy(), axis=1) for name in needed}
        for index, (a, b) in enumerate(pairs):
            distances[index] += float(np.abs(sorted_projections[a] - sorted_projections[b]).mean())
    return [float(distance) for distance in distances / DIRECTION_REPEATS]  # plain floats: YAML and JSON take them


def normalised_by(reference: torch.Tensor, *sets: torch.Tensor) -> list[torch.Tensor]:
    """(N, P, C, 7, 7) descriptor sets as (N, P, C*49) rows, normalised per channel with the mean and standard
    deviation of `reference` (the real images), so that a shift in colour or contrast shows in the distance."""
    mean = reference.mean(dim=(0, 1, 3, 4), keepdim=True)
    std = reference.std(dim=(0, 1, 3, 4), keepdim=True).clamp_min(1e-8)
    return [((one - mean) / std).flatten(2) for one in sets]


def split_halves(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves of `count` image indices, count // 2 each, by a seeded shuffle (an odd one out is left
    out)."""
    order = np.random.default_rng(seed).permutation(count)
    half = count // 2
    return order[:half], order[half : 2 * half]


def realism(
    generated: Sequence[Image.Image | np.ndarray] | np.ndarray,
    real: Sequence[Image.Image | np.ndarray] | np.ndarray,
    seed: int = 0,
) -> Realism:
    """The SWD of `generated` against `real` images and the real-vs-real floor, per level (see the module): 8-bit
    RGB images of one size, generated[i] made for the input whose target is real[i] (paired data) or any two sets
    (unpaired: the first min(len) of each). At least 2 of each. Deterministic for a seed."""
    count = min(len(generated), len(real))
    if count < 2:
        raise ValueError(f"realism needs at least 2 generated and 2 real images, got {len(generated)} and {len(real)}")
    fake_pixels, real_pixels = _pixels(generated[:count]), _pixels(real[:count])
    if fake_pixels.shape != real_pixels.shape:
        raise ValueError(f"generated images are {fake_pixels.shape[1:3]} but real ones {real_pixels.shape[1:3]}")
    height, width = real_pixels.shape[1:3]
    if min(height, width) < NEIGHBOURHOOD:
        raise ValueError(f"realism reads {NEIGHBOURHOOD}x{NEIGHBOURHOOD} neighbourhoods; images are {height}x{width}")
    shapes = [tuple(level.shape[-2:]) for level in laplacian_pyramid(torch.zeros(1, 1, height, width))]
    positions = neighbourhood_positions(count, shapes, seed)
    first, second = split_halves(count, seed)
    score, floor = {}, {}
    levels = zip(descriptors(fake_pixels, positions), descriptors(real_pixels, positions), strict=True)
    for level, (fake_level, real_level) in enumerate(levels):
        fake_rows, real_rows = normalised_by(real_level, fake_level, real_level)
        halves = {
            "fake1": fake_rows[first].flatten(0, 1),
            "fake2": fake_rows[second].flatten(0, 1),
            "real1": real_rows[first].flatten(0, 1),
            "real2": real_rows[second].flatten(0, 1),
        }
        pairs = [("fake1", "real2"), ("fake2", "real1"), ("real1", "real2")]
        fake1_real2, fake2_real1, real1_real2 = sliced_wasserstein(halves, pairs, seed + level)
        score[shapes[level][0]] = REPORT_SCALE * (fake1_real2 + fake2_real1) / 2
        floor[shapes[level][0]] = REPORT_SCALE * real1_real2
    return Realism(score, floor, len(first))
