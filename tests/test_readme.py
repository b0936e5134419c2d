"""The README's code runs as written: the API block end to end, and its Hub commands on a machine without network."""

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from space.web_tab import runtime_missing

REPO_ROOT = Path(__file__).resolve().parent.parent
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
SIDES = ("input", "target")  # an example's files: examples/<task>/<n>_input.jpg, <n>_target.jpg
NO_NETWORK = "http://127.0.0.1:9"  # the discard port: nothing listens, so every connection is refused at once


def section_block(heading: str, language: str) -> str:
    """The first fenced code block of `language` under the README heading `heading`."""
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(rf"```{language}\n(.*?)```", section, re.S)[1]


def readme_command(start: str) -> str:
    """The README's command line that starts with `start`."""
    (line,) = {line.strip() for line in README.splitlines() if line.strip().startswith(start)}
    return line


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, check=False
    )


def fresh_clone(root: Path) -> Path:
    """The repository as a fresh clone holds it: every file git tracks or would add, in a new git repository (so
    that .gitignore applies); large files are hard links, others copies."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source, target = REPO_ROOT / name, root / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target) if source.stat().st_size > 1_000_000 else shutil.copy2(source, target)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def files_in(root: Path) -> dict[str, int]:
    """Every file under `root` and its size, git's own folder and Python's caches aside."""
    return {
        path.relative_to(root).as_posix(): path.stat().st_size
        for path in root.rglob("*")
        if path.is_file() and not {".git", "__pycache__"} & set(path.relative_to(root).parts)
    }


def left_behind(clone: Path, before: dict[str, int]) -> dict[str, int]:
    """The files a block added to the clone, after checking that git ignores each of them."""
    added = {name: size for name, size in files_in(clone).items() if name not in before}
    if added:
        ignored = subprocess.run(["git", "check-ignore", *added], cwd=clone, capture_output=True, text=True).stdout
        assert sorted(ignored.split()) == sorted(added), f"not ignored: {set(added) - set(ignored.split())}"
    return added


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return fresh_clone(tmp_path_factory.mktemp("fresh") / "pix2pix-hub")


def test_the_first_command_installs_the_package_and_the_runtime_the_browser_tab_asks_for():
    first = re.search(r"```bash\n(.*?)\n", README)[1]  # the quick start's first command
    pip, npm, app = first.split(" && ")
    assert app == "python app.py" and npm in runtime_missing()  # what the tab tells a user without it, verbatim
    dry_run = ["--dry-run", "--no-deps", "--no-index", "--no-build-isolation", "--quiet", "--report", "-"]
    result = run([sys.executable, "-m", *pip.split()[0:2], *dry_run, *pip.split()[2:]], REPO_ROOT, {}, timeout=120)
    assert result.returncode == 0, result.stderr
    installs = {item["metadata"]["name"]: item["download_info"]["url"] for item in json.loads(result.stdout)["install"]}
    assert installs.get("pix2pix-hub") == REPO_ROOT.as_uri()  # so a script saved anywhere imports pix2pix_hub


def test_the_api_block_runs_as_written_offline_from_a_script_elsewhere_and_leaves_only_a_small_ignored_file(
    clone, tmp_path
):
    code = section_block("The API in a dozen lines", "python")
    (tmp_path / "api.py").write_text(code)  # "save it as a script anywhere"
    before = files_in(clone)
    env = {"HF_ENDPOINT": NO_NETWORK, "PYTHONPATH": str(clone)}  # no network; the package as `-e .` installs it
    result = run([sys.executable, str(tmp_path / "api.py")], clone, env)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    added = left_behind(clone, before)
    assert list(added) == ["facade.png"] and added["facade.png"] < 300_000
    generator = Pix2PixGenerator(arch="unet_256", norm="batch")
    assert sum(parameter.numel() for parameter in generator.parameters()) == 54_413_955  # as the block says
    expected = Pix2PixPipeline.from_pretrained(REPO_ROOT / "weights/facades_label2photo")(
        Image.open(REPO_ROOT / "examples/facades_label2photo/1_input.jpg"), seed=0
    )
    photo = np.asarray(Image.open(clone / "facade.png"), dtype=int)
    assert photo.shape == np.asarray(expected).shape == (256, 256, 3)
    assert np.abs(photo - np.asarray(expected, dtype=int)).max() <= 1  # the bundled model's photo, seeded
    (clone / "facade.png").unlink()


def test_the_api_blocks_push_line_uploads_the_bundled_model(clone, hub_standin, tmp_path):
    code = section_block("The API in a dozen lines", "python")
    push = code.rstrip().splitlines()[-1]
    assert push.startswith("# pipe.generator.push_to_hub(")  # commented out: the block runs without a network
    (tmp_path / "api.py").write_text(code.replace(push, push.removeprefix("# ")))
    env = {"HF_ENDPOINT": hub_standin.endpoint, "HF_TOKEN": "hf_standin_token", "PYTHONPATH": str(clone)}
    result = run([sys.executable, str(tmp_path / "api.py")], clone, env)
    assert result.returncode == 0, result.stderr
    (repo_id,) = re.findall(r'push_to_hub\("([^"]+)"\)', code)
    uploaded = hub_standin.files(repo_id)
    assert sorted(uploaded) == ["README.md", "config.json", "model.safetensors"]
    (tmp_path / "uploaded.safetensors").write_bytes(uploaded["model.safetensors"])
    shipped = load_file(REPO_ROOT / "weights/facades_label2photo/model.safetensors")
    pushed = load_file(tmp_path / "uploaded.safetensors")
    assert shipped.keys() == pushed.keys() and all(shipped[key].float().equal(pushed[key]) for key in shipped)
    (clone / "facade.png").unlink()


def test_the_any_size_blocks_run_as_written_on_an_aerial_at_the_datas_scale(clone):
    code = section_block("Any size in, full detail out", "python")
    command = section_block("Any size in, full detail out", "bash").strip()
    before = files_in(clone)
    result = run([sys.executable, "-c", code], clone, {"PYTHONPATH": str(clone)})
    assert result.returncode == 0, result.stderr
    assert command.startswith("python -m pix2pix_hub.translate ")
    result = run(["bash", "-c", sys.executable + command.removeprefix("python")], clone, {"PYTHONPATH": str(clone)})
    assert result.returncode == 0, result.stderr
    added = left_behind(clone, before)
    assert sorted(added) == [
        "outputs/aerial.png",
        "outputs/map.png",
        *(f"outputs/maps/{name}.png" for name in ("1_input", "2_input", "3_input", "aerial")),
    ]
    aerial, tiled = Image.open(clone / "outputs/aerial.png"), Image.open(clone / "outputs/map.png")
    assert aerial.size == tiled.size == Image.open(clone / "outputs/maps/aerial.png").size == (768, 256)
    # at the data's scale, a photo of the strip becomes nearly the map the model draws for it alone; blown up, mush
    photo, real_map = (Image.open(REPO_ROOT / f"examples/sat2map/2_{side}.jpg").convert("RGB") for side in SIDES)
    alone = np.asarray(Pix2PixPipeline.from_pretrained(REPO_ROOT / "weights/sat2map")(photo), dtype=float)
    in_strip = np.asarray(tiled.crop((256, 0, 512, 256)), dtype=float)
    assert np.abs(in_strip - alone).mean() < 2
    pipe = Pix2PixPipeline.from_pretrained(REPO_ROOT / "weights/sat2map", mode="tiled")
    blown_up = np.asarray(pipe(photo.resize((1300, 700))).resize((256, 256), Image.Resampling.BICUBIC), dtype=float)
    real_map = np.asarray(real_map, dtype=float)
    assert np.abs(blown_up - real_map).mean() > 1.15 * np.abs(in_strip - real_map).mean()
    shutil.rmtree(clone / "outputs")


def _offline_failure(argv: list[str], tmp_path: Path, env: dict[str, str]) -> tuple[str, float]:
    """Run a README command from an empty folder; its stderr and seconds, after checking it failed plainly."""
    start = time.perf_counter()
    result = run(argv, tmp_path, {"HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(REPO_ROOT), **env})
    seconds = time.perf_counter() - start
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr, seconds


def test_the_hub_commands_fail_in_seconds_without_network_and_leave_no_output_folder(tmp_path):
    train = readme_command("accelerate launch train_accelerate.py --dataset huggan/facades").split()
    evaluate = readme_command("python -m pix2pix_hub.evaluate --model you/pix2pix-facades").split()
    train = [sys.executable, str(REPO_ROOT / "train_accelerate.py"), *train[3:]]  # as `python`, which it also is
    evaluate = [sys.executable, *evaluate[1:]]
    # no network at all (every connection refused), then the Hub switched off: each must fail in seconds
    stderr, seconds = _offline_failure(train, tmp_path, {"HF_ENDPOINT": NO_NETWORK})
    assert "Couldn't reach 'huggan/facades'" in stderr and f"{NO_NETWORK} did not answer" in stderr, stderr
    assert "the Hub could not be reached" in stderr and "OfflineModeIsEnabled" not in stderr, stderr  # not turned on
    assert "run again with a network" in stderr and "pass a folder on this machine" in stderr
    assert seconds < 20  # was 28 s of retries, then a traceback
    assert not (tmp_path / train[train.index("--output_dir") + 1]).exists()
    stderr, seconds = _offline_failure(evaluate, tmp_path, {"HF_HUB_OFFLINE": "1"})
    assert "you/pix2pix-facades: not a folder here, and the Hub cannot be reached (HF_HUB_OFFLINE=1" in stderr, stderr
    assert "hf download you/pix2pix-facades" in stderr and seconds < 20
    assert not (tmp_path / "evaluation").exists()


def test_the_training_data_routes_fail_plainly_where_the_data_is_missing(tmp_path):
    local = readme_command("accelerate launch train_accelerate.py --dataset path/to/my_pairs").split()
    local = [sys.executable, str(REPO_ROOT / "train_accelerate.py"), *local[3:]]
    stderr, _ = _offline_failure(local, tmp_path, {"HF_ENDPOINT": NO_NETWORK})
    assert f"path/to/my_pairs: no such folder ({tmp_path / 'path/to/my_pairs'})" in stderr, stderr
    hub = readme_command("accelerate launch train_accelerate.py --dataset huggan/facades").split()
    hub = [sys.executable, str(REPO_ROOT / "train_accelerate.py"), *hub[3:]]
    stderr, _ = _offline_failure(hub, tmp_path, {"HF_HUB_OFFLINE": "1"})
    assert "HF_HUB_OFFLINE=1 is set" in stderr and "unset HF_HUB_OFFLINE to download it" in stderr, stderr
    layout = README.split("**Training data.**", 1)[1].split("\n\n```bash", 1)[0]
    assert "huggan/facades" in layout and "my_pairs/train/" in layout and "my_pairs/A/" in layout


def test_the_bicyclegan_block_runs_as_written_and_saves_six_different_shoes(clone):
    code = section_block("BicycleGAN: many outputs for one sketch", "python")
    before = files_in(clone)
    result = run([sys.executable, "-c", code], clone, {"HF_ENDPOINT": NO_NETWORK, "PYTHONPATH": str(clone)})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    added = left_behind(clone, before)
    assert sorted(added) == [f"shoe_{index}.png" for index in range(6)]
    shoes = [np.asarray(Image.open(clone / name), dtype=int) for name in sorted(added)]
    distances = [np.abs(first - second).mean() for first, second in itertools.combinations(shoes, 2)]
    assert min(distances) > 0.5 and np.mean(distances) > 5  # no two alike; on average 5 of 255 levels apart
    for name in added:
        (clone / name).unlink()
