"""Unpaired images (CycleGAN): two domains read independently, and a fresh random pairing of them per sample.

Sources, in the order they are tried:
- `--dataset_A X --dataset_B Y`: two image collections, each a folder of images (with `train/`, `test/` subfolders
  or not) or a 🤗 dataset (`--image_column`, default: its only image column);
- `--dataset ROOT` in the reference's layout: `trainA/ trainB/ testA/ testB/` (or `valA/ valB/`);
- `--dataset` anything the paired reader reads (AB folders, A/ + B/ folders, a 🤗 dataset with two image columns
  such as `huggan/horse2zebra`'s `imageA`/`imageB`): its two sides become the domains, read unaligned.

Training pairs domain A's image `key % len(A)` with a domain-B image drawn by a generator seeded by (seed, key), as
the reference's `unaligned` dataset draws one at random: a new pairing each epoch, reproduced exactly on resume.
"""

from __future__ import annotations

import argparse
import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from ..images import IMAGE_EXTENSIONS, image_files, image_to_tensor, open_image, prepare_image
from .pairs import PairSource, PairView
from .preprocessing import Preprocessing
from .sources import EVAL_SPLIT_PREFERENCE, is_dataset_folder, load_splits, load_table


class ImageSource:
    """Indexable images of one domain."""

    def __len__(self) -> int:
        raise NotImplementedError

    def load(self, index: int) -> Image.Image:
        raise NotImplementedError

    def name(self, index: int) -> str:
        raise NotImplementedError


class ImageFiles(ImageSource):
    def __init__(self, files: list[Path], folder: Path | None = None):
        self.files, self.folder = files, folder  # the folder they were listed from, for error messages

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> Image.Image:
        return open_image(self.files[index])

    def name(self, index: int) -> str:
        return str(self.files[index])


class ImageColumn(ImageSource):
    """One image column of a 🤗 dataset; empty cells (a shorter domain in a two-column table) are left out."""

    def __init__(self, table: datasets.Dataset, column: str, label: str):
        self.table = table.cast_column(column, datasets.Image(decode=False))
        self.column, self.label = column, label
        cells = table.with_format("arrow")[column]  # memory-mapped Arrow: no image bytes are read or decoded here
        self.rows = [row for row, filled in enumerate(cells.is_valid().to_pylist()) if filled]

    def __len__(self) -> int:
        return len(self.rows)

    def load(self, index: int) -> Image.Image:
        value = self.table[self.rows[index]][self.column]
        if value.get("bytes") is None:
            return open_image(value["path"])
        try:
            with Image.open(io.BytesIO(value["bytes"])) as image:
                image.load()
                return prepare_image(image, name=self.name(index))
        except (OSError, Image.DecompressionBombError) as error:
            raise ValueError(f"{self.name(index)}: cannot decode image ({error})") from error

    def name(self, index: int) -> str:
        return f"{self.label} row {self.rows[index]} column {self.column!r}"


class PairSide(ImageSource):
    """One side (0: source, 1: target) of paired data, read as a domain of its own."""

    def __init__(self, pairs: PairSource, side: int):
        self.pairs, self.side = pairs, side

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> Image.Image:
        return self.pairs.load(index)[self.side]

    def name(self, index: int) -> str:
        return f"{self.pairs.name(index)} ({'AB'[self.side] if self.side in (0, 1) else self.side})"


@dataclass
class UnpairedSplits:
    """Train and eval images of both domains; `eval_pairs` when the eval split is aligned (paired metrics apply)."""

    train_a: ImageSource
    train_b: ImageSource
    eval_a: ImageSource
    eval_b: ImageSource
    description: str
    eval_pairs: PairSource | None = None


def _folder_images(folder: Path) -> ImageFiles:
    return ImageFiles(image_files(folder), folder)


def _domain_splits(location: str, args: argparse.Namespace) -> dict[str, ImageSource]:
    """The splits of one domain given on its own (`--dataset_A` or `--dataset_B`)."""
    path = Path(location)
    if path.is_dir() and image_files(path):
        return {"train": _folder_images(path)}
    if path.is_dir() and any(child.is_dir() and image_files(child) for child in path.iterdir()):
        return {child.name: _folder_images(child) for child in path.iterdir() if child.is_dir()}
    if path.is_dir() and not is_dataset_folder(path):
        raise ValueError(f"{location}: no images ({', '.join(IMAGE_EXTENSIONS)}) and no dataset files")
    loaded = datasets.load_dataset(location, cache_dir=args.cache_dir)
    tables = {"train": loaded} if isinstance(loaded, datasets.Dataset) else dict(loaded)
    splits = {}
    for split, table in tables.items():
        images = [name for name, feature in table.features.items() if isinstance(feature, datasets.Image)]
        column = args.image_column or (images[0] if len(images) == 1 else None)
        if column is None or column not in table.column_names:
            raise ValueError(f"{location} [{split}]: image columns {images}; pass --image_column")
        splits[split] = ImageColumn(table, column, f"{location} [{split}]")
    return splits


def _reference_layout(root: Path) -> dict[str, tuple[ImageSource, ImageSource]]:
    """`trainA/ trainB/ testA/ testB/ ...` folders, by split name (plain `A/ B/` folders are paired data)."""
    splits = {}
    for folder in sorted(root.glob("?*A")):
        partner = root / (folder.name[:-1] + "B")
        if folder.is_dir() and partner.is_dir():
            splits[folder.name[:-1]] = (_folder_images(folder), _folder_images(partner))
    return splits


def _hold_out(source: ImageSource, fraction: float, seed: int) -> tuple[ImageSource, ImageSource]:
    order = np.random.default_rng(seed).permutation(len(source))
    count = max(1, math.ceil(fraction * len(source)))
    if count >= len(source):
        raise ValueError(f"{len(source)} images are too few to hold out an eval split")
    return Subset(source, sorted(order[count:].tolist())), Subset(source, sorted(order[:count].tolist()))


class Subset(ImageSource):
    def __init__(self, source: ImageSource, indices: list[int]):
        self.source, self.indices = source, indices

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, index: int) -> Image.Image:
        return self.source.load(self.indices[index])

    def name(self, index: int) -> str:
        return self.source.name(self.indices[index])


def _pick_eval(splits: dict, eval_split: str | None, train_split: str, what: str):
    """The named eval split, else the first of test/validation/val, else None (then one is held out)."""
    if train_split not in splits:
        raise ValueError(f"{what}: no split {train_split!r}; it has {', '.join(sorted(splits))}")
    names = [eval_split] if eval_split else list(EVAL_SPLIT_PREFERENCE)
    return next((name for name in names if name in splits), None)


def load_unpaired(args: argparse.Namespace) -> UnpairedSplits:
    """Both domains' train and eval images, as the flags say (see the module docstring)."""
    if bool(args.dataset_A) != bool(args.dataset_B):
        raise ValueError("pass both --dataset_A and --dataset_B (or --dataset alone)")
    if args.dataset_A:
        domains = [_domain_splits(location, args) for location in (args.dataset_A, args.dataset_B)]
        description = f"domain A {args.dataset_A}, domain B {args.dataset_B}"
    else:
        root = Path(args.dataset)
        layout = _reference_layout(root) if root.is_dir() else {}
        if not layout and root.is_dir() and not is_dataset_folder(root):
            return _paired_read_unaligned(args)
        domains = [{split: pair[side] for split, pair in layout.items()} for side in (0, 1)] if layout else None
        domains = domains or _table_domains(args)
        description = f"domains A and B of splits {', '.join(sorted(domains[0]))}"
    sides = [_train_and_eval(splits, args, f"domain {side}") for splits, side in zip(domains, "AB", strict=True)]
    return _oriented(sides[0], sides[1], None, description, args)


def _table_domains(args: argparse.Namespace) -> list[dict[str, ImageSource]]:
    """A 🤗 dataset with two image columns (e.g. `imageA`, `imageB`), each column a domain, rows not aligned."""
    from .arguments import data_spec

    tables = load_table(data_spec(args))
    domains: list[dict[str, ImageSource]] = [{}, {}]
    for split, table in tables.items():
        columns = [name for name, feature in table.features.items() if isinstance(feature, datasets.Image)]
        if len(columns) != 2:
            raise ValueError(f"{args.dataset} [{split}]: image columns {columns}; use --dataset_A and --dataset_B")
        for side, column in enumerate(columns):
            domains[side][split] = ImageColumn(table, column, f"{args.dataset} [{split}]")
    return domains


def _paired_read_unaligned(args: argparse.Namespace) -> UnpairedSplits:
    """Paired files (AB images, A/ + B/ folders) as two domains; their eval pairs stay aligned for paired metrics."""
    from .arguments import data_spec

    spec = data_spec(args)
    spec = type(spec)(**{**spec.__dict__, "direction": "AtoB"})  # the domains are A and B; direction orients later
    train_pairs, eval_pairs, description = load_splits(spec, args.eval_split)
    train = (PairSide(train_pairs, 0), PairSide(train_pairs, 1))
    evaluation = (PairSide(eval_pairs, 0), PairSide(eval_pairs, 1))
    sides = ((train[0], evaluation[0]), (train[1], evaluation[1]))
    return _oriented(sides[0], sides[1], eval_pairs, description + ", read unaligned", args)


def _train_and_eval(splits: dict, args: argparse.Namespace, what: str) -> tuple[ImageSource, ImageSource]:
    name = _pick_eval(splits, args.eval_split, args.train_split, what)
    used = [args.train_split] if name is None else [args.train_split, name]
    for split in used:
        if len(splits[split]) == 0:
            folder = getattr(splits[split], "folder", None)
            raise ValueError(f"{what}: split {split!r}{f' ({folder})' if folder else ''} has no images")
    if name is not None:
        train, evaluation = splits[args.train_split], splits[name]
    else:
        train, evaluation = _hold_out(splits[args.train_split], args.eval_split_fraction, args.split_seed)
    if args.max_dataset_size and args.max_dataset_size < len(train):  # as the reference: the first N of each domain
        train = Subset(train, list(range(args.max_dataset_size)))
    return train, evaluation


def _oriented(a, b, eval_pairs: PairSource | None, description: str, args: argparse.Namespace) -> UnpairedSplits:
    """Domain X is the source of the exported "AtoB" generator: A, or B with --direction BtoA."""
    if args.direction == "BtoA":
        a, b = b, a
        eval_pairs = None if eval_pairs is None else SwappedPairs(eval_pairs)
    counts = f"{len(a[0])} + {len(b[0])} train images, {len(a[1])} + {len(b[1])} eval images"
    return UnpairedSplits(a[0], b[0], a[1], b[1], f"{description} ({counts})", eval_pairs)


class SwappedPairs(PairView):
    """Pairs with source and target exchanged (--direction BtoA on aligned eval data)."""

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        source, target = self.pairs.load(index)
        return target, source

    @property
    def side_names(self) -> tuple[str, str]:
        return self.pairs.side_names[::-1]


class UnpairedImageDataset(Dataset):
    """{"source": an image of domain A, "target": an unrelated image of domain B}, each augmented on its own."""

    def __init__(
        self,
        domain_a: ImageSource,
        domain_b: ImageSource,
        preprocessing: Preprocessing,
        channels: tuple[int, int],
        seed: int = 0,
        augment: bool = True,
    ):
        if len(domain_a) == 0 or len(domain_b) == 0:
            raise ValueError(f"a domain has no images ({len(domain_a)} in A, {len(domain_b)} in B)")
        self.domains, self.channels, self.seed, self.augment = (domain_a, domain_b), channels, seed, augment
        self.preprocessing = preprocessing if augment else preprocessing.for_evaluation()

    def __len__(self) -> int:
        return max(len(self.domains[0]), len(self.domains[1]))  # as the reference: the larger domain sets an epoch

    def __getitem__(self, key: int) -> dict:
        domain_a, domain_b = self.domains
        rng = random.Random(f"{self.seed}-{key}") if self.augment else None
        index_a = key % len(domain_a)
        index_b = rng.randrange(len(domain_b)) if rng else key % len(domain_b)
        a = self.preprocessing.single(domain_a.load(index_a), rng)
        b = self.preprocessing.single(domain_b.load(index_b), rng)
        return {
            "source": image_to_tensor(a, self.channels[0]),
            "target": image_to_tensor(b, self.channels[1]),
            "name": f"{domain_a.name(index_a)} | {domain_b.name(index_b)}",
            "skipped": [],
        }


class DomainImageDataset(Dataset):
    """The images of one domain as tensors, deterministic (the evaluation view): {"image", "name"}."""

    def __init__(self, domain: ImageSource, preprocessing: Preprocessing, channels: int):
        self.domain, self.channels = domain, channels
        self.preprocessing = preprocessing.for_evaluation()

    def __len__(self) -> int:
        return len(self.domain)

    def __getitem__(self, index: int) -> dict:
        image = self.preprocessing.single(self.domain.load(index), None)
        return {"image": image_to_tensor(image, self.channels), "name": self.domain.name(index)}


def domain_channels(domain: ImageSource) -> int:
    """1 for grayscale images, 3 otherwise (RGBA too), from the domain's first image."""
    return 1 if domain.load(0).mode in ("1", "L", "LA", "I", "I;16", "F") else 3
