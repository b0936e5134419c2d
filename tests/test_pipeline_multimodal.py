"""Many outputs for one input (`pix2pix_hub/inference/multimodal.py` through `Pix2PixPipeline`), with a real tiny
BicycleGAN folder: k codes per image from a seed, one set for all with `sync`, a photo's code from the encoder, the
spherical walk between two codes, and the same pixels from PyTorch and ONNX Runtime."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import constants
from PIL import Image

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline, interpolate_codes
from pix2pix_hub.images import image_to_tensor
from pix2pix_hub.inference.multimodal import ENCODER_SUBFOLDER, slerp
from pix2pix_hub.methods import bicyclegan
from pix2pix_hub.networks import LatentEncoder
from tests.bicyclegan_models import NZ, SIZE, write_tiny_bicyclegan
from tests.paired_data import smooth_image

REPO = Path(__file__).resolve().parent.parent
EDGES = Image.fromarray(smooth_image(1, 96))
OTHER_EDGES = Image.fromarray(smooth_image(2, 160)).resize((150, 110))
PHOTOS = [Image.open(REPO / "examples/edges2shoes/1_target.jpg"), Image.new("RGB", (64, 48), (200, 30, 30))]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_tiny_bicyclegan(tmp_path_factory.mktemp("bicyclegan") / "model")


@pytest.fixture(scope="module")
def pipe(folder):
    return Pix2PixPipeline.from_pretrained(folder, backend="torch")


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def gap(first: Image.Image, second: Image.Image) -> float:
    """Mean absolute difference in 8-bit levels."""
    return float(np.abs(pixels(first) - pixels(second)).mean())


def test_num_samples_gives_k_different_outputs_for_one_image_each_at_its_size(pipe):
    outputs = pipe(OTHER_EDGES, num_samples=4, seed=0)
    assert isinstance(outputs, list) and len(outputs) == 4
    assert all(output.size == OTHER_EDGES.size for output in outputs)
    assert min(gap(a, b) for a, b in itertools.combinations(outputs, 2)) > 5  # four codes, four shoes
    again = pipe(OTHER_EDGES, num_samples=4, seed=0)
    assert all(pixels(a).tolist() == pixels(b).tolist() for a, b in zip(outputs, again, strict=True))
    assert gap(pipe(OTHER_EDGES, num_samples=4, seed=1)[0], outputs[0]) > 5  # another seed, other codes
    assert pixels(pipe(OTHER_EDGES, seed=0)).tolist() == pixels(outputs[0]).tolist()  # the first is the seed's one


def test_a_list_gives_a_list_of_k_per_image_with_codes_of_its_own_unless_synced(pipe):
    both = pipe([EDGES, EDGES], num_samples=3, seed=5)
    assert [len(outputs) for outputs in both] == [3, 3]
    alone = pipe(EDGES, num_samples=3, seed=5)
    assert all(pixels(a).tolist() == pixels(b).tolist() for a, b in zip(both[0], alone, strict=True))
    assert min(gap(a, b) for a, b in zip(both[0], both[1], strict=True)) > 5  # same image, its own codes
    synced = pipe([EDGES, EDGES], num_samples=3, seed=5, sync=True)
    assert all(pixels(a).tolist() == pixels(b).tolist() for a, b in zip(*synced, strict=True))  # one set for all
    assert all(pixels(a).tolist() == pixels(b).tolist() for a, b in zip(synced[0], alone, strict=True))


def test_given_codes_choose_the_outputs(pipe):
    codes = torch.randn(3, NZ, generator=torch.Generator().manual_seed(9))
    outputs = pipe(EDGES, num_samples=3, z=codes)
    for code, output in zip(codes, outputs, strict=True):
        assert np.abs(pixels(pipe(EDGES, z=code)) - pixels(output)).max() <= 1  # one pass or three
    same = pipe([EDGES, OTHER_EDGES], num_samples=2, z=codes[0])  # (C,): every output
    assert [gap(*outputs) for outputs in same] == [0.0, 0.0]
    per_image = pipe([EDGES, EDGES], num_samples=2, z=torch.stack([codes[:2], codes[1:]]))  # (n, k, C)
    assert gap(per_image[0][1], per_image[1][0]) == 0 and gap(per_image[0][0], per_image[1][1]) > 5


def test_wrong_multiple_output_requests_are_refused_in_plain_words(pipe, tmp_path):
    pix2pix = Pix2PixPipeline(Pix2PixGenerator(ngf=4), backend="torch")
    with pytest.raises(ValueError, match="unet_256 takes no latent code .*num_samples needs a generator with a latent"):
        pix2pix(EDGES, num_samples=2)
    assert pix2pix.encoder is None
    with pytest.raises(ValueError, match="sync=True reuses one set .* give num_samples=k too"):
        pipe(EDGES, sync=True)
    for count in (0, 2.5, True):
        with pytest.raises(ValueError, match="num_samples must be a whole number of outputs per image"):
            pipe(EDGES, num_samples=count)
    with pytest.raises(ValueError, match=r"a latent code must be \(8,\), \(3, 8\) or \(1, 3, 8\).*got shape \(2, 8\)"):
        pipe(EDGES, num_samples=3, z=torch.zeros(2, NZ))


def test_encode_is_the_encoders_mean_of_the_photo_at_its_size_and_its_code_transfers_the_look(pipe, folder):
    encoder = LatentEncoder.from_pretrained(folder, subfolder="encoder")
    photo = PHOTOS[0].resize((90, 70))
    expected, _ = encoder(image_to_tensor(photo.resize((SIZE, SIZE), Image.Resampling.BICUBIC))[None])
    code = pipe.encode(photo)
    assert code.shape == (NZ,) and torch.allclose(code, expected[0], atol=1e-6)  # the mean, not a sample
    assert torch.equal(pipe.encode(photo), code)
    assert torch.allclose(pipe.encode(photo.convert("L")), pipe.encode(photo.convert("L").convert("RGB")))
    assert np.abs(pixels(pipe(EDGES, z=code)) - pixels(pipe(EDGES, z=expected[0].detach()))).max() <= 1
    styled = [pipe(EDGES, z=pipe.encode(photo)) for photo in PHOTOS]
    assert gap(*styled) > 5  # two photos, two looks


def test_a_pipeline_without_an_encoder_says_what_is_missing(tmp_path):
    bare = Pix2PixPipeline.from_pretrained(write_tiny_bicyclegan(tmp_path / "g_only", encoder=False), backend="torch")
    assert bare.encoder is None and len(bare(EDGES, num_samples=2, seed=0)) == 2
    with pytest.raises(ValueError, match="this pipeline has no encoder .* holds one in encoder/"):
        bare.encode(PHOTOS[0])


def test_an_encoder_for_other_codes_is_refused(folder):
    generator = Pix2PixGenerator.from_pretrained(folder)
    with pytest.raises(ValueError, match="the encoder gives codes of 4 numbers but bicycle_unet_128's 'z' takes 8"):
        Pix2PixPipeline(generator, backend="torch", encoder=LatentEncoder("resnet_128", 3, 4, 8))


def test_a_hub_repo_loads_its_encoder_from_the_encoder_subfolder(folder, isolated_hf_home, monkeypatch):
    repo = "org/bicyclegan-tiny"
    snapshot = isolated_hf_home / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots" / ("0" * 40)
    shutil.copytree(folder, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    from_hub = Pix2PixPipeline.from_pretrained(repo, backend="torch")
    assert torch.equal(from_hub.encode(PHOTOS[1]), Pix2PixPipeline.from_pretrained(folder).encode(PHOTOS[1]))
    assert ENCODER_SUBFOLDER == bicyclegan.ENCODER_SUBFOLDER  # where the trainer writes E


def reference_slerp(z0: np.ndarray, z1: np.ndarray, steps: int) -> np.ndarray:
    """junyanz/BicycleGAN util.interp_z(z0, z1, steps, "slerp"), written out."""
    z0_n, z1_n = z0 / (np.linalg.norm(z0) + 1e-10), z1 / (np.linalg.norm(z1) + 1e-10)
    omega = np.arccos(np.dot(z0_n, z1_n))
    ratios = [n / float(steps - 1) for n in range(steps)]
    if -1e-10 < np.sin(omega) < 1e-10:
        return np.stack([(1 - t) * z0 + t * z1 for t in ratios]).astype(np.float32)
    return np.stack(
        [np.sin((1 - t) * omega) / np.sin(omega) * z0 + np.sin(t * omega) / np.sin(omega) * z1 for t in ratios]
    ).astype(np.float32)


def test_interpolate_codes_walks_the_references_great_circle_and_a_line_for_parallel_codes():
    quarter = interpolate_codes(np.array([1.0, 0.0]), np.array([0.0, 2.0]), 3)  # omega = 90 degrees
    np.testing.assert_allclose(quarter.numpy(), [[1, 0], [np.sqrt(0.5), np.sqrt(2)], [0, 2]], atol=1e-6)
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal(NZ), rng.standard_normal(NZ)
    walk = interpolate_codes(torch.from_numpy(z0), torch.from_numpy(z1), 7)
    assert walk.dtype == torch.float32 and walk.shape == (7, NZ)
    np.testing.assert_allclose(walk.numpy(), reference_slerp(z0, z1, 7), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(walk[[0, -1]].numpy(), np.stack([z0, z1]), atol=1e-6)
    norms = np.linalg.norm(walk.numpy(), axis=1)  # along the sphere: no dip towards 0 as a straight line has
    assert norms.min() > 0.9 * min(np.linalg.norm(z0), np.linalg.norm(z1))
    for other in (3 * z0, -z0):  # (anti)parallel: the +1e-10 of the norms keeps sin(omega) above 1e-10 here
        np.testing.assert_allclose(interpolate_codes(z0, other, 5), reference_slerp(z0, other, 5), atol=1e-5)
    big = np.zeros(NZ)
    big[0] = 1e12  # unit vectors of exactly length 1: sin(omega) is 0 (or 1e-16), the reference's straight line
    for other in (3 * big, -big):
        line = [(1 - t) * big + t * other for t in np.linspace(0, 1, 5)]
        np.testing.assert_allclose(interpolate_codes(big, other, 5), line, rtol=1e-6)
        np.testing.assert_allclose(reference_slerp(big, other, 5), line, rtol=1e-6)
    rounded_over_one = np.full(NZ, 1e11)  # its unit vector's dot with itself rounds to just above 1
    with np.errstate(invalid="ignore"):
        assert np.isnan(reference_slerp(rounded_over_one, 2 * rounded_over_one, 3)).all()  # arccos(1 + 7e-16)
    line = [(1 - t) * rounded_over_one + t * 2 * rounded_over_one for t in (0, 0.5, 1)]
    np.testing.assert_allclose(interpolate_codes(rounded_over_one, 2 * rounded_over_one, 3), line, rtol=1e-6)
    assert torch.equal(slerp(z0, z1, 1 / 6), walk[1])  # the walk is slerp at n / (steps - 1)
    with pytest.raises(ValueError, match="steps must be 2 or more"):
        interpolate_codes(z0, z1, 1)


def test_onnx_runtime_gives_torchs_pixels_for_a_given_code_and_other_codes_other_pixels(folder, pipe):
    fast = Pix2PixPipeline.from_pretrained(folder)
    assert (fast.backend, fast.precision, pipe.backend) == ("onnxruntime", "float32", "torch")
    first, second = (torch.randn(NZ, generator=torch.Generator().manual_seed(seed)) for seed in (1, 2))
    for code in (first, second):
        assert np.abs(pixels(fast(EDGES, z=code)) - pixels(pipe(EDGES, z=code))).max() <= 1
    assert gap(fast(EDGES, z=first), fast(EDGES, z=second)) > 5
    samples = zip(fast(OTHER_EDGES, num_samples=3, seed=4), pipe(OTHER_EDGES, num_samples=3, seed=4), strict=True)
    assert max(np.abs(pixels(a) - pixels(b)).max() for a, b in samples) <= 1
