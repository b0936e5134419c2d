"""The pipeline's pre- and post-processing inside the exported graph: 8-bit images in, 8-bit images out.

The pipeline turns a PIL image into a float tensor in [-1, 1] and the output back into 8-bit RGB with numpy
(`images.image_to_tensor` and `images.tensor_to_image`): on 2 cores those passes over the pixels took about a
seventh of a call to a bundled model. `with_image_io` adds the same arithmetic to the graph, where ONNX Runtime runs
it with the network's threads: uint8 (N, H, W, C) in, cast, divided by 127.5, minus 1; the output clipped to
[-1, 1], plus 1, times 127.5, rounded half to even and cast to uint8 (N, H, W, 3), a one-channel output repeated as
grey. Every step is the same float32 operation as numpy's, so the pixels are the same (tests/test_pipeline.py).
Where the graph ends in the rewritten decoder's last interleave (`rewrites.py`) and Tanh, those run on the phases
and one uint8 transpose both interleaves them and moves channels last: the float32 interleave, about 4% of a
U-Net call, is gone.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IMAGE_INPUT, IMAGE_OUTPUT = "image", "image_output"
IMAGE_CHANNELS = (1, 3)  # what the graph's source and output may have for 8-bit image io (grey or RGB)


def _constant(name: str, value: float) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(value, dtype=np.float32), name)


def _int64s(values: dict[str, list[int]]) -> list[onnx.TensorProto]:
    return [numpy_helper.from_array(np.array(value, dtype=np.int64), name) for name, value in values.items()]


def _final_interleave(model: onnx.ModelProto) -> tuple[onnx.NodeProto, onnx.NodeProto, int] | None:
    """(interleave, Tanh, crop) when the graph ends in Tanh(interleave(phases)), the rewritten decoder's last level
    (`rewrites.interleave_kernel`: a grouped stride-2 ConvTranspose with one-hot 2x2 kernels); None otherwise."""
    producers = {name: node for node in model.graph.node for name in node.output}
    weights = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    weights |= {node.output[0]: weights.get(node.input[0]) for node in model.graph.node if node.op_type == "Identity"}
    tanh = producers.get(model.graph.output[0].name)
    interleave = producers.get(tanh.input[0]) if tanh is not None and tanh.op_type == "Tanh" else None
    if interleave is None or interleave.op_type != "ConvTranspose" or len(interleave.input) != 2:
        return None
    attributes = {attribute.name: helper.get_attribute_value(attribute) for attribute in interleave.attribute}
    kernel = weights.get(interleave.input[1])
    pads = list(attributes.get("pads", [0, 0, 0, 0]))
    if kernel is None or list(attributes.get("strides", [])) != [2, 2] or len(set(pads)) != 1:
        return None
    expected = np.zeros((kernel.shape[0], 1, 2, 2), dtype=np.float32)
    for row in range(2):
        for column in range(2):
            expected[2 * row + column :: 4, 0, row, column] = 1
    if attributes.get("group") != kernel.shape[0] // 4 or not np.array_equal(kernel, expected):
        return None
    return interleave, tanh, pads[0]


def _interleaved_pixels(model: onnx.ModelProto, levels: str, channels: int, size: tuple[int, int]) -> list:
    """Nodes taking uint8 phases (N, 4C, h, w) to the cropped, interleaved (N, H, W, C) image: one transpose that
    both interleaves and moves channels last (the values are only copied, so rounding before it changes nothing)."""
    height, width = size
    _, _, crop = _final_interleave(model)
    rows, columns = (height + 2 * crop) // 2, (width + 2 * crop) // 2
    model.graph.initializer.extend(
        _int64s(
            {
                "io_phase_shape": [0, channels, 2, 2, rows, columns],
                "io_image_shape": [0, 2 * rows, 2 * columns, channels],
            }
        )
    )
    nodes = [
        helper.make_node("Reshape", [levels, "io_phase_shape"], ["io_phases6"]),
        helper.make_node("Transpose", ["io_phases6"], ["io_blocks"], perm=[0, 4, 2, 5, 3, 1]),
        helper.make_node("Reshape", ["io_blocks", "io_image_shape"], ["io_interleaved"]),
    ]
    if crop:
        crops = {"io_crop_start": [crop, crop], "io_crop_end": [crop + height, crop + width], "io_crop_axes": [1, 2]}
        model.graph.initializer.extend(_int64s(crops))
        nodes.append(
            helper.make_node("Slice", ["io_interleaved", "io_crop_start", "io_crop_end", "io_crop_axes"], ["io_nhwc"])
        )
    else:
        nodes.append(helper.make_node("Identity", ["io_interleaved"], ["io_nhwc"]))
    return nodes


def with_image_io(graph: bytes) -> bytes:
    """The graph (input "source", output "output", float32 NCHW in [-1, 1]) with 8-bit NHWC image io instead.

    Where the graph ends in the rewritten decoder's interleave and Tanh, the Tanh and the conversion run on the
    phases and one uint8 transpose interleaves them (the float32 interleave is dropped).
    """
    model = onnx.load_from_string(graph)
    source, output = model.graph.input[0], model.graph.output[0]
    batch, channels, height, width = source.type.tensor_type.shape.dim
    out_dims = [dim.dim_param or dim.dim_value for dim in output.type.tensor_type.shape.dim]
    out_channels = out_dims[1]
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
    fused = _final_interleave(model) if all(isinstance(dim, int) for dim in out_dims[2:]) else None
    body = list(model.graph.node)
    last = output.name
    if fused is not None:
        interleave, tanh, _ = fused
        body = [node for node in body if node is not interleave and node is not tanh]
        body.append(helper.make_node("Tanh", [interleave.input[0]], ["io_tanh"]))
        last = "io_tanh"
    after = [
        helper.make_node("Clip", [last, "io_minus_one", "io_one"], ["io_clipped"]),
        helper.make_node("Add", ["io_clipped", "io_one"], ["io_shifted"]),
        helper.make_node("Mul", ["io_shifted", "io_255_half"], ["io_levels"]),
        helper.make_node("Round", ["io_levels"], ["io_rounded"]),
        helper.make_node("Cast", ["io_rounded"], ["io_uint8"], to=TensorProto.UINT8),
    ]
    if fused is not None:
        after += _interleaved_pixels(model, "io_uint8", out_channels, (out_dims[2], out_dims[3]))
    else:
        after.append(helper.make_node("Transpose", ["io_uint8"], ["io_nhwc"], perm=[0, 2, 3, 1]))
    if out_channels == 1:  # grey: repeated as RGB
        after.append(helper.make_node("Concat", ["io_nhwc"] * 3, [IMAGE_OUTPUT], axis=3))
    else:
        after.append(helper.make_node("Identity", ["io_nhwc"], [IMAGE_OUTPUT]))
    nodes = [*before, *body, *after]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    unused = [tensor for tensor in model.graph.initializer if tensor.name not in used]  # the dropped interleave's
    for tensor in unused:
        model.graph.initializer.remove(tensor)
    dims = [dim.dim_param or dim.dim_value for dim in (batch, height, width, channels)]
    image = helper.make_tensor_value_info(IMAGE_INPUT, TensorProto.UINT8, dims)
    masks = list(model.graph.input[1:])
    del model.graph.input[:]
    model.graph.input.extend([image, *masks])
    image_output = helper.make_tensor_value_info(IMAGE_OUTPUT, TensorProto.UINT8, [*out_dims[:1], *out_dims[2:], 3])
    del model.graph.output[:]
    model.graph.output.extend([image_output])
    onnx.checker.check_model(model)
    return model.SerializeToString()
