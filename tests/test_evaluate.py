"""pix2pix_hub.metrics and pix2pix_hub.evaluate: exact metric values, reproducible scoring, the CLI's outputs."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_hub import Pix2PixGenerator
from pix2pix_hub.data import DataSpec, load_splits
from pix2pix_hub.evaluation.artifacts import checkerboard_ratio
from pix2pix_hub.evaluation.evaluate import evaluate, evaluation_view, main, sample_grid
from pix2pix_hub.evaluation.metrics import mean_metrics, pair_metrics
from pix2pix_hub.evaluation.realism import realism
from pix2pix_hub.images import tensor_to_image
from pix2pix_hub.inference.fast.int8 import METRIC_TOLERANCES
from tests.paired_data import smooth_image, write_ab_folder
from tests.test_int8 import random_input_calibration

DATA_FLAGS = argparse.Namespace(preprocess="resize_and_crop", load_size=36, crop_size=32, flip=True)


def test_metrics_of_a_uniform_offset_are_exact():
    target = smooth_image(1, 32).clip(20, 235)
    output = target + 20
    metrics = pair_metrics(Image.fromarray(output), Image.fromarray(target))
    assert metrics["l1"] == pytest.approx(20 / 255, abs=1e-12)
    assert metrics["psnr"] == pytest.approx(20 * math.log10(255 / 20), abs=1e-9)
    assert 0.9 < metrics["ssim"] < 1.0  # structure kept, luminance shifted


def test_identical_images_score_perfectly_and_noise_scores_worse():
    target = Image.fromarray(smooth_image(2, 32))
    perfect = pair_metrics(target, target)
    assert perfect["l1"] == 0.0 and perfect["ssim"] == pytest.approx(1.0) and math.isinf(perfect["psnr"])
    noisy = np.asarray(target, dtype=int) + np.random.default_rng(0).integers(-40, 41, (32, 32, 3))
    worse = pair_metrics(Image.fromarray(noisy.clip(0, 255).astype(np.uint8)), target)
    assert worse["ssim"] < 0.9 and worse["psnr"] < 25


def test_metrics_refuse_images_of_different_sizes():
    with pytest.raises(ValueError, match="output is 32x32 but target is 16x16"):
        pair_metrics(Image.new("RGB", (32, 32)), Image.new("RGB", (16, 16)))


def test_mean_metrics_average_over_images():
    assert mean_metrics([{"l1": 0.1, "psnr": 20, "ssim": 0.5}, {"l1": 0.3, "psnr": 30, "ssim": 0.7}]) == {
        "l1": pytest.approx(0.2),
        "psnr": pytest.approx(25),
        "ssim": pytest.approx(0.6),
    }


def test_sample_grid_puts_one_pair_per_row():
    red, green, blue = (Image.new("RGB", (8, 6), color) for color in ("red", "green", "blue"))
    grid = sample_grid([(red, green, blue), (blue, red, green)])
    assert grid.size == (24, 12)
    assert grid.getpixel((0, 0)) == (255, 0, 0) and grid.getpixel((23, 11)) == (0, 128, 0)


@pytest.fixture
def held_out(tmp_path):
    return load_splits(DataSpec(str(write_ab_folder(tmp_path / "ab", {"train": 3, "test": 5}))))[1]


def test_paper_mode_scores_are_reproducible_with_a_seed_and_noisy_without(held_out):
    generator = Pix2PixGenerator("resnet_6blocks", ngf=4, inference_mode="paper")
    dataset = evaluation_view(held_out, argparse.Namespace(**vars(DATA_FLAGS), skip_bad_images=False), generator)
    first, again = evaluate(generator, dataset, seed=1), evaluate(generator, dataset, seed=1)
    other_seed = evaluate(generator, dataset, seed=2)
    assert first.metrics == again.metrics and first.num_pairs == 5
    assert first.metrics != other_seed.metrics  # dropout noise differs
    assert first.grid.size == (3 * 32, 4 * 32)  # the first four pairs


def test_eval_mode_scores_do_not_depend_on_the_batch_size(held_out):
    generator = Pix2PixGenerator("resnet_6blocks", ngf=4, inference_mode="eval")
    dataset = evaluation_view(held_out, argparse.Namespace(**vars(DATA_FLAGS), skip_bad_images=False), generator)
    one, batched = evaluate(generator, dataset, batch_size=1), evaluate(generator, dataset, batch_size=4)
    assert one.metrics == pytest.approx(batched.metrics, rel=1e-6)


def test_realism_is_reported_per_level_beside_the_floor_of_the_split_targets_and_c2st_on_request(held_out):
    generator = Pix2PixGenerator("resnet_6blocks", ngf=4, inference_mode="eval")
    dataset = evaluation_view(held_out, argparse.Namespace(**vars(DATA_FLAGS), skip_bad_images=False), generator)
    result = evaluate(generator, dataset, seed=1, two_sample_test=True)
    targets = [tensor_to_image(dataset[index]["target"]) for index in range(len(dataset))]
    assert result.metrics["swd_floor"] == realism(targets, targets, seed=1).mean_floor
    assert {"swd_32", "swd_16", "swd_floor_32", "swd_floor_16"} <= set(result.metrics)
    assert result.metrics["swd"] > result.metrics["swd_floor"]  # an untrained network's outputs: far from real
    assert 0 <= result.metrics["c2st_accuracy"] <= 1 and "c2st_accuracy" not in evaluate(generator, dataset).metrics
    expected = checkerboard_ratio([np.asarray(target) for target in targets], [np.asarray(t) for t in targets])
    assert result.metrics["checkerboard_real"] == expected["checkerboard_real"]  # the mesh score beside the targets'
    assert result.metrics["checkerboard_ratio"] == result.metrics["checkerboard"] / expected["checkerboard_real"]


@pytest.mark.parametrize("inference_mode", ["eval", "paper"])
def test_int8_scores_come_from_the_int8_graph_within_the_calibration_tolerances(held_out, inference_mode):
    torch.manual_seed(0)
    generator = Pix2PixGenerator("resnet_6blocks", ngf=4, inference_mode=inference_mode)
    dataset = evaluation_view(held_out, argparse.Namespace(**vars(DATA_FLAGS), skip_bad_images=False), generator)
    exact = evaluate(generator, dataset)
    random_calibration = random_input_calibration(generator, 32)
    int8 = evaluate(generator, dataset, int8_calibration=random_calibration)
    assert int8.num_pairs == exact.num_pairs == 5 and int8.metrics != exact.metrics  # int8 really ran
    for name, tolerance in METRIC_TOLERANCES.items():
        assert int8.metrics[name] == pytest.approx(exact.metrics[name], abs=tolerance), name
    with pytest.raises(ValueError, match="int8 runs at 64x64, the calibrated size, but this batch is 32x32"):
        evaluate(generator, dataset, int8_calibration=replace(random_calibration, image_size=64))


def test_cli_writes_metrics_and_a_grid_for_a_saved_model(tmp_path, capsys):
    root = write_ab_folder(tmp_path / "ab", {"train": 8})
    Pix2PixGenerator("resnet_6blocks", ngf=4).save_pretrained(tmp_path / "model")
    flags = ["--model", str(tmp_path / "model"), "--dataset", str(root), "--load_size", "36", "--crop_size", "32"]
    report = main([*flags, "--split", "test", "--eval_split_fraction", "0.25", "--output_dir", str(tmp_path / "ev")])
    assert report["num_pairs"] == 2 and "held out" in report["data"]
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text()) == report
    printed = capsys.readouterr()
    assert json.loads(printed.out)["l1"] == report["l1"]  # stdout is the report alone; stderr says where it went
    assert f"Wrote {tmp_path / 'ev' / 'metrics.json'} and {tmp_path / 'ev' / 'grid.png'}" in printed.err
    assert Image.open(tmp_path / "ev" / "grid.png").size == (96, 64)
    first = main(
        [
            *flags,
            "--split",
            "test",
            "--eval_split_fraction",
            "0.25",
            "--max_pairs",
            "1",
            "--output_dir",
            str(tmp_path / "one"),
        ]
    )
    assert first["num_pairs"] == 1 and "swd" in report and "swd" not in first  # realism needs 2 pairs at least
    with pytest.raises(ValueError, match="no split 'test'"):
        main([*flags, "--split", "test", "--eval_split_fraction", "0", "--output_dir", str(tmp_path / "none")])
