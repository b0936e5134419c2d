import threading

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.images import image_to_tensor, pixels_to_tensor, tensor_to_image
from pix2pix_hub.networks import create_generator, list_generators, register_generator
from pix2pix_hub.networks.registry import generator_entry


@pytest.fixture(scope="module")
def pipe() -> Pix2PixPipeline:
    torch.manual_seed(0)
    return Pix2PixPipeline(Pix2PixGenerator(ngf=4), device="cpu", backend="torch")


def gradient_image(width: int, height: int) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    array = np.concatenate([np.broadcast_to(x, (height, width, 1)), np.broadcast_to(y, (height, width, 1))] * 2, 2)
    return Image.fromarray(array[:, :, :3].astype(np.uint8))


def test_output_equals_the_generator_on_the_same_tensor(pipe):
    image = gradient_image(256, 256)
    with torch.no_grad():
        expected = tensor_to_image(pipe.generator(image_to_tensor(image)[None])[0])
    np.testing.assert_array_equal(np.asarray(pipe(image)), np.asarray(expected))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "I;16", "CMYK", "LA", "1"])
def test_any_mode_and_size_gives_rgb_at_the_input_size(pipe, mode):
    image = gradient_image(300, 170).convert(mode) if mode != "I;16" else Image.new("I;16", (300, 170), 4000)
    output = pipe(image)
    assert output.mode == "RGB" and output.size == (300, 170)


def test_a_list_gives_a_list_matching_one_by_one_results(pipe):
    images = [gradient_image(256, 256), gradient_image(64, 100).rotate(90)]
    batched = pipe(images)
    assert isinstance(batched, list) and [o.size for o in batched] == [(256, 256), (64, 100)]
    for image, output in zip(images, batched, strict=True):
        difference = np.abs(np.asarray(pipe(image), dtype=int) - np.asarray(output, dtype=int))
        assert difference.max() <= 1  # batched and single convolutions may round differently


def test_exif_rotated_files_are_translated_upright(pipe, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    gradient_image(60, 30).save(tmp_path / "rotated.jpg", exif=exif.tobytes())
    assert pipe(tmp_path / "rotated.jpg").size == (30, 60)


def test_paper_mode_normalises_each_image_alone_and_seeds_dropout():
    torch.manual_seed(0)
    generator = Pix2PixGenerator(ngf=4, inference_mode="paper")
    pipe = Pix2PixPipeline(generator, device="cpu")
    a, b = gradient_image(256, 256), gradient_image(256, 256).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    first = np.asarray(pipe([a, b], seed=3)[0])
    np.testing.assert_array_equal(first, np.asarray(pipe(a, seed=3)))  # b's statistics do not leak into a
    assert not np.array_equal(np.asarray(pipe(a, seed=3)), np.asarray(pipe(a, seed=4)))


def test_from_pretrained_folder(tmp_path):
    generator = Pix2PixGenerator(arch="unet_128", ngf=4)
    generator.save_pretrained(tmp_path / "model")
    pipe = Pix2PixPipeline.from_pretrained(tmp_path / "model", device="cpu")
    assert pipe.image_size == 128 and pipe.generator.arch == "unet_128"
    assert pipe(gradient_image(10, 10)).size == (10, 10)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not-a-file.png", "no such file"),
        (np.zeros((4, 4, 3)), "expected a PIL.Image.Image, got ndarray"),
        ([], "no images given"),
        (Image.new("L", (10000, 10000)), r"10000x10000 \(100.0 megapixels\); the limit is 89.5"),
    ],
    ids=["missing-file", "array", "empty-list", "huge"],
)
def test_absurd_input_raises_value_errors_saying_what_is_wrong(pipe, bad, message):
    with pytest.raises(ValueError, match=message):
        pipe(bad)


def test_text_file_is_refused_with_its_name(pipe, tmp_path):
    (tmp_path / "readme.jpg").write_text("hello")
    with pytest.raises(ValueError, match="readme.jpg: not an image"):
        pipe(tmp_path / "readme.jpg")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(arch="unet_256", ngf=8),
        dict(arch="unet_128", ngf=8, out_channels=1),
        dict(arch="resnet_6blocks", ngf=8, norm="instance", in_channels=1),
    ],
    ids=["unet_256", "unet_128", "resnet_6blocks"],
)
def test_default_cpu_backend_is_onnxruntime_with_the_same_outputs_as_pytorch(kwargs):
    torch.manual_seed(0)
    generator = Pix2PixGenerator(**kwargs)
    for layer in generator.modules():  # trained-looking batch-norm statistics
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.2, 0.2)
            layer.running_var.uniform_(0.5, 2.0)
    fast = Pix2PixPipeline(generator, device="cpu")
    plain = Pix2PixPipeline(generator, device="cpu", backend="torch")
    assert (fast.backend, plain.backend) == ("onnxruntime", "torch")
    size = fast.image_size
    inputs = torch.rand(2, generator.in_channels, size, size) * 2 - 1
    torch.testing.assert_close(
        fast.runner.run({"source": inputs}), plain.runner.run({"source": inputs}), rtol=0, atol=1e-4
    )
    image = gradient_image(70, 50)
    difference = np.abs(np.asarray(fast(image), dtype=int) - np.asarray(plain(image), dtype=int))
    assert difference.max() <= 1


def test_paper_mode_backends_agree_for_the_same_seed():
    torch.manual_seed(0)
    generator = Pix2PixGenerator(ngf=8, inference_mode="paper")
    fast = Pix2PixPipeline(generator, device="cpu")
    plain = Pix2PixPipeline(generator, device="cpu", backend="torch")
    assert (fast.backend, plain.backend) == ("onnxruntime", "torch")
    inputs = torch.rand(3, 3, 256, 256) * 2 - 1
    torch.testing.assert_close(
        fast.runner.run({"source": inputs}, seed=7), plain.runner.run({"source": inputs}, seed=7), rtol=0, atol=1e-4
    )


def test_paper_mode_equals_training_mode_batch_norm_on_each_image_alone():
    torch.manual_seed(0)
    generator = Pix2PixGenerator(ngf=8, use_dropout=False, inference_mode="paper")
    for layer in generator.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)  # must be ignored
    inputs = torch.rand(2, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        one_by_one = torch.cat([generator.prepare_for_inference()(image[None]) for image in inputs])
    for backend in ("onnxruntime", "torch"):
        pipe = Pix2PixPipeline(generator, device="cpu", backend=backend)
        torch.testing.assert_close(pipe.runner.run({"source": inputs}), one_by_one, rtol=0, atol=1e-4)


def test_paper_mode_dropout_keeps_half_of_the_units_scaled_by_two():
    pipe = Pix2PixPipeline(Pix2PixGenerator(ngf=8, inference_mode="paper"), device="cpu", backend="torch")
    masks = list(pipe.runner.draw_masks(torch.Size([4, 3, 256, 256]), seed=0).values())
    assert [tuple(mask.shape[1:]) for mask in masks] == [(64, 4, 4), (64, 8, 8), (64, 16, 16)]
    values = torch.cat([mask.flatten() for mask in masks])
    assert set(values.unique().tolist()) == {0.0, 2.0}
    assert values.mean().item() == pytest.approx(1.0, abs=0.05)


def test_pipelines_can_be_built_and_warmed_up_from_several_threads_at_once():
    # The app loads task models in a warm-up thread while requests load others; the export is the shared part.
    generators = [Pix2PixGenerator(arch="unet_128", ngf=4) for _ in range(3)]
    pipelines, errors = [], []

    def build(generator):
        try:
            pipelines.append(Pix2PixPipeline(generator, device="cpu").warm_up())
        except Exception as error:  # collected: an exception in a thread would otherwise go unseen
            errors.append(error)

    threads = [threading.Thread(target=build, args=(generator,)) for generator in generators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and [p.backend for p in pipelines] == ["onnxruntime"] * 3
    assert all(p.runner.onnx is not None for p in pipelines)


def trained_looking(generator: torch.nn.Module) -> torch.nn.Module:
    """Batch-norm running statistics away from 0 and 1, so that "eval" mode really uses them."""
    for layer in generator.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.2, 0.2)
            layer.running_var.uniform_(0.5, 2.0)
    return generator


def assert_backends_agree(generator: torch.nn.Module, size: tuple[int, int], seed: int) -> None:
    """torch and onnxruntime pipelines at `size` give the same (N, C, height, width) outputs, within 1e-5."""
    fast = Pix2PixPipeline(generator, device="cpu", image_size=size)
    plain = Pix2PixPipeline(generator, device="cpu", image_size=size, backend="torch")
    assert (fast.backend, plain.backend) == ("onnxruntime", "torch")
    inputs = torch.rand(2, generator.in_channels, *size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    output = fast.runner.run({"source": inputs}, seed=seed)
    assert fast.runner.onnx is not None  # ONNX Runtime really ran, at this size
    assert output.shape == (2, generator.out_channels, *size)
    torch.testing.assert_close(output, plain.runner.run({"source": inputs}, seed=seed), rtol=0, atol=1e-5)
    image = gradient_image(90, 40)
    assert fast(image, seed=seed).size == plain(image, seed=seed).size == (90, 40)


@pytest.mark.parametrize("inference_mode", ["eval", "paper"])
@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        (dict(arch="unet_128", ngf=8), (128, 256)),
        (dict(arch="resnet_6blocks", ngf=8, norm="instance"), (96, 64)),
        (dict(arch="unet_128", ngf=8, arch_options={"upsample": "bilinear"}), (256, 128)),
    ],
    ids=["unet_128-128x256", "resnet_6blocks-96x64", "unet_128-bilinear"],
)
def test_a_height_by_width_pipeline_gives_the_same_outputs_in_torch_and_onnxruntime(kwargs, size, inference_mode):
    torch.manual_seed(0)
    generator = trained_looking(Pix2PixGenerator(**kwargs, inference_mode=inference_mode))
    assert_backends_agree(generator, size, seed=5)
    assert Pix2PixPipeline(generator, device="cpu", image_size=size).image_size == size


def test_the_constructor_does_not_export_the_first_call_or_warm_up_does():
    generator = Pix2PixGenerator(arch="unet_128", ngf=4, inference_mode="paper")
    pipe = Pix2PixPipeline(generator, device="cpu")
    assert (pipe.backend, pipe.precision) == ("onnxruntime", "float32") and pipe.runner.onnx is None
    pipe(gradient_image(30, 20), seed=0)
    session = pipe.runner.onnx
    assert session is not None
    pipe(gradient_image(30, 20), seed=1)
    assert pipe.runner.onnx is session  # built once
    warmed = Pix2PixPipeline(generator, device="cpu")
    assert warmed.warm_up() is warmed and set(warmed.runner.onnx.sessions) == {"images"}  # only what pipelines run
    torch_only = Pix2PixPipeline(generator, device="cpu", backend="torch").warm_up()
    assert torch_only.runner.onnx is None  # nothing to build for PyTorch


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((128, 200), r"image_size \(128, 200\) \(height 128, width 200\) does not fit unet_128: .* multiples of 128"),
        (100, r"image_size 100 \(height 100, width 100\) does not fit unet_128: .* multiples of 128"),
        ((0, 128), r"image_size \(0, 128\) .* positive multiples of 128"),
        ((128,), r"image size \(128,\) must be an int \(a square\) or a \(height, width\) pair"),
    ],
    ids=["width", "square", "zero", "one-number"],
)
def test_a_size_the_network_cannot_take_is_refused_naming_the_size_and_the_multiple(size, message):
    with pytest.raises(ValueError, match=message):
        Pix2PixPipeline(Pix2PixGenerator(arch="unet_128", ngf=4), device="cpu", image_size=size)


TEST_ARCH = "pipeline_test_net"


def tiny_test_net(in_channels: int, out_channels: int, ngf: int, norm: str, use_dropout: bool) -> nn.Module:
    """Two stride-2 levels down and up, with batch norm and dropout: enough for both inference modes."""
    net = nn.Sequential(
        nn.Conv2d(in_channels, ngf, 4, 2, 1),
        nn.BatchNorm2d(ngf),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ngf, ngf * 2, 4, 2, 1),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(),
        nn.Dropout(0.5 if use_dropout else 0.0),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1),
        nn.BatchNorm2d(ngf),
        nn.ReLU(),
        nn.ConvTranspose2d(ngf, out_channels, 4, 2, 1),
        nn.Tanh(),
    )
    net.size_multiple = 4
    return net


if TEST_ARCH not in list_generators():  # registered once, however often this module is imported
    register_generator(TEST_ARCH, native_size=16)(tiny_test_net)


class TinyGenerator(nn.Module):
    """Not a Pix2PixGenerator: a registered network behind the generator interface the pipeline asks for."""

    arch = TEST_ARCH

    def __init__(self, inference_mode: str):
        super().__init__()
        self.in_channels, self.out_channels, self.inference_mode = 3, 1, inference_mode
        self.net = create_generator(TEST_ARCH, in_channels=3, out_channels=1, ngf=4, norm="batch", use_dropout=True)
        self.size_multiple = self.net.size_multiple
        self.native_size = generator_entry(TEST_ARCH).native_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.mark.parametrize("inference_mode", ["eval", "paper"])
def test_a_generator_that_is_not_a_pix2pix_generator_runs_through_the_pipeline(inference_mode):
    torch.manual_seed(0)
    generator = trained_looking(TinyGenerator(inference_mode))
    assert not isinstance(generator, Pix2PixGenerator)
    assert Pix2PixPipeline(generator, device="cpu").image_size == 16  # the registry's native size
    assert_backends_agree(generator, (12, 20), seed=3)
    if inference_mode == "eval":  # the module's own forward, as the pipeline runs it in PyTorch
        inputs = image_to_tensor(gradient_image(16, 16))[None]
        with torch.no_grad():
            expected = generator.eval()(inputs)
        torch.testing.assert_close(
            Pix2PixPipeline(generator, device="cpu", backend="torch").runner.run({"source": inputs}), expected
        )


def test_an_object_without_the_generator_interface_is_refused_naming_what_it_lacks():
    lacks = "arch, inference_mode, size_multiple, native_size, net"  # a Conv2d has in_channels and out_channels
    with pytest.raises(ValueError, match=f"Conv2d is not a generator the pipeline can run: it has no {lacks} "):
        Pix2PixPipeline(torch.nn.Conv2d(3, 3, 1), device="cpu")
    with pytest.raises(ValueError, match="generator must be a torch.nn.Module .*, got str"):
        Pix2PixPipeline("unet_256", device="cpu")


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "inference_mode", "int8"),
    [(3, 3, "eval", False), (3, 3, "paper", True), (1, 3, "eval", True), (3, 1, "paper", False)],
)
def test_the_onnx_runtime_path_converts_pixels_in_the_graph_exactly_as_numpy_does(
    in_channels, out_channels, inference_mode, int8
):
    """The default CPU path feeds 8-bit pixels to the graph and gets 8-bit pixels back (`fast/image_io.py`):
    the same pixels as the tensor path with `image_to_tensor` and `tensor_to_image` around the same graph."""
    from tests.test_int8 import random_input_calibration

    torch.manual_seed(0)
    generator = Pix2PixGenerator(
        arch="unet_128", ngf=4, in_channels=in_channels, out_channels=out_channels, inference_mode=inference_mode
    )
    calibration = random_input_calibration(generator, 128) if int8 else None
    pipe = Pix2PixPipeline(generator, device="cpu", int8_calibration=calibration).warm_up()
    assert pipe.precision == ("int8" if int8 else "float32") and set(pipe.runner.onnx.sessions) == {"images"}
    for image in (gradient_image(128, 128), gradient_image(200, 90).rotate(30)):
        through_pixels = np.asarray(pipe(image, seed=5))
        tensors = pipe.runner.run({"source": pixels_to_tensor(pipe.model_input(image))[None]}, seed=5)[0]
        expected = tensor_to_image(tensors).resize(image.size, Image.Resampling.BICUBIC)
        np.testing.assert_array_equal(through_pixels, np.asarray(expected))


def test_models_with_other_channel_counts_convert_pixels_in_numpy():
    from pix2pix_hub.inference.fast.image_io import with_image_io
    from pix2pix_hub.inference.fast.onnx import export_to_onnx

    generator = Pix2PixGenerator(arch="unet_128", ngf=4, in_channels=6)
    with pytest.raises(ValueError, match="needs 1 or 3 channels in and out, not 6, 3"):
        with_image_io(export_to_onnx(generator, None, 128))
    pixels = np.random.default_rng(0).integers(0, 256, (2, 128, 128, 6), dtype=np.uint8)
    runner = Pix2PixPipeline(generator, device="cpu").runner
    outputs = runner.run({"source": pixels})
    assert "images" not in runner.onnx.sessions and outputs.shape == (2, 128, 128, 3)  # numpy conversion, same graph
    inputs = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1
    expected = [np.asarray(tensor_to_image(output)) for output in runner.run({"source": inputs})]
    np.testing.assert_array_equal(outputs, np.stack(expected))
