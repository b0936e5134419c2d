"""The networks, each family in its own module, all found through the registry (`create_generator("unet_256")`)."""

from . import bicyclegan, pix2pixhd, resnet, unet  # noqa: F401  (each family registers its variants on import)
from .bicyclegan import LatentEncoder, LatentUNet, MultiScalePatchDiscriminator
from .blocks import NORMS, ConvNormAct, init_weights, make_norm
from .discriminators import PatchDiscriminator
from .generator import INFERENCE_MODES, PIX2PIX_PAPER_URL, Pix2PixGenerator
from .pix2pixhd import GlobalGenerator, LocalEnhancer, MultiscaleDiscriminator
from .reference import load_reference_state_dict
from .registry import (
    FRAME,
    IMAGE,
    LATENT,
    MASK,
    GeneratorInput,
    create_discriminator,
    create_generator,
    declared_inputs,
    list_discriminators,
    list_generators,
    register_discriminator,
    register_generator,
    source_input,
)
from .resnet import ResnetGenerator
from .unet import UNet

__all__ = [
    "FRAME",
    "IMAGE",
    "LATENT",
    "MASK",
    "GeneratorInput",
    "declared_inputs",
    "source_input",
    "INFERENCE_MODES",
    "NORMS",
    "PIX2PIX_PAPER_URL",
    "ConvNormAct",
    "GlobalGenerator",
    "LatentEncoder",
    "LatentUNet",
    "MultiScalePatchDiscriminator",
    "LocalEnhancer",
    "MultiscaleDiscriminator",
    "PatchDiscriminator",
    "Pix2PixGenerator",
    "ResnetGenerator",
    "UNet",
    "create_discriminator",
    "create_generator",
    "init_weights",
    "list_discriminators",
    "list_generators",
    "load_reference_state_dict",
    "make_norm",
    "register_discriminator",
    "register_generator",
]
