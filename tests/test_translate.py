"""`python -m pix2pix_hub.translate`: files, folders and globs in, one PNG per image out, in every mode."""

import subprocess
import sys
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
