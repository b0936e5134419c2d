"""Training speed: the reference's naive loop against the project's trainer step, side by side in one run.

    python -m benchmarks.training                 # writes the "Training" section of benchmarks/RESULTS.md
    python -m benchmarks.training --data ../shared/data/facades

"naive" is the paper's loop as the reference writes it (`Pix2PixModel.optimize_parameters`): eager float32,
NCHW, batch 1, two separate D forwards, multi-kernel Adam. "trainer" is `pix2pix_hub.training.training_step`
with the fast paths `train_accelerate.py` turns on by default for the device (fused Adam; on CUDA also
channels-last and cuDNN autotuning) plus, on a GPU, bf16 autocast (`--mixed_precision bf16`). Both train the
same networks from the same initial weights on the same random batches. With `--data`, the DataLoader's own
rate (decode + paper preprocessing in workers) is measured too, to show whether the step ever waits for data.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader

from benchmarks.common import write_section
from pix2pix_hub.data import EpochSampler, PairedImageDataset, Preprocessing, collate_pairs, image_channels
from pix2pix_hub.data.sources import DataSpec, load_splits
from pix2pix_hub.losses import GANLoss, l1_loss
from pix2pix_hub.recipe import PAPER
from pix2pix_hub.training import Networks, StepOptions, adam, build_networks, has_batch_norm, training_step


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


def images_per_second(run_step, batches: list[tuple[torch.Tensor, torch.Tensor]], synchronize) -> float:
    run_step(*batches[0])  # warm-up: allocator, cuDNN autotuning
    synchronize()
    start = time.perf_counter()
    for source, target in batches:
        run_step(source, target)
    synchronize()
    return sum(len(source) for source, _ in batches) / (time.perf_counter() - start)


def measure_steps(arch: str, width: int, size: int, steps: int, rounds: int) -> list[str]:
    recipe = PAPER.__class__(generator_arch=arch, ngf=width, ndf=width, crop_size=size)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    synchronize = torch.cuda.synchronize if cuda else (lambda: None)
    torch.manual_seed(0)
    generator, discriminator = build_networks(recipe, (3, 3), "eval")
    batches = [(torch.rand(1, 3, size, size, device=device) * 2 - 1,) * 2 for _ in range(steps)]

    naive_g, naive_d = copy.deepcopy(generator).to(device), copy.deepcopy(discriminator).to(device)
    naive_opt_g, naive_opt_d = adam(naive_g, recipe, fused=False), adam(naive_d, recipe, fused=False)
    gan_loss = GANLoss(recipe.gan_mode)

    def naive(source, target):
        naive_step(naive_g, naive_d, naive_opt_g, naive_opt_d, source, target, gan_loss)

    accelerator = Accelerator(mixed_precision="bf16" if cuda and torch.cuda.is_bf16_supported() else "no")
    torch.backends.cudnn.benchmark = cuda
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    fast_g = copy.deepcopy(generator).to(device, memory_format=memory_format)
    fast_d = copy.deepcopy(discriminator).to(device, memory_format=memory_format)
    prepared = accelerator.prepare(fast_g, fast_d, adam(fast_g, recipe, fused=True), adam(fast_d, recipe, fused=True))
    nets = Networks(*prepared)
    options = StepOptions(stack_discriminator=not has_batch_norm(discriminator), channels_last=cuda)

    def trainer(source, target):
        training_step(accelerator, nets, {"source": source, "target": target}, options)

    naive_g.train(), naive_d.train(), nets.generator.train(), nets.discriminator.train()
    rates: dict[str, list[float]] = {"naive": [], "trainer": []}
    for _ in range(rounds):  # interleaved
        rates["naive"].append(images_per_second(naive, batches, synchronize))
        rates["trainer"].append(images_per_second(trainer, batches, synchronize))
    best = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
    label = f"{arch} ngf/ndf {width} at {size}x{size}, batch 1, {accelerator.mixed_precision} precision"
    row = f"| {label} | {best['naive']:.2f} | {best['trainer']:.2f} | {best['trainer'] / best['naive']:.2f}x |"
    print(row, flush=True)
    return [row]


def measure_dataloader(data: Path, workers: int, batches: int) -> str:
    """Pairs per second the DataLoader delivers with the paper's preprocessing (decode, resize 286, crop 256)."""
    train_pairs, _, _ = load_splits(DataSpec(dataset=str(data), direction="BtoA"))
    dataset = PairedImageDataset(train_pairs, Preprocessing(), image_channels(train_pairs), 0, True, False)
    loader = DataLoader(
        dataset,
        batch_size=1,
        sampler=EpochSampler(len(dataset), 10, 0),
        collate_fn=collate_pairs,
        num_workers=workers,
    )
    iterator = iter(loader)
    next(iterator)  # worker start-up
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    rate = batches / (time.perf_counter() - start)
    print(f"DataLoader: {rate:.1f} pairs/s with {workers} workers", flush=True)
    return f"DataLoader on `{data}` (decode + resize 286 + crop 256 + flip), {workers} workers: **{rate:.1f} pairs/s**."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="a paired dataset folder for the DataLoader rate")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    configs = [("unet_256", 64, 256), ("unet_128", 32, 128)]
    rows = [row for arch, width, size in configs for row in measure_steps(arch, width, size, args.steps, args.rounds)]
    body = [
        f"Images per second of one full update (D then G), median of {args.rounds} interleaved rounds of "
        f"{args.steps} steps.",
        "",
        "| configuration | naive loop img/s | trainer img/s | speed-up |",
        "|---|---|---|---|",
        *rows,
    ]
    if args.data is not None:
        if not args.data.is_dir():
            raise SystemExit(f"--data {args.data}: no such folder (the real datasets live in ../shared/data)")
        body += ["", measure_dataloader(args.data, args.workers, batches=40)]
    write_section("Training (" + ("GPU" if torch.cuda.is_available() else "CPU") + ")", "\n".join(body))


if __name__ == "__main__":
    main()
