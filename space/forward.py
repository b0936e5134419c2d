"""One model per task per process, shared by every request: loaded once, its forward passes batched across callers
(`pix2pix_hub.inference.batching`)."""

from __future__ import annotations

import threading

import gradio as gr

from pix2pix_hub.inference.batching import SharedBatches
from pix2pix_hub.inference.pipeline import Pix2PixPipeline

from .tasks import TASKS, Task

_models: dict[str, SharedBatches] = {}
_full_resolution: dict[str, Pix2PixPipeline] = {}
_loading = {name: threading.Lock() for name in TASKS}  # one load at a time per task; other tasks stay free
_reported: dict[str, str] = {}  # the load failure last logged per task: each is logged once, not per request


def model_for(task: Task) -> SharedBatches:
    """Load a task's model once per process; a failed load is retried on the next request."""
    with _loading[task.name]:
        if task.name not in _models:
            try:
                _models[task.name] = SharedBatches(task.load_pipeline().warm_up())  # the ONNX graph too
            except FileNotFoundError as error:
                if _reported.get(task.name) != str(error):
                    _reported[task.name] = str(error)
                    print(f"[pix2pix app] {error}", flush=True)
                message = f"No weights for {task.title} yet. {task.how_to_get_weights()}"
                raise gr.Error(message, print_exception=False) from None
        return _models[task.name]


def full_resolution_model(task: Task) -> Pix2PixPipeline:
    """The task's model in `tiled` mode (any size, bounded memory), sharing the weights `model_for` loaded."""
    pipeline = model_for(task).pipeline
    with _loading[task.name]:
        if task.name not in _full_resolution:
            _full_resolution[task.name] = Pix2PixPipeline(
                pipeline.generator, pipeline.device, backend=pipeline.backend, mode="tiled"
            )
        return _full_resolution[task.name]


def warm_up() -> None:
    """Load every model this machine has while the server starts, so that no user waits for a load."""
    for task in TASKS.values():
        if task.has_local_weights():
            try:
                model_for(task)
            except gr.Error as error:
                print(f"[pix2pix app] {task.name}: {error.message}", flush=True)
