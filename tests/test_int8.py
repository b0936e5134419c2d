"""Int8 inference: the bundled calibrations hold 40 dB on real inputs; calibrating validates, and refuses; flags."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.calibrate_int8 import graph_feeds, record_ranges
from pix2pix_hub.calibrate_int8 import main as calibrate_main
from pix2pix_hub.evaluation.metrics import output_psnr
from pix2pix_hub.inference.fast.int8 import (
    CALIBRATION_FILE,
    Int8Calibration,
    conv_levels,
    stored_size,
    weights_sha256,
)
from pix2pix_hub.inference.fast.onnx import export_to_onnx
from pix2pix_hub.inference.interface import height_width
from pix2pix_hub.inference.paper_mode import PaperModeNetwork, paper_mode_network
from tests.paired_data import write_ab_folder
from tests.test_hub import lay_out_hf_cache, run_offline

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ["facades_label2photo", "sat2map", "map2sat", "apple2orange/AtoB", "apple2orange/BtoA"]
EXAMPLES = {"apple2orange/AtoB": "apple2orange", "apple2orange/BtoA": "orange2apple"}  # the app's task names


def translate(pipe: Pix2PixPipeline, image: Image.Image) -> np.ndarray:
    return pipe.forward(pipe.preprocess(image)[None], seed=0).numpy()


def random_input_calibration(generator: Pix2PixGenerator, size: int | tuple[int, int]) -> Int8Calibration:
    """Ranges over random sources at `size` (an untrained network has no data of its own), two float32 levels."""
    paper_mode = paper_mode_network(generator)
    sources = torch.rand(8, generator.in_channels, *height_width(size), generator=torch.Generator().manual_seed(0))
    feeds = graph_feeds(sources * 2 - 1, paper_mode, seed=0)
    ranges = record_ranges(export_to_onnx(generator, paper_mode, size), feeds)
    return Int8Calibration(weights_sha256(generator), stored_size(size), generator.inference_mode, 2, ranges, {})


@pytest.mark.parametrize("task", BUNDLED)
def test_bundled_models_run_int8_within_40_db_of_float32_on_real_inputs(task):
    folder, _, subfolder = task.partition("/")
    int8 = Pix2PixPipeline.from_pretrained(REPO_ROOT / "weights" / folder, device="cpu", subfolder=subfolder or None)
    exact = Pix2PixPipeline.from_pretrained(
        REPO_ROOT / "weights" / folder, device="cpu", precision="float32", subfolder=subfolder or None,
        image_size=int8.image_size,
    )  # fmt: skip
    assert (int8.precision, exact.precision) == ("int8", "float32")
    for path in sorted((REPO_ROOT / "examples" / EXAMPLES.get(task, task)).glob("*_input.jpg")):
        image = Image.open(path).convert("RGB")
        reference, output = translate(exact, image), translate(int8, image)
        assert not np.array_equal(output, reference)  # int8 really ran
        assert output_psnr(output, reference) >= 40, path.name


def test_conv_levels_count_convolutions_from_the_image_and_to_the_output():
    generator = Pix2PixGenerator(arch="unet_128", ngf=4, inference_mode="paper")
    model = onnx.load_from_string(export_to_onnx(generator, PaperModeNetwork(generator), 128))
    levels = conv_levels(model)  # node names: /net/encoder.K/conv/Conv, /net/up_convs.K/Conv, /net/skip_convs.K/Conv
    encoder = sorted((name, level) for name, level in levels.items() if "/encoder." in name)
    assert [level for _, level in encoder] == [0, 1, 2, 3, 4, 5, 6]  # the dropout masks (inputs too) do not count
    assert levels[next(name for name in levels if "/up_convs.6/" in name)] == 0  # the last convolution
    assert levels[next(name for name in levels if "/skip_convs.5/" in name)] == 0  # skip into the last level
    assert levels[next(name for name in levels if "/up_convs.5/" in name)] == 1
    assert levels[next(name for name in levels if "/up_convs.0/" in name)] == 6  # the innermost level


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("int8")
    data = write_ab_folder(root / "data", {"train": 6, "test": 3}, size=32)
    torch.manual_seed(0)
    Pix2PixGenerator(arch="resnet_6blocks", ngf=8).save_pretrained(root / "model")
    return root / "model", data


def test_calibration_is_written_only_when_it_passes_and_the_pipeline_then_runs_int8(tiny_model, tmp_path):
    model, data = tiny_model
    impossible = ["--model", str(model), "--dataset", str(data), "--load_size", "32", "--crop_size", "32"]
    with pytest.raises(SystemExit, match="no int8 calibration written: .*dB from float32 \\(needs 1000"):
        calibrate_main([*impossible, "--min_psnr", "1000"])
    assert not (model / CALIBRATION_FILE).exists()

    calibration = calibrate_main([*impossible, "--min_psnr", "30"])
    saved = Int8Calibration.load(model / CALIBRATION_FILE)
    assert saved == calibration
    assert (saved.image_size, saved.inference_mode, saved.validation["num_pairs"]) == (32, "eval", 3)
    assert saved.validation["psnr_vs_float32_min"] >= 30
    assert saved.validation["sizes"] == [32] and saved.validated_sizes == [(32, 32)]  # where it holds
    with pytest.raises(ValueError, match="validated at 32x32 \\(mode='resize'\\), not on whole images or tiles"):
        Pix2PixPipeline(Pix2PixGenerator.from_pretrained(model), mode="tiled", precision="int8", int8_calibration=saved)

    generator = Pix2PixGenerator.from_pretrained(model)
    int8 = Pix2PixPipeline(generator, device="cpu", image_size=32, int8_calibration=saved)
    exact = Pix2PixPipeline(generator, device="cpu", image_size=32, backend="torch")
    assert int8.precision == "int8" and int8.runner.onnx is None  # decided in the constructor, built on first use
    for path in sorted((data / "test").iterdir()):
        source = Image.open(path).crop((0, 0, 32, 32))
        output, reference = translate(int8, source), translate(exact, source)
        assert not np.array_equal(output, reference)
        assert output_psnr(output, reference) >= 30


def test_precision_flags_and_calibrations_that_do_not_apply(tiny_model, tmp_path):
    model, _ = tiny_model
    generator = Pix2PixGenerator.from_pretrained(model)
    with pytest.raises(ValueError, match="precision='int8' is not possible: the model has no int8 calibration"):
        Pix2PixPipeline(generator, device="cpu", image_size=32, precision="int8")
    with pytest.raises(ValueError, match="precision='fp16' is not supported"):
        Pix2PixPipeline(generator, device="cpu", image_size=32, precision="fp16")
    calibration = Int8Calibration(weights_sha256(generator), 64, "eval", 1, {}, {})
    with pytest.raises(ValueError, match="calibrated at 64x64 in 'eval' mode, not 32x32"):
        Pix2PixPipeline(generator, device="cpu", image_size=32, precision="int8", int8_calibration=calibration)
    fallback = Pix2PixPipeline(generator, device="cpu", image_size=32, int8_calibration=calibration)
    assert fallback.precision == "float32"
    with pytest.raises(ValueError, match="int8 runs on the onnxruntime backend"):
        Pix2PixPipeline(generator, image_size=64, backend="torch", precision="int8", int8_calibration=calibration)
    retrained = Pix2PixGenerator.from_pretrained(model)
    with torch.no_grad():
        next(retrained.parameters()).add_(1e-3)
    with pytest.raises(ValueError, match="the calibration was made for other weights"):
        Pix2PixPipeline(retrained, image_size=64, precision="int8", int8_calibration=calibration)
    assert Pix2PixPipeline(retrained, image_size=64, int8_calibration=calibration).precision == "float32"
    broken = tmp_path / CALIBRATION_FILE
    broken.write_text(json.dumps({"image_size": 32}))
    with pytest.raises(ValueError, match=f"{CALIBRATION_FILE}: not an int8 calibration"):
        Int8Calibration.load(broken)


def test_from_pretrained_finds_the_calibration_in_the_hf_cache_offline(tmp_path):
    folder = tmp_path / "sat2map"  # the bundled model's files, without its eval/ folder
    folder.mkdir()
    for name in ("config.json", "model.safetensors", CALIBRATION_FILE):
        (folder / name).write_bytes((REPO_ROOT / "weights" / "sat2map" / name).read_bytes())
    lay_out_hf_cache(tmp_path / "hf" / "hub", "org/pix2pix-sat2map", folder)
    script = (
        "from pix2pix_hub import Pix2PixPipeline\n"
        "print('precision', Pix2PixPipeline.from_pretrained('org/pix2pix-sat2map', device='cpu').precision)\n"
    )
    assert "precision int8" in run_offline(tmp_path / "hf", script)


@pytest.mark.parametrize("inference_mode", ["eval", "paper"])
def test_a_height_by_width_calibration_runs_int8_at_that_size_only(inference_mode, tmp_path):
    torch.manual_seed(0)
    generator = Pix2PixGenerator(arch="resnet_6blocks", ngf=8, inference_mode=inference_mode)
    calibration = random_input_calibration(generator, (32, 48))
    assert calibration.image_size == [32, 48] and calibration.size == (32, 48)
    assert Int8Calibration.load(calibration.save(tmp_path)) == calibration
    int8 = Pix2PixPipeline(generator, device="cpu", image_size=(32, 48), int8_calibration=calibration)
    exact = Pix2PixPipeline(generator, device="cpu", image_size=(32, 48), precision="float32")
    assert (int8.precision, exact.precision) == ("int8", "float32")
    inputs = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(1)) * 2 - 1
    output, reference = int8.forward(inputs, seed=0).numpy(), exact.forward(inputs, seed=0).numpy()
    assert not np.array_equal(output, reference)  # int8 really ran
    assert output_psnr(output, reference) >= 30
    with pytest.raises(
        ValueError, match="int8 runs at height 32 x width 48, the calibrated size, but this batch is 48x48"
    ):
        int8.forward(torch.zeros(1, 3, 48, 48))
    with pytest.raises(ValueError, match=f"calibrated at height 32 x width 48 in '{inference_mode}' mode, not 48x48"):
        Pix2PixPipeline(generator, device="cpu", image_size=48, precision="int8", int8_calibration=calibration)
