"""The Dance tab: a pose sequence in, an mp4 of the Everybody Dance Now subject performing it out; and one pose to
edit joint by joint.

Poses come as the bundled test sequence (keypoints read from the held-out edn_pose skeletons), OpenPose JSON files
(BODY_25 or COCO-18, one per frame) or stick-figure images drawn as the data's; uploaded poses are fitted to the
subject's body (`pix2pix_hub.pose.normalise_poses`, the paper's Sec. 3.2) and rendered as the training data's
skeletons. The generator makes each frame from its pose and the frame before (`generate_sequence`), on the CPU
through ONNX Runtime (int8 where the model ships a calibration) as the image tasks' pipelines do. No pose detector
runs here: no maintained package ships its weights (mediapipe 1.2.3's wheel holds no model; rtmlib, ultralytics
and controlnet_aux download theirs at first use), so run OpenPose on your video and upload its JSON.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import torch
from PIL import Image

from pix2pix_hub.images import IMAGE_EXTENSIONS, image_to_tensor, open_image, tensor_to_image
from pix2pix_hub.inference.fast.int8 import find_calibration
from pix2pix_hub.inference.runner import Runner
from pix2pix_hub.inference.sequence import generate_sequence
from pix2pix_hub.networks import Pix2PixGenerator
from pix2pix_hub.pose import (
    JOINTS,
    BodyStats,
    Pose,
    normalise_poses,
    read_openpose_json,
    read_stick_figure,
    render_pose,
)

from .tasks import WEIGHTS_DIR

MODEL_ENV = "PIX2PIX_MODEL_EDN_SUBJECT"
CANVAS = 256  # the data's frames and skeletons
MAX_FRAMES = 300
PROGRESS = gr.Progress()  # Gradio fills a handler's Progress default with the request's progress bar
TEST_SEQUENCE = "Test sequence (the subject's 100 held-out poses)"
MY_FILES = "My files (OpenPose JSON or stick-figure images)"
TRAIN_HINT = (
    "Train them with `bash recipes/everybody_dance_now.sh` (needs ../shared/data/edn_pose), or point the app at a "
    f"folder made by `--method everybody_dance_now` with `{MODEL_ENV}=FOLDER`."
)


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


def model_folder() -> Path:
    return Path(os.environ.get(MODEL_ENV, "").strip() or WEIGHTS_DIR / "edn_subject")


@functools.cache
def load_dancer(folder: str) -> Dancer:
    """The generator and its `dance.json` (size, frame rate, subject statistics, test poses), loaded once."""
    path = Path(folder)
    if not (path / "dance.json").is_file():
        raise FileNotFoundError(f"{path}: no Everybody Dance Now model (dance.json) here. {TRAIN_HINT}")
    meta = json.loads((path / "dance.json").read_text(encoding="utf-8"))
    generator = Pix2PixGenerator.from_pretrained(path).eval()
    size = int(meta["size"])
    runner = Runner(generator, size=size, int8_calibration=find_calibration(path))
    poses = [Pose(np.asarray(body, dtype=np.float64), (CANVAS, CANVAS)) for body in meta["test_poses"]]
    return Dancer(runner, size, float(meta["fps"]), BodyStats.from_dict(meta["subject"]), poses)


def dancer() -> Dancer:
    try:
        return load_dancer(str(model_folder()))
    except FileNotFoundError as error:
        raise gr.Error(str(error), print_exception=False) from None


def read_pose_files(paths: list[str]) -> tuple[list[Pose], str]:
    """Poses from uploaded files in name order: OpenPose JSON or stick-figure images (not both); a line saying
    what was read."""
    paths = sorted(paths, key=lambda p: Path(p).name)
    kinds = {"json" if Path(p).suffix.lower() == ".json" else "image" for p in paths}
    if not paths:
        raise gr.Error("Upload OpenPose JSON files or stick-figure images, one per frame.", print_exception=False)
    bad = [Path(p).name for p in paths if Path(p).suffix.lower() not in (".json", *IMAGE_EXTENSIONS)]
    if bad or len(kinds) > 1:
        what = f"{', '.join(bad)}: neither JSON nor an image" if bad else "a mix of JSON files and images"
        raise gr.Error(f"{what}; upload one kind, one file per frame.", print_exception=False)
    try:
        if kinds == {"json"}:
            return [read_openpose_json(p) for p in paths], f"{len(paths)} OpenPose JSON files"
        return [read_stick_figure(open_image(p)) for p in paths], f"{len(paths)} stick-figure images"
    except ValueError as error:
        raise gr.Error(str(error).replace(str(Path(paths[0]).parent) + "/", ""), print_exception=False) from None


def write_video(frames: list[Image.Image], fps: float) -> str:
    """An H.264 mp4 (yuv420p, plays in browsers) of the frames, by the ffmpeg that imageio-ffmpeg ships."""
    import imageio_ffmpeg

    folder = Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir()) / "dance"
    folder.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(dir=folder, suffix=".mp4")
    os.close(handle)
    width, height = frames[0].size
    writer = imageio_ffmpeg.write_frames(
        path, (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=16,
        output_params=["-crf", "20"],
    )  # fmt: skip
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(np.asarray(frame.convert("RGB"))))
    writer.close()
    return path


def dance(source: str, files: list[str] | None, count: int, fit: bool, progress=PROGRESS) -> tuple[str, str]:
    """The Dance button: poses in, an mp4 of the subject and a line about what was made."""
    subject = dancer()
    if source == TEST_SEQUENCE:
        poses, what = subject.test_poses, "the test sequence"
    else:
        poses, what = read_pose_files(files or [])
        if fit:
            poses = normalise_poses(poses, BodyStats.of(poses), subject.subject)
            what += ", fitted to the subject's body"
        else:
            poses = [p.transformed(CANVAS / p.size[1], (0.0, 0.0), (CANVAS, CANVAS)) for p in poses]
    poses = poses[: max(1, min(int(count), MAX_FRAMES))]
    progress(0, desc="Dancing", total=len(poses), unit="frames")
    frames = subject.frames(poses, on_frame=lambda t: progress((t + 1, len(poses)), desc="Dancing", unit="frames"))
    return write_video(frames, subject.fps), f"{len(frames)} frames from {what}, {len(frames) / subject.fps:.1f} s"


def first_pose() -> list[list[float]] | None:
    try:
        return dancer().test_poses[0].body.tolist()
    except gr.Error:
        return None


def show_pose(body: list[list[float]] | None) -> tuple[Image.Image | None, Image.Image | None]:
    """The edited pose as a stick figure and the subject standing in it (one frame, from a blank previous one)."""
    if body is None:
        return None, None
    pose = Pose(np.asarray(body, dtype=np.float64), (CANVAS, CANVAS))
    return render_pose(pose), dancer().frames([pose])[0]


def pick_joint(body: list[list[float]] | None, joint: str):
    """Put the sliders on the chosen joint."""
    if body is None:
        return gr.skip(), gr.skip()
    x, y, _ = body[JOINTS.index(joint)]
    return gr.Slider(value=round(x)), gr.Slider(value=round(y))


def move_joint(body: list[list[float]] | None, joint: str, x: float, y: float):
    """Move a joint (a missing one appears) and show the new stick figure and frame."""
    if body is None:
        raise gr.Error(f"No Everybody Dance Now model on this machine. {TRAIN_HINT}", print_exception=False)
    body = [list(row) for row in body]
    body[JOINTS.index(joint)] = [float(x), float(y), 1.0]
    return (body, *show_pose(body))


def dance_tab() -> None:
    """The tab's layout and events (inside the page's Tabs)."""
    body = first_pose()
    with gr.Tab("Dance", id="dance"):
        gr.Markdown(
            "**Everybody Dance Now** (Chan, Ginosar, Zhou, Efros, ICCV 2019): pose stick figures to video of one "
            "person, each frame made from its pose and the frame before. Pick a pose sequence and get an mp4 of the "
            "subject performing it. No pose detector runs here (no package ships its weights): run OpenPose on "
            "your video and upload its `*_keypoints.json` files, or stick figures drawn in OpenPose's colours."
            + ("" if body is not None else f"\n\n⚠️ **No model on this machine.** {TRAIN_HINT}")
        )
        with gr.Row():
            with gr.Column():
                source = gr.Radio([TEST_SEQUENCE, MY_FILES], value=TEST_SEQUENCE, label="Poses", elem_id="dance-source")
                files = gr.File(
                    file_count="multiple", file_types=[".json", "image"], type="filepath",
                    label="One file per frame, in time order by name", elem_id="dance-files",
                )  # fmt: skip
                count = gr.Slider(1, MAX_FRAMES, value=24, step=1, label="Frames (at most)", elem_id="dance-count")
                fit = gr.Checkbox(True, label="Fit uploaded poses to the subject's body (scale and position)")
                button = gr.Button("Dance", variant="primary", elem_id="dance-button")
            with gr.Column():
                video = gr.Video(label="The subject dancing", autoplay=True, loop=True, elem_id="dance-video")
                made = gr.Markdown(elem_id="dance-made")
        gr.Markdown("**One pose.** Choose a joint and move it; the subject follows.")
        state = gr.State(body)
        with gr.Row():
            joint = gr.Dropdown(list(JOINTS), value="right_wrist", label="Joint", elem_id="dance-joint")
            start = body[JOINTS.index("right_wrist")] if body else (0, 0, 0)
            x = gr.Slider(0, CANVAS - 1, value=round(start[0]), step=1, label="x", elem_id="dance-x")
            y = gr.Slider(0, CANVAS - 1, value=round(start[1]), step=1, label="y", elem_id="dance-y")
        with gr.Row():
            figure, frame = show_pose(body)
            figure = gr.Image(figure, label="Stick figure", format="png", elem_id="dance-figure")
            frame = gr.Image(frame, label="The subject", format="png", elem_id="dance-frame")
    button.click(dance, [source, files, count, fit], [video, made], api_name="dance", concurrency_limit=2)
    joint.change(pick_joint, [state, joint], [x, y], api_visibility="private")
    for slider in (x, y):
        slider.release(move_joint, [state, joint, x, y], [state, figure, frame], api_visibility="private")
