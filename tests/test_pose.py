"""Stick figures: OpenPose JSON in, the edn_pose data's skeleton images out (against the data's own), read back by
colour, and pose normalisation between two people (`pix2pix_hub/pose.py`).

The fixtures (tests/fixtures/edn/README.md) are six consecutive test frames of edn_pose: the data's skeleton
images and, in OpenPose BODY_25 JSON, the keypoints `read_stick_figure` found in them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from pix2pix_hub.pose import (
    BODY_25_TO_23,
    COCO_18_TO_23,
    JOINTS,
    BodyStats,
    Pose,
    RenderStyle,
    body_from_openpose,
    head_and_ankles,
    normalise_poses,
    read_openpose_json,
    read_stick_figure,
    render_pose,
    smooth_poses,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "edn"
STEMS = sorted(path.name.removesuffix("_pose.png") for path in FIXTURES.glob("*_pose.png"))


def drawn(image: Image.Image) -> np.ndarray:
    """Pixels with ink (anything clearly darker than the white background)."""
    return (255 - np.asarray(image.convert("RGB"), dtype=np.int16).min(-1)) > 40


def chamfer(from_image: Image.Image, to_image: Image.Image) -> float:
    """Mean distance (px) from each drawn pixel of one image to the nearest drawn pixel of the other."""
    return float(ndimage.distance_transform_edt(~drawn(to_image))[drawn(from_image)].mean())


def test_keypoints_render_onto_the_datas_own_skeletons():
    """Rendering each frame's OpenPose JSON gives the data's skeleton image: strokes where its strokes are and
    colours close pixel by pixel. Measured on these six side-view frames (the reader misreads some crossed limbs,
    and the data's images also hold hands and face dots): mean distance 0.77 px, IoU 0.46, L1 1.54 / 255."""
    distances, overlaps, errors = [], [], []
    for stem in STEMS:
        original = Image.open(FIXTURES / f"{stem}_pose.png").convert("RGB")
        rendered = render_pose(read_openpose_json(FIXTURES / f"{stem}_keypoints.json"), (256, 256))
        distances.append(chamfer(rendered, original))
        overlaps.append((drawn(rendered) & drawn(original)).sum() / (drawn(rendered) | drawn(original)).sum())
        errors.append(np.abs(_pixels(rendered) - _pixels(original)).mean())
    assert np.mean(distances) < 1.0 and max(distances) < 1.6, distances
    assert np.mean(overlaps) > 0.4, overlaps
    assert np.mean(errors) < 1.9, errors
    moved = render_pose(read_openpose_json(FIXTURES / f"{STEMS[0]}_keypoints.json").transformed(1.0, (4.0, 0.0)))
    assert chamfer(moved, Image.open(FIXTURES / f"{STEMS[0]}_pose.png")) > 2 * distances[0]  # 4 px off is seen


def test_the_datas_widths_fit_better_than_thinner_or_thicker_strokes():
    """The default style was measured on the data: thinner or thicker strokes and dots match it worse."""
    originals = [Image.open(FIXTURES / f"{stem}_pose.png").convert("RGB") for stem in STEMS]
    poses = [read_openpose_json(FIXTURES / f"{stem}_keypoints.json") for stem in STEMS]

    def error(style: RenderStyle) -> float:
        pairs = zip(poses, originals, strict=True)
        return float(np.mean([np.abs(_pixels(render_pose(p, style=style)) - _pixels(o)).mean() for p, o in pairs]))

    measured = error(RenderStyle())
    assert measured < error(RenderStyle(joint_radius=1.2, limb_width=1.0))
    assert measured < error(RenderStyle(joint_radius=3.0, limb_width=3.2))


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def walking_pose(shift: float = 0.0, size: int = 256) -> Pose:
    """A front-facing figure with every joint, spread so that no two dots touch."""
    s = size / 256
    points = {
        "nose": (128, 40), "neck": (128, 62), "right_shoulder": (104, 64), "right_elbow": (86, 92),
        "right_wrist": (74, 120), "left_shoulder": (152, 64), "left_elbow": (172, 90), "left_wrist": (186, 116),
        "mid_hip": (128, 130), "right_hip": (114, 130), "right_knee": (108, 172), "right_ankle": (104, 214),
        "right_big_toe": (92, 228), "right_small_toe": (100, 236), "left_hip": (142, 130),
        "left_knee": (150, 172), "left_ankle": (156, 214), "left_big_toe": (170, 226), "left_small_toe": (162, 238),
        "right_eye": (121, 34), "right_ear": (112, 38), "left_eye": (135, 34), "left_ear": (144, 38),
    }  # fmt: skip
    body = np.zeros((23, 3))
    for name, (x, y) in points.items():
        body[JOINTS.index(name)] = ((x + shift) * s, y * s, 1.0)
    return Pose(body, (size, size))


@pytest.mark.parametrize("quality", [None, 92])
def test_the_reader_finds_the_joints_of_a_rendered_figure_where_they_were(quality):
    """Render known keypoints (and save as JPEG, like the data), read them back: 20 of the 23 joints (or more) are
    found within a pixel of where they were drawn. (A dot is covered by its limbs' 60 % strokes, so alike colours
    such as a shoulder under the neck's blue can be taken for a neighbour's.)"""
    pose = walking_pose(shift=3.3)
    image = render_pose(pose)
    if quality:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        image = Image.open(buffer)
    found = read_stick_figure(image)
    distances = np.linalg.norm(found.body[:, :2] - pose.body[:, :2], axis=1)
    right = (found.body[:, 2] == 1) & (distances < 1.0)
    assert right.sum() >= 20, dict(zip(JOINTS, distances.round(1), strict=True))


def test_body_25_and_coco_18_json_give_the_same_joints(tmp_path):
    """One pose written in both OpenPose layouts reads back the same (COCO: the mid hip is the hips' midpoint)."""
    pose = walking_pose()
    body_25 = np.zeros((25, 3))
    body_25[list(BODY_25_TO_23)] = pose.body
    coco = np.zeros((18, 3))
    for ours, theirs in enumerate(COCO_18_TO_23):
        if theirs is not None:
            coco[theirs] = pose.body[ours]
    for name, points in (("body25", body_25), ("coco", coco)):
        document = {"version": 1.3, "people": [{"pose_keypoints_2d": points.ravel().tolist()}]}
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
    from_25 = read_openpose_json(tmp_path / "body25.json", size=(256, 256))
    from_coco = read_openpose_json(tmp_path / "coco.json", size=(256, 256))
    np.testing.assert_allclose(from_25.body, pose.body)
    no_toes = [JOINTS.index(name) for name in JOINTS if "toe" not in name]
    np.testing.assert_allclose(from_coco.body[no_toes], pose.body[no_toes])
    assert (from_coco.body[[JOINTS.index(name) for name in JOINTS if "toe" in name], 2] == 0).all()


def test_bad_keypoint_files_are_refused_in_plain_words(tmp_path):
    (tmp_path / "empty.json").write_text(json.dumps({"version": 1.3, "people": []}))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="empty.json: no person in this OpenPose file"):
        read_openpose_json(tmp_path / "empty.json")
    with pytest.raises(ValueError, match="broken.json: not an OpenPose JSON file"):
        read_openpose_json(tmp_path / "broken.json")
    with pytest.raises(ValueError, match="holds 30 values; OpenPose BODY_25 has 75 and COCO-18 has 54"):
        body_from_openpose([0.0] * 30)


def test_a_bigger_shifted_person_is_normalised_onto_the_target_body_exactly():
    """The source walks like the target, 1.7x as big and elsewhere in a bigger frame: each normalised pose is the
    target's (scale from the ankle height between far and near, translation of the ankles)."""
    targets = []
    for step in range(12):  # walking towards the camera: lower ankles, taller body
        depth = step / 11
        pose = walking_pose(shift=10 * np.sin(step))
        scale = 0.8 + 0.3 * depth
        feet_y = 170 + 60 * depth
        pose = pose.transformed(scale, (128 * (1 - scale), feet_y - 214 * scale))
        targets.append(pose)
    sources = [pose.transformed(1.7, (40.0, -25.0), (640, 480)) for pose in targets]
    target_stats, source_stats = BodyStats.of(targets), BodyStats.of(sources)
    assert source_stats.near_height == pytest.approx(1.7 * target_stats.near_height)
    for normalised, target in zip(normalise_poses(sources, source_stats, target_stats), targets, strict=True):
        np.testing.assert_allclose(normalised.body, target.body, atol=1e-9)
        assert normalised.size == (256, 256)
    assert BodyStats.from_dict(json.loads(json.dumps(target_stats.to_dict()))) == target_stats


def test_a_frame_without_ankles_keeps_the_previous_transform_and_no_measurable_pose_is_refused():
    poses = [walking_pose(), walking_pose(shift=4)]
    poses[1].body[JOINTS.index("left_ankle"), 2] = 0
    stats = BodyStats.of(poses[:1])
    shifted = [pose.transformed(2.0, (5.0, 5.0), (512, 512)) for pose in poses]
    moved = normalise_poses(shifted, BodyStats.of(shifted[:1]), stats)
    np.testing.assert_allclose(moved[1].body[:, :2], poses[1].body[:, :2], atol=1e-9)  # same transform as frame 0
    headless = walking_pose()
    headless.body[[JOINTS.index(name) for name in ("nose", "right_ear", "left_ear")], 2] = 0
    with pytest.raises(ValueError, match="no pose in the sequence shows a head and both ankles"):
        BodyStats.of([headless])


@pytest.mark.parametrize("shift", [(0, 0), (-118, 0), (0, 122), (150, -150), (400, 0)])
def test_rendering_resizes_only_around_the_drawing_and_gives_the_whole_canvas_pixels(shift):
    """`render_pose` converts and downsamples only the drawn part of its supersampled canvas: the pixels must be those
    of the whole canvas downsampled, near the borders and with the figure partly or wholly outside too."""
    from pix2pix_hub import pose as pose_module

    body = read_openpose_json(sorted(FIXTURES.glob("*_keypoints.json"))[0]).body.copy()
    body[:, :2] += shift
    size, boxes = (130, 70), []
    canvas = np.full((70 * pose_module.SUPERSAMPLE, 130 * pose_module.SUPERSAMPLE, 3), 255.0, dtype=np.float32)
    for a, b in pose_module.LIMBS:
        if body[a, 2] > 0 and body[b, 2] > 0:
            start, end = (body[a, :2] * 2).tolist(), (body[b, :2] * 2).tolist()
            boxes.append(pose_module._blend_stroke(canvas, start, end, 7.0, pose_module.COLORS[a], 0.6))
    whole = Image.fromarray(np.clip(canvas + 0.5, 0, 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    np.testing.assert_array_equal(np.asarray(pose_module._downsampled(canvas, boxes, size)), np.asarray(whole))


def standing(height: float, ankle_y: float, ankle_x: float, size: tuple[int, int] = (256, 256)) -> Pose:
    """`walking_pose` scaled to a known height (nose to the ankles' midpoint) with its ankles at (ankle_x, ankle_y)."""
    body = walking_pose().body
    nose, ankles = body[JOINTS.index("nose"), :2], body[[JOINTS.index("right_ankle"), JOINTS.index("left_ankle")], :2]
    scale = height / np.linalg.norm(nose - ankles.mean(0))
    pose = Pose(body, size).transformed(scale, (0.0, 0.0))
    ankles = pose.body[[JOINTS.index("right_ankle"), JOINTS.index("left_ankle")], :2]
    return pose.transformed(1.0, (ankle_x - ankles[:, 0].mean(), ankle_y - ankles[:, 1].max()))


def test_normalisation_scales_linearly_between_the_far_and_near_ankle_positions():
    """Synthetic people of known height: the source is 100 px tall with its ankles at y = 300 (far) and 200 px at
    y = 500 (near) in a 640x640 frame; the target 80 px at y = 180 and 160 px at y = 230. Halfway between the source's
    far and near ankles (y = 400) the normalised person must stand halfway between the target's (y = 205) and be as
    tall as the interpolated ratio makes them (150 x (0.8 + 0.8) / 2 = 120 px), at the target's mean ankle x."""
    steps = [0.0] * 6 + np.linspace(0.2, 1, 5).tolist()  # mostly far away (the statistics' median), then nearer
    source = [standing(100 + 100 * t, 300 + 200 * t, 320, (640, 640)) for t in steps]
    target = [standing(80 + 80 * t, 180 + 50 * t, 128) for t in steps]
    source_stats, target_stats = BodyStats.of(source), BodyStats.of(target)
    assert (source_stats.far_ankle_y, source_stats.near_ankle_y) == pytest.approx((300, 500))
    assert (source_stats.far_height, source_stats.near_height) == pytest.approx((100, 200))
    (middle,) = normalise_poses([standing(150, 400, 500, (640, 640))], source_stats, target_stats)
    height, ankle_y, ankle_x = head_and_ankles(middle.body)
    ratio = (target_stats.far_height / 100 + target_stats.near_height / 200) / 2
    goal_y = (target_stats.far_ankle_y + target_stats.near_ankle_y) / 2
    assert (height, ankle_y) == pytest.approx((150 * ratio, goal_y))
    assert ankle_x == pytest.approx(target_stats.ankle_x + ratio * (500 - source_stats.ankle_x))
    assert middle.size == (256, 256)


def test_smoothing_damps_jitter_keeps_steady_motion_and_leaves_missing_joints_missing():
    rng = np.random.default_rng(0)
    truth = [walking_pose(shift=2.0 * t) for t in range(30)]  # walking right at 2 px a frame
    noisy = [Pose(p.body + np.r_[rng.normal(0, 1.5, 2), 0.0] * [[1, 1, 0]], p.size) for p in truth]
    for t, pose in enumerate(noisy):
        pose.body[:, :2] += rng.normal(0, 1.5, (23, 2))
        if t % 7 == 3:
            pose.body[JOINTS.index("right_wrist")] = 0  # the detector lost it here
    smoothed = smooth_poses(noisy, sigma=1.5)

    def error(poses: list[Pose]) -> float:
        seen = np.stack([p.body[:, 2] > 0 for p in poses])
        offsets = np.stack([p.body[:, :2] - q.body[:, :2] for p, q in zip(poses, truth, strict=True)])
        return float(np.linalg.norm(offsets, axis=-1)[seen].mean())

    assert error(smoothed) < 0.6 * error(noisy)
    for t in range(30):
        assert (smoothed[t].body[:, 2] > 0).tolist() == (noisy[t].body[:, 2] > 0).tolist()
    steady = smooth_poses(truth, sigma=1.5)  # straight-line motion: the middle frames stay where they were
    np.testing.assert_allclose(np.stack([p.body for p in steady[5:-5]]), np.stack([p.body for p in truth[5:-5]]))
    assert smooth_poses(noisy, sigma=0) is noisy
