"""The seam for generators with more than an image: a toy method whose G takes an image and a latent code z is added
by its method file, its network file and one line in each registry, and runs everywhere a pix2pix model runs.

The test copies the package, adds exactly those four changes (and proves that nothing else differs), then trains the
toy through `train_accelerate.py`, saves and reloads it, and runs it through the pipeline in PyTorch and ONNX Runtime
(float32 and, after `calibrate_int8`, int8), in the `full` and `tiled` modes, and through the web export's graph with
the page's own latent draws.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.paired_data import write_ab_folder

REPO = Path(__file__).resolve().parent.parent
TOY = Path(__file__).parent / "fixtures" / "latent_method"
ADDED = {"pix2pix_hub/methods/toy_latent.py", "pix2pix_hub/networks/toy_latent.py"}
REGISTRIES = {"pix2pix_hub/methods/__init__.py", "pix2pix_hub/networks/__init__.py"}

CHILD = r"""
import json, sys
from pathlib import Path
import numpy as np, onnxruntime, torch
from PIL import Image
from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.calibrate_int8 import main as calibrate
from pix2pix_hub.evaluation.metrics import output_psnr
from pix2pix_hub.images import pixels_to_tensor
from pix2pix_hub.inference.pipeline import Tiling
from pix2pix_hub.inference.web import draw_web_latents, export_web_model
from tests.paired_data import smooth_image

out, data, web = map(Path, sys.argv[1:4])
image, wide = Image.fromarray(smooth_image(5, 96)), Image.fromarray(smooth_image(6, 192)).resize((200, 130))
z1, z2 = torch.tensor([[2.0, -2.0]]), torch.tensor([[-2.0, 2.0]])
pixels = lambda picture: np.asarray(picture, dtype=int)
gap = lambda a, b: int(np.abs(pixels(a) - pixels(b)).max())
results = {"inputs": [[item.name, item.kind, item.channels] for item in Pix2PixGenerator.from_pretrained(out).inputs]}
eager = Pix2PixPipeline.from_pretrained(out, backend="torch", precision="float32")
fast = Pix2PixPipeline.from_pretrained(out, precision="float32")
results["backends"] = [eager.backend, fast.backend]
results["torch_vs_onnx"] = gap(eager(image, z=z1), fast(image, z=z1))
results["z_changes_output"] = gap(fast(image, z=z1), fast(image, z=z2))
results["same_seed_same_output"] = gap(fast(image, seed=3), fast(image, seed=3))
results["other_seed_changes_output"] = gap(fast(image, seed=3), fast(image, seed=4))
for mode in ("full", "tiled"):
    tiling = Tiling(tile=128, overlap=64) if mode == "tiled" else None
    pipes = [Pix2PixPipeline.from_pretrained(out, backend=b, mode=mode, tiling=tiling) for b in ("torch", "auto")]
    outputs = [pipes[0](wide, z=z1), pipes[1](wide, z=z1), pipes[1](wide, z=z2)]
    results[mode] = {"size": list(outputs[1].size), "torch_vs_onnx": gap(*outputs[:2])}
    results[mode]["z_changes_output"] = gap(*outputs[1:])
calibrate(["--model", str(out), "--dataset", str(data), "--load_size", "64", "--crop_size", "64", "--min_psnr", "0"])
int8 = Pix2PixPipeline.from_pretrained(out)
scaled = [pixels(pipe(image, z=z1)) / 127.5 - 1 for pipe in (int8, fast)]
results["int8"] = {"precision": int8.precision, "psnr_vs_float32": output_psnr(*scaled),
                   "z_changes_output": gap(int8(image, z=z1), int8(image, z=z2))}
model = export_web_model(out, web, "toy", precision="float32")
session = onnxruntime.InferenceSession(str(web / "toy" / "float32.onnx"), providers=["CPUExecutionProvider"])
source = pixels_to_tensor(fast.model_input(image))[None]
(code,) = draw_web_latents([latent["channels"] for latent in model["latents"]], seed=7)
(page_output,) = session.run(None, {"source": source.numpy(), "z": code})
runner_output = fast.runner.run({"source": source, "z": torch.from_numpy(code)})
results["web"] = {"latents": model["latents"], "vs_runner": float(np.abs(page_output - runner_output.numpy()).max())}
print(json.dumps(results))
"""


def changed_files(copy: Path) -> set[str]:
    """Paths under pix2pix_hub/ whose bytes differ between the repository and `copy`, or that exist in one only."""
    changed = set()
    for root in (REPO, copy):
        for path in (root / "pix2pix_hub").rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            other = (copy if root == REPO else REPO) / relative
            if not other.is_file() or not filecmp.cmp(path, other, shallow=False):
                changed.add(relative)
    return changed


def add_the_toy_method(copy: Path) -> None:
    """The four changes a new method with a new network makes: two files, a line in each registry."""
    shutil.copytree(REPO / "pix2pix_hub", copy / "pix2pix_hub", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "model_cards", copy / "model_cards")
    shutil.copy(REPO / "train_accelerate.py", copy)
    shutil.copy(TOY / "toy_latent.py", copy / "pix2pix_hub/methods/toy_latent.py")
    shutil.copy(TOY / "toy_latent_network.py", copy / "pix2pix_hub/networks/toy_latent.py")
    methods = copy / "pix2pix_hub/methods/__init__.py"
    line = '    "everybody_dance_now": "pix2pix_hub.methods.everybody_dance_now:EverybodyDanceNow",\n'
    text = methods.read_text(encoding="utf-8")
    assert line in text
    methods.write_text(text.replace(line, line + '    "toy_latent": "pix2pix_hub.methods.toy_latent:ToyLatent",\n'))
    networks = copy / "pix2pix_hub/networks/__init__.py"
    families = "from . import bicyclegan, pix2pixhd, resnet, unet  #"
    text = networks.read_text(encoding="utf-8")
    assert families in text
    networks.write_text(text.replace(families, "from . import bicyclegan, pix2pixhd, resnet, toy_latent, unet  #"))


def test_a_generator_taking_an_image_and_a_latent_code_runs_everywhere_from_four_changes(tmp_path):
    copy = tmp_path / "tree"
    add_the_toy_method(copy)
    assert changed_files(copy) == ADDED | REGISTRIES

    data = write_ab_folder(tmp_path / "ab", {"train": 6, "test": 2}, size=64)
    out = tmp_path / "out"
    env = {"PYTHONPATH": f"{copy}:{REPO}", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PATH": ""}
    train = [sys.executable, str(copy / "train_accelerate.py"), "--method", "toy_latent", "--dataset", str(data)]
    train += ["--output_dir", str(out), "--report_to", "none", "--load_size", "64", "--crop_size", "64"]
    train += ["--max_train_steps", "4", "--eval_steps", "4", "--mixed_precision", "no"]
    trained = subprocess.run(train, capture_output=True, text=True, timeout=300, env=env)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert json.loads((out / "training.json").read_text())["method"] == "toy_latent"

    command = [sys.executable, "-c", CHILD, str(out), str(data), str(tmp_path / "web")]
    child = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=copy)
    assert child.returncode == 0, child.stderr[-3000:]
    results = json.loads(child.stdout.strip().splitlines()[-1])
    assert results["inputs"] == [["source", "image", 3], ["z", "latent", 2]]
    assert results["backends"] == ["torch", "onnxruntime"] and results["torch_vs_onnx"] <= 1
    assert results["z_changes_output"] > 1 and results["other_seed_changes_output"] > 1  # z reaches the output
    assert results["same_seed_same_output"] == 0
    for mode in ("full", "tiled"):
        assert results[mode]["size"] == [200, 130] and results[mode]["torch_vs_onnx"] <= 1, mode
        assert results[mode]["z_changes_output"] > 1, mode
    assert results["int8"]["precision"] == "int8" and results["int8"]["z_changes_output"] > 1
    assert results["int8"]["psnr_vs_float32"] > 25
    assert results["web"]["latents"] == [{"name": "z", "channels": 2}] and results["web"]["vs_runner"] < 1e-5
