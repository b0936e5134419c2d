"""How long `python -m pix2pix_hub.dance` takes for a 10-second clip on this CPU, and where the time goes.

    python -m benchmarks.dance_video [--data ../shared/data/edn_pose] [--model weights/edn_subject]

The clip is made from the 100 edn_pose test frames, each shown three times at 30 fps (300 frames, 10 s), scaled to
512x512 (the height the dance command decodes at most); one run of the whole command's work (read, detect, smooth and
normalise, generate, draw the stick figures, join, write), then the detector alone and the generator alone. Writes its
section of benchmarks/RESULTS.md with the CPU's flags.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

from PIL import Image

from benchmarks.common import write_section
from pix2pix_hub.dance import SOURCE_HEIGHT, dance_video, fit_to_subject, load_dancer
from pix2pix_hub.pose_detection import detect_poses
from pix2pix_hub.video import read_video, write_video

FPS, REPEAT = 30.0, 3
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def cpu_flags() -> str:
    text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    flags = set(re.search(r"Flags:\s*(.+)", text)[1].split()) if "Flags:" in text else set()
    return " ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in CPU_FLAGS)


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/edn_pose")
    parser.add_argument("--model", default="weights/edn_subject")
    args = parser.parse_args()
    files = sorted(Path(args.data, "test").glob("*.jpg"))
    if not files:
        raise SystemExit(f"{args.data}/test: no frames here (see ../shared/data/README.md)")
    side = (SOURCE_HEIGHT, SOURCE_HEIGHT)
    frames = [Image.open(f).convert("RGB").crop((0, 0, 256, 256)).resize(side, Image.Resampling.BICUBIC) for f in files]
    dancer = load_dancer(args.model)
    with tempfile.TemporaryDirectory() as folder:
        clip = write_video([frame for frame in frames for _ in range(REPEAT)], FPS, Path(folder) / "clip.mp4")
        dancer.frames(dancer.test_poses[:4])  # the runner's first call builds its ONNX session: not the clip's time
        whole, made = timed(lambda: dance_video(dancer, clip, Path(folder) / "dance.mp4"))
        video = read_video(clip, 60, SOURCE_HEIGHT)
    detecting, poses = timed(lambda: detect_poses(video.frames))
    fitted = fit_to_subject(poses, dancer.subject, video.fps)
    generating, _ = timed(lambda: dancer.frames(fitted))
    count = len(made.frames)
    body = (
        f"A {made.seconds:.0f}-second clip ({count} frames at {made.fps:g} fps, {side[0]}x{side[1]}) through "
        f"`python -m pix2pix_hub.dance`'s work: **{whole:.1f} s** ({1000 * whole / count:.0f} ms a frame, "
        f"{whole / made.seconds:.1f}x the clip's length). Of which the detector alone (BlazePose full, tracking) "
        f"{detecting:.1f} s ({1000 * detecting / count:.0f} ms a frame) and the generator with its stick figures "
        f"{generating:.1f} s ({1000 * generating / count:.0f} ms a frame); reading, smoothing, the side-by-side "
        f"frames and writing the mp4 the rest. CPU flags: {cpu_flags()}."
    )
    print(body)
    write_section("Dance from a video (CPU)", body)


if __name__ == "__main__":
    main()
