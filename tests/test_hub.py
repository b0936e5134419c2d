import json
import os
import subprocess
import sys
import time
from pathlib import Path

import huggingface_hub
import pytest
import torch
import yaml
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.hub import atomic_write_bytes

REPO_ROOT = Path(__file__).resolve().parent.parent


def tiny_generator(**kwargs) -> Pix2PixGenerator:
    torch.manual_seed(0)
    return Pix2PixGenerator(arch="resnet_6blocks", ngf=4, norm="instance", **kwargs).eval()


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        torch.testing.assert_close(state_a[key], state_b[key], rtol=0, atol=0)


def test_save_pretrained_writes_safetensors_config_and_card_and_no_pickle(tmp_path):
    generator = tiny_generator(in_channels=1, inference_mode="paper")
    generator.save_pretrained(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config == {
        "arch": "resnet_6blocks",
        "in_channels": 1,
        "out_channels": 3,
        "ngf": 4,
        "norm": "instance",
        "use_dropout": True,
        "inference_mode": "paper",
    }
    assert load_file(tmp_path / "model" / "model.safetensors").keys() == generator.state_dict().keys()


def test_from_pretrained_local_folder_round_trips_weights_config_and_outputs(tmp_path):
    generator = tiny_generator(out_channels=1)
    generator.save_pretrained(tmp_path / "model")
    loaded = Pix2PixGenerator.from_pretrained(tmp_path / "model")
    assert (loaded.arch, loaded.out_channels, loaded.norm) == ("resnet_6blocks", 1, "instance")
    assert_same_weights(generator, loaded)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), generator(x), rtol=0, atol=0)


def test_model_card_has_hub_metadata_and_usage(tmp_path):
    tiny_generator().save_pretrained(tmp_path / "model")
    card = ModelCard.load(tmp_path / "model" / "README.md")
    assert card.data.library_name == "pix2pix-hub"
    assert card.data.pipeline_tag == "image-to-image"
    assert card.data.license == "bsd-3-clause"
    assert {"pix2pix", "image-to-image", "gan"} <= set(card.data.tags)
    assert "arxiv.org/abs/1611.07004" in card.text
    assert "Pix2PixPipeline.from_pretrained" in card.text
    assert "`resnet_6blocks`" in card.text


def corrupt_weights(folder: Path, change) -> None:
    tensors = load_file(folder / "model.safetensors")
    change(tensors)
    save_file(tensors, folder / "model.safetensors")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.pop("net.head.conv.bias"), "missing tensors: net.head.conv.bias"),
        (lambda t: t.update(extra=torch.zeros(1)), "unexpected tensors: extra"),
        (lambda t: t.update({"net.head.conv.bias": torch.zeros(5)}), r"wrong shapes: net.head.conv.bias: file \(5,\)"),
    ],
)
def test_loading_is_strict_and_names_the_bad_tensor(tmp_path, change, message):
    tiny_generator().save_pretrained(tmp_path / "model")
    corrupt_weights(tmp_path / "model", change)
    with pytest.raises(ValueError, match=message):
        Pix2PixGenerator.from_pretrained(tmp_path / "model")


def test_config_that_does_not_match_the_weights_is_refused(tmp_path):
    tiny_generator().save_pretrained(tmp_path / "model")
    config_path = tmp_path / "model" / "config.json"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "ngf": 8}))
    with pytest.raises(ValueError, match="wrong shapes"):
        Pix2PixGenerator.from_pretrained(tmp_path / "model")


def test_pickled_weights_are_never_loaded(tmp_path):
    generator = tiny_generator()
    generator.save_pretrained(tmp_path / "model")
    (tmp_path / "model" / "model.safetensors").unlink()
    torch.save(generator.state_dict(), tmp_path / "model" / "pytorch_model.bin")
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        Pix2PixGenerator.from_pretrained(tmp_path / "model")


def test_half_precision_weights_load_as_float32(tmp_path):
    generator = tiny_generator()
    generator.save_pretrained(tmp_path / "model")
    corrupt_weights(tmp_path / "model", lambda t: t.update({k: v.half() for k, v in t.items()}))
    loaded = Pix2PixGenerator.from_pretrained(tmp_path / "model")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    torch.testing.assert_close(loaded.net.head.conv.weight, generator.net.head.conv.weight, rtol=1e-3, atol=1e-4)


def lay_out_hf_cache(cache: Path, repo_id: str, source: Path) -> None:
    """Write `source`'s files into an HF cache snapshot exactly as `hf_hub_download` leaves them."""
    commit = "a" * 40
    repo_dir = cache / f"models--{repo_id.replace('/', '--')}"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    snapshot = repo_dir / "snapshots" / commit
    for file in source.rglob("*"):
        if file.is_file():
            (snapshot / file.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (snapshot / file.relative_to(source)).write_bytes(file.read_bytes())


def run_offline(hf_home: Path, script: str) -> str:
    """Run `script` in a fresh Python with `hf_home` as the HF home and the Hub unreachable; its stdout."""
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_from_pretrained_repo_id_resolves_from_the_hf_cache_offline(tmp_path):
    generator = tiny_generator()
    generator.save_pretrained(tmp_path / "saved")
    lay_out_hf_cache(tmp_path / "hf" / "hub", "org/pix2pix-facades", tmp_path / "saved")
    expected = generator(torch.zeros(1, 3, 32, 32)).detach()
    torch.save(expected, tmp_path / "expected.pt")
    script = (
        "import torch; from pix2pix_hub import Pix2PixGenerator\n"
        "g = Pix2PixGenerator.from_pretrained('org/pix2pix-facades')\n"
        f"expected = torch.load({str(tmp_path / 'expected.pt')!r}, weights_only=True)\n"
        "torch.testing.assert_close(g(torch.zeros(1, 3, 32, 32)), expected, rtol=0, atol=0)\n"
        "print('loaded', g.arch, g.ngf if hasattr(g, 'ngf') else '')\n"
    )
    assert "loaded resnet_6blocks" in run_offline(tmp_path / "hf", script)


def test_one_direction_of_a_two_direction_repo_loads_by_subfolder_from_a_folder_and_offline(tmp_path):
    directions = {"AtoB": tiny_generator(), "BtoA": Pix2PixGenerator(arch="resnet_6blocks", ngf=4, norm="instance")}
    for name, generator in directions.items():
        generator.save_pretrained(tmp_path / "saved" / name)
    (tmp_path / "saved" / "README.md").write_text("both directions")
    lay_out_hf_cache(tmp_path / "hf" / "hub", "org/cyclegan-tiny", tmp_path / "saved")
    for name, generator in directions.items():
        assert_same_weights(Pix2PixGenerator.from_pretrained(tmp_path / "saved", subfolder=name), generator)
        torch.save(generator(torch.zeros(1, 3, 32, 32)).detach(), tmp_path / f"{name}.pt")
    script = (
        "import torch; from pix2pix_hub import Pix2PixPipeline\n"
        "for name in ('AtoB', 'BtoA'):\n"
        "    pipe = Pix2PixPipeline.from_pretrained('org/cyclegan-tiny', subfolder=name, backend='torch')\n"
        f"    expected = torch.load({str(tmp_path)!r} + f'/{{name}}.pt', weights_only=True)\n"
        "    torch.testing.assert_close(pipe.generator(torch.zeros(1, 3, 32, 32)), expected, rtol=0, atol=0)\n"
        "    print('loaded', name)\n"
    )
    assert run_offline(tmp_path / "hf", script).split() == ["loaded", "AtoB", "loaded", "BtoA"]
    with pytest.raises(FileNotFoundError, match="no subfolder 'XtoY' \\(model subfolders: \\['AtoB', 'BtoA'\\]\\)"):
        Pix2PixGenerator.from_pretrained(tmp_path / "saved", subfolder="XtoY")


def test_push_to_hub_uploads_the_saved_folder_over_http(hub_standin, tmp_path):
    # hub_standin is a loopback stand-in for the Hugging Face Hub, which this machine cannot reach.
    generator = tiny_generator()
    generator.push_to_hub("org/pix2pix-tiny", model_card_kwargs={"repo_id": "org/pix2pix-tiny"})
    uploaded = hub_standin.files("org/pix2pix-tiny")
    assert sorted(uploaded) == ["README.md", "config.json", "model.safetensors"]
    (tmp_path / "model.safetensors").write_bytes(uploaded["model.safetensors"])
    for key, tensor in load_file(tmp_path / "model.safetensors").items():
        torch.testing.assert_close(tensor, generator.state_dict()[key], rtol=0, atol=0)
    assert json.loads(uploaded["config.json"])["arch"] == "resnet_6blocks"
    card = uploaded["README.md"].decode()
    assert yaml.safe_load(card.split("---")[1])["pipeline_tag"] == "image-to-image"
    assert 'Pix2PixPipeline.from_pretrained("org/pix2pix-tiny")' in card
    assert "models/org/pix2pix-tiny" in hub_standin.repos


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "config.json"
    target.write_bytes(b"old")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_saved_files_get_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        tiny_generator().save_pretrained(tmp_path / "model")
    finally:
        os.umask(umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "model").iterdir()}
    assert modes == {"README.md": 0o644, "config.json": 0o644, "model.safetensors": 0o644}


@pytest.mark.parametrize("switched_off", [True, False], ids=["HF_HUB_OFFLINE", "no_network"])
def test_an_unknown_hub_id_fails_in_seconds_with_a_plain_message_when_the_hub_cannot_be_reached(
    switched_off, monkeypatch
):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", switched_off)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    reason = "HF_HUB_OFFLINE=1 is set" if switched_off else "http://127.0.0.1:9 did not answer within 3 s"
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError) as error:
        Pix2PixPipeline.from_pretrained("org/no-such-model", subfolder=None if switched_off else "AtoB")
    assert time.perf_counter() - start < 5  # huggingface_hub alone retries for ~25 s
    assert str(error.value) == (
        f"org/no-such-model: not a folder here, and the Hub cannot be reached ({reason}) and the local Hugging Face "
        f"cache ({huggingface_hub.constants.HF_HUB_CACHE}) does not hold it. Pass a folder saved with "
        "save_pretrained, or download it where there is network (`hf download org/no-such-model`)."
    )


def test_bundled_cards_do_not_call_the_data_direction_a_change_from_the_papers_recipe():
    # The paper trains each data set in the direction its task needs (facades: labels -> photo, i.e. BtoA).
    cards = sorted((REPO_ROOT / "weights").glob("*/README.md"))
    recipes = [line for card in cards for line in card.read_text().splitlines() if line.startswith("- Recipe:")]
    assert len(recipes) >= 3
    assert [line for line in recipes if "direction=" in line] == []
