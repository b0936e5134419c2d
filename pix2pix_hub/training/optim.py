"""Optimizers, learning-rate schedules and the exact fast paths shared by every method."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from accelerate import Accelerator
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from ..methods.base import Recipe
from ..methods.gan import has_batch_norm


def epoch_factor(recipe: Recipe) -> Callable[[int], float]:
    """The reference's `get_scheduler` rules as a function of the 0-based epoch (stepped at each epoch's end).

    linear: 1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1), the reference's `lambda_rule` with
    epoch_count 1, so the last epoch runs at lr / (n_epochs_decay + 1); linear_hd: pix2pixHD's train.py, which lowers
    the rate by lr / niter_decay after each epoch past niter; step: x0.1 every `lr_decay_iters` epochs;
    cosine: `CosineAnnealingLR(T_max=n_epochs, eta_min=0)`.
    """
    if recipe.lr_policy == "linear":
        return lambda epoch: 1.0 - max(0, epoch + 1 - recipe.epochs) / float(recipe.decay_epochs + 1)
    if recipe.lr_policy == "linear_hd":  # NVIDIA/pix2pixHD: lr0 / niter_decay less after each epoch past niter
        return lambda epoch: 1.0 - max(0, epoch - recipe.epochs) / float(max(recipe.decay_epochs, 1))
    if recipe.lr_policy == "step":
        return lambda epoch: 0.1 ** (epoch // recipe.lr_decay_iters)
    if recipe.lr_policy == "cosine":
        return lambda epoch: (1 + math.cos(math.pi * epoch / recipe.epochs)) / 2
    raise ValueError(f"lr_policy={recipe.lr_policy!r} has no per-epoch rule")


def learning_rate_schedule(optimizer: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int) -> LambdaLR:
    """Stepped once per optimisation step; the rate changes at epoch boundaries as in the reference (or, for
    `linear_per_step`, at every step, linearly to zero over the decay epochs)."""
    if recipe.lr_policy == "linear_per_step":
        constant, decay = recipe.epochs * steps_per_epoch, recipe.decay_epochs * steps_per_epoch
        return LambdaLR(optimizer, lambda step: 1.0 if step < constant else max(0.0, 1.0 - (step - constant) / decay))
    per_epoch = epoch_factor(recipe)
    return LambdaLR(optimizer, lambda step: per_epoch(step // max(steps_per_epoch, 1)))


def sync_batch_norm(module: nn.Module, accelerator: Accelerator) -> nn.Module:
    """Batch statistics over all processes' batches (the paper's batch is global); CUDA only in PyTorch."""
    if accelerator.num_processes > 1 and accelerator.device.type == "cuda" and has_batch_norm(module):
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return module


def compile_network(network: nn.Module) -> nn.Module:
    """`torch.compile` for fixed shapes: a new input size (a smaller last batch, another model of the same class in
    the process) compiles anew instead of switching to dynamic shapes, which inductor can fail on."""
    return torch.compile(network, dynamic=False)
