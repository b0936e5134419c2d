"""Stick figures for Everybody Dance Now: OpenPose keypoints in, the training data's skeleton images out, and back.

The edn_pose data's skeletons were drawn by the reference's `data_prep/renderopenpose.py` (carolineec/
EverybodyDanceNow) in its 23-joint body layout (BODY_25 without the heels, nose moved after the feet): a filled
circle per joint in that joint's colour, then each limb as a 60 % opaque stroke in the colour of its first joint,
on white, with sparse black face dots and the hands; then downscaled. `render_pose` draws the same at any size
(widths measured on the data, see `STYLE`), `read_stick_figure` recovers the body joints of such an image by their
colours, `smooth_poses` steadies detected keypoints over time, and `normalise_poses` maps one person's poses onto
another's body as the paper's Sec. 3.2 (scale and translation from the ankles' height in the frame). Numpy and PIL
only (scipy where an image is read): the app and the CLIs import it cheaply; the detector is `pose_detection`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

JOINTS = (
    "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist", "mid_hip",
    "right_hip", "right_knee", "right_ankle", "right_big_toe", "right_small_toe", "left_hip", "left_knee",
    "left_ankle", "left_big_toe", "left_small_toe", "nose", "right_eye", "right_ear", "left_eye", "left_ear",
)  # fmt: skip
J = {name: index for index, name in enumerate(JOINTS)}
# the reference's renderpose23 colours (it lists them as OpenCV BGR; these are RGB)
COLORS = (
    (0, 0, 255), (0, 55, 255), (0, 110, 255), (0, 165, 255), (0, 215, 255), (0, 235, 255), (0, 255, 255),
    (0, 0, 255), (0, 255, 175), (0, 255, 85), (0, 255, 0), (85, 255, 0), (170, 255, 0), (128, 25, 25),
    (255, 85, 0), (255, 170, 0), (255, 212, 0), (255, 255, 0), (0, 0, 255), (255, 0, 255), (238, 130, 238),
    (226, 43, 138), (130, 0, 75),
)  # fmt: skip
LIMBS = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10), (10, 11), (10, 12), (7, 13),
    (13, 14), (14, 15), (15, 16), (15, 17), (0, 18), (18, 19), (19, 20), (18, 21), (21, 22),
)  # fmt: skip
BODY_25_TO_23 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 22, 23, 12, 13, 14, 19, 20, 0, 15, 17, 16, 18)
# COCO-18 has no mid hip (the hips' midpoint stands in) and no toes
COCO_18_TO_23 = (1, 2, 3, 4, 5, 6, 7, None, 8, 9, 10, None, None, 11, 12, 13, None, None, 0, 14, 16, 15, 17)
HAND_COLORS = (
    (230, 53, 40), (231, 115, 64), (233, 136, 31), (213, 160, 13), (217, 200, 19), (170, 210, 35), (139, 228, 48),
    (83, 214, 45), (77, 192, 46), (83, 213, 133), (82, 223, 190), (80, 184, 197), (78, 140, 189), (86, 112, 208),
    (83, 73, 217), (123, 46, 183), (189, 102, 255), (218, 83, 232), (229, 65, 189), (236, 61, 141), (255, 102, 145),
)  # fmt: skip
HAND_LIMBS = tuple((0 if k % 4 == 0 else k, k + 1) for k in range(20))
FACE_POINTS = (27, 30, 8, 0, 16, 33, 68, 69)  # the reference's 8 sparse face keypoints
LIMB_OPACITY = 0.6
SUPERSAMPLE = 4


@dataclass(frozen=True)
class RenderStyle:
    """Sizes in pixels of a 256-pixel-high image (the data's); `render_pose` scales them with the height."""

    joint_radius: float = 1.9
    limb_width: float = 1.9
    hand_joint_radius: float = 0.7
    hand_limb_width: float = 0.95
    face_dot_radius: float = 0.95


# measured: the reference drew radius 8 / stick half-width 4 at 1080 px high; the data is 256 high (x 0.237)
STYLE = RenderStyle()


@dataclass
class Pose:
    """One person's keypoints as (x, y, confidence) rows in pixels of an image of `size` (width, height)."""

    body: np.ndarray  # (23, 3) in JOINTS order; confidence 0 = missing
    size: tuple[int, int]
    hands: tuple[np.ndarray | None, np.ndarray | None] = (None, None)  # right, left: (21, 3) each
    face: np.ndarray | None = None  # (70, 3)

    def transformed(self, scale: float, offset: tuple[float, float], size: tuple[int, int] | None = None) -> Pose:
        """Every point p -> p * scale + offset (missing points stay missing), on a canvas of `size`."""

        def move(points: np.ndarray | None) -> np.ndarray | None:
            if points is None:
                return None
            moved = points.copy()
            moved[:, :2] = points[:, :2] * scale + np.asarray(offset)
            return moved

        hands = (move(self.hands[0]), move(self.hands[1]))
        return Pose(move(self.body), size or self.size, hands, move(self.face))

    def to_openpose(self) -> dict:
        """This pose as one person of an OpenPose JSON file (BODY_25 order; heels, absent here, have confidence 0)."""
        body_25 = np.zeros((25, 3))
        body_25[list(BODY_25_TO_23)] = self.body
        person = {"pose_keypoints_2d": [round(float(v), 3) for v in body_25.ravel()]}
        for key, points in (("hand_right", self.hands[0]), ("hand_left", self.hands[1]), ("face", self.face)):
            person[f"{key}_keypoints_2d"] = [] if points is None else [round(float(v), 3) for v in points.ravel()]
        return {"version": 1.3, "people": [person], "canvas_size": list(self.size)}


def body_from_openpose(values: list[float], name: str = "keypoints") -> np.ndarray:
    """The 23 joints from an OpenPose `pose_keypoints_2d` list: BODY_25 (75 values) or COCO-18 (54)."""
    points = np.asarray(values, dtype=np.float64).reshape(-1, 3) if len(values) % 3 == 0 else None
    if points is None or len(points) not in (18, 25):
        raise ValueError(
            f"{name}: pose_keypoints_2d holds {len(values)} values; OpenPose BODY_25 has 75 and COCO-18 has 54"
        )
    mapping = BODY_25_TO_23 if len(points) == 25 else COCO_18_TO_23
    body = np.zeros((23, 3))
    for target, source in enumerate(mapping):
        if source is not None:
            body[target] = points[source]
    if len(points) == 18 and min(points[8, 2], points[11, 2]) > 0:  # COCO: the hips' midpoint is the mid hip
        body[J["mid_hip"]] = (points[8] + points[11]) / 2
    return body


def read_openpose_json(path: str | Path, size: tuple[int, int] | None = None) -> Pose:
    """The first person of an OpenPose `*_keypoints.json` file (`size`: its frame's (width, height), if known)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not an OpenPose JSON file ({error})") from error
    people = document.get("people") if isinstance(document, dict) else None
    if not people:
        raise ValueError(f"{path}: no person in this OpenPose file (its 'people' list is empty or missing)")
    person = people[0]
    if "pose_keypoints_2d" not in person:
        raise ValueError(f"{path}: the person has no pose_keypoints_2d (OpenPose writes them for every person)")
    body = body_from_openpose(person["pose_keypoints_2d"], str(path))

    def optional(key: str, count: int) -> np.ndarray | None:
        values = person.get(key) or []
        return np.asarray(values, dtype=np.float64).reshape(count, 3) if len(values) == 3 * count else None

    hands = (optional("hand_right_keypoints_2d", 21), optional("hand_left_keypoints_2d", 21))
    canvas = size or tuple(document.get("canvas_size", ())) or pose_extent(body)
    return Pose(body, (int(canvas[0]), int(canvas[1])), hands, optional("face_keypoints_2d", 70))


def pose_extent(body: np.ndarray) -> tuple[int, int]:
    """A canvas size for keypoints of an unknown frame: a square that holds them with a margin."""
    seen = body[body[:, 2] > 0, :2]
    side = int(math.ceil(seen.max() * 1.1)) if len(seen) else 256
    return side, side


Box = tuple[int, int, int, int]  # left, top, right, bottom in supersampled pixels


def _blend_stroke(canvas: np.ndarray, start, end, width: float, color, opacity: float) -> Box | None:
    """Blend a round-ended stroke into a float canvas (in supersampled pixels), inside its bounding box only; the box
    it drew in (None when outside the canvas)."""
    (x0, y0), (x1, y1) = start, end
    pad = width + 2
    left, top = int(max(min(x0, x1) - pad, 0)), int(max(min(y0, y1) - pad, 0))
    right, bottom = int(min(max(x0, x1) + pad, canvas.shape[1])), int(min(max(y0, y1) + pad, canvas.shape[0]))
    if right <= left or bottom <= top:
        return None
    mask = Image.new("L", (right - left, bottom - top), 0)
    draw = ImageDraw.Draw(mask)
    points = [(x0 - left, y0 - top), (x1 - left, y1 - top)]
    draw.line(points, fill=255, width=max(int(round(width)), 1))
    radius = width / 2
    for x, y in points:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    alpha = np.asarray(mask, dtype=np.float32)[..., None] / 255 * opacity
    region = canvas[top:bottom, left:right]
    region[:] = region * (1 - alpha) + np.asarray(color, dtype=np.float32) * alpha
    return left, top, right, bottom


def _draw_dot(canvas: np.ndarray, center, radius: float, color) -> Box | None:
    return _blend_stroke(canvas, center, center, 2 * radius, color, 1.0)


LANCZOS_SUPPORT = 3  # output pixels each side that PIL's LANCZOS reads (times the reduction, in input pixels)


def _downsampled(canvas: np.ndarray, boxes: list[Box | None], size: tuple[int, int]) -> Image.Image:
    """The white, supersampled canvas at `size` (LANCZOS), converted and resized only around what was drawn.

    Exact: the crop is aligned to the supersampling and reaches two filter supports past the drawing, so every
    output pixel either sees the same input as in the whole canvas or only white (255 either way).
    """
    image = Image.new("RGB", size, (255, 255, 255))
    boxes = [box for box in boxes if box is not None]
    if not boxes:
        return image
    margin = 2 * LANCZOS_SUPPORT * SUPERSAMPLE
    left = max(min(box[0] for box in boxes) - margin, 0) // SUPERSAMPLE * SUPERSAMPLE
    top = max(min(box[1] for box in boxes) - margin, 0) // SUPERSAMPLE * SUPERSAMPLE
    right = min(-(-(max(box[2] for box in boxes) + margin) // SUPERSAMPLE) * SUPERSAMPLE, canvas.shape[1])
    bottom = min(-(-(max(box[3] for box in boxes) + margin) // SUPERSAMPLE) * SUPERSAMPLE, canvas.shape[0])
    region = Image.fromarray(np.clip(canvas[top:bottom, left:right] + 0.5, 0, 255).astype(np.uint8))
    small = region.resize(((right - left) // SUPERSAMPLE, (bottom - top) // SUPERSAMPLE), Image.Resampling.LANCZOS)
    image.paste(small, (left // SUPERSAMPLE, top // SUPERSAMPLE))
    return image


def render_pose(pose: Pose, size: tuple[int, int] | None = None, style: RenderStyle = STYLE) -> Image.Image:
    """The pose as the data's skeletons look (white background), at `size` (default: the pose's own canvas)."""
    width, height = size or pose.size
    sx, sy = width / pose.size[0], height / pose.size[1]
    factor = SUPERSAMPLE * height / 256  # style sizes are for 256-pixel-high images

    def place(point: np.ndarray) -> tuple[float, float]:
        return point[0] * sx * SUPERSAMPLE, point[1] * sy * SUPERSAMPLE

    canvas = np.full((height * SUPERSAMPLE, width * SUPERSAMPLE, 3), 255.0, dtype=np.float32)
    body, boxes = pose.body, []
    for index, point in enumerate(body):
        if point[2] > 0:
            boxes.append(_draw_dot(canvas, place(point), style.joint_radius * factor, COLORS[index]))
    for a, b in LIMBS:
        if body[a, 2] > 0 and body[b, 2] > 0:
            width = style.limb_width * factor
            boxes.append(_blend_stroke(canvas, place(body[a]), place(body[b]), width, COLORS[a], LIMB_OPACITY))
    if pose.face is not None and pose.face[:, 2].mean() >= 0.2:  # the reference skips unsure faces
        for index in FACE_POINTS:
            if pose.face[index, 2] > 0:
                boxes.append(_draw_dot(canvas, place(pose.face[index]), style.face_dot_radius * factor, (0, 0, 0)))
    for hand in pose.hands:
        if hand is not None:
            boxes += _draw_hand(canvas, hand, place, style, factor)
    return _downsampled(canvas, boxes, (canvas.shape[1] // SUPERSAMPLE, canvas.shape[0] // SUPERSAMPLE))


def _draw_hand(canvas: np.ndarray, hand: np.ndarray, place, style: RenderStyle, factor: float) -> list[Box | None]:
    seen, boxes = hand[:, 2] > 0.05, []
    for index in np.flatnonzero(seen):
        boxes.append(_draw_dot(canvas, place(hand[index]), style.hand_joint_radius * factor, HAND_COLORS[index]))
    for a, b in HAND_LIMBS:
        if seen[a] and seen[b]:
            width = style.hand_limb_width * factor
            boxes.append(_blend_stroke(canvas, place(hand[a]), place(hand[b]), width, HAND_COLORS[b], LIMB_OPACITY))
    return boxes


# joints whose colours are too alike to tell apart in a small JPEG: found together, told apart by where they are
FAMILIES = {
    "centre": (J["nose"], J["neck"], J["mid_hip"]),  # one colour: ordered top to bottom
    "right_arm": (J["right_shoulder"], J["right_elbow"], J["right_wrist"]),
    "left_arm": (J["left_shoulder"], J["left_elbow"], J["left_wrist"]),
    "right_leg": (J["right_hip"], J["right_knee"], J["right_ankle"], J["right_big_toe"], J["right_small_toe"]),
    "left_leg": (J["left_knee"], J["left_ankle"], J["left_big_toe"], J["left_small_toe"]),
}
SINGLES = (J["left_hip"], J["right_eye"], J["right_ear"], J["left_eye"], J["left_ear"])


def joint_pixels(rgb: np.ndarray) -> np.ndarray:
    """Per pixel, the joint whose pure colour it shows (-1: background, limb strokes, face dots).

    Joints are drawn opaque and limbs 60 % opaque over white, so each pixel goes to the nearest of the joint
    colours, the limb-over-white colours, white and black; only the first kind marks a joint. A dot's centre is
    covered by its limbs' strokes, so a joint is told by the rim of its dot.
    """
    pure = np.asarray(COLORS, dtype=np.float32)
    strokes = 255 * (1 - LIMB_OPACITY) + LIMB_OPACITY * pure[[a for a, _ in LIMBS]]
    palette = np.concatenate([pure, strokes, [[255, 255, 255], [0, 0, 0]]])
    owner = np.full(rgb.shape[:2], -1)
    inked = rgb.min(-1) < 235  # white paper is no joint: skip it
    pixels = rgb[inked]
    distances = np.sqrt(((pixels[:, None, :] - palette) ** 2).sum(-1))
    nearest = distances.argmin(-1)
    # and saturated as a dot's core is (the light violet ear's is not: it must be close to its colour instead)
    core = (pixels.min(-1) < 70) & (np.ptp(pixels, axis=-1) > 90) | (distances.min(-1) < 40)
    owner[inked] = np.where((nearest < len(pure)) & core, nearest, -1)
    return owner


def _blobs(mask: np.ndarray, weight: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """Connected regions of `mask` (8-connected) as (mass, weighted centroid (x, y)), heaviest first."""
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if not count:
        return []
    indices = np.arange(1, count + 1)
    masses = ndimage.sum_labels(weight, labels, indices)
    centres = ndimage.center_of_mass(weight, labels, indices)
    found = [(float(m), np.array([c[1], c[0]])) for m, c in zip(masses, centres, strict=True)]
    return sorted(found, key=lambda blob: -blob[0])


def _walk(points: list[np.ndarray], start: np.ndarray | None, steps: int) -> list[int]:
    """Indices of `points` visited by stepping to the nearest unvisited one, from `start`, `steps` times."""
    order, here = [], start if start is not None else min(points, key=lambda p: p[1])
    for _ in range(min(steps, len(points))):
        rest = [i for i in range(len(points)) if i not in order]
        order.append(min(rest, key=lambda i: np.linalg.norm(points[i] - here)))
        here = points[order[-1]]
    return order


def _group_of(joint: int) -> str | int:
    """The family a joint's colour belongs to, or the joint itself when its colour is unique."""
    return next((name for name, joints in FAMILIES.items() if joint in joints), joint)


def joint_blobs(image: Image.Image) -> dict[str | int, list[np.ndarray]]:
    """Centroids of the drawn joint dots, by family (or single joint), heaviest dot first.

    A family's dots are the connected regions of pixels nearest to one of its colours; a region within a dot's
    radius of a heavier dot of another family is that dot's JPEG-blurred rim, not a joint.
    """
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    owner = joint_pixels(rgb)
    weight = 255.0 - rgb.min(-1)
    groups = {group: _blobs(np.isin(owner, joints), weight) for group, joints in FAMILIES.items()}
    groups |= {joint: _blobs(owner == joint, weight) for joint in SINGLES}
    every = [(mass, centroid, group) for group, blobs in groups.items() for mass, centroid in blobs]
    kept: dict[str | int, list[np.ndarray]] = {group: [] for group in groups}
    for mass, centroid, group in every:
        rim = any(
            other != group and heavier > mass and np.linalg.norm(centroid - c) < 2.5 for heavier, c, other in every
        )
        if not rim:
            kept[group].append(centroid)
    return kept


def read_stick_figure(image: Image.Image) -> Pose:
    """The body joints of a skeleton drawn as the data's (`render_pose`), found by their colours (hands and face
    dots are not read). Assumes one upright person: nose above neck above mid hip; each limb's joints are found
    by stepping from its parent to the nearest dot of the limb's colours, so crossed limbs (side views) may be
    misread."""
    groups = joint_blobs(image)
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    body = np.zeros((23, 3))

    def found(joint: int, centroid: np.ndarray) -> None:
        body[joint] = (centroid[0] + 0.5, centroid[1] + 0.5, 1.0)  # pixel centres

    for joint in SINGLES:
        if groups.get(joint):
            found(joint, groups[joint][0])
    centre = sorted(groups.get("centre", [])[:3], key=lambda c: c[1])
    names = {3: ("nose", "neck", "mid_hip"), 2: ("neck", "mid_hip"), 1: ("neck",)}.get(len(centre), ())
    for name, centroid in zip(names, centre, strict=False):
        found(J[name], centroid)
    if body[J["neck"], 2]:
        _read_arms(groups, body[J["neck"], :2], found)
    anchors = {
        "right_leg": body[J["mid_hip"]],
        "left_leg": body[J["left_hip"]] if body[J["left_hip"], 2] else body[J["mid_hip"]],
    }
    for family, anchor in anchors.items():
        joints = FAMILIES[family]
        points = groups.get(family, [])[: len(joints)]
        chain = 3 if family != "left_leg" else 2  # joints found by walking the limb; the toes by their colour
        order = _walk(points, anchor[:2] if anchor[2] else None, chain)
        for joint, index in zip(joints, order, strict=False):
            found(joint, points[index])
        toes = [i for i in range(len(points)) if i not in order]
        channel = 0 if family == "right_leg" else 1  # toe colours differ in red (right foot) or green (left)
        level = [_mean_channel(rgb, points[i], channel) for i in toes]
        for joint, index in zip(joints[chain:], [toes[i] for i in np.argsort(level)], strict=False):
            found(joint, points[index])
    return Pose(body, image.size)


def _read_arms(groups: dict, neck: np.ndarray, found) -> None:
    """Both arms from the neck: the shoulders are the two arm dots nearest to it (a shoulder's dot, covered by the
    neck's blue stroke, may look like the other arm's colours), each continued through its own arm's colours."""
    sides = {family: list(groups.get(family, [])[:4]) for family in ("right_arm", "left_arm")}
    pool = [(family, c) for family, points in sides.items() for c in points]
    shoulders = sorted(pool, key=lambda item: np.linalg.norm(item[1] - neck))[:2]
    for _, c in shoulders:
        for points in sides.values():
            points[:] = [p for p in points if p is not c]

    def fit(family: str, shoulder: np.ndarray) -> float:
        rest = sides[family]
        return min((np.linalg.norm(p - shoulder) for p in rest), default=np.inf)

    if len(shoulders) == 2 and fit("right_arm", shoulders[0][1]) + fit("left_arm", shoulders[1][1]) > fit(
        "left_arm", shoulders[0][1]
    ) + fit("right_arm", shoulders[1][1]):
        shoulders.reverse()
    if len(shoulders) == 1 and fit("left_arm", shoulders[0][1]) < fit("right_arm", shoulders[0][1]):
        shoulders.insert(0, (None, None))
    for family, (_, shoulder) in zip(("right_arm", "left_arm"), shoulders, strict=False):
        if shoulder is None:
            continue
        joints = FAMILIES[family]
        found(joints[0], shoulder)
        order = _walk(sides[family], shoulder, 2)
        for joint, index in zip(joints[1:], order, strict=False):
            found(joint, sides[family][index])


def _mean_channel(rgb: np.ndarray, point: np.ndarray, channel: int) -> float:
    """One colour channel around a point (the big toe has less of it than the small toe)."""
    x, y = int(point[0]), int(point[1])
    return float(rgb[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2, channel].mean())


def head_and_ankles(body: np.ndarray) -> tuple[float, float, float] | None:
    """(height from head to the ankles' midpoint, the lower ankle's y, the ankles' mean x), or None without a
    head (nose, else both ears) and both ankles: the quantities the reference's `get_pose_stats` measures."""
    ankles = body[[J["right_ankle"], J["left_ankle"]]]
    ears = body[[J["right_ear"], J["left_ear"]]]
    if body[J["nose"], 2] > 0:
        head = body[J["nose"], :2]
    elif (ears[:, 2] > 0).all():
        head = ears[:, :2].mean(0)
    else:
        return None
    if not (ankles[:, 2] > 0).all():
        return None
    middle = ankles[:, :2].mean(0)
    return float(np.linalg.norm(head - middle)), float(ankles[:, 1].max()), float(middle[0])


@dataclass(frozen=True)
class BodyStats:
    """Where a person's feet are in their frames and how tall they look there: far (the horizon) and near."""

    far_ankle_y: float
    near_ankle_y: float
    far_height: float
    near_height: float
    ankle_x: float
    size: tuple[int, int]

    @classmethod
    def of(cls, poses: list[Pose], median_fraction: float = 0.5) -> BodyStats:
        """The paper's statistics of a sequence: the nearest ankle position is the lowest; the far one the highest
        within `median_fraction` of the near one's distance above the median (the reference's defaults)."""
        measured = np.array([m for m in (head_and_ankles(p.body) for p in poses) if m is not None]).reshape(-1, 3)
        if not len(measured):
            raise ValueError("no pose in the sequence shows a head and both ankles: its body cannot be measured")
        heights, ankle_y = measured[:, 0], measured[:, 1]
        near, median = float(ankle_y.max()), float(np.median(ankle_y))
        above = ankle_y[(ankle_y <= median) & (ankle_y > median - median_fraction * (near - median))]
        far = float(above.min()) if len(above) else median
        tolerance = max(0.05 * (near - far), 1.0)
        near_height = float(heights[np.abs(ankle_y - near) <= tolerance].max())
        far_height = float(heights[np.abs(ankle_y - far) <= tolerance].max())
        if heights.max() - near_height > 0.1 * heights.max():  # as the reference: the tallest view is the near one
            near_height = float(heights.max())
        return cls(far, near, far_height, near_height, float(measured[:, 2].mean()), poses[0].size)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {"size": list(self.size)}

    @classmethod
    def from_dict(cls, values: dict) -> BodyStats:
        return cls(**{**values, "size": tuple(values["size"])})


def normalise_poses(poses: list[Pose], source: BodyStats, target: BodyStats) -> list[Pose]:
    """Source poses on the target's body and canvas (the paper's Sec. 3.2, the reference's graph_posenorm): each
    frame's scale is interpolated between the far and near height ratios by where its ankles are between the source's
    far and near positions, and its ankles move to the same relative place between the target's. A frame without
    a head or ankles takes the previous frame's transform."""
    target_far, target_near = target.far_ankle_y, target.near_ankle_y
    source_range = source.near_ankle_y - source.far_ankle_y
    if source_range < target_near - target_far:  # the reference: a smaller range sits in the middle of the target's
        middle = (target_near + target_far) / 2
        target_far, target_near = middle - source_range / 2, middle + source_range / 2
    scale_far, scale_near = target.far_height / source.far_height, target.near_height / source.near_height
    moved, transform = [], (scale_near, (0.0, 0.0))
    for pose in poses:
        measured = head_and_ankles(pose.body)
        if measured is not None:
            _, ankle_y, _ = measured
            share = (ankle_y - source.far_ankle_y) / source_range if source_range > 0 else 0.5
            scale = scale_far + share * (scale_near - scale_far)
            goal_y = target_far + share * (target_near - target_far)
            transform = (scale, (target.ankle_x - scale * source.ankle_x, goal_y - scale * ankle_y))
        moved.append(pose.transformed(transform[0], transform[1], target.size))
    return moved


def smooth_poses(poses: list[Pose], sigma: float) -> list[Pose]:
    """The body joints' tracks smoothed over time, as the paper does before rendering: each joint's position is the
    Gaussian-weighted mean (`sigma` frames) of its positions in the nearby frames where it was seen, so a detector's
    jitter is damped and steady motion kept; a joint missing in a frame stays missing there."""
    if sigma <= 0 or not poses:
        return poses
    from scipy import ndimage

    body = np.stack([pose.body for pose in poses])  # (frames, joints, 3)
    seen = (body[..., 2] > 0).astype(np.float64)

    def spread(values: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter1d(values, sigma, axis=0, mode="constant", truncate=3.0)

    weight = spread(seen)
    track = spread(body[..., :2] * seen[..., None]) / np.maximum(weight, 1e-12)[..., None]
    smoothed = body.copy()
    smoothed[..., :2] = np.where(seen[..., None] > 0, track, body[..., :2])
    return [Pose(points, pose.size, pose.hands, pose.face) for points, pose in zip(smoothed, poses, strict=True)]
