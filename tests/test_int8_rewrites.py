"""The quantized graph's 8-bit interleaves: the same bits as the graph quantize_static writes, and no float32
ConvTranspose left between int8 convolutions for ONNX Runtime to run."""

from collections import Counter

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from pix2pix_hub import Pix2PixGenerator
from pix2pix_hub.inference.fast import int8 as int8_module
from pix2pix_hub.inference.fast.int8_rewrites import uint8_interleaves
from pix2pix_hub.inference.fast.onnx import export_to_onnx
from pix2pix_hub.inference.fast.rewrites import interleave_kernel
from pix2pix_hub.inference.paper_mode import paper_mode_network
from tests.test_int8 import random_input_calibration


def run(graph: bytes, feeds: dict, optimized_path=None) -> np.ndarray:
    options = onnxruntime.SessionOptions()
    if optimized_path is not None:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # no layouts
        options.optimized_model_filepath = str(optimized_path)
    session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def quantized_without_rewrite(calibration, float_graph: bytes, monkeypatch) -> bytes:
    with monkeypatch.context() as patch:
        patch.setattr(int8_module, "uint8_interleaves", lambda model: 0)
        return calibration.quantize(float_graph)


def test_eval_mode_interleaves_run_on_8_bit_values_with_the_same_outputs(tmp_path, monkeypatch):
    generator = Pix2PixGenerator(arch="unet_128", ngf=4)  # 7 levels; two float32 levels at each end
    calibration = random_input_calibration(generator, 128)
    float_graph = export_to_onnx(generator, None, 128)
    plain = quantized_without_rewrite(calibration, float_graph, monkeypatch)
    rewritten = calibration.quantize(float_graph)
    model = onnx.load_from_string(plain)
    int8_interleaves = uint8_interleaves(model)
    assert int8_interleaves >= 3  # the interleaves into the int8 convolutions of the inner levels
    assert model.SerializeToString() == rewritten
    sources = torch.rand(3, 3, 128, 128, generator=torch.Generator().manual_seed(1)).numpy() * 2 - 1
    expected = run(plain, {"source": sources}, tmp_path / "plain.onnx")
    np.testing.assert_array_equal(run(rewritten, {"source": sources}, tmp_path / "rewritten.onnx"), expected)

    before = Counter(node.op_type for node in onnx.load(tmp_path / "plain.onnx").graph.node)
    after = Counter(node.op_type for node in onnx.load(tmp_path / "rewritten.onnx").graph.node)
    assert after["ConvTranspose"] == before["ConvTranspose"] - int8_interleaves
    assert after["DepthToSpace"] == int8_interleaves
    assert after["QLinearAdd"] > before["QLinearAdd"]  # the level's sum is now fused into an 8-bit add


def test_paper_mode_interleaves_stay_float32_before_their_normalisation(monkeypatch):
    generator = Pix2PixGenerator(arch="unet_128", ngf=4, inference_mode="paper")
    calibration = random_input_calibration(generator, 128)
    float_graph = export_to_onnx(generator, paper_mode_network(generator), 128)
    plain = quantized_without_rewrite(calibration, float_graph, monkeypatch)
    assert uint8_interleaves(onnx.load_from_string(plain)) == 0
    assert calibration.quantize(float_graph) == plain


def one_transposed_conv_then_quantize(kernel: np.ndarray, group: int) -> onnx.ModelProto:
    """x (1, 8, 3, 3) -> ConvTranspose(kernel, stride 2, pads 1) -> QuantizeLinear(1/64, 0) -> uint8."""
    out_channels = kernel.shape[1] * group
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w"], ["y"], group=group, strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["y", "scale", "zero"], ["q"]),
    ]
    graph = helper.make_graph(
        nodes,
        "transposed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 3, 3])],
        [helper.make_tensor_value_info("q", TensorProto.UINT8, [1, out_channels, 4, 4])],
        [
            numpy_helper.from_array(kernel, "w"),
            numpy_helper.from_array(np.array(1 / 64, dtype=np.float32), "scale"),
            numpy_helper.from_array(np.array(0, dtype=np.uint8), "zero"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize("changed", ["none", "kernel", "group"])
def test_only_one_hot_interleaves_are_rewritten(changed):
    kernel, group = interleave_kernel(2).numpy(), 2
    if changed == "kernel":  # a learned 2x2 transposed convolution of the same shape
        kernel = kernel + 0.25
    elif changed == "group":  # the same kernel, each output channel summing two phases: not a copy
        group = 4
    model = one_transposed_conv_then_quantize(kernel, group)
    x = {"x": np.random.default_rng(0).uniform(-1, 1, (1, 8, 3, 3)).astype(np.float32)}
    expected = run(model.SerializeToString(), x)
    assert uint8_interleaves(model) == (changed == "none")
    np.testing.assert_array_equal(run(model.SerializeToString(), x), expected)
