import threading

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.images import image_to_tensor, tensor_to_image


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
    torch.testing.assert_close(fast.forward(inputs), plain.forward(inputs), rtol=0, atol=1e-4)
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
    torch.testing.assert_close(fast.forward(inputs, seed=7), plain.forward(inputs, seed=7), rtol=0, atol=1e-4)


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
        torch.testing.assert_close(pipe.forward(inputs), one_by_one, rtol=0, atol=1e-4)


def test_paper_mode_dropout_keeps_half_of_the_units_scaled_by_two():
    pipe = Pix2PixPipeline(Pix2PixGenerator(ngf=8, inference_mode="paper"), device="cpu", backend="torch")
    masks = pipe._paper_mode.draw_masks(torch.Size([4, 3, 256, 256]), torch.Generator().manual_seed(0))
    assert [tuple(mask.shape[1:]) for mask in masks] == [(64, 4, 4), (64, 8, 8), (64, 16, 16)]
    values = torch.cat([mask.flatten() for mask in masks])
    assert set(values.unique().tolist()) == {0.0, 2.0}
    assert values.mean().item() == pytest.approx(1.0, abs=0.05)


def test_pipelines_can_be_built_from_several_threads_at_once():
    # The app loads task models in a warm-up thread while requests load others.
    generators = [Pix2PixGenerator(arch="unet_128", ngf=4) for _ in range(3)]
    pipelines, errors = [], []

    def build(generator):
        try:
            pipelines.append(Pix2PixPipeline(generator, device="cpu"))
        except Exception as error:  # collected: an exception in a thread would otherwise go unseen
            errors.append(error)

    threads = [threading.Thread(target=build, args=(generator,)) for generator in generators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and [p.backend for p in pipelines] == ["onnxruntime"] * 3
