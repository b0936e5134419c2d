"""A retrained model beside the one it replaced: input | before | after | real, for the first held-out pairs.

    python -m recipes.before_after_grid facades_label2photo --before REV [--rows 4] [--out OUT.jpg]

The model before is the task's `weights/<task>/` folder at git revision REV (read with `git show`, so the working
tree keeps the new one); both run as the app serves them (`Pix2PixPipeline.from_pretrained`: ONNX Runtime, int8
where calibrated) with seed 0 on the first `--rows` pairs of the task's held-out split.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from pix2pix_hub import Pix2PixPipeline
from pix2pix_hub.images import image_files, open_image
from recipes.ship import SHIPMENTS

CELL = 256
FILES = ("config.json", "model.safetensors", "int8_calibration.json")


def folder_at(revision: str, task: str, into: Path) -> Path:
    """weights/<task>/ as it was at `revision` (the files a pipeline loads), written into `into`."""
    for name in FILES:
        shown = subprocess.run(["git", "show", f"{revision}:weights/{task}/{name}"], capture_output=True, check=False)
        if shown.returncode == 0:
            (into / name).write_bytes(shown.stdout)
    return into


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(SHIPMENTS))
    parser.add_argument("--before", required=True, help="the git revision that holds the model replaced")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    shipment = SHIPMENTS[args.task]
    out = args.out or Path(f"docs/{args.task}_before_after.jpg")
    with tempfile.TemporaryDirectory() as scratch:
        before = Pix2PixPipeline.from_pretrained(folder_at(args.before, args.task, Path(scratch)))
        after = Pix2PixPipeline.from_pretrained(Path("weights") / args.task)
        files = image_files(args.data / shipment.dataset / shipment.split)[: args.rows]
        sheet = Image.new("RGB", (4 * CELL, len(files) * CELL + 20), "white")
        for column, label in enumerate(("input", f"before ({args.before})", "after", "real")):
            ImageDraw.Draw(sheet).text((column * CELL + 4, 4), label, fill="black")
        for row, path in enumerate(files):
            pair = open_image(path)
            half = pair.width // 2
            a, b = pair.crop((0, 0, half, pair.height)), pair.crop((half, 0, 2 * half, pair.height))
            source, target = (a, b) if shipment.direction == "AtoB" else (b, a)
            for column, image in enumerate((source, before(source, seed=0), after(source, seed=0), target)):
                sheet.paste(image.convert("RGB").resize((CELL, CELL)), (column * CELL, 20 + row * CELL))
    sheet.save(out, quality=90)
    return out


if __name__ == "__main__":
    main()
