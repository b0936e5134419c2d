"""The bundled models translate the repo's examples exactly as they did before a refactor.

`fixtures/bundled_outputs/` holds the outputs recorded at the commit named in its `cases.json`, for every bundled
model: PyTorch float32 in its inference mode(s), seeded; its default path (ONNX Runtime, int8 where calibrated); the
`full` and `tiled` modes; the Dance subject's frames, each made from the one before. On the CPU they were recorded
on (`recorded_on`) every value must match. On another CPU oneDNN's float32 convolutions may sum in another order
(the reference parity tests meet the same), so an output value may round the other way: there up to
`OTHER_CPU_FLIPS` of the values may differ, by 1 of 255, and no more.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.images import image_to_tensor, tensor_to_image
from pix2pix_hub.inference.fast.int8 import find_calibration
from pix2pix_hub.inference.pipeline import Tiling
from pix2pix_hub.inference.runner import Runner
from pix2pix_hub.inference.sequence import generate_sequence

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests/fixtures/bundled_outputs/cases.json").read_text(encoding="utf-8"))["cases"]


def translate(case: dict) -> Image.Image:
    """The case's output: one image through the pipeline, or (a "sequence" case) the Dance subject's frames from
    the case's poses, side by side."""
    if case.get("kind") == "sequence":
        return dance(case)
    folder = ROOT / "weights" / case["model"]
    mode = case.get("mode", "resize")
    any_size = {
        "scale": case.get("scale", 1.0),
        "tiling": Tiling(case["tile"], case["overlap"]) if "tile" in case else None,
    }
    if case["backend"] == "torch":
        generator = Pix2PixGenerator.from_pretrained(folder)
        generator.inference_mode = case["inference_mode"]  # the recorded mode, whatever the config says
        pipe = Pix2PixPipeline(generator, backend="torch", precision=case["precision"], mode=mode, **any_size)
    else:
        pipe = Pix2PixPipeline.from_pretrained(folder, precision=case["precision"], mode=mode, **any_size)
    assert pipe.precision == case["precision"] and pipe.generator.inference_mode == case["inference_mode"]
    return pipe(ROOT / case["example"], seed=case["seed"])


def dance(case: dict) -> Image.Image:
    """The bundled Dance subject performing the case's stick figures in order, each frame fed the one before."""
    folder = ROOT / "weights" / case["model"]
    size = json.loads((folder / "dance.json").read_text(encoding="utf-8"))["size"]
    calibration = find_calibration(folder) if case["precision"] == "int8" else None
    runner = Runner(
        Pix2PixGenerator.from_pretrained(folder),
        size=size,
        backend=case["backend"],
        precision=case["precision"],
        int8_calibration=calibration,
    )
    assert runner.precision == case["precision"]
    poses = [
        Image.open(ROOT / path).convert("RGB").resize((size, size), Image.Resampling.BICUBIC) for path in case["poses"]
    ]
    frames = generate_sequence(runner, torch.stack([image_to_tensor(pose) for pose in poses]))
    return Image.fromarray(np.concatenate([np.asarray(tensor_to_image(frame)) for frame in frames], axis=1))


def cpu_signature() -> str:
    """The CPU's model name and the instruction sets that choose oneDNN's float32 kernels."""
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").is_file() else ""
    fields = dict(line.split(":", 1) for line in cpuinfo.splitlines() if ":" in line)
    flags = set(fields.get("flags\t\t", fields.get("flags", "")).split())
    extensions = [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if flag in flags]
    name = fields.get("model name\t", fields.get("model name", "unknown")).strip()
    return f"{name} ({' '.join(extensions)}; torch {torch.backends.cpu.get_cpu_capability()})"


RECORDED_ON = json.loads((ROOT / "tests/fixtures/bundled_outputs/cases.json").read_text(encoding="utf-8"))[
    "recorded_on"
]
OTHER_CPU_FLIPS = 1e-4  # a share of the output values, each off by one


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["output"].removesuffix(".png"))
def test_bundled_model_output_is_unchanged_by_the_refactor(case):
    recorded = np.asarray(Image.open(ROOT / "tests/fixtures/bundled_outputs" / case["output"]).convert("RGB"))
    produced = np.asarray(translate(case).convert("RGB"))
    assert produced.shape == recorded.shape
    difference = np.abs(produced.astype(int) - recorded.astype(int))
    changed = np.count_nonzero(difference)
    if cpu_signature() == RECORDED_ON:
        assert changed == 0, f"{case['output']}: {changed} values differ, by up to {difference.max()}"
    else:
        assert difference.max() <= 1 and changed <= OTHER_CPU_FLIPS * difference.size, (
            f"{case['output']}: {changed} values differ, by up to {difference.max()} (recorded on {RECORDED_ON})"
        )
