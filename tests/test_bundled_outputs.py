"""The bundled models translate the repo's examples exactly as they did before the method/machinery split.

`fixtures/bundled_outputs/` holds the outputs recorded at the commit named in its `cases.json`, for each bundled
model in both inference modes (PyTorch, float32, seeded) and on its default path (ONNX Runtime int8). The int8
cases were recorded again when the calibrations changed (each case says with which); the float32 ones never were.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests/fixtures/bundled_outputs/cases.json").read_text(encoding="utf-8"))["cases"]


def translate(case: dict) -> Image.Image:
    folder = ROOT / "weights" / case["model"]
    if case["backend"] == "torch":
        generator = Pix2PixGenerator.from_pretrained(folder)
        generator.inference_mode = case["inference_mode"]  # the recorded mode, whatever the config says
        pipe = Pix2PixPipeline(generator, backend="torch", precision=case["precision"])
    else:
        pipe = Pix2PixPipeline.from_pretrained(folder, precision=case["precision"])
    assert pipe.precision == case["precision"] and pipe.generator.inference_mode == case["inference_mode"]
    return pipe(ROOT / case["example"], seed=case["seed"])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["output"].removesuffix(".png"))
def test_bundled_model_output_is_unchanged_by_the_refactor(case):
    recorded = np.asarray(Image.open(ROOT / "tests/fixtures/bundled_outputs" / case["output"]).convert("RGB"))
    produced = np.asarray(translate(case).convert("RGB"))
    assert produced.shape == recorded.shape
    difference = np.abs(produced.astype(int) - recorded.astype(int))
    changed = np.count_nonzero(difference)
    assert changed == 0, f"{case['output']}: {changed} values differ, by up to {difference.max()}"
