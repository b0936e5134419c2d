"""pix2pix (Isola et al., CVPR 2017) for the Hugging Face ecosystem."""

from .models import PatchDiscriminator, Pix2PixGenerator
from .pipeline import Pix2PixPipeline

__all__ = ["PatchDiscriminator", "Pix2PixGenerator", "Pix2PixPipeline"]
__version__ = "0.1.0"
