"""Do as I do (Everybody Dance Now): a video of someone dancing in, the trained subject performing the same moves out.

    python -m pix2pix_hub.dance SOURCE.mp4 --model weights/edn_subject --out dance.mp4

Each frame's pose is detected (`pose_detection`, BlazePose), the keypoints are smoothed over time
(`pose.smooth_poses`), fitted to the subject's body with the paper's global pose normalisation (`pose.normalise_poses`:
the source video's own ankle and height statistics against the subject's, stored in the model's `dance.json`),
rendered as the training data's stick figures and turned into frames by the generator, each from the one before.
The video written shows the source, the fitted stick figure and the subject side by side, at the source's frame
rate and with its sound.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .images import image_to_tensor, tensor_to_image
from .inference.fast.int8 import find_calibration
from .inference.runner import Runner
from .inference.sequence import generate_sequence
from .networks import Pix2PixGenerator
from .pose import BodyStats, Pose, normalise_poses, render_pose, smooth_poses
from .video import Video, read_video, write_video

CANVAS = 256  # the data's frames and skeletons
MAX_SECONDS = 20.0
SOURCE_HEIGHT = 512  # source frames are scaled down to this while decoding: enough for the detector, light in memory
SMOOTHING_SECONDS = 1 / 30  # the keypoints' Gaussian smoothing over time (one frame of a 30 fps video)
Progress = Callable[[str, int, int], None]  # (stage, frames done, frames in all)


@dataclass
class Dancer:
    """A trained subject: the runner of its generator, its input size, the subject's body statistics and the test
    poses."""

    runner: Runner
    size: int
    fps: float
    subject: BodyStats
    test_poses: list[Pose]

    @property
    def generator(self) -> Pix2PixGenerator:
        return self.runner.generator

    def frames(self, poses: list[Pose], on_frame=None) -> list[Image.Image]:
        """The subject in each pose (CANVAS x CANVAS), each frame generated from the one before."""
        side = (self.size, self.size)
        inputs = [
            image_to_tensor(render_pose(p, (CANVAS, CANVAS)).resize(side, Image.Resampling.BICUBIC)) for p in poses
        ]
        with torch.no_grad():
            outputs = generate_sequence(self.runner, torch.stack(inputs), None, on_frame)
        return [tensor_to_image(frame).resize((CANVAS, CANVAS), Image.Resampling.BICUBIC) for frame in outputs]


@functools.cache
def load_dancer(folder: str) -> Dancer:
    """The generator and its `dance.json` (size, frame rate, subject statistics, test poses), loaded once."""
    path = Path(folder)
    if not (path / "dance.json").is_file():
        raise FileNotFoundError(f"{path}: no Everybody Dance Now model (dance.json) here.")
    meta = json.loads((path / "dance.json").read_text(encoding="utf-8"))
    generator = Pix2PixGenerator.from_pretrained(path).eval()
    size = int(meta["size"])
    runner = Runner(generator, size=size, int8_calibration=find_calibration(path))
    poses = [Pose(np.asarray(body, dtype=np.float64), (CANVAS, CANVAS)) for body in meta["test_poses"]]
    return Dancer(runner, size, float(meta["fps"]), BodyStats.from_dict(meta["subject"]), poses)


def fit_to_subject(poses: list[Pose], subject: BodyStats, fps: float) -> list[Pose]:
    """Detected poses smoothed over time and normalised onto the subject's body and canvas."""
    steady = smooth_poses(poses, SMOOTHING_SECONDS * fps)
    return normalise_poses(steady, BodyStats.of(steady), subject)


def side_by_side(*columns: list[Image.Image]) -> list[Image.Image]:
    """Frame by frame, the columns' images next to each other, each scaled to CANVAS pixels high."""
    joined = []
    for images in zip(*columns, strict=True):
        scaled = [image.resize((round(image.width * CANVAS / image.height), CANVAS)) for image in images]
        frame = Image.new("RGB", (sum(image.width for image in scaled), CANVAS), (255, 255, 255))
        for image, left in zip(scaled, np.cumsum([0] + [image.width for image in scaled[:-1]]), strict=True):
            frame.paste(image.convert("RGB"), (int(left), 0))
        joined.append(frame)
    return joined


def perform(dancer: Dancer, video: Video, on_progress: Progress | None = None) -> list[Image.Image]:
    """The subject doing what the person in the video does: frames of source | fitted stick figure | subject."""
    from .pose_detection import detect_poses

    total = len(video.frames)

    def report(stage: str) -> Callable[[int], None] | None:
        return None if on_progress is None else lambda index: on_progress(stage, index + 1, total)

    poses = fit_to_subject(detect_poses(video.frames, on_frame=report("Finding the poses")), dancer.subject, video.fps)
    subject = dancer.frames(poses, on_frame=report("Dancing"))
    return side_by_side(video.frames, [render_pose(pose, (CANVAS, CANVAS)) for pose in poses], subject)


def dance_video(dancer: Dancer, source: str | Path, out: str | Path, on_progress: Progress | None = None) -> Video:
    """Read `source` (at most MAX_SECONDS), perform it and write the side-by-side mp4 to `out`, with the source's
    sound; the video written."""
    video = read_video(source, MAX_SECONDS, SOURCE_HEIGHT)
    frames = perform(dancer, video, on_progress)
    write_video(frames, video.fps, out, audio_from=source if video.has_audio else None)
    return Video(frames, video.fps, video.has_audio)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help=f"a video of one person, full body in view (at most {MAX_SECONDS:g} s)")
    parser.add_argument("--model", default="weights/edn_subject", help="an Everybody Dance Now folder (dance.json)")
    parser.add_argument("--out", default="dance.mp4", help="the mp4 to write: source | stick figure | subject")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        made = dance_video(load_dancer(args.model), args.source, args.out)
    except (FileNotFoundError, ValueError, ImportError) as error:
        raise SystemExit(f"error: {error}") from None
    seconds = time.perf_counter() - started
    print(
        f"{args.out}: {len(made.frames)} frames at {made.fps:g} fps ({made.seconds:.1f} s of video) in {seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
