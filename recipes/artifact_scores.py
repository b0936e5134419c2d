"""The mesh and the missing streets, measured on every bundled image model as the app serves it.

    python -m recipes.artifact_scores [--data ../shared/data] [--max_images 100] [--out docs/artifacts_before]

Each model runs through `Pix2PixPipeline.from_pretrained` with its defaults (ONNX Runtime, int8 where calibrated,
the served size) on the first `--max_images` sources of its held-out split, at the source's own 256x256:
- the checkerboard score (`pix2pix_hub.evaluation.artifacts`) of its outputs and of the split's real targets, and
  their ratio (1: no more periodic mesh than the real images have);
- for sat2map, the road share: of the ground-truth maps' road pixels, the share the generated maps draw as road.
The CycleGAN directions are scored against the real photos of their target domain (unpaired). Writes OUT.json and
prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from pix2pix_hub import Pix2PixPipeline
from pix2pix_hub.evaluation.artifacts import checkerboard_ratio, road_share
from pix2pix_hub.hub import atomic_write_text
from pix2pix_hub.images import image_files, open_image
from recipes.ship import SHIPMENTS

UNPAIRED = {
    "apple2orange": ("apple2orange", "AtoB", "testA", "testB"),
    "orange2apple": ("apple2orange", "BtoA", "testB", "testA"),
}


def halves(path: Path) -> tuple[Image.Image, Image.Image]:
    """An AB file's left (A) and right (B) halves."""
    pair = open_image(path)
    width = pair.width // 2
    return pair.crop((0, 0, width, pair.height)), pair.crop((width, 0, 2 * width, pair.height))


def paired_scores(task: str, data: Path, max_images: int) -> dict:
    shipment = SHIPMENTS[task]
    pipe = Pix2PixPipeline.from_pretrained(Path("weights") / task)
    files = image_files(data / shipment.dataset / shipment.split)[:max_images]
    outputs, targets = [], []
    for path in files:
        a, b = halves(path)
        source, target = (a, b) if shipment.direction == "AtoB" else (b, a)
        outputs.append(np.asarray(pipe(source, seed=0)))
        targets.append(np.asarray(target.convert("RGB")))
    scores = {"split": shipment.split, "images": len(files), "precision": pipe.precision, "size": pipe.image_size}
    scores |= checkerboard_ratio(outputs, targets)
    if task == "sat2map":
        scores |= road_share(outputs, targets)
    return scores


def unpaired_scores(task: str, data: Path, max_images: int) -> dict:
    folder, direction, source_split, target_split = UNPAIRED[task]
    pipe = Pix2PixPipeline.from_pretrained(Path("weights") / folder, subfolder=direction)
    sources = image_files(data / folder / source_split)[:max_images]
    targets = [np.asarray(open_image(path).convert("RGB")) for path in image_files(data / folder / target_split)]
    outputs = [np.asarray(pipe(open_image(path), seed=0)) for path in sources]
    scores = {"split": source_split, "images": len(sources), "precision": pipe.precision, "size": pipe.image_size}
    return scores | checkerboard_ratio(outputs, targets[:max_images])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--max_images", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("docs/artifacts_before"))
    args = parser.parse_args(argv)
    report = {task: paired_scores(task, args.data, args.max_images) for task in SHIPMENTS}
    report |= {task: unpaired_scores(task, args.data, args.max_images) for task in UNPAIRED}
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(report, indent=1))
    print("| model | served as | checkerboard, outputs / real (ratio) | road share (precision) |\n|---|---|---|---|")
    for task, scores in report.items():
        road = f"{scores['road_share']:.1%} ({scores['road_precision']:.1%})" if "road_share" in scores else ""
        print(
            f"| {task} | {scores['precision']}, {scores['size']} px | {scores['checkerboard']:.2f} / "
            f"{scores['checkerboard_real']:.2f} (**{scores['checkerboard_ratio']:.2f}x**) | {road} |"
        )
    return report


if __name__ == "__main__":
    main()
