"""Pairs as tensors for a DataLoader: decoding and augmentation run in its workers, resumably.

Items are addressed by a *sample key* `epoch * len(pairs) + index`, and each item's augmentation is drawn from a
generator seeded by (seed, key). The sampler yields keys for the whole run, one seeded permutation per epoch, so
what a step sees is a pure function of the seed and the step: resuming a run needs only to skip batches, and
the number of DataLoader workers never changes the data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import torch
from torch.utils.data import Dataset, Sampler

from ..images import image_to_tensor
from .preprocessing import Preprocessing
from .sources import PairSource


def image_channels(pairs: PairSource, skip_bad_images: bool = False) -> tuple[int, int]:
    """Source and target channel counts from the first decodable pair: 1 for grayscale, 3 otherwise (RGBA too)."""
    for index in range(len(pairs)):
        try:
            source, target = pairs.load(index)
        except ValueError:
            if skip_bad_images:
                continue
            raise
        return tuple(1 if image.mode in ("1", "L", "LA", "I", "I;16", "F") else 3 for image in (source, target))
    raise ValueError("no pair of the dataset could be decoded")


class PairedImageDataset(Dataset):
    """(source, target) tensors in [-1, 1]; `augment=False` gives the deterministic evaluation view."""

    def __init__(
        self,
        pairs: PairSource,
        preprocessing: Preprocessing,
        channels: tuple[int, int],
        seed: int = 0,
        augment: bool = True,
        skip_bad_images: bool = False,
    ):
        if len(pairs) == 0:
            raise ValueError("the dataset has no pairs")
        self.pairs, self.channels, self.seed = pairs, channels, seed
        self.preprocessing = preprocessing if augment else preprocessing.for_evaluation()
        self.augment, self.skip_bad_images = augment, skip_bad_images

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: int) -> dict:
        skipped = []
        for attempt in range(len(self.pairs)):  # with --skip_bad_images, a bad pair is replaced by the next one
            index = (key + attempt) % len(self.pairs)
            try:
                images = self.pairs.load(index)  # (source, target) or (source, target, instance map)
            except ValueError as error:
                if not self.skip_bad_images:
                    raise
                skipped.append(str(error))
                continue
            rng = random.Random(f"{self.seed}-{key}") if self.augment else None
            tensors = self.tensors(self.preprocessing.apply(list(images), rng))
            return tensors | {"name": self.pairs.name(index), "skipped": skipped}
        raise ValueError(f"no pair of the dataset could be decoded; for example: {skipped[0]}")

    def tensors(self, images: list) -> dict[str, torch.Tensor]:
        """Source and target tensors; an instance map (palette ids) joins the source as its last channel."""
        source = image_to_tensor(images[0], self.channels[0] - (len(images) > 2))
        if len(images) > 2:
            source = torch.cat([source, image_to_tensor(images[2], 1)])
        return {"source": source, "target": image_to_tensor(images[1], self.channels[1])}


def collate_pairs(items: list[dict]) -> dict:
    """Stack a batch; images of different sizes (possible without cropping) need --batch_size 1."""
    shapes = {tuple(item["source"].shape) for item in items}
    if len(shapes) > 1:
        raise ValueError(
            f"images in one batch have different sizes {sorted(shapes)} ({', '.join(item['name'] for item in items)});"
            " use a cropping --preprocess or --batch_size 1"
        )
    return {
        "source": torch.stack([item["source"] for item in items]),
        "target": torch.stack([item["target"] for item in items]),
        "names": [item["name"] for item in items],
        "skipped": [reason for item in items for reason in item["skipped"]],
    }


class EpochSampler(Sampler[int]):
    """Sample keys for `epochs` passes over `length` items, a permutation seeded by (seed, epoch) each pass
    (`shuffle=False`: in order, the reference's --serial_batches)."""

    def __init__(self, length: int, epochs: int, seed: int, shuffle: bool = True):
        self.length, self.epochs, self.seed, self.shuffle = length, epochs, seed, shuffle

    def __len__(self) -> int:
        return self.length * self.epochs

    def __iter__(self) -> Iterator[int]:
        for epoch in range(self.epochs):
            order = (
                torch.randperm(self.length, generator=torch.Generator().manual_seed(self.seed + epoch))
                if self.shuffle
                else torch.arange(self.length)
            )
            yield from (epoch * self.length + order).tolist()
