"""The runner's fast CPU path: the generator exported once to ONNX, at one (height, width), and run by ONNX Runtime.

On 2 CPU cores ONNX Runtime runs the U-Net about 2x as fast as eager PyTorch with the same float32 numbers
(see benchmarks/inference.py). The runner exports on its first call or its `warm_up()`, never in a constructor.
Both inference modes export: "eval" as the plain network, "paper" as `PaperModeNetwork`, whose dropout masks are
extra inputs drawn by the runner.
"""

from __future__ import annotations

import io
import threading
import warnings

import numpy as np
import onnxruntime
import torch

from ..interface import InferenceGenerator, Size, height_width
from ..paper_mode import PaperModeNetwork
from .image_io import IMAGE_CHANNELS, IMAGE_INPUT, with_image_io
from .int8 import Int8Calibration
from .rewrites import fast_inference_graph

ONNX_OPSET = 17
_EXPORT_LOCK = threading.Lock()  # torch.onnx.export keeps global state: one export at a time per process


def export_to_onnx(
    generator: InferenceGenerator,
    paper_mode: PaperModeNetwork | None,
    image_size: Size,
    fast_graph: bool = True,
    any_size: bool = False,
) -> bytes:
    """Serialise the test-time graph (eval network, or paper mode with mask inputs) at one size; batch is dynamic.

    With `fast_graph` the network is exported through `fast_inference_graph` (exact, see rewrites.py); with
    `any_size` height and width are dynamic too (the pipeline's `full` and `tiled` modes).
    """
    network = paper_mode if paper_mode is not None else generator.net.eval()
    example = torch.zeros(1, generator.in_channels, *height_width(image_size))
    masks = paper_mode.draw_masks(example.shape) if paper_mode is not None else []
    names = ["source"] + [f"mask{index}" for index in range(len(masks))]
    dynamic = {0: "batch", 2: "height", 3: "width"} if any_size else {0: "batch"}
    buffer = io.BytesIO()
    with _EXPORT_LOCK, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript-exporter deprecation notices
        torch.onnx.export(
            fast_inference_graph(network) if fast_graph else network,
            (example, *masks),
            buffer,
            input_names=names,
            output_names=["output"],
            dynamic_axes={name: dynamic for name in [*names, "output"]},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


class OnnxGenerator:
    """Callable like the test-time network on (N, C, H, W) float32 CPU tensors of its size, backed by ONNX Runtime.

    With an `int8` calibration (see `fast/int8.py`) its convolutions run in int8, except the float32 ones it
    names. `images()` runs the same graph on 8-bit pixels (`image_io.py`); each of the two sessions starts on its
    first call or by `warm_up()`.
    """

    def __init__(
        self,
        generator: InferenceGenerator,
        paper_mode: PaperModeNetwork | None,
        image_size: Size,
        threads: int | None = None,
        fast_graph: bool = True,
        int8: Int8Calibration | None = None,
        any_size: bool = False,
    ):
        graph = export_to_onnx(generator, paper_mode, image_size, fast_graph, any_size)
        if int8 is not None:
            graph = int8.quantize(graph)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        # Workers spin between the operators of a call (waking them for each one made calls ~25% slower here) but
        # stop when it returns, so they do not take the cores from whatever runs next (another session, the app's
        # image decoding, eager PyTorch in a benchmark).
        options.add_session_config_entry("session.force_spinning_stop", "1")
        self.graph, self.options = graph, options
        self.sessions: dict[str, onnxruntime.InferenceSession] = {}  # "tensors", "images": each built on first use
        self._lock = threading.Lock()
        self.takes_images = generator.in_channels in IMAGE_CHANNELS and generator.out_channels in IMAGE_CHANNELS

    def warm_up(self, images: bool = False) -> onnxruntime.InferenceSession:
        """Start the session that `__call__` (or, with `images`, `images()`) runs, unless it is running already."""
        kind = "images" if images else "tensors"
        with self._lock:
            if kind not in self.sessions:
                graph = with_image_io(self.graph) if images else self.graph
                providers = ["CPUExecutionProvider"]
                self.sessions[kind] = onnxruntime.InferenceSession(graph, self.options, providers=providers)
            return self.sessions[kind]

    def __call__(self, batch: torch.Tensor, masks: list[torch.Tensor] = ()) -> torch.Tensor:
        feeds = {"source": batch.detach().cpu().float().numpy()}
        feeds |= {f"mask{index}": mask.numpy() for index, mask in enumerate(masks)}
        (output,) = self.warm_up().run(None, feeds)
        return torch.from_numpy(output)

    def images(self, images: np.ndarray, masks: list[torch.Tensor] = ()) -> np.ndarray:
        """uint8 (N, H, W, C) images to uint8 (N, H, W, 3) outputs: the same network with the pipeline's pre- and
        post-processing in the graph (`image_io.py`), for models with 1 or 3 channels in and out."""
        if not self.takes_images:
            raise ValueError("8-bit image io needs a model with 1 or 3 channels in and out")
        feeds = {IMAGE_INPUT: np.ascontiguousarray(images, dtype=np.uint8)}
        feeds |= {f"mask{index}": mask.numpy() for index, mask in enumerate(masks)}
        (output,) = self.warm_up(images=True).run(None, feeds)
        return output
