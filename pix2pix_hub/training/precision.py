"""Which precision a run trains in: bfloat16 autocast where the hardware runs it natively, float32 elsewhere.

bf16 autocast halves the bytes and, on hardware with bf16 arithmetic, roughly doubles the convolution throughput;
the weights, the optimizer state and the losses stay float32 (accelerate's mixed precision). On a CPU the gain
depends on the instruction set: with AVX512-BF16 or AMX the convolutions run natively in bf16 (1.5x a U-Net-256
step on one thread here, see `benchmarks/precision.py`); with AVX-512 alone oneDNN emulates it; on an AVX2-only CPU
it has no bf16 kernels at all and a step ran about 30x slower than float32. `--mixed_precision auto` (the default)
therefore picks bf16 only where it is native.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

CHOICES = ("auto", "no", "fp16", "bf16")
LAUNCHER_VARIABLE = "ACCELERATE_MIXED_PRECISION"  # set by `accelerate launch` ("no" unless told) and its config


@dataclass(frozen=True)
class Hardware:
    """What the precision choice depends on: the device type and, for a GPU or a CPU, whether bf16 is native."""

    device: str  # "cuda" or "cpu"
    native_bf16: bool
    description: str  # e.g. "CPU with avx512_bf16", for messages


@dataclass(frozen=True)
class PrecisionChoice:
    mixed_precision: str  # what accelerate gets: "no", "fp16" or "bf16"
    reason: str
    warning: str | None = None  # said when the user's explicit choice runs slower than float32 here


def detect_hardware() -> Hardware:
    """The device accelerate will train on, and whether it computes in bf16 natively."""
    import torch

    use_cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    if torch.cuda.is_available() and not use_cpu:
        native = torch.cuda.is_bf16_supported(including_emulation=False)
        return Hardware("cuda", native, torch.cuda.get_device_name())
    flags = [name for name, has in cpu_bf16_flags().items() if has]
    description = f"CPU with {' and '.join(flags)}" if flags else f"CPU without bf16 instructions ({cpu_isa()})"
    return Hardware("cpu", bool(flags), description)


def cpu_bf16_flags() -> dict[str, bool]:
    """The x86 extensions with bf16 arithmetic that oneDNN uses for convolutions."""
    import torch

    return {"avx512_bf16": torch.cpu._is_avx512_bf16_supported(), "amx_bf16": torch.cpu._is_amx_tile_supported()}


def cpu_isa() -> str:
    import torch

    return f"best vector extension {torch.backends.cpu.get_cpu_capability()}"


def choose_precision(requested: str, hardware: Hardware, launcher: str | None = None) -> PrecisionChoice:
    """`--mixed_precision` resolved for this hardware.

    auto: a half precision named by accelerate (`accelerate launch --mixed_precision bf16` or `accelerate config`)
    wins; otherwise bf16 where it is native and float32 elsewhere. ("no" from the launcher is its default when it
    was not told, so it does not veto auto; pass `--mixed_precision no` to the script for float32 everywhere.)
    """
    if requested not in CHOICES:
        raise ValueError(f"--mixed_precision {requested!r}: choose one of {', '.join(CHOICES)}")
    if requested == "auto":
        if launcher in ("fp16", "bf16"):  # (fp8 is not a choice this trainer carries: auto decides then)
            return choose_precision(launcher, hardware)
        if hardware.native_bf16:
            return PrecisionChoice("bf16", f"auto: bf16 is native on this {hardware.description}")
        return PrecisionChoice("no", f"auto: float32, as bf16 is not native on this {hardware.description}")
    if requested == "no":
        return PrecisionChoice("no", "float32, as asked")
    reason = f"{requested} mixed precision, as asked"
    if hardware.device == "cpu" and not (requested == "bf16" and hardware.native_bf16):
        warning = (
            f"--mixed_precision {requested} on a {hardware.description}: this CPU has no native {requested} "
            "convolutions, so training runs slower than in float32 (about 30x on an AVX2-only CPU). "
            "Use --mixed_precision auto or no for the fast choice here."
        )
        return PrecisionChoice(requested, reason, warning)
    return PrecisionChoice(requested, reason)
