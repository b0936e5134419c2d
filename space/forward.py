"""One model per task per process, shared by every request: loaded once, its forward passes batched across callers."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import gradio as gr
import numpy as np
from PIL import Image

from pix2pix_hub.inference.pipeline import Pix2PixPipeline

from .tasks import TASKS, Task

MAX_BATCH_SIZE = 8  # images per shared forward pass


@dataclass
class _Request:
    pixels: np.ndarray  # the model's input, uint8 (H, W, C)
    done: threading.Event = field(default_factory=threading.Event)
    output: np.ndarray | None = None
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
        request = _Request(self.pipeline.model_input(image))
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
        return self.pipeline.restore_size(request.output, size)

    def _run(self, batch: list[_Request]) -> None:
        try:
            outputs = self.pipeline.forward_pixels(np.stack([request.pixels for request in batch]))
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
_full_resolution: dict[str, Pix2PixPipeline] = {}
_loading = {name: threading.Lock() for name in TASKS}  # one load at a time per task; other tasks stay free
_reported: dict[str, str] = {}  # the load failure last logged per task: each is logged once, not per request


def model_for(task: Task) -> SharedForward:
    """Load a task's model once per process; a failed load is retried on the next request."""
    with _loading[task.name]:
        if task.name not in _models:
            try:
                _models[task.name] = SharedForward(task.load_pipeline().warm_up())  # the ONNX graph too
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
