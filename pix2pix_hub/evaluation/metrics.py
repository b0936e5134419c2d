"""Paired image metrics: L1, PSNR and SSIM (as scikit-image computes them), on the 8-bit RGB images a user would see.

Outputs and targets are compared after conversion to 8-bit RGB and scaling to [0, 1]: L1 is the mean absolute
error, PSNR uses a data range of 1, SSIM follows Wang et al. 2004 (Gaussian window, sigma 1.5, population
covariance), averaged over channels. Each metric is averaged over images.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

METRIC_NAMES = ("l1", "psnr", "ssim")


def _as_unit_float(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def pair_metrics(output: Image.Image, target: Image.Image) -> dict[str, float]:
    """L1, PSNR (dB) and SSIM of one output against its target (same size)."""
    if output.size != target.size:
        raise ValueError(f"output is {output.size[0]}x{output.size[1]} but target is {target.size[0]}x{target.size[1]}")
    out, ref = _as_unit_float(output), _as_unit_float(target)
    smallest = min(ref.shape[:2])
    window = min(11, smallest if smallest % 2 else smallest - 1)  # Wang et al.'s 11x11, smaller for tiny images
    return {
        "l1": float(np.abs(out - ref).mean()),
        "psnr": psnr(ref, out, data_range=1.0),
        "ssim": float(
            structural_similarity(
                ref,
                out,
                data_range=1.0,
                channel_axis=2,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                win_size=window,
            )
        ),
    }


def psnr(reference: np.ndarray, output: np.ndarray, data_range: float) -> float:
    """scikit-image's PSNR, same float64 arithmetic, without its import of scipy.stats (~1 s per evaluating process)."""
    if np.array_equal(reference, output):
        return math.inf
    mean_squared_error = np.mean((reference.astype(np.float64) - output.astype(np.float64)) ** 2, dtype=np.float64)
    return float(10 * np.log10(data_range**2 / mean_squared_error))


def output_psnr(output: np.ndarray, reference: np.ndarray) -> float:
    """PSNR (dB) of a network output against a reference output, both in [-1, 1] (a data range of 2)."""
    return psnr(reference, output, data_range=2.0)


def mean_metrics(per_image: list[dict[str, float]]) -> dict[str, float]:
    """The average of each metric over images."""
    if not per_image:
        raise ValueError("no images to average metrics over")
    return {name: float(np.mean([metrics[name] for metrics in per_image])) for name in METRIC_NAMES}
