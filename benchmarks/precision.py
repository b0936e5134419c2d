"""Training steps per second in float32 against bf16 autocast (and channels-last), side by side in one run.

    python -m benchmarks.precision [--threads 1 2] [--rounds 3] [--steps 2] [--networks unet_256/32 global]

Every configuration is one full pix2pix update (D on a fake and a real pair, then G through D; 70x70 PatchGAN at
the same width, batch 1, 256x256) set up by the trainer's own `prepare` and run by the method's `training_step`,
so the bf16 rows are exactly `--mixed_precision bf16` (accelerate's CPU autocast around each network's forward;
weights, Adam and losses stay float32). The generators: the U-Net-256 at ngf 16, 32 and 64 (batch norm, dropout:
the paper's), the ResNet generators with 9 and 6 blocks and pix2pixHD's global generator (ngf 32, instance norm,
as CycleGAN and pix2pixHD train them). Four ways of running each (float32, bf16, each also channels-last) are
interleaved in rounds, at each thread count, from the same initial weights and batch.

The second table says where a step's time goes in each precision (torch.profiler, self CPU time by kind of
operator, U-Net-256 ngf 32 on one thread), which is why bf16 gains less than its 2x arithmetic rate: the weight
casts and oneDNN layout reorders of every step, the float32 Adam update and the normalisations cost the same in
both, and oneDNN's bf16 weight-gradient kernels are slower than float32 ones on the U-Net's innermost levels (2x2
to 8x8 activations against up to 2M weights each). The CPU's flags that decide the bf16 path are recorded.
"""

from __future__ import annotations

import argparse
import copy
import re
import statistics
import subprocess
from collections.abc import Callable

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from torch.utils.data import DataLoader

from benchmarks.common import interleaved_rounds, write_section
from pix2pix_hub.methods.base import TrainingState
from pix2pix_hub.methods.pix2pix import Pix2Pix, Pix2PixRecipe
from pix2pix_hub.training.arguments import parse_args
from pix2pix_hub.training.loop import prepare
from pix2pix_hub.training.precision import detect_hardware

NETWORKS = {  # name: (generator arch, width, norm, dropout)
    "unet_256/16": ("unet_256", 16, "batch", True),
    "unet_256/32": ("unet_256", 32, "batch", True),
    "unet_256/64": ("unet_256", 64, "batch", True),
    "resnet_9blocks/32": ("resnet_9blocks", 32, "instance", False),
    "resnet_6blocks/32": ("resnet_6blocks", 32, "instance", False),
    "global/32": ("global", 32, "instance", False),
}
VARIANTS = {"float32": ("no", False), "bf16": ("bf16", False), "float32 CL": ("no", True), "bf16 CL": ("bf16", True)}
SIZE = 256
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")


def cpu_flags() -> str:
    """The flags that decide oneDNN's bf16 path, as lscpu reports them, and torch's vector extension."""
    text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    flags = set(re.search(r"Flags:\s*(.+)", text)[1].split()) if "Flags:" in text else set()
    listed = " ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in CPU_FLAGS)
    return f"{listed}; torch's CPU capability {torch.backends.cpu.get_cpu_capability()}"


def initial_state(network: str) -> tuple[Pix2PixRecipe, TrainingState]:
    arch, width, norm, dropout = NETWORKS[network]
    recipe = Pix2PixRecipe(generator_arch=arch, ngf=width, ndf=width, norm=norm, use_dropout=dropout, crop_size=SIZE)
    torch.manual_seed(0)
    return recipe, Pix2Pix().build_networks(recipe, (3, 3), parse_args(["--dataset", "unused"]))


def training_step(recipe: Pix2PixRecipe, initial: TrainingState, variant: str) -> Callable[[], None]:
    """One update of a copy of `initial`, prepared as the trainer prepares it under `--mixed_precision`."""
    mixed_precision, channels_last = VARIANTS[variant]
    AcceleratorState._reset_state(reset_partial_state=True)  # one accelerator per precision in this process
    accelerator = Accelerator(mixed_precision=mixed_precision, cpu=True)
    state = copy.deepcopy(initial)
    prepare(accelerator, state, DataLoader([]), parse_args(["--dataset", "unused"]))
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    for module in state.modules.values():
        module.to(memory_format=memory_format).train()
    generator = torch.Generator().manual_seed(1)
    source, target = (
        (torch.rand(2, 3, SIZE, SIZE, generator=generator) * 2 - 1).to(memory_format=memory_format).split(1)
    )
    batch, method = {"source": source, "target": target}, Pix2Pix()
    return lambda: method.training_step(accelerator, state, batch, recipe)


def measure(networks: list[str], threads: list[int], rounds: int, steps: int) -> list[str]:
    rows = []
    for network in networks:
        recipe, initial = initial_state(network)
        steps_of = {variant: training_step(recipe, initial, variant) for variant in VARIANTS}
        for count in threads:
            torch.set_num_threads(count)
            per_round = interleaved_rounds(steps_of, rounds, steps)
            rate = {variant: 1 / statistics.median(seconds) for variant, seconds in per_round.items()}
            cells = " | ".join(f"{rate[variant]:.2f}" for variant in VARIANTS)
            rows.append(f"| {network} | {count} | {cells} | **{rate['bf16'] / rate['float32']:.2f}x** |")
            print(rows[-1], flush=True)
    return rows


KINDS = {  # profiler operator name -> kind of work
    "convolutions (oneDNN kernels and their layout reorders)": ("convolution", "_convolution", "conv"),
    "casts and copies (autocast's weight casts, layouts)": ("copy_", "_to_copy", "to", "contiguous", "clone"),
    "Adam (float32 weights and state)": ("_fused_adam", "adam"),
    "normalisation": ("batch_norm", "instance_norm", "native_batch_norm", "norm"),
}


def kind_of(name: str) -> str:
    operator = name.removeprefix("aten::")
    for kind, markers in KINDS.items():
        if any(marker in operator for marker in markers):
            return kind
    return "everything else (activations, dropout, concatenation, losses, autograd)"


def where_time_goes(network: str, steps: int) -> list[str]:
    """Self CPU milliseconds per step by kind of operator, float32 and bf16, on one thread."""
    torch.set_num_threads(1)
    recipe, initial = initial_state(network)
    totals = {}
    for variant in ("float32", "bf16"):
        step = training_step(recipe, initial, variant)
        step(), step()
        with torch.profiler.profile() as profile:
            for _ in range(steps):
                step()
        kinds: dict[str, float] = {}
        for event in profile.key_averages():
            kinds[kind_of(event.key)] = kinds.get(kind_of(event.key), 0.0) + event.self_cpu_time_total / 1000 / steps
        totals[variant] = kinds
    names = sorted(totals["float32"], key=lambda kind: -totals["float32"][kind])
    rows = [f"| {kind} | {totals['float32'][kind]:.0f} | {totals['bf16'].get(kind, 0):.0f} |" for kind in names]
    summed = {variant: sum(kinds.values()) for variant, kinds in totals.items()}
    rows.append(f"| **step** | **{summed['float32']:.0f}** | **{summed['bf16']:.0f}** |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per configuration and round")
    parser.add_argument("--profile_steps", type=int, default=3)
    args = parser.parse_args()
    default_threads, hardware = torch.get_num_threads(), detect_hardware()
    header = f"| generator/width | threads | {' | '.join(VARIANTS)} | bf16 / float32 |\n|---|---|" + "---|" * 5
    rows = measure(args.networks, args.threads, args.rounds, args.steps)
    profile = where_time_goes("unet_256/32", args.profile_steps)
    torch.set_num_threads(default_threads)  # the section's header names the machine's default thread count
    body = (
        f"CPU flags: {cpu_flags()}. The trainer's `--mixed_precision auto` picks "
        f"{'bf16' if hardware.native_bf16 else 'float32'} here ({hardware.description}).\n\n"
        f"Steps per second of one pix2pix update (D then G, batch 1, {SIZE}x{SIZE}, 70x70 PatchGAN of the same "
        f"width), median of {args.rounds} interleaved rounds of {args.steps} steps; CL = channels-last.\n\n"
        f"{header}\n" + "\n".join(rows) + "\n\n"
        "Where a step's time goes (U-Net-256 ngf 32, one thread; self CPU ms per step under torch.profiler, "
        "which adds its own overhead):\n\n| kind of work | float32 | bf16 |\n|---|---|---|\n" + "\n".join(profile)
    )
    write_section("Training precision: float32 vs bf16 (CPU)", body)


if __name__ == "__main__":
    main()
