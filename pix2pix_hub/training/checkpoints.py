"""Checkpoints: `OUTPUT_DIR/checkpoint-<step>/` folders of accelerate state (networks, optimizers, schedules, RNG).

Each is written under a temporary name and renamed, so a run killed while saving never leaves a half-written
"latest"; `--resume_from_checkpoint latest` finds the newest complete one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from accelerate import Accelerator

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_step(path: Path) -> int:
    match = CHECKPOINT_PATTERN.match(Path(path).name)
    if match is None:
        raise ValueError(f"{path}: not a checkpoint-<step> folder")
    return int(match.group(1))


def list_checkpoints(output_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (temporary folders of an interrupted save do not match the pattern)."""
    if not Path(output_dir).is_dir():
        return []
    found = [path for path in Path(output_dir).iterdir() if path.is_dir() and CHECKPOINT_PATTERN.match(path.name)]
    return sorted(found, key=checkpoint_step)


def save_checkpoint(accelerator: Accelerator, output_dir: Path, step: int, total_limit: int | None) -> Path:
    """Save accelerate state (models, optimizers, schedules, RNG) to checkpoint-<step>, atomically."""
    final = Path(output_dir) / f"checkpoint-{step}"
    temporary = Path(output_dir) / f".checkpoint-{step}.incomplete"
    if accelerator.is_main_process and temporary.exists():
        shutil.rmtree(temporary)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(temporary))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if final.exists():
            shutil.rmtree(final)
        temporary.rename(final)
        if total_limit is not None:
            for old in list_checkpoints(output_dir)[:-total_limit]:
                shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def find_checkpoint(output_dir: Path, resume_from: str | None) -> Path | None:
    """`latest` (None when there is none yet, so the same command starts or resumes) or an explicit folder."""
    if resume_from is None:
        return None
    if resume_from == "latest":
        checkpoints = list_checkpoints(output_dir)
        return checkpoints[-1] if checkpoints else None
    path = Path(resume_from)
    if not path.is_dir():
        raise FileNotFoundError(f"--resume_from_checkpoint {resume_from}: no such folder")
    checkpoint_step(path)
    return path
