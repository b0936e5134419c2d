import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_hub.images import image_to_tensor, open_image, tensor_to_image, to_mode


def test_open_image_applies_exif_orientation(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 20, 20))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    opened = open_image(tmp_path / "rotated.jpg")
    assert opened.size == (20, 40)
    top, bottom = np.asarray(opened)[5, 10], np.asarray(opened)[35, 10]
    assert top[2] > 200 and bottom[0] > 200  # blue moved to the top


def test_open_image_takes_the_first_frame_of_an_animation(tmp_path):
    frames = [Image.new("RGB", (16, 16), (255, 0, 0)), Image.new("RGB", (16, 16), (0, 255, 0))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    opened = open_image(tmp_path / "anim.gif")
    assert to_mode(opened, 3).getpixel((8, 8)) == (255, 0, 0)


def test_unreadable_files_raise_errors_naming_the_file(tmp_path):
    (tmp_path / "notes.png").write_text("this is not a picture")
    with pytest.raises(ValueError, match=r"notes.png: not an image"):
        open_image(tmp_path / "notes.png")
    Image.new("RGB", (64, 64), (1, 2, 3)).save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:60])
    with pytest.raises(ValueError, match=r"cut.png: cannot decode"):
        open_image(tmp_path / "cut.png")
    with pytest.raises(ValueError, match="missing.png: no such file"):
        open_image(tmp_path / "missing.png")


def test_decompression_bombs_are_refused_before_decoding(tmp_path):
    Image.new("1", (12000, 12000)).save(tmp_path / "bomb.png")  # a few KB on disk, 144 megapixels decoded
    with pytest.raises(ValueError, match="bomb.png: image is too large"):
        open_image(tmp_path / "bomb.png")


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("RGBA", (4, 4), (0, 0, 0, 0)), (255, 255, 255)),  # transparent over white
        (Image.new("LA", (4, 4), (0, 255)), (0, 0, 0)),
        (Image.new("CMYK", (4, 4), (0, 255, 255, 0)), (255, 0, 0)),
        (Image.new("I;16", (4, 4), 65535), (255, 255, 255)),
        (Image.new("1", (4, 4), 1), (255, 255, 255)),
        (Image.new("F", (4, 4), 128.0), (128, 128, 128)),
    ],
    ids=["RGBA", "LA", "CMYK", "I;16", "1", "F"],
)
def test_every_mode_converts_to_rgb(image, expected):
    converted = to_mode(image, 3)
    assert converted.mode == "RGB"
    assert converted.getpixel((1, 1)) == expected


def test_palette_images_keep_their_colours():
    palette_image = Image.new("P", (4, 4))
    palette_image.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette_image.putpixel((1, 1), 1)
    assert to_mode(palette_image, 3).getpixel((1, 1)) == (10, 200, 30)


def test_sixteen_bit_images_scale_to_eight_bits_for_one_channel_models():
    image = Image.fromarray(np.array([[0, 32896, 65535]], dtype=np.uint16))
    assert list(np.asarray(to_mode(image, 1))[0]) == [0, 128, 255]


def test_tensor_round_trip_is_exact_for_8_bit_images():
    array = np.random.default_rng(0).integers(0, 256, size=(8, 9, 3), dtype=np.uint8)
    tensor = image_to_tensor(Image.fromarray(array))
    assert tensor.shape == (3, 8, 9) and tensor.min() >= -1 and tensor.max() <= 1
    np.testing.assert_array_equal(np.asarray(tensor_to_image(tensor)), array)


def test_one_channel_outputs_become_grey_rgb():
    image = tensor_to_image(torch.zeros(1, 2, 2))
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (128, 128, 128)
