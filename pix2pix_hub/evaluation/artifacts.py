"""What a person sees first in a low-budget model's outputs, as numbers: the upsampling mesh, and missing streets.

`checkerboard_score`: a decoder whose stride-2 transposed convolutions overlap unevenly prints a fixed pattern with
a period of 2, 4 or 8 pixels (Odena, Dumoulin and Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).
A periodic pattern is a spike in the image's amplitude spectrum at the frequencies whose period divides 8: bins
(i H / p, j W / p) for p in 2, 4, 8, the DC term left out. Photos have smooth spectra there. The score is the mean,
over those bins and over the images, of the bin's amplitude divided by the mean amplitude of its 8 neighbours,
after a Hann window (so the image's borders add no spike). It is 1 for a smooth spectrum and grows with the mesh;
compare a model's score with its real targets' (`checkerboard_ratio`).

`road_share`: the share of the ground-truth map's road pixels that the generated map draws as road (sat2map).
Google Maps tiles as in the pix2pix maps data draw streets near-white (every channel >= 245, above the land's
~232) and major roads yellow or orange (red and green high, blue low).
"""

from __future__ import annotations

import numpy as np

MESH_PERIODS = (2, 4, 8)
ROAD_WHITE = 245  # every channel at least this: a street (the land around it is about 225-240)


def _amplitude(image: np.ndarray) -> np.ndarray:
    """The Hann-windowed amplitude spectrum of an (H, W[, C]) image's luminance, its mean removed."""
    grey = np.asarray(image, dtype=np.float64)
    grey = grey.mean(axis=-1) if grey.ndim == 3 else grey
    grey = grey - grey.mean()
    window = np.outer(np.hanning(grey.shape[0]), np.hanning(grey.shape[1]))
    return np.abs(np.fft.fft2(grey * window))


def mesh_bins(height: int, width: int) -> list[tuple[int, int]]:
    """The spectrum bins of patterns with a period of 2, 4 or 8 pixels (the DC bin left out)."""
    bins = {
        (i * height // period, j * width // period)
        for period in MESH_PERIODS
        if height % period == 0 and width % period == 0
        for i in range(period)
        for j in range(period)
    }
    return sorted(bins - {(0, 0)})


def peak_ratios(image: np.ndarray) -> np.ndarray:
    """Each mesh bin's amplitude over the mean amplitude of its 8 neighbours (wrapping around the spectrum)."""
    amplitude = _amplitude(image)
    height, width = amplitude.shape
    ratios = []
    for row, column in mesh_bins(height, width):
        around = [
            amplitude[(row + dr) % height, (column + dc) % width] for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc
        ]
        ratios.append(amplitude[row, column] / max(np.mean(around), 1e-12))
    return np.asarray(ratios)


def checkerboard_score(images: list[np.ndarray]) -> float:
    """The mean spectral peak ratio at the mesh frequencies over `images` (uint8 (H, W, 3)): 1 when smooth."""
    if not images:
        raise ValueError("checkerboard_score needs at least one image")
    return float(np.mean([peak_ratios(image).mean() for image in images]))


def checkerboard_ratio(outputs: list[np.ndarray], targets: list[np.ndarray]) -> dict[str, float]:
    """The outputs' score, the real targets' and their ratio (1: no more mesh than the photos themselves have)."""
    model, real = checkerboard_score(outputs), checkerboard_score(targets)
    return {"checkerboard": model, "checkerboard_real": real, "checkerboard_ratio": model / real}


def road_pixels(map_image: np.ndarray) -> np.ndarray:
    """A boolean (H, W) mask of the pixels a Google-Maps-style tile draws as road (white streets, yellow roads)."""
    rgb = np.asarray(map_image, dtype=np.int32)
    white = rgb.min(axis=-1) >= ROAD_WHITE
    yellow = (rgb[..., 0] >= 235) & (rgb[..., 1] >= 180) & (rgb[..., 2] <= 175)
    return white | yellow


def road_share(outputs: list[np.ndarray], targets: list[np.ndarray]) -> dict[str, float]:
    """Of all ground-truth road pixels, the share drawn as road in the outputs (recall), and the share of the
    outputs' road pixels that are road in the truth (precision)."""
    if len(outputs) != len(targets) or not outputs:
        raise ValueError(f"road_share needs as many outputs as targets, at least one ({len(outputs)}, {len(targets)})")
    truth = np.stack([road_pixels(target) for target in targets])
    drawn = np.stack([road_pixels(output) for output in outputs])
    both = np.count_nonzero(truth & drawn)
    return {
        "road_share": both / max(np.count_nonzero(truth), 1),
        "road_precision": both / max(np.count_nonzero(drawn), 1),
    }
