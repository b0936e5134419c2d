import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_a_built_wheel_ships_the_package_and_its_model_card_templates(tmp_path):
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."]
    subprocess.run(build, cwd=REPO_ROOT, check=True, timeout=300, capture_output=True)
    (wheel,) = tmp_path.glob("pix2pix_hub-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pix2pix_hub/models.py" in names
    assert "pix2pix_hub/model_cards/pix2pix_generator.md" in names

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
