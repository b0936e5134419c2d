"""Store the judges in float16 (half the bytes; they are instruments, not served models) and re-record their bounds.

    python -m recipes.float16_judges [--data ../shared/data]   # run by recipes/judges.sh after training

Each `weights/judges/<name>/model.safetensors` is rewritten with its float tensors in float16 (integer buffers as
they are); a judge loads into its float32 network as before. With `--data`, the segmentation and maps judges'
bounds (real photos, mean training photo) are scored again with the float16 weights and written to `bounds.json`
and the card. Measured when the judges were converted: no bound moved by more than 0.0011 (cityscapes' mean
training photo, per-pixel 0.4777 to 0.4767), the apple2orange judge's test shares not at all.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file, save_file

from pix2pix_hub.evaluation.judges import Judge, folder_bounds

JUDGES = Path(__file__).resolve().parent.parent / "weights" / "judges"
BOUNDS_SPLIT = {"facades": "test", "maps": "val", "cityscapes": "val"}  # the eval split each judge's card names


def to_float16(weights: Path) -> bool:
    """Rewrite a safetensors file with float tensors in float16; False when it already was."""
    tensors = load_file(weights)
    with safe_open(weights, "pt") as file:
        metadata = file.metadata()
    if all(not tensor.is_floating_point() or tensor.dtype.itemsize == 2 for tensor in tensors.values()):
        return False
    half = {name: tensor.half() if tensor.is_floating_point() else tensor for name, tensor in tensors.items()}
    save_file(half, weights, metadata=metadata)
    return True


def rerecord_bounds(folder: Path, data: Path) -> dict:
    """Score the bounds with the stored (float16) weights; write bounds.json and the card's table rows."""
    judge = Judge.from_pretrained(folder)
    bounds = folder_bounds(judge, data / "train", data / BOUNDS_SPLIT[folder.name])
    (folder / "bounds.json").write_text(json.dumps(bounds, indent=2) + "\n")
    card = (folder / "README.md").read_text()
    for row, scores in bounds.items():
        cells = " | ".join(f"{value:.4f}" for value in scores.values())
        card = re.sub(rf"^\| {row} \|.*$", f"| {row} | {cells} |", card, flags=re.M)
    (folder / "README.md").write_text(card)
    return bounds


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m recipes.float16_judges", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="the folder holding facades/, maps/, cityscapes/ (re-scores bounds)")
    args = parser.parse_args()
    for folder in sorted(path for path in JUDGES.iterdir() if (path / "model.safetensors").is_file()):
        converted = to_float16(folder / "model.safetensors")
        print(f"{folder.name}: {'converted to' if converted else 'already'} float16")
        if args.data and folder.name in BOUNDS_SPLIT:
            print(json.dumps(rerecord_bounds(folder, args.data / folder.name)))


if __name__ == "__main__":
    main()
