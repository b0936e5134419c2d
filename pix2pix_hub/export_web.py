"""Export a model for the browser page in `web/` (ONNX Runtime Web; see `pix2pix_hub.inference.web`).

    python -m pix2pix_hub.export_web --model weights/facades_label2photo --out web/models --palette facades \\
        --examples examples/facades_label2photo

Writes OUT/<task>/ (float32.onnx, int8.onnx where the model's int8 calibration applies, model.json, examples/),
OUT/index.json (every model exported into OUT) and OUT/runtime/ (onnxruntime-web's wasm files, copied from
`web/node_modules` after `npm ci --prefix web`). With `--out web/models`, `web/` is then a static site.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .inference.web import (
    EXAMPLE_SUFFIXES,
    WEB_PRECISIONS,
    copy_runtime,
    export_web_model,
    find_runtime,
    write_site_index,
)
from .palettes import CITYSCAPES_CLASSES, FACADE_CLASSES, MAP_CLASSES, LabelClass

PALETTES: dict[str, tuple[LabelClass, ...]] = {
    "facades": FACADE_CLASSES,
    "maps": MAP_CLASSES,
    "cityscapes": CITYSCAPES_CLASSES,
}
DEFAULT_RUNTIME = Path(__file__).resolve().parent.parent / "web" / "node_modules" / "onnxruntime-web" / "dist"
PEN = {"kind": "edges", "pen": [0, 0, 0], "background": [255, 255, 255], "width": 3}


def labels_sketch(palette: tuple[LabelClass, ...]) -> dict[str, Any]:
    """The sketch brushes of a label-map task: its classes (background first) in the colours its data holds."""
    return {
        "kind": "labels",
        "palette": [{"name": label.name, "color": list(label.color)} for label in palette],
        "background": list(palette[0].color),
    }


def example_files(folder_or_files: list[str]) -> list[Path]:
    """Example inputs: files as given, or a folder's `*_input.*` images (the layout of `examples/<task>/`)."""
    found: list[Path] = []
    for entry in map(Path, folder_or_files):
        if entry.is_dir():
            inputs = sorted(p for p in entry.glob("*_input.*") if p.suffix.lower() in EXAMPLE_SUFFIXES)
            found += inputs or sorted(p for p in entry.iterdir() if p.suffix.lower() in EXAMPLE_SUFFIXES)
        elif entry.is_file():
            found.append(entry)
        else:
            raise FileNotFoundError(f"--examples {entry}: no such file or folder")
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pix2pix_hub.export_web", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", required=True, help="a model folder or Hub repo id (save_pretrained layout)")
    parser.add_argument("--subfolder", default=None, help="the model inside it (a CycleGAN's AtoB or BtoA)")
    parser.add_argument("--out", required=True, type=Path, help="the export folder (web/models for web/ itself)")
    parser.add_argument("--task", default=None, help="the task's name, in ?task= (default: the model folder's name)")
    parser.add_argument("--title", default=None, help="what the page calls it, e.g. 'Facades: labels → photo'")
    brushes = parser.add_mutually_exclusive_group()
    brushes.add_argument("--palette", choices=sorted(PALETTES), help="label-map brushes (pix2pix_hub/palettes.py)")
    brushes.add_argument("--pen", action="store_true", help="a black pen on white paper (edge maps)")
    parser.add_argument("--examples", nargs="*", default=[], help="example inputs: files or an examples/<task> folder")
    parser.add_argument("--precision", default="auto", choices=WEB_PRECISIONS, help="auto: int8 too where calibrated")
    parser.add_argument("--runtime", type=Path, default=DEFAULT_RUNTIME, help="onnxruntime-web's npm dist folder")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        export(args)
    except (FileNotFoundError, ValueError, OSError) as error:
        raise SystemExit(f"export_web: {error}") from error


def export(args: argparse.Namespace) -> None:
    """Copy the runtime, export the model, list it in the folder's index, and say what was written."""
    task = args.task or "_".join(part for part in (Path(args.model).name, args.subfolder) if part)
    sketch = labels_sketch(PALETTES[args.palette]) if args.palette else PEN if args.pen else None
    find_runtime(args.runtime)  # before the export's seconds: a missing `npm ci` is said at once
    hub_kwargs = {"subfolder": args.subfolder} if args.subfolder else {}
    model = export_web_model(
        args.model, args.out, task, sketch, example_files(args.examples), args.precision, args.title, **hub_kwargs
    )
    write_site_index(args.out, copy_runtime(args.runtime, args.out))
    sizes = ", ".join(f"{name} {graph['bytes'] / 1e6:.1f} MB" for name, graph in model["graphs"].items())
    print(f"{args.out / task}: {model['height']}x{model['width']} {model['inference_mode']} mode, {sizes}")
    if "int8" not in model["graphs"]:
        print(f"no int8 graph: {model['int8_unavailable']}")


if __name__ == "__main__":
    main()
