"""pix2pix_hub.evaluation.realism: the multi-scale SWD sees blur, checkerboards and colour casts; real images score
the real-vs-real floor; the draws are seeded.

The images are 64 real facade photos at 64x64 (pyramid levels 64, 32 and 16), `tests/facade_photos.py`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from pix2pix_hub.evaluation.realism import laplacian_pyramid, realism, split_halves
from pix2pix_hub.evaluation.sequence import sequence_metrics
from tests.facade_photos import facade_photos

DRAWS = 16  # random 32-image real sets, to measure how much the floor itself moves
TOLERANCE_SIGMAS = 3


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    return facade_photos()


@pytest.fixture(scope="module")
def real_draws(photos) -> list:
    """DRAWS random splits of the 64 photos into 32 real targets and 32 other real photos standing in for outputs."""
    draws = []
    for draw in range(DRAWS):
        order = np.random.default_rng(100 + draw).permutation(len(photos))
        draws.append(realism(photos[order[32:]], photos[order[:32]], seed=draw))
    return draws


@pytest.fixture(scope="module")
def floor_spread(real_draws) -> dict[int, tuple[float, float]]:
    """Per level, the mean and standard deviation of the floor over the draws: how much the floor itself moves with
    the images drawn (about a third of its value at 16 images a half)."""
    return {
        level: (np.mean([d.floor[level] for d in real_draws]), np.std([d.floor[level] for d in real_draws], ddof=1))
        for level in real_draws[0].floor
    }


def blurred(images: np.ndarray) -> np.ndarray:
    """A Gaussian blur of one pixel: the softness of an L1-trained generator."""
    return np.stack([np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(1))) for image in images])


def checkerboarded(images: np.ndarray) -> np.ndarray:
    """A fine 2-pixel mesh: +32 on every other pixel of every other row, as a stride-2 transposed convolution's
    uneven overlap leaves it."""
    meshed = images.astype(int)
    meshed[:, ::2, ::2] += 32
    return meshed.clip(0, 255).astype(np.uint8)


def colour_cast(images: np.ndarray) -> np.ndarray:
    """Red up and blue down by 40 levels: a wrong white balance."""
    return (images.astype(int) + np.array([40, 0, -40])).clip(0, 255).astype(np.uint8)


def test_the_pyramid_runs_from_the_full_resolution_down_to_16_pixels():
    heights = [level.shape[-2] for level in laplacian_pyramid(torch.zeros(1, 3, 256, 256))]
    assert heights == [256, 128, 64, 32, 16]
    assert [tuple(level.shape[-2:]) for level in laplacian_pyramid(torch.zeros(1, 3, 128, 256))] == [
        (128, 256),
        (64, 128),
        (32, 64),
        (16, 32),
    ]
    assert [level.shape[-1] for level in laplacian_pyramid(torch.zeros(1, 3, 12, 12))] == [12]  # too small to split


def test_halves_are_disjoint_and_equal():
    first, second = split_halves(11, seed=0)
    assert len(first) == len(second) == 5 and not set(first) & set(second)


def test_a_videos_realism_is_reported_with_its_per_frame_metrics(photos):
    frames = [Image.fromarray(photo) for photo in photos[:8]]
    metrics = sequence_metrics(frames[::-1], frames)
    assert metrics["swd"] == realism(photos[:8][::-1], photos[:8]).mean_score and "swd_floor_16" in metrics


def test_outputs_equal_to_their_targets_score_exactly_the_floor(photos):
    result = realism(photos[:32], photos[:32])
    assert result.score == result.floor and result.images_per_half == 16
    assert set(result.metrics()) == {"swd", "swd_floor"} | {f"swd_{h}" for h in (64, 32, 16)} | {
        f"swd_floor_{h}" for h in (64, 32, 16)
    }


def test_real_photos_of_other_scenes_score_the_floor_within_its_spread(real_draws, floor_spread):
    """Real photos standing in for outputs: over the draws, their mean score lies within TOLERANCE_SIGMAS of the
    floor's standard deviation of the mean floor, per level."""
    for level, (mean_floor, spread) in floor_spread.items():
        mean_score = np.mean([draw.score[level] for draw in real_draws])
        assert abs(mean_score - mean_floor) <= TOLERANCE_SIGMAS * spread, level


@pytest.mark.parametrize(
    ("degrade", "level"), [(blurred, 64), (checkerboarded, 64), (colour_cast, 16)], ids=["blur", "mesh", "cast"]
)
def test_degraded_copies_of_real_photos_score_above_the_floor_at_their_level(photos, floor_spread, degrade, level):
    """Blur and a pixel mesh live in the finest band, a colour cast in the low-pass level: each rises there by more
    than TOLERANCE_SIGMAS of the floor's spread over draws. The cast counts only because both sets are normalised
    with the real set's statistics (each with its own would subtract it away)."""
    real = photos[:32]
    result = realism(degrade(real), real)
    mean_floor, spread = floor_spread[level]
    assert result.score[level] > max(result.floor[level], mean_floor) + TOLERANCE_SIGMAS * spread
    assert result.mean_score > result.mean_floor


def test_the_same_seed_gives_the_same_numbers_and_another_seed_other_draws(photos):
    real, other = photos[:32], photos[32:]
    assert realism(other, real, seed=3) == realism(other, real, seed=3)
    assert realism(other, real, seed=3).score != realism(other, real, seed=4).score


def test_images_of_different_sizes_or_too_few_are_refused(photos):
    with pytest.raises(ValueError, match="at least 2 generated and 2 real"):
        realism(photos[:1], photos[:1])
    with pytest.raises(ValueError, match="generated images are"):
        realism(photos[:4, :32, :32], photos[:4])
