"""Score a generated video against the real one: per-frame L1, PSNR, SSIM, realism and how much consecutive frames
change.

A video generated frame by frame can match each real frame on average and still flicker; the mean absolute change
between consecutive frames, set beside the real video's, says how much (Everybody Dance Now's temporal smoothing).
Realism (`realism.py`) compares the generated frames with the real ones as it compares images (its docstring says
why the halves are shuffled for a video too).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..images import tensor_to_image
from ..inference.sequence import generate_sequence
from .evaluate import Evaluation, sample_grid
from .metrics import mean_metrics, pair_metrics
from .realism import realism

GRID_FRAMES = 4  # rows of the samples grid: source | generated | real, spread over the sequence


def temporal_change(images: list[Image.Image]) -> float:
    """The mean absolute difference between consecutive frames (8-bit RGB scaled to [0, 1]); 0 for one frame."""
    arrays = [np.asarray(image.convert("RGB"), dtype=np.float64) / 255 for image in images]
    return float(np.mean([np.abs(b - a).mean() for a, b in zip(arrays, arrays[1:], strict=False)] or [0.0]))


def sequence_metrics(outputs: list[Image.Image], reals: list[Image.Image]) -> dict[str, float]:
    """Mean L1, PSNR, SSIM per frame, realism (from 2 frames on), and the temporal change of the generated and of the
    real sequence."""
    metrics = mean_metrics([pair_metrics(output, real) for output, real in zip(outputs, reals, strict=True)])
    if len(outputs) >= 2:
        metrics |= realism(outputs, reals).metrics()
    return metrics | {"temporal_change": temporal_change(outputs), "temporal_change_real": temporal_change(reals)}


def score_sequence(sources: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> Evaluation:
    """The metrics of a generated sequence (T, C, H, W tensors in [-1, 1]) and a grid of frames across it."""
    generated = [tensor_to_image(frame) for frame in outputs.cpu()]
    reals = [tensor_to_image(frame) for frame in targets.cpu()]
    count = len(generated)
    picked = [i * (count - 1) // max(GRID_FRAMES - 1, 1) for i in range(min(GRID_FRAMES, count))]
    grid = sample_grid([(tensor_to_image(sources[i].cpu()), generated[i], reals[i]) for i in picked])
    return Evaluation(sequence_metrics(generated, reals), count, grid)


@torch.no_grad()
def evaluate_sequence(generator: torch.nn.Module, sources: torch.Tensor, targets: torch.Tensor, device) -> Evaluation:
    """A video generated from `sources` (T, C, H, W) in order on `device`, each frame from the one before it, scored
    against `targets` (`score_sequence`)."""
    generator = generator.to(device).eval()
    outputs = generate_sequence(generator, sources.to(device))
    generator.cpu()
    return score_sequence(sources, outputs, targets)
