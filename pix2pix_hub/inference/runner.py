"""The one place a generator's test-time forward runs: eval or paper mode x PyTorch, ONNX Runtime or int8.

The pipeline (images <-> tensors), tiling, `evaluate()` (scores) and sequences call `Runner.run` on named inputs
(the generator's declaration: the source image, a latent code, the previous frame, ...):
- the mode is the generator's `inference_mode`: "eval" runs the module as is; "paper" runs `PaperModeNetwork`
  with dropout masks drawn image by image from `seed` (random without one);
- `backend="torch"` runs the module on its device at any size the network takes; `backend="onnxruntime"` (CPU)
  runs a graph exported at the runner's (height, width) size, built on the first call or by `warm_up()`, never in
  the constructor; batches of another size run in a graph with dynamic height and width (float32). The graphs
  are cached by size and precision, each with a session for float inputs and one for 8-bit pixels;
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
from ..networks.registry import LATENT
from .fast.int8 import Int8Calibration
from .fast.onnx import OnnxGenerator
from .interface import InferenceGenerator, Size, check_generator, input_size, inputs_of, ordered, size_text
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


Inputs = dict[str, "torch.Tensor | np.ndarray"]


class Runner:
    """A generator's test-time forward on named inputs; `backend` and `precision` say which path runs (see the
    module). `run` is the one entry: what it is given decides the rest (see there)."""

    def __init__(
        self,
        generator: InferenceGenerator,
        device: str | torch.device | None = None,
        size: Size | None = None,
        backend: str = "auto",
        precision: str = "auto",
        int8_calibration: Int8Calibration | None = None,
        any_size: bool = False,
    ):
        """`any_size`: inputs of every size run in the dynamic-size graph (the `full` and `tiled` modes), not only
        those of other sizes than `size`."""
        check_generator(generator)
        self.any_size = any_size
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.backend = choose_backend(backend, self.device)
        self.size = input_size(generator, size)
        self.generator = generator.to(self.device).eval()
        self.paper_mode = paper_mode_network(self.generator)
        self.precision = choose_precision(precision, self.generator, self.backend, self.size, int8_calibration)
        self._int8 = int8_calibration if self.precision == "int8" else None
        self._graphs: dict[tuple, OnnxGenerator] = {}  # ONNX Runtime graphs by (size or "any", precision)
        self._graphs_lock = threading.Lock()  # two first calls from two threads build a graph once

    @property
    def inputs(self):
        """The generator's declared inputs (the source image first), as `run` takes them by name."""
        return inputs_of(self.generator)

    @property
    def onnx(self) -> OnnxGenerator | None:
        """The graph of the runner's own size once built (None before its first call or `warm_up`)."""
        return self._graphs.get((self.size, self.precision))

    def graph(self, size: tuple[int, int] | None) -> OnnxGenerator:
        """The ONNX Runtime graph for inputs of `size` (None: any size, float32), exported on first use: at the
        runner's own size in its precision, int8 included; at others the dynamic-size float32 graph."""
        fixed = size == self.size and not self.any_size
        key = (size if fixed else "any", self.precision if fixed else "float32")
        with self._graphs_lock:
            if key not in self._graphs:
                int8 = self._int8 if fixed else None
                self._graphs[key] = OnnxGenerator(
                    self.generator, self.paper_mode, self.size, int8=int8, any_size=not fixed
                )
            return self._graphs[key]

    def warm_up(self, images: bool = False) -> None:
        """Export and start the ONNX Runtime graph of the runner's size (or the dynamic-size one) now (seconds for
        a big network), so that no call waits for it: float inputs, or with `images` the 8-bit image session."""
        if self.backend == "onnxruntime":
            graph = self.graph(None if self.any_size else self.size)
            graph.warm_up(images=images and graph.takes_images)

    def draw_masks(self, batch_shape: tuple[int, ...], seed: int | None = None) -> dict[str, torch.Tensor]:
        """Dropout masks for an (N, C, H, W) batch in "paper" mode, by input name (none in "eval" mode); a seed
        makes each image's noise repeat."""
        if self.paper_mode is None:
            return {}
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        masks = self.paper_mode.draw_masks(batch_shape, generator)
        return {f"mask{index}": mask for index, mask in enumerate(masks)}

    def draw_latents(self, batch: int, seed: int | None, given: Inputs) -> dict[str, torch.Tensor]:
        """N(0, 1) codes, from `seed`, for the declared latent inputs that `given` lacks."""
        missing = [item for item in self.inputs if item.kind == LATENT and item.name not in given]
        generator = torch.Generator().manual_seed(seed) if seed is not None and missing else None
        return {item.name: torch.randn(batch, item.channels, generator=generator) for item in missing}

    @torch.inference_mode()
    def run(self, inputs: Inputs, seed: int | None = None, network: torch.nn.Module | None = None):
        """The outputs for named inputs: the generator's declared ones ("source", then e.g. "z" or "previous"), and
        in "paper" mode optionally its dropout masks ("mask0", ...; drawn from `seed` when not given, as are latent
        codes not given).

        - A float32 (N, C, H, W) "source" in [-1, 1] gives the float outputs; a uint8 (N, H, W, C) one gives uint8
          (N, H, W, 3) outputs, converted as `image_to_tensor` and `tensor_to_image` convert (on the CPU backend
          inside the ONNX Runtime graph).
        - On the CPU backend: at the runner's size its graph (int8 where calibrated), at other sizes the
          dynamic-size float32 graph; int8 refuses other sizes rather than quietly run float32. Else PyTorch.
        - `network` (PyTorch) replaces the test-time network, e.g. tiling's copy whose norms share statistics.
        """
        source = inputs.get("source")
        if source is None:
            raise ValueError(f"no 'source' in the inputs ({', '.join(inputs) or 'none given'})")
        pixels = isinstance(source, np.ndarray)
        size = tuple(source.shape[1:3] if pixels else source.shape[-2:])
        if self.precision == "int8" and size != self.size:
            raise ValueError(
                f"int8 runs at {size_text(self.size)}, the calibrated size, but this batch is {size_text(size)} "
                "(resize the inputs, calibrate at this size, or use precision='float32')"
            )
        given = dict(inputs) | self.draw_latents(len(source), seed, inputs)
        declared = {name: value for name, value in given.items() if not name.startswith("mask")}
        values = ordered(self.inputs, declared, self.generator.arch)  # refuses a missing or unknown input here
        if len(declared) == len(given):
            given |= self.draw_masks((len(source), 0, *size), seed)
        if self.backend == "onnxruntime" and network is None:
            graph = self.graph(size)
            if not pixels or graph.takes_images:
                return graph(given)
        if pixels:
            outputs = self.run(given | {"source": pixels_to_tensor(source)}, seed, network)
            return np.stack([np.asarray(tensor_to_image(output)) for output in outputs.cpu()])
        return self._torch(values, given, network)

    def _torch(self, values: list[torch.Tensor], given: Inputs, network: torch.nn.Module | None) -> torch.Tensor:
        """The PyTorch forward on the declared inputs' `values` (and paper mode's masks from `given`)."""
        values = [value.to(self.device) for value in values]
        if self.paper_mode is None and network is None:
            return self.generator(*values)
        layers = len(self.paper_mode.dropouts) if self.paper_mode is not None else 0
        masks = [given[f"mask{index}"].to(self.device) for index in range(layers)]
        return (network or self.paper_mode)(*values, *masks)
