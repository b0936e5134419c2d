"""Scoring a pair of generators G: X -> Y and F: Y -> X (CycleGAN) without paired ground truth.

Cycle consistency is measured on both test domains (`cycle_l1_A` = mean |F(G(x)) - x| on the 8-bit images, and
likewise for B). When the test split is aligned (facades, maps or Cityscapes read unpaired), the paired metrics of
`metrics.py` apply to each direction too (`AtoB_l1`, `BtoA_ssim`, ...). With domain judges (`domain_judge.py`), the
share of translated test images each judge assigns to the target domain, beside the share for real target images
and for the untranslated inputs. Realism per direction (`realism.py`), unpaired: the translations into B against the
real B test images (`AtoB_swd`, `AtoB_swd_floor`, `AtoB_swd_<level>`, ...), and likewise into A. The grid shows
x | G(x) | F(G(x)) and y | F(y) | G(F(y)) for the first few test images of each domain.

    python -m pix2pix_hub.evaluate_cycle --model DIR --dataset DATA [--judge weights/judges/NAME ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..hub import atomic_write_bytes, atomic_write_text
from ..images import png_bytes, tensor_to_image
from .evaluate import GRID_ROWS, Evaluation, sample_grid
from .metrics import mean_metrics, pair_metrics
from .realism import realism

BATCH_SIZE = 8


@torch.no_grad()
def translate_domain(
    forward: nn.Module, backward: nn.Module, dataset: Dataset, device: torch.device | str
) -> tuple[float, list[tuple[Image.Image, ...]], torch.Tensor, torch.Tensor]:
    """Mean cycle L1 over a domain's images, the first grid rows (input | translated | reconstructed), and the
    inputs and translations themselves (CPU, [-1, 1]) for the judges."""
    errors, rows, inputs, outputs = [], [], [], []
    for batch in DataLoader(dataset, batch_size=BATCH_SIZE):
        images = batch["image"].to(device)
        translated = forward(images)
        reconstructed = backward(translated)
        inputs.append(images.cpu())
        outputs.append(translated.cpu())
        for image, output, cycle in zip(images.cpu(), translated.cpu(), reconstructed.cpu(), strict=True):
            original, recovered = tensor_to_image(image), tensor_to_image(cycle)
            errors.append(pair_metrics(recovered, original)["l1"])
            if len(rows) < GRID_ROWS:
                rows.append((original, tensor_to_image(output), recovered))
    return float(sum(errors) / len(errors)), rows, torch.cat(inputs), torch.cat(outputs)


def judge_shares(judges: dict[str, nn.Module], domain_a: tuple[torch.Tensor, torch.Tensor], domain_b) -> dict:
    """Per judge: the share of images called the target domain, for translations, real targets and inputs."""
    (real_a, fake_b), (real_b, fake_a) = domain_a, domain_b
    shares = {}
    for name, judge in judges.items():
        share_b = judge.share_of_b
        shares |= {
            f"{name}/AtoB_translated_called_B": share_b(fake_b),
            f"{name}/real_B_called_B": share_b(real_b),
            f"{name}/input_A_called_B": share_b(real_a),
            f"{name}/BtoA_translated_called_A": 1 - share_b(fake_a),
            f"{name}/real_A_called_A": 1 - share_b(real_a),
            f"{name}/input_B_called_A": 1 - share_b(real_b),
        }
    return shares


def unpaired_realism(translated: torch.Tensor, real: torch.Tensor, prefix: str) -> dict[str, float]:
    """The realism keys of translations against real images of their target domain ([-1, 1] tensors), under
    `prefix` (none for fewer than 2 of either)."""
    if min(len(translated), len(real)) < 2:
        return {}
    as_pixels = [[np.asarray(tensor_to_image(image)) for image in images] for images in (translated, real)]
    return {f"{prefix}_{name}": value for name, value in realism(*as_pixels).metrics().items()}


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
    judges: dict[str, nn.Module] | None = None,
) -> Evaluation:
    """Cycle L1 on both test domains, realism per direction, paired metrics per direction when the test split is
    aligned, the judges' domain shares, and a grid."""
    device = torch.device(device or "cpu")
    for generator in (generator_ab, generator_ba):
        generator.to(device).prepare_for_inference()
    cycle_a, rows_a, real_a, fake_b = translate_domain(generator_ab, generator_ba, eval_a, device)
    cycle_b, rows_b, real_b, fake_a = translate_domain(generator_ba, generator_ab, eval_b, device)
    metrics = {"cycle_l1_A": cycle_a, "cycle_l1_B": cycle_b}
    metrics |= judge_shares(judges or {}, (real_a, fake_b), (real_b, fake_a))
    metrics |= unpaired_realism(fake_b, real_b, "AtoB") | unpaired_realism(fake_a, real_a, "BtoA")
    if eval_pairs is not None:
        for direction, generator, swap in (("AtoB", generator_ab, False), ("BtoA", generator_ba, True)):
            scores = paired_scores(generator, eval_pairs, device, swap)
            metrics |= {f"{direction}_{name}": value for name, value in scores.items()}
    rows = [row_a + row_b for row_a, row_b in zip(rows_a, rows_b, strict=False)]
    for generator in (generator_ab, generator_ba):
        generator.cpu()
    return Evaluation(metrics, len(eval_a) + len(eval_b), sample_grid(rows))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from ..data.arguments import add_data_arguments

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a folder or Hub repo with AtoB/ and BtoA/ generator folders")
    parser.add_argument("--judge", action="append", default=[], help="a domain judge folder (repeat for several)")
    parser.add_argument("--output_dir", default="evaluation", help="where metrics.json and grid.png go")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--eval_split", default=None, help="split to score (default: test, validation or val)")
    parser.add_argument("--dataset_A", default=None, help="domain A on its own (instead of --dataset)")
    parser.add_argument("--dataset_B", default=None, help="domain B on its own (instead of --dataset)")
    parser.add_argument("--image_column", default=None)
    parser.add_argument("--max_dataset_size", type=int, default=None)
    add_data_arguments(parser, dataset_required=False)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Score a two-direction model folder; writes OUTPUT_DIR/metrics.json and grid.png (and prints the metrics)."""
    from ..data import PairedImageDataset
    from ..data.arguments import preprocessing
    from ..data.unpaired import DomainImageDataset, domain_channels, load_unpaired
    from ..networks import Pix2PixGenerator
    from .domain_judge import DomainJudge

    args = parse_args(argv)
    generators = [Pix2PixGenerator.from_pretrained(args.model, subfolder=name) for name in ("AtoB", "BtoA")]
    splits = load_unpaired(args)
    look = preprocessing(args, generators[0].size_multiple)
    channels = (domain_channels(splits.eval_a), domain_channels(splits.eval_b))
    eval_domains = (splits.eval_a, splits.eval_b)
    domains = [DomainImageDataset(domain, look, count) for domain, count in zip(eval_domains, channels, strict=True)]
    pairs = PairedImageDataset(splits.eval_pairs, look, channels, augment=False) if splits.eval_pairs else None
    judges = {Path(folder).name: DomainJudge.from_pretrained(folder) for folder in args.judge}
    result = evaluate_cycle(*generators, *domains, pairs, args.device, judges)
    report = {"model": args.model, "data": splits.description, "num_images": result.num_pairs, **result.metrics}
    atomic_write_text(Path(args.output_dir) / "metrics.json", json.dumps(report, indent=2))
    atomic_write_bytes(Path(args.output_dir) / "grid.png", png_bytes(result.grid))
    print(json.dumps(report, indent=2))
    return report
