"""pix2pix (Isola et al., CVPR 2017) for the Hugging Face ecosystem."""

from .inference.pipeline import Pix2PixPipeline
from .networks import PatchDiscriminator, Pix2PixGenerator

__all__ = ["PatchDiscriminator", "Pix2PixGenerator", "Pix2PixPipeline"]
__version__ = "0.1.0"
