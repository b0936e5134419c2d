"""What a run leaves besides weights: `training.json`, the log file, tracker logs, the model card, the upload.

`training.json` is the run's record as data (method, recipe, data, steps, wall time, hardware, command, and one
entry per resumed stage); the model card and `recipes/ship.py` read it instead of parsing prose.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from huggingface_hub import HfApi
from PIL import Image
from tqdm.auto import tqdm

from ..hub import atomic_write_text
from ..methods.base import Recipe

TRAINING_RECORD = "training.json"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TqdmConsole(logging.Handler):
    """Console warnings printed above the progress bar instead of glued onto it."""

    def emit(self, record: logging.LogRecord) -> None:
        tqdm.write(self.format(record), file=sys.stderr)


def configure_logging(accelerator: Accelerator, path: Path) -> None:
    """Everything at INFO to `logs/train.log` (main process); only warnings on the console, through the bar."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):
        if isinstance(handler, (TqdmConsole, logging.FileHandler)):
            root.removeHandler(handler)
    console = TqdmConsole(logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    if accelerator.is_main_process:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)


def say(accelerator: Accelerator, message: str) -> None:
    """A summary line on the console (above the progress bar) and in the log file."""
    logging.getLogger("pix2pix_hub.training").info(message)
    if accelerator.is_local_main_process:
        tqdm.write(message, file=sys.stderr)


def hardware(accelerator: Accelerator) -> str:
    """E.g. "8 x NVIDIA H100 80GB HBM3 (bf16 mixed precision)" or "1 x CPU, 2 threads (no mixed precision)"."""
    cuda = accelerator.device.type == "cuda"
    device = torch.cuda.get_device_name(accelerator.device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    return f"{accelerator.num_processes} x {device} ({accelerator.mixed_precision} mixed precision)"


def command_line() -> str:
    return "accelerate launch train_accelerate.py " + shlex.join(sys.argv[1:])


class RunRecord:
    """`training.json`: written at every checkpoint and at the end; a resumed run appends a stage."""

    def __init__(self, output_dir: Path, method: str, recipe: Recipe, data: dict, accelerator: Accelerator):
        self.path = Path(output_dir) / TRAINING_RECORD
        earlier = json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}
        self.started = time.monotonic()
        self.record = {
            "method": method,
            "recipe": dataclasses.asdict(recipe),
            "recipe_changes": recipe.changes(),
            "data": data,
            "stages": earlier.get("stages", []),
        }
        self.stage = {"command": command_line(), "hardware": hardware(accelerator), "started_at_step": 0}

    def resume_at(self, step: int) -> None:
        """Keep the stages that ended by `step` (a stage past it was redone from the checkpoint)."""
        self.record["stages"] = [stage for stage in self.record["stages"] if stage["started_at_step"] < step]
        if self.record["stages"]:
            self.record["stages"][-1]["ended_at_step"] = min(self.record["stages"][-1]["ended_at_step"], step)
        self.stage["started_at_step"] = step

    def write(self, step: int) -> dict:
        """training.json as of `step`; returns the record as the file holds it (what the card is written from)."""
        stage = self.stage | {"ended_at_step": step, "wall_time_s": round(time.monotonic() - self.started, 1)}
        stages = self.record["stages"] + [stage]
        record = self.record | {
            "steps": step,
            "wall_time_s": round(sum(item["wall_time_s"] for item in stages), 1),
            "hardware": sorted({item["hardware"] for item in stages}),
            "command": stage["command"],
            "stages": stages,
        }
        text = json.dumps(record, indent=2) + "\n"
        atomic_write_text(self.path, text)
        return json.loads(text)


def read_training_record(output_dir: Path) -> dict:
    path = Path(output_dir) / TRAINING_RECORD
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training record (is {output_dir} a train_accelerate.py output folder?)")
    return json.loads(path.read_text(encoding="utf-8"))


def read_history(metrics_file: Path, up_to: int) -> list[dict]:
    """Earlier evaluations of a resumed run (those not after the checkpoint it resumes from)."""
    if not Path(metrics_file).is_file():
        return []
    history = json.loads(Path(metrics_file).read_text(encoding="utf-8")).get("history", [])
    return [entry for entry in history if entry["step"] <= up_to]


def record_batch(output_dir: Path, process_index: int, step: int, names: list[str]) -> None:
    """Append which samples this process trained on at `step` (audits data sharding and resumption)."""
    path = Path(output_dir) / "logs" / f"batches-rank{process_index}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{step}\t" + "\t".join(names) + "\n")


def tracker_config(args: argparse.Namespace) -> dict:
    """Flags as scalars (TensorBoard's hparams take no None or lists)."""
    return {
        key: value if isinstance(value, (int, float, str, bool)) else str(value) for key, value in vars(args).items()
    }


def log_images(accelerator: Accelerator, grid: Image.Image, step: int) -> None:
    """The source | output | target grid, to the trackers that take images."""
    for tracker in accelerator.trackers:
        if tracker.name == "tensorboard":
            tracker.log_images({"samples": np.asarray(grid)}, step=step, dataformats="HWC")
        elif tracker.name == "wandb":
            import wandb  # optional: only when --report_to wandb

            tracker.log({"samples": wandb.Image(grid)}, step=step)


def upload_output_dir(output_dir: Path, repo_id: str, token: str | None) -> str:
    """Create the model repo if needed and upload OUTPUT_DIR without checkpoints; returns the repo id."""
    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, exist_ok=True).repo_id
    api.upload_folder(
        repo_id=repo_id,
        folder_path=str(output_dir),
        commit_message="pix2pix-hub: trained model",
        ignore_patterns=["checkpoint-*", ".checkpoint-*", "logs/batches-*"],
    )
    return repo_id
