"""Training methods by name: `--method pix2pix` (the default). A method is one module (see `methods.base`).

The built-in names map to modules imported on demand; `--method package.module:ClassName` loads a method
defined anywhere on the Python path, so a new method needs no edit here to be trained.
"""

from __future__ import annotations

import importlib

from .base import Method

BUILT_IN = {
    "pix2pix": "pix2pix_hub.methods.pix2pix:Pix2Pix",
    "cyclegan": "pix2pix_hub.methods.cyclegan:CycleGAN",
    "pix2pixhd": "pix2pix_hub.methods.pix2pixhd:Pix2PixHD",
    "everybody_dance_now": "pix2pix_hub.methods.everybody_dance_now:EverybodyDanceNow",
    "bicyclegan": "pix2pix_hub.methods.bicyclegan:BicycleGAN",
}
ALIASES = {"cycle_gan": "cyclegan", "bicycle_gan": "bicyclegan"}  # the reference's --model names


def get_method(name: str) -> Method:
    """An instance of the method named `name` (a built-in name or `module:ClassName`)."""
    target = BUILT_IN.get(ALIASES.get(name, name), name)
    if ":" not in target:
        raise ValueError(
            f"--method {name!r} is not a built-in method ({', '.join(BUILT_IN)}) nor a 'module:ClassName' path"
        )
    module_name, _, class_name = target.partition(":")
    try:
        method_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"--method {name!r}: cannot load {target} ({error})") from error
    if not (isinstance(method_class, type) and issubclass(method_class, Method)):
        raise ValueError(f"--method {name!r}: {target} is not a pix2pix_hub.methods.base.Method subclass")
    return method_class()
