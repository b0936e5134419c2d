"""Close-up crops that show the mesh: each model's output for one held-out input, a 64x64 corner enlarged 4x.

    python -m recipes.mesh_crops --data ../shared/data/facades --split test --direction BtoA --index 0 \\
        --model "basic=runs/facades_upsample_basic" --model "bilinear=runs/facades_upsample_bilinear" \\
        --out docs/upsample_comparison_facades_crops.png

Each model runs through `Pix2PixPipeline.from_pretrained` in float32 with seed 0; the crop (`--box`, top left
corner on the 256 grid) is enlarged with nearest-neighbour pixels so the period-2 and period-4 patterns stay visible.
Writes one PNG: the input's crop, each model's, the real target's, side by side, each labelled.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from pix2pix_hub import Pix2PixPipeline
from pix2pix_hub.images import image_files, open_image

CROP, ZOOM = 64, 4


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), default="BtoA")
    parser.add_argument("--index", type=int, default=0, help="which file of the split (sorted)")
    parser.add_argument("--box", type=int, nargs=2, default=(96, 96), metavar=("TOP", "LEFT"))
    parser.add_argument("--model", action="append", required=True, help="LABEL=FOLDER (repeat)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    pair = open_image(image_files(args.data / args.split)[args.index])
    half = pair.width // 2
    a, b = pair.crop((0, 0, half, pair.height)), pair.crop((half, 0, 2 * half, pair.height))
    source, target = (a, b) if args.direction == "AtoB" else (b, a)
    top, left = args.box
    box = (left, top, left + CROP, top + CROP)
    cells = {"input": source}
    for entry in args.model:
        label, folder = entry.split("=", 1)
        cells[label] = Pix2PixPipeline.from_pretrained(folder, precision="float32")(source, seed=0)
    cells["real"] = target
    side = CROP * ZOOM
    sheet = Image.new("RGB", (side * len(cells), side + 20), "white")
    draw = ImageDraw.Draw(sheet)
    for column, (label, image) in enumerate(cells.items()):
        crop = image.convert("RGB").resize((256, 256), Image.Resampling.BICUBIC).crop(box)
        sheet.paste(crop.resize((side, side), Image.Resampling.NEAREST), (column * side, 20))
        draw.text((column * side + 4, 4), label, fill="black")
    sheet.save(args.out)
    return args.out


if __name__ == "__main__":
    main()
