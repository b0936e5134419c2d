"""`python -m pix2pix_hub.translate`: files, folders and globs in, one PNG per image out, in every mode."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.inference.tiling import Tiling
from pix2pix_hub.translate import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny"
    torch.manual_seed(0)
    Pix2PixGenerator(ngf=4, inference_mode="paper").save_pretrained(folder)
    return folder


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, size in enumerate([(300, 200), (520, 610)]):
        Image.open(ROOT / "examples/sat2map/1_input.jpg").resize(size).save(folder / f"aerial{index}.jpg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_one_file_from_the_command_line_with_a_progress_bar(model, photos, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pix2pix_hub.translate", str(photos / "aerial1.jpg"), "--model", str(model)]
    done = subprocess.run(
        [*command, "--out", str(out), "--mode", "full", "--seed", "3"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "full translation: 100%" in done.stderr and "1 of 1 images translated" in done.stderr
    expected = Pix2PixPipeline.from_pretrained(model, mode="full")(photos / "aerial1.jpg", seed=3)
    np.testing.assert_array_equal(np.asarray(Image.open(out / "aerial1.png")), np.asarray(expected))


@pytest.mark.parametrize("mode", ["resize", "full", "tiled"])
def test_a_folder_and_a_glob_give_one_png_per_image_at_its_size(model, photos, tmp_path, mode):
    out = tmp_path / mode
    tile = ["--tile", "256", "--overlap", "0"] if mode == "tiled" else []
    assert (
        main([str(photos), str(photos / "*.jpg"), "--model", str(model), "--out", str(out), "--mode", mode] + tile) == 0
    )
    assert sorted(path.name for path in out.iterdir()) == ["aerial0.png", "aerial1.png"]
    assert Image.open(out / "aerial1.png").size == (520, 610)
    if mode == "tiled":  # the CLI's --tile and --overlap reach the pipeline
        pipe = Pix2PixPipeline.from_pretrained(model, mode="tiled", tiling=Tiling(256, 0))
        assert (
            main(
                [str(photos / "aerial1.jpg"), "--model", str(model), "--out", str(out), "--seed", "1", "--mode", mode]
                + tile
            )
            == 0
        )
        expected = np.asarray(pipe(photos / "aerial1.jpg", seed=1))
        np.testing.assert_array_equal(np.asarray(Image.open(out / "aerial1.png")), expected)


def test_unreadable_files_are_reported_and_skipped_with_exit_status_1(model, photos, tmp_path, capsys):
    (photos / "broken.png").write_bytes(b"\x89PNG not really")
    assert main([str(photos), "--model", str(model), "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "broken.png: not an image file in a format we read" in error and "2 of 3 images translated" in error
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["aerial0.png", "aerial1.png"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing.jpg"], "missing.jpg: no such file, and no images in it or matching it"),
        (["{photos}/aerial0.jpg", "{photos}/../photos2/aerial0.jpg"], "same file: aerial0.png"),
        (["{photos}", "--mode", "tiled", "--tile", "300"], "multiples of 256"),
    ],
)
def test_bad_arguments_get_a_plain_error_and_exit_status_2(model, photos, tmp_path, capsys, arguments, message):
    (tmp_path / "photos2").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "photos2/aerial0.jpg")  # another image of the same name
    arguments = [argument.format(photos=photos) for argument in arguments]
    assert main([*arguments, "--model", str(model), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def over_pil_limit(tmp_path_factory) -> Path:
    """A 9500x9500 PNG: 90.25 megapixels, just over PIL's 89.5; 1-bit, so quick to write and to read."""
    path = tmp_path_factory.mktemp("large") / "large.png"
    Image.new("1", (9500, 9500), 1).save(path)
    return path


def test_resize_mode_refuses_an_image_over_89_5_megapixels_naming_tiled_modes_limit_and_the_flag(
    model, over_pil_limit, tmp_path, capsys
):
    assert main([str(over_pil_limit), "--model", str(model), "--out", str(tmp_path / "out")]) == 1
    assert (
        "large.png: image is too large (90.2 megapixels); the limit is 89.5 megapixels (--mode tiled takes up to "
        "268.4, --max_megapixels N sets the limit)"
    ) in capsys.readouterr().err


def test_tiled_mode_translates_an_image_over_89_5_megapixels(model, over_pil_limit, tmp_path):
    out = tmp_path / "out"
    arguments = ["--mode", "tiled", "--scale", "0.03"]  # decoded whole, translated at 285x285: a quick test
    assert main([str(over_pil_limit), "--model", str(model), "--out", str(out), *arguments]) == 0
    with warnings.catch_warnings():  # reading its header is all this needs; PIL warns about the size
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert Image.open(out / "large.png").size == (9500, 9500)


def test_max_megapixels_sets_the_limit_in_any_mode_and_0_lifts_it(model, photos, tmp_path, capsys):
    aerial = str(photos / "aerial1.jpg")  # 520x610: 0.32 megapixels
    common = ["--model", str(model), "--out", str(tmp_path / "out")]
    assert main([aerial, *common, "--mode", "tiled", "--max_megapixels", "0.2"]) == 1
    assert (
        "image is too large (0.3 megapixels); the limit is 0.2 megapixels (--max_megapixels" in capsys.readouterr().err
    )
    assert main([aerial, *common, "--mode", "resize", "--max_megapixels", "0.4"]) == 0
    assert main([aerial, *common, "--max_megapixels", "0"]) == 0
    with pytest.raises(SystemExit):
        main([aerial, *common, "--max_megapixels", "-1"])
    assert "--max_megapixels must be 0 (no limit) or more" in capsys.readouterr().err
