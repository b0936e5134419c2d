"""Paired image data for training and evaluation: sources, the paper's preprocessing, DataLoader pieces."""

from .dataset import EpochSampler, PairedImageDataset, collate_pairs, image_channels
from .preprocessing import PREPROCESS_MODES, Preprocessing
from .sources import DIRECTIONS, DataSpec, PairSource, load_splits

__all__ = [
    "DIRECTIONS",
    "PREPROCESS_MODES",
    "DataSpec",
    "EpochSampler",
    "PairSource",
    "PairedImageDataset",
    "Preprocessing",
    "collate_pairs",
    "image_channels",
    "load_splits",
]
