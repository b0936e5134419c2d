"""train_accelerate.py end to end on CPU: Hub folder output, learning, 2-process DDP, kill-and-resume, bad images."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from PIL import Image
from safetensors.torch import load_file

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.methods.base import recipe_from_args
from pix2pix_hub.methods.gan import adam
from pix2pix_hub.methods.pix2pix import PAPER, Pix2Pix, Pix2PixRecipe
from pix2pix_hub.training.arguments import parse_args
from pix2pix_hub.training.checkpoints import find_checkpoint, list_checkpoints
from tests.paired_data import cache_hub_dataset, corrupt, pairs_table, smooth_image, write_ab_folder

REPO = Path(__file__).resolve().parent.parent
# A tiny ResNet generator at 32x32 keeps each run to seconds on two shared cores.
TINY = ["--arch", "resnet_6blocks", "--ngf", "8", "--ndf", "8", "--load_size", "36", "--crop_size", "32"]
FLOAT32 = ["--mixed_precision", "no"]  # the suite trains in float32 (auto may pick bf16); test_precision covers bf16
QUIET = ["--report_to", "none", *FLOAT32, "--eval_steps", "0", "--checkpointing_steps", "0"]


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **extra}


def train(
    *flags: str,
    launcher: tuple[str, ...] = (sys.executable,),
    env: dict | None = None,
    timeout: int = 300,
    tiny: list[str] = TINY,
):
    """Run the trainer as a user would (on `tiny` networks); returns the finished process (check its returncode)."""
    command = [*launcher, str(REPO / "train_accelerate.py"), *tiny, *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env or environment())


def kill_after_first_checkpoint(flags: list[str], output_dir: Path, checkpointing_steps: int) -> Path:
    """Start a long run (the same flags as its straight twin), SIGKILL it once a checkpoint exists; the checkpoint."""
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train_accelerate.py"), *flags, "--output_dir", str(output_dir)]
        + ["--checkpointing_steps", str(checkpointing_steps), "--max_train_steps", "1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment(),
    )
    deadline = time.monotonic() + 240
    while not list_checkpoints(output_dir) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list_checkpoints(output_dir), "the run never wrote a checkpoint"
    return list_checkpoints(output_dir)[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def one_step(stack_discriminator: bool, channels_last: bool) -> dict[str, torch.Tensor]:
    """Losses and weights after one step from a fixed initialisation (instance norm: stacking D is exact)."""
    torch.manual_seed(0)
    args = parse_args(["--dataset", "x", "--arch", "resnet_6blocks", "--ngf", "4", "--ndf", "4", "--norm", "instance"])
    args.no_stacked_discriminator = not stack_discriminator
    recipe = recipe_from_args(Pix2PixRecipe, args)
    method = Pix2Pix()
    state = method.build_networks(recipe, (3, 3), args)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    state.modules = {name: net.to(memory_format=memory_format) for name, net in state.modules.items()}
    # SGD, not Adam: Adam's first step is lr * sign(gradient), which turns float noise in gradients that are zero
    # in exact arithmetic (biases before instance norm) into differences of 2 * lr.
    state.optimizers = {name: torch.optim.SGD(net.parameters(), lr=0.1) for name, net in state.modules.items()}
    batch = {"source": torch.rand(2, 3, 32, 32) * 2 - 1, "target": torch.rand(2, 3, 32, 32) * 2 - 1}
    batch = {name: tensor.to(memory_format=memory_format) for name, tensor in batch.items()}
    losses = method.training_step(Accelerator(cpu=True), state, batch, recipe)
    generator, discriminator = state.modules["generator"], state.modules["discriminator"]
    return {**losses, **generator.state_dict(), **{f"D.{k}": v for k, v in discriminator.state_dict().items()}}


def test_fast_paths_train_like_the_plain_step():
    plain = one_step(stack_discriminator=False, channels_last=False)
    for fast in (one_step(True, False), one_step(False, True)):
        assert all(torch.allclose(fast[name], plain[name], atol=1e-5) for name in plain)


def test_fused_adam_updates_like_the_multi_kernel_adam():
    def weights_after(steps: int, fused: bool) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        generator = Pix2PixGenerator(arch="unet_128", ngf=4)
        optimizer = adam(generator.parameters(), PAPER, fused=fused)
        for step in range(steps):
            source = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(step)) * 2 - 1
            optimizer.zero_grad()
            (generator(source) - source).abs().mean().backward()
            optimizer.step()
        return {name: tensor.clone() for name, tensor in generator.state_dict().items()}

    initial, fused, plain = weights_after(0, False), weights_after(3, fused=True), weights_after(3, fused=False)
    assert all(torch.allclose(fused[name], plain[name], atol=1e-6) for name in plain)
    assert not torch.allclose(plain["net.encoder.0.conv.weight"], initial["net.encoder.0.conv.weight"], atol=1e-4)


def test_latest_checkpoint_ignores_a_half_written_one(tmp_path):
    for name in ("checkpoint-4", "checkpoint-12", ".checkpoint-16.incomplete", "checkpoint-x"):
        (tmp_path / name).mkdir()
    assert find_checkpoint(tmp_path, "latest") == tmp_path / "checkpoint-12"
    assert find_checkpoint(tmp_path / "new-run", "latest") is None
    with pytest.raises(FileNotFoundError, match="checkpoint-99: no such folder"):
        find_checkpoint(tmp_path, str(tmp_path / "checkpoint-99"))


def test_default_flags_are_the_paper_recipe():
    assert recipe_from_args(Pix2PixRecipe, parse_args(["--dataset", "huggan/facades"])) == PAPER
    changed = parse_args(["--dataset", "x", "--arch", "unet_128", "--no_flip", "--n_layers_D", "1"])
    assert recipe_from_args(Pix2PixRecipe, changed).changes() == {
        "generator_arch": "unet_128",
        "n_layers_discriminator": 1,
        "flip": False,
    }


def test_tiny_run_on_a_hub_dataset_writes_a_hub_folder_that_evaluate_scores_identically(tmp_path):
    cache_hub_dataset(tmp_path / "cache", "someone/tiny-facades", pairs_table(10), tmp_path)
    data = ["--dataset", "someone/tiny-facades", "--cache_dir", str(tmp_path / "cache")]
    out = tmp_path / "model"
    run = train(
        *data,
        *["--output_dir", str(out), "--max_train_steps", "4", "--eval_steps", "2", "--report_to", "tensorboard"],
        *["--checkpointing_steps", "2", "--checkpoints_total_limit", "1", "--dataloader_num_workers", "1"],
    )
    assert run.returncode == 0, run.stderr[-3000:]

    assert {"model.safetensors", "config.json", "README.md", "samples.png", "metrics.json"} <= {
        p.name for p in out.iterdir()
    }
    assert [p.name for p in list_checkpoints(out)] == ["checkpoint-4"]  # the limit removed checkpoint-2
    config = json.loads((out / "config.json").read_text())
    assert config["arch"] == "resnet_6blocks" and config["inference_mode"] == "paper"
    card = (out / "README.md").read_text()
    assert "accelerate launch train_accelerate.py --arch resnet_6blocks" in card
    assert "Steps: 4" in card and "![samples](samples.png)" in card and "| SSIM |" in card
    assert "held out" in card and "someone/tiny-facades" in card and "ngf=8" in card
    assert Image.open(out / "samples.png").size == (3 * 32, 32)  # source | output | target, one held-out pair
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 4 and [entry["step"] for entry in metrics["history"]] == [2, 4]
    log = (out / "logs" / "train.log").read_text()
    assert "step 4: G_GAN" in log and "step 4 eval: l1" in log
    # the console: a progress bar and a summary at each evaluation, no log lines glued onto the bar
    assert "step 2 eval: l1" in run.stderr and "step 4 eval: l1" in run.stderr
    assert " INFO " not in run.stderr and "Saving current state" not in run.stderr
    assert "Saving current state" in log  # accelerate's checkpoint lines went to the log file
    assert list((out / "logs").rglob("events.out.tfevents.*")), "no TensorBoard events"

    photo = Image.fromarray(smooth_image(3, 40))
    assert Pix2PixPipeline.from_pretrained(out)(photo).size == (40, 40)

    scored = subprocess.run(
        [sys.executable, "-m", "pix2pix_hub.evaluate", "--model", str(out), *data, *TINY[6:]]
        + ["--output_dir", str(tmp_path / "scores")],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment(),
    )
    assert scored.returncode == 0, scored.stderr[-3000:]
    report = json.loads((tmp_path / "scores" / "metrics.json").read_text())
    assert {name: report[name] for name in ("l1", "psnr", "ssim")} == {
        name: metrics[name] for name in ("l1", "psnr", "ssim")
    }
    assert report["num_pairs"] == metrics["num_pairs"] == 1
    assert Image.open(tmp_path / "scores" / "grid.png").size == (96, 32)


def test_eval_l1_clearly_falls_on_a_learnable_mapping(tmp_path):
    """Targets are inverted sources; a U-Net (whose outer skip carries absolute intensities) learns it fast."""
    root = write_ab_folder(tmp_path / "ab", {"train": 16, "test": 4}, size=128)
    run = train(
        *["--dataset", str(root), "--output_dir", str(tmp_path / "out"), "--report_to", "none", *FLOAT32],
        *["--arch", "unet_128", "--ngf", "4", "--load_size", "136", "--crop_size", "128"],
        *["--learning_rate", "2e-3", "--train_batch_size", "2", "--max_train_steps", "40", "--eval_steps", "10"],
    )
    assert run.returncode == 0, run.stderr[-3000:]
    history = json.loads((tmp_path / "out" / "metrics.json").read_text())["history"]
    first, last = history[0], history[-1]
    assert (first["step"], last["step"]) == (10, 40)
    assert last["l1"] < 0.7 * first["l1"]
    assert last["psnr"] > first["psnr"] + 2.0
    assert last["ssim"] > first["ssim"] + 0.1


def test_two_processes_see_different_data_and_end_with_identical_weights(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 12, "test": 2})
    out = tmp_path / "out"
    wrapper = tmp_path / "train_and_dump.py"
    wrapper.write_text(
        "import sys\n"
        "from accelerate import PartialState\n"
        "from pix2pix_hub.hub import save_state_dict\n"
        "import train_accelerate\n"
        "generator = train_accelerate.main(train_accelerate.parse_args())\n"
        "rank = PartialState().process_index\n"
        f"save_state_dict(generator.state_dict(), {str(out)!r} + f'/rank{{rank}}.safetensors')\n"
    )
    launcher = (
        *(sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"),
        *("--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"),
        *("--main_process_port", str(free_port())),
    )
    command = [*launcher, str(wrapper), *TINY, *QUIET, "--dataset", str(root), "--output_dir", str(out)]
    command += ["--max_train_steps", "4", "--record_batches"]  # paper recipe: batch norm in G and D
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=environment(ACCELERATE_USE_CPU="true")
    )
    assert run.returncode == 0, run.stderr[-3000:]

    batches = [(out / "logs" / f"batches-rank{rank}.txt").read_text().splitlines() for rank in (0, 1)]
    assert len(batches[0]) == len(batches[1]) == 4
    for line_0, line_1 in zip(*batches, strict=True):
        step_0, *names_0 = line_0.split("\t")
        step_1, *names_1 = line_1.split("\t")
        assert step_0 == step_1 and set(names_0).isdisjoint(names_1)

    rank_0, rank_1 = (load_file(out / f"rank{rank}.safetensors") for rank in (0, 1))
    # Parameters are all-reduced. Batch-norm running statistics stay per process on CPU, where PyTorch has no
    # SyncBatchNorm; the saved model holds the main process's.
    parameters = [name for name in rank_0 if not name.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert parameters and all(torch.equal(rank_0[name], rank_1[name]) for name in parameters)
    saved = load_file(out / "model.safetensors")
    assert all(torch.equal(saved[name], rank_0[name]) for name in rank_0)


def test_run_killed_after_a_checkpoint_resumes_to_the_same_weights(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 6, "test": 1})
    common = ["--dataset", str(root), "--report_to", "none", *FLOAT32, "--eval_steps", "0", "--record_batches"]
    common += ["--epochs", "50", "--decay_epochs", "50", "--train_batch_size", "2"]  # one schedule for every run

    killed = tmp_path / "killed"
    resumed_from = int(kill_after_first_checkpoint([*TINY, *common], killed, 2).name.split("-")[1])
    final_step = resumed_from + 3

    resume = ["--resume_from_checkpoint", "latest", "--max_train_steps", str(final_step)]
    resumed = train(*common, "--output_dir", str(killed), "--checkpointing_steps", "0", *resume)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resumed from {killed / f'checkpoint-{resumed_from}'} at step {resumed_from}" in resumed.stderr

    straight = tmp_path / "straight"
    run = train(
        *common, "--output_dir", str(straight), "--checkpointing_steps", "0", "--max_train_steps", str(final_step)
    )
    assert run.returncode == 0, run.stderr[-3000:]

    expected, actual = load_file(straight / "model.safetensors"), load_file(killed / "model.safetensors")
    assert expected.keys() == actual.keys()
    assert all(torch.equal(expected[name], actual[name]) for name in expected)
    straight_batches = (straight / "logs" / "batches-rank0.txt").read_text().splitlines()
    resumed_batches = (killed / "logs" / "batches-rank0.txt").read_text().splitlines()
    assert resumed_batches[-3:] == straight_batches[-3:]


def test_bad_image_stops_the_run_naming_it_unless_skipped(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 4, "test": 1})
    corrupt(root / "train" / "0.png")  # the first pair, which also tells the channel counts
    flags = ["--dataset", str(root), *QUIET, "--max_train_steps", "8", "--no_flip"]  # two epochs

    failed = train(*flags, "--output_dir", str(tmp_path / "strict"))
    assert failed.returncode != 0
    assert f"{root / 'train' / '0.png'}: cannot decode image" in failed.stderr

    skipped = train(*flags, "--output_dir", str(tmp_path / "lenient"), "--skip_bad_images")
    assert skipped.returncode == 0, skipped.stderr[-3000:]
    log = (tmp_path / "lenient" / "logs" / "train.log").read_text()
    assert log.count(f"skipped a bad image: {root / 'train' / '0.png'}: cannot decode image") == 1
    assert "skipped 1 bad images" in log


def test_wgangp_with_instance_norm_and_gradient_accumulation_trains(tmp_path):
    root = write_ab_folder(tmp_path / "ab", {"train": 3, "test": 1})
    run = train(
        *["--dataset", str(root), "--output_dir", str(tmp_path / "out"), *QUIET, "--max_train_steps", "2"],
        *["--gan_mode", "wgangp", "--norm", "instance", "--gradient_accumulation_steps", "2"],
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["step"] == 2


def test_push_to_hub_uploads_the_hub_folder_without_checkpoints(tmp_path, hub_standin):
    # hub_standin is a loopback stand-in for the Hugging Face Hub, which this machine cannot reach.
    root = write_ab_folder(tmp_path / "ab", {"train": 3, "test": 1})
    out = tmp_path / "out"
    run = train(
        *["--dataset", str(root), "--output_dir", str(out), "--report_to", "none", *FLOAT32, "--max_train_steps", "2"],
        *["--checkpointing_steps", "1", "--push_to_hub", "--hub_model_id", "someone/pix2pix-tiny"],
        env=environment(HF_HUB_OFFLINE="0"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    uploaded = hub_standin.files("someone/pix2pix-tiny")
    assert uploaded["model.safetensors"] == (out / "model.safetensors").read_bytes()
    assert {"config.json", "README.md", "samples.png", "metrics.json", "logs/train.log"} <= uploaded.keys()
    assert not [path for path in uploaded if "checkpoint" in path]
    assert 'Pix2PixPipeline.from_pretrained("someone/pix2pix-tiny")' in uploaded["README.md"].decode()
