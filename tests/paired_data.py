"""Small paired datasets built by the tests: real image files, parquet files and HF caches in tmp_path.

The target of every pair is the inverted source (B = 255 - A), a mapping a tiny generator learns in a few steps.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import datasets
import numpy as np
from PIL import Image

FEATURES = datasets.Features({"imageA": datasets.Image(), "imageB": datasets.Image()})


def smooth_image(seed: int, size: int = 32, channels: int = 3) -> np.ndarray:
    """A smooth random picture (upsampled noise), so resizing keeps its content."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (size // 4, size // 4, channels), dtype=np.uint8)
    image = Image.fromarray(coarse[:, :, 0] if channels == 1 else coarse)
    return np.asarray(image.resize((size, size), Image.Resampling.BICUBIC))


def write_ab_folder(root: Path, splits: dict[str, int], size: int = 32) -> Path:
    """The reference layout: <split>/<i>.png holding A | B side by side."""
    seed = 0
    for split, count in splits.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            a = smooth_image(seed := seed + 1, size)
            Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(root / split / f"{index}.png")
    return root


def write_paired_folders(root: Path, count: int, size: int = 32, b_size: int | None = None) -> Path:
    """A/<i>.png and B/<i>.jpg with the same names; B may be saved at another resolution."""
    (root / "A").mkdir(parents=True, exist_ok=True)
    (root / "B").mkdir(parents=True, exist_ok=True)
    for index in range(count):
        a = smooth_image(index + 100, size)
        Image.fromarray(a).save(root / "A" / f"{index}.png")
        b = Image.fromarray(255 - a)
        if b_size:
            b = b.resize((b_size, b_size))
        b.save(root / "B" / f"{index}.jpg", quality=95)
    return root


def _png(array: np.ndarray) -> dict:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return {"bytes": buffer.getvalue(), "path": None}


def pairs_table(count: int, size: int = 32, seed: int = 500) -> datasets.Dataset:
    """Columns imageA / imageB, as the community's huggan/* datasets."""
    sources = [smooth_image(seed + index, size) for index in range(count)]
    rows = {"imageA": [_png(a) for a in sources], "imageB": [_png(255 - a) for a in sources]}
    return datasets.Dataset.from_dict(rows, features=FEATURES)


def cache_hub_dataset(cache_dir: Path, repo_id: str, table: datasets.Dataset, work_dir: Path) -> None:
    """Lay out the datasets cache that `load_dataset(repo_id)` leaves behind when online (a one-split parquet repo).

    With HF_HUB_OFFLINE=1 `load_dataset(repo_id, cache_dir=cache_dir)` then reads it through its real offline path.
    """
    from datasets.packaged_modules.parquet.parquet import Parquet

    namespace, name = repo_id.split("/")
    parquet = work_dir / f"{name}-train.parquet"
    table.to_parquet(str(parquet))
    staging = work_dir / "staging-cache"
    builder = Parquet(cache_dir=str(staging), dataset_name=name, data_files={"train": str(parquet)}, hash="0" * 16)
    builder.download_and_prepare()
    prepared = Path(builder.cache_dir)  # staging/<name>/default-<config hash>/0.0.0/<hash>
    target = cache_dir / f"{namespace}___{name}" / "default" / prepared.parent.name / prepared.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(prepared, target)


def corrupt(path: Path) -> Path:
    """Truncate an image file so that decoding fails."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path
