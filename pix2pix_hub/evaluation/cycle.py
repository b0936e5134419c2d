"""Scoring a pair of generators G: X -> Y and F: Y -> X (CycleGAN) without paired ground truth.

Cycle consistency is measured on both test domains (`cycle_l1_A` = mean |F(G(x)) - x| on the 8-bit images, and
likewise for B). When the test split is aligned (facades, maps or Cityscapes read unpaired), the paired metrics of
`metrics.py` apply to each direction too (`AtoB_l1`, `BtoA_ssim`, ...). The grid shows x | G(x) | F(G(x)) and
y | F(y) | G(F(y)) for the first few test images of each domain.
"""

from __future__ import annotations

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..images import tensor_to_image
from .evaluate import GRID_ROWS, Evaluation, sample_grid
from .metrics import mean_metrics, pair_metrics

BATCH_SIZE = 8


@torch.no_grad()
def translate_domain(
    forward: nn.Module, backward: nn.Module, dataset: Dataset, device: torch.device | str
) -> tuple[float, list[tuple[Image.Image, ...]]]:
    """Mean cycle L1 over a domain's images and the first grid rows (input | translated | reconstructed)."""
    errors, rows = [], []
    for batch in DataLoader(dataset, batch_size=BATCH_SIZE):
        images = batch["image"].to(device)
        translated = forward(images)
        reconstructed = backward(translated)
        for image, output, cycle in zip(images.cpu(), translated.cpu(), reconstructed.cpu(), strict=True):
            original, recovered = tensor_to_image(image), tensor_to_image(cycle)
            errors.append(pair_metrics(recovered, original)["l1"])
            if len(rows) < GRID_ROWS:
                rows.append((original, tensor_to_image(output), recovered))
    return float(sum(errors) / len(errors)), rows


@torch.no_grad()
def paired_scores(generator: nn.Module, dataset: Dataset, device: torch.device | str, swap: bool) -> dict[str, float]:
    """L1/PSNR/SSIM of `generator` on aligned pairs (`swap`: target -> source)."""
    per_image = []
    for batch in DataLoader(dataset, batch_size=BATCH_SIZE):
        inputs, targets = (batch["target"], batch["source"]) if swap else (batch["source"], batch["target"])
        for output, target in zip(generator(inputs.to(device)).cpu(), targets, strict=True):
            per_image.append(pair_metrics(tensor_to_image(output), tensor_to_image(target)))
    return mean_metrics(per_image)


def evaluate_cycle(
    generator_ab: nn.Module,
    generator_ba: nn.Module,
    eval_a: Dataset,
    eval_b: Dataset,
    eval_pairs: Dataset | None,
    device: torch.device | str | None = None,
) -> Evaluation:
    """Cycle L1 on both test domains, paired metrics per direction when the test split is aligned, and a grid."""
    device = torch.device(device or "cpu")
    for generator in (generator_ab, generator_ba):
        generator.to(device).prepare_for_inference()
    cycle_a, rows_a = translate_domain(generator_ab, generator_ba, eval_a, device)
    cycle_b, rows_b = translate_domain(generator_ba, generator_ab, eval_b, device)
    metrics = {"cycle_l1_A": cycle_a, "cycle_l1_B": cycle_b}
    if eval_pairs is not None:
        for direction, generator, swap in (("AtoB", generator_ab, False), ("BtoA", generator_ba, True)):
            scores = paired_scores(generator, eval_pairs, device, swap)
            metrics |= {f"{direction}_{name}": value for name, value in scores.items()}
    rows = [row_a + row_b for row_a, row_b in zip(rows_a, rows_b, strict=False)]
    for generator in (generator_ab, generator_ba):
        generator.cpu()
    return Evaluation(metrics, len(eval_a) + len(eval_b), sample_grid(rows))
