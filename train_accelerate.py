"""Train pix2pix on a paired dataset with 🤗 Accelerate: one CPU, one GPU, many GPUs or many nodes.

    accelerate launch train_accelerate.py --dataset huggan/facades --direction BtoA --output_dir pix2pix-facades

The defaults are the paper's recipe (`pix2pix_hub.recipe.PAPER`). OUTPUT_DIR ends as a Hub folder
(model.safetensors, config.json, a model card with metrics and samples), plus `checkpoint-<step>/` folders,
`metrics.json` and `logs/`. The pieces live in `pix2pix_hub.training`, `pix2pix_hub.data` and `pix2pix_hub.evaluate`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import ProjectConfiguration, set_seed
from PIL import Image
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from pix2pix_hub.data import EpochSampler, PairedImageDataset, collate_pairs, image_channels, load_splits
from pix2pix_hub.data.arguments import add_data_arguments, data_spec, preprocessing
from pix2pix_hub.evaluate import EVAL_BATCH_SIZE, Evaluation, evaluate, evaluation_view, png_bytes
from pix2pix_hub.hub import atomic_write_bytes, atomic_write_text
from pix2pix_hub.losses import GAN_MODES
from pix2pix_hub.models import GENERATOR_ARCHS, INFERENCE_MODES, NORMS, Pix2PixGenerator
from pix2pix_hub.recipe import PAPER, PaperRecipe
from pix2pix_hub.training import (
    Networks,
    StepOptions,
    adam,
    build_networks,
    checkpoint_step,
    compile_networks,
    find_checkpoint,
    hardware,
    has_batch_norm,
    linear_decay,
    log_to_file,
    plain_copy,
    read_history,
    recipe_changes,
    record_batch,
    save_checkpoint,
    sync_batch_norm,
    training_step,
    upload_output_dir,
)

logger = get_logger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)  # --dataset, --direction, columns, splits, --preprocess/--load_size/--crop_size...
    parser.add_argument("--eval_split", default=None, help="default: test, validation or val, else held out")

    networks = parser.add_argument_group("networks (default: the paper's)")
    networks.add_argument("--arch", default=PAPER.generator_arch, choices=GENERATOR_ARCHS)
    networks.add_argument("--ngf", type=int, default=PAPER.ngf, help="generator width")
    networks.add_argument("--ndf", type=int, default=PAPER.ndf, help="discriminator width")
    networks.add_argument("--n_layers_D", type=int, default=PAPER.n_layers_discriminator, help="3: 70x70 PatchGAN")
    networks.add_argument("--norm", default=PAPER.norm, choices=NORMS)
    networks.add_argument("--no_dropout", action="store_true", help="no dropout in the generator")
    networks.add_argument(
        "--inference_mode",
        default="paper",
        choices=INFERENCE_MODES,
        help="how the saved model runs at test time (and is evaluated): paper = batch statistics + dropout",
    )

    objective = parser.add_argument_group("objective and optimisation (default: the paper's)")
    objective.add_argument("--gan_mode", default=PAPER.gan_mode, choices=GAN_MODES)
    objective.add_argument("--lambda_l1", type=float, default=PAPER.lambda_l1)
    objective.add_argument("--lambda_gp", type=float, default=PAPER.lambda_gradient_penalty, help="wgangp only")
    objective.add_argument("--learning_rate", type=float, default=PAPER.learning_rate)
    objective.add_argument("--adam_beta1", type=float, default=PAPER.adam_beta1)
    objective.add_argument("--adam_beta2", type=float, default=PAPER.adam_beta2)
    objective.add_argument("--train_batch_size", type=int, default=PAPER.batch_size, help="per process")
    objective.add_argument("--epochs", type=int, default=PAPER.epochs, help="epochs at the initial learning rate")
    objective.add_argument("--decay_epochs", type=int, default=PAPER.decay_epochs, help="then linear decay to 0")
    objective.add_argument("--max_train_steps", type=int, default=None, help="stop after this many steps")
    objective.add_argument("--gradient_accumulation_steps", type=int, default=1)
    objective.add_argument("--seed", type=int, default=0, help="data order, augmentation, init and dropout")

    run = parser.add_argument_group("run")
    run.add_argument("--output_dir", default="pix2pix-model")
    run.add_argument("--mixed_precision", default=None, choices=["no", "fp16", "bf16"], help="default: accelerate's")
    run.add_argument("--checkpointing_steps", type=int, default=500)
    run.add_argument("--checkpoints_total_limit", type=int, default=None, help="keep only the newest N")
    run.add_argument("--resume_from_checkpoint", default=None, help="'latest' or a checkpoint-<step> folder")
    run.add_argument("--eval_steps", type=int, default=1000, help="evaluate every N steps (and always at the end)")
    run.add_argument("--eval_batch_size", type=int, default=EVAL_BATCH_SIZE)
    run.add_argument("--logging_steps", type=int, default=10, help="log losses every N steps")
    run.add_argument("--report_to", default="tensorboard", help="tensorboard, wandb, trackio, all or none")
    run.add_argument("--record_batches", action="store_true", help="write each process's sample names per step")
    run.add_argument("--push_to_hub", action="store_true")
    run.add_argument("--hub_model_id", default=None, help="ORG/NAME (default: the output folder's name)")
    run.add_argument("--hub_token", default=None, help="default: the logged-in token or HF_TOKEN")

    speed = parser.add_argument_group("fast paths (same results; on by default where they apply)")
    speed.add_argument("--no_channels_last", action="store_true", help="CUDA: keep NCHW memory layout")
    speed.add_argument("--no_fused_adam", action="store_true", help="use the multi-kernel Adam, not the fused one")
    speed.add_argument("--no_cudnn_benchmark", action="store_true", help="CUDA: no cuDNN autotuning")
    speed.add_argument(
        "--no_stacked_discriminator", action="store_true", help="two D forwards instead of one (without batch norm)"
    )
    speed.add_argument("--torch_compile", action="store_true", help="compile G and D (start-up cost: minutes)")
    return parser.parse_args(argv)


def recipe_from_args(args: argparse.Namespace) -> PaperRecipe:
    """The run's recipe: the paper's, with whatever the flags changed (the model card lists the changes)."""
    return dataclasses.replace(
        PAPER,
        generator_arch=args.arch,
        ngf=args.ngf,
        ndf=args.ndf,
        n_layers_discriminator=args.n_layers_D,
        norm=args.norm,
        use_dropout=not args.no_dropout,
        gan_mode=args.gan_mode,
        lambda_l1=args.lambda_l1,
        lambda_gradient_penalty=args.lambda_gp,
        learning_rate=args.learning_rate,
        adam_beta1=args.adam_beta1,
        adam_beta2=args.adam_beta2,
        batch_size=args.train_batch_size,
        epochs=args.epochs,
        decay_epochs=args.decay_epochs,
        load_size=args.load_size,
        crop_size=args.crop_size,
        preprocess=args.preprocess,
        flip=not args.no_flip,
        direction=args.direction,
    )


def main(args: argparse.Namespace) -> torch.nn.Module:
    output_dir = Path(args.output_dir)
    accelerator = Accelerator(
        mixed_precision=args.mixed_precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        log_with=None if args.report_to == "none" else args.report_to,
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "logs")),
    )
    log_to_file(accelerator, output_dir / "logs" / "train.log")
    set_seed(args.seed)
    cuda = accelerator.device.type == "cuda"
    torch.backends.cudnn.benchmark = cuda and not args.no_cudnn_benchmark
    recipe = recipe_from_args(args)

    # Data: decoded and augmented in DataLoader workers; the sampler covers the whole run (see pix2pix_hub.data)
    train_pairs, eval_pairs, data_description = load_splits(data_spec(args), args.eval_split)
    logger.info(f"{args.dataset}: {data_description}")
    channels = image_channels(train_pairs, args.skip_bad_images)
    generator, discriminator = build_networks(recipe, channels, args.inference_mode)
    train_dataset = PairedImageDataset(
        train_pairs, preprocessing(args, generator.size_multiple), channels, args.seed, True, args.skip_bad_images
    )
    eval_dataset = evaluation_view(eval_pairs, args, generator)
    train_dataloader = DataLoader(
        train_dataset,
        batch_size=args.train_batch_size,
        sampler=EpochSampler(len(train_dataset), args.epochs + args.decay_epochs, args.seed),
        collate_fn=collate_pairs,
        num_workers=args.dataloader_num_workers,
        persistent_workers=args.dataloader_num_workers > 0,
        pin_memory=cuda,
        generator=torch.Generator().manual_seed(args.seed),  # keeps the global RNG (dropout) free of data draws
    )

    # Networks and optimizers
    memory_format = torch.channels_last if cuda and not args.no_channels_last else torch.contiguous_format
    generator = sync_batch_norm(generator, accelerator).to(memory_format=memory_format)
    discriminator = sync_batch_norm(discriminator, accelerator).to(memory_format=memory_format)
    if accelerator.num_processes > 1 and not cuda and has_batch_norm(generator):
        logger.warning("SyncBatchNorm needs CUDA: each CPU process normalises with its own batch statistics")
    optimizer_g = adam(generator, recipe, fused=not args.no_fused_adam)
    optimizer_d = adam(discriminator, recipe, fused=not args.no_fused_adam)
    generator, discriminator, optimizer_g, optimizer_d, train_dataloader = accelerator.prepare(
        generator, discriminator, optimizer_g, optimizer_d, train_dataloader
    )
    if args.torch_compile:
        generator, discriminator = compile_networks(generator, discriminator)
    nets = Networks(generator, discriminator, optimizer_g, optimizer_d)
    options = StepOptions(
        gan_mode=recipe.gan_mode,
        lambda_l1=recipe.lambda_l1,
        lambda_gradient_penalty=recipe.lambda_gradient_penalty,
        stack_discriminator=not args.no_stacked_discriminator and not has_batch_norm(discriminator),
        channels_last=memory_format == torch.channels_last,
    )
    total_steps = len(train_dataloader) // args.gradient_accumulation_steps
    constant_steps = total_steps * args.epochs // max(args.epochs + args.decay_epochs, 1)
    schedulers = [linear_decay(opt, constant_steps, total_steps - constant_steps) for opt in (optimizer_g, optimizer_d)]
    accelerator.register_for_checkpointing(*schedulers)
    max_steps = min(args.max_train_steps or total_steps, total_steps)
    if accelerator.is_main_process:
        accelerator.init_trackers("pix2pix", config=tracker_config(args))

    # Resume: accelerate restores weights, optimizers, schedules and RNG; the data order is a function of the step
    global_step = 0
    checkpoint = find_checkpoint(output_dir, args.resume_from_checkpoint)
    if checkpoint is None and args.resume_from_checkpoint:
        logger.info(f"no checkpoint in {output_dir} yet: starting a new run")
    if checkpoint is not None:
        accelerator.load_state(str(checkpoint))
        global_step = checkpoint_step(checkpoint)
        logger.info(f"resumed from {checkpoint} at step {global_step}")
    batches = accelerator.skip_first_batches(train_dataloader, global_step * args.gradient_accumulation_steps)
    history = read_history(output_dir / "metrics.json", up_to=global_step)

    logger.info(
        f"{len(train_dataset)} training pairs, {accelerator.num_processes} processes x batch {args.train_batch_size}"
        f" x {args.gradient_accumulation_steps} accumulation: {total_steps} steps in the full schedule, "
        f"training to step {max_steps}"
    )
    started, bad_images = time.monotonic(), set()
    progress = tqdm(initial=global_step, total=max_steps, disable=not accelerator.is_local_main_process)
    generator.train()
    discriminator.train()
    for batch in batches if global_step < max_steps else []:
        losses = training_step(accelerator, nets, batch, options)
        for reason in set(batch["skipped"]) - bad_images:  # each bad image is logged once, counted at the end
            bad_images.add(reason)
            logger.warning(f"skipped a bad image: {reason}", main_process_only=False)
        if args.record_batches:
            record_batch(output_dir, accelerator.process_index, global_step, batch["names"])
        if not accelerator.sync_gradients:
            continue
        for scheduler in schedulers:
            scheduler.step()
        global_step += 1
        progress.update(1)
        if global_step % args.logging_steps == 0 or global_step == max_steps:
            values = {name: loss.item() for name, loss in losses.items()} | {"lr": schedulers[0].get_last_lr()[0]}
            progress.set_postfix({name: f"{value:.3g}" for name, value in values.items()})
            accelerator.log(values, step=global_step)
            logger.info(f"step {global_step}: " + " ".join(f"{name} {value:.4g}" for name, value in values.items()))
        if args.checkpointing_steps and global_step % args.checkpointing_steps == 0:
            save_checkpoint(accelerator, output_dir, global_step, args.checkpoints_total_limit)
        if args.eval_steps and global_step % args.eval_steps == 0 and global_step < max_steps:
            run_evaluation(accelerator, generator, eval_dataset, args, global_step, history)
        if global_step >= max_steps:
            break
    progress.close()
    if bad_images:
        logger.warning(f"skipped {len(bad_images)} bad images in this process's data", main_process_only=False)

    # The Hub folder: the evaluated generator, its metrics and samples, a model card with the exact command
    final, result = run_evaluation(accelerator, generator, eval_dataset, args, global_step, history)
    if accelerator.is_main_process:
        atomic_write_bytes(output_dir / "samples.png", png_bytes(result.grid))
        (output_dir / "README.md").unlink(missing_ok=True)  # save_pretrained keeps an old card; this run's replaces it
        final.save_pretrained(
            output_dir,
            model_card_kwargs=model_card(args, recipe, train_pairs.side_names, data_description, result, global_step)
            | {"hardware": hardware(accelerator), "training_time": f"{(time.monotonic() - started) / 60:.1f} min"},
        )
        logger.info(f"saved the model to {output_dir}")
        if args.push_to_hub:
            repo_id = upload_output_dir(output_dir, args.hub_model_id or output_dir.resolve().name, args.hub_token)
            logger.info(f"uploaded {output_dir} to {repo_id}")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return accelerator.unwrap_model(generator, keep_torch_compile=False)


def run_evaluation(
    accelerator: Accelerator,
    generator: torch.nn.Module,
    dataset: PairedImageDataset,
    args: argparse.Namespace,
    step: int,
    history: list[dict],
) -> tuple[Pix2PixGenerator | None, Evaluation | None]:
    """On the main process, score a plain copy of G exactly as `python -m pix2pix_hub.evaluate` does."""
    accelerator.wait_for_everyone()
    copy = result = None
    if accelerator.is_main_process:
        copy = plain_copy(generator, accelerator)
        with torch.random.fork_rng(devices=[accelerator.device] if accelerator.device.type == "cuda" else []):
            result = evaluate(copy, dataset, args.eval_batch_size, accelerator.device, 0, args.dataloader_num_workers)
        copy.cpu()
        history.append({"step": step, **result.metrics})
        report = {"step": step, "num_pairs": result.num_pairs, "skipped_images": result.skipped, **result.metrics}
        atomic_write_text(Path(args.output_dir) / "metrics.json", json.dumps(report | {"history": history}, indent=2))
        accelerator.log({f"eval/{name}": value for name, value in result.metrics.items()}, step=step)
        log_images(accelerator, result.grid, step)
        logger.info(f"step {step} eval: " + " ".join(f"{name} {value:.4f}" for name, value in result.metrics.items()))
    accelerator.wait_for_everyone()
    return copy, result


def log_images(accelerator: Accelerator, grid: Image.Image, step: int) -> None:
    """The source | output | target grid, to the trackers that take images."""
    for tracker in accelerator.trackers:
        if tracker.name == "tensorboard":
            tracker.log_images({"samples": np.asarray(grid)}, step=step, dataformats="HWC")
        elif tracker.name == "wandb":
            import wandb  # optional: only when --report_to wandb

            tracker.log({"samples": wandb.Image(grid)}, step=step)


def tracker_config(args: argparse.Namespace) -> dict:
    """Flags as scalars (TensorBoard's hparams take no None or lists)."""
    return {
        key: value if isinstance(value, (int, float, str, bool)) else str(value) for key, value in vars(args).items()
    }


def model_card(
    args: argparse.Namespace,
    recipe: PaperRecipe,
    sides: tuple[str, str],
    data: str,
    result: Evaluation,
    steps: int,
) -> dict:
    """Template values of model_cards/pix2pix_generator.md."""
    changes = ", ".join(f"{name}={value}" for name, value in recipe_changes(recipe).items())
    on_hub = not Path(args.dataset).exists()
    metrics = result.metrics
    return {
        "model_name": f"pix2pix {Path(args.dataset).name} {args.direction}",
        "repo_id": args.hub_model_id if args.push_to_hub else None,
        "dataset": f"[{args.dataset}](https://huggingface.co/datasets/{args.dataset})" if on_hub else args.dataset,
        "direction": args.direction,
        "source": sides[0],
        "target": sides[1],
        "recipe": "the paper's" + (f", except {changes}" if changes else ""),
        "steps": steps,
        "command": "accelerate launch train_accelerate.py " + shlex.join(sys.argv[1:]),
        "metrics": {
            "L1": f"{metrics['l1']:.4f}",
            "PSNR (dB)": f"{metrics['psnr']:.2f}",
            "SSIM": f"{metrics['ssim']:.4f}",
        },
        "metrics_intro": f"Measured by `python -m pix2pix_hub.evaluate` at step {steps} on {result.num_pairs} pairs "
        f"({data}; inference_mode `{args.inference_mode}`).",
        "sample_grid": "samples.png",
        "card_data": {"datasets": [args.dataset]} if on_hub else {},
    }


if __name__ == "__main__":
    main(parse_args())
