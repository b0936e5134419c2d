"""Many outputs for one input: the latent codes of a generator that takes one (BicycleGAN's G(source, z)).

Mirrors junyanz/BicycleGAN's test.py and video.py, for `Pix2PixPipeline` (which calls these):
- `sample_codes`: k codes z ~ N(0, 1) per image, drawn reproducibly from a seed; `sync` gives every image the same k
  (test.py's `--sync`). The codes are drawn one after another from the seed, image by image, so the first image of
  a list gets the codes it gets alone, and its first is the code `pipe(image, seed=s)` draws.
- `encode_image`: the code of a real photo, the mean of the encoder E's posterior (test.py's "encode" mode).
- `slerp` and `interpolate_codes`: a walk between two codes along the sphere (video.py with `util.interp_z`'s
  "slerp").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..hub import CONFIG_NAME
from ..images import image_to_tensor
from ..networks import LATENT, LatentEncoder
from .interface import InferenceGenerator, inputs_of

ENCODER_SUBFOLDER = "encoder"  # where a BicycleGAN's Hub folder keeps E (methods.bicyclegan writes it there)
PARALLEL = 1e-10  # |sin(omega)| below this: the codes are (anti)parallel and the walk is a straight line


def latent_inputs(generator: InferenceGenerator) -> list:
    """The generator's declared latent-code inputs (none for a pix2pix model)."""
    return [item for item in inputs_of(generator) if item.kind == LATENT]


def check_sample_count(num_samples: object) -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a whole number of outputs per image (1 or more), got {num_samples!r}")
    return num_samples


def sample_codes(given, images: int, samples: int, channels: int, seed: int | None, sync: bool) -> torch.Tensor:
    """(images, samples, channels) codes: the given (C,), (1, C), (samples, C) or (images, samples, C) tensor, else
    N(0, 1) draws from `seed` (random without one): one set for all images with `sync`, else a set per image."""
    if given is None:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        count = samples if sync else images * samples  # one code at a time: torch fills a big draw in another order
        drawn = torch.stack([torch.randn(channels, generator=generator) for _ in range(count)])
        return drawn.reshape(-1, samples, channels).expand(images, samples, channels)
    code = torch.as_tensor(given, dtype=torch.float32).cpu()
    code = code.reshape(1, 1, -1) if code.ndim == 1 else code[None] if code.ndim == 2 else code
    fits = code.ndim == 3 and code.shape[2] == channels and code.shape[1] in (1, samples)
    if not (fits and code.shape[0] in (1, images)):
        raise ValueError(
            f"with num_samples={samples}, a latent code must be ({channels},), ({samples}, {channels}) or "
            f"({images}, {samples}, {channels}) (one per output), got shape {tuple(torch.as_tensor(given).shape)}"
        )
    return code.expand(images, samples, channels)


def repeat_each(value, times: int):
    """A per-image input given as a list, each entry repeated `times` (one per sample); anything else as is."""
    return [item for item in value for _ in range(times)] if isinstance(value, (list, tuple)) else value


def load_encoder(
    repo_or_dir: str | Path, generator: InferenceGenerator, subfolder: str | None = None, **hub_kwargs
) -> LatentEncoder | None:
    """The encoder saved beside a generator that takes a latent code (`encoder/` of its folder or Hub repo), or None
    when there is none; generators without a latent input never look (no Hub round trip for pix2pix models)."""
    if not latent_inputs(generator):
        return None
    inner = f"{subfolder}/{ENCODER_SUBFOLDER}" if subfolder else ENCODER_SUBFOLDER
    if Path(repo_or_dir).is_dir():
        if not (Path(repo_or_dir) / inner / CONFIG_NAME).is_file():
            return None
        return LatentEncoder.from_pretrained(repo_or_dir, subfolder=inner)
    try:
        return LatentEncoder.from_pretrained(repo_or_dir, subfolder=inner, **hub_kwargs)
    except FileNotFoundError:  # a Hub repo of a generator alone
        return None


def check_encoder(encoder: LatentEncoder, generator: InferenceGenerator) -> None:
    """Refuse an encoder whose codes the generator cannot take, naming both sizes."""
    latents = latent_inputs(generator)
    if len(latents) != 1:
        raise ValueError(f"an encoder gives one latent code; {generator.arch} takes {len(latents)}")
    if encoder.nz != latents[0].channels:
        raise ValueError(
            f"the encoder gives codes of {encoder.nz} numbers but {generator.arch}'s {latents[0].name!r} takes "
            f"{latents[0].channels}: were they trained together?"
        )


@torch.inference_mode()
def encode_image(encoder: LatentEncoder, image: Image.Image, device: torch.device) -> torch.Tensor:
    """The (C,) code of a photo: E's mean (not a sample), the photo resized to E's square and channels."""
    side = encoder.image_size
    pixels = image_to_tensor(image.resize((side, side), Image.Resampling.BICUBIC), encoder.in_channels)
    mean, _ = encoder(pixels[None].to(device))
    return mean[0].float().cpu()


def as_code(value, name: str) -> np.ndarray:
    code = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
    if code.ndim != 1:
        raise ValueError(f"{name} must be one latent code, a (C,) vector, got shape {code.shape}")
    return code


def slerp(z0, z1, t: float) -> torch.Tensor:
    """The code at `t` (0: z0, 1: z1) on the great circle between two codes, as BicycleGAN's `util.interp_z` with
    "slerp" walks it; a straight line where sin(omega) is within 1e-10 of 0 (parallel codes). The cosine is
    clipped to [-1, 1] first, where the reference would take arccos of a rounding error above 1 and return NaN."""
    start, end = as_code(z0, "z0"), as_code(z1, "z1")
    if start.shape != end.shape:
        raise ValueError(f"the two codes differ in length: {start.shape[0]} and {end.shape[0]}")
    start_unit = start / (np.linalg.norm(start) + 1e-10)
    end_unit = end / (np.linalg.norm(end) + 1e-10)
    omega = np.arccos(np.clip(np.dot(start_unit, end_unit), -1.0, 1.0))
    sin_omega = np.sin(omega)
    if -PARALLEL < sin_omega < PARALLEL:
        code = (1 - t) * start + t * end
    else:
        code = np.sin((1 - t) * omega) / sin_omega * start + np.sin(t * omega) / sin_omega * end
    return torch.from_numpy(code.astype(np.float32))


def interpolate_codes(z0, z1, steps: int) -> torch.Tensor:
    """(steps, C) codes from z0 to z1 by `slerp` at t = n / (steps - 1), the frames of BicycleGAN's video.py."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be 2 or more (the two ends included), got {steps!r}")
    return torch.stack([slerp(z0, z1, n / float(steps - 1)) for n in range(steps)])
