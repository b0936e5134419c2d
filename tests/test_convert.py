import json
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from pix2pix_hub import Pix2PixGenerator
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
