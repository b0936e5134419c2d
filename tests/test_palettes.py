"""The label palettes: one table per data set, shared by the judges and the Space, in the data's own colours."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageColor

from pix2pix_hub.evaluation.judges import FACADE_PALETTE, labels_from_palette
from pix2pix_hub.images import image_to_tensor
from pix2pix_hub.palettes import CITYSCAPES_CLASSES, FACADE_CLASSES, MAP_CLASSES
from space.tasks import get_task
from space.ui import sketch_props

REPO_ROOT = Path(__file__).resolve().parent.parent
# Colours of the flat regions (`flat_colors`, tolerance 2) of the label maps (B halves) of the first 100 files of the
# CMP facades train split as pix2pix distributes it (../shared/data/facades/train), with their pixel counts.
FLAT_LABEL_COLOURS = REPO_ROOT / "tests" / "fixtures" / "facades_flat_label_colours.npz"


def flat_colors(label_maps: np.ndarray, tolerance: int, radius: int = 2) -> np.ndarray:
    """(M, 3) colours of region interiors, where JPEG leaves the colour alone: pixels of (N, H, W, 3) maps whose
    neighbours within `radius` steps differ from their own neighbours by at most `tolerance` in every channel."""
    label_maps = label_maps.astype(np.int16)
    flat = np.zeros(label_maps.shape[:-1], dtype=bool)
    across = np.abs(np.diff(label_maps, axis=2)).max(axis=-1) <= tolerance  # (N, H, W - 1): pixel ~ right neighbour
    down = np.abs(np.diff(label_maps, axis=1)).max(axis=-1) <= tolerance  # (N, H - 1, W): pixel ~ lower neighbour
    flat[:, 1:-1, 1:-1] = across[:, 1:-1, 1:] & across[:, 1:-1, :-1] & down[:, 1:, 1:-1] & down[:, :-1, 1:-1]
    for _ in range(radius - 1):  # erode: a flat pixel's four neighbours must be flat too
        flat[:, 1:-1, 1:-1] &= flat[:, :-2, 1:-1] & flat[:, 2:, 1:-1] & flat[:, 1:-1, :-2] & flat[:, 1:-1, 2:]
    return label_maps[flat].astype(np.int64)


def colour_counts(colors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (K, 3) colours among (M, 3) colours, and how often each occurs."""
    packed, counts = np.unique(colors[:, 0] << 16 | colors[:, 1] << 8 | colors[:, 2], return_counts=True)
    return np.stack([packed >> 16, packed >> 8 & 255, packed & 255], axis=-1), counts


def nearest_class(colors: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each colour's nearest palette entry (L1) and its distance to it."""
    distance = np.abs(colors[:, None, :] - palette[None]).sum(axis=-1)
    return distance.argmin(axis=1), distance.min(axis=1)


def median_colour(colors: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The per-channel median of (K, 3) colours occurring `counts` times: robust to JPEG's scatter around a colour."""
    median = []
    for channel in range(3):
        order = np.argsort(colors[:, channel])
        cumulative = np.cumsum(counts[order])
        median.append(colors[order][np.searchsorted(cumulative, cumulative[-1] / 2), channel])
    return np.array(median)


def jpeg_flat_patch(color: tuple[int, int, int]) -> np.ndarray:
    """What a flat patch of this colour decodes to after JPEG, as the data sets' label maps were stored."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buffer, format="JPEG", quality=90)
    return np.asarray(Image.open(buffer), dtype=np.int32)[8, 8]


def test_facade_classes_are_the_twelve_cmp_classes_in_label_order():
    assert [label.name for label in FACADE_CLASSES] == [
        "background", "facade", "window", "door", "cornice", "sill",
        "balcony", "blind", "deco", "molding", "pillar", "shop",
    ]  # fmt: skip
    for classes in (FACADE_CLASSES, MAP_CLASSES, CITYSCAPES_CLASSES):
        assert len({label.color for label in classes}) == len(classes)
        assert all(label.hex == "#{:02x}{:02x}{:02x}".format(*label.color) for label in classes)


def test_the_facade_palette_is_one_table_read_by_the_judges_and_painted_by_the_space_brushes():
    task = get_task("facades_label2photo")
    assert task.palette is FACADE_CLASSES
    assert FACADE_PALETTE.tolist() == [list(label.color) for label in FACADE_CLASSES]
    brushes = sketch_props(task)["brush"].colors
    assert brushes == [label.hex for label in FACADE_CLASSES]
    stroke = Image.new("RGB", (len(brushes), 1))  # one pixel per brush, in the colour the browser paints
    stroke.putdata([ImageColor.getrgb(brush) for brush in brushes])
    assert torch.equal(labels_from_palette(image_to_tensor(stroke, 3)[None])[0, 0], torch.arange(len(brushes)))


def test_the_palettes_module_is_data_without_torch():
    script = "import sys, pix2pix_hub.palettes; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_bundled_facade_examples_are_painted_in_the_palette():
    palette = np.array([label.color for label in FACADE_CLASSES])
    examples = get_task("facades_label2photo").examples
    label_maps = np.stack([np.asarray(Image.open(example.input).convert("RGB")) for example in examples])
    colors = flat_colors(label_maps, tolerance=6)  # these 256x256 copies were compressed harder than the data
    classes, distance = nearest_class(colors, palette)
    assert len(colors) > 0.1 * label_maps[..., 0].size
    assert np.mean(distance < 20) > 0.99
    assert {0, 1, 2} <= set(classes.tolist())  # background, facade and windows appear in every facade


def test_each_facade_colour_jpeg_compressed_is_the_colour_the_real_label_maps_hold():
    held_colours = np.load(FLAT_LABEL_COLOURS)
    colors, counts = held_colours["colors"].astype(int), held_colours["counts"]
    palette = np.array([label.color for label in FACADE_CLASSES])
    classes, distance = nearest_class(colors, palette)
    for index, label in enumerate(FACADE_CLASSES):
        mine = (classes == index) & (distance < 30)
        assert counts[mine].sum() > 500, f"{label.name}: too few flat pixels to measure"
        held = median_colour(colors[mine], counts[mine])
        # The palette colour through the same codec lands on what the maps hold (to one level: chroma rounding).
        # The round jet values (door 208, sill 144, shop 176) land 2-5 levels away from it.
        assert np.abs(jpeg_flat_patch(label.color) - held).sum() <= 1, (label.name, label.color, tuple(held))
