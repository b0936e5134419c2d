"""The README's code runs as written: the API block end to end, and its Hub commands on a machine without network."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.torch import load_file

from pix2pix_hub import Pix2PixPipeline

REPO_ROOT = Path(__file__).resolve().parent.parent
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
NO_NETWORK = "http://127.0.0.1:9"  # the discard port: nothing listens, so every connection is refused at once


def section_block(heading: str, language: str) -> str:
    """The first fenced code block of `language` under the README heading `heading`."""
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(rf"```{language}\n(.*?)```", section, re.S)[1]


def readme_command(start: str) -> list[str]:
    """The README's command line that starts with `start`, as argv."""
    (line,) = {line.strip() for line in README.splitlines() if line.strip().startswith(start)}
    return line.split()


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_api_block_runs_as_written_and_pushes_last(hub_standin, tmp_path):
    code = section_block("The API in a dozen lines", "python")
    assert code.rstrip().splitlines()[-1].startswith("pipe.generator.push_to_hub(")  # offline, all but it runs
    for folder in ("weights", "examples"):  # "run from the repository root", without writing into the checkout
        (tmp_path / folder).symlink_to(REPO_ROOT / folder)
    (tmp_path / "api.py").write_text(code)
    env = {"HF_ENDPOINT": hub_standin.endpoint, "HF_TOKEN": "hf_standin_token", "PYTHONPATH": str(REPO_ROOT)}
    result = run([sys.executable, "api.py"], tmp_path, env)
    assert result.returncode == 0, result.stderr
    saved = load_file(tmp_path / "my-pix2pix" / "model.safetensors")
    assert (
        sum(tensor.numel() for name, tensor in saved.items() if "running" not in name and "batches" not in name)
        == 54_413_955
    )
    (repo_id,) = re.findall(r'push_to_hub\("([^"]+)"\)', code)
    uploaded = hub_standin.files(repo_id)
    assert sorted(uploaded) == ["README.md", "config.json", "model.safetensors"]
    (tmp_path / "uploaded.safetensors").write_bytes(uploaded["model.safetensors"])
    shipped = load_file(REPO_ROOT / "weights/facades_label2photo/model.safetensors")
    pushed = load_file(tmp_path / "uploaded.safetensors")
    assert shipped.keys() == pushed.keys() and all(shipped[key].float().equal(pushed[key]) for key in shipped)
    expected = Pix2PixPipeline.from_pretrained(REPO_ROOT / "weights/facades_label2photo")(
        Image.open(REPO_ROOT / "examples/facades_label2photo/1_input.jpg"), seed=0
    )
    photo = np.asarray(Image.open(tmp_path / "facade.png"), dtype=int)
    assert photo.shape == np.asarray(expected).shape == (256, 256, 3)
    assert np.abs(photo - np.asarray(expected, dtype=int)).max() <= 1  # the bundled model's photo, seeded


def _offline_failure(argv: list[str], tmp_path: Path, env: dict[str, str]) -> tuple[str, float]:
    """Run a README command from an empty folder; its stderr and seconds, after checking it failed plainly."""
    start = time.perf_counter()
    result = run(argv, tmp_path, {"HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(REPO_ROOT), **env})
    seconds = time.perf_counter() - start
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr, seconds


def test_the_hub_commands_fail_in_seconds_without_network_and_leave_no_output_folder(tmp_path):
    train = readme_command("accelerate launch train_accelerate.py --dataset huggan/facades")
    evaluate = readme_command("python -m pix2pix_hub.evaluate --model you/pix2pix-facades")
    train = [sys.executable, str(REPO_ROOT / "train_accelerate.py"), *train[3:]]  # as `python`, which it also is
    evaluate = [sys.executable, *evaluate[1:]]
    # no network at all (every connection refused), then the Hub switched off: each must fail in seconds
    stderr, seconds = _offline_failure(train, tmp_path, {"HF_ENDPOINT": NO_NETWORK})
    assert "Couldn't reach 'huggan/facades'" in stderr and f"{NO_NETWORK} did not answer" in stderr, stderr
    assert seconds < 20  # was 28 s of retries, then a traceback
    assert not (tmp_path / train[train.index("--output_dir") + 1]).exists()
    stderr, seconds = _offline_failure(evaluate, tmp_path, {"HF_HUB_OFFLINE": "1"})
    assert "you/pix2pix-facades: not a folder here, and the Hub cannot be reached (HF_HUB_OFFLINE=1" in stderr, stderr
    assert "hf download you/pix2pix-facades" in stderr and seconds < 20
    assert not (tmp_path / "evaluation").exists()
