"""train_accelerate.py --method cyclegan on CPU: the two-direction Hub folder, kill-and-resume, 2-process DDP.

Runs use tiny ResNet generators on 32x32 images in the reference's trainA/ trainB/ testA/ testB/ layout.
"""

from __future__ import annotations

import json
import subprocess
import sys

import torch
from PIL import Image
from safetensors.torch import load_file

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.evaluation.cycle import evaluate_cycle
from tests.paired_data import smooth_image
from tests.test_training import FLOAT32, QUIET, TINY, environment, free_port, kill_after_first_checkpoint, train
from tests.test_unpaired_data import arguments, datasets_of, write_reference_layout

CYCLEGAN = ["--method", "cyclegan"]
DIRECTIONS = ("AtoB", "BtoA")


def test_tiny_run_writes_both_directions_into_one_hub_folder_that_loads_and_translates(tmp_path):
    root = write_reference_layout(tmp_path / "data", {"trainA": 4, "trainB": 3, "testA": 2, "testB": 2})
    out = tmp_path / "model"
    run = train(*CYCLEGAN, *QUIET, "--dataset", str(root), "--output_dir", str(out), "--max_train_steps", "3")
    assert run.returncode == 0, run.stderr[-3000:]

    assert {"AtoB", "BtoA", "README.md", "training.json", "metrics.json", "samples.png"} <= {
        p.name for p in out.iterdir()
    }
    card = (out / "README.md").read_text()
    assert "holds **both directions**" in card and 'subfolder="BtoA"' in card and "| cycle_l1_A |" in card
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 3 and metrics["num_pairs"] == 4
    assert json.loads((out / "training.json").read_text())["method"] == "cyclegan"
    assert Image.open(out / "samples.png").size == (6 * 32, 2 * 32)  # x | G(x) | F(G(x)) | y | F(y) | G(F(y))

    generators = {}
    for direction in DIRECTIONS:
        folder = out / direction
        assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
        assert f"**{direction}** generator" in (folder / "README.md").read_text()
        config = json.loads((folder / "config.json").read_text())
        assert (config["arch"], config["norm"], config["use_dropout"], config["ngf"]) == (
            "resnet_6blocks",
            "instance",
            False,
            8,
        )
        generators[direction] = Pix2PixGenerator.from_pretrained(folder)
        by_subfolder = Pix2PixGenerator.from_pretrained(out, subfolder=direction)
        saved = load_file(folder / "model.safetensors")
        assert all(torch.equal(by_subfolder.state_dict()[name], saved[name]) for name in saved)

    # the saved pair is the evaluated one: its cycle L1 on the test domains is metrics.json's, exactly
    data = datasets_of(arguments("--dataset", str(root)))
    again = evaluate_cycle(generators["AtoB"], generators["BtoA"], data.eval_a, data.eval_b, None)
    assert {"cycle_l1_A", "cycle_l1_B", "AtoB_swd", "BtoA_swd"} <= set(again.metrics)  # cycle L1 and realism
    assert again.metrics == {name: metrics[name] for name in again.metrics}

    photo = Image.fromarray(smooth_image(3, 40))
    assert Pix2PixPipeline.from_pretrained(out / "AtoB")(photo).size == (40, 40)
    assert Pix2PixPipeline.from_pretrained(out / "BtoA")(photo).size == (40, 40)


def saved_pools(checkpoint) -> list[torch.Tensor]:
    """The image pools accelerate saved with a checkpoint (its custom objects holding "images")."""
    states = [torch.load(path, weights_only=True) for path in sorted(checkpoint.glob("custom_checkpoint_*.pkl"))]
    return [state["images"] for state in states if "images" in state]


def test_run_killed_after_a_checkpoint_resumes_to_the_same_weights_pools_and_pairing(tmp_path):
    root = write_reference_layout(tmp_path / "data", {"trainA": 3, "trainB": 4, "testA": 1, "testB": 1})
    common = [*CYCLEGAN, "--dataset", str(root), "--report_to", "none", "--eval_steps", "0", "--record_batches"]
    common += FLOAT32
    common += ["--epochs", "50", "--decay_epochs", "50", "--pool_size", "2"]  # a full pool swaps at random from step 3

    killed = tmp_path / "killed"
    checkpoint = kill_after_first_checkpoint([*TINY, *common], killed, 3)
    pools = saved_pools(checkpoint)
    assert [tuple(pool.shape) for pool in pools] == [(2, 3, 32, 32)] * 2  # both pools, full: restored on resume
    resumed_from = int(checkpoint.name.split("-")[1])
    final_step = resumed_from + 3

    resume = ["--resume_from_checkpoint", "latest", "--max_train_steps", str(final_step)]
    resumed = train(*common, "--output_dir", str(killed), "--checkpointing_steps", "0", *resume)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {checkpoint} at step {resumed_from}" in resumed.stderr

    straight = tmp_path / "straight"
    run = train(
        *common, "--output_dir", str(straight), "--checkpointing_steps", "0", "--max_train_steps", str(final_step)
    )
    assert run.returncode == 0, run.stderr[-3000:]

    for direction in DIRECTIONS:
        expected, actual = (load_file(folder / direction / "model.safetensors") for folder in (straight, killed))
        assert expected.keys() == actual.keys()
        assert all(torch.equal(expected[name], actual[name]) for name in expected), direction
    straight_batches = (straight / "logs" / "batches-rank0.txt").read_text().splitlines()
    resumed_batches = (killed / "logs" / "batches-rank0.txt").read_text().splitlines()
    assert resumed_batches[-3:] == straight_batches[-3:]  # the same random A | B pairs after the resume


def test_two_processes_see_different_data_and_end_with_identical_generators(tmp_path):
    root = write_reference_layout(tmp_path / "data", {"trainA": 6, "trainB": 5, "testA": 1, "testB": 1})
    out = tmp_path / "out"
    wrapper = tmp_path / "train_and_dump.py"
    wrapper.write_text(
        "from accelerate import PartialState\n"
        "from pix2pix_hub.hub import save_state_dict\n"
        "import train_accelerate\n"
        "exported = train_accelerate.main(train_accelerate.parse_args())\n"
        "rank = PartialState().process_index\n"
        "for direction, generator in exported.items():\n"
        f"    save_state_dict(generator.state_dict(), {str(out)!r} + f'/{{direction}}-rank{{rank}}.safetensors')\n"
    )
    launcher = (
        *(sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"),
        *("--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"),
        *("--main_process_port", str(free_port())),
    )
    command = [*launcher, str(wrapper), *TINY, *QUIET, *CYCLEGAN, "--dataset", str(root), "--output_dir", str(out)]
    command += ["--max_train_steps", "3", "--record_batches"]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=environment(ACCELERATE_USE_CPU="true")
    )
    assert run.returncode == 0, run.stderr[-3000:]

    batches = [(out / "logs" / f"batches-rank{rank}.txt").read_text().splitlines() for rank in (0, 1)]
    assert len(batches[0]) == len(batches[1]) == 3
    for line_0, line_1 in zip(*batches, strict=True):
        step_0, *pairs_0 = line_0.split("\t")
        step_1, *pairs_1 = line_1.split("\t")
        a_images = [{pair.split(" | ")[0] for pair in pairs} for pairs in (pairs_0, pairs_1)]
        assert step_0 == step_1 and a_images[0].isdisjoint(a_images[1])

    for direction in DIRECTIONS:
        rank_0, rank_1 = (load_file(out / f"{direction}-rank{rank}.safetensors") for rank in (0, 1))
        assert rank_0 and all(torch.equal(rank_0[name], rank_1[name]) for name in rank_0)  # instance norm: no stats
        saved = load_file(out / direction / "model.safetensors")
        assert all(torch.equal(saved[name], rank_0[name]) for name in rank_0)
