"""Instance-id maps beside paired data, for pix2pixHD's instance-boundary input channel.

The reference reads `train_inst/` beside `train_label/`; here `--instance_maps DIR` names a folder that mirrors the
pairs' split folders: the instance map of the pair `.../<split>/<stem>.jpg` (or `.../A/<split>/<stem>.png`) is
`DIR/<split>/<stem>.<any image extension>` (or `DIR/<stem>.*` for data without splits). Any integer ids work
(Cityscapes' 16-bit `*_instanceIds.png` too): only where they change matters, so each map's ids are renumbered
0, 1, 2 ... in order and kept as a palette image, which every resize treats as nearest-neighbour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..images import IMAGE_EXTENSIONS, open_image
from .pairs import PairView

MAX_INSTANCES = 256  # ids per image a palette image can hold


def renumbered_instances(image: Image.Image, name: str) -> Image.Image:
    """An instance-id map (any integer mode) as a palette image of ids 0, 1, 2 ... in the order of the old ids."""
    if image.mode not in ("1", "L", "P", "I", "I;16"):
        raise ValueError(
            f"{name}: an instance map holds one integer id per pixel (mode L, P, I or I;16), not {image.mode}"
        )
    ids = np.asarray(image).astype(np.int64)
    unique, ranks = np.unique(ids, return_inverse=True)
    if len(unique) > MAX_INSTANCES:
        raise ValueError(f"{name}: {len(unique)} instance ids; at most {MAX_INSTANCES} per image are supported")
    return Image.fromarray(ranks.reshape(ids.shape).astype(np.uint8), mode="L").convert("P")


class InstanceMaps(PairView):
    """Pairs from files with their instance maps: `load` gives (source, target, instance map)."""

    def __init__(self, pairs: PairView, folder: str | Path):
        super().__init__(pairs)
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ValueError(f"--instance_maps {folder}: no such folder")

    def instance_path(self, index: int) -> Path:
        """Where pair `index`'s instance map is: DIR/<split>/<stem>.* or DIR/<stem>.*, else a plain-words error."""
        pair_file = Path(self.pairs.name(index).split(" + ")[0])
        stem = self.pairs.stem(index)
        for folder in (self.folder / pair_file.parent.name, self.folder):
            for extension in IMAGE_EXTENSIONS:
                if (folder / f"{stem}{extension}").is_file():
                    return folder / f"{stem}{extension}"
        raise ValueError(
            f"{self.pairs.name(index)}: no instance map {self.folder / pair_file.parent.name / stem}.* "
            f"(or {self.folder / stem}.*) for it"
        )

    def load(self, index: int) -> tuple[Image.Image, Image.Image, Image.Image]:
        source, target = self.pairs.load(index)
        path = self.instance_path(index)
        instances = renumbered_instances(open_image(path), str(path))
        if instances.size != source.size:
            raise ValueError(f"{path}: {instances.size} instance map for a {source.size} source")
        return source, target, instances
