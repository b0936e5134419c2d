"""Video from a generator that sees its previous frame (Everybody Dance Now): frames made in order, each fed back."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def generate_sequence(
    generator: nn.Module,
    poses: torch.Tensor,
    previous: torch.Tensor | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Frames for poses (T, 3, H, W) in order, each generated from its pose and the frame generated before it
    (`previous`, default zeros, before the first); `on_frame(t)` is called after each (a progress bar)."""
    frames = []
    previous = torch.zeros_like(poses[:1]) if previous is None else previous
    for index, pose in enumerate(poses):
        previous = generator(torch.cat([pose[None], previous], 1))
        frames.append(previous[0])
        if on_frame is not None:
            on_frame(index)
    return torch.stack(frames)
