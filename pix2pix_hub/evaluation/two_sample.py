"""A classifier two-sample test: can a small CNN, trained on some generated and real images, tell others apart?

A second opinion beside the sliced Wasserstein distance (`realism.py`), in a unit a person reads at once: the
accuracy on held-out images, 0.5 when the CNN cannot tell them apart, 1.0 when it always can (Lopez-Paz and Oquab,
"Revisiting classifier two-sample tests", ICLR 2017). The images are split into the same two halves as the SWD
(`realism.split_halves`); the CNN learns on the first half's outputs against their own real targets, so the content
of an image is no clue, and is scored on the second half's outputs and targets, which it has never seen. It sees
random 64x64 crops at full resolution, where texture and blur live, and judges a held-out image by the mean of its
logits over crops that tile it. Both sets are first saved as JPEG (quality 90) and read back: real data sets are
JPEG files and generated images are not, and a CNN finds compression blocks before anything a person would see.
Small: 300 steps train it in about 10 s on one CPU thread, so its accuracy is rough (about +-0.05 at 100
held-out images); with few images it overfits and errs towards 0.5.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .realism import _pixels, split_halves

CROP = 64
STEPS = 300
BATCH = 32  # crops per step, half generated, half real
LEARNING_RATE = 1e-3
JPEG_QUALITY = 90


def classifier(width: int = 16) -> nn.Sequential:
    """Four stride-2 convolutions, global average pooling and one logit (positive: generated)."""
    layers, channels = [], 3
    for out in (width, 2 * width, 4 * width, 4 * width):
        layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
        channels = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 1))


def _as_jpeg_tensors(pixels: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) images through a JPEG round trip, as a float (N, 3, H, W) tensor in [-1, 1]."""
    decoded = []
    for image in pixels:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=JPEG_QUALITY)
        decoded.append(np.asarray(Image.open(buffer).convert("RGB")))
    return torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).float() / 127.5 - 1


def _random_crops(images: torch.Tensor, count: int, side: int, generator: torch.Generator) -> torch.Tensor:
    """`count` random side x side crops of random images."""
    picks = torch.randint(len(images), (count,), generator=generator)
    tops = torch.randint(images.shape[2] - side + 1, (count,), generator=generator)
    lefts = torch.randint(images.shape[3] - side + 1, (count,), generator=generator)
    return torch.stack([images[i, :, t : t + side, x : x + side] for i, t, x in zip(picks, tops, lefts, strict=True)])


@torch.enable_grad()  # callers such as `evaluate` run under no_grad
def _train(network: nn.Module, fake: torch.Tensor, real: torch.Tensor, side: int, seed: int) -> None:
    """Logistic loss on balanced batches of random crops, Adam, STEPS steps."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    labels = torch.cat([torch.ones(BATCH // 2), torch.zeros(BATCH // 2)])
    for _ in range(STEPS):
        crops = torch.cat([_random_crops(images, BATCH // 2, side, generator) for images in (fake, real)])
        loss = F.binary_cross_entropy_with_logits(network(crops).squeeze(1), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@torch.no_grad()
def _mean_logits(network: nn.Module, images: torch.Tensor, side: int) -> torch.Tensor:
    """Per image, the mean logit over the crops that tile it (from the top left; a remainder is left out)."""
    tiles = images.unfold(2, side, side).unfold(3, side, side)  # (N, C, rows, columns, side, side)
    count, channels, rows, columns = tiles.shape[:4]
    crops = tiles.permute(0, 2, 3, 1, 4, 5).reshape(count * rows * columns, channels, side, side)
    return network(crops).reshape(count, rows * columns).mean(dim=1)


def classifier_two_sample_test(
    generated: Sequence[Image.Image | np.ndarray] | np.ndarray,
    real: Sequence[Image.Image | np.ndarray] | np.ndarray,
    seed: int = 0,
) -> float:
    """The held-out accuracy of a CNN telling `generated` from `real` 8-bit RGB images of one size (see the
    module); generated[i] made for the input whose target is real[i], or two unpaired sets (the first min(len) of
    each). At least 2 of each; deterministic for a seed on one thread."""
    count = min(len(generated), len(real))
    if count < 2:
        raise ValueError(f"the two-sample test needs at least 2 generated and 2 real images, got {count}")
    fake, actual = (_as_jpeg_tensors(_pixels(images[:count])) for images in (generated, real))
    side = min(CROP, *fake.shape[2:])
    first, second = split_halves(count, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = classifier()
    _train(network, fake[first], actual[first], side, seed)
    network.eval()
    called_fake = _mean_logits(network, fake[second], side) > 0
    called_real = _mean_logits(network, actual[second], side) <= 0
    return float(torch.cat([called_fake, called_real]).float().mean())
