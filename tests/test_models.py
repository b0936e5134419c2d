import copy
import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from pix2pix_hub.networks import PatchDiscriminator, Pix2PixGenerator

FIXTURES = Path(__file__).parent / "fixtures" / "reference"
CASES = json.loads((FIXTURES / "cases.json").read_text())


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def constructor_kwargs(case: dict) -> dict:
    if case["kind"] == "G":
        return dict(
            arch=case["netG"],
            in_channels=case["input_nc"],
            out_channels=case["output_nc"],
            ngf=case["ngf"],
            norm=case["norm"],
            use_dropout=case["use_dropout"],
        )
    n_layers = 0 if case["netD"] == "pixel" else case["n_layers_D"]
    return dict(in_channels=case["input_nc"], ndf=case["ndf"], n_layers=n_layers, norm=case["norm"])


def write_reference_pth(name: str, directory: Path) -> Path:
    """Write the fixture's tensors back into a `torch.save(state_dict)` file, as the reference saves them."""
    path = directory / f"{name}.pth"
    torch.save(load_file(FIXTURES / f"{name}.state_dict.safetensors"), path)
    return path


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (dict(arch="unet_256", norm="batch"), 54_413_955),
        (dict(arch="unet_128", norm="batch"), 41_828_995),
        (dict(arch="resnet_9blocks", norm="instance"), 11_378_179),
        (dict(arch="resnet_6blocks", norm="instance"), 7_837_699),
    ],
)
def test_generator_parameter_counts_equal_the_reference(kwargs, expected):
    assert count_parameters(Pix2PixGenerator(**kwargs)) == expected


@pytest.mark.parametrize(("n_layers", "expected"), [(3, 2_768_705), (5, 11_159_361), (0, 9_024)])
def test_discriminator_parameter_counts_equal_the_reference(n_layers, expected):
    assert count_parameters(PatchDiscriminator(in_channels=6, n_layers=n_layers, norm="batch")) == expected


def receptive_field(discriminator: PatchDiscriminator, size: int) -> int:
    """Width of the input region that moves the centre logit, found by backpropagation."""
    discriminator.eval()
    for layer in discriminator.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.constant_(layer.weight, 0.01)
    pair = torch.zeros(1, discriminator.stem.conv.in_channels, size, size, requires_grad=True)
    logits = discriminator(pair)
    logits[0, 0, logits.shape[2] // 2, logits.shape[3] // 2].backward()
    columns = pair.grad.abs().sum(dim=(0, 1, 2)).nonzero()
    return int(columns.max() - columns.min() + 1)


@pytest.mark.parametrize(("n_layers", "patch"), [(0, 1), (1, 16), (3, 70), (5, 286)])
def test_patchgan_receptive_fields_match_the_paper(n_layers, patch):
    discriminator = PatchDiscriminator(ndf=4, n_layers=n_layers, norm="none")
    assert receptive_field(discriminator, 320) == patch


def test_70x70_patchgan_gives_30x30_logits_at_256():
    assert PatchDiscriminator(ndf=8)(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_checkpoints_reproduce_reference_outputs(name, tmp_path):
    case = CASES[name]
    cls = Pix2PixGenerator if case["kind"] == "G" else PatchDiscriminator
    model = cls.from_reference_checkpoint(write_reference_pth(name, tmp_path), **constructor_kwargs(case))
    io = load_file(FIXTURES / f"{name}.io.safetensors")
    with torch.no_grad():
        output = model(io["input"])
    assert not model.training
    assert count_parameters(model) == case["params"]
    assert list(output.shape) == case["output_shape"]
    torch.testing.assert_close(output, io["output_eval"], atol=1e-5, rtol=0)


def test_reference_checkpoint_with_wrong_architecture_names_the_mismatch(tmp_path):
    path = write_reference_pth("G_unet_256_ngf8_batch", tmp_path)
    with pytest.raises(ValueError, match="layers with weights"):
        Pix2PixGenerator.from_reference_checkpoint(path, arch="unet_128", ngf=8)
    with pytest.raises(ValueError, match="shape"):
        Pix2PixGenerator.from_reference_checkpoint(path, arch="unet_256", ngf=16)
    with pytest.raises(ValueError, match="norm"):
        Pix2PixGenerator.from_reference_checkpoint(path, arch="unet_256", ngf=8, norm="instance")


def test_reference_loader_never_unpickles_arbitrary_objects(tmp_path):
    path = tmp_path / "latest_net_G.pth"
    with open(path, "wb") as handle:  # a pickle that would run code if fully unpickled
        pickle.dump({"model.weight": Path("/etc/passwd")}, handle)
    with pytest.raises(ValueError, match="latest_net_G.pth"):
        Pix2PixGenerator.from_reference_checkpoint(path, ngf=8)


def test_reference_loader_accepts_dataparallel_prefixes(tmp_path):
    state = load_file(FIXTURES / "G_resnet_9blocks_ngf8_instance.state_dict.safetensors")
    path = tmp_path / "latest_net_G.pth"
    torch.save({f"module.{key}": value for key, value in state.items()}, path)
    case = CASES["G_resnet_9blocks_ngf8_instance"]
    model = Pix2PixGenerator.from_reference_checkpoint(path, **constructor_kwargs(case))
    io = load_file(FIXTURES / "G_resnet_9blocks_ngf8_instance.io.safetensors")
    with torch.no_grad():
        torch.testing.assert_close(model(io["input"]), io["output_eval"], atol=1e-5, rtol=0)


def test_weights_are_initialised_as_in_the_paper():
    torch.manual_seed(0)
    generator = Pix2PixGenerator(ngf=16)
    conv_weights = torch.cat([m.weight.flatten() for m in generator.modules() if isinstance(m, nn.Conv2d)])
    norm_weights = torch.cat([m.weight.flatten() for m in generator.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(conv_weights.mean().item()) < 1e-3
    assert conv_weights.std().item() == pytest.approx(0.02, rel=0.02)
    assert norm_weights.mean().item() == pytest.approx(1.0, abs=0.01)
    assert norm_weights.std().item() == pytest.approx(0.02, rel=0.1)


@pytest.mark.parametrize(("arch", "dropouts"), [("unet_256", 3), ("unet_128", 2), ("resnet_9blocks", 9)])
def test_dropout_layers_are_where_the_reference_puts_them(arch, dropouts):
    count = sum(isinstance(m, nn.Dropout) for m in Pix2PixGenerator(arch=arch, ngf=8).modules())
    assert count == dropouts
    assert not any(isinstance(m, nn.Dropout) for m in Pix2PixGenerator(arch=arch, ngf=8, use_dropout=False).modules())


def test_eval_is_standard_pytorch_eval_and_deterministic():
    generator = Pix2PixGenerator(ngf=8).eval()
    x = torch.rand(2, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        first, second = generator(x), generator(x)
        generator.train()
        in_training = generator(x)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert not torch.allclose(first, in_training)


def test_paper_inference_mode_uses_batch_statistics_and_keeps_running_statistics():
    generator = Pix2PixGenerator(ngf=8, use_dropout=False, inference_mode="paper")
    for layer in generator.modules():  # non-trivial running statistics, as after training
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2.0)
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    training_copy = copy.deepcopy(generator).train()  # training-mode batch norm: batch statistics
    with torch.no_grad():
        paper = generator.prepare_for_inference()(x)
        with_batch_statistics = training_copy(x)
        standard = generator.eval()(x)
    torch.testing.assert_close(paper, with_batch_statistics, rtol=0, atol=1e-6)
    assert not torch.allclose(paper, standard, atol=1e-3)
    for key, value in generator.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    generator.train()
    assert all(m.track_running_stats for m in generator.modules() if isinstance(m, nn.BatchNorm2d))


def test_paper_inference_mode_keeps_dropout_on_and_eval_mode_turns_it_off():
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    paper = Pix2PixGenerator(ngf=8, inference_mode="paper").prepare_for_inference()
    standard = Pix2PixGenerator(ngf=8).prepare_for_inference()
    with torch.no_grad():
        assert not torch.allclose(paper(x), paper(x))
        torch.testing.assert_close(standard(x), standard(x), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(arch="unet_512"), "arch='unet_512'"),
        (dict(norm="group"), "norm='group'"),
        (dict(inference_mode="train"), "inference_mode='train'"),
        (dict(ngf=0), "ngf"),
    ],
)
def test_bad_generator_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Pix2PixGenerator(**kwargs)


def test_generator_names_a_bad_input_shape():
    generator = Pix2PixGenerator(ngf=8)
    with pytest.raises(ValueError, match="multiples of 256"):
        generator(torch.zeros(1, 3, 200, 256))
    with pytest.raises(ValueError, match="expected a"):
        generator(torch.zeros(1, 1, 256, 256))


def test_weight_names_are_flat_and_legible():
    names = list(Pix2PixGenerator(ngf=8).state_dict())
    assert "net.encoder.0.conv.weight" in names
    assert "net.decoder.0.norm.running_mean" in names
    assert max(name.count(".") for name in names) <= 4


@pytest.mark.parametrize("arch", ["unet_128", "resnet_6blocks"])
def test_bilinear_upsampling_resizes_then_convolves_and_round_trips_through_the_hub(arch, tmp_path):
    """`upsample="bilinear"` (BicycleGAN's code's option) replaces every transposed convolution of the decoder by a
    2x bilinear resize, a reflection pad and a 3x3 convolution; config.json rebuilds it; the paper's stays basic."""
    torch.manual_seed(0)
    generator = Pix2PixGenerator(arch=arch, ngf=4, norm="instance", arch_options={"upsample": "bilinear"}).eval()
    assert not any(isinstance(layer, nn.ConvTranspose2d) for layer in generator.modules())
    resizes = [layer for layer in generator.modules() if isinstance(layer, nn.Upsample)]
    assert len(resizes) == (7 if arch == "unet_128" else 2) and all(r.mode == "bilinear" for r in resizes)
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    generator.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["arch_options"] == {"upsample": "bilinear"}
    with torch.no_grad():
        torch.testing.assert_close(Pix2PixGenerator.from_pretrained(tmp_path).eval()(x), generator(x))
    paper = Pix2PixGenerator(arch=arch, ngf=4)
    assert any(isinstance(layer, nn.ConvTranspose2d) for layer in paper.modules())
    assert "arch_options" not in paper._hub_mixin_config
    with pytest.raises(ValueError, match="upsample='nearest' is not supported; choose one of 'basic', 'bilinear'"):
        Pix2PixGenerator(arch=arch, ngf=4, arch_options={"upsample": "nearest"})
