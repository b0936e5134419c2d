"""Int8 inference: the bundled calibrations hold 40 dB on real inputs; calibrating validates, and refuses; flags."""

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from PIL import Image

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.calibrate_int8 import fewest_float_multiply_adds, graph_feeds, record_ranges
from pix2pix_hub.calibrate_int8 import main as calibrate_main
from pix2pix_hub.evaluation.metrics import output_psnr
from pix2pix_hub.images import image_to_tensor, pixels_to_tensor
from pix2pix_hub.inference.fast.int8 import (
    CALIBRATION_FILE,
    MIN_PSNR,
    Int8Calibration,
    conv_costs,
    conv_levels,
    stored_size,
    weights_sha256,
)
from pix2pix_hub.inference.fast.onnx import export_to_onnx
from pix2pix_hub.inference.interface import height_width
from pix2pix_hub.inference.paper_mode import PaperModeNetwork, paper_mode_network
from pix2pix_hub.inference.runner import Runner
from pix2pix_hub.pose import render_pose
from space.dance import load_dancer
from tests.paired_data import write_ab_folder
from tests.test_hub import lay_out_hf_cache, run_offline

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED = [
    "facades_label2photo",
    "sat2map",
    "map2sat",
    "cityscapes_label2photo",
    "edges2shoes",
]  # apple2orange is served in float32 at 256 px: its int8 calibration at 256 moved the eval SSIM by more than 0.001;
# so is cityscapes_photo2label since its retraining (batch 4, "eval" mode): int8 left an output 27 dB from float32
EXAMPLES = {"apple2orange/AtoB": "apple2orange", "apple2orange/BtoA": "orange2apple"}  # the app's task names


def translate(pipe: Pix2PixPipeline, image: Image.Image) -> np.ndarray:
    return pipe.runner.run({"source": pixels_to_tensor(pipe.model_input(image))[None]}, seed=0).numpy()


def random_input_calibration(generator: Pix2PixGenerator, size: int | tuple[int, int]) -> Int8Calibration:
    """Ranges over random sources at `size` (an untrained network has no data of its own), two float32 levels."""
    paper_mode = paper_mode_network(generator)
    sources = torch.rand(8, generator.in_channels, *height_width(size), generator=torch.Generator().manual_seed(0))
    feeds = graph_feeds([{"source": source} for source in sources * 2 - 1], generator, paper_mode, seed=0)
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
    output, reference = (
        int8.runner.run({"source": inputs}, seed=0).numpy(),
        exact.runner.run({"source": inputs}, seed=0).numpy(),
    )
    assert not np.array_equal(output, reference)  # int8 really ran
    assert output_psnr(output, reference) >= 30
    with pytest.raises(
        ValueError, match="int8 runs at height 32 x width 48, the calibrated size, but this batch is 48x48"
    ):
        int8.runner.run({"source": torch.zeros(1, 3, 48, 48)})
    with pytest.raises(ValueError, match=f"calibrated at height 32 x width 48 in '{inference_mode}' mode, not 48x48"):
        Pix2PixPipeline(generator, device="cpu", image_size=48, precision="int8", int8_calibration=calibration)


def test_paper_mode_int8_convolutions_run_as_integer_kernels(tmp_path):
    """Paper mode's decoder convolutions have no bias: none may stay float32 around dequantized weights (a shared
    zero bias once kept the dropout levels' convolutions out of ONNX Runtime's int8 kernels)."""
    generator = Pix2PixGenerator(arch="unet_128", ngf=4, inference_mode="paper")
    calibration = random_input_calibration(generator, 128)  # two float32 levels
    float_graph = export_to_onnx(generator, PaperModeNetwork(generator), 128)
    levels = conv_levels(onnx.load_from_string(float_graph))
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # fuses, no layouts
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    onnxruntime.InferenceSession(calibration.quantize(float_graph), options, providers=["CPUExecutionProvider"])
    ops = Counter(node.op_type for node in onnx.load(tmp_path / "optimized.onnx").graph.node)
    assert ops["QLinearConv"] == sum(level >= calibration.float_levels for level in levels.values())
    assert ops["Conv"] + ops["FusedConv"] == sum(level < calibration.float_levels for level in levels.values())


def test_calibration_keeps_of_its_last_float_level_the_cheapest_convolutions_that_pass(tiny_model, capsys):
    model, data = tiny_model
    flags = ["--model", str(model), "--dataset", str(data), "--load_size", "32", "--crop_size", "32"]
    with pytest.raises(SystemExit):
        calibrate_main([*flags, "--min_psnr", "1000"])  # fails at every level: the log gives each level's PSNR
    found = re.findall(r"^(\d+) float32 levels: PSNR vs float32 min ([\d.]+) dB", capsys.readouterr().out, re.M)
    by_levels = {int(levels): float(psnr) for levels, psnr in found}
    edge = max(range(1, len(by_levels)), key=lambda k: by_levels[k] - by_levels[k - 1])  # keeping it float helps most
    threshold = (by_levels[edge - 1] + by_levels[edge]) / 2  # passes with `edge` float levels, not one fewer

    calibration = calibrate_main([*flags, "--min_psnr", f"{threshold:.2f}"])
    tried = re.findall(
        rf"^{edge - 1} float32 levels and (.+?): PSNR vs float32 min [\d.]+ dB, median [\d.]+ dB; (.*)$",
        capsys.readouterr().out,
        re.M,
    )
    graph = onnx.load_from_string(export_to_onnx(Pix2PixGenerator.from_pretrained(model), None, 32))
    levels, costs = conv_levels(graph), conv_costs(graph)
    level_convs = [name for name, level in levels.items() if level == edge - 1]
    subsets = [names.split(", ") for names, _ in tried]
    assert subsets and all(set(subset) < set(level_convs) for subset in subsets)  # proper subsets of that level
    subset_costs = [sum(costs[name] for name in subset) for subset in subsets]
    assert subset_costs == sorted(subset_costs)  # cheapest first
    passing = [index for index, (_, verdict) in enumerate(tried) if verdict == "passes"]
    if passing:  # the first that passes is kept, the search of this level stops there and goes on outwards
        assert passing == [len(tried) - 1]
        assert calibration.float_convs[: len(subsets[-1])] == subsets[-1] and calibration.float_levels <= edge - 1
        assert all(levels[name] >= calibration.float_levels for name in calibration.float_convs)
    else:
        assert len(tried) == 2 ** len(level_convs) - 2
        assert (calibration.float_levels, calibration.float_convs) == (edge, [])
    assert calibration.validation["psnr_vs_float32_min"] >= threshold - 0.01
    assert Int8Calibration.load(model / CALIBRATION_FILE).float_convs == calibration.float_convs


def test_conv_costs_are_multiply_adds_per_image():
    generator = Pix2PixGenerator(arch="unet_128", ngf=4)
    costs = conv_costs(onnx.load_from_string(export_to_onnx(generator, None, 128)))
    first = next(name for name in costs if "/encoder.0/" in name)
    assert costs[first] == 64 * 64 * 4 * 3 * 4 * 4  # 64x64 outputs, 4 channels, each 3 x 4 x 4 taps
    assert (
        math.prod(generator.net.encoder[1].conv.weight.shape) * 32 * 32
        == costs[next(name for name in costs if "/encoder.1/" in name)]
    )


def test_conv_costs_follow_the_computed_paddings_of_rewritten_layers():
    """Shape inference loses the spatial size after the rewritten upsampling's and head's paddings (it made their
    cost 0, so the calibration tried keeping them in float32 first as if they were free)."""
    generator = Pix2PixGenerator(arch="resnet_6blocks", ngf=8)
    model = onnx.load_from_string(export_to_onnx(generator, None, 32))
    costs = conv_costs(model)
    assert len(costs) == 18 and min(costs.values()) > 0
    head = next(node for node in model.graph.node if node.name.startswith("/head/") and node.op_type == "Conv")
    weights = next(tensor for tensor in model.graph.initializer if tensor.name == head.input[1])
    assert costs[head.name] == math.prod(weights.dims) * 16 * 16  # its four output phases, each 16x16


def test_the_bundled_dancer_runs_int8_each_frame_within_40_db_of_float32_from_the_same_frame_before():
    """The Dance tab's runner is int8; one step from the frame float32 generated before it (the calibration's check)
    stays within MIN_PSNR of float32 on the subject's held-out poses as the app renders them."""
    dancer = load_dancer(str(REPO_ROOT / "weights/edn_subject"))
    exact = Runner(dancer.generator, size=dancer.size, precision="float32")
    assert (dancer.runner.precision, exact.precision) == ("int8", "float32")
    side = (dancer.size, dancer.size)
    poses = torch.stack(
        [image_to_tensor(render_pose(pose).resize(side, Image.Resampling.BICUBIC)) for pose in dancer.test_poses[:6]]
    )
    previous = torch.zeros_like(poses[:1])
    for pose in poses:
        inputs = {"source": pose[None], "previous": previous}
        reference, output = exact.run(inputs).numpy(), dancer.runner.run(inputs).numpy()
        assert not np.array_equal(output, reference)  # int8 really ran
        assert output_psnr(output, reference) >= MIN_PSNR
        previous = torch.from_numpy(reference)


def number(cached) -> float:
    """A bound as ONNX Runtime's calibration cache writes it: a number, or a numpy array's {"data": ...}."""
    return float(np.ravel(cached["data"] if isinstance(cached, dict) else cached)[0])


def test_percentile_ranges_clip_the_extremes_and_the_calibration_runs_with_them(tiny_model, tmp_path):
    model, data = tiny_model
    flags = ["--model", str(model), "--dataset", str(data), "--load_size", "32", "--crop_size", "32"]
    calibration = calibrate_main([*flags, "--min_psnr", "30", "--ranges", "percentile"])
    assert calibration.validation["ranges"] == "percentile"

    generator = Pix2PixGenerator.from_pretrained(model)
    float_graph = export_to_onnx(generator, None, 32)
    sources = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    feeds = graph_feeds([{"source": source} for source in sources], generator, None, seed=0)
    lowest_highest = {
        method: {
            name: (number(tensor["lowest"]), number(tensor["highest"]))
            for name, tensor in record_ranges(float_graph, feeds, method)["data"].items()
        }
        for method in ("minmax", "percentile")
    }
    minmax, percentile = lowest_highest["minmax"], lowest_highest["percentile"]
    assert minmax.keys() == percentile.keys()
    inside = [minmax[name][0] <= percentile[name][0] <= percentile[name][1] <= minmax[name][1] for name in minmax]
    assert all(inside)
    assert percentile != minmax  # some extremes were clipped

    int8 = Pix2PixPipeline(generator, device="cpu", image_size=32, int8_calibration=calibration)
    exact = Pix2PixPipeline(generator, device="cpu", image_size=32, backend="torch")
    source = Image.open(sorted((data / "test").iterdir())[0]).crop((0, 0, 32, 32))
    assert output_psnr(translate(int8, source), translate(exact, source)) >= 30


def test_ranges_both_keeps_the_method_with_fewer_float32_multiply_adds(tiny_model, capsys):
    model, data = tiny_model
    flags = ["--model", str(model), "--dataset", str(data), "--load_size", "32", "--crop_size", "32"]
    each = {
        method: calibrate_main([*flags, "--min_psnr", "35", "--ranges", method]) for method in ("minmax", "percentile")
    }
    capsys.readouterr()
    both = calibrate_main([*flags, "--min_psnr", "35", "--ranges", "both"])
    printed = capsys.readouterr().out
    assert "minmax ranges, " in printed and "percentile ranges, " in printed  # it tried both

    graph = onnx.load_from_string(export_to_onnx(Pix2PixGenerator.from_pretrained(model), None, 32))
    levels, costs = conv_levels(graph), conv_costs(graph)

    def rank(calibration: Int8Calibration) -> tuple:
        kept = [name for name in costs if levels[name] < calibration.float_levels or name in calibration.float_convs]
        return sum(costs[name] for name in kept), -calibration.validation["psnr_vs_float32_min"]

    chosen = min(each, key=lambda method: rank(each[method]))
    assert both.validation["ranges"] == chosen
    assert (both.float_levels, both.float_convs, both.ranges) == (
        each[chosen].float_levels,
        each[chosen].float_convs,
        each[chosen].ranges,
    )


def test_of_two_passing_calibrations_the_one_with_fewer_float32_multiply_adds_wins():
    graph = onnx.load_from_string(export_to_onnx(Pix2PixGenerator(arch="unet_128", ngf=4), None, 128))
    levels, costs = conv_levels(graph), conv_costs(graph)
    outer = [name for name, level in levels.items() if level == 0]
    cheap, dear = sorted(outer, key=costs.get)[0], sorted(outer, key=costs.get)[-1]
    assert costs[cheap] < costs[dear]
    validation = {"psnr_vs_float32_min": 41.0}
    one_level = ("minmax", {}, 1, (), validation)  # every level-0 convolution in float32
    one_dear = ("percentile", {}, 0, (dear,), validation)
    one_cheap = ("minmax", {}, 0, (cheap,), validation)
    assert fewest_float_multiply_adds([one_level, one_dear], levels, costs) is one_dear
    assert fewest_float_multiply_adds([one_dear, one_cheap], levels, costs) is one_cheap
    closer = ("percentile", {}, 0, (cheap,), {"psnr_vs_float32_min": 43.0})
    assert fewest_float_multiply_adds([one_cheap, closer], levels, costs) is closer  # equal cost: higher PSNR
