"""The training loop, generic over a `Method`: accelerate, data loading, resume, evaluation, checkpoints, Hub folder.

Read top to bottom, `train` is what every 🤗 training script does: an `Accelerator`, data, networks and
optimizers (from the method), `prepare`, the loop, `checkpoint-<step>` folders, evaluation, `save_pretrained`.
Nothing here knows a paper: the method builds the networks, runs one step, and says what is saved.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..data import EpochSampler
from ..hub import atomic_write_bytes, atomic_write_text
from ..images import png_bytes
from ..methods.base import Method, Recipe, TrainingData, TrainingState, recipe_from_args
from .checkpoints import checkpoint_step, find_checkpoint, save_checkpoint
from .optim import compile_network, learning_rate_schedule, sync_batch_norm
from .precision import LAUNCHER_VARIABLE, choose_precision, detect_hardware
from .report import (
    RunRecord,
    configure_logging,
    log_images,
    read_history,
    record_batch,
    say,
    tracker_config,
    upload_output_dir,
)

logger = logging.getLogger(__name__)


@dataclass
class Run:
    """Everything one training run holds, built by `set_up` and advanced by `run_steps`."""

    method: Method
    args: argparse.Namespace
    recipe: Recipe
    accelerator: Accelerator
    state: TrainingState
    data: TrainingData
    dataloader: DataLoader
    schedulers: list
    total_steps: int
    max_steps: int
    record: RunRecord
    history: list
    step: int = 0


def train(method: Method, args: argparse.Namespace) -> dict[str, torch.nn.Module]:
    """Train `method` as the flags say; returns the exported networks (plain float32 CPU modules)."""
    run = set_up(method, args)
    resume(run)
    run_steps(run)
    return finish(run)


def make_accelerator(args: argparse.Namespace) -> Accelerator:
    output_dir = Path(args.output_dir)
    precision = choose_precision(args.mixed_precision, detect_hardware(), os.environ.get(LAUNCHER_VARIABLE))
    accelerator = Accelerator(
        mixed_precision=precision.mixed_precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        log_with=None if args.report_to == "none" else args.report_to,
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "logs")),
    )
    configure_logging(accelerator, output_dir / "logs" / "train.log")
    say(accelerator, f"precision: {precision.reason}")
    if precision.warning:
        say(accelerator, precision.warning)
    return accelerator


def set_up(method: Method, args: argparse.Namespace) -> Run:
    """Data, networks, optimizers and schedules, prepared by accelerate."""
    recipe = recipe_from_args(method.Recipe, args)
    accelerator = make_accelerator(args)
    set_seed(args.seed)
    cuda = accelerator.device.type == "cuda"
    torch.backends.cudnn.benchmark = cuda and not args.no_cudnn_benchmark
    data = method.load_data(args, recipe)
    logger.info(f"{args.dataset}: {data.description}")
    state = method.build(recipe, data, args)
    dataloader = DataLoader(
        data.train,
        batch_size=recipe.batch_size,
        sampler=EpochSampler(len(data.train), recipe.epochs + recipe.decay_epochs, args.seed, not args.serial_batches),
        collate_fn=data.collate,
        num_workers=args.dataloader_num_workers,
        persistent_workers=args.dataloader_num_workers > 0,
        pin_memory=cuda,
        generator=torch.Generator().manual_seed(args.seed),  # keeps the global RNG (dropout) free of data draws
    )
    dataloader = prepare(accelerator, state, dataloader, args)
    total_steps = len(dataloader) // args.gradient_accumulation_steps
    steps_per_epoch = max(total_steps // max(recipe.epochs + recipe.decay_epochs, 1), 1)
    state.steps_per_epoch = steps_per_epoch
    schedulers = [learning_rate_schedule(opt, recipe, steps_per_epoch) for opt in state.optimizers.values()]
    # schedules and the method's own stateful objects (e.g. image pools) are saved and restored with checkpoints
    stateful = [
        item for item in state.extras.values() if hasattr(item, "state_dict") and hasattr(item, "load_state_dict")
    ]
    accelerator.register_for_checkpointing(*schedulers, *stateful)
    if accelerator.is_main_process:
        accelerator.init_trackers(method.name, config=tracker_config(args))
    record = RunRecord(args.output_dir, method.name, recipe, data.record(args), accelerator)
    max_steps = min(args.max_train_steps or total_steps, total_steps)
    return Run(
        method, args, recipe, accelerator, state, data, dataloader, schedulers, total_steps, max_steps, record, []
    )


def prepare(accelerator: Accelerator, state: TrainingState, dataloader: DataLoader, args) -> DataLoader:
    """Sync batch norm, memory layout, `accelerator.prepare` and `torch.compile`, in place on `state`."""
    channels_last = accelerator.device.type == "cuda" and not args.no_channels_last
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    modules = {
        name: sync_batch_norm(m, accelerator).to(memory_format=memory_format) for name, m in state.modules.items()
    }
    module_names, optimizer_names = list(modules), list(state.optimizers)
    prepared = accelerator.prepare(*modules.values(), *state.optimizers.values(), dataloader)
    state.modules = dict(zip(module_names, prepared[: len(module_names)], strict=True))
    state.optimizers = dict(zip(optimizer_names, prepared[len(module_names) : -1], strict=True))
    if args.torch_compile:
        state.modules = {name: compile_network(module) for name, module in state.modules.items()}
    state.extras["memory_format"] = memory_format
    return prepared[-1]


def resume(run: Run) -> None:
    """Accelerate restores weights, optimizers, schedules and RNG; the data order is a function of the step."""
    args = run.args
    checkpoint = find_checkpoint(Path(args.output_dir), args.resume_from_checkpoint)
    if checkpoint is None and args.resume_from_checkpoint:
        logger.info(f"no checkpoint in {args.output_dir} yet: starting a new run")
    if checkpoint is not None:
        run.accelerator.load_state(str(checkpoint))
        run.step = checkpoint_step(checkpoint)
        say(run.accelerator, f"resumed from {checkpoint} at step {run.step}")
    run.record.resume_at(run.step)
    run.history = read_history(Path(args.output_dir) / "metrics.json", up_to=run.step)
    logger.info(
        f"{len(run.data.train)} training samples, {run.accelerator.num_processes} processes x batch "
        f"{run.recipe.batch_size} x {args.gradient_accumulation_steps} accumulation: {run.total_steps} steps in the "
        f"full schedule, training to step {run.max_steps}"
    )


def run_steps(run: Run) -> None:
    """The loop: one method step per batch, then schedules, logs, checkpoints and evaluations by the flags."""
    args, accelerator = run.args, run.accelerator
    batches = accelerator.skip_first_batches(run.dataloader, run.step * args.gradient_accumulation_steps)
    progress = tqdm(initial=run.step, total=run.max_steps, disable=not accelerator.is_local_main_process)
    bad_images: set[str] = set()
    for module in run.state.modules.values():
        module.train()
    for batch in batches if run.step < run.max_steps else []:
        batch = {key: to_memory_format(value, run.state) for key, value in batch.items()}
        run.state.step = run.step
        with accelerator.accumulate(*run.state.modules.values()):
            losses = run.method.training_step(accelerator, run.state, batch, run.recipe)
        for reason in set(batch.get("skipped", [])) - bad_images:  # each bad image is logged once
            bad_images.add(reason)
            logger.warning(f"skipped a bad image: {reason}")
        if args.record_batches:
            record_batch(Path(args.output_dir), accelerator.process_index, run.step, batch["names"])
        if not accelerator.sync_gradients:
            continue
        for scheduler in run.schedulers:
            scheduler.step()
        run.step += 1
        progress.update(1)
        after_step(run, losses, progress)
        if run.step >= run.max_steps:
            break
    progress.close()
    if bad_images:
        logger.warning(f"skipped {len(bad_images)} bad images in this process's data")


def to_memory_format(value: object, state: TrainingState) -> object:
    if isinstance(value, torch.Tensor) and value.ndim == 4:
        return value.to(memory_format=state.extras["memory_format"])
    return value


def after_step(run: Run, losses: dict[str, torch.Tensor], progress: tqdm) -> None:
    """Losses to the bar, the trackers and the log file; checkpoints and evaluations when due."""
    args, step = run.args, run.step
    if step % args.logging_steps == 0 or step == run.max_steps:
        values = {name: loss.item() for name, loss in losses.items()} | {"lr": run.schedulers[0].get_last_lr()[0]}
        progress.set_postfix({name: f"{value:.3g}" for name, value in values.items()}, refresh=False)
        run.accelerator.log(values, step=step)
        logger.info(f"step {step}: " + " ".join(f"{name} {value:.4g}" for name, value in values.items()))
    if args.checkpointing_steps and step % args.checkpointing_steps == 0:
        save_checkpoint(run.accelerator, Path(args.output_dir), step, args.checkpoints_total_limit)
        if run.accelerator.is_main_process:
            run.record.write(step)
    if args.eval_steps and step % args.eval_steps == 0 and step < run.max_steps:
        run_evaluation(run)


def run_evaluation(run: Run):
    """On the main process, score plain copies of the exported networks exactly as `pix2pix_hub.evaluate` does."""
    accelerator, args = run.accelerator, run.args
    accelerator.wait_for_everyone()
    exported = result = None
    if accelerator.is_main_process:
        exported = run.method.exports(accelerator, run.state)
        with torch.random.fork_rng(devices=[accelerator.device] if accelerator.device.type == "cuda" else []):
            result = run.method.evaluate(exported, run.data, args, accelerator.device)
        run.history.append({"step": run.step, **result.metrics})
        report = {"step": run.step, "num_pairs": result.num_pairs, "skipped_images": result.skipped, **result.metrics}
        metrics = json.dumps(report | {"history": run.history}, indent=2)
        atomic_write_text(Path(args.output_dir) / "metrics.json", metrics)
        accelerator.log({f"eval/{name}": value for name, value in result.metrics.items()}, step=run.step)
        log_images(accelerator, result.grid, run.step)
        summary = " ".join(f"{name} {value:.4f}" for name, value in result.metrics.items())
        say(accelerator, f"step {run.step} eval: {summary}")
    accelerator.wait_for_everyone()
    return exported, result


def finish(run: Run) -> dict[str, torch.nn.Module]:
    """The Hub folder: the evaluated networks, metrics, samples, training.json and a card read from it."""
    accelerator, args = run.accelerator, run.args
    output_dir = Path(args.output_dir)
    exported, result = run_evaluation(run)
    if accelerator.is_main_process:
        record = run.record.write(run.step)
        atomic_write_bytes(output_dir / "samples.png", png_bytes(result.grid))
        run.method.save(exported, output_dir, result, args, record)
        say(accelerator, f"saved the model to {output_dir}")
        if args.push_to_hub:
            repo_id = upload_output_dir(output_dir, args.hub_model_id or output_dir.resolve().name, args.hub_token)
            say(accelerator, f"uploaded {output_dir} to {repo_id}")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return exported if exported is not None else run.method.exports(accelerator, run.state)
