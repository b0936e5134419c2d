import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pix2pix_hub import Pix2PixGenerator
from pix2pix_hub.networks.reference import reference_key_map
from tests.reference_cases import load_case, training_cases
from tests.test_models import FIXTURES, write_reference_pth

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_convert(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pix2pix_hub.convert", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_convert_turns_a_reference_checkpoint_into_a_hub_folder_that_reproduces_it(tmp_path):
    checkpoint = write_reference_pth("G_resnet_6blocks_ngf8_instance", tmp_path)
    flags = ["--arch", "resnet_6blocks", "--in_channels", "1", "--ngf", "8", "--norm", "instance", "--no_dropout"]
    result = run_convert(str(checkpoint), "--out", str(tmp_path / "hub"), *flags)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "hub").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert json.loads((tmp_path / "hub" / "config.json").read_text())["in_channels"] == 1
    generator = Pix2PixGenerator.from_pretrained(tmp_path / "hub")
    io = load_file(FIXTURES / "G_resnet_6blocks_ngf8_instance.io.safetensors")
    with torch.no_grad():
        torch.testing.assert_close(generator(io["input"]), io["output_eval"], atol=1e-5, rtol=0)


def test_convert_with_wrong_flags_exits_2_with_a_message_and_writes_nothing(tmp_path):
    checkpoint = write_reference_pth("G_unet_256_ngf8_batch", tmp_path)
    result = run_convert(str(checkpoint), "--out", str(tmp_path / "hub"), "--arch", "unet_128", "--ngf", "8")
    assert result.returncode == 2
    assert "G_unet_256_ngf8_batch.pth: has 29 layers with weights" in result.stderr
    assert not (tmp_path / "hub").exists()


# A reference CycleGAN run's checkpoints, rebuilt from the golden case's initial G_A / G_B (reference key names).
CYCLEGAN_CASE = training_cases("cycle_gan")[0]


def cyclegan_generators() -> tuple[dict, dict[str, dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """The case's options, G_A's and G_B's reference state dicts, and its tensors."""
    case, tensors = load_case(CYCLEGAN_CASE)
    states = {
        net: {key.removeprefix(f"init.{net}."): t for key, t in tensors.items() if key.startswith(f"init.{net}.")}
        for net in ("G_A", "G_B")
    }
    return case, states, tensors


def pre_0_4_layout(state: dict[str, torch.Tensor], norms_after: list[str], batches_tracked: bool) -> dict:
    """The state dict as PyTorch < 0.4 saved it: running statistics for every InstanceNorm, after its conv."""
    old = {}
    for key, tensor in state.items():
        old[key] = tensor
        if key in norms_after:  # the conv bias right before an InstanceNorm, at the next index of its Sequential
            parent, index, _ = key.rsplit(".", 2)
            norm = f"{parent}.{int(index) + 1}"
            old |= {f"{norm}.running_mean": torch.rand_like(tensor), f"{norm}.running_var": torch.rand_like(tensor)}
            old |= {f"{norm}.num_batches_tracked": torch.tensor(7)} if batches_tracked else {}
    return old


def constructor(options: dict) -> dict:
    return dict(arch=options["netG"], ngf=options["ngf"], norm=options["norm"], use_dropout=not options["no_dropout"])


def assert_holds_every_weight(generator: Pix2PixGenerator, reference: dict[str, torch.Tensor]) -> None:
    key_map = reference_key_map(generator, reference)
    ours = generator.state_dict()
    assert sorted(key_map.values()) == sorted(reference) and key_map.keys() == ours.keys()
    assert all(torch.equal(ours[our_key], reference[their_key]) for our_key, their_key in key_map.items())


def test_a_cyclegan_pair_converts_into_one_folder_per_direction_holding_every_weight(tmp_path):
    case, states, tensors = cyclegan_generators()
    options = case["options"]
    paths = []
    for net, name in (("G_A", "latest_net_G_A.pth"), ("G_B", "latest_net_G_B.pth")):
        paths.append(tmp_path / name)
        torch.save(states[net], paths[-1])
    flags = ["--arch", options["netG"], "--ngf", str(options["ngf"]), "--norm", options["norm"], "--no_dropout"]
    result = run_convert(*map(str, paths), "--out", str(tmp_path / "hub"), *flags)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "hub").iterdir()) == ["AtoB", "BtoA", "README.md"]
    card = (tmp_path / "hub" / "README.md").read_text()
    assert "| `AtoB/` | domain A to domain B (G_A) | `latest_net_G_A.pth` |" in card
    assert 'from_pretrained("path/to/this/folder", subfolder="BtoA")' in card

    # the reference's own step-1 images: fake_B = G_A(real_A), fake_A = G_B(real_B), with these weights
    source, target = options["direction"].split("to")
    for direction, net, real, fake in (("AtoB", "G_A", source, "fake_B"), ("BtoA", "G_B", target, "fake_A")):
        assert "latest_net_" + net in (tmp_path / "hub" / direction / "README.md").read_text()
        generator = Pix2PixGenerator.from_pretrained(tmp_path / "hub", subfolder=direction)
        assert_holds_every_weight(generator, states[net])
        expected = tensors[f"out.step1.{fake}"]
        with torch.no_grad():
            output = generator(tensors[f"input.step1.{real}"])
        torch.testing.assert_close(output, expected, atol=1e-5 * expected.abs().max().item(), rtol=0)


def test_released_checkpoints_saved_before_pytorch_0_4_load_like_the_reference_patches_them(tmp_path):
    """Running statistics of InstanceNorm layers are dropped, as `__patch_instance_norm_state_dict` drops them."""
    case, states, _ = cyclegan_generators()
    options, state = case["options"], states["G_A"]
    norms_after = case["bias_before_instance_norm"]["G_A"]
    for batches_tracked in (False, True):
        old = pre_0_4_layout(state, norms_after, batches_tracked)
        assert len(old) == len(state) + len(norms_after) * (3 if batches_tracked else 2)
        path = tmp_path / f"tracked{int(batches_tracked)}" / "latest_net_G.pth"  # a released one-direction model
        path.parent.mkdir()
        torch.save(old, path, _use_new_zipfile_serialization=False)  # the legacy format those files are in
        assert_holds_every_weight(Pix2PixGenerator.from_reference_checkpoint(path, **constructor(options)), state)

    flags = ["--arch", options["netG"], "--ngf", str(options["ngf"]), "--norm", options["norm"], "--no_dropout"]
    result = run_convert(str(path), "--out", str(tmp_path / "hub"), *flags)
    assert result.returncode == 0, result.stderr
    assert_holds_every_weight(Pix2PixGenerator.from_pretrained(tmp_path / "hub"), state)

    # read as a batch-norm generator it is refused, naming the norm (statistics are dropped for InstanceNorm only)
    with pytest.raises(ValueError, match=r"is the norm \(.*norm='batch'"):
        Pix2PixGenerator.from_reference_checkpoint(path, **{**constructor(options), "norm": "batch"})


def test_convert_refuses_more_than_two_checkpoints(tmp_path):
    result = run_convert("a.pth", "b.pth", "c.pth", "--out", str(tmp_path / "hub"))
    assert result.returncode == 2
    assert "one checkpoint, or a CycleGAN's two (G_A, G_B); got 3" in result.stderr
    assert not (tmp_path / "hub").exists()


def write_bicyclegan_checkpoints(folder: Path) -> tuple[Path, Path, dict]:
    """The golden BicycleGAN forward case's G (z at every level) and E saved as the reference saves them."""
    _, reference = load_case("bicyclegan_networks")
    paths = {}
    for net, name in (("G_all", "latest_net_G.pth"), ("E", "latest_net_E.pth")):
        prefix = f"init.{net}."
        torch.save(
            {key.removeprefix(prefix): t for key, t in reference.items() if key.startswith(prefix)}, folder / name
        )
        paths[net] = folder / name
    return paths["G_all"], paths["E"], reference


def test_a_bicyclegan_g_and_e_convert_into_one_folder_that_reproduces_both(tmp_path):
    from pix2pix_hub.networks import LatentEncoder

    g_path, e_path, reference = write_bicyclegan_checkpoints(tmp_path)
    flags = ["--arch", "bicycle_unet_128", "--ngf", "4", "--norm", "instance", "--no_dropout", "--netE", "resnet_128"]
    result = run_convert(str(g_path), "--encoder", str(e_path), "--out", str(tmp_path / "hub"), *flags, "--nef", "8")
    assert result.returncode == 0, result.stderr
    generator = Pix2PixGenerator.from_pretrained(tmp_path / "hub")
    encoder = LatentEncoder.from_pretrained(tmp_path / "hub", subfolder="encoder")
    with torch.no_grad():
        output, (mu, logvar) = generator(reference["input.x"], reference["input.z"]), encoder(reference["input.x"])
    for ours, theirs in ((output, "out.G_all"), (mu, "out.E.mu"), (logvar, "out.E.logvar")):
        torch.testing.assert_close(ours, reference[theirs], atol=1e-5 * reference[theirs].abs().max().item(), rtol=0)


def test_an_encoder_for_a_generator_without_a_latent_code_is_refused(tmp_path):
    _, e_path, _ = write_bicyclegan_checkpoints(tmp_path)
    checkpoint = write_reference_pth("G_unet_256_ngf8_batch", tmp_path)
    result = run_convert(str(checkpoint), "--encoder", str(e_path), "--out", str(tmp_path / "hub"), "--ngf", "8")
    assert result.returncode == 2 and "takes no latent code" in result.stderr
    assert not (tmp_path / "hub").exists()
