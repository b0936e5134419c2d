"""pix2pix_hub.data: every kind of dataset source, the paper's paired preprocessing, sampling and bad images."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import datasets
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from pix2pix_hub.data import (
    DataSpec,
    EpochSampler,
    PairedImageDataset,
    Preprocessing,
    collate_pairs,
    image_channels,
    load_splits,
)
from tests.paired_data import (
    cache_hub_dataset,
    corrupt,
    pairs_table,
    smooth_image,
    write_ab_folder,
    write_paired_folders,
)

SMALL = Preprocessing(load_size=36, crop_size=32, size_multiple=4)


def assert_inverted(source: Image.Image, target: Image.Image, tolerance: int = 3) -> None:
    """The test data's targets are inverted sources: proves source and target came from the same pair."""
    a, b = np.asarray(source, dtype=int), np.asarray(target, dtype=int)
    assert a.shape == b.shape
    assert np.abs(a + b - 255).max() <= tolerance


def test_reference_ab_folder_splits_left_half_as_a(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 3, "val": 2})
    train, evaluation, description = load_splits(DataSpec(str(root)))
    assert (len(train), len(evaluation)) == (3, 2)
    assert "'val'" in description
    source, target = train.load(0)
    a = np.asarray(Image.open(root / "train" / "0.png"))[:, :32]
    assert np.array_equal(np.asarray(source), a)
    assert_inverted(source, target, tolerance=0)
    flipped_source, flipped_target = load_splits(DataSpec(str(root), direction="BtoA"))[0].load(0)
    assert np.array_equal(np.asarray(flipped_source), np.asarray(target))
    assert train.side_names == ("A", "B")


def test_flat_folder_of_ab_images_is_one_train_split(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 10})
    train, held_out, description = load_splits(DataSpec(str(root / "train")))
    assert (len(train), len(held_out)) == (9, 1) and "held out" in description


def test_paired_folders_match_by_name_and_resize_a_mismatched_target(tmp_path):
    root = write_paired_folders(tmp_path / "pairs", count=5, size=32, b_size=48)
    train, evaluation, description = load_splits(DataSpec(str(root), eval_split_fraction=0.2))
    assert (len(train), len(evaluation)) == (4, 1)
    source, target = train.load(0)
    assert (source.size, target.size) == ((32, 32), (48, 48))
    source, target = SMALL(source, target, rng=None)  # the size mismatch is preprocessing's job, not a crash
    assert source.size == target.size == (32, 32)
    assert_inverted(source, target, tolerance=40)  # JPEG and a resize in between


def test_paired_folders_name_the_images_without_a_partner(tmp_path):
    root = write_paired_folders(tmp_path / "pairs", count=3)
    (root / "B" / "2.jpg").unlink()
    with pytest.raises(ValueError, match=r"1 images have no partner.*2\.png"):
        load_splits(DataSpec(str(root)))


def test_save_to_disk_folder_and_parquet_file_read_as_column_pairs(tmp_path):
    table = pairs_table(6)
    datasets.DatasetDict({"train": table, "test": pairs_table(2, seed=900)}).save_to_disk(str(tmp_path / "saved"))
    train, evaluation, _ = load_splits(DataSpec(str(tmp_path / "saved")))
    assert (len(train), len(evaluation)) == (6, 2)
    assert train.side_names == ("imageA", "imageB")
    assert_inverted(*train.load(3), tolerance=0)

    table.to_parquet(str(tmp_path / "pairs.parquet"))
    spec = DataSpec(str(tmp_path / "pairs.parquet"), cache_dir=str(tmp_path / "cache"))
    train, evaluation, _ = load_splits(spec)
    assert len(train) + len(evaluation) == 6
    source, target = train.load(0)
    assert_inverted(source, target, tolerance=0)


def test_columns_follow_direction_unless_named(tmp_path):
    pairs_table(4).to_parquet(str(tmp_path / "pairs.parquet"))
    spec = DataSpec(str(tmp_path / "pairs.parquet"), cache_dir=str(tmp_path / "cache"), eval_split_fraction=0.25)
    assert load_splits(spec)[0].side_names == ("imageA", "imageB")
    assert load_splits(DataSpec(**{**spec.__dict__, "direction": "BtoA"}))[0].side_names == ("imageB", "imageA")
    named = DataSpec(**{**spec.__dict__, "source_column": "imageB", "target_column": "imageA"})
    assert load_splits(named)[0].side_names == ("imageB", "imageA")
    with pytest.raises(ValueError, match="no column 'photo'"):
        load_splits(DataSpec(**{**spec.__dict__, "source_column": "photo"}))


def test_hub_id_loads_offline_from_the_datasets_cache(tmp_path):
    """The real `load_dataset("org/name")` path, offline: what an earlier online load left in the cache."""
    cache_hub_dataset(tmp_path / "cache", "someone/tiny-facades", pairs_table(10), tmp_path)
    script = (
        "from pix2pix_hub.data import DataSpec, load_splits\n"
        f"spec = DataSpec('someone/tiny-facades', cache_dir={str(tmp_path / 'cache')!r})\n"
        "train, held_out, description = load_splits(spec)\n"
        "print(len(train), len(held_out), train.side_names, description)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("9 1 ('imageA', 'imageB')")
    assert "held out" in result.stdout


def test_held_out_split_is_seeded_and_disjoint_from_training(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 20})
    spec = DataSpec(str(root), eval_split_fraction=0.25, split_seed=3)
    train, held_out, _ = load_splits(spec)
    again = load_splits(spec)[1]
    other_seed = load_splits(DataSpec(str(root), eval_split_fraction=0.25, split_seed=4))[1]
    names = {held_out.name(i) for i in range(len(held_out))}
    assert len(held_out) == 5 and len(train) == 15
    assert names == {again.name(i) for i in range(len(again))}
    assert names != {other_seed.name(i) for i in range(len(other_seed))}
    assert names.isdisjoint(train.name(i) for i in range(len(train)))
    with pytest.raises(ValueError, match="no split 'test'.*--eval_split_fraction"):
        load_splits(DataSpec(str(root), eval_split_fraction=0.0))


def test_paper_preprocessing_crops_and_flips_source_and_target_alike():
    left_dark = np.zeros((64, 64, 3), np.uint8)
    left_dark[:, 32:] = 255
    image = Image.fromarray(left_dark)
    flipped = []
    for seed in range(16):
        source, target = Preprocessing(load_size=72, crop_size=64)(image, image.copy(), random.Random(seed))
        assert source.size == (64, 64)
        assert np.array_equal(np.asarray(source), np.asarray(target))
        columns = np.asarray(source, dtype=float).mean(axis=(0, 2))
        flipped.append(columns[0] > columns[-1])
    assert any(flipped) and not all(flipped)
    evaluation = Preprocessing(load_size=72, crop_size=64).for_evaluation()
    assert evaluation(image, image, rng=None)[0].size == (64, 64) and not evaluation.flip


def test_scale_width_is_evaluated_at_the_width_it_trains_at():
    """pix2pixHD trains --preprocess scale_width at --load_size wide: its evaluation view must not shrink that."""
    image = Image.new("RGB", (200, 100), "grey")
    training = Preprocessing(mode="scale_width", load_size=64, crop_size=32, size_multiple=4)
    evaluation = training.for_evaluation()
    assert training(image, image, random.Random(0))[0].size == evaluation(image, image, None)[0].size == (64, 32)


def test_aspect_ratio_restores_the_shape_of_photos_stored_as_squeezed_squares():
    """Cityscapes halves are 2:1 street photos stored as 256x256 squares: --aspect_ratio 2 loads them at 512x256."""
    square = Image.new("RGB", (256, 256), "grey")
    training = Preprocessing(mode="scale_width", load_size=512, crop_size=256, size_multiple=32, aspect_ratio=2)
    assert training(square, square, random.Random(0))[0].size == training.for_evaluation().single(square, None).size
    assert training.single(square, None).size == (512, 256)
    assert Preprocessing(mode="scale_width", load_size=512).single(square, None).size == (512, 512)
    with pytest.raises(ValueError, match="aspect_ratio must be positive"):
        Preprocessing(aspect_ratio=-1)


@pytest.mark.parametrize(
    ("mode", "size", "expected"),
    [
        ("resize_and_crop", (50, 30), (32, 32)),
        ("crop", (50, 40), (32, 32)),
        ("crop", (20, 20), (32, 32)),
        ("scale_width", (80, 40), (36, 16)),
        ("scale_width_and_crop", (80, 40), (32, 32)),
        ("none", (51, 29), (52, 28)),
    ],
)
def test_preprocess_modes_give_generator_sized_images(mode, size, expected):
    image = Image.new("RGB", size, "gray")
    preprocessing = Preprocessing(mode=mode, load_size=36, crop_size=32, size_multiple=4)
    source, target = preprocessing(image, image, random.Random(0))
    assert source.size == target.size == expected


def test_crop_size_must_suit_the_generator():
    with pytest.raises(ValueError, match="crop_size 100 is not a multiple of 256"):
        Preprocessing(crop_size=100, size_multiple=256)


def test_grayscale_and_rgba_pairs_get_their_channel_counts(tmp_path):
    (tmp_path / "pairs" / "A").mkdir(parents=True)
    (tmp_path / "pairs" / "B").mkdir()
    for index in range(3):
        Image.fromarray(smooth_image(index, 32, channels=1)).save(tmp_path / "pairs" / "A" / f"{index}.png")
        rgba = np.dstack([smooth_image(index, 32), np.full((32, 32), 128, np.uint8)])
        Image.fromarray(rgba, mode="RGBA").save(tmp_path / "pairs" / "B" / f"{index}.png")
    train = load_splits(DataSpec(str(tmp_path / "pairs"), eval_split_fraction=0.3))[0]
    assert image_channels(train) == (1, 3)
    item = PairedImageDataset(train, SMALL, image_channels(train))[0]
    assert item["source"].shape == (1, 32, 32) and item["target"].shape == (3, 32, 32)
    assert item["target"].min() >= -1.0 and item["target"].max() <= 1.0


def test_augmentation_is_a_function_of_the_sample_key(tmp_path):
    train = load_splits(DataSpec(str(write_ab_folder(tmp_path / "ab", {"train": 4, "test": 1}))))[0]
    dataset = PairedImageDataset(train, SMALL, (3, 3), seed=7)
    assert torch.equal(dataset[5]["source"], dataset[5]["source"])
    same_pair_other_epochs = [dataset[1 + epoch * 4]["source"] for epoch in range(6)]
    assert any(not torch.equal(same_pair_other_epochs[0], other) for other in same_pair_other_epochs[1:])
    assert dataset[1]["name"] == dataset[5]["name"]
    in_workers = next(iter(DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=collate_pairs)))
    assert torch.equal(in_workers["source"][1], dataset[1]["source"])


def test_epoch_sampler_covers_every_pair_once_per_epoch_in_a_seeded_order():
    keys = list(EpochSampler(5, epochs=3, seed=1))
    assert len(keys) == 15 == len(EpochSampler(5, 3, 1))
    for epoch in range(3):
        assert sorted(keys[epoch * 5 : (epoch + 1) * 5]) == list(range(epoch * 5, epoch * 5 + 5))
    assert keys == list(EpochSampler(5, 3, 1)) != list(EpochSampler(5, 3, 2))


def test_bad_image_fails_in_a_worker_with_its_file_name(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 3, "test": 1})
    corrupt(root / "train" / "1.png")
    train = load_splits(DataSpec(str(root)))[0]
    loader = DataLoader(PairedImageDataset(train, SMALL, (3, 3)), batch_size=1, num_workers=1, collate_fn=collate_pairs)
    with pytest.raises(ValueError, match=r"train/1\.png: cannot decode"):
        list(loader)


def test_skip_bad_images_replaces_and_reports_them(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 3, "test": 1})
    corrupt(root / "train" / "1.png")
    train = load_splits(DataSpec(str(root)))[0]
    batch = collate_pairs([PairedImageDataset(train, SMALL, (3, 3), skip_bad_images=True)[1]])
    assert batch["names"] == [str(root / "train" / "2.png")]
    assert len(batch["skipped"]) == 1 and "1.png" in batch["skipped"][0]


def test_undecodable_bytes_in_a_column_dataset_name_the_row(tmp_path):
    table = pairs_table(3).cast_column("imageB", datasets.Image(decode=False))
    rows = table.to_dict()
    rows["imageB"][2] = {"bytes": b"not an image", "path": "broken.png"}
    broken = datasets.Dataset.from_dict(rows, features=table.features)
    datasets.DatasetDict({"train": broken, "test": broken}).save_to_disk(str(tmp_path / "saved"))
    train = load_splits(DataSpec(str(tmp_path / "saved")))[0]
    with pytest.raises(ValueError, match=r"\[train\] row 2 column 'imageB' \(broken\.png\): cannot decode"):
        train.load(2)


def test_prepare_converts_a_reference_folder_into_image_columns(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 3, "test": 2})
    result = subprocess.run(
        [sys.executable, "-m", "pix2pix_hub.data.prepare", str(root), "--out", str(tmp_path / "hf")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    converted = datasets.load_from_disk(str(tmp_path / "hf"))
    assert {name: len(split) for name, split in converted.items()} == {"train": 3, "test": 2}
    side_by_side = np.asarray(Image.open(root / "test" / "1.png"))
    assert np.array_equal(np.asarray(converted["test"][1]["imageA"]), side_by_side[:, :32])
    assert np.array_equal(np.asarray(converted["test"][1]["imageB"]), side_by_side[:, 32:])
    train, evaluation, _ = load_splits(DataSpec(str(tmp_path / "hf")))
    assert (len(train), len(evaluation)) == (3, 2)
