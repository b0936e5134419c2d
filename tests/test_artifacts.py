"""pix2pix_hub.evaluation.artifacts: the mesh score sees a decoder's periodic pattern and not photos or blur; the
road share counts the streets a generated map draws. Real facade photos (`tests/facade_photos.py`, 64x64) and map
tiles drawn in the data's own colours."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from pix2pix_hub.evaluation.artifacts import checkerboard_ratio, checkerboard_score, mesh_bins, road_pixels, road_share
from tests.facade_photos import facade_photos

LAND, STREET, HIGHWAY, WATER = (232, 224, 216), (250, 250, 250), (252, 214, 120), (170, 200, 248)  # maps/val colours


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    return facade_photos()


def with_decoder_mesh(images: np.ndarray, amplitude: int, seed: int = 0) -> np.ndarray:
    """Each image plus one fixed 8x8 pattern tiled over it: what three stride-2 transposed convolutions whose kernels
    overlap unevenly print, the same wherever the content is."""
    tile = np.random.default_rng(seed).integers(-amplitude, amplitude + 1, (8, 8, 1))
    pattern = np.tile(tile, (images.shape[1] // 8, images.shape[2] // 8, 1))
    return (images.astype(int) + pattern).clip(0, 255).astype(np.uint8)


def test_the_mesh_frequencies_are_those_of_periods_2_4_and_8_without_dc():
    bins = mesh_bins(64, 64)
    assert len(bins) == 63 and (0, 0) not in bins and (32, 32) in bins and (8, 56) in bins
    assert (5, 5) not in bins


def test_photos_score_about_one_and_blur_does_not_add_a_mesh(photos):
    score = checkerboard_score(list(photos))
    assert 0.8 < score < 1.25
    blurred = [np.asarray(Image.fromarray(p).filter(ImageFilter.GaussianBlur(1))) for p in photos]
    assert checkerboard_score(blurred) < score + 0.1
    assert checkerboard_ratio(list(photos), list(photos))["checkerboard_ratio"] == 1.0


@pytest.mark.parametrize("amplitude", [3, 8])
def test_a_faint_decoder_mesh_raises_the_score_and_a_stronger_one_more(photos, amplitude):
    clean = checkerboard_score(list(photos))
    meshed = checkerboard_score(list(with_decoder_mesh(photos, amplitude)))
    assert meshed > clean + (0.3 if amplitude == 3 else 0.6)
    assert checkerboard_score(list(with_decoder_mesh(photos, 8))) >= meshed


def map_tile(streets: list[int], highway: int | None = None, size: int = 64) -> np.ndarray:
    """A tile of land with vertical streets 3 px wide at the given columns, a horizontal highway, a lake."""
    tile = np.empty((size, size, 3), np.uint8)
    tile[:] = LAND
    tile[40:56, 4:20] = WATER
    for column in streets:
        tile[:, column : column + 3] = STREET
    if highway is not None:
        tile[highway : highway + 4] = HIGHWAY
    return tile


def test_streets_and_highways_are_road_and_land_and_water_are_not():
    tile = map_tile([10], highway=30)
    road = road_pixels(tile)
    assert road[:, 10:13].all() and road[30:34].all()
    assert not road[0, 0] and not road[45, 5] and np.count_nonzero(road) == 64 * 3 + 4 * 64 - 3 * 4


def test_road_share_is_the_share_of_true_road_drawn_and_precision_the_share_of_drawn_road_that_is_true():
    truth = [map_tile([10, 40], highway=30)]
    assert road_share(truth, truth) == {"road_share": 1.0, "road_precision": 1.0}
    half = [map_tile([10], highway=None)]  # one of two streets, no highway
    found = road_share(half, truth)
    assert found["road_share"] == pytest.approx(64 * 3 / (2 * 64 * 3 + 4 * 64 - 2 * 3 * 4))
    assert found["road_precision"] == 1.0
    wrong = [map_tile([20])]  # a street where there is none
    assert road_share(wrong, [map_tile([40])])["road_share"] == 0.0
    with pytest.raises(ValueError, match="as many outputs as targets"):
        road_share(truth, truth * 2)
