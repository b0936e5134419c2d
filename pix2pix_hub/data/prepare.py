"""Convert a reference-layout folder (or A/ and B/ folders) into a 🤗 dataset with two Image columns.

    python -m pix2pix_hub.data.prepare ../shared/data/facades --out facades-hf [--push_to_hub ORG/facades]

The result has one split per folder (`train`, `val`, `test`) and the columns `imageA` and `imageB`, the layout of
the community copies on the Hub (`huggan/facades`), so `train_accelerate.py --dataset facades-hf` (or the Hub id)
reads it. The halves of side-by-side files are stored as PNG, so no JPEG generation loss is added.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import datasets

from ..images import png_bytes
from .sources import DataSpec, PairSource, open_splits

FEATURES = datasets.Features({"imageA": datasets.Image(), "imageB": datasets.Image()})


def _rows(pairs: PairSource) -> dict[str, list[dict]]:
    rows = {"imageA": [], "imageB": []}
    for index in range(len(pairs)):
        a, b = pairs.load(index)  # AtoB: (A, B)
        rows["imageA"].append({"bytes": png_bytes(a), "path": f"{pairs.stem(index)}_A.png"})
        rows["imageB"].append({"bytes": png_bytes(b), "path": f"{pairs.stem(index)}_B.png"})
    return rows


def prepare(folder: str | Path) -> datasets.DatasetDict:
    """Read every split of `folder` into a DatasetDict (all images decoded once, so a bad file is named now)."""
    splits = open_splits(DataSpec(dataset=str(folder), direction="AtoB"))
    return datasets.DatasetDict(
        {name: datasets.Dataset.from_dict(_rows(pairs), features=FEATURES) for name, pairs in splits.items()}
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="a folder with train/ val/ test/ of side-by-side AB images, or A/ and B/")
    parser.add_argument("--out", required=True, help="where to save_to_disk the dataset")
    parser.add_argument("--push_to_hub", metavar="REPO_ID", help="also upload it as this Hub dataset")
    parser.add_argument("--private", action="store_true", help="make the Hub dataset private")
    args = parser.parse_args(argv)
    dataset = prepare(args.folder)
    dataset.save_to_disk(args.out)
    print(f"saved {', '.join(f'{name}: {len(split)} pairs' for name, split in dataset.items())} to {args.out}")
    if args.push_to_hub:
        dataset.push_to_hub(args.push_to_hub, private=args.private)
        print(f"uploaded to https://huggingface.co/datasets/{args.push_to_hub}")


if __name__ == "__main__":
    main()
