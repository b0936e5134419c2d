"""BicycleGAN against pix2pix on edges2shoes: how varied, how real, how faithful (the paper's Sec. 4.1 measures).

    python -m recipes.bicyclegan_diversity [--data ../shared/data/edges2shoes] [--samples 10] [--out DOCS_PREFIX]

On the val split (160 pairs; each model at the size it was trained at):
- diversity: the mean distance between `samples` outputs for one sketch (every pair; `evaluation.multimodal`), over
  the split: BicycleGAN with random codes z ~ N(0, 1), the bundled pix2pix edges2shoes with `samples` seeds of its
  test-time dropout (the paper's "pix2pix+noise"), and groups of `samples` real shoes of the split (the data's own
  variety). The distance is the mean absolute difference of 8-bit images in [0, 1], which needs no downloaded
  weights (the paper used LPIPS on AlexNet features);
- realism: the multi-scale SWD of random samples (BicycleGAN: one random z per sketch) against the real shoes;
- faithfulness: L1/SSIM against the real shoe, for BicycleGAN with the code of that shoe (E's mean: "encode" mode)
  and for pix2pix.
Writes OUT.json, OUT.md (the table the README carries) and OUT_samples.jpg: per sketch, the sketch, the real shoe,
BicycleGAN encoded from it, BicycleGAN's first random samples, and pix2pix with three seeds.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from pix2pix_hub.data import load_splits
from pix2pix_hub.data.arguments import data_spec
from pix2pix_hub.evaluation.evaluate import evaluate, evaluation_view
from pix2pix_hub.evaluation.evaluate import parse_args as evaluate_args
from pix2pix_hub.evaluation.multimodal import encoded_scores, real_diversity, sample_diversity
from pix2pix_hub.hub import atomic_write_bytes, atomic_write_text
from pix2pix_hub.images import tensor_to_image
from pix2pix_hub.inference.runner import Runner
from pix2pix_hub.networks import LatentEncoder, Pix2PixGenerator

BICYCLEGAN, PIX2PIX = Path("weights/edges2shoes_bicyclegan"), Path("weights/edges2shoes")
GRID_ROWS, GRID_SAMPLES, CELL = 6, 5, 128


def view(model: Pix2PixGenerator, folder: Path, data: str):
    """The val split as the model sees it (its trained size, edges -> photo)."""
    size = str(model.native_size)
    args = evaluate_args(
        [
            "--model",
            str(folder),
            "--dataset",
            data,
            "--split",
            "val",
            "--direction",
            "BtoA",
            "--load_size",
            size,
            "--crop_size",
            size,
        ]
    )
    _, pairs, _ = load_splits(data_spec(args), args.split)
    return evaluation_view(pairs, args, model)


def measure(data: str, samples: int) -> tuple[dict, dict]:
    """Every score of both models and of the real shoes, and the models and views the grid needs."""
    bicycle, pix2pix = Pix2PixGenerator.from_pretrained(BICYCLEGAN), Pix2PixGenerator.from_pretrained(PIX2PIX)
    encoder = LatentEncoder.from_pretrained(BICYCLEGAN, subfolder="encoder")
    bicycle_view, pix2pix_view = view(bicycle, BICYCLEGAN, data), view(pix2pix, PIX2PIX, data)
    results = {}
    for name, model, dataset in (("bicyclegan", bicycle, bicycle_view), ("pix2pix", pix2pix, pix2pix_view)):
        started = time.perf_counter()
        random_sample = evaluate(model, dataset, seed=0).metrics
        results[name] = {
            "size": model.native_size,
            "diversity_l1": sample_diversity(model, dataset, "cpu", samples)["diversity_l1"],
            "swd": random_sample["swd"],
            "swd_floor": random_sample["swd_floor"],
            "l1": random_sample["l1"],
            "ssim": random_sample["ssim"],
        }
        if name == "bicyclegan":
            results[name] |= encoded_scores(model, encoder, dataset, "cpu")
        results[name]["seconds"] = round(time.perf_counter() - started, 1)
    results["real"] = {"diversity_l1": real_diversity(bicycle_view, samples)["diversity_l1"]}
    return results, {"bicycle": bicycle, "encoder": encoder, "pix2pix": pix2pix, "views": (bicycle_view, pix2pix_view)}


def sample_grid(parts: dict) -> Image.Image:
    """One row per val sketch: sketch | real | encoded | random samples | pix2pix, three seeds."""
    bicycle_view, pix2pix_view = parts["views"]
    bicycle, pix2pix = (
        Runner(parts["bicycle"], "cpu", backend="torch"),
        Runner(parts["pix2pix"], "cpu", backend="torch"),
    )
    columns = 3 + GRID_SAMPLES + 3
    grid = Image.new("RGB", (columns * CELL, GRID_ROWS * CELL + 20), "white")
    titles = ["sketch", "real", "encoded"] + [f"z {n + 1}" for n in range(GRID_SAMPLES)] + ["pix2pix s0", "s1", "s2"]
    for column, title in enumerate(titles):
        ImageDraw.Draw(grid).text((column * CELL + 4, 4), title, fill="black")
    for row in range(GRID_ROWS):
        pair, other = bicycle_view[row * 25], pix2pix_view[row * 25]
        source = pair["source"][None]
        with torch.inference_mode():
            code, _ = parts["encoder"](pair["target"][None])
        images = [pair["source"], pair["target"], bicycle.run({"source": source, "z": code})[0]]
        images += list(bicycle.run({"source": source.expand(GRID_SAMPLES, -1, -1, -1)}, seed=row))
        images += [pix2pix.run({"source": other["source"][None]}, seed=seed)[0] for seed in range(3)]
        for column, image in enumerate(images):
            grid.paste(tensor_to_image(image.cpu()).resize((CELL, CELL)), (column * CELL, 20 + row * CELL))
    return grid


def table(results: dict, samples: int) -> str:
    bicycle, pix2pix, real = results["bicyclegan"], results["pix2pix"], results["real"]
    return "\n".join(
        [
            f"| on edges2shoes val (160 sketches) | diversity: mean L1 between {samples} outputs of one sketch | "
            "realism SWD x10³ of random samples (floor) | L1 / SSIM to the real shoe |",
            "|---|---|---|---|",
            f"| BicycleGAN (`weights/edges2shoes_bicyclegan`, {bicycle['size']} px) | "
            f"**{bicycle['diversity_l1']:.4f}** | "
            f"{bicycle['swd']:.1f} ({bicycle['swd_floor']:.1f}) | encoded: {bicycle['encoded_l1']:.4f} / "
            f"{bicycle['encoded_ssim']:.4f}; random z: {bicycle['l1']:.4f} / {bicycle['ssim']:.4f} |",
            f"| pix2pix+noise (`weights/edges2shoes`, {pix2pix['size']} px, dropout seeds) | "
            f"{pix2pix['diversity_l1']:.4f} | "
            f"{pix2pix['swd']:.1f} ({pix2pix['swd_floor']:.1f}) | {pix2pix['l1']:.4f} / {pix2pix['ssim']:.4f} |",
            f"| real shoes of the split (groups of {samples}) | {real['diversity_l1']:.4f} | | |",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/edges2shoes")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--out", default="docs/bicyclegan_edges2shoes")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    results, parts = measure(args.data, args.samples)
    out = Path(args.out)
    results["command"] = "python -m recipes.bicyclegan_diversity " + " ".join(argv or [])
    atomic_write_text(out.with_suffix(".json"), json.dumps(results, indent=2) + "\n")
    atomic_write_text(out.with_suffix(".md"), table(results, args.samples) + "\n")
    encoded = io.BytesIO()
    sample_grid(parts).save(encoded, format="JPEG", quality=90)
    atomic_write_bytes(out.parent / f"{out.name}_samples.jpg", encoded.getvalue())
    print(table(results, args.samples))


if __name__ == "__main__":
    main()
