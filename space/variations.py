"""The Many ways tab: for a task whose model takes a latent code (BicycleGAN's), one sketch or file in, a gallery of k
variations out, as junyanz/BicycleGAN's test.py makes them: k codes z ~ N(0, 1) drawn from a seed, and, given a photo
of the target domain, one more whose code is the encoder's mean for that photo (its "encode" mode), shown first.
A slider walks between two images of the gallery along the sphere of codes (its video.py, slerp).

Every pass runs on the task's shared pipeline (`space.forward`), between the passes it shares with the other tabs.
The gallery's input and codes stay in the session (`Variations`) for the walk.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import torch
from PIL import Image

from pix2pix_hub import edges
from pix2pix_hub.inference.multimodal import latent_inputs, sample_codes, slerp
from pix2pix_hub.inference.pipeline import Pix2PixPipeline

from .forward import MODEL_EVENT, between_shared_passes
from .handlers import check_upload, decode_upload, download_name, output_size, result_file, sketch_decoder
from .sketch import sketch_editor, sketch_props
from .tasks import TASKS, Task, get_task

MIN_VARIATIONS, MAX_VARIATIONS, DEFAULT_VARIATIONS = 2, 12, 6
MAX_SEED = 2**32 - 1
WALK_STEP = 0.05
ABOUT = (
    "**One input, many outputs.** The model takes a latent code z beside the input; each code gives another "
    "plausible output. Draw or upload an input: the gallery shows one output per code (the seed picks the codes). "
    "Give a photo to copy its look: the encoder turns it into a code, shown first. The slider walks from one "
    "image of the gallery to another along the sphere of codes."
)


def no_variations_text() -> str:
    names = ", ".join(f"“{task.title}”" for task in TASKS.values() if task.variations)
    return f"This task's model gives one output per input. Pick one that gives many in the Task list: {names}."


@dataclass
class Variations:
    """The latest gallery of a session: its input and the latent code of each image, in gallery order."""

    task: str
    input: Image.Image
    codes: torch.Tensor  # (images, C)
    name: str  # what the user called the input, for download names


def variations_task(task_name: str) -> Task:
    """The task by name, refused in plain words when unknown or when its model gives one output per input."""
    try:
        task = get_task(task_name)
    except ValueError as error:
        raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from None
    if not task.variations:
        raise gr.Error(f"{task.title}: {no_variations_text()}", print_exception=False)
    return task


def number_in(value: Any, low: float, high: float) -> float | None:
    """`value` as a number from `low` to `high` (None when it is not one: text, NaN, out of range)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def whole_number(value: Any, name: str, low: int, high: int) -> int:
    """A count or seed from the page or the API, in range, or a plain error naming the range."""
    number = number_in(value, low, high)
    if number is None or not number.is_integer():
        raise gr.Error(f"{name} must be a whole number from {low} to {high}, got {value!r}.", print_exception=False)
    return int(number)


def style_photo(value: str | dict[str, Any] | None) -> Image.Image | None:
    """The optional style photo: an undecoded upload (the file event) or the path Gradio kept (the sketch event)."""
    if not value:
        return None
    return decode_upload(value if isinstance(value, dict) else {"path": value, "orig_name": "style photo"})


def gallery_codes(pipeline: Pix2PixPipeline, count: int, seed: int, style: Image.Image | None) -> torch.Tensor:
    """The style photo's code first (when given), then `count` codes drawn from the seed exactly as
    `pipeline(image, num_samples=count, seed=seed)` draws them."""
    latents = latent_inputs(pipeline.generator)
    if len(latents) != 1:
        raise gr.Error(
            f"This task's model ({pipeline.generator.arch}) takes {len(latents)} latent codes, not one: point the "
            "task at a model folder whose generator takes one, such as a BicycleGAN's.",
            print_exception=False,
        )
    codes = sample_codes(None, 1, count, latents[0].channels, seed, sync=True)[0]
    if style is None:
        return codes
    try:
        styled = pipeline.encode(style)
    except ValueError:
        raise gr.Error(
            "This model has no encoder (encoder/ beside its generator), so it cannot take the look of a photo: "
            "remove the style photo, or point the task at a folder that holds one.",
            print_exception=False,
        ) from None
    return torch.cat([styled[None], codes])


def captions(images: int, styled: bool) -> list[str]:
    return [
        f"{number} · your photo's look" if styled and number == 1 else str(number) for number in range(1, images + 1)
    ]


def make_variations(
    task_name: str, decode: Callable[[], Image.Image], name: str, count: Any, seed: Any, style: Any
) -> tuple[list[tuple[str, str]], Variations, str]:
    """The gallery (files and captions), what the walk needs, and a line on what was made and how fast."""
    task = variations_task(task_name)
    count = whole_number(count, "The number of variations", MIN_VARIATIONS, MAX_VARIATIONS)
    seed = whole_number(seed, "The seed", 0, MAX_SEED)
    start = time.perf_counter()
    image, photo = decode(), style_photo(style)
    if output_size(image.size) != image.size:  # no 100-MP outputs: the input at the output's size
        image = image.resize(output_size(image.size), Image.Resampling.BICUBIC)

    def run(pipeline: Pix2PixPipeline) -> tuple[torch.Tensor, list[Image.Image]]:
        codes = gallery_codes(pipeline, count, seed, photo)
        return codes, pipeline(image, num_samples=len(codes), z=codes)

    codes, outputs = between_shared_passes(task, run)
    labels = captions(len(outputs), photo is not None)
    files = [
        result_file(output, download_name(f"{Path(name).stem}-{number}", task.name))
        for number, output in enumerate(outputs, start=1)
    ]
    width, height = outputs[0].size
    made = f"{len(outputs)} variations of {width}×{height} in **{(time.perf_counter() - start) * 1000:.0f} ms**"
    return list(zip(files, labels, strict=True)), Variations(task.name, image, codes, name), made


def vary_sketch(task: str, sketch: dict[str, Any] | None, count: Any, seed: Any, style: Any):
    """Variations of the tab's drawing (inked as the training edges are, for an edges task)."""
    return make_variations(task, sketch_decoder(task, sketch), "sketch", count, seed, style)


def vary_file(
    task: str, image: dict[str, Any] | None, count: Any, seed: Any, style: Any = None, edges_from_photo: bool = False
):
    """The `/variations` endpoint: a task, an image file, how many variations and the seed (optionally a photo whose
    look the first one copies, and for edges tasks a photo as the input, its edges drawn as the data's)."""
    name = Path((image or {}).get("orig_name") or (image or {}).get("path") or "image").name

    def decode() -> Image.Image:
        picture = decode_upload(image)
        return edges.edges_from_photo(picture) if edges_from_photo and get_task(task).edges_from_photo else picture

    return make_variations(task, decode, name, count, seed, style)


def walk(latest: Variations | None, t: float, start: Any, end: Any) -> str:
    """The `/walk` endpoint: the output at `t` (0 to 1) of the way from gallery image `start` to `end` (numbered from
    1), its code on the great circle between theirs."""
    if latest is None:
        raise gr.Error("Make variations first: the walk goes from one of them to another.", print_exception=False)
    images = len(latest.codes)
    first = whole_number(start, "The walk's first image", 1, images)
    last = whole_number(end, "The walk's last image", 1, images)
    at = number_in(t, 0, 1)
    if at is None:
        raise gr.Error(f"The walk goes from 0 (image {first}) to 1 (image {last}), not {t!r}.", print_exception=False)
    code = slerp(latest.codes[first - 1], latest.codes[last - 1], at)
    output = between_shared_passes(get_task(latest.task), lambda pipeline: pipeline(latest.input, z=code))
    return result_file(
        output, download_name(f"{Path(latest.name).stem}-walk-{first}-{last}-{round(at * 100)}", latest.task)
    )


def select_task(task_name: str):
    """Follow the task picker: the tab's inputs for this task, old results cleared, and the tab opened for a task
    that gives many outputs."""
    task = get_task(task_name)
    return (
        gr.Markdown(visible=not task.variations),
        gr.Column(visible=task.variations),
        gr.ImageEditor(**sketch_props(task)),
        gr.Checkbox(visible=task.edges_from_photo, value=False),
        None,  # gallery
        None,  # the session's latest variations
        "",
        None,  # walked image
        gr.Tabs(selected="many-ways") if task.variations else gr.skip(),
    )


def pick_example(task_name: str, index: int):
    """An example of the picked task into the tab's file input and canvas."""
    task = get_task(task_name)
    if not task.variations:
        return gr.skip(), gr.skip()
    example = str(task.examples[index].input)
    return example, gr.ImageEditor(**sketch_props(task, example))


def _inputs(task: Task) -> dict[str, Any]:
    """Draw or give a file; how many variations, from which seed; optionally a photo whose look to copy."""
    with gr.Tabs():
        with gr.Tab("Draw", id="variations-draw"):
            sketch = sketch_editor(task, "variations-sketch")
            sketch_button = gr.Button(
                "Variations of the drawing", variant="primary", elem_id="variations-sketch-button"
            )
        with gr.Tab("From a file", id="variations-file"):
            upload = gr.Image(
                type="filepath", label="Input", sources=["upload", "clipboard"], elem_id="variations-upload"
            )
            edges_from_photo = gr.Checkbox(
                value=False,
                label="Edges from a photo",
                info="Upload a photo: the app draws its edges as the training data's were drawn.",
                visible=task.edges_from_photo,
                elem_id="variations-edges-from-photo",
            )
            upload_button = gr.Button("Variations of the file", variant="primary", elem_id="variations-upload-button")
    with gr.Row():
        count = gr.Slider(
            MIN_VARIATIONS,
            MAX_VARIATIONS,
            value=DEFAULT_VARIATIONS,
            step=1,
            label="How many",
            elem_id="variations-count",
        )
        seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed", elem_id="variations-seed")
    style = gr.Image(
        type="filepath",
        label="Style from a photo (optional): the first output copies its look",
        sources=["upload", "clipboard"],
        height=200,
        elem_id="variations-style",
    )
    return {
        "sketch": sketch,
        "sketch_button": sketch_button,
        "upload": upload,
        "edges_from_photo": edges_from_photo,
        "upload_button": upload_button,
        "count": count,
        "seed": seed,
        "style": style,
    }


def _outputs() -> dict[str, Any]:
    """The gallery, what was made, and the walk between two of its images."""
    gallery = gr.Gallery(
        label="Variations",
        columns=3,
        format="png",
        object_fit="contain",
        interactive=False,
        elem_id="variations-gallery",
    )
    made = gr.Markdown(elem_id="variations-made")
    with gr.Row():
        walk_from = gr.Number(1, precision=0, minimum=1, label="Walk from image", elem_id="variations-walk-from")
        walk_to = gr.Number(2, precision=0, minimum=1, label="to image", elem_id="variations-walk-to")
    walk_at = gr.Slider(0, 1, value=0.5, step=WALK_STEP, label="How far", elem_id="variations-walk")
    walked = gr.Image(label="On the way", format="png", interactive=False, elem_id="variations-walked")
    return {
        "gallery": gallery,
        "made": made,
        "walk_from": walk_from,
        "walk_to": walk_to,
        "walk_at": walk_at,
        "walked": walked,
    }


def variations_tab(task: Task, task_choice: gr.Dropdown, examples: gr.Dataset, tabs: gr.Tabs) -> None:
    """The tab's layout and events (inside the page's Tabs); it follows the task picker and its examples."""
    with gr.Tab("Many ways", id="many-ways"):
        note = gr.Markdown(no_variations_text(), visible=not task.variations, elem_id="variations-unavailable")
        with gr.Column(visible=task.variations) as area:
            gr.Markdown(ABOUT)
            with gr.Row():
                with gr.Column():
                    w = _inputs(task)
                with gr.Column():
                    w |= _outputs()
    latest = gr.State(None)
    shown = [w["gallery"], latest, w["made"]]
    walk_inputs = [latest, w["walk_at"], w["walk_from"], w["walk_to"]]
    settings = [w["count"], w["seed"], w["style"]]
    walks = [w["walk_at"].release, w["walk_from"].submit, w["walk_to"].submit]
    gr.on(walks, walk, walk_inputs, w["walked"], api_name="walk", **MODEL_EVENT)  # first: it takes the name /walk
    for event in (
        w["sketch_button"].click(
            vary_sketch, [task_choice, w["sketch"], *settings], shown, api_visibility="private", **MODEL_EVENT
        ),
        w["upload_button"].click(
            vary_file,
            [task_choice, w["upload"], *settings, w["edges_from_photo"]],
            shown,
            api_name="variations",
            preprocess=False,
            **MODEL_EVENT,
        ),
    ):
        event.success(walk, walk_inputs, w["walked"], api_visibility="private", **MODEL_EVENT)
        event.failure(lambda: (None, None, "", None), None, [*shown, w["walked"]], api_visibility="private")
    for image in (w["upload"], w["style"]):
        image.upload(check_upload, image, None, api_visibility="private", preprocess=False).failure(
            lambda: None, None, image, api_visibility="private"
        )
    task_choice.change(
        select_task,
        task_choice,
        [note, area, w["sketch"], w["edges_from_photo"], *shown, w["walked"], tabs],
        api_visibility="private",
    )
    examples.click(pick_example, [task_choice, examples], [w["upload"], w["sketch"]], api_visibility="private")
