"""pix2pix_hub.evaluation.two_sample: a small CNN cannot tell real photos from other real photos, and can tell
blurred copies from the real ones; seeded.

The photos are the 64 real facade photos of `tests/facade_photos.py` (64x64 each; 16 held out per side).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from pix2pix_hub.evaluation.two_sample import classifier_two_sample_test
from tests.facade_photos import facade_photos

HELD_OUT = 32  # 16 generated + 16 real images scored
SIGMAS = 3
CHANCE_SPREAD = SIGMAS * np.sqrt(0.25 / HELD_OUT)  # the binomial spread of an accuracy of 0.5 over HELD_OUT images


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    return facade_photos()


def test_real_photos_of_other_scenes_are_told_apart_no_better_than_chance_and_repeat_with_a_seed(photos):
    accuracy = classifier_two_sample_test(photos[32:], photos[:32], seed=0)
    assert abs(accuracy - 0.5) <= CHANCE_SPREAD
    assert classifier_two_sample_test(photos[32:], photos[:32], seed=0) == accuracy


def test_blurred_copies_are_told_apart_beyond_chance(photos):
    blurred = np.stack([np.asarray(Image.fromarray(p).filter(ImageFilter.GaussianBlur(1))) for p in photos[:32]])
    assert classifier_two_sample_test(blurred, photos[:32]) > 0.5 + CHANCE_SPREAD


def test_too_few_images_are_refused(photos):
    with pytest.raises(ValueError, match="at least 2 generated and 2 real"):
        classifier_two_sample_test(photos[:1], photos[:1])
