"""The domain judge: trained on two folders of real image files, it tells the domains apart, reproducibly."""

from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from pix2pix_hub.evaluation.domain_judge import DomainJudge, load_folder, main


def write_domain(folder, hue: int, count: int, seed: int) -> None:
    """Smooth noise pictures tinted towards one colour channel: two domains a small CNN can tell apart."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for index in range(count):
        image = rng.integers(0, 120, (8, 8, 3)).astype(np.uint8)
        image[..., hue] += 120
        Image.fromarray(image).resize((40, 40), Image.Resampling.BICUBIC).save(folder / f"{index}.png")


def test_a_judge_trained_on_two_folders_separates_held_out_images_and_is_reproducible(tmp_path):
    for split, seed in (("train", 0), ("test", 1)):
        write_domain(tmp_path / f"{split}A", hue=0, count=24, seed=seed)
        write_domain(tmp_path / f"{split}B", hue=2, count=24, seed=seed + 10)
    flags = ["--domain_a", str(tmp_path / "trainA"), "--domain_b", str(tmp_path / "trainB"), "--image_size", "32"]
    flags += ["--test_a", str(tmp_path / "testA"), "--test_b", str(tmp_path / "testB"), "--steps", "40"]
    flags += ["--width", "8", "--depth", "3", "--name", "red (A) vs blue (B)"]
    for out in ("first", "second"):
        main(["train", *flags, "--out", str(tmp_path / out)])

    report = json.loads((tmp_path / "first" / "accuracy.json").read_text())
    assert report["test_share_of_b"]["A"] < 0.2 and report["test_share_of_b"]["B"] > 0.8
    first, second = (load_file(tmp_path / out / "model.safetensors") for out in ("first", "second"))
    assert all(torch.equal(first[name], second[name]) for name in first)  # same command, same judge
    card = (tmp_path / "first" / "README.md").read_text()
    assert "Domain judge: red (A) vs blue (B)" in card and "| test_share_of_b B |" in card

    judge = DomainJudge.from_pretrained(tmp_path / "first")
    share = judge.share_of_b(load_folder(tmp_path / "testB", 48))  # any size in: the judge resizes
    assert share == report["test_share_of_b"]["B"]
