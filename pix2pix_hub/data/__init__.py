"""Paired image data for training and evaluation: sources, the paper's preprocessing, DataLoader pieces.

Names load on first use, so the flags (`data.arguments`) are importable without torch or 🤗 datasets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dataset import EpochSampler, PairedImageDataset, collate_pairs, image_channels
    from .pairs import PairSource
    from .preprocessing import PREPROCESS_MODES, Preprocessing
    from .sources import DIRECTIONS, DataSpec, Subset, load_splits

_HOME = {
    "EpochSampler": ".dataset",
    "PairedImageDataset": ".dataset",
    "collate_pairs": ".dataset",
    "image_channels": ".dataset",
    "PREPROCESS_MODES": ".preprocessing",
    "Preprocessing": ".preprocessing",
    "DIRECTIONS": ".sources",
    "DataSpec": ".sources",
    "PairSource": ".pairs",
    "Subset": ".sources",
    "load_splits": ".sources",
}
__all__ = [
    "DIRECTIONS",
    "PREPROCESS_MODES",
    "DataSpec",
    "EpochSampler",
    "PairSource",
    "PairedImageDataset",
    "Preprocessing",
    "Subset",
    "collate_pairs",
    "image_channels",
    "load_splits",
]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'pix2pix_hub.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name], __name__), name)
