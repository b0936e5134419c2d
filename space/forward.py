"""One model per task per process, shared by every request: loaded once, its forward passes batched across callers
(`pix2pix_hub.inference.batching`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import gradio as gr

from pix2pix_hub.inference.batching import SharedBatches
from pix2pix_hub.inference.pipeline import Pix2PixPipeline

from .tasks import TASKS, Task

CONCURRENCY_LIMIT = 16  # requests inside the model handlers at once (they queue for a shared pass)
MODEL_EVENT = {"concurrency_id": "model", "concurrency_limit": CONCURRENCY_LIMIT}  # every event that runs a model
_models: dict[str, SharedBatches] = {}
_full_resolution: dict[str, Pix2PixPipeline] = {}
_loading = {name: threading.Lock() for name in TASKS}  # one load at a time per task; other tasks stay free
_reported: dict[str, str] = {}  # the load failure last logged per task: each is logged once, not per request
Made = TypeVar("Made")


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


def between_shared_passes(task: Task, work: Callable[[Pix2PixPipeline], Made]) -> Made:
    """`work(pipeline)` with the task's shared model, between two of its shared passes: a request that is a batch of
    its own (k variations of one input) runs whole, never on the same cores at once as another pass."""
    shared = model_for(task)
    with shared.run_lock:
        return work(shared.pipeline)


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
