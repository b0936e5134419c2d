"""Training speed: the reference's naive loop against the project's trainer step, side by side in one run.

    python -m benchmarks.training                 # writes the "Training" section of benchmarks/RESULTS.md
    python -m benchmarks.training --data ../shared/data/facades [--quality_steps 2000] [--compile]

"naive" is the paper's loop as the reference writes it (`Pix2PixModel.optimize_parameters`): eager float32,
NCHW, batch 1, two separate D forwards, multi-kernel Adam. "trainer" is `Pix2Pix().build_networks` +
`Pix2Pix().training_step`, set up by the loop's own `prepare` with the fast paths `train_accelerate.py` turns on by
default for the device (fused Adam, one stacked D forward where there is no batch norm; on CUDA also channels-last
and cuDNN autotuning) plus, on a GPU, bf16 autocast (`--mixed_precision bf16`). With `--compile` (the default on a
GPU) a third row adds `torch.compile` of G and D (`--torch_compile`). All train the same networks from the same
initial weights on the same random batches.

With `--data` (a paired folder with a test split, e.g. facades), two more measurements:
- the DataLoader's own rate (decode + paper preprocessing in workers), to show whether the step ever waits for data;
- quality over a fixed budget (`--quality_steps`, default 2000 on a GPU, off on a CPU): the naive loop and the
  trainer each train the paper's networks for that many steps from the same weights on the same augmented pairs
  (read by the DataLoader in workers), then both generators are scored on the test split with
  `pix2pix_hub.evaluate` (L1, PSNR, SSIM), with the wall time of each run.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader

from benchmarks.common import write_section
from pix2pix_hub.data import EpochSampler, PairedImageDataset, Preprocessing, collate_pairs, image_channels
from pix2pix_hub.data.sources import DataSpec, load_splits
from pix2pix_hub.evaluation.evaluate import evaluate
from pix2pix_hub.losses import GANLoss, l1_loss
from pix2pix_hub.methods.base import TrainingState
from pix2pix_hub.methods.gan import adam
from pix2pix_hub.methods.pix2pix import PAPER, Pix2Pix, Pix2PixRecipe
from pix2pix_hub.networks import Pix2PixGenerator
from pix2pix_hub.training.arguments import parse_args as trainer_args
from pix2pix_hub.training.loop import prepare

FACADES_DIRECTION = "BtoA"  # labels -> photo, the paper's facades task


def naive_step(generator, discriminator, optimizer_g, optimizer_d, source, target, gan_loss) -> None:
    """The reference implementation's update, line for line in spirit."""
    fake = generator(source)
    discriminator.requires_grad_(True)
    optimizer_d.zero_grad()
    loss_d_fake = gan_loss(discriminator(torch.cat([source, fake.detach()], 1)), False)
    loss_d_real = gan_loss(discriminator(torch.cat([source, target], 1)), True)
    ((loss_d_fake + loss_d_real) * 0.5).backward()
    optimizer_d.step()
    discriminator.requires_grad_(False)
    optimizer_g.zero_grad()
    loss_g = gan_loss(discriminator(torch.cat([source, fake], 1)), True) + l1_loss(fake, target)
    loss_g.backward()
    optimizer_g.step()


@dataclass
class Loop:
    """One way of training: `step(source, target)` on the device, and the trained generator as a plain model."""

    step: Callable[[torch.Tensor, torch.Tensor], None]
    trained_generator: Callable[[], Pix2PixGenerator]


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def initial_state(recipe: Pix2PixRecipe, channels: tuple[int, int]) -> TrainingState:
    """The method's networks and optimizers under the trainer's default flags, seeded once; each loop trains a copy."""
    torch.manual_seed(0)
    return Pix2Pix().build_networks(recipe, channels, trainer_args(["--dataset", "unused"]))


def naive_loop(initial: TrainingState, recipe: Pix2PixRecipe) -> Loop:
    generator = copy.deepcopy(initial.modules["generator"]).to(device())
    discriminator = copy.deepcopy(initial.modules["discriminator"]).to(device())
    optimizer_g = adam(generator.parameters(), recipe, fused=False)
    optimizer_d = adam(discriminator.parameters(), recipe, fused=False)
    gan_loss = GANLoss(recipe.gan_mode)
    generator.train(), discriminator.train()

    def step(source: torch.Tensor, target: torch.Tensor) -> None:
        naive_step(generator, discriminator, optimizer_g, optimizer_d, source, target, gan_loss)

    return Loop(step, lambda: copy.deepcopy(generator).cpu())


def trainer_loop(initial: TrainingState, recipe: Pix2PixRecipe, compiled: bool) -> Loop:
    """The method's step on a copy set up by the loop's own `prepare` under the trainer's default flags."""
    cuda = device().type == "cuda"
    accelerator = Accelerator(mixed_precision="bf16" if cuda and torch.cuda.is_bf16_supported() else "no")
    torch.backends.cudnn.benchmark = cuda
    args = trainer_args(["--dataset", "unused", *(["--torch_compile"] if compiled else [])])
    method, state = Pix2Pix(), copy.deepcopy(initial)
    prepare(accelerator, state, DataLoader([]), args)
    memory_format = state.extras["memory_format"]
    for module in state.modules.values():
        module.train()

    def step(source: torch.Tensor, target: torch.Tensor) -> None:
        batch = {"source": source.to(memory_format=memory_format), "target": target.to(memory_format=memory_format)}
        method.training_step(accelerator, state, batch, recipe)

    return Loop(step, lambda: method.exports(accelerator, state)[""])


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def images_per_second(run_step, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    synchronize()
    start = time.perf_counter()
    for source, target in batches:
        run_step(source, target)
    synchronize()
    return sum(len(source) for source, _ in batches) / (time.perf_counter() - start)


def measure_steps(arch: str, width: int, size: int, steps: int, rounds: int, with_compile: bool) -> list[str]:
    recipe = Pix2PixRecipe(generator_arch=arch, ngf=width, ndf=width, crop_size=size, inference_mode="eval")
    initial = initial_state(recipe, (3, 3))
    batches = [(torch.rand(1, 3, size, size, device=device()) * 2 - 1,) * 2 for _ in range(steps)]
    loops = {"naive": naive_loop(initial, recipe), "trainer": trainer_loop(initial, recipe, False)}
    if with_compile:
        loops["trainer + torch.compile"] = trainer_loop(initial, recipe, True)
    first_step = {}
    for name, loop in loops.items():  # warm-up: allocator, cuDNN autotuning, compilation
        start = time.perf_counter()
        loop.step(*batches[0])
        synchronize()
        first_step[name] = time.perf_counter() - start
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds):  # interleaved
        for name, loop in loops.items():
            rates[name].append(images_per_second(loop.step, batches))
    median = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
    precision = "bf16" if device().type == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    rows = []
    for name in loops:
        loop_precision = "float32" if name == "naive" else precision
        rows.append(
            f"| {arch} ngf/ndf {width} at {size}x{size}, batch 1 | {name} ({loop_precision}) "
            f"| {first_step[name]:.1f} | {median[name]:.2f} | {median[name] / median['naive']:.2f}x |"
        )
        print(rows[-1], flush=True)
    return rows


def paired_loader(dataset: PairedImageDataset, steps: int, workers: int) -> DataLoader:
    """Batches of 1 in the trainer's order (seeded epochs), decoded and augmented in `workers` processes."""
    epochs = -(-steps // len(dataset))
    sampler = EpochSampler(len(dataset), epochs, seed=0)
    return DataLoader(dataset, batch_size=1, sampler=sampler, collate_fn=collate_pairs, num_workers=workers)


def measure_dataloader(data: Path, workers: int, batches: int) -> str:
    """Pairs per second the DataLoader delivers with the paper's preprocessing (decode, resize 286, crop 256)."""
    train_pairs, _, _ = load_splits(DataSpec(dataset=str(data), direction=FACADES_DIRECTION))
    dataset = PairedImageDataset(train_pairs, Preprocessing(), image_channels(train_pairs), 0, True, False)
    iterator = iter(paired_loader(dataset, batches + 1, workers))
    next(iterator)  # worker start-up
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    rate = batches / (time.perf_counter() - start)
    print(f"DataLoader: {rate:.1f} pairs/s with {workers} workers", flush=True)
    return f"DataLoader on `{data}` (decode + resize 286 + crop 256 + flip), {workers} workers: **{rate:.1f} pairs/s**."


def measure_quality(data: Path, steps: int, workers: int) -> str:
    """The paper's networks trained `steps` steps by each loop from the same weights and pairs, scored on test."""
    train_pairs, test_pairs, description = load_splits(DataSpec(dataset=str(data), direction=FACADES_DIRECTION))
    channels = image_channels(train_pairs)
    train_set = PairedImageDataset(train_pairs, Preprocessing(), channels, seed=0)
    test_set = PairedImageDataset(test_pairs, Preprocessing(), channels, augment=False)
    initial = initial_state(PAPER, channels)  # inference_mode "paper": scored as the paper tests, dropout on
    loops = {"naive": naive_loop(initial, PAPER), "trainer": trainer_loop(initial, PAPER, False)}
    rows = []
    for name, loop in loops.items():
        synchronize()
        start = time.perf_counter()
        for batch in itertools.islice(paired_loader(train_set, steps, workers), steps):
            loop.step(batch["source"].to(device(), non_blocking=True), batch["target"].to(device(), non_blocking=True))
        synchronize()
        seconds = time.perf_counter() - start
        scores = evaluate(loop.trained_generator(), test_set, device=device(), seed=0).metrics
        rows.append(
            f"| {name} | {steps} | {seconds:.0f} | {steps / seconds:.2f} | {scores['l1']:.4f} | {scores['psnr']:.2f} "
            f"| {scores['ssim']:.4f} |"
        )
        print(rows[-1], flush=True)
    return "\n".join(
        [
            f"Quality over a fixed budget: the paper's U-Net-256 and 70x70 PatchGAN trained {steps} steps (batch 1, "
            f"{workers} DataLoader workers) by each loop from the same weights on the same augmented pairs of "
            f'`{data}` ({FACADES_DIRECTION}; {description}), then scored on the eval split ("paper" inference '
            "mode, seed 0; L1 and SSIM on [0, 1] RGB, PSNR in dB).",
            "",
            "| loop | steps | wall s (data included) | steps/s | L1 | PSNR | SSIM |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )


def main() -> None:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=cuda, help="default: on a GPU")
    parser.add_argument("--data", type=Path, default=None, help="a paired dataset folder (train and test splits)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--quality_steps", type=int, default=2000 if cuda else 0, help="with --data; default: 2000 on a GPU, 0 on a CPU"
    )
    args = parser.parse_args()
    if args.data is not None and not args.data.is_dir():
        raise SystemExit(f"--data {args.data}: no such folder (the real datasets live in ../shared/data)")
    if args.quality_steps and args.data is None:
        raise SystemExit(
            "--quality_steps needs --data (a paired folder with a test split, e.g. ../shared/data/facades)"
        )

    configs = [("unet_256", 64, 256), ("unet_128", 32, 128)]
    rows = [
        row
        for arch, width, size in configs
        for row in measure_steps(arch, width, size, args.steps, args.rounds, args.compile)
    ]
    body = [
        f"Images per second of one full update (D then G), median of {args.rounds} interleaved rounds of "
        f"{args.steps} steps; the first (warm-up) step is timed apart.",
        "",
        "| configuration | loop | first step s | img/s | speed-up |",
        "|---|---|---|---|---|",
        *rows,
    ]
    if args.data is not None:
        body += ["", measure_dataloader(args.data, args.workers, batches=40)]
    if args.quality_steps:
        body += ["", measure_quality(args.data, args.quality_steps, args.workers)]
    write_section("Training (" + ("GPU" if cuda else "CPU") + ")", "\n".join(body))


if __name__ == "__main__":
    main()
