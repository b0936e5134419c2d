"""The `full` and `tiled` modes: tiles reproduce the whole-image pass, share norm statistics and dropout, no seams."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.inference.paper_mode import PaperModeNetwork
from pix2pix_hub.inference.tiling import Tiling, blend_tiles, pad_to_grid

ROOT = Path(__file__).resolve().parent.parent
MARGIN = 64  # pixels from the image's border left out where full and tiled are compared


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like (smooth, not flat) RGB uint8 image: upsampled noise."""
    noise = (np.random.default_rng(seed).random((height // 24, width // 24, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(noise).resize((width, height), Image.Resampling.BICUBIC))


def float_output(pipe: Pix2PixPipeline, image: np.ndarray, seed: int = 0) -> torch.Tensor:
    """The (C, H, W) output in [-1, 1] before rounding to 8 bits, cropped to the image."""
    bands = {}
    pipe.any_size.translate(pad_to_grid(image, pipe.any_size.grid), seed, lambda top, rows: bands.update({top: rows}))
    output = torch.cat([bands[top] for top in sorted(bands)], 1)
    return output[:, : image.shape[0], : image.shape[1]]


def interior_difference(first: torch.Tensor, second: torch.Tensor) -> float:
    return (first - second)[:, MARGIN:-MARGIN, MARGIN:-MARGIN].abs().max().item()


def test_tiled_equals_full_in_eval_mode_away_from_borders():
    torch.manual_seed(0)
    generator = Pix2PixGenerator(ngf=8)
    image = smooth_image(768, 1024)
    full = float_output(Pix2PixPipeline(generator, backend="torch", mode="full"), image)
    tiled = float_output(Pix2PixPipeline(generator, backend="torch", mode="tiled", tiling=Tiling(512, 256)), image)
    assert full.shape == (3, 768, 1024) and full.std() > 1e-3
    assert interior_difference(full, tiled) < min(1e-4, 1e-3 * full.std().item())


@pytest.mark.parametrize("inference_mode", ["eval", "paper"])
def test_tiled_equals_full_with_instance_norm_statistics_shared_across_tiles(inference_mode):
    """A ResNet generator's receptive field (63 px) fits in the overlap's discarded quarter (64 px), so tiles that
    share the whole image's statistics compute exactly what one pass does; with their own they do not."""
    torch.manual_seed(0)
    generator = Pix2PixGenerator("resnet_6blocks", ngf=4, norm="instance", inference_mode=inference_mode)
    image = smooth_image(512, 640)
    tiling = Tiling(384, 256)
    full = float_output(Pix2PixPipeline(generator, backend="torch", mode="full"), image)
    tiled_pipe = Pix2PixPipeline(generator, backend="torch", mode="tiled", tiling=tiling)
    assert interior_difference(full, float_output(tiled_pipe, image)) < 1e-4
    tiled_pipe.any_size.shared = None  # each tile normalised with its own statistics, as a naive tiler does
    assert interior_difference(full, float_output(tiled_pipe, image)) > 1e-2


def test_dropout_masks_are_a_function_of_position_so_overlapping_tiles_agree():
    torch.manual_seed(0)
    network = PaperModeNetwork(Pix2PixGenerator(ngf=4, inference_mode="paper"))
    whole = network.position_masks(0, 0, 768, 1024, cell=256, seed=7)
    tile = network.position_masks(256, 512, 512, 512, cell=256, seed=7)
    for layer, (whole_mask, tile_mask) in enumerate(zip(whole, tile, strict=True)):
        step = 768 // whole_mask.shape[2]  # pixels per mask unit at this layer
        crop = whole_mask[:, :, 256 // step : 768 // step, 512 // step : 1024 // step]
        assert torch.equal(crop, tile_mask), f"dropout layer {layer}"
        assert 0.4 < (whole_mask == 0).float().mean() < 0.6  # p = 0.5, as nn.Dropout
    other_seed = network.position_masks(256, 512, 512, 512, cell=256, seed=8)
    assert not torch.equal(tile[0], other_seed[0])


def seam_ratio(image: np.ndarray, joins: list[int]) -> float:
    """Mean absolute step between the columns x - 1 and x at the joins, over the mean step everywhere else."""
    steps = np.abs(np.diff(image.astype(np.float32), axis=1)).mean(axis=(0, 2))
    return steps[[x - 1 for x in joins]].mean() / np.delete(steps, [x - 1 for x in joins]).mean()


@pytest.mark.parametrize("model", ["sat2map", "map2sat"])
def test_bundled_models_tiled_match_full_and_meet_without_seams(model):
    """Real weights (map2sat runs in paper mode) on a 768 px photo, tiles of 512 px overlapping by 256: the joins
    (tile edges, cross-fade bends) step no more than the rest (beyond what the one pass's output does there); tiles
    with their own statistics and no overlap do."""
    photo = Image.open(ROOT / f"examples/{model}/1_input.jpg").convert("RGB").resize((768, 768), Image.BICUBIC)
    weights = ROOT / "weights" / model
    full = np.asarray(Pix2PixPipeline.from_pretrained(weights, mode="full")(photo, seed=0))
    tiled = np.asarray(Pix2PixPipeline.from_pretrained(weights, mode="tiled", tiling=Tiling(512, 256))(photo, seed=0))
    assert tiled.shape == full.shape == (768, 768, 3)
    assert np.abs(tiled.astype(int) - full.astype(int)).mean() < 0.5  # of 255 levels
    joins = [256, 320, 448, 512]  # the content steps there too: the one pass's own ratio is about 0.95-1.1
    assert seam_ratio(tiled, joins) <= max(1.0, seam_ratio(full, joins)) * 1.02
    naive_pipe = Pix2PixPipeline.from_pretrained(weights, mode="tiled", backend="torch", tiling=Tiling(256, 0))
    naive_pipe.any_size.shared = None
    assert seam_ratio(np.asarray(naive_pipe(photo, seed=0)), [256, 512]) > 1.5


def test_images_of_any_shape_come_back_at_their_own_size():
    torch.manual_seed(0)
    generator = Pix2PixGenerator(ngf=4, inference_mode="paper")
    image = Image.fromarray(smooth_image(300, 517))
    for mode in ("full", "tiled"):
        pipe = Pix2PixPipeline(generator, backend="torch", mode=mode, tiling=Tiling(256, 0))
        assert pipe(image, seed=0).size == (517, 300)
    half = Pix2PixPipeline(generator, backend="torch", mode="full", scale=0.5)
    assert half(image, seed=0).size == (517, 300)


def test_padding_reflects_the_image_so_the_border_is_not_a_flat_band():
    image = smooth_image(300, 517)
    padded = pad_to_grid(image, 256)
    assert padded.shape == (512, 768, 3)
    np.testing.assert_array_equal(padded[300:, :517], image[298 : 298 - 212 : -1])
    np.testing.assert_array_equal(pad_to_grid(np.zeros((3, 5), np.uint8) + 9, 8), np.full((8, 8), 9, np.uint8))


def test_onnx_runtime_serves_full_and_tiled_with_pytorch_arithmetic():
    torch.manual_seed(0)
    image = smooth_image(512, 768)
    for inference_mode in ("eval", "paper"):
        generator = Pix2PixGenerator(ngf=4, inference_mode=inference_mode)
        for mode in ("full", "tiled"):
            outputs = [
                float_output(Pix2PixPipeline(generator, backend=backend, mode=mode, tiling=Tiling(512, 256)), image)
                for backend in ("onnxruntime", "torch")
            ]
            assert (outputs[0] - outputs[1]).abs().max() < 1e-4, (inference_mode, mode)


def test_blending_normalises_the_weights_of_overlapping_tiles():
    """Tiles that each return their input give the input back: every pixel's weights sum to one."""
    image = smooth_image(640, 896)
    bands = {}
    blend_tiles(image, lambda tile, top, left: tile, Tiling(384, 256), lambda top, rows: bands.update({top: rows}))
    restored = torch.cat([bands[top] for top in sorted(bands)], 1)
    np.testing.assert_allclose(restored.permute(1, 2, 0).numpy(), image / 127.5 - 1, atol=1e-5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "crop"}, "choose 'resize'"),
        ({"mode": "tiled", "tiling": Tiling(300, 0)}, "multiples of 256"),
        ({"mode": "tiled", "tiling": Tiling(512, 512)}, "overlap smaller than the tile"),
        ({"mode": "full", "scale": 0}, "scale must be a positive number"),
        ({"scale": 0.5}, "scale applies to mode='full' and mode='tiled'"),
        ({"mode": "tiled", "precision": "int8"}, "float32 only: the int8 calibration was validated at no size"),
    ],
)
def test_bad_mode_options_are_refused_in_plain_words(options, message):
    with pytest.raises(ValueError, match=message):
        Pix2PixPipeline(Pix2PixGenerator(ngf=4), backend="torch", **options)


def test_calibrated_models_run_full_and_tiled_in_float32_and_say_where_int8_holds():
    assert Pix2PixPipeline.from_pretrained(ROOT / "weights/sat2map").precision == "int8"  # resize: as before
    assert Pix2PixPipeline.from_pretrained(ROOT / "weights/sat2map", mode="tiled").precision == "float32"
    with pytest.raises(ValueError, match="validated at 256x256 \\(mode='resize'\\)"):
        Pix2PixPipeline.from_pretrained(ROOT / "weights/sat2map", mode="full", precision="int8")
