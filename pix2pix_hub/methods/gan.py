"""Mechanics every GAN method here shares: the papers' Adam, whether a network normalises over the batch, and D
as G's loss sees it.

Below the methods and beside the loop: the methods build their optimizers with `adam`, decide with
`has_batch_norm` whether D may judge fake and real pairs in one stacked forward (exact only without batch norm; the
loop's `sync_batch_norm` asks the same question), take G's adversarial term through `frozen(D)`, and initialise
their networks with `initialise`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from torch import nn

    from .base import Recipe


def adam(parameters, recipe: Recipe, fused: bool) -> torch.optim.Adam:
    """The papers' Adam; `fused` updates all parameters in one kernel (CPU and CUDA; ~14% faster CPU steps)."""
    import torch

    return torch.optim.Adam(
        parameters, lr=recipe.learning_rate, betas=(recipe.adam_beta1, recipe.adam_beta2), fused=fused or None
    )


def has_batch_norm(module: nn.Module) -> bool:
    from torch import nn

    return any(isinstance(layer, nn.modules.batchnorm._BatchNorm) for layer in module.modules())


def frozen(accelerator: Accelerator, discriminator: nn.Module) -> nn.Module:
    """D for G's loss: its weights frozen, so G's backward leaves no gradients on them, and unwrapped, since the DDP
    wrapper would wait for gradients D never gets. (The D step turns `requires_grad` back on.)"""
    discriminator.requires_grad_(False)
    return accelerator.unwrap_model(discriminator)


def initialise(recipe: Recipe, *networks: nn.Module, reference_init: Callable[[nn.Module], None] | None = None):
    """`--init_type`/`--init_gain`, network by network in order. With the reference's default (normal, 0.02) a
    network keeps the init its construction drew, or gets `reference_init` where the paper's code has its own (e.g.
    pix2pixHD's `weights_init`, which keeps PyTorch's default biases); any other choice re-initialises it."""
    from ..networks.blocks import INIT_STD, init_weights

    reference_default = (recipe.init_type, recipe.init_gain) == ("normal", INIT_STD)
    for network in networks:
        if not reference_default:
            init_weights(network, recipe.init_type, recipe.init_gain)
        elif reference_init is not None:
            reference_init(network)
