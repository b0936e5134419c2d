"""`python -m pix2pix_hub.evaluate_cycle`: cycle consistency and domain-judge shares of a two-direction folder."""

from __future__ import annotations

import json

import torch
from PIL import Image

from pix2pix_hub import Pix2PixGenerator
from pix2pix_hub.evaluation.cycle import main
from pix2pix_hub.evaluation.domain_judge import DomainJudge, load_folder
from pix2pix_hub.evaluation.domain_judge import main as train_judge
from tests.test_domain_judge import write_domain


def test_a_two_direction_folder_is_scored_with_cycle_l1_and_every_judges_shares(tmp_path):
    data = tmp_path / "apple2orange"
    for split, seed in (("train", 0), ("test", 1)):
        write_domain(data / f"{split}A", hue=0, count=12, seed=seed)
        write_domain(data / f"{split}B", hue=2, count=10, seed=seed + 10)
    judges = []
    for seed in (0, 1):
        judges.append(tmp_path / f"judge{seed}")
        flags = ["--domain_a", str(data / "trainA"), "--domain_b", str(data / "trainB"), "--image_size", "32"]
        train_judge(
            ["train", *flags, "--steps", "30", "--width", "8", "--depth", "3", "--seed", str(seed)]
            + ["--out", str(judges[-1])]
        )
    torch.manual_seed(0)
    for direction in ("AtoB", "BtoA"):
        Pix2PixGenerator(arch="resnet_6blocks", ngf=4, norm="instance", use_dropout=False).save_pretrained(
            tmp_path / "model" / direction
        )

    flags = ["--model", str(tmp_path / "model"), "--dataset", str(data), "--load_size", "32", "--crop_size", "32"]
    report = main([*flags, "--output_dir", str(tmp_path / "scores"), *sum((["--judge", str(j)] for j in judges), [])])

    assert report["num_images"] == 12 + 10 and 0 < report["cycle_l1_A"] < 1 and 0 < report["cycle_l1_B"] < 1
    for direction in ("AtoB", "BtoA"):  # realism, unpaired: translations against the target domain's test images
        assert report[f"{direction}_swd"] > 0 and report[f"{direction}_swd_floor"] > 0
        assert {f"{direction}_swd_32", f"{direction}_swd_floor_16"} <= set(report)
    for judge_folder in judges:
        judge = DomainJudge.from_pretrained(judge_folder)
        name = judge_folder.name
        assert report[f"{name}/real_B_called_B"] == judge.share_of_b(load_folder(data / "testB", 32))
        assert report[f"{name}/input_A_called_B"] == judge.share_of_b(load_folder(data / "testA", 32))
        assert 0 <= report[f"{name}/AtoB_translated_called_B"] <= 1
    assert json.loads((tmp_path / "scores" / "metrics.json").read_text()) == report
    assert Image.open(tmp_path / "scores" / "grid.png").size == (6 * 32, 4 * 32)
