"""The Space's page, built from the task list: a task picker, then Upload, Sketch, Many ways and Compare tabs.

Everything that follows the picked task (its card, examples, sketch canvas and brushes) comes from `space.tasks`;
the translation itself happens in `space.handlers` (`space.variations` for the Many ways tab, whose tasks give many
outputs per input). `/translate` is the public API endpoint for one output, `/variations` and `/walk` for many.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from pix2pix_hub.hub import PROJECT_REPO_URL
from pix2pix_hub.methods import get_method

from .dance import dance_tab
from .forward import MODEL_EVENT
from .handlers import CACHE_CLEANUP, check_upload, clear_result, show_result, translate, translate_sketch
from .sketch import CANVAS_CLASS, SKETCH_HEIGHT, SKETCH_SIZE, sketch_editor, sketch_props
from .tasks import TASKS, Task, get_task, hub_online
from .variations import variations_tab
from .web_tab import web_tab

PIX2PIX, CYCLEGAN = get_method("pix2pix"), get_method("cyclegan")
PAPER, PAPER_URL, CYCLEGAN_PAPER_URL = PIX2PIX.Recipe(), PIX2PIX.paper_url, CYCLEGAN.paper_url  # the paper's defaults
BICYCLEGAN_PAPER_URL = get_method("bicyclegan").paper_url

MARGIN_STROKES_JS = f"const SKETCH_SIZE = {SKETCH_SIZE};\n" + (Path(__file__).parent / "margin_strokes.js").read_text()
SWATCH_LABELS_JS = (Path(__file__).parent / "swatch_labels.js").read_text()
TASK_PICKER_WIDTH = 300  # px, picker and card: on a narrow screen (a phone) the card wraps below the picker

HOW_IT_WORKS = f"""
**How it works.** pix2pix ([Isola, Zhu, Zhou, Efros, CVPR 2017]({PAPER_URL})) is a conditional GAN. A U-Net
generator with skip connections maps the input (resized to {PAPER.crop_size}×{PAPER.crop_size}) to the output;
during training a 70×70 PatchGAN discriminator judges (input, output) pairs patch by patch, and an L1 loss
(weight {PAPER.lambda_l1:g}) keeps the output close to the real target. One model is trained per task on paired
images. CycleGAN ([Zhu, Park, Isola, Efros, ICCV 2017]({CYCLEGAN_PAPER_URL})) needs no pairs: two generators learn
the two directions between unpaired photo collections (apples and oranges), each kept honest by a discriminator
of its target domain and by cycle consistency (a round trip must give back the input). BicycleGAN ([Zhu et al.,
NeurIPS 2017]({BICYCLEGAN_PAPER_URL})) gives pix2pix's generator a latent code beside its input, and an encoder that
maps a real photo to its code, so that one sketch has many plausible outputs (the Many ways tab). Each task says
which paper made its model. Code, training and weights: [pix2pix-hub]({PROJECT_REPO_URL}).
"""

PICK_A_CLASS = "Pick a class with the brush's colour button, then drag on the canvas."
NO_SKETCH = "This task translates photos, which one cannot sketch: pick an example or upload one in the Upload tab."
CSS = """
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 0.9em; }
.swatch i { display: inline-block; width: 14px; height: 14px; margin-right: 4px; vertical-align: middle;
            border: 1px solid #8888; }
"""
CSS += f".{CANVAS_CLASS} .empty.wrap {{ visibility: hidden; }}\n"  # Gradio's white upload box, while the canvas loads
CSS += f"#task-card {{ min-width: min({TASK_PICKER_WIDTH}px, 100%) !important; }}\n"  # a phone: below the picker
CSS += """#sketch-input menu button.color:not([data-name=""]) { width: auto; min-width: 7.5em; height: auto;
  padding: 3px 6px; border-radius: 4px; font-size: 12px; line-height: 1.2; text-align: left; white-space: nowrap; }
#sketch-input menu:has(button.color:not([data-name=""])) { display: grid; grid-template-columns: repeat(3, auto);
  gap: 4px; width: max-content; max-width: none; }
#sketch-input .wrap:has(> * button.color:not([data-name=""])),
#sketch-input .wrap:has(> * button.color:not([data-name=""])) * { width: max-content; max-width: none;
  overflow: visible; }
"""  # the colour menu's swatches named (swatch_labels.js), in three columns


def describe(task: Task) -> str:
    """The task's card: what goes in and out, and a notice when this machine has no weights for it."""
    text = f"**{task.title}**. {task.description} *Model: {task.paper}.*"
    if not task.has_local_weights():
        hub = f"The app will try the Hub repo `{task.hub_repo_id}`." if hub_online() else "The Hub is offline."
        text += f"\n\n⚠️ **No weights for this task on this machine.** {hub} {task.how_to_get_weights()}"
    return text


def palette_legend(task: Task) -> str:
    """Named swatches for the sketch brushes: the label classes, or what to draw for edges and photos."""
    if task.input_kind == "edges":
        return "Draw the outline with the thin black pen, as the training edges are drawn; erase or undo mistakes."
    if not task.palette:
        article = "an" if task.source[:1].lower() in "aeiou" else "a"
        return f"This task translates {article} {task.source}: upload one in the Upload tab, or paint freely here."
    swatches = "".join(
        f'<span class="swatch"><i style="background:{label.hex}"></i>{label.name}</span>' for label in task.palette
    )
    return f'<p>{PICK_A_CLASS}</p><div class="legend">{swatches}</div>'


def example_samples(task: Task) -> list[list[str]]:
    """The task's example inputs, as rows of the examples Dataset."""
    return [[str(example.input)] for example in task.examples]


def select_task(task_name: str):
    """Everything that follows the task selector: card, examples, sketch canvas, legend; old results cleared."""
    task = get_task(task_name)
    samples = example_samples(task)
    return (
        describe(task),
        gr.Dataset(samples=samples, visible=bool(samples)),
        gr.ImageEditor(**sketch_props(task)),
        gr.Column(visible=task.sketchable),
        gr.Markdown(visible=not task.sketchable),
        gr.Checkbox(visible=task.full_resolution, value=False),
        gr.Checkbox(visible=task.edges_from_photo, value=False),
        compare_text(task),
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
    sketch = gr.ImageEditor(**sketch_props(task, str(example.input)))
    return str(example.input), target, sketch, False  # examples are the model's own inputs: no edges drawn from them


@dataclass
class Widgets:
    """The components the events connect, as the layout functions below created them."""

    task_choice: gr.Dropdown
    task_card: gr.Markdown
    examples: gr.Dataset
    example_target: gr.State
    result: gr.State
    upload_input: gr.Image
    upload_output: gr.Image
    upload_button: gr.Button
    full_resolution: gr.Checkbox
    edges_from_photo: gr.Checkbox
    sketch: gr.ImageEditor
    sketch_area: gr.Column
    no_sketch: gr.Markdown
    legend: gr.HTML
    sketch_output: gr.Image
    sketch_button: gr.Button
    compare: gr.ImageSlider
    compare_truth: gr.ImageSlider
    compare_hint: gr.Markdown
    latency: gr.Markdown


def _task_picker(task: Task) -> dict[str, Any]:
    """The task dropdown, the task's card and its examples: what every tab follows."""
    with gr.Row():
        task_choice = gr.Dropdown(
            choices=[(entry.title, entry.name) for entry in TASKS.values()],
            value=task.name,
            label="Task",
            scale=1,
            min_width=TASK_PICKER_WIDTH,
            elem_id="task-choice",
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
    return {"task_choice": task_choice, "task_card": task_card, "examples": examples}


def _upload_tab(task: Task) -> dict[str, Any]:
    """A file (or an example) in, its translation beside it with a download button; for photos and maps at any
    scale, a choice to translate at the image's own size."""
    with gr.Tab("Upload", id="upload"):
        with gr.Row():
            upload_input = gr.Image(
                type="filepath", label="Input", sources=["upload", "clipboard"], elem_id="upload-input"
            )
            upload_output = gr.Image(
                label="Output", format="png", interactive=False, buttons=["download"], elem_id="upload-output"
            )
        full_resolution = gr.Checkbox(
            value=False,
            label="Keep full resolution",
            info="Translate the image at its own size in overlapping tiles (slower): the output has the input's size.",
            visible=task.full_resolution,
            elem_id="full-resolution",
        )
        edges_from_photo = gr.Checkbox(
            value=False,
            label="Edges from a photo",
            info="Upload a photo: the app draws its edges as the training data's were drawn and translates those "
            "(Compare shows photo, edges and output).",
            visible=task.edges_from_photo,
            elem_id="edges-from-photo",
        )
        upload_button = gr.Button("Translate", variant="primary", elem_id="upload-button")
    return {
        "upload_input": upload_input,
        "upload_output": upload_output,
        "upload_button": upload_button,
        "full_resolution": full_resolution,
        "edges_from_photo": edges_from_photo,
    }


def _sketch_tab(task: Task) -> dict[str, Any]:
    """A canvas with the task's brushes and their legend, and the sketch's translation; for tasks that translate
    photos (where drawing makes no sense) a note instead (Gradio cannot hide a tab after the page is built)."""
    with gr.Tab("Sketch", id="sketch"):
        no_sketch = gr.Markdown(NO_SKETCH, visible=not task.sketchable, elem_id="sketch-unavailable")
        with gr.Column(visible=task.sketchable) as sketch_area:
            with gr.Row():
                with gr.Column():
                    sketch = sketch_editor(task, "sketch-input")
                    legend = gr.HTML(
                        palette_legend(task), js_on_load=MARGIN_STROKES_JS + SWATCH_LABELS_JS, elem_id="sketch-legend"
                    )
                sketch_output = gr.Image(
                    label="Output",
                    format="png",
                    interactive=False,
                    buttons=["download"],
                    height=SKETCH_HEIGHT,  # as tall as the canvas beside it
                    elem_id="sketch-output",
                )
            sketch_button = gr.Button("Translate sketch", variant="primary", elem_id="sketch-button")
    return {
        "sketch": sketch,
        "sketch_area": sketch_area,
        "no_sketch": no_sketch,
        "legend": legend,
        "sketch_output": sketch_output,
        "sketch_button": sketch_button,
    }


def compare_text(task: Task) -> str:
    """What the Compare tab offers for this task: paired data has a real image to compare with, unpaired has none."""
    if task.paired:
        return "Drag the handles. Pick an example to compare the output with the real image, too."
    return "Drag the handles. This model learnt from unpaired photos: there is no real image of the output to compare."


def _compare_tab(task: Task) -> dict[str, Any]:
    """Before/after sliders: input against output, and output against the real image."""
    with gr.Tab("Compare", id="compare"):
        compare_hint = gr.Markdown(compare_text(task), elem_id="compare-hint")
        with gr.Row():
            slider = {"type": "pil", "max_height": 420}
            compare = gr.ImageSlider(label="Input ↔ output", elem_id="compare-io", **slider)
            compare_truth = gr.ImageSlider(
                label="Output ↔ ground truth", visible=False, elem_id="compare-truth", **slider
            )
    return {"compare": compare, "compare_truth": compare_truth, "compare_hint": compare_hint}


def _connect(w: Widgets) -> None:
    """Wire the events: task changes, the three ways to translate, and the result display after each."""
    model_event = {**MODEL_EVENT, "preprocess": False}

    def then_show(event, output: gr.Image) -> None:
        """After a translation its latency line and Compare sliders; after a failed one its tab's output, the
        latency line and Compare emptied, so that nothing of the request before stays on show."""
        displays = [w.latency, w.compare, w.compare_truth]
        event.success(show_result, [w.result, w.example_target], displays, api_visibility="private")
        event.failure(clear_result, None, [w.latency, output, w.compare, w.compare_truth], api_visibility="private")

    w.task_choice.change(
        select_task,
        w.task_choice,
        [w.task_card, w.examples, w.sketch, w.sketch_area, w.no_sketch, w.full_resolution, w.edges_from_photo]
        + [w.compare_hint, w.legend]
        + [w.upload_input]
        + [w.upload_output]
        + [w.sketch_output]
        + [w.example_target, w.compare, w.compare_truth, w.latency],
        api_visibility="private",
    )
    then_show(
        w.upload_button.click(
            translate,
            [w.task_choice, w.upload_input, w.full_resolution, w.edges_from_photo],
            [w.upload_output, w.result],
            api_name="translate",
            **model_event,
        ),
        w.upload_output,
    )
    w.upload_input.upload(lambda: None, None, w.example_target, api_visibility="private")
    w.upload_input.upload(check_upload, w.upload_input, None, api_visibility="private", preprocess=False).failure(
        lambda: None, None, w.upload_input, api_visibility="private"
    )
    then_show(
        w.examples.click(
            pick_example,
            [w.task_choice, w.examples],
            [w.upload_input, w.example_target, w.sketch, w.edges_from_photo],
            api_visibility="private",
        ).then(
            translate,
            [w.task_choice, w.upload_input, w.full_resolution],
            [w.upload_output, w.result],
            api_visibility="private",
            **model_event,
        ),
        w.upload_output,
    )
    # the editor's layers arrive as blobs: Gradio assembles the composite (preprocess)
    then_show(
        w.sketch_button.click(
            translate_sketch,
            [w.task_choice, w.sketch],
            [w.sketch_output, w.result],
            api_visibility="private",
            **{**model_event, "preprocess": True},
        ),
        w.sketch_output,
    )


def picker_for_tab(selected: gr.SelectData) -> gr.Column:
    """The task picker and its examples apply to every tab but Dance (one subject, its own inputs): hidden there."""
    return gr.Column(visible=selected.value != "Dance")


def build_demo() -> gr.Blocks:
    """The whole UI, driven by the task registry; it opens on the first task this machine has weights for."""
    with_weights = [task.name for task in TASKS.values() if task.has_local_weights()]
    task = get_task(with_weights[0] if with_weights else next(iter(TASKS)))
    missing = [name for name in TASKS if name not in with_weights]
    with gr.Blocks(title="pix2pix", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown("# pix2pix: image-to-image translation\nPick a task, then draw, upload or compare.")
        if missing:
            gr.Markdown(f"Tasks without weights on this machine: {', '.join(f'`{name}`' for name in missing)}.")
        with gr.Column(elem_id="task-picker") as picker:
            widgets = _task_picker(task)
        widgets |= {"example_target": gr.State(None), "result": gr.State(None)}
        with gr.Tabs() as tabs:
            widgets |= _upload_tab(task)
            widgets |= _sketch_tab(task)
            variations_tab(task, widgets["task_choice"], widgets["examples"], tabs)
            widgets |= _compare_tab(task)
            web_tab(widgets["task_choice"])
            dance_tab()
        widgets["latency"] = gr.Markdown(elem_id="latency")
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS)
        _connect(Widgets(**widgets))
        tabs.select(picker_for_tab, None, picker, api_visibility="private")
    return demo
