"""The translation tasks the Space offers, as data: what each one takes, where its weights live, how to draw its input.

Task names follow the reference implementation's pretrained models (`facades_label2photo`, `sat2map`, ...). A
task's weights come from, in order: the folder or Hub repo named by `PIX2PIX_MODEL_<TASK>` (an override for any
task), else the bundled folder `weights/<task>/` and the Hub repo `hub_repo_id` — bundled first when the Hub is
offline (`HF_HUB_OFFLINE=1`, or it does not answer), the Hub first otherwise.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from huggingface_hub import constants, try_to_load_from_cache
from huggingface_hub.utils import get_session

from pix2pix_hub.hub import WEIGHTS_NAME
from pix2pix_hub.inference.pipeline import Pix2PixPipeline
from pix2pix_hub.methods import get_method
from pix2pix_hub.palettes import CITYSCAPES_CLASSES, FACADE_CLASSES, MAP_CLASSES, LabelClass

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO_ROOT / "weights"
EXAMPLES_DIR = REPO_ROOT / "examples"
HUB_ORG = "pix2pix-hub"

InputKind = Literal["labels", "edges", "photo", "grayscale"]


def hub_online() -> bool:
    """Whether to use the Hub: not switched off, and it answers (a machine without network must not wait on it)."""
    return not constants.is_offline_mode() and _answers(constants.ENDPOINT)


@functools.cache
def _answers(endpoint: str) -> bool:
    """One quick probe per endpoint; any HTTP answer counts, no answer within 3 s does not."""
    try:
        get_session().head(endpoint, timeout=3)
    except Exception:  # DNS failure, refused connection, timeout
        return False
    return True


@dataclass(frozen=True)
class Example:
    """A bundled input and, for paired data, the real target it should translate to."""

    input: Path
    target: Path | None = None


@dataclass(frozen=True)
class Task:
    """One image-to-image translation: its description, its input kind and where its model comes from."""

    name: str
    title: str
    description: str
    source: str  # what the user gives: "label map", "aerial photo", ...
    target: str  # what the model returns
    input_kind: InputKind
    dataset: str  # the reference implementation's data set name, for the training hint
    train_direction: Literal["AtoB", "BtoA"]  # which half of that data set's "AB" images is the input
    palette: tuple[LabelClass, ...] = ()  # for "labels": the classes, background first
    examples: tuple[Example, ...] = ()
    method: str = "pix2pix"  # the paper whose method made the weights (`--method` of the trainer)
    weights: str | None = None  # the bundled folder / Hub repo name when several tasks share one (default: name)
    subfolder: str | None = None  # the model inside it (a CycleGAN's "AtoB" or "BtoA")
    full_resolution: bool = False  # Upload offers "keep full resolution": inputs at any scale (aerial photos, maps)
    edges_from_photo: bool = False  # Upload offers "edges from a photo": a photo's edge map, drawn as in the data
    first_brush: str | None = None  # for "labels": the class the Sketch tab starts with (default: the first after
    # the background), one that stands out on the background
    paired: bool = True  # trained on (input, target) pairs, so its examples have a real target to compare with
    variations: bool = False  # its generator takes a latent code: many outputs per input (the Many ways tab)

    @property
    def paper(self) -> str:
        """Which paper and method made the model, for the task card."""
        return get_method(self.method).description

    @property
    def sketchable(self) -> bool:
        """Whether drawing the input makes sense (labels, edges), or only uploads do (photos)."""
        return self.input_kind != "photo"

    @property
    def direction(self) -> str:
        """What goes in and what comes out, for the latency line."""
        return f"{self.source} → {self.target}"

    @property
    def hub_repo_id(self) -> str:
        """Where the project publishes this task's weights."""
        return f"{HUB_ORG}/{self.method}-{(self.weights or self.name).replace('_', '-')}"

    @property
    def bundled_dir(self) -> Path:
        """The weights shipped with the Space, usable without network."""
        return WEIGHTS_DIR / (self.weights or self.name)

    @property
    def weights_file(self) -> str:
        """The weights file's path inside a model folder or Hub repo."""
        return f"{self.subfolder}/{WEIGHTS_NAME}" if self.subfolder else WEIGHTS_NAME

    @property
    def override_env(self) -> str:
        """The environment variable that points this task at any folder or Hub repo."""
        return f"PIX2PIX_MODEL_{self.name.upper()}"

    @property
    def background(self) -> tuple[int, int, int]:
        """The colour a blank sketch starts with: the background class, or white paper."""
        return self.palette[0].color if self.palette else (255, 255, 255)

    @property
    def starting_brush(self) -> LabelClass:
        """The label class the Sketch tab's brush starts with."""
        if self.first_brush is None:
            return self.palette[1]
        return next(label for label in self.palette if label.name == self.first_brush)

    def model_sources(self) -> list[str]:
        """Where to look for weights, in the order they are tried."""
        override = os.environ.get(self.override_env, "").strip()
        if override:
            return [override]
        bundled = [str(self.bundled_dir)] if (self.bundled_dir / self.weights_file).is_file() else []
        if hub_online():
            return [self.hub_repo_id] + bundled
        return bundled + [self.hub_repo_id]

    def has_local_weights(self) -> bool:
        """True when weights can load without the network: an override, the bundled folder or the HF cache."""
        for source in self.model_sources():
            if Path(source).is_dir():
                if (Path(source) / self.weights_file).is_file():
                    return True
            elif isinstance(try_to_load_from_cache(source, self.weights_file), str):
                return True
        return False

    def load_pipeline(self, device: str | None = None) -> Pix2PixPipeline:
        """Load the first source that works; the error lists every attempt and how to get weights."""
        failures = []
        offline = not hub_online()  # then a Hub repo id loads from the local HF cache or not at all, at once
        for source in self.model_sources():
            try:
                return Pix2PixPipeline.from_pretrained(
                    source, device=device, local_files_only=offline, subfolder=self.subfolder
                )
            except Exception as error:  # a missing repo, no network, a bad folder: try the next source
                first_line = next(iter(str(error).splitlines()), "")
                failures.append(f"{source}: {type(error).__name__}: {first_line}")
        raise FileNotFoundError(
            f"no weights for task {self.name!r} ({'; '.join(failures)}). {self.how_to_get_weights()}"
        )

    def how_to_get_weights(self) -> str:
        """The commands that give a task without weights some, for error messages and the task card."""
        data = f"{self.dataset.upper()}_{'PAIRS' if self.paired else 'DOMAINS'}"
        method = "" if self.method == "pix2pix" else f" --method {self.method}"
        folder = f"weights/{self.weights or self.name}"
        return (
            f"Train them with `accelerate launch train_accelerate.py{method} --dataset {data} "
            f"--direction {self.train_direction} --output_dir {folder}`, or point the app at any Hub "
            f"repo or folder with `{self.override_env}=REPO_ID_OR_FOLDER`."
        )


def _examples(task: str, count: int, paired: bool = True) -> tuple[Example, ...]:
    """The bundled `examples/<task>/<i>_input.jpg` files with their `<i>_target.jpg` ground truth (paired data)."""
    return tuple(
        Example(
            EXAMPLES_DIR / task / f"{index}_input.jpg", EXAMPLES_DIR / task / f"{index}_target.jpg" if paired else None
        )
        for index in range(1, count + 1)
    )


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="facades_label2photo",
            title="Facades: labels → photo",
            description="Paint a building front with the 12 CMP facade classes; the model renders a photo of it.",
            source="label map",
            target="photo",
            input_kind="labels",
            dataset="facades",
            train_direction="BtoA",
            palette=FACADE_CLASSES,
            examples=_examples("facades_label2photo", 3),
            first_brush="window",  # "facade", blue on the dark blue background, hardly shows
        ),
        Task(
            name="sat2map",
            title="Maps: aerial photo → map",
            description="An aerial photo of Manhattan in, a Google-Maps-style map tile out.",
            source="aerial photo",
            target="map",
            input_kind="photo",
            dataset="maps",
            train_direction="AtoB",
            examples=_examples("sat2map", 3),
            full_resolution=True,
        ),
        Task(
            name="map2sat",
            title="Maps: map → aerial photo",
            description="Draw a map tile (land, water, parks, roads); the model imagines the aerial photo.",
            source="map",
            target="aerial photo",
            input_kind="labels",
            dataset="maps",
            train_direction="BtoA",
            palette=MAP_CLASSES,
            examples=_examples("map2sat", 3),
            full_resolution=True,
        ),
        Task(
            name="edges2shoes",
            title="Edges → shoes",
            description="Sketch a shoe's outline in thin black lines, or let the app draw the edges of a shoe photo; "
            "the model fills in a product photo.",
            source="edge map",
            target="photo",
            input_kind="edges",
            dataset="edges2shoes",
            train_direction="BtoA",  # this data set has the photo on the left, the reverse of pix2pix's release
            examples=_examples("edges2shoes", 3),
            edges_from_photo=True,
        ),
        Task(
            name="edges2shoes_bicyclegan",
            title="Sketch → shoes, many ways (BicycleGAN)",
            description="Sketch a shoe's outline, or let the app draw a photo's edges; the model imagines many shoes "
            "for it, one per latent code, or one in the colours of a shoe photo you give.",
            source="edge map",
            target="photos",
            input_kind="edges",
            dataset="edges2shoes",
            train_direction="BtoA",  # as the pix2pix edges2shoes task: photo on the left in this data set
            examples=_examples("edges2shoes", 3),
            method="bicyclegan",
            edges_from_photo=True,
            variations=True,
        ),
        Task(
            name="apple2orange",
            title="Apples → oranges (CycleGAN)",
            description="A photo of apples in, the same scene with oranges out: learnt from unpaired photos.",
            source="apple photo",
            target="orange photo",
            input_kind="photo",
            dataset="apple2orange",
            train_direction="AtoB",
            examples=_examples("apple2orange", 3, paired=False),
            method="cyclegan",
            paired=False,
            weights="apple2orange",
            subfolder="AtoB",
        ),
        Task(
            name="orange2apple",
            title="Oranges → apples (CycleGAN)",
            description="A photo of oranges in, apples out: the other direction of the same CycleGAN.",
            source="orange photo",
            target="apple photo",
            input_kind="photo",
            dataset="apple2orange",
            train_direction="AtoB",
            examples=_examples("orange2apple", 3, paired=False),
            method="cyclegan",
            paired=False,
            weights="apple2orange",
            subfolder="BtoA",
        ),
        Task(
            name="cityscapes_label2photo",
            title="Cityscapes: labels → street photo",
            description="Paint a street scene with the Cityscapes classes; the model renders a photo of it.",
            source="label map",
            target="photo",
            input_kind="labels",
            dataset="cityscapes",
            train_direction="BtoA",
            palette=CITYSCAPES_CLASSES,
            examples=_examples("cityscapes_label2photo", 3),
            first_brush="road",
        ),
        Task(
            name="cityscapes_photo2label",
            title="Cityscapes: street photo → labels",
            description="A street photo from a car in, its Cityscapes label map (road, car, person, ...) out.",
            source="street photo",
            target="label map",
            input_kind="photo",
            dataset="cityscapes",
            train_direction="AtoB",
            examples=_examples("cityscapes_photo2label", 3),
        ),
    )
}


def get_task(name: str) -> Task:
    """Look a task up by name, with an error that lists the names that exist."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None
