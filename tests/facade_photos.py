"""64 real facade photos at 64x64 (tests/fixtures/realism, see its README): real texture for the realism tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

MOSAIC = Path(__file__).parent / "fixtures" / "realism" / "facades_photos_64px.jpg"
TILE = 64


def facade_photos() -> np.ndarray:
    """The photos as one uint8 (64, 64, 64, 3) array, cut from the 8x8 mosaic row by row."""
    mosaic = np.asarray(Image.open(MOSAIC).convert("RGB"))
    rows, columns = mosaic.shape[0] // TILE, mosaic.shape[1] // TILE
    return np.stack(
        [mosaic[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE] for r in range(rows) for c in range(columns)]
    )
