"""`--method bicyclegan` end to end on CPU: flags, a Hub folder with G and E, its scores, and an exact resume."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from pix2pix_hub import Pix2PixGenerator
from pix2pix_hub.methods.bicyclegan import ENCODER_SUBFOLDER, PAPER
from pix2pix_hub.networks import LatentEncoder
from tests.paired_data import write_ab_folder
from tests.test_training import FLOAT32, REPO, kill_after_first_checkpoint, train

# The reference's 128-pixel networks at tiny widths: a step takes tens of milliseconds.
TINY = ["--method", "bicyclegan", "--netG", "unet_128", "--netE", "resnet_128", "--netD", "basic_128_multi"]
TINY += ["--netD2", "basic_128_multi", "--ngf", "4", "--nef", "4", "--ndf", "4", "--load_size", "136"]
TINY += ["--crop_size", "128"]


def test_help_lists_the_method_and_its_reference_flags():
    listing = subprocess.run(
        [sys.executable, str(REPO / "train_accelerate.py"), "--help"], capture_output=True, text=True
    )
    assert "bicyclegan" in listing.stdout
    own = subprocess.run(
        [sys.executable, str(REPO / "train_accelerate.py"), "--method", "bicyclegan", "--help"],
        capture_output=True,
        text=True,
    )
    for flag in ("--nz", "--where_add", "--netE", "--num_Ds", "--lambda_kl", "--lambda_z", "--niter_decay"):
        assert flag in own.stdout, flag


def test_paper_defaults_are_the_reference_options():
    assert (PAPER.batch_size, PAPER.nz, PAPER.where_add, PAPER.gan_mode, PAPER.norm) == (
        2,
        8,
        "all",
        "lsgan",
        "instance",
    )
    assert (PAPER.lambda_l1, PAPER.lambda_gan, PAPER.lambda_gan2, PAPER.lambda_z, PAPER.lambda_kl) == (
        10,
        1,
        1,
        0.5,
        0.01,
    )
    assert (PAPER.init_type, PAPER.init_gain, PAPER.num_scales, PAPER.use_same_D) == ("xavier", 0.02, 2, False)


def test_an_odd_batch_is_refused_in_plain_words(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 2, "test": 1}, size=128)
    run = train("--dataset", str(root), "--train_batch_size", "3", tiny=TINY)
    assert run.returncode != 0 and "--batch_size must be even" in run.stderr


def test_a_run_saves_g_and_e_that_reload_and_scores_encoded_and_random_samples(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 4, "test": 2}, size=128)
    out = tmp_path / "out"
    run = train(
        "--dataset",
        str(root),
        "--output_dir",
        str(out),
        "--max_train_steps",
        "3",
        "--report_to",
        "none",
        *FLOAT32,
        "--eval_steps",
        "0",
        "--checkpointing_steps",
        "0",
        tiny=TINY,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    generator = Pix2PixGenerator.from_pretrained(out)
    encoder = LatentEncoder.from_pretrained(out, subfolder=ENCODER_SUBFOLDER)
    assert [item.name for item in generator.inputs] == ["source", "z"] and encoder.nz == 8
    image = torch.rand(1, 3, 128, 128) * 2 - 1
    mu, _ = encoder(image)
    assert generator(image, mu).shape == (1, 3, 128, 128)
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"encoded_l1", "encoded_ssim", "diversity_l1", "l1", "swd"} <= set(metrics)
    assert metrics["step"] == 3 and metrics["diversity_l1"] > 0


def test_a_run_killed_after_a_checkpoint_resumes_to_the_same_g_e_and_ds(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 6, "test": 1}, size=128)
    common = ["--dataset", str(root), "--report_to", "none", *FLOAT32, "--eval_steps", "0"]
    common += ["--epochs", "50", "--decay_epochs", "50"]
    killed = tmp_path / "killed"
    resumed_from = int(kill_after_first_checkpoint([*TINY, *common], killed, 2).name.split("-")[1])
    final = str(resumed_from + 3)
    resumed = train(
        *common,
        "--output_dir",
        str(killed),
        "--checkpointing_steps",
        "0",
        "--resume_from_checkpoint",
        "latest",
        "--max_train_steps",
        final,
        tiny=TINY,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"at step {resumed_from}" in resumed.stderr
    straight = tmp_path / "straight"
    run = train(
        *common, "--output_dir", str(straight), "--checkpointing_steps", "0", "--max_train_steps", final, tiny=TINY
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for weights in ("model.safetensors", f"{ENCODER_SUBFOLDER}/model.safetensors"):
        expected, actual = load_file(straight / weights), load_file(killed / weights)
        assert expected.keys() == actual.keys()
        assert all(torch.equal(expected[name], actual[name]) for name in expected), weights


def test_variety_is_measured_over_the_split_once_with_every_pair_of_samples(tmp_path):
    from pix2pix_hub.data import PairedImageDataset, load_splits
    from pix2pix_hub.data.arguments import data_spec
    from pix2pix_hub.evaluation.evaluate import evaluation_view
    from pix2pix_hub.evaluation.evaluate import parse_args as evaluate_args
    from pix2pix_hub.evaluation.multimodal import _unit, real_diversity, sample_diversity
    from tests.bicyclegan_models import write_tiny_bicyclegan

    root = write_ab_folder(tmp_path / "ab", {"train": 1, "test": 4}, size=128)
    folder = write_tiny_bicyclegan(tmp_path / "model")
    generator = Pix2PixGenerator.from_pretrained(folder)
    args = evaluate_args(["--model", str(folder), "--dataset", str(root), "--load_size", "128", "--crop_size", "128"])
    dataset = evaluation_view(load_splits(data_spec(args), "test")[1], args, generator)
    assert isinstance(dataset, PairedImageDataset) and len(dataset) == 4
    targets = [_unit(dataset[index]["target"]) for index in range(4)]
    expected = np.mean([np.abs(targets[0] - targets[1]).mean(), np.abs(targets[2] - targets[3]).mean()])
    assert real_diversity(dataset, samples=2)["diversity_l1"] == pytest.approx(expected)  # two groups, then stop
    assert sample_diversity(generator, dataset, "cpu", samples=3)["diversity_l1"] > 0
