"""The pipeline's pre- and post-processing inside the exported graph: 8-bit images in, 8-bit images out.

The pipeline turns a PIL image into a float tensor in [-1, 1] and the output back into 8-bit RGB with numpy
(`images.image_to_tensor` and `images.tensor_to_image`): on 2 cores those passes over the pixels took about a
seventh of a call to a bundled model. `with_image_io` adds the same arithmetic to the graph, where ONNX Runtime runs
it with the network's threads: uint8 (N, H, W, C) in, cast, divided by 127.5, minus 1; the output clipped to
[-1, 1], plus 1, times 127.5, rounded half to even and cast to uint8 (N, H, W, 3), a one-channel output repeated as
grey. Every step is the same float32 operation as numpy's, so the pixels are the same (tests/test_pipeline.py).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IMAGE_INPUT, IMAGE_OUTPUT = "image", "image_output"
IMAGE_CHANNELS = (1, 3)  # what the graph's source and output may have for 8-bit image io (grey or RGB)


def _constant(name: str, value: float) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(value, dtype=np.float32), name)


def with_image_io(graph: bytes) -> bytes:
    """The graph (first input "source", output "output", float32 NCHW in [-1, 1]) with 8-bit NHWC image io
    instead; its other inputs are kept as they are."""
    model = onnx.load_from_string(graph)
    source, output = model.graph.input[0], model.graph.output[0]
    batch, channels, height, width = source.type.tensor_type.shape.dim
    out_channels = output.type.tensor_type.shape.dim[1].dim_value
    if channels.dim_value not in IMAGE_CHANNELS or out_channels not in IMAGE_CHANNELS:
        raise ValueError(f"8-bit image io needs 1 or 3 channels in and out, not {channels.dim_value}, {out_channels}")
    model.graph.initializer.extend(
        [_constant("io_255_half", 127.5), _constant("io_one", 1.0), _constant("io_minus_one", -1.0)]
    )
    before = [
        helper.make_node("Transpose", [IMAGE_INPUT], ["io_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Cast", ["io_nchw"], ["io_float"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["io_float", "io_255_half"], ["io_scaled"]),
        helper.make_node("Sub", ["io_scaled", "io_one"], [source.name]),
    ]
    grey = out_channels == 1
    after = [
        helper.make_node("Clip", [output.name, "io_minus_one", "io_one"], ["io_clipped"]),
        helper.make_node("Add", ["io_clipped", "io_one"], ["io_shifted"]),
        helper.make_node("Mul", ["io_shifted", "io_255_half"], ["io_levels"]),
        helper.make_node("Round", ["io_levels"], ["io_rounded"]),
        helper.make_node("Cast", ["io_rounded"], ["io_uint8"], to=TensorProto.UINT8),
        *([helper.make_node("Concat", ["io_uint8"] * 3, ["io_rgb"], axis=1)] if grey else []),
        helper.make_node("Transpose", ["io_rgb" if grey else "io_uint8"], [IMAGE_OUTPUT], perm=[0, 2, 3, 1]),
    ]
    nodes = [*before, *model.graph.node, *after]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    dims = [dim.dim_param or dim.dim_value for dim in (batch, height, width, channels)]
    image = helper.make_tensor_value_info(IMAGE_INPUT, TensorProto.UINT8, dims)
    others = list(model.graph.input[1:])  # a latent code, a previous frame, dropout masks: they stay float32
    del model.graph.input[:]
    model.graph.input.extend([image, *others])
    out_dims = [dim.dim_param or dim.dim_value for dim in output.type.tensor_type.shape.dim]
    image_output = helper.make_tensor_value_info(IMAGE_OUTPUT, TensorProto.UINT8, [*out_dims[:1], *out_dims[2:], 3])
    del model.graph.output[:]
    model.graph.output.extend([image_output])
    onnx.checker.check_model(model)
    return model.SerializeToString()
