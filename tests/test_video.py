"""Video files in and out (`pix2pix_hub/video.py`): clips made here from real frames (tests/fixtures/edn_video),
written as mp4 and read back, too long or not a video at all, with and without a sound track."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pix2pix_hub.video import read_video, write_video

FRAMES = sorted((Path(__file__).resolve().parent / "fixtures" / "edn_video").glob("*.jpg"))


def source_frames() -> list[Image.Image]:
    """The fixtures' video frames (left halves)."""
    return [Image.open(path).convert("RGB").crop((0, 0, 256, 256)) for path in FRAMES]


def test_frames_written_at_a_rate_come_back_at_that_rate_one_for_one_and_close_to_the_originals(tmp_path):
    frames = source_frames()
    path = write_video(frames, 7.5, tmp_path / "clip.mp4")
    video = read_video(path, max_seconds=10)
    assert (len(video.frames), video.fps, video.has_audio) == (len(frames), 7.5, False)
    assert video.seconds == pytest.approx(len(frames) / 7.5)
    errors = [
        np.abs(np.asarray(a, float) - np.asarray(b, float)).mean() for a, b in zip(video.frames, frames, strict=True)
    ]
    assert max(errors) < 4, errors  # H.264 at crf 20
    small = read_video(path, max_seconds=10, max_height=128)
    assert small.frames[0].size == (128, 128) and len(small.frames) == len(frames)


def test_a_clip_over_the_limit_or_a_file_that_is_no_video_is_refused_in_plain_words(tmp_path):
    path = write_video(source_frames(), 7.5, tmp_path / "long.mp4")
    with pytest.raises(ValueError, match=r"long.mp4 is 1.6 s long and the limit is 1 s: cut it shorter"):
        read_video(path, max_seconds=1)
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(ValueError, match="notes.mp4: not a video ffmpeg can read"):
        read_video(tmp_path / "notes.mp4", max_seconds=10)


def test_the_sound_of_a_source_is_kept_in_the_video_written_from_it(tmp_path):
    import imageio_ffmpeg

    silent = write_video(source_frames(), 7.5, tmp_path / "silent.mp4")
    with_sound = tmp_path / "with_sound.mp4"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(silent), "-f", "lavfi", "-i"]
    command += ["sine=frequency=440:duration=1.6", "-c:v", "copy", "-c:a", "aac", "-shortest", str(with_sound)]
    subprocess.run(command, check=True)
    source = read_video(with_sound, max_seconds=10)
    assert source.has_audio
    out = write_video(source.frames[::-1], source.fps, tmp_path / "out.mp4", audio_from=with_sound)
    again = read_video(out, max_seconds=10)
    assert again.has_audio and len(again.frames) == len(source.frames)
