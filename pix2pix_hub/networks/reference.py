"""Reading the reference implementation's checkpoints: its recursive layer names mapped onto our flat ones."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn
from torch.nn.modules.instancenorm import _InstanceNorm

NORM_STATISTICS = {"running_mean", "running_var", "num_batches_tracked"}


def load_reference_file(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a bad or non-tensor pickle
        raise ValueError(f"{path}: not a loadable PyTorch state dict ({error})") from error
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f"{path}: expected a state dict of tensors (torch.save(net.state_dict()))")
    # DataParallel checkpoints prefix every key with "module."
    return {key.removeprefix("module."): value for key, value in state_dict.items()}


def _numeric_order(name: str) -> tuple:
    layer = name.rpartition(".")[0]
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in layer.split("."))


def _group_by_layer(names: list[str]) -> list[tuple[str, list[str]]]:
    """Group tensor names by their owning layer, keeping first-appearance order."""
    groups: dict[str, list[str]] = {}
    for name in names:
        layer, _, leaf = name.rpartition(".")
        groups.setdefault(layer, []).append(leaf)
    return list(groups.items())


def _without_instance_norm_statistics(model: nn.Module, names: list[str]) -> list[str]:
    """Drop the running statistics that InstanceNorm layers saved before PyTorch 0.4, as the reference does on load.

    Old checkpoints (the released CycleGAN models among them) hold `running_mean`/`running_var` (and later
    `num_batches_tracked`) for each InstanceNorm; the reference's `__patch_instance_norm_state_dict` removes them,
    since its InstanceNorm keeps none. A layer holding nothing but these is such a norm (a BatchNorm also holds its
    weight and bias), and has no counterpart where our model's InstanceNorms are parameter-free.
    """
    if not any(isinstance(layer, _InstanceNorm) and not layer.track_running_stats for layer in model.modules()):
        return names
    statistics_only = {layer for layer, leaves in _group_by_layer(names) if set(leaves) <= NORM_STATISTICS}
    return [name for name in names if name.rpartition(".")[0] not in statistics_only]


def reference_key_map(model: nn.Module, reference_keys: Iterable[str], source: str = "checkpoint") -> dict[str, str]:
    """Our state-dict key -> the reference's, by layer order, to load its checkpoints and compare against its tensors.

    Both implementations register their layers in forward order, so the i-th layer holding tensors in the
    reference is the i-th in ours; names differ, kinds must not. The reference's layer order is its names in
    numeric order (`model.model.1.model.3` comes after `model.model.1.model.2`), whatever order the keys come in.
    Pre-0.4 InstanceNorm statistics are left out (`_without_instance_norm_statistics`).
    """
    ours = _group_by_layer(list(model.state_dict()))
    names = _without_instance_norm_statistics(model, sorted(reference_keys, key=_numeric_order))
    theirs = _group_by_layer(names)
    if len(ours) != len(theirs):
        raise ValueError(
            f"{source}: has {len(theirs)} layers with weights, {type(model).__name__}"
            f"({_describe(model)}) has {len(ours)}; pass the constructor arguments the checkpoint was trained with"
        )
    key_map = {}
    for (our_layer, our_leaves), (their_layer, their_leaves) in zip(ours, theirs, strict=True):
        if sorted(our_leaves) != sorted(their_leaves):
            raise ValueError(
                f"{source}: layer {their_layer} holds {sorted(their_leaves)} but {our_layer} expects "
                f"{sorted(our_leaves)}; is the norm ({_describe(model)}) right?"
            )
        key_map.update({f"{our_layer}.{leaf}": f"{their_layer}.{leaf}" for leaf in our_leaves})
    return key_map


def load_reference_state_dict(model: nn.Module, reference: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Copy a reference-implementation state dict into `model` (layers matched by `reference_key_map`)."""
    own_state = model.state_dict()
    translated = {}
    for ours, theirs in reference_key_map(model, reference, source).items():
        tensor, expected = reference[theirs], own_state[ours]
        if tensor.shape != expected.shape:
            raise ValueError(
                f"{source}: {theirs} has shape {tuple(tensor.shape)}, expected "
                f"{tuple(expected.shape)} for {_describe(model)}; check arch, channels and ngf/ndf"
            )
        translated[ours] = tensor
    model.load_state_dict(translated, strict=True)


def _describe(model: nn.Module) -> str:
    config = getattr(model, "_hub_mixin_config", None) or {}
    return ", ".join(f"{key}={value!r}" for key, value in sorted(config.items()))
