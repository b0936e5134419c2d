"""pix2pix and its family (CycleGAN, pix2pixHD, ...) for the Hugging Face ecosystem.

The public classes load on first use, so light entry points (`train_accelerate.py --help`, the methods' recipes)
start without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .inference.multimodal import interpolate_codes
    from .inference.pipeline import Pix2PixPipeline
    from .networks import PatchDiscriminator, Pix2PixGenerator

_PUBLIC = {
    "PatchDiscriminator": ".networks",
    "Pix2PixGenerator": ".networks",
    "Pix2PixPipeline": ".inference.pipeline",
    "interpolate_codes": ".inference.multimodal",
}
__all__ = ["PatchDiscriminator", "Pix2PixGenerator", "Pix2PixPipeline", "interpolate_codes"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'pix2pix_hub' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name], __name__), name)
