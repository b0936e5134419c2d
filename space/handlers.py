"""The Space's event handlers: an upload or a sketch in, a translated image and its timing out.

Uploads reach `translate` as file paths, undecoded (`preprocess=False`), so `pix2pix_hub.images.open_image` decodes
them and every failure gets our own message that names the file as the user called it.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image
from skimage.morphology import skeletonize

from pix2pix_hub import edges
from pix2pix_hub.images import open_image, prepare_image

from .forward import full_resolution_model, model_for
from .tasks import TASKS, Task, get_task

CACHE_CLEANUP = (60, 600)  # every minute, delete uploads and results older than ten minutes (all of them on exit)
MAX_OUTPUT_SIDE = 1024  # a resize-mode output has its input's size, shrunk to this long side: no 100-MP results
FULL_RESOLUTION_MAX_PIXELS = 4096 * 4096  # for "keep full resolution"; the CLI's tiled mode takes more
EDGE_SKETCH_SIZE = (256, 256)  # edges sketches are inked at the data's scale: 1-pixel lines on 256x256
EDGE_INK = 224  # a pixel of an edges sketch darker than this there is a line (black); the rest is paper (white)


def output_size(size: tuple[int, int]) -> tuple[int, int]:
    """The input's size, as the pipeline and `python -m pix2pix_hub.translate` give it (a 1×1 image gives 1×1),
    shrunk with its aspect ratio to a long side of MAX_OUTPUT_SIDE."""
    width, height = size
    scale = min(1, MAX_OUTPUT_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode_upload(payload: dict[str, Any] | None) -> Image.Image:
    """Decode an uploaded file; errors name the file as the user called it, never the server's path."""
    if not payload or not payload.get("path"):
        raise gr.Error("No image given: upload one or pick an example.", print_exception=False)
    path = Path(payload["path"])
    try:
        return open_image(path)
    except ValueError as error:
        shown_name = payload.get("orig_name") or path.name
        message = str(error).replace(str(path), shown_name)
        raise gr.Error(html.escape(message, quote=False), print_exception=False) from None  # the modal renders HTML


def check_upload(payload: dict[str, Any] | None) -> None:
    """When a file is dropped on the Upload tab: one that is not an image we read is refused at once, in plain words
    (the page then empties the input, which a browser could not show anyway)."""
    if payload and payload.get("path"):
        decode_upload(payload)


@dataclass
class Result:
    """What one translation produced, for the latency line and the Compare tab."""

    task: str
    input: Image.Image
    output: Image.Image
    seconds: float
    photo: Image.Image | None = None  # "edges from a photo": the photo whose edge map was the input


def download_name(input_name: str, task: str) -> str:
    """The file name a user downloads: what they gave and what it became ("1_input-facades_label2photo.png")."""
    stem = re.sub(r"[^\w.-]+", "_", Path(input_name).stem).strip("._")[:60] or "image"
    return f"{stem}-{task}.png"


def result_file(image: Image.Image, name: str) -> str:
    """The output as a PNG called `name`, in a folder of its own, for Gradio to copy into its cache.

    Handing Gradio a PIL image instead makes it rewrite one content-hash file in place for every identical
    result, and a caller still downloading that file then reads it half-written (seen with 16 concurrent
    callers sending the same image); copies of a file go in atomically. Older results are swept here.
    """
    results = Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir()) / "results"
    results.mkdir(parents=True, exist_ok=True)
    for old in results.iterdir():
        if time.time() - old.stat().st_mtime > CACHE_CLEANUP[1]:
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    path = Path(tempfile.mkdtemp(dir=results)) / name
    image.save(path, format="PNG")
    return str(path)


def translate_image(task: Task, image: Image.Image, full_resolution: bool) -> Image.Image:
    """At the model's size with the output at `output_size`, or (where the task offers it) tiled at the
    image's own size."""
    if not (full_resolution and task.full_resolution):
        return model_for(task)(image, output_size(image.size))
    if image.width * image.height > FULL_RESOLUTION_MAX_PIXELS:
        raise gr.Error(
            f"This image is {image.width}×{image.height} ({image.width * image.height / 1e6:.1f} megapixels); full "
            f"resolution here takes up to {FULL_RESOLUTION_MAX_PIXELS / 1e6:.1f}. Untick “Keep full resolution”, or "
            f"translate it with `python -m pix2pix_hub.translate IMAGE --model MODEL --out DIR --mode tiled`.",
            print_exception=False,
        )
    return full_resolution_model(task)(image)


def run_translation(
    task_name: str,
    decode: Callable[[], Image.Image],
    input_name: str,
    full_resolution: bool = False,
    edges_from_photo: bool = False,
) -> tuple[str, Result]:
    """Decode (timed with the rest) and translate one image with the task's shared model; where the task offers
    it, a photo is first turned into an edge map drawn like the training data's."""
    try:
        task = get_task(task_name)
    except ValueError as error:
        raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from None
    start = time.perf_counter()
    image = photo = decode()
    if edges_from_photo and task.edges_from_photo:
        image = edges.edges_from_photo(photo)
    output = translate_image(task, image, full_resolution)
    result = Result(task.name, image, output, time.perf_counter() - start, photo if image is not photo else None)
    return result_file(output, download_name(input_name, task.name)), result


def translate(
    task: str, image: dict[str, Any] | None, full_resolution: bool = False, edges_from_photo: bool = False
) -> tuple[str, Result]:
    """The `/translate` endpoint: a task name and an image file in, the translated image out (with
    `full_resolution`, for the tasks that offer it, at the image's own size; with `edges_from_photo`, for edges
    tasks, the image is a photo whose edges are translated)."""
    name = (image or {}).get("orig_name") or Path((image or {}).get("path") or "image").name
    return run_translation(
        task, lambda: decode_upload(image), name, full_resolution=full_resolution, edges_from_photo=edges_from_photo
    )


def ink_edges(sketch: Image.Image) -> Image.Image:
    """A pen sketch as the data's edge maps are drawn: black 1-pixel lines on white, nothing grey, at 256x256 (the
    browser's 4-pixel pen on the 512-pixel canvas, which draws solid lines where a thinner pen shows dashes, is
    thinned to its centre line)."""
    grey = np.asarray(sketch.convert("L").resize(EDGE_SKETCH_SIZE, Image.Resampling.BOX))
    lines = skeletonize(grey < EDGE_INK)
    return Image.fromarray(np.where(lines, 0, 255).astype(np.uint8)).convert("RGB")


def sketch_decoder(task: str, sketch: dict[str, Any] | None) -> Callable[[], Image.Image]:
    """How to read a canvas: the editor's flattened composite, drawn in the browser (for edges tasks inked as the
    training edges are); an empty canvas is refused at once."""
    composite = (sketch or {}).get("composite")
    if composite is None:
        raise gr.Error("The sketch is empty: draw on the canvas first.", print_exception=False)

    def decode() -> Image.Image:
        image = prepare_image(composite, name="sketch")
        return ink_edges(image) if task in TASKS and get_task(task).input_kind == "edges" else image

    return decode


def translate_sketch(task: str, sketch: dict[str, Any] | None) -> tuple[str, Result]:
    """Translate the Sketch tab's canvas."""
    return run_translation(task, sketch_decoder(task, sketch), "sketch")


def clear_result():
    """After a failed translation: no latency line and no output left over from the request before."""
    return "", None, gr.ImageSlider(value=None), gr.ImageSlider(visible=False, value=None)


def show_result(result: Result | None, target_path: str | None):
    """Latency line and the Compare tab's sliders for the latest translation."""
    if result is None:
        return gr.skip(), gr.skip(), gr.skip()
    task = get_task(result.task)
    direction, (in_w, in_h), (out_w, out_h) = task.direction, result.input.size, result.output.size
    if result.photo is not None:  # from the photo the edges were drawn from
        direction, (in_w, in_h) = f"your photo → {direction}", result.photo.size
    latency = f"{direction}: {in_w}×{in_h} → {out_w}×{out_h} px in **{result.seconds * 1000:.0f} ms**"
    before = result.input.convert("RGB").resize(result.output.size, Image.Resampling.BICUBIC)
    truth = gr.ImageSlider(visible=False, value=None)
    if result.photo is not None:  # the edges drawn from a photo: the output against that photo
        photo = result.photo.convert("RGB").resize(result.output.size, Image.Resampling.BICUBIC)
        truth = gr.ImageSlider(visible=True, value=(result.output, photo), label="Output ↔ your photo")
    elif target_path:
        target = open_image(target_path).convert("RGB").resize(result.output.size, Image.Resampling.BICUBIC)
        truth = gr.ImageSlider(visible=True, value=(result.output, target), label="Output ↔ ground truth")
    return latency, (before, result.output), truth
