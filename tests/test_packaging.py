import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_a_built_wheel_ships_every_module_and_card_template_and_no_space(tmp_path):
    source = tmp_path / "source"  # a copy, so no earlier build/ folder of this checkout leaks into the wheel
    for part in ("pix2pix_hub", "model_cards"):
        shutil.copytree(REPO_ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / part, source / part)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."]
    subprocess.run(build, cwd=source, check=True, timeout=300, capture_output=True)
    (wheel,) = tmp_path.glob("pix2pix_hub-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {path.relative_to(REPO_ROOT).as_posix() for path in (REPO_ROOT / "pix2pix_hub").rglob("*.py")}
    assert modules - names == set(), "modules missing from the wheel (add their package to pyproject.toml)"
    templates = {f"pix2pix_hub/model_cards/{path.name}" for path in (REPO_ROOT / "model_cards").glob("*.md")}
    assert templates <= names
    assert not [name for name in names if name.startswith(("space/", "tests/", "pix2pix_hub/tasks"))]

    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)]
    subprocess.run(install, check=True, timeout=300, capture_output=True)
    script = (
        "import pix2pix_hub, sys; assert pix2pix_hub.__file__.startswith(sys.argv[1]), pix2pix_hub.__file__\n"
        "g = pix2pix_hub.Pix2PixGenerator(arch='resnet_6blocks', ngf=4)\n"
        "g.save_pretrained(sys.argv[2]); print(open(sys.argv[2] + '/README.md').read())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(site), str(tmp_path / "saved")],
        cwd=tmp_path,  # away from the source tree: the installed copy must stand alone
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HF_HOME": str(tmp_path / "hf")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Pix2PixPipeline.from_pretrained" in result.stdout
