"""Where paired images come from: a Hub dataset, a `save_to_disk` folder, parquet files, or a folder of images.

Every source is a `PairSource`: `len(source)` pairs, `source.load(i)` decodes pair i as (source, target) PIL
images and `source.name(i)` says where it came from, for error messages. Nothing is decoded before `load`, so
decoding happens in DataLoader workers.

Folder layouts:
- the reference "AB" layout: `train/`, `val/`, `test/` of side-by-side images, A on the left half, B on the right
  (or such images directly in the folder: one `train` split);
- two folders `A/` and `B/` paired by file name (optionally `A/train`, `B/train`, ... per split).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import datasets
import numpy as np
from PIL import Image

from ..images import IMAGE_EXTENSIONS, image_files, open_image, prepare_image
from .arguments import DIRECTIONS
from .pairs import PairSource

T = TypeVar("T")
EVAL_SPLIT_PREFERENCE = ("test", "validation", "val")  # the first one present is evaluated on


@dataclass(frozen=True)
class DataSpec:
    """What to read: the `--dataset` argument and the flags that say how its pairs are laid out."""

    dataset: str
    dataset_config: str | None = None
    direction: str = "AtoB"
    source_column: str | None = None
    target_column: str | None = None
    train_split: str = "train"
    eval_split_fraction: float = 0.1  # held out of the train split when the dataset has no eval split
    split_seed: int = 0
    cache_dir: str | None = None


class ABPairs(PairSource):
    """Pairs whose sides are called A and B; `direction` says which one is the source."""

    direction: str

    def orient(self, a: T, b: T) -> tuple[T, T]:
        return (a, b) if self.direction == "AtoB" else (b, a)

    @property
    def side_names(self) -> tuple[str, str]:
        return self.orient("A", "B")


class SideBySideFiles(ABPairs):
    """Reference "AB" images: A is the left half, B the right half."""

    def __init__(self, files: Sequence[Path], direction: str):
        self.files, self.direction = list(files), direction

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        image = open_image(self.files[index])
        width, height = image.size
        if width < 2:
            raise ValueError(f"{self.files[index]}: {width}x{height} is too narrow to hold an A|B pair side by side")
        return self.orient(image.crop((0, 0, width // 2, height)), image.crop((width // 2, 0, width, height)))

    def name(self, index: int) -> str:
        return str(self.files[index])

    def stem(self, index: int) -> str:
        return self.files[index].stem


class PairedFiles(ABPairs):
    """Two folders of images with the same file names (extensions may differ)."""

    def __init__(self, a_files: Sequence[Path], b_files: Sequence[Path], direction: str):
        self.a_files, self.b_files, self.direction = list(a_files), list(b_files), direction

    def __len__(self) -> int:
        return len(self.a_files)

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        return self.orient(open_image(self.a_files[index]), open_image(self.b_files[index]))

    def name(self, index: int) -> str:
        return f"{self.a_files[index]} + {self.b_files[index]}"

    def stem(self, index: int) -> str:
        return self.a_files[index].stem


class ColumnPairs(PairSource):
    """Two image columns of a 🤗 `datasets.Dataset`; images are decoded here so a bad one is named."""

    def __init__(self, table: datasets.Dataset, source_column: str, target_column: str, label: str):
        self.table = table.cast_column(source_column, datasets.Image(decode=False)).cast_column(
            target_column, datasets.Image(decode=False)
        )
        self.source_column, self.target_column, self.label = source_column, target_column, label

    def __len__(self) -> int:
        return len(self.table)

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        row = self.table[index]
        return (
            self._decode(row[self.source_column], index, self.source_column),
            self._decode(row[self.target_column], index, self.target_column),
        )

    def _decode(self, value: dict | None, index: int, column: str) -> Image.Image:
        name = f"{self.name(index)} column {column!r}" + (f" ({value['path']})" if value and value.get("path") else "")
        if value is None:
            raise ValueError(f"{name}: no image")
        if value.get("bytes") is None:
            return open_image(value["path"])
        try:
            with Image.open(io.BytesIO(value["bytes"])) as image:
                image.load()
                return prepare_image(image, name=name)
        except (OSError, Image.DecompressionBombError) as error:  # UnidentifiedImageError is an OSError
            raise ValueError(f"{name}: cannot decode image ({error})") from error

    def name(self, index: int) -> str:
        return f"{self.label} row {index}"

    def stem(self, index: int) -> str:
        return f"row{index:06d}"

    @property
    def side_names(self) -> tuple[str, str]:
        return self.source_column, self.target_column


class Subset(PairSource):
    """Some rows of another source (a held-out split, or what is left of the train split)."""

    def __init__(self, source: PairSource, indices: Sequence[int]):
        self.source, self.indices = source, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        return self.source.load(self.indices[index])

    def name(self, index: int) -> str:
        return self.source.name(self.indices[index])

    def stem(self, index: int) -> str:
        return self.source.stem(self.indices[index])

    @property
    def side_names(self) -> tuple[str, str]:
        return self.source.side_names


def load_splits(spec: DataSpec, eval_split: str | None = None) -> tuple[PairSource, PairSource, str]:
    """The train and eval pairs of `spec` and a line describing them.

    `eval_split=None` picks the first of test/validation/val that exists. When the asked-for eval split does not
    exist it is held out of `spec.train_split` (`eval_split_fraction` of it, chosen with `split_seed`), and the
    train split loses those rows, so training and `pix2pix_hub.evaluate` agree on which pairs are held out.
    """
    if spec.direction not in DIRECTIONS:
        raise ValueError(f"direction={spec.direction!r} is not supported; choose AtoB or BtoA")
    splits = open_splits(spec)
    if spec.train_split not in splits:
        raise ValueError(f"{spec.dataset}: no split {spec.train_split!r}; it has {', '.join(sorted(splits))}")
    if eval_split is None:
        eval_split = next((name for name in EVAL_SPLIT_PREFERENCE if name in splits), EVAL_SPLIT_PREFERENCE[0])
    train = splits[spec.train_split]
    if eval_split in splits:
        description = f"train split {spec.train_split!r} ({len(train)} pairs), eval split {eval_split!r}"
        return train, splits[eval_split], description + f" ({len(splits[eval_split])} pairs)"
    if not 0 < spec.eval_split_fraction < 1:
        raise ValueError(
            f"{spec.dataset}: no split {eval_split!r} (it has {', '.join(sorted(splits))}); "
            "pass --eval_split_fraction between 0 and 1 to hold one out of the train split"
        )
    order = np.random.default_rng(spec.split_seed).permutation(len(train))
    held_out = max(1, math.ceil(spec.eval_split_fraction * len(train)))
    if held_out >= len(train):
        raise ValueError(f"{spec.dataset}: {len(train)} pairs are too few to hold out an eval split")
    eval_pairs = Subset(train, sorted(order[:held_out].tolist()))
    train_pairs = Subset(train, sorted(order[held_out:].tolist()))
    description = (
        f"train split {spec.train_split!r} ({len(train_pairs)} pairs); eval split {eval_split!r} held out of it "
        f"({len(eval_pairs)} pairs: fraction {spec.eval_split_fraction}, split seed {spec.split_seed})"
    )
    return train_pairs, eval_pairs, description


def open_splits(spec: DataSpec) -> dict[str, PairSource]:
    """Every split of the dataset, by name, without the eval hold-out (see `load_splits`)."""
    path = Path(spec.dataset)
    if path.is_dir() and (path / "A").is_dir() and (path / "B").is_dir():
        return _paired_folders(path, spec.direction)
    if path.is_dir() and not is_dataset_folder(path):
        side_by_side = {
            child.name: SideBySideFiles(image_files(child), spec.direction)
            for child in sorted(path.iterdir())
            if child.is_dir() and image_files(child)
        }
        if not side_by_side and image_files(path):  # AB images directly in the folder: one train split
            side_by_side = {"train": SideBySideFiles(image_files(path), spec.direction)}
        if side_by_side:
            return side_by_side
    return {name: _column_pairs(table, spec, name) for name, table in load_table(spec).items()}


def is_dataset_folder(path: Path) -> bool:
    """A `save_to_disk` folder or any folder of data files `datasets.load_dataset` reads (parquet, arrow...)."""
    return (
        (path / "dataset_dict.json").is_file()
        or (path / "state.json").is_file()
        or any(path.rglob("*.parquet"))
        or any(path.rglob("*.arrow"))
    )


def looks_like_a_path(dataset: str) -> bool:
    """A name no Hub id can be (ids are `name` or `org/name`): `../data/facades`, `/data/x`, `~/x`, `a/b/c`."""
    return dataset.startswith((".", "/", "~")) or dataset.count("/") > 1 or "\\" in dataset


def load_table(spec: DataSpec) -> dict[str, datasets.Dataset]:
    path = Path(spec.dataset)
    if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
        loaded = datasets.load_from_disk(str(path))
    elif path.is_file() and path.suffix == ".parquet":
        loaded = datasets.load_dataset("parquet", data_files=str(path), cache_dir=spec.cache_dir)
    elif not path.exists() and looks_like_a_path(spec.dataset):
        raise FileNotFoundError(
            f"{spec.dataset}: no such folder ({path.resolve()}). --dataset takes a folder of pairs on this machine "
            "(layouts: README, Training data) or a 🤗 dataset id such as huggan/facades"
        )
    else:  # a Hub id (`huggan/facades`) or a local folder of data files
        loaded = datasets.load_dataset(spec.dataset, spec.dataset_config, cache_dir=spec.cache_dir)
    if isinstance(loaded, datasets.Dataset):
        return {"train": loaded}
    return dict(loaded)


def _column_pairs(table: datasets.Dataset, spec: DataSpec, split: str) -> ColumnPairs:
    image_columns = [name for name, feature in table.features.items() if isinstance(feature, datasets.Image)]
    source, target = spec.source_column, spec.target_column
    if source is None or target is None:
        if len(image_columns) != 2:
            raise ValueError(
                f"{spec.dataset}: found image columns {image_columns}; pass --source_column and --target_column"
            )
        a, b = image_columns
        default_source, default_target = (a, b) if spec.direction == "AtoB" else (b, a)
        source, target = source or default_source, target or default_target
    for column in (source, target):
        if column not in table.column_names:
            raise ValueError(f"{spec.dataset} [{split}]: no column {column!r}; it has {', '.join(table.column_names)}")
    return ColumnPairs(table, source, target, label=f"{spec.dataset} [{split}]")


def _paired_folders(root: Path, direction: str) -> dict[str, PairSource]:
    split_names = sorted(child.name for child in (root / "A").iterdir() if child.is_dir())
    if not split_names:
        return {"train": _pair_by_name(root / "A", root / "B", direction)}
    return {name: _pair_by_name(root / "A" / name, root / "B" / name, direction) for name in split_names}


def _pair_by_name(a_folder: Path, b_folder: Path, direction: str) -> PairedFiles:
    a_files = {p.stem: p for p in image_files(a_folder)} if a_folder.is_dir() else {}
    b_files = {p.stem: p for p in image_files(b_folder)} if b_folder.is_dir() else {}
    unpaired = sorted(set(a_files) ^ set(b_files))
    if unpaired:
        examples = ", ".join((a_files.get(stem) or b_files[stem]).as_posix() for stem in unpaired[:5])
        raise ValueError(
            f"{a_folder} and {b_folder}: {len(unpaired)} images have no partner of the same name ({examples})"
        )
    if not a_files:
        raise ValueError(f"{a_folder}: no images ({', '.join(IMAGE_EXTENSIONS)})")
    stems = sorted(a_files)
    return PairedFiles([a_files[s] for s in stems], [b_files[s] for s in stems], direction)
