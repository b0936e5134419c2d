"""`Pix2PixPipeline`: images in, images out. The networks know tensors; the pipeline knows images; the runner
(`runner.py`) runs the network, on the path the pipeline's `backend` and `precision` name.

Aspect ratio: the generator sees an input of `image_size` (its training resolution by default: 256x256 for
unet_256; an int is a square, a (height, width) pair any shape the network takes), so an image of another shape is
resized to it, translated, and the output resized back to the input's own width and height. This is what the
reference implementation does with `--preprocess resize`, and the default `mode="resize"`.

Generators that take a latent code (BicycleGAN's) give many outputs for one input: `num_samples=k` returns k
images per input, from k codes drawn from `seed` (or given as `z=`); `encode(photo)` gives the code of a real
photo when the model folder holds its encoder (see `multimodal.py`).

`mode="full"` translates the whole image at its own resolution (or at `scale` times it) in one pass: exact, for
images that fit in memory. `mode="tiled"` translates overlapping tiles and blends them: memory bounded for any
size, with the statistics of per-image norms and the dropout masks shared across tiles (see `tiling.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..images import MAX_PIXELS, image_pixels, image_to_tensor, open_image, prepare_image
from ..networks import LATENT, LatentEncoder, Pix2PixGenerator
from .fast.int8 import Int8Calibration, find_calibration
from .interface import InferenceGenerator, Size, size_text
from .multimodal import (
    check_encoder,
    check_sample_count,
    encode_image,
    latent_inputs,
    load_encoder,
    repeat_each,
    sample_codes,
)
from .runner import BACKENDS, PRECISIONS, Runner
from .tiling import MODES, AnySizeTranslator, Tiling, check_mode

ImageInput = Image.Image | str | Path
__all__ = ["BACKENDS", "MODES", "PRECISIONS", "ImageInput", "Pix2PixPipeline", "Tiling"]


class Pix2PixPipeline:
    """Translate PIL images (any mode, any size) with a `Pix2PixGenerator` or any generator with its interface
    (`InferenceGenerator`: every registered architecture).

    `backend="auto"` (the default) runs on the CPU through ONNX Runtime (same float32 outputs, about twice as
    fast; the graph is exported on the first call or by `warm_up()`) and on GPUs in PyTorch; `backend="torch"`
    forces plain PyTorch. Models whose `inference_mode` is "paper" run as `PaperModeNetwork` in either backend:
    each image normalised with its own statistics and dropout masks drawn from `seed` (random when no seed is given).

    `precision="auto"` (the default) runs the ONNX Runtime graph in int8 when the model ships an `int8_calibration`
    validated on its own eval split for this image size and inference mode (see `fast/int8.py`; about 2x faster on
    the U-Net-256, every validated output within 40 dB of float32) and in exact float32 otherwise;
    `precision="float32"` turns int8 off, `precision="int8"` insists on it. `self.precision` says which runs.

    `mode` ("resize", "full" or "tiled", see the module) says at what size the image is translated; `scale` resizes
    the input before a `full` or `tiled` translation (the output comes back at the input's size), `tiling` sets the
    tile side, overlap and statistics proxy (`Tiling`; by default tiles of 4 grid cells overlapping by one).
    The `full` and `tiled` modes run in float32: on the CPU through ONNX Runtime with dynamic height and width,
    except tiles whose norms share statistics, which run in PyTorch. Images over `max_pixels` are refused (default:
    PIL's 89.5-megapixel decompression-bomb threshold; None takes any size).

    `encoder` (a BicycleGAN's E, loaded by `from_pretrained` from the folder's `encoder/`) lets `encode` turn a
    photo into the latent code that reproduces its look.
    """

    def __init__(
        self,
        generator: InferenceGenerator,
        device: str | torch.device | None = None,
        image_size: Size | None = None,
        backend: str = "auto",
        precision: str = "auto",
        int8_calibration: Int8Calibration | None = None,
        mode: str = "resize",
        scale: float = 1.0,
        tiling: Tiling | None = None,
        max_pixels: int | None = MAX_PIXELS,
        encoder: LatentEncoder | None = None,
    ):
        check_mode(mode)
        if not (isinstance(scale, (int, float)) and scale > 0):
            raise ValueError(f"scale must be a positive number (1 keeps the image's own size), got {scale!r}")
        if mode == "resize" and scale != 1:
            raise ValueError("scale applies to mode='full' and mode='tiled'; mode='resize' takes the model's size")
        if mode != "resize" and precision == "int8":
            held = ", ".join(map(size_text, int8_calibration.validated_sizes)) if int8_calibration else "no size"
            raise ValueError(
                f"mode={mode!r} runs in float32 only: the int8 calibration was validated at {held} (mode='resize'), "
                "not on whole images or tiles of other sizes; use precision='auto' or 'float32'"
            )
        if mode != "resize":
            precision, int8_calibration = "float32", None
        any_size = mode != "resize"
        self.runner = Runner(generator, device, image_size, backend, precision, int8_calibration, any_size)
        self.generator, self.device = self.runner.generator, self.runner.device
        self.backend, self.precision = self.runner.backend, self.runner.precision
        height, width = self.runner.size
        self.image_size: Size = height if height == width else (height, width)  # an int for a square, as ever
        self.mode, self.scale, self.max_pixels = mode, float(scale), max_pixels
        self.any_size = AnySizeTranslator(self.runner, mode, tiling) if mode != "resize" else None
        if encoder is not None:
            check_encoder(encoder, self.generator)
            encoder = encoder.to(self.device).eval()
        self.encoder = encoder

    def warm_up(self) -> Pix2PixPipeline:
        """Build the fast path now (the ONNX Runtime graph on a CPU), so that the first image does not wait for it."""
        self.runner.warm_up(images=self.any_size is None)
        return self

    @classmethod
    def from_pretrained(
        cls,
        repo_or_dir: str | Path,
        device: str | torch.device | None = None,
        backend: str = "auto",
        precision: str = "auto",
        image_size: Size | None = None,
        mode: str = "resize",
        scale: float = 1.0,
        tiling: Tiling | None = None,
        max_pixels: int | None = MAX_PIXELS,
        **hub_kwargs,
    ) -> Pix2PixPipeline:
        """Load a generator saved with `save_pretrained` (a local folder or a Hub repo id, `subfolder=` for one model
        of several), with its int8 calibration if it has one and, for a generator that takes a latent code, the
        encoder in its `encoder/` subfolder if it has one; without an `image_size`, a calibrated model runs at
        the size it was calibrated (and validated) at, others at their arch's native size."""
        generator = Pix2PixGenerator.from_pretrained(repo_or_dir, **hub_kwargs)
        encoder = load_encoder(repo_or_dir, generator, **hub_kwargs)
        calibration = find_calibration(repo_or_dir, **hub_kwargs) if precision != "float32" else None
        if image_size is None and calibration is not None:
            image_size = calibration.image_size
        return cls(
            generator,
            device,
            image_size,
            backend=backend,
            precision=precision,
            int8_calibration=calibration,
            mode=mode,
            scale=scale,
            tiling=tiling,
            max_pixels=max_pixels,
            encoder=encoder,
        )

    def __call__(
        self,
        images: ImageInput | Sequence[ImageInput],
        seed: int | None = None,
        num_samples: int | None = None,
        sync: bool = False,
        **inputs,
    ) -> Image.Image | list[Image.Image] | list[list[Image.Image]]:
        """Translate one image (returns an image) or a list (returns a list), each at its own size.

        `seed` fixes the noise: the dropout masks of models whose `inference_mode` is "paper", and the latent codes
        of generators that take one and are not given it ("eval" models without a code are deterministic anyway).
        `inputs` are the generator's other declared inputs by name (`self.generator.inputs`): a latent code as a
        (C,) or (N, C) tensor, an image input (a previous frame) as a PIL image or a list of one per image.

        `num_samples=k` (generators with a latent code only): k outputs per image, a list of k for one image and
        a list of n such lists for n images, from k codes per image drawn from `seed`; with `sync=True` every image
        gets the same k codes. A given code is (C,) for all outputs, (k, C) for the k outputs of every image, or
        (n, k, C).
        """
        single = isinstance(images, (Image.Image, str, Path))
        batch = [images] if single else list(images)
        if not batch:
            raise ValueError("no images given")
        if num_samples is not None:
            samples = self._samples(batch, check_sample_count(num_samples), seed, sync, inputs)
            return samples[0] if single else samples
        if sync:
            raise ValueError("sync=True reuses one set of latent codes for every image: give num_samples=k too")
        results = self._translate(batch, seed, inputs)
        return results[0] if single else results

    def _translate(self, batch: list[ImageInput], seed: int | None, inputs: dict) -> list[Image.Image]:
        """One output per image of `batch`, each at the image's own size."""
        prepared = [self._load(item, index) for index, item in enumerate(batch)]
        others = self.other_inputs(inputs, len(prepared), seed)
        if self.any_size is not None:
            return [
                self._translate_any_size(image, seed, one_image(others, index)) for index, image in enumerate(prepared)
            ]
        model_size = self.runner.size
        spatial = {name: value(model_size) if callable(value) else value for name, value in others.items()}
        pixels = np.stack([self.model_input(image) for image in prepared])
        outputs = self.runner.run({"source": pixels, **spatial}, seed)
        return [self.restore_size(output, image.size) for output, image in zip(outputs, prepared, strict=True)]

    def _samples(
        self, batch: list[ImageInput], count: int, seed: int | None, sync: bool, inputs: dict
    ) -> list[list[Image.Image]]:
        """`count` outputs for each image of `batch`: each image repeated once per code, in one forward pass."""
        latents = latent_inputs(self.generator)
        if not latents:
            takes = ", ".join(item.name for item in self.runner.inputs)
            raise ValueError(
                f"{self.generator.arch} takes no latent code (its inputs: {takes}), so it makes one output per "
                "image: num_samples needs a generator with a latent input, such as a BicycleGAN's"
            )
        others = {name: repeat_each(value, count) for name, value in inputs.items()}
        for item in latents:
            codes = sample_codes(inputs.get(item.name), len(batch), count, item.channels, seed, sync)
            others[item.name] = codes.reshape(len(batch) * count, item.channels)
        loaded = [self._load(item, index) for index, item in enumerate(batch)]  # a file decoded once
        outputs = self._translate(repeat_each(loaded, count), seed, others)
        return [outputs[start : start + count] for start in range(0, len(outputs), count)]

    def encode(self, photo: ImageInput) -> torch.Tensor:
        """The (C,) latent code of a photo of the target domain, the mean of the encoder's posterior (BicycleGAN's
        "encode" mode): `pipe(edges, z=pipe.encode(photo))` draws the edges in that photo's colours and look."""
        if self.encoder is None:
            raise ValueError(
                f"this pipeline has no encoder to turn a photo into a latent code of {self.generator.arch}: load a "
                "BicycleGAN folder that holds one in encoder/ with Pix2PixPipeline.from_pretrained, or pass "
                "encoder=LatentEncoder.from_pretrained(FOLDER, subfolder='encoder')"
            )
        return encode_image(self.encoder, self._load(photo, 0), self.device)

    def other_inputs(self, given: dict, count: int, seed: int | None) -> dict:
        """The generator's inputs beyond the source for `count` images: latent codes as (count, C) tensors (drawn
        from N(0, 1) with `seed` when not given), image inputs as functions of the size they are needed at."""
        declared = {item.name: item for item in self.runner.inputs[1:]}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            takes = ", ".join(declared) or "no other inputs"
            raise ValueError(f"{self.generator.arch} has no input {', '.join(unknown)} (it takes {takes})")
        others = {}
        for name, item in declared.items():
            if item.kind == LATENT:
                others[name] = latent_codes(given.get(name), item.channels, count, seed)
            elif name in given:
                others[name] = image_batch(given[name], item.channels, count, name)
            else:
                raise ValueError(f"{self.generator.arch} needs its {name!r} input ({item.kind}): pass {name}=...")
        return others

    def _translate_any_size(
        self, image: Image.Image, seed: int | None = None, others: dict | None = None
    ) -> Image.Image:
        """One image through the `full` or `tiled` mode, at `scale` times its size, returned at its own size."""
        scaled = (max(1, round(image.width * self.scale)), max(1, round(image.height * self.scale)))
        source = image if scaled == image.size else image.resize(scaled, Image.Resampling.BICUBIC)
        at_size = {
            name: value((scaled[1], scaled[0])) if callable(value) else value for name, value in (others or {}).items()
        }
        output = self.any_size(source, seed, at_size)
        return output if output.size == image.size else output.resize(image.size, Image.Resampling.BICUBIC)

    def _load(self, item: ImageInput, index: int) -> Image.Image:
        if isinstance(item, (str, Path)):
            return open_image(item, self.max_pixels)
        return prepare_image(item, name=f"image {index}", max_pixels=self.max_pixels)

    def model_input(self, image: Image.Image) -> np.ndarray:
        """The image resized to the model's input size, as uint8 (H, W, C) in the model's channels."""
        height, width = self.runner.size
        return image_pixels(image.resize((width, height), Image.Resampling.BICUBIC), self.generator.in_channels)

    @staticmethod
    def restore_size(output: np.ndarray, size: tuple[int, int]) -> Image.Image:
        """A uint8 (H, W, 3) output as an RGB image at the input's original (width, height) `size`."""
        image = Image.fromarray(output, mode="RGB")
        return image if image.size == size else image.resize(size, Image.Resampling.BICUBIC)


def one_image(others: dict, index: int) -> dict:
    """The other inputs of the `index`-th image of a batch (batch size 1)."""
    return {
        name: (lambda size, value=value: value(size)[index : index + 1])
        if callable(value)
        else value[index : index + 1]
        for name, value in others.items()
    }


def latent_codes(given, channels: int, count: int, seed: int | None) -> torch.Tensor:
    """(count, channels) codes: the given (C,), (1, C) or (count, C) tensor, else N(0, 1) draws from `seed`."""
    if given is None:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return torch.randn(count, channels, generator=generator)
    code = torch.as_tensor(given, dtype=torch.float32)
    code = code[None] if code.ndim == 1 else code
    if code.ndim != 2 or code.shape[1] != channels or code.shape[0] not in (1, count):
        raise ValueError(f"a latent code must be ({channels},) or (N, {channels}), got shape {tuple(code.shape)}")
    return code.expand(count, channels)


def image_batch(given, channels: int, count: int, name: str):
    """An image input (one PIL image for all, or one per image) as a function of (height, width) -> a tensor."""
    images = [given] * count if isinstance(given, Image.Image) else list(given)
    if len(images) != count or not all(isinstance(image, Image.Image) for image in images):
        raise ValueError(f"{name}: give a PIL image, or a list of {count} (one per image)")

    def at_size(size: tuple[int, int]) -> torch.Tensor:
        height, width = size
        return torch.stack(
            [image_to_tensor(image.resize((width, height), Image.Resampling.BICUBIC), channels) for image in images]
        )

    return at_size
