"""A tiny BicycleGAN Hub folder for the tests (G at its top, E in `encoder/`), written in a second, untrained.

Its weights are drawn from N(0, 0.2), not the paper's near-zero init, so that z and the photo given to E visibly
change the output: the init's outputs are a flat grey that no code moves by a whole 8-bit level.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pix2pix_hub.networks import LatentEncoder, Pix2PixGenerator

NZ = 8
SIZE = 128  # bicycle_unet_128 and resnet_128: the smallest pair


def spread_weights(module: torch.nn.Module) -> None:
    """Every weight matrix and kernel drawn from N(0, 0.2) (biases and norms as built)."""
    for parameter in module.parameters():
        if parameter.ndim > 1:
            torch.nn.init.normal_(parameter, std=0.2)


def write_tiny_bicyclegan(folder: Path, seed: int = 0, encoder: bool = True) -> Path:
    """G (`bicycle_unet_128`, ngf 4, z of 8 numbers at every level) and, with `encoder`, E (`resnet_128`, nef 8)."""
    torch.manual_seed(seed)
    options = {"nz": NZ, "where_add": "all", "upsample": "basic", "nl": "relu"}
    generator = Pix2PixGenerator("bicycle_unet_128", 3, 3, 4, "instance", False, "eval", options)
    spread_weights(generator)
    generator.save_pretrained(folder)
    if encoder:
        latent_encoder = LatentEncoder("resnet_128", 3, NZ, 8, "instance")
        spread_weights(latent_encoder)
        latent_encoder.save_pretrained(Path(folder) / "encoder")
    return Path(folder)
