"""A model for the browser: its exact test-time ONNX graphs and a small JSON that says how a web page runs them.

`export_web_model` writes, into one folder, what `web/` (ONNX Runtime Web, wasm) needs and nothing that needs a
server: `float32.onnx` (the graph the Python runner builds, rewrites included), `int8.onnx` where the model's int8
calibration applies (the same quantized graph `precision="int8"` runs), and `model.json` (input size, channels,
inference mode, the graphs' inputs, dropout mask shapes for "paper" mode, latent codes, the sketch brushes).
`write_site_index` lists the exported models for the page and `copy_runtime` copies the three onnxruntime-web files
it loads, so the export folder next to `web/` is a complete static site.

Paper-mode dropout masks and latent codes are inputs, drawn by the page from a seed with mulberry32 (a 32-bit
counter hash, the same in JS and in numpy here: `draw_web_masks`, `draw_web_latents`), so the browser's output for
a seed can be reproduced in Python.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..hub import atomic_write_bytes, atomic_write_text
from ..networks import LATENT, Pix2PixGenerator
from .fast.int8 import MIN_PSNR, find_calibration
from .fast.onnx import export_to_onnx
from .interface import input_size, inputs_of
from .paper_mode import paper_mode_network

WEB_FORMAT = "pix2pix-hub-web"
WEB_FORMAT_VERSION = 1
MODEL_JSON = "model.json"
INDEX_JSON = "index.json"
GRAPH_FILES = {"float32": "float32.onnx", "int8": "int8.onnx"}
WEB_PRECISIONS = ("auto", "float32", "int8")
RUNTIME_FOLDER = "runtime"
# What the page's `import("runtime/ort.wasm.min.mjs")` loads: the wasm-only bundle, its loader and the binary.
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
EXAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png")
_MULBERRY_STEP = np.uint32(0x6D2B79F5)
LATENT_SALT = 0x9E3779B9  # latent codes come from mulberry32(seed ^ LATENT_SALT), masks from mulberry32(seed)


def mulberry32(seed: int, count: int, start: int = 0) -> np.ndarray:
    """Draws `start` .. `start + count - 1` of mulberry32(seed) as floats in [0, 1): web/translator.js's stream."""
    with np.errstate(over="ignore"):
        steps = np.arange(start + 1, start + count + 1, dtype=np.uint64).astype(np.uint32)
        a = np.uint32(seed & 0xFFFFFFFF) + steps * _MULBERRY_STEP
        t = (a ^ (a >> np.uint32(15))) * (a | np.uint32(1))
        t = (t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61))) ^ t
        return (t ^ (t >> np.uint32(14))).astype(np.float64) / 2.0**32


def draw_web_masks(shapes: list[list[int]], probabilities: list[float], seed: int) -> list[np.ndarray]:
    """The page's dropout masks for one image: keep where a draw < 1 - p, scaled by 1 / (1 - p), layer after layer."""
    masks, drawn = [], 0
    for shape, probability in zip(shapes, probabilities, strict=True):
        count = int(np.prod(shape))
        keep = mulberry32(seed, count, drawn) < 1 - probability
        scale = np.float32(1) / np.float32(1 - probability)
        masks.append((keep.astype(np.float32) * scale).reshape(shape))
        drawn += count
    return masks


def draw_web_latents(channels: list[int], seed: int) -> list[np.ndarray]:
    """The page's latent codes for one image, input after input: N(0, 1) by Box-Muller, float32 (1, C) each."""
    draws = mulberry32(seed ^ LATENT_SALT, 2 * sum(channels))
    normal = np.sqrt(-2 * np.log(1 - draws[0::2])) * np.cos(2 * np.pi * draws[1::2])
    ends = np.cumsum(channels)
    return [normal[end - count : end].astype(np.float32)[None] for count, end in zip(channels, ends, strict=True)]


def _latent_facts(generator) -> list[dict[str, Any]] | None:
    """The generator's latent inputs (name, channels) that the page draws; refuses inputs a page cannot give."""
    inputs = inputs_of(generator)
    unsupported = [item.name for item in inputs[1:] if item.kind != LATENT]
    if unsupported:
        raise ValueError(
            f"{generator.arch} takes {', '.join(unsupported)} beside the image: the web page gives an image and "
            "latent codes only (a video generator runs in Python: pix2pix_hub.inference.sequence)"
        )
    latents = [{"name": item.name, "channels": item.channels} for item in inputs if item.kind == LATENT]
    return latents or None


def _graph_entry(folder: Path, precision: str, graph: bytes) -> dict[str, Any]:
    """Write one graph and describe it (file, size, checksum) for model.json."""
    name = GRAPH_FILES[precision]
    atomic_write_bytes(folder / name, graph)
    return {"file": name, "bytes": len(graph), "sha256": hashlib.sha256(graph).hexdigest()}


def _int8_graph(repo_or_dir: str | Path, generator, size, float_graph: bytes, precision: str, hub_kwargs) -> tuple:
    """(the int8 graph, its calibration facts) where the model's calibration applies; (None, why not) otherwise."""
    if precision == "float32":
        return None, "not asked for (--precision float32)"
    calibration = find_calibration(repo_or_dir, **hub_kwargs)
    why_not = "the model has no int8 calibration (python -m pix2pix_hub.calibrate_int8 makes one)"
    if calibration is not None:
        why_not = calibration.mismatch(generator, size)
    if why_not is not None:
        if precision == "int8":
            raise ValueError(f"{repo_or_dir}: no int8 graph for the browser: {why_not}")
        return None, why_not
    facts = {
        "float_levels": calibration.float_levels,
        "float_convs": calibration.float_convs,
        "min_psnr_db": MIN_PSNR,
        "validation": calibration.validation,
    }
    return calibration.quantize(float_graph), facts


def _dropout_facts(generator, size: tuple[int, int]) -> tuple[dict[str, Any] | None, Any]:
    """For "paper" mode: each mask input's name, (1, C, H, W) shape and drop probability, and the network that
    takes them; (None, None) in "eval" mode."""
    paper = paper_mode_network(generator)
    if paper is None:
        return None, None
    shapes = [[1, *shape] for shape in paper.mask_shapes(*size)]
    return {
        "inputs": [f"mask{index}" for index in range(len(shapes))],
        "shapes": shapes,
        "probabilities": [dropout.probability for dropout in paper.dropouts],
        "rng": "mulberry32",
    }, paper


def _check_names(task: str, examples: list[Path]) -> None:
    """Refuse, before any export work, a task name that is not a plain folder name and examples that are not images."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", task):
        raise ValueError(
            f"task name {task!r}: use letters, digits, '_', '-' and '.' only (it names a folder and a URL)"
        )
    for path in examples:
        if not path.is_file() or path.suffix.lower() not in EXAMPLE_SUFFIXES:
            raise ValueError(f"{path}: not an example image (a .jpg, .jpeg or .png file)")


def _copy_examples(examples: list[Path], folder: Path) -> list[str]:
    """Copy example inputs next to the model (the page's "random example"), as paths relative to model.json."""
    names = []
    for index, path in enumerate(examples, start=1):
        name = f"examples/{index}{path.suffix.lower()}"
        atomic_write_bytes(folder / name, path.read_bytes())
        names.append(name)
    return names


def export_web_model(
    repo_or_dir: str | Path,
    out_dir: str | Path,
    task: str,
    sketch: dict[str, Any] | None = None,
    examples: list[Path] = (),
    precision: str = "auto",
    title: str | None = None,
    **hub_kwargs,
) -> dict[str, Any]:
    """Write `out_dir/task/` (graphs, model.json, examples) for the page; returns what model.json holds. `title` is
    what the page calls the task (default: its name).

    The size is the int8 calibration's where there is one (the size it was validated at), else the arch's native
    size; `precision="auto"` adds the int8 graph where the calibration applies, "int8" insists on it.
    """
    if precision not in WEB_PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(WEB_PRECISIONS)}")
    examples = [Path(path) for path in examples]
    _check_names(task, examples)
    generator = Pix2PixGenerator.from_pretrained(repo_or_dir, **hub_kwargs).eval()
    calibration = find_calibration(repo_or_dir, **hub_kwargs)
    size = input_size(generator, calibration.image_size if calibration is not None else None)
    dropout, paper = _dropout_facts(generator, size)
    latents = _latent_facts(generator)
    folder = Path(out_dir) / task
    float_graph = export_to_onnx(generator, paper, size)
    int8_graph, int8_facts = _int8_graph(repo_or_dir, generator, size, float_graph, precision, hub_kwargs)
    graphs = {"float32": _graph_entry(folder, "float32", float_graph)}
    if int8_graph is not None:
        graphs["int8"] = _graph_entry(folder, "int8", int8_graph) | {"calibration": int8_facts}
    else:
        (folder / GRAPH_FILES["int8"]).unlink(missing_ok=True)
    model = {
        "format": WEB_FORMAT,
        "version": WEB_FORMAT_VERSION,
        "task": task,
        "title": title or task,
        "source": str(repo_or_dir) + (f" ({hub_kwargs['subfolder']})" if hub_kwargs.get("subfolder") else ""),
        "arch": generator.arch,
        "height": size[0],
        "width": size[1],
        "in_channels": generator.in_channels,
        "out_channels": generator.out_channels,
        "inference_mode": generator.inference_mode,
        "input": "source",
        "output": "output",
        "dropout": dropout,
        "latents": latents,
        "graphs": graphs,
        "int8_unavailable": None if int8_graph is not None else int8_facts,
        "sketch": sketch or {"kind": "photo"},
        "examples": _copy_examples(examples, folder),
    }
    atomic_write_text(folder / MODEL_JSON, json.dumps(model, indent=1))
    return model


def write_site_index(out_dir: str | Path, runtime_version: str) -> dict[str, Any]:
    """List every exported model folder under `out_dir` in index.json (the page's model picker)."""
    out_dir = Path(out_dir)
    models = []
    for path in sorted(out_dir.glob(f"*/{MODEL_JSON}")):
        model = json.loads(path.read_text(encoding="utf-8"))
        if model.get("format") == WEB_FORMAT:
            title = model.get("title", model["task"])
            models.append({"task": model["task"], "title": title, "path": f"{path.parent.name}/{MODEL_JSON}"})
    index = {"format": WEB_FORMAT, "version": WEB_FORMAT_VERSION, "onnxruntime_web": runtime_version, "models": models}
    atomic_write_text(out_dir / INDEX_JSON, json.dumps(index, indent=1))
    return index


def find_runtime(dist: str | Path) -> str:
    """Check that onnxruntime-web's npm `dist` folder holds the files the page loads; returns the package version."""
    dist = Path(dist)
    missing = [name for name in RUNTIME_FILES if not (dist / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{dist}: no onnxruntime-web runtime here (missing {', '.join(missing)}); run `npm ci --prefix web` "
            "in the repository, or pass --runtime PATH/node_modules/onnxruntime-web/dist"
        )
    package = dist.parent / "package.json"
    return json.loads(package.read_text(encoding="utf-8"))["version"] if package.is_file() else "unknown"


def copy_runtime(dist: str | Path, out_dir: str | Path) -> str:
    """Copy onnxruntime-web's wasm files from its npm `dist` folder into `out_dir/runtime`; returns its version."""
    version = find_runtime(dist)
    target = Path(out_dir) / RUNTIME_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_FILES:
        shutil.copyfile(Path(dist) / name, target / name)
    return version
