"""Unpaired data (CycleGAN): every source kind read from real files, and the resumable random pairing.

Sources: the reference layout (trainA/ trainB/ testA/ testB/), two folders or two 🤗 datasets (--dataset_A,
--dataset_B), one 🤗 dataset with two image columns, and paired data read unaligned. Each domain's images carry its
name in their file name or column, so a test can tell which domain an image came from.
"""

from __future__ import annotations

import io
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_hub.data.preprocessing import Preprocessing
from pix2pix_hub.data.unpaired import ImageFiles, UnpairedImageDataset, load_unpaired
from pix2pix_hub.methods.base import recipe_from_args
from pix2pix_hub.methods.cyclegan import CycleGAN, CycleGANRecipe, UnpairedData
from pix2pix_hub.training.arguments import parse_args
from tests.paired_data import smooth_image, write_ab_folder, write_paired_folders

SIZE = ["--load_size", "36", "--crop_size", "32"]


def write_domain(folder: Path, count: int, seed: int, mode: str = "RGB") -> Path:
    """`count` PNG files named after their folder (trainA/trainA_0.png ...), in the given PIL mode."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.fromarray(smooth_image(seed + index)).convert(mode).save(folder / f"{folder.name}_{index}.png")
    return folder


def write_reference_layout(root: Path, counts: dict[str, int]) -> Path:
    """The reference's unaligned layout: {"trainA": 5, "trainB": 3, ...} -> root/trainA/trainA_0.png ..."""
    for seed, (folder, count) in enumerate(counts.items()):
        write_domain(root / folder, count, 1000 * (seed + 1))
    return root


def png(array: np.ndarray) -> dict:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return {"bytes": buffer.getvalue(), "path": None}


def image_table(columns: dict[str, int], seed: int) -> datasets.Dataset:
    """Image columns of the given lengths (a shorter column is padded with empty cells), plus a label column."""
    rows = max(columns.values())
    data = {
        name: [png(smooth_image(seed + 100 * column + row)) if row < count else None for row in range(rows)]
        for column, (name, count) in enumerate(columns.items())
    }
    features = datasets.Features({name: datasets.Image() for name in columns} | {"label": datasets.Value("string")})
    return datasets.Dataset.from_dict(data | {"label": [f"row {row}" for row in range(rows)]}, features=features)


def save_tables(root: Path, tables: dict[str, datasets.Dataset], form: str) -> Path:
    """A DatasetDict as `save_to_disk` writes it, or as a folder of <split>-00000-of-00001.parquet files."""
    if form == "save_to_disk":
        datasets.DatasetDict(tables).save_to_disk(str(root))
    else:
        root.mkdir(parents=True)
        for split, table in tables.items():
            table.to_parquet(str(root / f"{split}-00000-of-00001.parquet"))
    return root


def arguments(*flags: str) -> object:
    return parse_args(["--method", "cyclegan", *SIZE, *flags])


def names(source) -> list[str]:
    return [source.name(index) for index in range(len(source))]


def datasets_of(args) -> UnpairedData:
    """The run's datasets, as `CycleGAN.build` makes them (the ResNet generators' size multiple is 4)."""
    recipe = recipe_from_args(CycleGANRecipe, args)
    data = CycleGAN().load_data(args, recipe)
    data.make_datasets(args, recipe, 4)
    return data


def test_reference_layout_trains_on_trainA_trainB_and_evaluates_on_testA_testB(tmp_path):
    root = write_reference_layout(tmp_path / "d", {"trainA": 5, "trainB": 3, "testA": 2, "testB": 1})
    splits = load_unpaired(arguments("--dataset", str(root)))
    for source, folder, count in (
        (splits.train_a, "trainA", 5),
        (splits.train_b, "trainB", 3),
        (splits.eval_a, "testA", 2),
        (splits.eval_b, "testB", 1),
    ):
        assert names(source) == [str(root / folder / f"{folder}_{index}.png") for index in range(count)]
    assert splits.eval_pairs is None
    assert "5 + 3 train images, 2 + 1 eval images" in splits.description


def test_domains_of_different_sizes_make_an_epoch_of_the_larger_one_and_draw_from_all_of_the_other(tmp_path):
    root = write_reference_layout(tmp_path / "d", {"trainA": 2, "trainB": 7, "testA": 1, "testB": 1})
    train = datasets_of(arguments("--dataset", str(root))).train
    assert len(train) == 7  # as the reference: max(len(A), len(B))
    pairs = [train[key]["name"].split(" | ") for key in range(5 * len(train))]
    assert [a for a, _ in pairs[:7]] == [str(root / "trainA" / f"trainA_{key % 2}.png") for key in range(7)]
    assert {b for _, b in pairs} == {str(root / "trainB" / f"trainB_{index}.png") for index in range(7)}


def test_two_plain_folders_with_or_without_split_subfolders(tmp_path):
    write_domain(tmp_path / "apples", 6, 100)  # flat: all train, an eval split is held out
    for split, count in (("train", 4), ("test", 2)):
        write_domain(tmp_path / "oranges" / split, count, 200 + 10 * count)
    splits = load_unpaired(arguments("--dataset_A", str(tmp_path / "apples"), "--dataset_B", str(tmp_path / "oranges")))
    assert len(splits.train_a) + len(splits.eval_a) == 6 and len(splits.eval_a) == 1  # 10% of 6, at least one
    assert names(splits.train_b) == [str(tmp_path / "oranges" / "train" / f"train_{i}.png") for i in range(4)]
    assert names(splits.eval_b) == [str(tmp_path / "oranges" / "test" / f"test_{i}.png") for i in range(2)]
    assert "domain A " + str(tmp_path / "apples") in splits.description


@pytest.mark.parametrize("form", ["save_to_disk", "parquet"])
def test_two_hub_datasets_each_a_domain_chosen_by_image_column(tmp_path, form):
    for name, seed in (("horses", 300), ("zebras", 400)):
        tables = {"train": image_table({"photo": 4, "sketch": 4}, seed), "test": image_table({"photo": 2}, seed + 50)}
        save_tables(tmp_path / name, tables, form)
    flags = ["--dataset_A", str(tmp_path / "horses"), "--dataset_B", str(tmp_path / "zebras")]
    with pytest.raises(ValueError, match=r"horses \[train\]: image columns \['photo', 'sketch'\]; pass --image_column"):
        load_unpaired(arguments(*flags))

    data = datasets_of(arguments(*flags, "--image_column", "photo"))
    splits = data.splits
    assert [len(source) for source in (splits.train_a, splits.train_b, splits.eval_a, splits.eval_b)] == [4, 4, 2, 2]
    assert splits.train_a.name(3) == f"{tmp_path / 'horses'} [train] row 3 column 'photo'"
    expected = Image.fromarray(smooth_image(400 + 2)).resize((36, 36), Image.Resampling.BICUBIC)
    assert np.array_equal(np.asarray(splits.train_b.load(2).resize((36, 36), Image.Resampling.BICUBIC)), expected)
    assert data.eval_b[1]["image"].shape == (3, 32, 32)


def test_one_dataset_with_two_image_columns_of_different_lengths_leaves_out_empty_cells(tmp_path):
    """As huggan/horse2zebra: imageA and imageB columns, the shorter domain padded with empty cells."""
    tables = {
        "train": image_table({"imageA": 5, "imageB": 3}, 500),
        "test": image_table({"imageA": 1, "imageB": 2}, 600),
    }
    root = save_tables(tmp_path / "horse2zebra", tables, "parquet")
    data = datasets_of(arguments("--dataset", str(root)))
    splits = data.splits
    assert [len(source) for source in (splits.train_a, splits.train_b, splits.eval_a, splits.eval_b)] == [5, 3, 1, 2]
    assert names(splits.train_b) == [f"{root} [train] row {row} column 'imageB'" for row in range(3)]
    assert len(data.train) == 5
    drawn = {data.train[key]["name"].split(" | ")[1] for key in range(40)}
    assert drawn == set(names(splits.train_b))  # never an empty cell


def test_paired_ab_images_are_read_unaligned_and_their_eval_pairs_stay_aligned(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 6, "test": 2})
    data = datasets_of(arguments("--dataset", str(root)))
    assert "read unaligned" in data.description
    train_names = [data.train[key]["name"] for key in range(12)]
    a_files = [name.split(" | ")[0].split(" (")[0] for name in train_names]
    b_files = [name.split(" | ")[1].split(" (")[0] for name in train_names]
    assert a_files[:6] == [str(root / "train" / f"{index}.png") for index in range(6)]
    assert a_files != b_files  # a random B, not the pair's own
    pair = data.eval_pairs[1]  # aligned: B is the inverted A of the same file
    torch.testing.assert_close(pair["target"], -pair["source"], atol=1e-6, rtol=0)
    assert len(data.eval_a) == len(data.eval_b) == 2


def test_paired_a_and_b_folders_are_read_unaligned(tmp_path):
    root = write_paired_folders(tmp_path / "pairs", 5)
    splits = load_unpaired(arguments("--dataset", str(root), "--eval_split_fraction", "0.2"))
    assert len(splits.train_a) == len(splits.train_b) == 4 and len(splits.eval_pairs) == 1
    assert splits.train_a.name(0).endswith("(A)") and splits.train_b.name(0).endswith("(B)")


def test_grayscale_and_rgba_domains_have_the_channels_of_their_images(tmp_path):
    write_domain(tmp_path / "d" / "trainA", 3, 700, mode="L")
    write_domain(tmp_path / "d" / "trainB", 3, 800, mode="RGBA")
    args = arguments("--dataset", str(tmp_path / "d"), "--lambda_identity", "0")
    data = datasets_of(args)
    assert data.channels == (1, 3)
    sample = data.train[0]
    assert sample["source"].shape == (1, 32, 32) and sample["target"].shape == (3, 32, 32)
    state = CycleGAN().build_networks(recipe_from_args(CycleGANRecipe, args), data.channels, args)
    assert state.modules["generator_A"].in_channels == 1 and state.modules["generator_B"].out_channels == 1

    identity = arguments("--dataset", str(tmp_path / "d"))
    with pytest.raises(ValueError, match=r"identity loss needs domains with equal channels \(1 vs 3\)"):
        CycleGAN().build_networks(recipe_from_args(CycleGANRecipe, identity), data.channels, identity)


def test_direction_btoa_swaps_the_domains_and_the_eval_pairs(tmp_path):
    root = write_reference_layout(tmp_path / "d", {"trainA": 4, "trainB": 3, "testA": 1, "testB": 2})
    splits = load_unpaired(arguments("--dataset", str(root), "--direction", "BtoA"))
    assert names(splits.train_a) == [str(root / "trainB" / f"trainB_{index}.png") for index in range(3)]
    assert len(splits.train_b) == 4 and len(splits.eval_a) == 2

    paired = datasets_of(
        arguments("--dataset", str(write_ab_folder(tmp_path / "ab", {"train": 3, "test": 1})), "--direction", "BtoA")
    )
    pair = paired.eval_pairs[0]
    torch.testing.assert_close(pair["source"], paired.eval_a[0]["image"])  # the source is now the B side
    assert paired.eval_a[0]["name"].endswith("(B)")


def test_max_dataset_size_keeps_the_first_n_images_of_each_domain(tmp_path):
    root = write_reference_layout(tmp_path / "d", {"trainA": 5, "trainB": 6, "testA": 2, "testB": 2})
    splits = load_unpaired(arguments("--dataset", str(root), "--max_dataset_size", "3"))
    assert names(splits.train_a) == [str(root / "trainA" / f"trainA_{index}.png") for index in range(3)]
    assert names(splits.train_b) == [str(root / "trainB" / f"trainB_{index}.png") for index in range(3)]
    assert len(splits.eval_a) == len(splits.eval_b) == 2  # evaluation is not cut


def test_without_an_eval_split_one_is_held_out_of_each_domain_by_the_split_seed(tmp_path):
    root = write_reference_layout(tmp_path / "d", {"trainA": 10, "trainB": 8})
    splits = load_unpaired(arguments("--dataset", str(root), "--eval_split_fraction", "0.3"))
    for train, held_out, count in ((splits.train_a, splits.eval_a, 10), (splits.train_b, splits.eval_b, 8)):
        assert len(held_out) == int(np.ceil(0.3 * count))
        assert set(names(train)).isdisjoint(names(held_out)) and len(train) + len(held_out) == count
    again = load_unpaired(arguments("--dataset", str(root), "--eval_split_fraction", "0.3"))
    other = load_unpaired(arguments("--dataset", str(root), "--eval_split_fraction", "0.3", "--split_seed", "1"))
    assert names(again.eval_a) == names(splits.eval_a) != names(other.eval_a)


def test_only_one_of_dataset_a_and_dataset_b_is_refused_in_plain_words(tmp_path, capsys):
    write_domain(tmp_path / "apples", 2, 0)
    with pytest.raises(SystemExit):
        arguments("--dataset_A", str(tmp_path / "apples"))
    error = capsys.readouterr().err
    assert "pass --dataset" in error and "or both --dataset_A and --dataset_B" in error
    with pytest.raises(ValueError, match=r"pass both --dataset_A and --dataset_B \(or --dataset alone\)"):
        load_unpaired(arguments("--dataset", str(tmp_path), "--dataset_B", str(tmp_path / "apples")))


def test_a_domain_without_images_is_named_in_the_error(tmp_path):
    root = write_reference_layout(tmp_path / "d", {"trainA": 3, "trainB": 0, "testA": 1, "testB": 1})
    with pytest.raises(ValueError, match=r"domain B: split 'train' .*trainB.* has no images"):
        datasets_of(arguments("--dataset", str(root)))

    write_domain(tmp_path / "apples", 2, 0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty: no images .* and no dataset files"):
        load_unpaired(arguments("--dataset_A", str(tmp_path / "apples"), "--dataset_B", str(tmp_path / "empty")))


def test_random_pairing_is_new_each_epoch_and_the_same_for_the_same_seed_and_key(tmp_path):
    domain_a = ImageFiles(sorted(write_domain(tmp_path / "A", 4, 0).iterdir()))
    domain_b = ImageFiles(sorted(write_domain(tmp_path / "B", 6, 50).iterdir()))
    look = Preprocessing(load_size=36, crop_size=32)

    def epochs(seed: int, count: int = 2) -> list[list[str]]:
        dataset = UnpairedImageDataset(domain_a, domain_b, look, (3, 3), seed)
        return [[dataset[epoch * len(dataset) + i]["name"] for i in range(len(dataset))] for epoch in range(count)]

    first, second = epochs(seed=0)
    assert first != second  # a fresh pairing (the sampler's keys grow with the epoch)
    assert epochs(seed=0) == [first, second] and epochs(seed=1)[0] != first
    resumed = UnpairedImageDataset(domain_a, domain_b, look, (3, 3), 0)[len(first) + 3]  # a resumed run's key
    original = UnpairedImageDataset(domain_a, domain_b, look, (3, 3), 0)[len(first) + 3]
    assert resumed["name"] == second[3]
    assert torch.equal(resumed["source"], original["source"]) and torch.equal(resumed["target"], original["target"])
