"""Body keypoints from photos and video frames: MediaPipe's BlazePose (its full landmark model, which the mediapipe
0.10.14 wheel carries, so nothing is downloaded) mapped onto the COCO-18 / OpenPose skeleton the renderer draws.

BlazePose finds 33 landmarks, each with a visibility; those below `threshold` are left missing. The COCO-18 joints
are BlazePose's namesakes, the neck is the shoulders' midpoint and the mid hip the hips' (`pose.body_from_openpose`),
and the big toes are BlazePose's foot tips (its heels and the small toes have no counterpart in the renders' layout:
missing). In video mode the landmark model follows the person from the previous frame instead of detecting them
anew each frame (faster, steadier); smoothing over time is `pose.smooth_poses`.

mediapipe 0.10.14 declares protobuf < 5, but the project's onnx and tensorboard need protobuf >= 6.31: it is
installed with `--no-deps` (see `INSTALL`). Its graph runs under the newer protobuf; only its Python packet getter
calls `SymbolDatabase.GetPrototype`, which protobuf 5 removed, and its option setter reads `FieldDescriptor.label`,
which protobuf 7 removed. So the landmarks are parsed here from the packet's bytes and the graph keeps its own
thresholds (0.5 for detecting and for tracking a person, as `mediapipe.solutions.pose.Pose`'s defaults). Its
native module prints one `AttributeError: 'MessageFactory' object has no attribute 'GetPrototype'` line when imported
(a check it falls back from); harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from PIL import Image

from .pose import J, Pose, body_from_openpose

INSTALL = 'pip install -e ".[pose]" && pip install --no-deps mediapipe==0.10.14'
# COCO-18 joint -> BlazePose landmark (None: the neck, the shoulders' midpoint)
BLAZEPOSE_TO_COCO_18 = (0, None, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)
BLAZEPOSE_BIG_TOES = {J["right_big_toe"]: 32, J["left_big_toe"]: 31}  # BlazePose's right / left foot index
SHOULDERS = (12, 11)


def body_from_landmarks(landmarks: np.ndarray, threshold: float) -> np.ndarray:
    """The 23 body joints (pixels, confidence) from BlazePose's 33 landmarks as (x, y, visibility) in pixels;
    landmarks less visible than `threshold` are missing (confidence 0)."""
    seen = np.where(landmarks[:, 2:] >= threshold, landmarks, 0.0)
    coco = np.zeros((18, 3))
    for joint, landmark in enumerate(BLAZEPOSE_TO_COCO_18):
        if landmark is not None:
            coco[joint] = seen[landmark]
    shoulders = seen[list(SHOULDERS)]
    if (shoulders[:, 2] > 0).all():
        coco[1] = (*shoulders[:, :2].mean(0), shoulders[:, 2].min())
    body = body_from_openpose(coco.ravel().tolist(), "BlazePose landmarks")
    for joint, landmark in BLAZEPOSE_BIG_TOES.items():
        body[joint] = seen[landmark]
    return body


class PoseDetector:
    """BlazePose on one person: `detect(frame)` gives a `Pose` in the frame's pixels (no joints when nobody is
    found). `video=True` treats successive calls as one video's frames, in order."""

    def __init__(self, threshold: float = 0.5, video: bool = False) -> None:
        self.threshold = threshold
        self.graph = _blazepose_graph(video)

    def detect(self, frame: Image.Image | np.ndarray) -> Pose:
        rgb = np.ascontiguousarray(np.asarray(frame.convert("RGB") if isinstance(frame, Image.Image) else frame))
        height, width = rgb.shape[:2]
        found = self.graph.process({"image": rgb}).pose_landmarks
        if found is None:
            return Pose(np.zeros((23, 3)), (width, height))
        points = np.array([(p.x * width, p.y * height, p.visibility) for p in found.landmark])
        return Pose(body_from_landmarks(points, self.threshold), (width, height))

    def close(self) -> None:
        self.graph.close()

    def __enter__(self) -> PoseDetector:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def detect_poses(
    frames: Iterable[Image.Image], threshold: float = 0.5, on_frame: Callable[[int], None] | None = None
) -> list[Pose]:
    """One pose per video frame, in order (the landmark model follows the person from frame to frame)."""
    poses = []
    with PoseDetector(threshold, video=True) as detector:
        for index, frame in enumerate(frames):
            poses.append(detector.detect(frame))
            if on_frame is not None:
                on_frame(index)
    return poses


def _blazepose_graph(video: bool):
    """mediapipe's pose graph (the full landmark model), returning the image landmarks as a parsed proto."""
    try:
        from mediapipe.framework.formats import landmark_pb2
        from mediapipe.python._framework_bindings import _packet_getter
        from mediapipe.python.solution_base import SolutionBase
        from mediapipe.python.solutions import pose as mediapipe_pose
    except ImportError as error:
        raise ImportError(
            f"Pose detection needs mediapipe 0.10.14 and its runtime packages ({error}); install them with `{INSTALL}`"
        ) from None

    class BlazePose(SolutionBase):
        def _get_packet_content(self, packet_data_type, output_packet):
            if output_packet.is_empty():
                return None
            serialized = _packet_getter._get_serialized_proto(output_packet)
            return landmark_pb2.NormalizedLandmarkList.FromString(serialized)

    options = {"model_complexity": 1, "smooth_landmarks": False, "enable_segmentation": False}
    options |= {"smooth_segmentation": False, "use_prev_landmarks": video}
    return BlazePose(
        binary_graph_path=mediapipe_pose._BINARYPB_FILE_PATH, side_inputs=options, outputs=["pose_landmarks"]
    )
