"""Why cityscapes_photo2label draws the same dark patch into every output: a per-image-normalisation "droplet".

    python -m recipes.photo2label_patch [--model weights/cityscapes_photo2label] [--data ../shared/data/cityscapes]

For the first 8 val photos, through the model in float32 PyTorch ("eval" mode, so no dropout noise), it reports:
- the patch: the output's mean level in x 219-231, y 83-113 (the 256 grid) against the 60x50 area around it;
- the training label maps' share of dark pixels there against around it (is the patch in the data?);
- each decoder level's convolution output (before its norm): the share of its energy inside the patch's cells
  against the share of the area they cover, and its largest magnitude there against the 99th percentile elsewhere.
A network normalised with each image's own statistics (batch norm at batch 1, as the paper trains; instance norm)
can carry a global scale past the normalisation by one strong local spike that dominates the statistics (Karras et
al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020, Sec. 2: the "water droplet"). The spike is
the same for every input, and it leaks into the output as a blob at a fixed place. Writes OUT.json and OUT.png
(photo | output around the patch, outlined, for 4 photos).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from pix2pix_hub import Pix2PixGenerator
from pix2pix_hub.hub import atomic_write_text
from pix2pix_hub.images import image_files, image_to_tensor, open_image, tensor_to_image

PATCH = (83, 114, 219, 232)  # rows, columns (end exclusive) on the 256 grid
AROUND = (70, 130, 200, 250)


def region(array: np.ndarray, box: tuple[int, int, int, int], scale: int = 1) -> np.ndarray:
    top, bottom, left, right = box
    return array[..., top // scale : -(-bottom // scale), left // scale : -(-right // scale)]


def decoder_spikes(generator: Pix2PixGenerator, sources: torch.Tensor) -> dict[str, dict]:
    """Per decoder level: the patch cells' energy share against their area share, and the spike against the rest."""
    outputs = {}
    hooks = [
        block.conv.register_forward_hook(lambda _, __, out, k=k: outputs.__setitem__(k, out.detach()))
        for k, block in enumerate(generator.net.decoder)
    ]
    with torch.no_grad():
        generated = generator(sources)
    for hook in hooks:
        hook.remove()
    report = {}
    for level, activation in outputs.items():
        size = activation.shape[-1]
        if size < 8:
            continue
        scale = 256 // size
        inside = region(activation, PATCH, scale)
        mask = torch.ones(activation.shape[-2:], dtype=torch.bool)
        region(mask, PATCH, scale)[...] = False
        rest = activation[..., mask].abs().flatten()[:1_000_000]
        report[f"decoder_{level}_{size}px"] = {
            "energy_share": float((inside**2).sum() / (activation**2).sum()),
            "area_share": inside.shape[-1] * inside.shape[-2] / size**2,
            "max_inside": float(inside.abs().max()),
            "p99_elsewhere": float(torch.quantile(rest, 0.99)),
        }
    return report | {"outputs": generated}


def crops(photos: list, outputs: np.ndarray, count: int = 4) -> Image.Image:
    """Rows of photo | output around the patch (rows 60-140, columns 176-256, enlarged 3x), the patch outlined."""
    sheet = Image.new("RGB", (2 * 240, count * 240), "white")
    for row, (photo, output) in enumerate(zip(photos[:count], outputs[:count], strict=False)):
        for column, image in enumerate((photo.crop((0, 0, photo.width // 2, photo.height)), output)):
            picture = Image.fromarray(np.asarray(image, dtype=np.uint8)).resize((256, 256)).crop((176, 60, 256, 140))
            picture = picture.resize((240, 240), Image.Resampling.NEAREST)
            ImageDraw.Draw(picture).rectangle(((219 - 176) * 3, (83 - 60) * 3, (232 - 176) * 3, (114 - 60) * 3),
                                              outline="red")  # fmt: skip
            sheet.paste(picture, (column * 240, row * 240))
    return sheet


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="weights/cityscapes_photo2label")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/cityscapes"))
    parser.add_argument("--out", type=Path, default=Path("docs/photo2label_patch"))
    args = parser.parse_args(argv)
    generator = Pix2PixGenerator.from_pretrained(args.model).eval()  # "eval": the patch needs no dropout noise
    photos = [open_image(path) for path in image_files(args.data / "val")[:8]]
    sources = torch.stack([image_to_tensor(photo.crop((0, 0, photo.width // 2, photo.height))) for photo in photos])
    report = decoder_spikes(generator, sources)
    outputs = np.stack([np.asarray(tensor_to_image(output), dtype=float) for output in report.pop("outputs")])
    labels = [np.asarray(open_image(p))[:, 256:].max(axis=-1) < 40 for p in image_files(args.data / "train")]
    dark = np.mean(labels, axis=0)
    report["output_level"] = {"patch": float(region(outputs.mean(-1), PATCH).mean()),
                              "around": float(region(outputs.mean(-1), AROUND).mean())}  # fmt: skip
    report["training_labels_dark_share"] = {"patch": float(region(dark, PATCH).mean()),
                                            "around": float(region(dark, AROUND).mean())}  # fmt: skip
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(report, indent=1))
    crops(photos, outputs).save(args.out.with_suffix(".png"))
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
