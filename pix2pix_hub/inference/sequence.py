"""Video from a generator that sees its previous frame (Everybody Dance Now): frames made in order, each fed back.

The generator declares a "previous" input (kind "frame", `networks.registry`); the frames run through a `Runner`
(PyTorch, ONNX Runtime or int8, as the pipeline's images do) or through the module itself (training, evaluation).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .interface import inputs_of
from .runner import Runner

PREVIOUS = "previous"


def frame_step(model: Runner | nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """(pose, previous frame) -> frame, for a runner or a generator module that declares a "previous" input (or,
    saved before inputs had names, takes the two stacked: pix2pixHD's global arch with 6 channels in)."""
    inputs = model.inputs if isinstance(model, Runner) else inputs_of(model)
    generator = model.generator if isinstance(model, Runner) else model
    if len(inputs) == 1 and inputs[0].channels == 2 * generator.out_channels:  # saved before inputs had names
        run = (lambda x: model.run({"source": x})) if isinstance(model, Runner) else model
        return lambda pose, previous: run(torch.cat([pose, previous], 1))
    if PREVIOUS not in [item.name for item in inputs]:
        name = getattr(model, "arch", type(model).__name__)
        raise ValueError(
            f"{name} does not take the previous frame: a video generator declares a 'previous' input "
            "(an Everybody Dance Now model: arch global_previous_frame)"
        )
    if isinstance(model, Runner):
        return lambda pose, previous: model.run({"source": pose, PREVIOUS: previous})
    return lambda pose, previous: model(pose, previous)


def generate_sequence(
    model: Runner | nn.Module,
    poses: torch.Tensor,
    previous: torch.Tensor | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Frames for poses (T, C, H, W) in order, each generated from its pose and the frame generated before it
    (`previous`, default zeros, before the first); `on_frame(t)` is called after each (a progress bar)."""
    step = frame_step(model)
    frames = []
    out_channels = model.generator.out_channels if isinstance(model, Runner) else model.out_channels
    previous = torch.zeros(1, out_channels, *poses.shape[-2:]) if previous is None else previous
    for index, pose in enumerate(poses):
        previous = step(pose[None], previous.to(pose.device))
        frames.append(previous[0])
        if on_frame is not None:
            on_frame(index)
    return torch.stack(frames)
