"""The one place a generator's test-time forward runs: eval or paper mode x PyTorch, ONNX Runtime or int8.

The pipeline (images <-> tensors) and `evaluate()` (scores) both call a `Runner` on (N, C, H, W) batches in [-1, 1]:
- the mode is the generator's `inference_mode`: "eval" runs the module as is; "paper" runs `PaperModeNetwork`
  with dropout masks drawn image by image from `seed` (random without one);
- `backend="torch"` runs the module on its device at any size the network takes; `backend="onnxruntime"` (CPU)
  runs a graph exported at the runner's (height, width) size, built on the first call or by `warm_up()`, never in
  the constructor; batches of another size run in PyTorch (the same float32 arithmetic);
- `precision="int8"` runs that graph quantized, with a calibration made for these weights, this size and mode;
  it refuses batches of another size rather than quietly running them in float32.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import torch

from ..images import pixels_to_tensor, tensor_to_image
from ..networks.blocks import check_choice
from .fast.int8 import Int8Calibration
from .fast.onnx import OnnxGenerator
from .interface import InferenceGenerator, Size, check_generator, input_size, size_text
from .paper_mode import paper_mode_network

BACKENDS = ("auto", "onnxruntime", "torch")
PRECISIONS = ("auto", "float32", "int8")
logger = logging.getLogger(__name__)


def choose_backend(backend: str, device: torch.device) -> str:
    """The backend that runs: with "auto", ONNX Runtime on the CPU (same float32 outputs, faster), PyTorch on a GPU."""
    check_choice("backend", backend, BACKENDS)
    if backend == "onnxruntime" and device.type != "cpu":
        raise ValueError("the onnxruntime backend runs on the CPU only; use backend='torch' on a GPU")
    return "onnxruntime" if backend != "torch" and device.type == "cpu" else "torch"


def int8_unavailable(
    generator: InferenceGenerator, backend: str, size: tuple[int, int], calibration: Int8Calibration | None
) -> str | None:
    """Why int8 cannot run here (None when it can)."""
    if calibration is None:
        return "the model has no int8 calibration (python -m pix2pix_hub.calibrate_int8 makes one)"
    if backend != "onnxruntime":
        return "int8 runs on the onnxruntime backend (CPU) only"
    return calibration.mismatch(generator, size)


def choose_precision(
    precision: str,
    generator: InferenceGenerator,
    backend: str,
    size: tuple[int, int],
    calibration: Int8Calibration | None,
) -> str:
    """int8 where asked for or calibrated ("auto") and applicable; a clear error where it is demanded but can't."""
    check_choice("precision", precision, PRECISIONS)
    if precision == "float32" or (precision == "auto" and calibration is None):
        return "float32"
    why_not = int8_unavailable(generator, backend, size, calibration)
    if why_not is None:
        return "int8"
    if precision == "int8":
        raise ValueError(f"precision='int8' is not possible: {why_not}")
    logger.warning("running in float32, not int8: %s", why_not)
    return "float32"


class Runner:
    """A generator's test-time forward on tensors; `backend` and `precision` say which path runs (see the module)."""

    def __init__(
        self,
        generator: InferenceGenerator,
        device: str | torch.device | None = None,
        size: Size | None = None,
        backend: str = "auto",
        precision: str = "auto",
        int8_calibration: Int8Calibration | None = None,
    ):
        check_generator(generator)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.backend = choose_backend(backend, self.device)
        self.size = input_size(generator, size)
        self.generator = generator.to(self.device).eval()
        self.paper_mode = paper_mode_network(self.generator)
        self.precision = choose_precision(precision, self.generator, self.backend, self.size, int8_calibration)
        self._int8 = int8_calibration if self.precision == "int8" else None
        self.onnx: OnnxGenerator | None = None  # the ONNX Runtime graph, made by the first call or `warm_up()`
        self.onnx_any_size: OnnxGenerator | None = None  # the graph with dynamic height and width (full, tiled)
        self._onnx_lock = threading.Lock()  # two first calls from two threads build it once

    def warm_up(self, images: bool = False) -> None:
        """Export and start the ONNX Runtime graph now (seconds for a big network), so that no call waits for it:
        the tensor version (`__call__`), or with `images` the 8-bit image one (`images()`) that pipelines run."""
        if self.backend != "onnxruntime":
            return
        with self._onnx_lock:
            if self.onnx is None:
                self.onnx = OnnxGenerator(self.generator, self.paper_mode, self.size, int8=self._int8)
        self.onnx.warm_up(images=images and self.onnx.takes_images)

    @torch.inference_mode()
    def images(self, images: np.ndarray, seed: int | None = None) -> np.ndarray:
        """uint8 (N, H, W, C) images to uint8 (N, H, W, 3) outputs, converted as `image_to_tensor` and
        `tensor_to_image` convert; on the CPU backend at the runner's size, inside the ONNX Runtime graph."""
        if self.backend == "onnxruntime" and tuple(images.shape[1:3]) == self.size:
            self.warm_up(images=True)
            if self.onnx.takes_images:
                masks = self.draw_masks((len(images), images.shape[3], *self.size), seed)
                return self.onnx.images(images, masks)
        outputs = self(pixels_to_tensor(images), seed)
        return np.stack([np.asarray(tensor_to_image(output)) for output in outputs])

    def any_size_graph(self) -> OnnxGenerator:
        """The float32 ONNX Runtime graph with dynamic height and width, exported on first use."""
        with self._onnx_lock:
            if self.onnx_any_size is None:
                self.onnx_any_size = OnnxGenerator(self.generator, self.paper_mode, self.size, any_size=True)
        return self.onnx_any_size

    @torch.inference_mode()
    def run_any_size(
        self, inputs: torch.Tensor, masks: list[torch.Tensor], network: torch.nn.Module | None = None
    ) -> torch.Tensor:
        """The network on a batch of any size it takes, with the caller's dropout masks (the `full` and `tiled`
        modes): on the CPU backend the dynamic-size ONNX Runtime graph in float32, else (or for `network`, a copy
        of the network whose norms share one image's statistics across tiles) PyTorch."""
        if network is None and self.backend == "onnxruntime":
            return self.any_size_graph()(inputs, masks)
        network = network or self.paper_mode or self.generator.net
        return network(inputs.to(self.device), *(mask.to(self.device) for mask in masks)).cpu()

    def draw_masks(self, batch_shape: torch.Size, seed: int | None = None) -> list[torch.Tensor]:
        """Dropout masks for a batch in "paper" mode (none in "eval" mode); a seed makes each image's noise repeat."""
        if self.paper_mode is None:
            return []
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return self.paper_mode.draw_masks(batch_shape, generator)

    @torch.inference_mode()
    def __call__(self, inputs: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """The outputs of an (N, C, H, W) batch in [-1, 1]; on the CPU from ONNX Runtime, else on `device`."""
        masks = self.draw_masks(inputs.shape, seed)
        size = tuple(inputs.shape[-2:])
        if self.backend == "onnxruntime" and size == self.size:
            self.warm_up()
            return self.onnx(inputs, masks)
        if self.precision == "int8":  # PyTorch would run it in float32: not what `precision` promises
            raise ValueError(
                f"int8 runs at {size_text(self.size)}, the calibrated size, but this batch is {size_text(size)} "
                "(resize the inputs, calibrate at this size, or use precision='float32')"
            )
        inputs = inputs.to(self.device)
        if self.paper_mode is not None:
            return self.paper_mode(inputs, *(mask.to(self.device) for mask in masks))
        return self.generator(inputs)
