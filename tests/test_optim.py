"""Learning-rate schedules: the reference's per-epoch rules (`networks.get_scheduler`), epoch by epoch."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, StepLR

from pix2pix_hub.methods.base import Recipe
from pix2pix_hub.training.optim import learning_rate_schedule

STEPS_PER_EPOCH = 3


def reference_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe):
    """The reference's `get_scheduler(optimizer, opt)` for `opt.lr_policy`, with its own arguments."""
    if recipe.lr_policy == "linear":

        def lambda_rule(epoch: int) -> float:  # opt.epoch_count = 1
            return 1.0 - max(0, epoch + 1 - recipe.epochs) / float(recipe.decay_epochs + 1)

        return LambdaLR(optimizer, lr_lambda=lambda_rule)
    if recipe.lr_policy == "step":
        return StepLR(optimizer, step_size=recipe.lr_decay_iters, gamma=0.1)
    return CosineAnnealingLR(optimizer, T_max=recipe.epochs, eta_min=0)


def rates_per_step(recipe: Recipe) -> list[float]:
    """The rate each optimisation step of the whole run uses, with our schedule stepped once per step."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=recipe.learning_rate)
    schedule = learning_rate_schedule(optimizer, recipe, STEPS_PER_EPOCH)
    rates = []
    for _ in range((recipe.epochs + recipe.decay_epochs) * STEPS_PER_EPOCH):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates


def reference_rates_per_epoch(recipe: Recipe) -> list[float]:
    """The reference's train.py: every step of an epoch at the same rate, the scheduler stepped at the epoch's end."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=recipe.learning_rate)
    scheduler = reference_scheduler(optimizer, recipe)
    rates = []
    for _ in range(recipe.epochs + recipe.decay_epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(epochs=4, decay_epochs=5),
        Recipe(epochs=1, decay_epochs=1),
        Recipe(epochs=3, decay_epochs=0),
        Recipe(epochs=7, decay_epochs=2, lr_policy="step", lr_decay_iters=3),
        Recipe(epochs=5, decay_epochs=3, lr_policy="cosine"),
    ],
    ids=lambda recipe: f"{recipe.lr_policy}-{recipe.epochs}+{recipe.decay_epochs}",
)
def test_schedule_equals_the_reference_epoch_by_epoch(recipe):
    ours = rates_per_step(recipe)
    for epoch, expected in enumerate(reference_rates_per_epoch(recipe)):
        in_epoch = ours[epoch * STEPS_PER_EPOCH : (epoch + 1) * STEPS_PER_EPOCH]
        assert in_epoch == pytest.approx([expected] * STEPS_PER_EPOCH, rel=1e-12, abs=1e-15), f"epoch {epoch + 1}"


def test_linear_schedule_ends_at_the_reference_rate_not_zero():
    recipe = Recipe(epochs=2, decay_epochs=3)
    assert rates_per_step(recipe)[-1] == pytest.approx(recipe.learning_rate / (recipe.decay_epochs + 1))


def test_per_step_decay_is_still_available():
    recipe = Recipe(epochs=1, decay_epochs=1, lr_policy="linear_per_step")
    rates = rates_per_step(recipe)
    assert rates[:STEPS_PER_EPOCH] == [recipe.learning_rate] * STEPS_PER_EPOCH
    decay = rates[STEPS_PER_EPOCH:]
    assert all(later < earlier for earlier, later in zip(decay, decay[1:], strict=False))
    assert math.isclose(decay[0], recipe.learning_rate)


def pix2pixhd_rates_per_epoch(recipe: Recipe) -> list[float]:
    """NVIDIA/pix2pixHD's train.py: after each epoch past niter, lr drops by lr0 / niter_decay."""
    rate, rates = recipe.learning_rate, []
    for epoch in range(1, recipe.epochs + recipe.decay_epochs + 1):
        rates.append(rate)
        if epoch > recipe.epochs:
            rate -= recipe.learning_rate / recipe.decay_epochs
    return rates


@pytest.mark.parametrize("epochs", [(3, 4), (1, 1), (2, 5)])
def test_pix2pixhd_schedule_equals_its_train_py_epoch_by_epoch(epochs):
    recipe = Recipe(epochs=epochs[0], decay_epochs=epochs[1], lr_policy="linear_hd")
    ours = rates_per_step(recipe)
    for epoch, expected in enumerate(pix2pixhd_rates_per_epoch(recipe)):
        in_epoch = ours[epoch * STEPS_PER_EPOCH : (epoch + 1) * STEPS_PER_EPOCH]
        assert in_epoch == pytest.approx([expected] * STEPS_PER_EPOCH, rel=1e-12, abs=1e-15), f"epoch {epoch + 1}"
