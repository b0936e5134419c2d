"""The Dance tab: a video of someone dancing, or a pose sequence, in; an mp4 of the Everybody Dance Now subject
performing it out; and one pose to edit joint by joint.

A video (uploaded or recorded with the webcam) goes through `pix2pix_hub.dance`: poses detected by BlazePose,
smoothed, fitted to the subject's body (the paper's Sec. 3.2) and generated frame by frame; the mp4 shows the source,
the fitted stick figures and the subject side by side. Poses also come as the bundled test sequence (keypoints read
from the held-out edn_pose skeletons), OpenPose JSON files (BODY_25 or COCO-18, one per frame) or stick-figure images
drawn as the data's; uploaded poses are fitted to the subject's body (`pix2pix_hub.pose.normalise_poses`) and
rendered as the training data's skeletons. The generator makes each frame from its pose and the frame before
(`generate_sequence`), on the CPU through ONNX Runtime (int8 where the model ships a calibration) as the image
tasks' pipelines do.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from pix2pix_hub.dance import CANVAS, MAX_SECONDS, Dancer, dance_video, load_dancer
from pix2pix_hub.images import IMAGE_EXTENSIONS, open_image
from pix2pix_hub.pose import (
    JOINTS,
    BodyStats,
    Pose,
    normalise_poses,
    read_openpose_json,
    read_stick_figure,
    render_pose,
)
from pix2pix_hub.video import write_video

from .tasks import WEIGHTS_DIR

MODEL_ENV = "PIX2PIX_MODEL_EDN_SUBJECT"
MAX_FRAMES = 300
PROGRESS = gr.Progress()  # Gradio fills a handler's Progress default with the request's progress bar
TEST_SEQUENCE = "Test sequence (the subject's 100 held-out poses)"
MY_FILES = "My files (OpenPose JSON or stick-figure images)"
MY_VIDEO = "My video (the subject does as you do)"
TRAIN_HINT = (
    "Train them with `bash recipes/everybody_dance_now.sh` (needs ../shared/data/edn_pose), or point the app at a "
    f"folder made by `--method everybody_dance_now` with `{MODEL_ENV}=FOLDER`."
)


def model_folder() -> Path:
    return Path(os.environ.get(MODEL_ENV, "").strip() or WEIGHTS_DIR / "edn_subject")


def dancer() -> Dancer:
    try:
        return load_dancer(str(model_folder()))
    except FileNotFoundError as error:
        raise gr.Error(f"{error} {TRAIN_HINT}", print_exception=False) from None


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


def video_path() -> Path:
    """A new mp4 path in Gradio's temporary folder (which it serves and cleans up)."""
    folder = Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir()) / "dance"
    folder.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(dir=folder, suffix=".mp4")
    os.close(handle)
    return Path(path)


def dance_to_video(clip: str | None, progress) -> tuple[str, str]:
    """A video in: the subject performing it, beside the source and the fitted stick figures."""
    if not clip:
        raise gr.Error("Upload a video or record one with the webcam first.", print_exception=False)
    subject, out = dancer(), video_path()

    def report(stage: str, done: int, total: int) -> None:
        progress((done, total), desc=stage, unit="frames")

    try:
        made = dance_video(subject, clip, out, report)
    except (ValueError, ImportError) as error:
        out.unlink(missing_ok=True)
        raise gr.Error(str(error).replace(str(Path(clip).parent) + "/", ""), print_exception=False) from None
    return str(out), (
        f"{len(made.frames)} frames at {made.fps:g} fps ({made.seconds:.1f} s) from your video, fitted to the "
        "subject's body: source | stick figure | subject"
    )


def dance(
    source: str, files: list[str] | None, count: int, fit: bool, clip: str | None = None, progress=PROGRESS
) -> tuple[str, str]:
    """The Dance button: a video or poses in, an mp4 of the subject and a line about what was made."""
    if source == MY_VIDEO:
        return dance_to_video(clip, progress)
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
    video = write_video(frames, subject.fps, video_path())
    return str(video), f"{len(frames)} frames from {what}, {len(frames) / subject.fps:.1f} s"


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
            "person, each frame made from its pose and the frame before. Upload or record a short video of someone "
            "dancing (whole body in view) and get an mp4 of the subject doing as they do: the poses are detected "
            "(MediaPipe BlazePose), smoothed and fitted to the subject's body. Or pick a pose sequence: the test "
            "sequence, OpenPose `*_keypoints.json` files, or stick figures drawn in OpenPose's colours."
            + ("" if body is not None else f"\n\n⚠️ **No model on this machine.** {TRAIN_HINT}")
        )
        with gr.Row():
            with gr.Column():
                source = gr.Radio(
                    [TEST_SEQUENCE, MY_FILES, MY_VIDEO], value=TEST_SEQUENCE, label="Poses", elem_id="dance-source"
                )
                clip = gr.Video(
                    sources=["upload", "webcam"], include_audio=True, height=280, elem_id="dance-clip",
                    label=f"Your video (at most {MAX_SECONDS:g} s; one person, whole body in view)",
                )  # fmt: skip
                files = gr.File(
                    file_count="multiple", file_types=[".json", "image"], type="filepath",
                    label="One file per frame, in time order by name", elem_id="dance-files",
                )  # fmt: skip
                count = gr.Slider(
                    1,
                    MAX_FRAMES,
                    value=24,
                    step=1,
                    label="Frames (at most; a video keeps all of its own)",
                    elem_id="dance-count",
                )
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
    button.click(dance, [source, files, count, fit, clip], [video, made], api_name="dance", concurrency_limit=2)
    clip.change(lambda path: MY_VIDEO if path else gr.skip(), clip, source, api_visibility="private")
    joint.change(pick_joint, [state, joint], [x, y], api_visibility="private")
    for slider in (x, y):
        slider.release(move_joint, [state, joint, x, y], [state, figure, frame], api_visibility="private")
