"""A rewrite of the quantized (QDQ) graph that keeps every output bit and lets ONNX Runtime move fewer bytes.

`quantize_static` leaves every operator between two int8 convolutions in float32. In an eval-mode U-Net decoder
that includes the phase interleave of each rewritten transposed convolution (`rewrites.py`: a one-hot grouped
stride-2 `ConvTranspose`), between the `Relu` of the level's sum and the next int8 convolution's
`QuantizeLinear`. `uint8_interleaves` quantizes first and interleaves 8-bit values with `DepthToSpace` (and a
`Slice` for the interleave's crop): quantizing is elementwise and the interleave only moves values, so the order
does not change a bit. The copy moves a quarter of the bytes, and with the float32 `ConvTranspose` gone ONNX
Runtime fuses the level's two `DequantizeLinear`s, `Add`, `Relu` and `QuantizeLinear` into one `QLinearAdd`.
Paper-mode decoders normalise after the interleave, so it stays float32 there.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .rewrites import PHASES, interleave_kernel


def _attribute(node: onnx.NodeProto, name: str, default):
    return next((helper.get_attribute_value(item) for item in node.attribute if item.name == name), default)


def _readers(model: onnx.ModelProto) -> dict[str, list[onnx.NodeProto]]:
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    for output in model.graph.output:  # a graph output has a reader outside the graph
        readers.setdefault(output.name, []).append(None)
    return readers


def _constants(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The values of the graph's initializers, Constant nodes and Identity copies of them (the exporter writes a
    tensor that several layers share once, and the other layers' names as its Identity), by name."""
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        elif node.op_type == "Identity" and node.input[0] in constants:
            constants[node.output[0]] = constants[node.input[0]]
    return constants


def _is_interleave(node: onnx.NodeProto, weights: dict[str, np.ndarray]) -> bool:
    """A grouped stride-2 ConvTranspose whose one-hot 2x2 kernel copies channel c * 4 + 2 * row + column to (row,
    column) of output channel c: DepthToSpace in "CRD" mode, then a crop of `pads`."""
    kernel = weights.get(node.input[1]) if node.op_type == "ConvTranspose" and len(node.input) == 2 else None
    if kernel is None or kernel.shape[1:] != (1, PHASES, PHASES) or kernel.shape[0] % PHASES**2:
        return False
    pads = _attribute(node, "pads", [0, 0, 0, 0])
    return (
        _attribute(node, "group", 1) == kernel.shape[0] // PHASES**2
        and list(_attribute(node, "strides", [1, 1])) == [PHASES, PHASES]
        and len(set(pads)) == 1
        and not any(_attribute(node, "output_padding", []))
        and np.array_equal(kernel, interleave_kernel(kernel.shape[0] // PHASES**2).numpy())
    )


def _quantized_interleave(interleave: onnx.NodeProto, quantize: onnx.NodeProto, model: onnx.ModelProto) -> list:
    """QuantizeLinear of the phases, DepthToSpace, and a Slice for the crop: the nodes that replace both."""
    quantized, crop = quantize.output[0], _attribute(interleave, "pads", [0])[0]
    phases = helper.make_node(
        "QuantizeLinear", [interleave.input[0], *quantize.input[1:]], [f"{quantized}_phases"], name=quantize.name
    )
    interleaved = f"{quantized}_uncropped" if crop else quantized
    nodes = [
        phases,
        helper.make_node(
            "DepthToSpace", phases.output, [interleaved], blocksize=PHASES, mode="CRD", name=interleave.name
        ),
    ]
    if crop:
        bounds = [f"{interleave.name}_{part}" for part in ("starts", "ends", "axes")]
        values = ([crop, crop], [-crop, -crop], [2, 3])
        model.graph.initializer.extend(
            numpy_helper.from_array(np.array(value, dtype=np.int64), name)
            for name, value in zip(bounds, values, strict=True)
        )
        nodes.append(helper.make_node("Slice", [interleaved, *bounds], [quantized], name=f"{interleave.name}_crop"))
    return nodes


def uint8_interleaves(model: onnx.ModelProto) -> int:
    """Interleave after quantizing wherever an interleave's only reader is a QuantizeLinear; how many it moved."""
    weights = _constants(model)
    readers = _readers(model)
    moved = 0
    for node in list(model.graph.node):
        followers = readers.get(node.output[0], [])
        if not _is_interleave(node, weights) or len(followers) != 1 or followers[0] is None:
            continue
        quantize = followers[0]
        if quantize.op_type != "QuantizeLinear":
            continue
        replacement = _quantized_interleave(node, quantize, model)
        index = list(model.graph.node).index(node)
        model.graph.node.remove(node)
        model.graph.node.remove(quantize)
        for offset, new in enumerate(replacement):
            model.graph.node.insert(index + offset, new)
        moved += 1
    _drop_unread_constants(model)
    return moved


def _drop_unread_constants(model: onnx.ModelProto) -> None:
    """Remove the interleave kernels no node reads any more (ONNX Runtime warns about each)."""
    while True:
        read = {name for node in model.graph.node for name in node.input} | {out.name for out in model.graph.output}
        unread = [
            node
            for node in model.graph.node
            if node.op_type in ("Constant", "Identity") and not set(node.output) & read
        ]
        for node in unread:
            model.graph.node.remove(node)
        if not unread:
            break
    kept = [tensor for tensor in model.graph.initializer if tensor.name in read]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
