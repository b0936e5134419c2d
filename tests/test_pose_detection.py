"""BlazePose on real frames (`pix2pix_hub/pose_detection.py`): the keypoints it finds in twelve edn_pose test frames
against the joints of the data's own OpenPose renders of the same frames, and how its 33 landmarks become the
renders' skeleton.

The fixtures (tests/fixtures/edn_video/README.md) are the data's 512x256 files: the video frame left, the OpenPose
render right. The renders' joints are read by colour (`read_stick_figure`), so they carry that reader's own errors
in these side views; the comparison keeps to joints both OpenPose and the reader see in every frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from pix2pix_hub.pose import JOINTS, read_stick_figure, render_pose
from pix2pix_hub.pose_detection import BLAZEPOSE_BIG_TOES, PoseDetector, body_from_landmarks, detect_poses

FRAMES = sorted((Path(__file__).resolve().parent / "fixtures" / "edn_video").glob("*.jpg"))
# the joints the data's renders show in every test frame (docs/dance_from_video.md: 100 of 100)
STEADY = ("neck", "right_shoulder", "left_shoulder", "left_knee", "left_ankle", "left_ear")
CLOSE = 5.0  # pixels of the 256-pixel frame; the person is about 180 pixels tall


def halves(path: Path) -> tuple[Image.Image, Image.Image]:
    """(the video frame, the OpenPose render) of one of the data's files."""
    pair = Image.open(path).convert("RGB")
    return pair.crop((0, 0, 256, 256)), pair.crop((256, 0, 512, 256))


def drawn(image: Image.Image) -> np.ndarray:
    return (255 - np.asarray(image.convert("RGB"), dtype=np.int16).min(-1)) > 40


def test_detected_keypoints_land_on_the_joints_of_the_datas_own_openpose_renders():
    """Tolerance: the joints OpenPose always sees are found in every frame, their median distance to the render's
    joints is under 3 px and 80 % are within 5 px; the stick figure drawn from the detected keypoints lies within
    1 px of the render's strokes on average. (On all 100 test frames these joints' medians are 1.2 to 4.0 px.)"""
    frames, renders = zip(*(halves(path) for path in FRAMES), strict=True)
    poses = detect_poses(frames)
    distances, strokes = [], []
    for pose, render in zip(poses, renders, strict=True):
        truth = read_stick_figure(render)
        for name in STEADY:
            joint = JOINTS.index(name)
            assert pose.body[joint, 2] > 0 and truth.body[joint, 2] > 0, name
            distances.append(np.linalg.norm(pose.body[joint, :2] - truth.body[joint, :2]))
        near_render = ndimage.distance_transform_edt(~drawn(render))
        strokes.append(near_render[drawn(render_pose(pose, (256, 256)))].mean())
    assert np.median(distances) < 3.0 and np.mean(np.array(distances) < CLOSE) > 0.8, distances
    assert np.mean(strokes) < 1.0, strokes


def test_a_person_moved_in_the_frame_is_found_moved_and_an_empty_frame_gives_no_joints():
    frame, _ = halves(FRAMES[0])
    moved = Image.new("RGB", (320, 256), frame.getpixel((5, 5)))
    moved.paste(frame, (40, 0))
    with PoseDetector() as detector:
        here, there = detector.detect(frame), detector.detect(moved)
        empty = detector.detect(Image.new("RGB", (256, 256), (200, 200, 200)))
    both = (here.body[:, 2] > 0) & (there.body[:, 2] > 0)
    shift = there.body[both, :2] - here.body[both, :2]
    assert both.sum() >= 15 and there.size == (320, 256)
    np.testing.assert_allclose(np.median(shift, 0), (40, 0), atol=1.5)
    assert not empty.body[:, 2].any() and empty.size == (256, 256)


def test_blazepose_landmarks_map_onto_the_renders_skeleton_with_the_neck_between_the_shoulders():
    """BlazePose's namesakes (its 0 nose, 11/12 shoulders, 23/24 hips, 27/28 ankles, 31/32 foot tips...), the neck
    and mid hip as midpoints, unsure landmarks and the joints BlazePose lacks (small toes) missing."""
    landmarks = np.column_stack([np.arange(33) * 3.0, 100 - np.arange(33) * 2.0, np.full(33, 0.9)])
    landmarks[7, 2] = 0.3  # BlazePose's left ear, unsure
    body = body_from_landmarks(landmarks, threshold=0.5)

    def at(name: str) -> np.ndarray:
        return body[JOINTS.index(name)]

    for name, landmark in (("nose", 0), ("left_shoulder", 11), ("right_wrist", 16), ("left_ankle", 27)):
        np.testing.assert_array_equal(at(name), landmarks[landmark])
    np.testing.assert_array_equal(at("right_ear"), landmarks[8])
    np.testing.assert_allclose(at("neck"), (landmarks[11] + landmarks[12]) / 2)
    np.testing.assert_allclose(at("mid_hip"), (landmarks[23] + landmarks[24]) / 2)
    for joint, landmark in BLAZEPOSE_BIG_TOES.items():
        np.testing.assert_array_equal(body[joint], landmarks[landmark])
    assert at("left_ear")[2] == 0 and at("right_small_toe")[2] == 0 and at("left_small_toe")[2] == 0
    landmarks[12, 2] = 0.1  # without the right shoulder there is no neck
    assert body_from_landmarks(landmarks, threshold=0.5)[JOINTS.index("neck"), 2] == 0
