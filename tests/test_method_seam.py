"""The method seam: a new method is one file, trained through train_accelerate.py with no other edit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

from pix2pix_hub import Pix2PixPipeline
from tests.paired_data import smooth_image, write_ab_folder

REPO = Path(__file__).resolve().parent.parent

TOY_METHOD = '''
"""L1 regression: a generator trained on the reconstruction term alone (the paper's "L1 only" row)."""

from dataclasses import dataclass

import torch.nn.functional as F

from pix2pix_hub.methods.base import Recipe, TrainingState, option
from pix2pix_hub.methods.paired import PairedTranslation
from pix2pix_hub.networks import Pix2PixGenerator
from pix2pix_hub.methods.gan import adam


@dataclass(frozen=True)
class L1RegressionRecipe(Recipe):
    arch: str = option("unet_128", "generator", "networks")
    ngf: int = option(4, "generator width", "networks")


class L1Regression(PairedTranslation):
    name = "l1_regression"
    Recipe = L1RegressionRecipe

    def build_networks(self, recipe, channels, args):
        generator = Pix2PixGenerator(recipe.arch, channels[0], channels[1], recipe.ngf)
        return TrainingState({"generator": generator}, {"generator": adam(generator.parameters(), recipe, True)})

    def training_step(self, accelerator, state, batch, recipe):
        loss = F.l1_loss(state.modules["generator"](batch["source"]), batch["target"])
        accelerator.backward(loss)
        state.optimizers["generator"].step()
        state.optimizers["generator"].zero_grad(set_to_none=True)
        return {"L1": loss.detach()}
'''


def test_a_toy_method_in_one_file_trains_through_the_trainer(tmp_path):
    (tmp_path / "toy_method.py").write_text(TOY_METHOD, encoding="utf-8")
    root = write_ab_folder(tmp_path / "ab", {"train": 8, "test": 2}, size=128)
    out = tmp_path / "out"
    command = [sys.executable, str(REPO / "train_accelerate.py"), "--method", "toy_method:L1Regression"]
    command += ["--dataset", str(root), "--output_dir", str(out), "--report_to", "none", "--load_size", "136"]
    command += ["--mixed_precision", "no"]
    command += ["--crop_size", "128", "--learning_rate", "2e-3", "--max_train_steps", "24", "--eval_steps", "8"]
    env = {"PYTHONPATH": f"{tmp_path}:{REPO}", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PATH": ""}
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]

    record = json.loads((out / "training.json").read_text())
    assert record["method"] == "l1_regression" and record["steps"] == 24
    assert record["recipe"]["arch"] == "unet_128" and record["recipe_changes"]["learning_rate"] == 2e-3
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [entry["step"] for entry in history] == [8, 16, 24]
    assert history[-1]["l1"] < history[0]["l1"]  # targets are inverted sources: a U-Net learns that quickly
    assert "step 24: L1" in (out / "logs" / "train.log").read_text()
    assert Pix2PixPipeline.from_pretrained(out)(Image.fromarray(smooth_image(5, 96))).size == (96, 96)


def test_an_unknown_method_is_refused_in_plain_words():
    run = subprocess.run(
        [sys.executable, str(REPO / "train_accelerate.py"), "--method", "cycle-gan", "--dataset", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "--method 'cycle-gan' is not a built-in method (" in run.stderr
    assert "nor a 'module:ClassName' path" in run.stderr


def test_every_built_in_method_implements_each_hook_the_loop_calls_with_the_base_signature():
    """The base class describes its subclasses: every hook the loop calls is declared there, and each built-in
    method overrides it with the same parameters, so a new method written against the base fits the loop."""
    import inspect

    from pix2pix_hub.methods import BUILT_IN, get_method
    from pix2pix_hub.methods.base import Method

    loop_source = (REPO / "pix2pix_hub" / "training" / "loop.py").read_text()
    hooks = sorted({name for name in re.findall(r"method\.(\w+)\(", loop_source)})
    assert {"load_data", "build", "training_step", "exports", "evaluate", "save"} <= set(hooks)
    for name in BUILT_IN:
        method = get_method(name)
        for hook in hooks:
            declared = list(inspect.signature(getattr(Method, hook)).parameters)
            implemented = list(inspect.signature(getattr(type(method), hook)).parameters)
            assert getattr(type(method), hook) is not getattr(Method, hook), f"{name} does not implement {hook}"
            assert implemented == declared, f"{name}.{hook}{tuple(implemented)} differs from the base's {declared}"
