"""Video files in and out through the ffmpeg that `imageio-ffmpeg` ships: frames as RGB images at the file's frame
rate, a length limit that refuses long clips up front, H.264 mp4 out (plays in browsers), the source's sound kept."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class Video:
    """Decoded frames (RGB, all one size), their frame rate, and whether the file has a sound track."""

    frames: list[Image.Image]
    fps: float
    has_audio: bool

    @property
    def seconds(self) -> float:
        return len(self.frames) / self.fps


def read_video(path: str | Path, max_seconds: float, max_height: int | None = None) -> Video:
    """Every frame of a video file, scaled down to `max_height` if taller; a clip longer than `max_seconds` is
    refused before it is decoded (or, when the file does not say its length, as soon as it runs over)."""
    import imageio_ffmpeg

    name = Path(path).name
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as error:
        raise ValueError(f"{name}: not a video ffmpeg can read ({_last_line(error)})") from None
    try:
        duration = float(meta.get("duration") or 0.0)
        _check_length(name, duration, max_seconds)
        width, height = meta["size"]
        frames, fps = [], float(meta.get("fps") or 0.0)
        shrink = max_height / height if max_height and height > max_height else 1.0
        small = (round(width * shrink / 2) * 2, round(height * shrink / 2) * 2)
        for raw in reader:
            frame = Image.fromarray(np.frombuffer(raw, np.uint8).reshape(height, width, 3))
            frames.append(frame if shrink == 1.0 else frame.resize(small, Image.Resampling.BILINEAR))
            if fps and len(frames) > max_seconds * fps + 1:
                _check_length(name, len(frames) / fps, max_seconds)
    except RuntimeError as error:
        raise ValueError(f"{name}: ffmpeg stopped decoding it ({_last_line(error)})") from None
    finally:
        reader.close()
    if not frames:
        raise ValueError(f"{name}: the file holds no video frames")
    if not fps or fps > 240:  # a recording without a usable rate (some webcam files): frames over the length
        fps = len(frames) / duration if duration else 30.0
    return Video(frames, fps, bool(meta.get("audio_codec")))


def _check_length(name: str, seconds: float, max_seconds: float) -> None:
    if seconds > max_seconds:
        raise ValueError(
            f"{name} is {seconds:.1f} s long and the limit is {max_seconds:g} s: cut it shorter "
            f"(e.g. `ffmpeg -i {name} -t {max_seconds:g} -c copy short.mp4`)"
        )


def _last_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def write_video(frames: list[Image.Image], fps: float, path: str | Path, audio_from: str | Path | None = None) -> Path:
    """An H.264 mp4 (yuv420p, plays in browsers) of the frames at `fps`; with `audio_from`, that file's sound track
    (AAC, cut to the video's length) when it has one."""
    import imageio_ffmpeg

    width, height = frames[0].size
    audio = {"audio_path": str(audio_from), "audio_codec": "aac"} if audio_from else {}
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=16,
        output_params=["-crf", "20", *(["-shortest"] if audio else [])], **audio,
    )  # fmt: skip
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(np.asarray(frame.convert("RGB"))))
    writer.close()
    return Path(path)
