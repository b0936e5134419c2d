"""pix2pix in the browser: pick a task, sketch or upload its input, compare the translation. Run `python app.py`.

The UI is built from the task registry (`pix2pix_hub/tasks.py`). Uploads reach the handlers as file paths, undecoded
(`preprocess=False`), so `pix2pix_hub.images.open_image` decodes them and every failure gets our own message.
Concurrent requests for one model share forward passes (`SharedForward`); `/translate` is the API endpoint.
"""

from __future__ import annotations

import html
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import torch
from PIL import Image

from pix2pix_hub.hub import PROJECT_REPO_URL
from pix2pix_hub.images import open_image, prepare_image
from pix2pix_hub.inference.pipeline import Pix2PixPipeline
from pix2pix_hub.methods.pix2pix import PAPER, PAPER_URL
from pix2pix_hub.tasks import EXAMPLES_DIR, TASKS, Task, get_task, hub_online

MAX_BATCH_SIZE = 8  # images per shared forward pass
CONCURRENCY_LIMIT = 16  # requests inside the model handlers at once (they queue for a shared pass)
QUEUE_SIZE = 64
MAX_FILE_SIZE = "20mb"
CACHE_CLEANUP = (60, 600)  # every minute, delete uploads and results older than ten minutes (all of them on exit)
OUTPUT_SIDE = (256, 1024)  # the output's long side is kept within these bounds (the model works at 256)
SKETCH_SIZE = 256

HOW_IT_WORKS = f"""
**How it works.** pix2pix ([Isola, Zhu, Zhou, Efros, CVPR 2017]({PAPER_URL})) is a conditional GAN. A U-Net
generator with skip connections maps the input (resized to {PAPER.crop_size}×{PAPER.crop_size}) to the output;
during training a 70×70 PatchGAN discriminator judges (input, output) pairs patch by patch, and an L1 loss
(weight {PAPER.lambda_l1:g}) keeps the output close to the real target. One model is trained per task on paired
images. Code, training and weights: [pix2pix-hub]({PROJECT_REPO_URL}).
"""


@dataclass
class _Request:
    inputs: torch.Tensor
    done: threading.Event = field(default_factory=threading.Event)
    output: torch.Tensor | None = None
    error: BaseException | None = None


class SharedForward:
    """One model for many threads: requests that arrive while a forward pass runs go into the next pass together.

    A per-request batch (rather than Gradio's `batch=True`) keeps one user's bad upload from failing the others:
    each request decodes its own image first, and only valid inputs ever meet in a batch.
    """

    def __init__(self, pipeline: Pix2PixPipeline, max_batch_size: int = MAX_BATCH_SIZE):
        self.pipeline = pipeline
        self.max_batch_size = max_batch_size
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # of the latest forward passes
        self._pending: list[_Request] = []
        self._pending_lock = threading.Lock()
        self.run_lock = threading.Lock()  # held for the length of a forward pass

    def __call__(self, image: Image.Image, size: tuple[int, int]) -> Image.Image:
        """Translate one decoded image; the output has the given size."""
        request = _Request(self.pipeline.preprocess(image))
        with self._pending_lock:
            self._pending.append(request)
        while not request.done.is_set():
            with self.run_lock:
                with self._pending_lock:
                    batch = self._pending[: self.max_batch_size]
                    del self._pending[: self.max_batch_size]
                if batch:
                    self._run(batch)
        if request.error is not None:
            raise request.error
        return self.pipeline.postprocess(request.output, size)

    def _run(self, batch: list[_Request]) -> None:
        try:
            outputs = self.pipeline.forward(torch.stack([request.inputs for request in batch]))
            for request, output in zip(batch, outputs, strict=True):
                request.output = output
        except BaseException as error:  # every waiter must wake up, with the error
            for request in batch:
                request.error = error
            raise
        finally:
            self.batch_sizes.append(len(batch))
            for request in batch:
                request.done.set()


_models: dict[str, SharedForward] = {}
_loading = {name: threading.Lock() for name in TASKS}  # one load at a time per task; other tasks stay free


def model_for(task: Task) -> SharedForward:
    """Load a task's model once per process; a failed load is retried on the next request."""
    with _loading[task.name]:
        if task.name not in _models:
            try:
                _models[task.name] = SharedForward(task.load_pipeline())
            except FileNotFoundError as error:
                print(f"[pix2pix app] {error}", flush=True)
                message = f"No weights for {task.title} yet. {task.how_to_get_weights()}"
                raise gr.Error(message, print_exception=False) from None
        return _models[task.name]


def warm_up() -> None:
    """Load every model this machine has while the server starts, so that no user waits for a load."""
    for task in TASKS.values():
        if task.has_local_weights():
            try:
                model_for(task)
            except gr.Error as error:
                print(f"[pix2pix app] {task.name}: {error.message}", flush=True)


def output_size(size: tuple[int, int]) -> tuple[int, int]:
    """The input's aspect ratio with the long side within OUTPUT_SIDE: no 1×1 results, no 100-megapixel ones."""
    width, height = size
    long_side = max(width, height)
    scale = min(max(long_side, OUTPUT_SIDE[0]), OUTPUT_SIDE[1]) / long_side
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


@dataclass
class Result:
    """What one translation produced, for the latency line and the Compare tab."""

    task: str
    input: Image.Image
    output: Image.Image
    seconds: float


def result_file(image: Image.Image) -> str:
    """The output as a PNG under a name of its own, for Gradio to copy into its cache.

    Handing Gradio a PIL image instead makes it rewrite one content-hash file in place for every identical
    result, and a caller still downloading that file then reads it half-written (seen with 16 concurrent
    callers sending the same image); copies of a file go in atomically. Older results are swept here.
    """
    folder = Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir()) / "results"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if time.time() - old.stat().st_mtime > CACHE_CLEANUP[1]:
            old.unlink(missing_ok=True)
    fd, path = tempfile.mkstemp(dir=folder, suffix=".png")
    with os.fdopen(fd, "wb") as handle:
        image.save(handle, format="PNG")
    return path


def run_translation(task_name: str, decode: Callable[[], Image.Image]) -> tuple[str, Result]:
    """Decode (timed with the rest) and translate one image with the task's shared model."""
    try:
        task = get_task(task_name)
    except ValueError as error:
        raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from None
    start = time.perf_counter()
    image = decode()
    output = model_for(task)(image, output_size(image.size))
    return result_file(output), Result(task.name, image, output, time.perf_counter() - start)


def translate(task: str, image: dict[str, Any] | None) -> tuple[str, Result]:
    """The `/translate` endpoint: a task name and an image file in, the translated image out."""
    return run_translation(task, lambda: decode_upload(image))


def translate_sketch(task: str, sketch: dict[str, Any] | None) -> tuple[str, Result]:
    """Translate the Sketch tab's canvas: the editor's flattened composite, drawn in the browser."""
    composite = (sketch or {}).get("composite")
    if composite is None:
        raise gr.Error("The sketch is empty: draw on the canvas first.", print_exception=False)
    return run_translation(task, lambda: prepare_image(composite, name="sketch"))


def show_result(result: Result | None, target_path: str | None):
    """Latency line and the Compare tab's sliders for the latest translation."""
    if result is None:
        return gr.skip(), gr.skip(), gr.skip()
    task = get_task(result.task)
    (in_w, in_h), (out_w, out_h) = result.input.size, result.output.size
    latency = f"{task.direction}: {in_w}×{in_h} → {out_w}×{out_h} px in **{result.seconds * 1000:.0f} ms**"
    before = result.input.convert("RGB").resize(result.output.size, Image.Resampling.BICUBIC)
    truth = gr.ImageSlider(visible=False, value=None)
    if target_path:
        target = open_image(target_path).convert("RGB").resize(result.output.size, Image.Resampling.BICUBIC)
        truth = gr.ImageSlider(visible=True, value=(result.output, target))
    return latency, (before, result.output), truth


def describe(task: Task) -> str:
    """The task's card: what goes in and out, and a notice when this machine has no weights for it."""
    text = f"**{task.title}**. {task.description}"
    if not task.has_local_weights():
        hub = f"The app will try the Hub repo `{task.hub_repo_id}`." if hub_online() else "The Hub is offline."
        text += f"\n\n⚠️ **No weights for this task on this machine.** {hub} {task.how_to_get_weights()}"
    return text


def palette_legend(task: Task) -> str:
    """Named swatches for the sketch brushes: the label classes, or what to draw for edges and photos."""
    if task.input_kind == "edges":
        return "Draw the object's outline with the black pen on white paper."
    if not task.palette:
        return f"This task translates a {task.source}: upload one in the Upload tab, or paint freely here."
    swatches = "".join(
        f'<span class="swatch"><i style="background:{label.hex}"></i>{label.name}</span>' for label in task.palette
    )
    return f'<div class="legend">{swatches}</div>'


def sketch_props(task: Task, background: str | None = None) -> dict[str, Any]:
    """A blank canvas in the task's background colour (or an example to edit), with the task's brushes."""
    if task.input_kind == "labels":
        brush = gr.Brush(
            colors=[label.hex for label in task.palette],
            default_color=task.palette[1].hex,
            color_mode="fixed",
            default_size=12,
        )
    elif task.input_kind in ("edges", "grayscale"):
        brush = gr.Brush(colors=["#000000", "#808080", "#ffffff"], default_color="#000000", default_size=3)
    else:
        brush = gr.Brush(default_size=8)
    canvas = background or Image.new("RGB", (SKETCH_SIZE, SKETCH_SIZE), task.background)
    return {"value": {"background": canvas, "layers": [], "composite": None}, "brush": brush}


def example_samples(task: Task) -> list[list[str]]:
    return [[str(example.input)] for example in task.examples]


def select_task(task_name: str):
    """Everything that follows the task selector: card, examples, sketch canvas, legend; old results cleared."""
    task = get_task(task_name)
    samples = example_samples(task)
    return (
        describe(task),
        gr.Dataset(samples=samples, visible=bool(samples)),
        gr.ImageEditor(**sketch_props(task)),
        palette_legend(task),
        None,  # upload input
        None,  # upload output
        None,  # sketch output
        None,  # example target
        None,  # compare slider
        gr.ImageSlider(visible=False, value=None),
        "",
    )


def pick_example(task_name: str, index: int):
    """Load an example into the Upload tab and the sketch canvas; remember its ground truth for Compare."""
    task = get_task(task_name)
    example = task.examples[index]
    target = str(example.target) if example.target else None
    return str(example.input), target, gr.ImageEditor(**sketch_props(task, str(example.input)))


CSS = """
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 0.9em; }
.swatch i { display: inline-block; width: 14px; height: 14px; margin-right: 4px; vertical-align: middle;
            border: 1px solid #8888; }
"""


def build_demo() -> gr.Blocks:
    """The whole UI, driven by the task registry; it opens on the first task this machine has weights for."""
    with_weights = [task.name for task in TASKS.values() if task.has_local_weights()]
    task = get_task(with_weights[0] if with_weights else next(iter(TASKS)))
    missing = [name for name in TASKS if name not in with_weights]
    with gr.Blocks(title="pix2pix", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown("# pix2pix: image-to-image translation\nPick a task, then draw, upload or compare.")
        if missing:
            gr.Markdown(f"Tasks without weights on this machine: {', '.join(f'`{name}`' for name in missing)}.")
        with gr.Row():
            task_choice = gr.Dropdown(
                choices=[(entry.title, entry.name) for entry in TASKS.values()],
                value=task.name,
                label="Task",
                scale=1,
            )
            task_card = gr.Markdown(describe(task), elem_id="task-card")
        examples = gr.Dataset(
            components=[gr.Image(visible=False, type="filepath")],
            samples=example_samples(task),
            visible=bool(task.examples),
            type="index",
            label="Examples (click to load)",
            elem_id="examples",
        )
        example_target = gr.State(None)
        result = gr.State(None)
        with gr.Tabs():
            with gr.Tab("Upload", id="upload"):
                with gr.Row():
                    upload_input = gr.Image(
                        type="filepath", label="Input", sources=["upload", "clipboard"], elem_id="upload-input"
                    )
                    upload_output = gr.Image(
                        label="Output", format="png", interactive=False, buttons=["download"], elem_id="upload-output"
                    )
                upload_button = gr.Button("Translate", variant="primary", elem_id="upload-button")
            with gr.Tab("Sketch", id="sketch"):
                with gr.Row():
                    with gr.Column():
                        sketch = gr.ImageEditor(
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
                            elem_id="sketch-input",
                        )
                        legend = gr.HTML(palette_legend(task))
                    sketch_output = gr.Image(
                        label="Output", format="png", interactive=False, buttons=["download"], elem_id="sketch-output"
                    )
                sketch_button = gr.Button("Translate sketch", variant="primary", elem_id="sketch-button")
            with gr.Tab("Compare", id="compare"):
                gr.Markdown("Drag the handles. Pick an example to compare the output with the real image, too.")
                with gr.Row():
                    slider = {"type": "pil", "max_height": 420}
                    compare = gr.ImageSlider(label="Input ↔ output", elem_id="compare-io", **slider)
                    compare_truth = gr.ImageSlider(
                        label="Output ↔ ground truth", visible=False, elem_id="compare-truth", **slider
                    )
        latency = gr.Markdown(elem_id="latency")
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS)

        model_event = {"concurrency_id": "model", "concurrency_limit": CONCURRENCY_LIMIT, "preprocess": False}
        show = {"fn": show_result, "inputs": [result, example_target], "outputs": [latency, compare, compare_truth]}
        task_choice.change(
            select_task,
            task_choice,
            [task_card, examples, sketch, legend, upload_input, upload_output, sketch_output, example_target]
            + [compare, compare_truth, latency],
            api_visibility="private",
        )
        upload_button.click(
            translate, [task_choice, upload_input], [upload_output, result], api_name="translate", **model_event
        ).then(**show, api_visibility="private")
        upload_input.upload(lambda: None, None, example_target, api_visibility="private")
        examples.click(
            pick_example, [task_choice, examples], [upload_input, example_target, sketch], api_visibility="private"
        ).then(
            translate, [task_choice, upload_input], [upload_output, result], api_visibility="private", **model_event
        ).then(**show, api_visibility="private")
        sketch_button.click(  # the editor's layers arrive as blobs: Gradio assembles the composite (preprocess)
            translate_sketch,
            [task_choice, sketch],
            [sketch_output, result],
            api_visibility="private",
            **{**model_event, "preprocess": True},
        ).then(**show, api_visibility="private")
    return demo


def main() -> None:
    # Spaces stop apps with SIGTERM: turn it into Ctrl-C so that the `finally` below runs.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Uploads and results live in a private folder, swept while running and removed when the app stops.
    base = Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    cache = tempfile.mkdtemp(prefix="pix2pix-app-", dir=base)
    os.environ["GRADIO_TEMP_DIR"] = cache
    try:
        threading.Thread(target=warm_up, daemon=True).start()
        demo = build_demo()
        demo.queue(max_size=QUEUE_SIZE).launch(  # host and port: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
            share=False,
            run_history=False,  # nothing of a user's run is recorded, not even in their browser
            max_file_size=MAX_FILE_SIZE,
            allowed_paths=[str(EXAMPLES_DIR)],
            css=CSS,
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
