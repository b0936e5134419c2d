"""Consecutive frames of a video as training pairs: (pose_t, pose_t+1, frame_t, frame_t+1), for Everybody Dance Now.

Any paired source whose items are the frames of one video in order (a folder of side-by-side pose|frame images
named in time order, `A/` and `B/` folders, a 🤗 dataset in row order) is a sequence: item i and item i+1 are
neighbours in time. Both frames of a pair take the same augmentation draw, so the motion between them is the
video's and not the augmentation's.
"""

from __future__ import annotations

import random

import torch
from torch.utils.data import Dataset

from ..images import image_to_tensor
from .pairs import PairSource
from .preprocessing import Preprocessing


class ConsecutiveFrames(Dataset):
    """Item i: the pose and frame tensors of time steps i and i+1 of `frames` (len(frames) - 1 items)."""

    def __init__(self, frames: PairSource, preprocessing: Preprocessing, seed: int = 0, augment: bool = True):
        if len(frames) < 2:
            raise ValueError(f"a sequence needs at least 2 frames to make a consecutive pair, got {len(frames)}")
        self.frames, self.seed, self.augment = frames, seed, augment
        self.preprocessing = preprocessing if augment else preprocessing.for_evaluation()

    def __len__(self) -> int:
        return len(self.frames) - 1

    def __getitem__(self, key: int) -> dict:
        index = key % len(self)
        pose, frame = self.frames.load(index)
        next_pose, next_frame = self.frames.load(index + 1)
        rng = random.Random(f"{self.seed}-{key}") if self.augment else None
        images = self.preprocessing.apply([pose, frame, next_pose, next_frame], rng)
        pose, frame, next_pose, next_frame = (image_to_tensor(image, 3) for image in images)
        return {
            "source": pose,
            "target": frame,
            "next_source": next_pose,
            "next_target": next_frame,
            "name": f"{self.frames.name(index)} -> {self.frames.stem(index + 1)}",
        }


def collate_frame_pairs(items: list[dict]) -> dict:
    """Stack a batch of consecutive pairs (same keys as the items, names as a list)."""
    keys = ("source", "target", "next_source", "next_target")
    batch = {key: torch.stack([item[key] for item in items]) for key in keys}
    return batch | {"names": [item["name"] for item in items], "skipped": []}


class SequenceFrames(Dataset):
    """The frames of a sequence one by one, in order, deterministically preprocessed (evaluation, video)."""

    def __init__(self, frames: PairSource, preprocessing: Preprocessing):
        self.frames, self.preprocessing = frames, preprocessing.for_evaluation()

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> dict:
        pose, frame = self.preprocessing.apply(list(self.frames.load(index)), None)
        return {
            "source": image_to_tensor(pose, 3),
            "target": image_to_tensor(frame, 3),
            "name": self.frames.name(index),
        }
