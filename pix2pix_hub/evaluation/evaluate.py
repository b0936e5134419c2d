"""Score a generator on a paired split: L1, PSNR, SSIM (see `metrics.py`), the realism score against its real-vs-real
floor (`realism.py`: multi-scale sliced Wasserstein distance, per pyramid level) and a source | output | target grid.

    python -m pix2pix_hub.evaluate --model REPO_OR_DIR --dataset huggan/facades --split test [--output_dir DIR]

The trainer calls `evaluate` with the same data flags, so a saved model scores here exactly what its
`metrics.json` says. The generator runs through the inference runner (`pix2pix_hub.inference.runner`), as the
pipeline runs it, in the `inference_mode` stored in its config; "paper" mode (dropout on) and the realism score's
draws (halves, neighbourhoods, directions) are seeded with `--seed`, so scores are reproducible.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Subset

from ..data import PairedImageDataset, PairSource, collate_pairs, load_splits
from ..data.arguments import add_data_arguments, data_spec, preprocessing
from ..hub import atomic_write_bytes, atomic_write_text, go_offline_unless_reachable, plain_load_error
from ..images import png_bytes, tensor_to_image
from ..inference.fast.int8 import Int8Calibration, find_calibration
from ..inference.interface import InferenceGenerator
from ..inference.runner import Runner
from ..networks import Pix2PixGenerator
from .artifacts import checkerboard_ratio
from .judges import LABEL_SETS, Bounds, Judge, mean_target
from .metrics import mean_metrics, pair_metrics
from .realism import realism
from .two_sample import classifier_two_sample_test

EVAL_BATCH_SIZE = 8
GRID_ROWS = 4


@dataclass
class Evaluation:
    """Mean metrics over `num_pairs` pairs, a grid of the first few, and the bad images skipped."""

    metrics: dict[str, float]
    num_pairs: int
    grid: Image.Image
    skipped: list[str] = field(default_factory=list)
    bounds: dict[str, dict] = field(default_factory=dict)  # see `pix2pix_hub.judges.Bounds`


def sample_grid(rows: list[tuple[Image.Image, ...]]) -> Image.Image:
    """Paste images into a grid, one row per tuple (source | output | target)."""
    width, height = rows[0][0].size
    grid = Image.new("RGB", (width * len(rows[0]), height * len(rows)), "white")
    for row, images in enumerate(rows):
        for column, image in enumerate(images):
            grid.paste(image.resize((width, height)), (column * width, row * height))
    return grid


@torch.no_grad()
def evaluate(
    generator: InferenceGenerator,
    dataset: PairedImageDataset,
    batch_size: int = EVAL_BATCH_SIZE,
    device: str | torch.device | None = None,
    seed: int = 0,
    num_workers: int = 0,
    bounds: Bounds | None = None,
    int8_calibration: Int8Calibration | None = None,
    two_sample_test: bool = False,
) -> Evaluation:
    """Translate every pair of `dataset` (its evaluation view) and score outputs against targets (and `bounds`).

    The model itself (float32 PyTorch, any input size) by default; with `int8_calibration`, the int8 CPU path
    (images at the calibration's size only). The realism keys (`swd`, `swd_floor`, `swd_<level>`, ...) need at
    least 2 pairs and are left out for fewer; `two_sample_test` adds `c2st_accuracy` (`two_sample.py`: a small CNN
    trained for seconds, so off by default).
    """
    if int8_calibration is None:
        run = Runner(generator, device, backend="torch")
    else:
        run = Runner(generator, "cpu", int8_calibration.size, precision="int8", int8_calibration=int8_calibration)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, collate_fn=collate_pairs)
    per_image, rows, skipped, output_pixels, target_pixels = [], [], [], [], []
    for batch in loader:
        outputs = run.run({"source": batch["source"]}, seed=seed)
        skipped += batch["skipped"]
        if bounds is not None:
            bounds.update(batch["source"], outputs.cpu(), batch["target"])
        for source, output, target in zip(batch["source"], outputs, batch["target"], strict=True):
            output_image, target_image = tensor_to_image(output), tensor_to_image(target)
            per_image.append(pair_metrics(output_image, target_image))
            output_pixels.append(np.asarray(output_image))
            target_pixels.append(np.asarray(target_image))
            if len(rows) < GRID_ROWS:
                rows.append((tensor_to_image(source), output_image, target_image))
    metrics = mean_metrics(per_image)
    if per_image:
        metrics |= checkerboard_ratio(output_pixels, target_pixels)
    if len(per_image) >= 2:
        metrics |= realism(output_pixels, target_pixels, seed).metrics()
        if two_sample_test:
            metrics["c2st_accuracy"] = classifier_two_sample_test(output_pixels, target_pixels, seed)
    return Evaluation(metrics, len(per_image), sample_grid(rows), skipped, bounds.compute() if bounds else {})


def evaluation_view(pairs: PairSource, args: argparse.Namespace, generator: InferenceGenerator) -> PairedImageDataset:
    """The deterministic evaluation view of `pairs` under the shared data flags, shaped for `generator`."""
    return PairedImageDataset(
        pairs,
        preprocessing(args, generator.size_multiple),
        (generator.in_channels, generator.out_channels),
        augment=False,
        skip_bad_images=args.skip_bad_images,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a Hub model id or a folder saved with save_pretrained")
    parser.add_argument("--split", default=None, help="split to score (default: test, validation or val)")
    parser.add_argument(
        "--output_dir", default="evaluation", help="where metrics.json and grid.png go (created if missing)"
    )
    parser.add_argument("--batch_size", type=int, default=EVAL_BATCH_SIZE)
    parser.add_argument(
        "--max_pairs",
        type=int,
        default=None,
        help="score only the first N pairs of the split (quicker; the report says how many were scored)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="dropout noise of 'paper' inference mode, and the realism score's draws"
    )
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument(
        "--bounds", action="store_true", help="also score the mean training target (an output that ignores the input)"
    )
    parser.add_argument(
        "--judge",
        default=None,
        help="a judge (pix2pix_hub.judges: FCN-score for facades and cityscapes, structure score for maps) that "
        "scores outputs, real targets and the mean training target; implies --bounds",
    )
    parser.add_argument(
        "--label_maps",
        default=None,
        choices=sorted(LABEL_SETS),
        help="the outputs are colour label maps of this set (photo -> labels): score each pixel's nearest class "
        "against the real map as the paper's Table 3 does (per-pixel, per-class accuracy, IoU); implies --bounds",
    )
    parser.add_argument(
        "--precision",
        default="float32",
        choices=["float32", "int8"],
        help="int8: the CPU path of a model calibrated with python -m pix2pix_hub.calibrate_int8",
    )
    parser.add_argument(
        "--two_sample_test",
        action="store_true",
        help="also train a small CNN to tell outputs from real targets (c2st_accuracy: 0.5 = it cannot)",
    )
    add_data_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Score the model, write metrics.json and grid.png to --output_dir, print the report (JSON on stdout)."""
    args = parse_args(argv)
    generator = Pix2PixGenerator.from_pretrained(args.model)
    train_pairs, pairs, description = load_splits(data_spec(args), args.split)
    dataset = evaluation_view(pairs, args, generator)
    if args.max_pairs is not None and args.max_pairs < len(dataset):
        dataset = Subset(dataset, range(args.max_pairs))
    bounds = None
    if args.bounds or args.judge or args.label_maps:
        judge = Judge.from_pretrained(args.judge) if args.judge else None
        bounds = Bounds(mean_target(evaluation_view(train_pairs, args, generator)), judge, args.label_maps)
    calibration = None
    if args.precision == "int8":
        calibration = find_calibration(args.model)
        if calibration is None:
            raise SystemExit(
                f"--precision int8: {args.model} has no int8 calibration (python -m pix2pix_hub.calibrate_int8)"
            )
    result = evaluate(
        generator,
        dataset,
        args.batch_size,
        args.device,
        args.seed,
        args.dataloader_num_workers,
        bounds,
        calibration,
        args.two_sample_test,
    )
    report = {
        "model": args.model,
        "dataset": args.dataset,
        "data": description,
        "inference_mode": generator.inference_mode,
        "precision": args.precision,
        "num_pairs": result.num_pairs,
        "skipped_images": result.skipped,
        **result.metrics,
        **result.bounds,
    }
    output_dir = Path(args.output_dir)
    atomic_write_text(output_dir / "metrics.json", json.dumps(report, indent=2))
    atomic_write_bytes(output_dir / "grid.png", png_bytes(result.grid))
    print(json.dumps(report, indent=2))
    print(f"Wrote {output_dir / 'metrics.json'} and {output_dir / 'grid.png'} (--output_dir)", file=sys.stderr)
    return report


def cli() -> None:
    """`python -m pix2pix_hub.evaluate`: without a reachable Hub the process works offline (this changes process-wide
    state, so `main` itself does not); a model or data that cannot be had is one plain line, not a traceback."""
    go_offline_unless_reachable()  # a Hub id then loads from the local cache at once, or fails in seconds
    try:
        main()
    except (FileNotFoundError, ConnectionError) as error:
        raise SystemExit(f"pix2pix_hub.evaluate: {plain_load_error(error)}") from None


if __name__ == "__main__":
    cli()
