"""`Pix2PixPipeline`: images in, images out. The networks know tensors; the pipeline knows images and devices.

Aspect ratio: the generator sees a square `image_size` x `image_size` input (the resolution it was trained at,
256 for unet_256), so a non-square image is stretched to a square, translated, and the output resized back
to the input's own width and height. This is what the reference implementation does with `--preprocess resize`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from ..images import image_to_tensor, open_image, prepare_image, tensor_to_image
from ..networks import Pix2PixGenerator
from .fast.int8 import Int8Calibration, find_calibration
from .fast.onnx import OnnxGenerator
from .paper_mode import PaperModeNetwork

ImageInput = Image.Image | str | Path
BACKENDS = ("auto", "onnxruntime", "torch")
PRECISIONS = ("auto", "float32", "int8")
logger = logging.getLogger(__name__)


class Pix2PixPipeline:
    """Translate PIL images (any mode, any size) with a `Pix2PixGenerator`.

    `backend="auto"` (the default) runs on the CPU through ONNX Runtime (same float32 outputs, about twice as
    fast) and on GPUs in PyTorch; `backend="torch"` forces plain PyTorch. Models whose `inference_mode` is
    "paper" run as `PaperModeNetwork` in either backend: each image normalised with its own statistics and
    dropout masks drawn from `seed` (random when no seed is given).

    `precision="auto"` (the default) runs the ONNX Runtime graph in int8 when the model ships an `int8_calibration`
    validated on its own eval split for this image size and inference mode (see `pix2pix_hub.int8`; about 2x
    faster on the U-Net-256, every validated output within 40 dB of float32) and in exact float32 otherwise;
    `precision="float32"` turns int8 off, `precision="int8"` insists on it. `self.precision` says which runs.
    """

    def __init__(
        self,
        generator: Pix2PixGenerator,
        device: str | torch.device | None = None,
        image_size: int | None = None,
        backend: str = "auto",
        precision: str = "auto",
        int8_calibration: Int8Calibration | None = None,
    ):
        if not isinstance(generator, Pix2PixGenerator):
            raise ValueError(f"generator must be a Pix2PixGenerator, got {type(generator).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r} is not supported; choose one of {', '.join(BACKENDS)}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r} is not supported; choose one of {', '.join(PRECISIONS)}")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.generator = generator.to(self.device).eval()
        self.image_size = image_size or generator.native_size
        if self.image_size % generator.size_multiple:
            raise ValueError(f"image_size {self.image_size} must be a multiple of {generator.size_multiple}")
        if backend == "onnxruntime" and self.device.type != "cpu":
            raise ValueError("the onnxruntime backend runs on the CPU only; use backend='torch' on a GPU")
        self.backend = "onnxruntime" if backend != "torch" and self.device.type == "cpu" else "torch"
        self._paper_mode = PaperModeNetwork(self.generator) if generator.inference_mode == "paper" else None
        self.precision = self._choose_precision(precision, int8_calibration)
        self._onnx = None
        if self.backend == "onnxruntime":
            int8 = int8_calibration if self.precision == "int8" else None
            self._onnx = OnnxGenerator(self.generator, self._paper_mode, self.image_size, int8=int8)

    def _choose_precision(self, precision: str, calibration: Int8Calibration | None) -> str:
        """int8 where asked for or calibrated ("auto") and applicable; a clear error where it is demanded but can't."""
        if precision == "float32" or (precision == "auto" and calibration is None):
            return "float32"
        why_not = None
        if calibration is None:
            why_not = "the model has no int8 calibration (python -m pix2pix_hub.calibrate_int8 makes one)"
        elif self.backend != "onnxruntime":
            why_not = "int8 runs on the onnxruntime backend (CPU) only"
        else:
            why_not = calibration.mismatch(self.generator, self.image_size)
        if why_not is None:
            return "int8"
        if precision == "int8":
            raise ValueError(f"precision='int8' is not possible: {why_not}")
        logger.warning("running in float32, not int8: %s", why_not)
        return "float32"

    @classmethod
    def from_pretrained(
        cls,
        repo_or_dir: str | Path,
        device: str | torch.device | None = None,
        backend: str = "auto",
        precision: str = "auto",
        **hub_kwargs,
    ) -> Pix2PixPipeline:
        """Load a generator saved with `save_pretrained` (a local folder or a Hub repo id), with its int8 calibration
        if it has one."""
        generator = Pix2PixGenerator.from_pretrained(repo_or_dir, **hub_kwargs)
        calibration = find_calibration(repo_or_dir, **hub_kwargs) if precision != "float32" else None
        return cls(generator, device=device, backend=backend, precision=precision, int8_calibration=calibration)

    def __call__(
        self, images: ImageInput | Sequence[ImageInput], seed: int | None = None
    ) -> Image.Image | list[Image.Image]:
        """Translate one image (returns an image) or a list (returns a list), each at its own size.

        `seed` fixes the dropout noise of models whose `inference_mode` is "paper"; "eval" models are
        deterministic anyway.
        """
        single = isinstance(images, (Image.Image, str, Path))
        batch = [images] if single else list(images)
        if not batch:
            raise ValueError("no images given")
        prepared = [self._load(item, index) for index, item in enumerate(batch)]
        inputs = torch.stack([self.preprocess(image) for image in prepared])
        outputs = self.forward(inputs, seed=seed)
        results = [self.postprocess(output, image.size) for output, image in zip(outputs, prepared, strict=True)]
        return results[0] if single else results

    @staticmethod
    def _load(item: ImageInput, index: int) -> Image.Image:
        if isinstance(item, (str, Path)):
            return open_image(item)
        return prepare_image(item, name=f"image {index}")

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """Resize to the model's square input and scale to [-1, 1]."""
        resized = image.resize((self.image_size, self.image_size), Image.Resampling.BICUBIC)
        return image_to_tensor(resized, self.generator.in_channels)

    def postprocess(self, output: torch.Tensor, size: tuple[int, int]) -> Image.Image:
        """Map [-1, 1] back to an RGB image at the input's original size."""
        image = tensor_to_image(output)
        return image if image.size == size else image.resize(size, Image.Resampling.BICUBIC)

    @torch.inference_mode()
    def forward(self, inputs: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """Run the test-time network on a (N, C, H, W) batch in [-1, 1] (ONNX Runtime: `image_size` only)."""
        masks = []
        if self._paper_mode is not None:
            generator = torch.Generator().manual_seed(seed) if seed is not None else None
            masks = self._paper_mode.draw_masks(inputs.shape, generator)
        if self._onnx is not None and inputs.shape[-1] == inputs.shape[-2] == self.image_size:
            return self._onnx(inputs, masks)
        inputs = inputs.to(self.device)
        if self._paper_mode is not None:
            return self._paper_mode(inputs, *(mask.to(self.device) for mask in masks))
        return self.generator(inputs)
