"""Batches across callers: one pipeline for many threads (the app's requests), each forward pass shared.

Requests that arrive while a forward pass runs go into the next pass together, up to `max_batch_size` images.
Each caller prepares its own image first, so one caller's bad upload fails that caller alone: only valid inputs
ever meet in a batch.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .pipeline import Pix2PixPipeline

MAX_BATCH_SIZE = 8  # images per shared forward pass


@dataclass
class _Request:
    pixels: np.ndarray  # the model's input, uint8 (H, W, C)
    done: threading.Event = field(default_factory=threading.Event)
    output: np.ndarray | None = None
    error: BaseException | None = None


class SharedBatches:
    """`shared(image, size)`: `pipeline(image)` (its `resize` mode) at `size`, in a forward pass shared with the
    requests of other threads; `batch_sizes` holds the sizes of the latest passes."""

    def __init__(self, pipeline: Pix2PixPipeline, max_batch_size: int = MAX_BATCH_SIZE):
        if pipeline.mode != "resize":
            raise ValueError(
                f"shared batches need a pipeline in mode='resize' (one size for all), not {pipeline.mode!r}"
            )
        self.pipeline = pipeline
        self.max_batch_size = max_batch_size
        self.batch_sizes: deque[int] = deque(maxlen=1000)
        self._pending: list[_Request] = []
        self._pending_lock = threading.Lock()
        self.run_lock = threading.Lock()  # held for the length of a forward pass

    def __call__(self, image: Image.Image, size: tuple[int, int] | None = None) -> Image.Image:
        """Translate one decoded image; the output has `size` (default: the image's own)."""
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
        return self.pipeline.restore_size(request.output, size or image.size)

    def _run(self, batch: list[_Request]) -> None:
        try:
            outputs = self.pipeline.runner.run({"source": np.stack([request.pixels for request in batch])})
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
