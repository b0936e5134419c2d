import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from torch import nn

from pix2pix_hub import Pix2PixGenerator
from pix2pix_hub.inference.fast.onnx import export_to_onnx
from pix2pix_hub.inference.fast.rewrites import (
    PhaseConv,
    SubPixelConvTranspose,
    can_rewrite,
    can_split_phases,
    fast_inference_graph,
)
from pix2pix_hub.inference.paper_mode import PaperModeNetwork


def trained_looking(batch_norm: nn.BatchNorm2d) -> nn.BatchNorm2d:
    batch_norm.running_mean.uniform_(-0.3, 0.3)
    batch_norm.running_var.uniform_(0.4, 2.0)
    nn.init.uniform_(batch_norm.weight, 0.5, 1.5)
    nn.init.uniform_(batch_norm.bias, -0.3, 0.3)
    return batch_norm.eval()


@pytest.mark.parametrize(
    "layer",
    [
        nn.ConvTranspose2d(6, 5, 4, 2, 1, bias=False),  # the U-Net's
        nn.ConvTranspose2d(6, 5, 4, 2, 1, bias=True),  # the U-Net's outermost
        nn.ConvTranspose2d(6, 5, 3, 2, 1, output_padding=1),  # the ResNet generator's
        nn.ConvTranspose2d(6, 5, 2, 2, 0),  # larger and smaller kernels: other phase offsets and crops
        nn.ConvTranspose2d(6, 5, 5, 2, 2, output_padding=1),
        nn.ConvTranspose2d(6, 5, 6, 2, 2),
    ],
)
@torch.no_grad()
def test_sub_pixel_convolution_equals_the_transposed_convolution(layer):
    torch.manual_seed(0)
    x = torch.randn(2, 6, 5, 7)  # odd, non-square: every phase offset and border is exercised
    assert torch.allclose(SubPixelConvTranspose(layer)(x), layer(x), atol=1e-5)


@torch.no_grad()
def test_eval_batch_norm_is_folded_into_the_sub_pixel_convolution():
    torch.manual_seed(0)
    layer, batch_norm = nn.ConvTranspose2d(6, 5, 4, 2, 1, bias=False), trained_looking(nn.BatchNorm2d(5))
    x = torch.randn(1, 6, 8, 8)
    assert torch.allclose(SubPixelConvTranspose(layer, batch_norm)(x), batch_norm(layer(x)), atol=1e-5)


def test_layers_it_cannot_rewrite_are_named():
    assert not can_rewrite(nn.ConvTranspose2d(4, 4, 4, 1, 1))  # stride 1
    assert not can_rewrite(nn.ConvTranspose2d(4, 4, 3, 2, 1))  # 2H - 1 outputs
    assert not can_rewrite(nn.ConvTranspose2d(4, 4, 1, 2, 0, output_padding=1))  # odd phases get no tap at all
    with pytest.raises(ValueError, match="cannot rewrite ConvTranspose2d"):
        SubPixelConvTranspose(nn.ConvTranspose2d(4, 4, 4, 1, 1))


@pytest.mark.parametrize("arch", ["unet_256", "unet_128", "resnet_6blocks"])
@torch.no_grad()
def test_fast_graph_has_no_learned_transposed_convolution_and_the_same_outputs_in_both_modes(arch):
    torch.manual_seed(0)
    generator = Pix2PixGenerator(arch=arch, ngf=8)
    for layer in generator.modules():
        if isinstance(layer, nn.BatchNorm2d):
            trained_looking(layer)
    generator.eval()
    x = torch.rand(2, 3, 256, 256) * 2 - 1

    fast = fast_inference_graph(generator.net)
    assert not any(isinstance(layer, nn.ConvTranspose2d) for layer in fast.modules())
    if arch.startswith("unet"):  # every decoder batch norm follows a transposed convolution: all folded
        assert not any(isinstance(layer, nn.BatchNorm2d) for layer in fast.decoder.modules())
    assert torch.allclose(fast(x), generator.net(x), atol=1e-5)

    paper = PaperModeNetwork(generator)
    masks = paper.draw_masks(x.shape, torch.Generator().manual_seed(0))
    assert torch.allclose(fast_inference_graph(paper)(x, *masks), paper(x, *masks), atol=1e-5)


@pytest.mark.parametrize("inference_mode", ["eval", "paper"])
def test_exported_unet_has_no_concatenation_and_only_interleaving_transposed_convolutions(inference_mode):
    generator = Pix2PixGenerator(arch="unet_128", ngf=8, inference_mode=inference_mode).eval()
    paper_mode = PaperModeNetwork(generator) if inference_mode == "paper" else None
    graph = onnx.load_from_string(export_to_onnx(generator, paper_mode, 128)).graph
    operators = [node.op_type for node in graph.node]
    assert "Concat" not in operators and "DepthToSpace" not in operators
    weights = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    weights |= {node.output[0]: weights[node.input[0]] for node in graph.node if node.op_type == "Identity"}
    interleaves = [node for node in graph.node if node.op_type == "ConvTranspose"]
    assert len(interleaves) == 7  # one per decoder level
    for node in interleaves:
        kernel = weights[node.input[1]]  # (4C, 1, 2, 2): each phase channel copied to one place of a 2x2 block
        assert kernel.shape[1:] == (1, 2, 2)
        assert sorted(np.unique(kernel)) == [0.0, 1.0] and (kernel.sum(axis=(1, 2, 3)) == 1).all()
    if inference_mode == "eval":  # the decoder's ReLUs run on the phases (where ORT fuses them), not after
        made_by = {output: node.op_type for node in graph.node for output in node.output}
        relu_inputs = [made_by.get(node.input[0]) for node in graph.node if node.op_type == "Relu"]
        assert "ConvTranspose" not in relu_inputs and "Add" in relu_inputs


@pytest.mark.parametrize(
    "layer",
    [
        nn.Conv2d(6, 3, 7, padding=3, padding_mode="reflect"),  # the ResNet and pix2pixHD generators' RGB head
        nn.Conv2d(6, 1, 3, padding=1),  # grey, zero padding
        nn.Conv2d(6, 4, 5, padding=2, padding_mode="replicate", bias=False),
    ],
)
@torch.no_grad()
def test_phase_convolution_equals_the_convolution(layer):
    x = torch.randn(2, 6, 18, 26)
    rewritten = PhaseConv(layer)
    assert rewritten.conv.stride == (2, 2) and rewritten.conv.out_channels == 4 * layer.out_channels
    torch.testing.assert_close(rewritten(x), layer(x), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="even height and width, got \\(17, 26\\)"):
        rewritten(x[:, :, :17])


def test_only_size_keeping_convolutions_with_few_outputs_split_into_phases():
    assert can_split_phases(nn.Conv2d(6, 3, 7, padding=3))
    assert not can_split_phases(nn.Conv2d(6, 5, 7, padding=3))  # many outputs: no gain
    assert not can_split_phases(nn.Conv2d(6, 3, 7, padding=2))  # shrinks the image
    assert not can_split_phases(nn.Conv2d(6, 3, 4, stride=2, padding=1))
    assert not can_split_phases(nn.Conv2d(6, 3, 1))
    generator = Pix2PixGenerator(arch="unet_128", ngf=4, out_channels=1)  # phases of 4 channels: left alone
    fast = fast_inference_graph(generator.net.eval())
    assert not any(isinstance(layer, PhaseConv) for layer in fast.modules())
    resnet = fast_inference_graph(Pix2PixGenerator(arch="resnet_6blocks", ngf=8).net)
    assert [name for name, layer in resnet.named_modules() if isinstance(layer, PhaseConv)] == ["head.conv"]
