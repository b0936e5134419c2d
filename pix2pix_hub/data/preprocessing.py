"""The paper's paired augmentation: resize to 286, random 256 crop, random flip, the same for source and target.

Evaluation uses the same resizing without randomness: the image is resized to `crop_size` (crop modes take the
centre crop), so a model is scored at the resolution it was trained at.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from PIL import Image

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
RESAMPLE = Image.Resampling.BICUBIC


@dataclass(frozen=True)
class Preprocessing:
    """How a pair becomes network input; `size_multiple` is the generator's (256 for unet_256)."""

    mode: str = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    size_multiple: int = 1
    aspect_ratio: float = 0.0  # scale_width modes: width / height to load at (0: the image's own)

    def __post_init__(self) -> None:
        if self.mode not in PREPROCESS_MODES:
            raise ValueError(f"preprocess={self.mode!r} is not supported; choose one of {', '.join(PREPROCESS_MODES)}")
        if self.crop_size < 1 or self.load_size < 1:
            raise ValueError(f"load_size and crop_size must be positive, got {self.load_size} and {self.crop_size}")
        if self.crops and self.crop_size % self.size_multiple:
            raise ValueError(
                f"crop_size {self.crop_size} is not a multiple of {self.size_multiple}, which the generator needs"
            )
        if self.aspect_ratio < 0:
            raise ValueError(f"aspect_ratio must be positive (or 0: the image's own), got {self.aspect_ratio}")
        if self.mode in ("resize_and_crop", "scale_width_and_crop") and self.load_size < self.crop_size:
            raise ValueError(f"load_size {self.load_size} is smaller than crop_size {self.crop_size}")

    @property
    def crops(self) -> bool:
        return self.mode in ("resize_and_crop", "crop", "scale_width_and_crop")

    def for_evaluation(self) -> Preprocessing:
        """Deterministic and no flip; crop modes load at `crop_size` (so resizing crops nothing away) and take the
        centre; the others keep the training size (`scale_width` evaluates at the width it trains at)."""
        return replace(self, load_size=self.crop_size if self.crops else self.load_size, flip=False)

    def __call__(
        self, source: Image.Image, target: Image.Image, rng: random.Random | None
    ) -> tuple[Image.Image, Image.Image]:
        """Apply one draw of resize/crop/flip to both images; `rng=None` means no randomness (evaluation)."""
        source, target = self.apply([source, target], rng)
        return source, target

    def single(self, image: Image.Image, rng: random.Random | None) -> Image.Image:
        """One draw of resize/crop/flip for an image on its own (unpaired data: each domain is augmented alone)."""
        return self.apply([image], rng)[0]

    def apply(self, images: list[Image.Image], rng: random.Random | None) -> list[Image.Image]:
        """One draw for all `images`, which take the first one's size (e.g. A/ and B/ saved at other resolutions)."""
        first = images[0].size
        size = self._resized_size(first)
        images = [image.resize(size, RESAMPLE) if image.size != size else image for image in images]
        if self.crops:
            width, height = size
            left = rng.randint(0, width - self.crop_size) if rng else (width - self.crop_size) // 2
            top = rng.randint(0, height - self.crop_size) if rng else (height - self.crop_size) // 2
            images = [image.crop((left, top, left + self.crop_size, top + self.crop_size)) for image in images]
        else:
            multiple = self.size_multiple  # the generator's input sides must be multiples of this
            size = tuple(max(multiple, round(side / multiple) * multiple) for side in size)
            images = [image.resize(size, RESAMPLE) if image.size != size else image for image in images]
        if self.flip and rng is not None and rng.random() < 0.5:
            images = [image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for image in images]
        return images

    def _resized_size(self, size: tuple[int, int]) -> tuple[int, int]:
        width, height = size
        if self.mode == "resize_and_crop":
            return self.load_size, self.load_size
        if self.mode.startswith("scale_width"):
            # as the reference: width to load_size, height in proportion (or by aspect_ratio) but never below crop_size
            ratio = self.aspect_ratio or width / height
            return self.load_size, max(round(self.load_size / ratio), self.crop_size if self.crops else 1)
        if self.mode == "crop" and min(width, height) < self.crop_size:  # too small to crop: scale up
            scale = self.crop_size / min(width, height)
            return max(self.crop_size, round(width * scale)), max(self.crop_size, round(height * scale))
        return width, height
