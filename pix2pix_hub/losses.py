"""The pix2pix objective: a conditional GAN loss (vanilla, LSGAN or WGAN-GP) plus lambda * L1 (paper eq. 4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GAN_MODES = ("vanilla", "lsgan", "wgangp")


class GANLoss(nn.Module):
    """Adversarial loss on PatchGAN logits against an all-real or all-fake target.

    vanilla: binary cross-entropy on logits (the paper); lsgan: least squares (Mao et al. 2017);
    wgangp: the critic's mean score, to be paired with `gradient_penalty` (Gulrajani et al. 2017).
    """

    def __init__(self, gan_mode: str = "vanilla", real_label: float = 1.0, fake_label: float = 0.0):
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f"gan_mode={gan_mode!r} is not supported; choose one of {', '.join(GAN_MODES)}")
        self.gan_mode = gan_mode
        self.real_label, self.fake_label = real_label, fake_label

    def forward(self, logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        if self.gan_mode == "wgangp":
            return -logits.mean() if target_is_real else logits.mean()
        target = torch.full_like(logits, self.real_label if target_is_real else self.fake_label)
        if self.gan_mode == "lsgan":
            return F.mse_loss(logits, target)
        return F.binary_cross_entropy_with_logits(logits, target)


def gradient_penalty(
    discriminator: nn.Module,
    real_pair: torch.Tensor,
    fake_pair: torch.Tensor,
    weight: float = 10.0,
) -> torch.Tensor:
    """WGAN-GP: weight * E[(||grad D(x_hat)||_2 - 1)^2] at random interpolates of real and fake pairs."""
    alpha = torch.rand(real_pair.shape[0], 1, 1, 1, device=real_pair.device, dtype=real_pair.dtype)
    interpolates = (alpha * real_pair + (1 - alpha) * fake_pair.detach()).requires_grad_(True)
    scores = discriminator(interpolates)
    (gradients,) = torch.autograd.grad(
        outputs=scores, inputs=interpolates, grad_outputs=torch.ones_like(scores), create_graph=True
    )
    gradient_norm = gradients.flatten(1).norm(2, dim=1)
    return weight * ((gradient_norm - 1) ** 2).mean()


def l1_loss(output: torch.Tensor, target: torch.Tensor, weight: float = 100.0) -> torch.Tensor:
    """The reconstruction term, weighted by lambda (100 in the paper)."""
    return weight * F.l1_loss(output, target)
