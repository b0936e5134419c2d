"""Scores of a generator that can give many outputs for one input (BicycleGAN's, or pix2pix with its noise).

- `sample_diversity`: the paper's diversity measure (Sec. 4.1, "average distance between random samples of one
  input"), with a distance that needs no downloaded weights: the mean absolute difference of two 8-bit outputs in
  [0, 1] (the paper used LPIPS on AlexNet features, not available offline). `samples` outputs per input, every pair.
- `real_diversity`: the same distance between groups of real targets (the variety of the data itself, the ceiling).
- `encoded_scores`: L1/PSNR/SSIM of G(source, E(target)'s mean) against the target: how well the code of a real
  photo reproduces it (the paper's reconstruction, "encode" mode of the reference's test.py).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data import collate_pairs
from ..images import tensor_to_image
from ..inference.runner import Runner
from ..networks import LATENT
from .metrics import mean_metrics, pair_metrics


def _unit(image: torch.Tensor) -> np.ndarray:
    """A [-1, 1] tensor as the 8-bit image it saves as, in [0, 1]."""
    return np.asarray(tensor_to_image(image), dtype=np.float32) / 255.0


def mean_pairwise_distance(images: list[np.ndarray]) -> float:
    """The mean absolute difference over every pair of `images` (each in [0, 1])."""
    pairs = list(itertools.combinations(images, 2))
    if not pairs:
        raise ValueError("the diversity of fewer than 2 images is undefined")
    return float(np.mean([np.abs(first - second).mean() for first, second in pairs]))


def _first(dataset: Dataset, limit: int | None) -> list:
    """The first `limit` samples (all without one), by index: a dataset's own iteration may not stop at its end."""
    return [dataset[index] for index in range(min(limit or len(dataset), len(dataset)))]


def sample_diversity(
    generator: nn.Module,
    dataset: Dataset,
    device: torch.device | str | None = None,
    samples: int = 10,
    limit: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """{"diversity_l1": the mean distance between `samples` outputs of each source, averaged over sources}.

    Each source runs `samples` times in one batch with the seed of its index: a generator with a latent code
    gets one code per row, a "paper"-mode model one dropout mask per row, an "eval"-mode one nothing (0).
    """
    runner = Runner(generator, device, backend="torch")
    distances = []
    for index, pair in enumerate(_first(dataset, limit)):
        repeated = pair["source"][None].expand(samples, *pair["source"].shape).contiguous()
        outputs = runner.run({"source": repeated}, seed=seed + index)
        distances.append(mean_pairwise_distance([_unit(output) for output in outputs.cpu()]))
    return {"diversity_l1": float(np.mean(distances))}


def real_diversity(dataset: Dataset, samples: int = 10, limit: int | None = None) -> dict[str, float]:
    """{"diversity_l1": the same distance between consecutive groups of `samples` real targets}."""
    targets = [_unit(pair["target"]) for pair in _first(dataset, limit)]
    groups = [targets[start : start + samples] for start in range(0, len(targets) - samples + 1, samples)]
    if not groups:
        raise ValueError(f"need at least {samples} targets to measure their diversity, got {len(targets)}")
    return {"diversity_l1": float(np.mean([mean_pairwise_distance(group) for group in groups]))}


@torch.inference_mode()
def encoded_scores(
    generator: nn.Module, encoder: nn.Module, dataset: Dataset, device: torch.device | str | None = None
) -> dict[str, float]:
    """{"encoded_l1", "encoded_psnr", "encoded_ssim"}: G(source, mean of E(target)) against the target."""
    runner = Runner(generator, device, backend="torch")
    encoder = encoder.to(runner.device).eval()
    latent = next((item.name for item in runner.inputs if item.kind == LATENT), None)
    if latent is None:
        raise ValueError(f"{generator.arch} takes no latent code, so an encoder's code cannot steer it")
    per_image = []
    for batch in DataLoader(dataset, batch_size=8, collate_fn=collate_pairs):
        codes, _ = encoder(batch["target"].to(runner.device))
        outputs = runner.run({"source": batch["source"], latent: codes})
        for output, target in zip(outputs.cpu(), batch["target"], strict=True):
            per_image.append(pair_metrics(tensor_to_image(output), tensor_to_image(target)))
    return {f"encoded_{name}": value for name, value in mean_metrics(per_image).items()}
