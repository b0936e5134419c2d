"""Int8 CPU inference for models that ship activation ranges validated on their own eval split.

ONNX Runtime runs int8 convolutions (VNNI on recent x86 CPUs) about twice as fast as float32 ones on the U-Net-256
(benchmarks/inference.py). Int8 changes the outputs, so a model gets it only after
`python -m pix2pix_hub.calibrate_int8` has, on the model's own data:
1. recorded each convolution's input and output range over `CALIBRATION_PAIRS` training sources (ONNX Runtime's
   min/max or percentile calibration, `RANGE_METHODS`; weights are quantized per output channel when the session
   is built);
2. quantized the exported graph, keeping the convolutions within `float_levels` convolutions of the input or the
   output in float32 (the first and last layers are the most sensitive), and translated every eval-split source
   with both graphs: it accepts the fewest float levels for which every output is within `MIN_PSNR` dB of the float32
   output and the eval metrics (L1, PSNR, SSIM against the targets) move by less than `METRIC_TOLERANCES`; then,
   from the innermost level it had to keep in float32 outwards, it keeps of each level only the cheapest
   convolutions (`float_convs`, fewest multiply-adds) with which the validation still passes, until a level needs
   all of its convolutions;
3. written `int8_calibration.json` (the ranges, the float levels and that validation) next to the weights.

`Pix2PixPipeline` (through `inference/runner.py`) then runs the model in int8 by default (`precision="auto"`) at
the calibrated image size and inference mode; `precision="float32"` turns it off. A model without the file runs in
exact float32. A square calibration stores its size as one int (as it always has), another as [height, width].
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import logging
import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import EntryNotFoundError
from onnx import TensorProto, helper
from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

from ...hub import HUB_DOWNLOAD_OPTIONS, atomic_write_text, hub_options
from ..interface import InferenceGenerator, Size, height_width, size_text
from .int8_rewrites import uint8_interleaves

CALIBRATION_FILE = "int8_calibration.json"
FORMAT_VERSION = 1
MIN_PSNR = 40.0  # dB, every eval output against the float32 output (outputs span [-1, 1]: a data range of 2)
METRIC_TOLERANCES = {"l1": 0.001, "psnr": 0.05, "ssim": 0.001}  # largest change of each mean eval metric
CALIBRATION_PAIRS = 32
QUANTIZATION = {  # how both recording ranges and quantizing call ONNX Runtime's quantize_static
    "quant_format": QuantFormat.QDQ,
    "op_types_to_quantize": ["Conv"],
    "per_channel": True,
    "activation_type": QuantType.QUInt8,
    "weight_type": QuantType.QInt8,
}
CALIBRATION_DOWNLOAD_OPTIONS = (*HUB_DOWNLOAD_OPTIONS, "subfolder")
# how ranges are recorded: each tensor's lowest and highest value, or its 0.001st and 99.999th percentiles (ONNX
# Runtime's default), which leave a few outliers clipped for finer steps everywhere else
RANGE_METHODS = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}


@dataclass
class Int8Calibration:
    """What `int8_calibration.json` holds: where int8 applies, the ranges, and the validation that passed."""

    weights_sha256: str  # of the generator's state dict: ranges recorded for other weights do not apply
    image_size: int | list[int]  # a square's side, or [height, width]
    inference_mode: str
    float_levels: int
    ranges: dict  # ONNX Runtime's calibration cache (`TensorsData.to_dict()`), by tensor name of the export
    validation: dict
    format_version: int = FORMAT_VERSION
    float_convs: list[str] = field(default_factory=list)  # Conv nodes of levels >= `float_levels` kept in float32

    def quantize(self, float_graph: bytes) -> bytes:
        """The float32 export (of the weights, size and mode it was made for) with this calibration's int8 convs."""
        return quantized_graph(float_graph, self.ranges, self.float_levels, self.float_convs)

    def save(self, folder: Path) -> Path:
        path = Path(folder) / CALIBRATION_FILE
        atomic_write_text(path, json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> Int8Calibration:
        try:
            fields = json.loads(Path(path).read_text(encoding="utf-8"))
            calibration = cls(**fields)
        except (json.JSONDecodeError, TypeError) as error:
            raise ValueError(
                f"{path}: not an int8 calibration written by python -m pix2pix_hub.calibrate_int8 ({error})"
            ) from error
        if calibration.format_version != FORMAT_VERSION:
            raise ValueError(f"{path}: calibration format {calibration.format_version}, expected {FORMAT_VERSION}")
        return calibration

    @property
    def size(self) -> tuple[int, int]:
        """The (height, width) the ranges were recorded at: the only size the int8 graph runs."""
        return height_width(self.image_size)

    @property
    def validated_sizes(self) -> list[tuple[int, int]]:
        """The (height, width) sizes its validation held for (files written before it listed them: `image_size`)."""
        return [height_width(size) for size in self.validation.get("sizes", [self.image_size])]

    def mismatch(self, generator: InferenceGenerator, image_size: Size) -> str | None:
        """Why this calibration does not apply to a generator run at `image_size` (None when it does)."""
        if weights_sha256(generator) != self.weights_sha256:
            return "the calibration was made for other weights (calibrate again after training)"
        size, inference_mode = height_width(image_size), generator.inference_mode
        if (size, inference_mode) != (self.size, self.inference_mode):
            return (
                f"calibrated at {size_text(self.size)} in {self.inference_mode!r} mode, "
                f"not {size_text(size)} in {inference_mode!r} mode"
            )
        return None


def stored_size(image_size: Size) -> int | list[int]:
    """How `int8_calibration.json` writes a size: one int for a square (files from before stay valid), else a list."""
    height, width = height_width(image_size)
    return height if height == width else [height, width]


def weights_sha256(generator: InferenceGenerator) -> str:
    """A fingerprint of the weights and buffers as float32 (as they load), in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(generator.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def find_calibration(repo_or_dir: str | Path, **hub_kwargs) -> Int8Calibration | None:
    """The calibration saved next to a model (a folder or a Hub repo), or None when it has none."""
    if Path(repo_or_dir).is_dir():
        path = Path(repo_or_dir) / (hub_kwargs.get("subfolder") or "") / CALIBRATION_FILE
        return Int8Calibration.load(path) if path.is_file() else None
    options = hub_options({name: hub_kwargs[name] for name in CALIBRATION_DOWNLOAD_OPTIONS if name in hub_kwargs})
    try:
        path = hf_hub_download(repo_id=str(repo_or_dir), filename=CALIBRATION_FILE, **options)
    except EntryNotFoundError:  # not in the repo, or (offline) not in the local cache
        return None
    return Int8Calibration.load(Path(path))


def conv_levels(model: onnx.ModelProto) -> dict[str, int]:
    """Each Conv node's level: how few other Convs separate it from the source image or from the output.

    In a U-Net that is the level counted from the outside: encoder K, the decoder convolutions of level K and
    the skip convolution that feeds the level outside it (encoder K's output goes to the output through K + 1
    convolutions) all have level K.
    """
    producers = {output: node for node in model.graph.node for output in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def convs_between(starts: list[onnx.NodeProto], neighbours) -> dict[str, int]:
        """Fewest Convs passed before each node (Dijkstra with a Conv costing 1 and any other node 0)."""
        best: dict[str, int] = {}
        queue = [(0, index, node) for index, node in enumerate(starts)]
        counter = len(queue)
        while queue:
            cost, _, node = heapq.heappop(queue)
            if node.name in best:
                continue
            best[node.name] = cost
            for following in neighbours(node):
                counter += 1
                heapq.heappush(queue, (cost + (node.op_type == "Conv"), counter, following))
        return best

    source = model.graph.input[0].name  # the image; "paper" mode's dropout masks enter deep in the decoder
    outputs = {value.name for value in model.graph.output}
    first = [node for node in model.graph.node if source in node.input]
    last = [node for node in model.graph.node if outputs & set(node.output)]
    from_input = convs_between(first, lambda node: [c for name in node.output for c in consumers.get(name, [])])
    to_output = convs_between(last, lambda node: [producers[name] for name in node.input if name in producers])
    return {
        node.name: min(from_input.get(node.name, math.inf), to_output.get(node.name, math.inf))
        for node in model.graph.node
        if node.op_type == "Conv"
    }


@contextlib.contextmanager
def quiet_quantizer():
    """Drop the advice ONNX Runtime's quantizer logs on the root logger at every call (pre-processing, biases)."""

    def not_from_quantizer(record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname

    root = logging.getLogger()
    root.addFilter(not_from_quantizer)
    try:
        yield
    finally:
        root.removeFilter(not_from_quantizer)


def conv_output_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Each Conv node's output shape in one run on zeros with batch 1 (the graph's height and width must be fixed).

    Shape inference cannot follow the rewritten graph's computed paddings, so the shapes come from ONNX Runtime.
    """
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    del probe.graph.output[:]
    probe.graph.output.extend(helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None) for node in convs)
    session = onnxruntime.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {
        value.name: np.zeros([dim if isinstance(dim, int) else 1 for dim in value.shape], dtype=np.float32)
        for value in session.get_inputs()
    }
    return {node.name: list(output.shape) for node, output in zip(convs, session.run(None, feeds), strict=True)}


def conv_costs(model: onnx.ModelProto) -> dict[str, int]:
    """Each Conv node's multiply-adds for one image (the graph's height and width must be fixed)."""
    shapes = conv_output_shapes(model)
    weights = {tensor.name: list(tensor.dims) for tensor in model.graph.initializer}
    return {
        node.name: math.prod(weights[node.input[1]]) * math.prod(shapes[node.name][2:])
        for node in model.graph.node
        if node.op_type == "Conv"
    }


def float32_convs(levels: dict[str, int], float_levels: int, float_convs=()) -> list[str]:
    """The Conv nodes a calibration keeps in float32: those of its whole float levels and those it names."""
    return [name for name, level in levels.items() if level < float_levels or name in float_convs]


def recorded_method(ranges: dict) -> CalibrationMethod:
    """How ONNX Runtime's calibration cache says its ranges were recorded ("CalibrationMethod.MinMax", ...)."""
    return CalibrationMethod[ranges["calibration_method"]["value"].rpartition(".")[2]]


def quantized_graph(float_graph: bytes, ranges: dict, float_levels: int, float_convs: list[str] = ()) -> bytes:
    """The float32 export with its Convs in int8 (QDQ), except those within `float_levels` of input or output and
    those named in `float_convs`."""
    model = onnx.load_from_string(float_graph)
    keep_float = float32_convs(conv_levels(model), float_levels, float_convs)
    with tempfile.TemporaryDirectory() as folder, quiet_quantizer():
        cache = Path(folder) / "ranges.json"
        cache.write_text(json.dumps(ranges))
        quantize_static(
            model,
            Path(folder) / "int8.onnx",
            nodes_to_exclude=keep_float,
            calibration_cache_path=cache,
            calibrate_method=recorded_method(ranges),
            **QUANTIZATION,
        )
        quantized = onnx.load(Path(folder) / "int8.onnx")
    uint8_interleaves(quantized)  # the same outputs, faster (int8_rewrites.py)
    return quantized.SerializeToString()
