import math

import pytest
import torch
from torch import nn

from pix2pix_hub.losses import GANLoss, gradient_penalty, l1_loss


def test_vanilla_gan_loss_is_binary_cross_entropy_on_logits():
    loss = GANLoss("vanilla")
    zeros = torch.zeros(2, 1, 30, 30)
    assert loss(zeros, True).item() == pytest.approx(math.log(2))
    logits = torch.tensor([[[[2.0]]]])
    assert loss(logits, True).item() == pytest.approx(math.log1p(math.exp(-2.0)))
    assert loss(logits, False).item() == pytest.approx(math.log1p(math.exp(2.0)))


def test_lsgan_loss_is_mean_squared_distance_to_the_label():
    logits = torch.tensor([0.5, -1.0, 2.0])
    assert GANLoss("lsgan")(logits, True).item() == pytest.approx(((logits - 1) ** 2).mean().item())
    assert GANLoss("lsgan")(logits, False).item() == pytest.approx((logits**2).mean().item())


def test_wgangp_critic_loss_is_the_signed_mean_score():
    scores = torch.tensor([1.0, 3.0])
    assert GANLoss("wgangp")(scores, True).item() == -2.0
    assert GANLoss("wgangp")(scores, False).item() == 2.0


def test_unknown_gan_mode_is_named():
    with pytest.raises(ValueError, match="hinge"):
        GANLoss("hinge")


def test_gradient_penalty_of_a_linear_critic_is_its_weight_norm_minus_one_squared():
    torch.manual_seed(0)
    critic = nn.Conv2d(6, 1, kernel_size=4, bias=False)  # D(x) = <w, x>: gradient w everywhere
    real, fake = torch.randn(3, 6, 4, 4), torch.randn(3, 6, 4, 4)
    expected = 10.0 * (critic.weight.norm().item() - 1.0) ** 2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_trains_the_critic_through_second_order_gradients():
    critic = nn.Conv2d(6, 1, kernel_size=4, bias=False)
    gradient_penalty(critic, torch.randn(2, 6, 4, 4), torch.randn(2, 6, 4, 4)).backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_l1_term_is_weighted_by_lambda_100_by_default():
    output, target = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
    assert l1_loss(output, target).item() == pytest.approx(50.0)
    assert l1_loss(output, target, weight=1.0).item() == pytest.approx(0.5)
