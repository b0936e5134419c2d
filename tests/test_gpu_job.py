"""recipes/gpu_job.py: a job's tree is slim while its command runs, and every byte comes back afterwards."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from recipes import gpu_job

REPO_ROOT = Path(__file__).resolve().parent.parent


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` (ignored ones too, `.git` aside) and its SHA-256, with modes of executables."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[path.relative_to(root).as_posix()] = f"{digest} {oct(path.stat().st_mode)}"
    return found


def scratch_tree(root: Path) -> Path:
    """A small git tree laid out like the project: code, weights, golden fixtures, an ignored node_modules."""
    files = {
        "app.py": b"print('app')\n",
        ".gitignore": b"node_modules/\n__pycache__/\n",
        "weights/facades/model.safetensors": os.urandom(300_000),
        "weights/judges/facades/model.safetensors": os.urandom(200_000),
        "tests/fixtures/reference/golden.npz": os.urandom(100_000),
        "web/node_modules/onnxruntime-web/ort.wasm": os.urandom(50_000),
        "pix2pix_hub/__pycache__/x.pyc": b"cached",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def run_job(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recipes.gpu_job", "--root", str(root), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


LOOK = (  # the job's view of its tree, written outside it
    "import json, os, sys; from pathlib import Path; "
    "seen = sorted(str(p) for p in Path('.').rglob('*') if p.is_file() and '.git' not in p.parts); "
    "Path(sys.argv[1]).write_text(json.dumps(seen)); sys.exit(int(sys.argv[2]))"
)


def test_the_command_sees_a_slim_tree_and_every_byte_comes_back(tmp_path):
    root = scratch_tree(tmp_path / "tree")
    before = snapshot(root)
    result = run_job(root, "--", sys.executable, "-c", LOOK, str(tmp_path / "seen.json"), "0")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "seen.json").read_text()) == [".gitignore", "app.py", "run.sh"]
    assert snapshot(root) == before
    assert not gpu_job.aside_folder(root).exists()


def test_a_failing_command_keeps_its_status_and_the_tree_comes_back(tmp_path):
    root = scratch_tree(tmp_path / "tree")
    before = snapshot(root)
    result = run_job(root, "--", sys.executable, "-c", LOOK, str(tmp_path / "seen.json"), "3")
    assert result.returncode == 3
    assert snapshot(root) == before and not gpu_job.aside_folder(root).exists()


def test_an_interrupted_job_puts_everything_back(tmp_path):
    root = scratch_tree(tmp_path / "tree")
    before = snapshot(root)
    stop_parent = "import os, signal, time; os.kill(os.getppid(), signal.SIGTERM); time.sleep(30)"
    result = run_job(root, "--", sys.executable, "-c", stop_parent)
    assert result.returncode == 130 and "interrupted" in result.stderr
    assert snapshot(root) == before and not gpu_job.aside_folder(root).exists()


def test_a_killed_job_is_put_back_by_restore(tmp_path):
    root = scratch_tree(tmp_path / "tree")
    before = snapshot(root)
    gpu_job.set_aside(root, gpu_job.paths_to_set_aside(root, []))  # as a SIGKILLed run leaves it
    assert not (root / "weights").exists()
    assert "--restore` first" in run_job(root, "--", "true").stderr  # refused: nothing moved twice
    assert run_job(root, "--restore").returncode == 0
    assert snapshot(root) == before and not gpu_job.aside_folder(root).exists()


def test_a_kept_path_travels_and_its_siblings_stay_behind(tmp_path):
    root = scratch_tree(tmp_path / "tree")
    before = snapshot(root)
    result = run_job(root, "--keep", "weights/facades", "--", sys.executable, "-c", LOOK, str(tmp_path / "s"), "0")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "s").read_text()) == [
        ".gitignore",
        "app.py",
        "run.sh",
        "weights/facades/model.safetensors",
    ]
    assert snapshot(root) == before


def test_a_virtual_environment_in_the_tree_that_runs_the_job_is_not_set_aside(tmp_path, monkeypatch):
    root = scratch_tree(tmp_path / "tree")
    (root / ".gitignore").write_text("node_modules/\n__pycache__/\n.venv/\n")
    (root / ".venv/bin").mkdir(parents=True)
    assert ".venv" in gpu_job.paths_to_set_aside(root, [])
    monkeypatch.setattr(sys, "prefix", str(root / ".venv"))
    assert ".venv" not in gpu_job.paths_to_set_aside(root, []) and "weights" in gpu_job.paths_to_set_aside(root, [])


def test_what_travels_from_this_repository_is_under_60_mb_as_the_docstring_says():
    result = run_job(REPO_ROOT, "--size")
    travels = json.loads(result.stdout)["travels_bytes"]
    assert travels < gpu_job.LIMIT_BYTES == 60_000_000
    stated = float(re.search(r"([\d.]+) MB travels", gpu_job.__doc__)[1])
    assert abs(travels / 1e6 - stated) < 2  # the docstring's figure is this tree's, give or take a few files
