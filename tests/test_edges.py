from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pix2pix_hub.edges import edge_f_score, edge_mask, edges_from_photo, main

FIXTURES = Path(__file__).parent / "fixtures" / "edges2shoes"  # two val pairs: shoe photo | its edge map


def real_pairs() -> list[tuple[Image.Image, np.ndarray]]:
    pairs = []
    for path in sorted(FIXTURES.glob("*_AB.jpg")):
        pair = Image.open(path).convert("RGB")
        photo, edges = pair.crop((0, 0, 256, 256)), pair.crop((256, 0, 512, 256))
        pairs.append((photo, np.asarray(edges.convert("L")) < 128))
    return pairs


def test_edges_of_a_real_shoe_photo_match_its_data_edge_map_far_better_than_another_shoes():
    (photo_a, edges_a), (photo_b, edges_b) = real_pairs()
    for photo, own, other in ((photo_a, edges_a, edges_b), (photo_b, edges_b, edges_a)):
        mask = edge_mask(photo)
        matched, mismatched = edge_f_score(mask, own), edge_f_score(mask, other)
        assert matched["f_score"] > 0.6
        assert matched["f_score"] > mismatched["f_score"] + 0.2
        assert 0.5 < mask.mean() / own.mean() < 2  # about the data's ink density


def test_edge_maps_are_black_lines_on_white_at_the_models_size():
    photo, _ = real_pairs()[0]
    edges = edges_from_photo(photo.resize((640, 480)))
    assert edges.mode == "RGB" and edges.size == (256, 256)
    assert set(np.unique(np.asarray(edges))) == {0, 255}
    assert np.asarray(edges).mean() > 200  # mostly white


def test_f_score_of_identical_masks_is_one_and_of_an_empty_mask_zero():
    mask = np.zeros((16, 16), dtype=bool)
    mask[8, 2:14] = True
    assert edge_f_score(mask, mask)["f_score"] == 1.0
    assert edge_f_score(np.zeros_like(mask), mask)["f_score"] == 0.0
    with pytest.raises(ValueError, match="differ in shape"):
        edge_f_score(mask, mask[:8])


def test_cli_writes_an_edge_map_per_photo(tmp_path):
    photo, _ = real_pairs()[0]
    photo.save(tmp_path / "shoe.jpg")
    main([str(tmp_path / "shoe.jpg"), "--out", str(tmp_path / "edges")])
    assert Image.open(tmp_path / "edges" / "shoe.png").size == (256, 256)
