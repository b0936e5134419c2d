"""Do as I do from the shell (`pix2pix_hub/dance.py`): `python -m pix2pix_hub.dance` on a clip of real frames
(tests/fixtures/edn_video) with the bundled subject, `weights/edn_subject`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pix2pix_hub.dance import CANVAS, MAX_SECONDS, fit_to_subject, load_dancer, main
from pix2pix_hub.pose import BodyStats
from pix2pix_hub.pose_detection import detect_poses
from pix2pix_hub.video import read_video, write_video
from tests.test_video import source_frames

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL = REPO_ROOT / "weights" / "edn_subject"


def dance(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pix2pix_hub.dance", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_the_command_writes_source_figure_and_subject_side_by_side_one_frame_per_input_frame(tmp_path):
    frames = source_frames()
    clip = write_video(frames, 7.5, tmp_path / "clip.mp4")
    done = dance(str(clip), "--model", str(MODEL), "--out", str(tmp_path / "dance.mp4"))
    assert done.returncode == 0, done.stderr
    assert f"{len(frames)} frames at 7.5 fps" in done.stdout
    made = read_video(tmp_path / "dance.mp4", max_seconds=10)
    assert len(made.frames) == len(frames) and made.fps == 7.5 and made.frames[0].size == (3 * CANVAS, CANVAS)
    left = np.asarray(made.frames[0].crop((0, 0, CANVAS, CANVAS)), float)
    assert np.abs(left - np.asarray(frames[0], float)).mean() < 4  # the source itself, through H.264
    figure = np.asarray(made.frames[0].crop((CANVAS, 0, 2 * CANVAS, CANVAS)).convert("L"))
    assert (figure < 200).mean() > 0.005 and np.median(figure) > 240  # a stick figure on white


def test_poses_fitted_to_the_subject_stand_where_the_subject_stands():
    """The fixtures show the subject themself: detected, smoothed and normalised, their feet stay between the
    subject's far and near ankle positions and their height between its far and near heights (5 % slack)."""
    subject = load_dancer(str(MODEL)).subject
    fitted = BodyStats.of(fit_to_subject(detect_poses(source_frames()), subject, fps=7.5))
    slack = 0.05 * subject.near_height
    assert subject.far_ankle_y - slack <= fitted.far_ankle_y <= fitted.near_ankle_y <= subject.near_ankle_y + slack
    assert subject.far_height - slack <= fitted.far_height <= fitted.near_height <= subject.near_height + slack


def test_a_clip_too_long_or_a_missing_model_is_refused_with_what_to_do(tmp_path):
    clip = write_video(source_frames() * 2, 1.0, tmp_path / "long.mp4")
    out = tmp_path / "dance.mp4"
    with pytest.raises(SystemExit, match=f"long.mp4 is 24.0 s long and the limit is {MAX_SECONDS:g} s: cut it"):
        main([str(clip), "--model", str(MODEL), "--out", str(out)])
    assert not out.exists()
    with pytest.raises(SystemExit, match="no Everybody Dance Now model \\(dance.json\\) here"):
        main([str(clip), "--model", str(tmp_path), "--out", str(out)])
