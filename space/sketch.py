"""The sketch canvas, one for every tab that draws an input (Sketch, Many ways): its size and the task's brushes."""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image

from .tasks import Task

SKETCH_SIZE = 512  # the canvas, in image pixels: twice the model's 256, so a 1-pixel-radius pen gives its 1-pixel edges
SKETCH_HEIGHT = 574  # px: the editor shows the 512-px canvas at 100% (1-px pen lines crisp, not dashed by scaling)
CANVAS_CLASS = "sketch-canvas"  # margin_strokes.js and the page's CSS find every canvas by it


def sketch_props(task: Task, background: str | None = None) -> dict[str, Any]:
    """A blank canvas in the task's background colour (or an example to edit), with the task's brushes."""
    eraser = gr.Eraser(default_size=24)
    if task.input_kind == "labels":
        brush = gr.Brush(
            colors=[label.hex for label in task.palette],
            default_color=task.starting_brush.hex,
            color_mode="fixed",
            default_size=24,
        )
    elif task.input_kind == "edges":  # 4 px lines here, solid on screen; inked as 1 px lines at 256 like the data's
        brush = gr.Brush(colors=["#000000"], default_color="#000000", color_mode="fixed", default_size=2)
        eraser = gr.Eraser(default_size=8)
    elif task.input_kind == "grayscale":
        brush = gr.Brush(colors=["#000000", "#808080", "#ffffff"], default_color="#000000", default_size=6)
    else:
        brush = gr.Brush(default_size=16)
    canvas = background or Image.new("RGB", (SKETCH_SIZE, SKETCH_SIZE), task.background)
    return {"value": {"background": canvas, "layers": [], "composite": None}, "brush": brush, "eraser": eraser}


def sketch_editor(task: Task, elem_id: str) -> gr.ImageEditor:
    """The canvas at its own scale (crisp 1-pixel pen lines), fixed in size, one layer, no transforms."""
    return gr.ImageEditor(
        **sketch_props(task),
        label="Sketch",
        type="pil",
        image_mode="RGB",
        format="png",
        sources=["upload"],
        transforms=[],
        canvas_size=(SKETCH_SIZE, SKETCH_SIZE),
        fixed_canvas=True,
        layers=False,
        height=SKETCH_HEIGHT,
        elem_id=elem_id,
        elem_classes=[CANVAS_CLASS],
    )
