"""Image I/O for every entry point (pipeline, data, app): decode defensively, normalise modes, convert to tensors.

Every failure is a `ValueError` whose message names the file (or the image) and what is wrong with it.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

# PIL's own decompression-bomb threshold (about 89.5 megapixels) is our default limit for any single image; a caller
# whose memory stays bounded for larger ones (the translate CLI's tiled mode) passes its own `max_pixels`.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
_PIL_LIMIT_LOCK = threading.Lock()
READABLE_FORMATS = "PNG, JPEG, WebP, GIF, BMP, TIFF and most others"
BACKGROUND = (255, 255, 255)  # transparent pixels are composited onto white


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".tif", ".tiff", ".webp")


def image_files(folder: Path) -> list[Path]:
    """The image files directly in `folder`, in sorted (reproducible) order."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


class ImageTooLarge(ValueError):
    """An image over the pixel limit (its message names the size and the limit)."""


def limit_text(max_pixels: int | None) -> str:
    return f"the limit is {max_pixels / 1e6:.1f} megapixels" if max_pixels else "no limit"


@contextlib.contextmanager
def _pil_limit(max_pixels: int | None):
    """PIL's process-wide bomb threshold set to `max_pixels` for one decode (None: none), when it is not the default."""
    if max_pixels == MAX_PIXELS:
        yield
        return
    with _PIL_LIMIT_LOCK:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def open_image(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """Decode an image file completely (first frame if animated, EXIF orientation applied); images over
    `max_pixels` (None: no limit) are refused from their header, before any decoding."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings(), _pil_limit(max_pixels):
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.seek(0)
                image.load()
                return prepare_image(image, name=str(path), max_pixels=max_pixels)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(f"{path}: image is too large ({_pixels_in(error)}); {limit_text(max_pixels)}") from error
    except UnidentifiedImageError as error:
        raise ValueError(f"{path}: not an image file in a format we read ({READABLE_FORMATS})") from error
    except OSError as error:  # truncated data, broken headers
        raise ValueError(f"{path}: cannot decode image ({error})") from error


def _pixels_in(error: Exception) -> str:
    """The pixel count PIL's decompression-bomb check names, in megapixels (its own limit is not ours to show)."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    return f"{int(found[1]) / 1e6:.1f} megapixels" if found else "too many pixels"


def prepare_image(image: Image.Image, name: str = "image", max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """Check size, take the first frame and apply EXIF orientation; returns a fully loaded copy."""
    if not isinstance(image, Image.Image):
        raise ValueError(f"{name}: expected a PIL.Image.Image, got {type(image).__name__}")
    width, height = image.size
    if width < 1 or height < 1:
        raise ValueError(f"{name}: image has no pixels ({width}x{height})")
    if max_pixels and width * height > max_pixels:
        size = f"{width}x{height} ({width * height / 1e6:.1f} megapixels)"
        raise ImageTooLarge(f"{name}: image is {size}; {limit_text(max_pixels)}")
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    try:
        image = ImageOps.exif_transpose(image)  # returns a copy
    except Exception as error:  # malformed EXIF must not make a good image unusable
        warnings.warn(f"{name}: ignoring unreadable EXIF orientation ({error})", stacklevel=2)
        image = image.copy()
    return image


def to_mode(image: Image.Image, channels: int) -> Image.Image:
    """Convert any PIL mode to RGB (channels=3) or L (channels=1): 16-bit and float scaled, alpha over white."""
    if channels not in (1, 3):
        raise ValueError(f"only 1- or 3-channel images are supported, not {channels}")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16"):
            array = array / 257.0
        elif array.size and (array.max() > 255 or array.min() < 0):
            low, high = float(array.min()), float(array.max())
            array = (array - low) / max(high - low, 1e-12) * 255.0
        image = Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB" if channels == 3 else "L")


def image_pixels(image: Image.Image, channels: int = 3) -> np.ndarray:
    """PIL image to uint8 (H, W, C) pixels in `channels` channels (grey or RGB)."""
    array = np.asarray(to_mode(image, channels))
    return array[:, :, None] if array.ndim == 2 else array


def image_to_tensor(image: Image.Image, channels: int = 3) -> torch.Tensor:
    """PIL image to a float32 (C, H, W) tensor in [-1, 1]."""
    return pixels_to_tensor(image_pixels(image, channels))


def pixels_to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """8-bit (..., H, W, C) pixels to a float32 (..., C, H, W) tensor in [-1, 1]."""
    channels_first = np.moveaxis(np.asarray(pixels, dtype=np.float32), -1, -3)
    # numpy, not torch: the arithmetic is the same, and torch's thread pool, woken for a tensor this size, would
    # keep spinning on the cores that ONNX Runtime's workers need next
    return torch.from_numpy(np.ascontiguousarray(channels_first) / np.float32(127.5) - np.float32(1.0))


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    """A (C, H, W) tensor in [-1, 1] to an RGB PIL image (one channel is repeated; a source's extra instance-map
    channel, the last of 2 or 4, is not shown)."""
    array = tensor.detach().float().cpu().numpy()  # numpy arithmetic: see image_to_tensor
    if array.shape[0] in (2, 4):
        array = array[:-1]
    if array.shape[0] == 1:
        array = np.broadcast_to(array, (3, *array.shape[1:]))
    levels = ((np.clip(array, -1, 1) + np.float32(1.0)) * np.float32(127.5)).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(levels.transpose(1, 2, 0)), mode="RGB")


def png_bytes(image: Image.Image) -> bytes:
    """Lossless encoding for grids and dataset images."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
