"""Mechanics every GAN method here shares: the papers' Adam, whether a network normalises over the batch, and D
as G's loss sees it.

Below the methods and beside the loop: the methods build their optimizers with `adam`, decide with
`has_batch_norm` whether D may judge fake and real pairs in one stacked forward (exact only without batch norm; the
loop's `sync_batch_norm` asks the same question), take G's adversarial term through `frozen(D)`, initialise their
networks with `initialise`, and, with pix2pixHD's multi-scale D (pix2pixHD, Everybody Dance Now), score with
`multiscale_judge`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from torch import nn

    from ..losses import GANLoss
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


def multiscale_gan_loss(gan: GANLoss, predictions: list[list[torch.Tensor]], target_is_real: bool) -> torch.Tensor:
    """The reference's GANLoss on a list of scales: the sum over scales of the loss on each one's last map."""
    return sum(gan(scale[-1], target_is_real) for scale in predictions)


def multiscale_judge(accelerator, discriminator, gan, stack: bool, pairs, feature_matching) -> dict[str, torch.Tensor]:
    """pix2pixHD's verdicts from one multi-scale D, for every method that trains with it.

    `pairs` = (fake, real, generated): D_fake on the (detached, maybe pooled) fake pair and D_real on the real one
    train D; G_GAN and, with `feature_matching` = (n_layers, lambda_feat), G_GAN_Feat go back to G through the
    generated pair and the `frozen` D. With `stack`, one D forward
    over fake and real stacked: exact only without batch norm, which would mix their statistics.
    """
    import torch

    fake_pair, real_pair, generated_pair = pairs
    discriminator.requires_grad_(True)
    if stack:
        both = discriminator(torch.cat([fake_pair, real_pair]))
        pred_fake_pool = [[feature[: len(fake_pair)] for feature in scale] for scale in both]
        pred_real = [[feature[len(fake_pair) :] for feature in scale] for scale in both]
    else:
        pred_fake_pool, pred_real = discriminator(fake_pair), discriminator(real_pair)
    pred_fake = frozen(accelerator, discriminator)(generated_pair)
    feature_terms = feature_matching_terms(pred_fake, pred_real, *feature_matching) if feature_matching else []
    return {
        "G_GAN": multiscale_gan_loss(gan, pred_fake, True),
        "G_GAN_Feat": sum(feature_terms) if feature_terms else generated_pair.new_zeros(()),
        "D_real": multiscale_gan_loss(gan, pred_real, True),
        "D_fake": multiscale_gan_loss(gan, pred_fake_pool, False),
    }


def feature_matching_terms(
    pred_fake: list[list[torch.Tensor]], pred_real: list[list[torch.Tensor]], n_layers: int, lambda_feat: float
) -> list[torch.Tensor]:
    """L1 between D's features of the generated and the real pair, every scale and layer but the last, weighted
    1/num_D per scale and 4/(n_layers+1) per layer as the reference (its float order, so its rounding too)."""
    import torch.nn.functional as F

    weight = (1.0 / len(pred_fake)) * (4.0 / (n_layers + 1))
    return [
        weight * F.l1_loss(fake, real.detach()) * lambda_feat
        for fake_scale, real_scale in zip(pred_fake, pred_real, strict=True)
        for fake, real in zip(fake_scale[:-1], real_scale[:-1], strict=True)
    ]


def upsampling(recipe) -> dict | None:
    """The generator's `arch_options` for the recipe's `--upsample`: none for the paper's transposed convolutions
    (so their config.json stays as it always was), else {"upsample": ...}."""
    return None if recipe.upsample == "basic" else {"upsample": recipe.upsample}
