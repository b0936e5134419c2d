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

from ..interface import InferenceGenerator, Size, example_inputs, height_width, inputs_of
from ..paper_mode import PaperModeNetwork
from .image_io import IMAGE_CHANNELS, IMAGE_INPUT, with_image_io
from .int8 import Int8Calibration
from .rewrites import fast_inference_graph

ONNX_OPSET = 17
_EXPORT_LOCK = threading.Lock()  # torch.onnx.export keeps global state: one export at a time per process
# The exporter's notices, silenced for good rather than only inside `catch_warnings()`: the filters are process-wide,
# and a thread that leaves its own `catch_warnings()` during an export (the app decodes an upload while another
# request exports) restores the list it saved, undoing a filter the export set. Only warnings raised in torch.onnx
# (named by module or, for those raised from C++, by file) and its notice that this is the TorchScript exporter.
warnings.filterwarnings("ignore", module=r".*torch[./\\]onnx[./\\]")
warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")


def export_to_onnx(
    generator: InferenceGenerator,
    paper_mode: PaperModeNetwork | None,
    image_size: Size,
    fast_graph: bool = True,
    any_size: bool = False,
) -> bytes:
    """Serialise the test-time graph (eval network, or paper mode with mask inputs) at one size; batch is dynamic.

    Its inputs are the generator's declared ones by name ("source", then e.g. "z" or "previous"), then paper mode's
    masks ("mask0", ...); its output is "output". With `fast_graph` the network is exported through
    `fast_inference_graph` (exact, see rewrites.py); with `any_size` the spatial inputs' height and width are
    dynamic too (the pipeline's `full` and `tiled` modes).
    """
    network = paper_mode if paper_mode is not None else generator.net.eval()
    height, width = height_width(image_size)
    examples = example_inputs(inputs_of(generator), 1, height, width)
    declared = list(inputs_of(generator))
    if paper_mode is not None:
        masks = paper_mode.mask_inputs(height, width)
        declared += masks
        drawn = paper_mode.draw_masks((1, 0, height, width))
        examples |= {mask.name: value for mask, value in zip(masks, drawn, strict=True)}
    spatial = {0: "batch", 2: "height", 3: "width"} if any_size else {0: "batch"}
    dynamic = {item.name: spatial if item.spatial else {0: "batch"} for item in declared} | {"output": spatial}
    buffer = io.BytesIO()
    with _EXPORT_LOCK, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript-exporter deprecation notices
        torch.onnx.export(
            fast_inference_graph(network) if fast_graph else network,
            tuple(examples[item.name] for item in declared),
            buffer,
            input_names=[item.name for item in declared],
            output_names=["output"],
            dynamic_axes=dynamic,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


class OnnxGenerator:
    """The test-time network on named inputs (`export_to_onnx`) at its size, backed by ONNX Runtime.

    With an `int8` calibration (see `fast/int8.py`) its convolutions run in int8, except the float32 ones it
    names. Called with 8-bit pixels it runs the same graph with the image conversions inside (`image_io.py`); each
    of the two sessions (float inputs, 8-bit source) starts on its first call or by `warm_up()`.
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

    def __call__(self, inputs: dict[str, torch.Tensor | np.ndarray]) -> torch.Tensor | np.ndarray:
        """The graph on named inputs: float32 (N, C, H, W) tensors give the float output; a uint8 (N, H, W, C)
        "source" runs the graph with the pipeline's pre- and post-processing inside (`image_io.py`, models with 1
        or 3 channels in and out) and gives uint8 (N, H, W, 3) outputs."""
        pixels = isinstance(inputs["source"], np.ndarray) and inputs["source"].dtype == np.uint8
        if pixels and not self.takes_images:
            raise ValueError("8-bit image io needs a model with 1 or 3 channels in and out")
        feeds = {name: value.detach().cpu().float().numpy() for name, value in inputs.items() if name != "source"}
        if pixels:
            feeds[IMAGE_INPUT] = np.ascontiguousarray(inputs["source"])
        else:
            feeds["source"] = inputs["source"].detach().cpu().float().numpy()
        (output,) = self.warm_up(images=pixels).run(None, feeds)
        return output if pixels else torch.from_numpy(output)
