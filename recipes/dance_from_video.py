"""The pose detector against the data: on the edn_pose test frames, BlazePose's keypoints (`pix2pix_hub.pose_detection`)
against the joints of the shipped OpenPose renders (`read_stick_figure`), their stick figures against the renders,
and the subject generated from detected poses against the subject generated from the renders.

    python -m recipes.dance_from_video [--data ../shared/data/edn_pose] [--model weights/edn_subject]

Writes `docs/dance_from_video.json` (every number), `docs/dance_from_video.md` (the tables the README shows) and
`docs/dance_from_video.jpg` (a strip: source frame | detected pose | generated subject). Needs the pose extra
(`pix2pix_hub.pose_detection.INSTALL`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from pix2pix_hub.dance import load_dancer
from pix2pix_hub.evaluation.metrics import mean_metrics, pair_metrics
from pix2pix_hub.images import image_to_tensor, tensor_to_image
from pix2pix_hub.inference.sequence import generate_sequence
from pix2pix_hub.pose import JOINTS, read_stick_figure, render_pose
from pix2pix_hub.pose_detection import detect_poses

OUT = Path("docs")
CLOSE = 5.0  # pixels of a 256-pixel frame (the person is about 180 high): a joint this close is "found"
STRIP = (0, 14, 28, 42, 56, 70, 84, 98)
BODY = [name for name in JOINTS if not name.endswith("small_toe")]  # BlazePose has no small toes


def drawn(image: Image.Image) -> np.ndarray:
    return (255 - np.asarray(image.convert("RGB"), dtype=np.int16).min(-1)) > 40


def figure_agreement(rendered: Image.Image, shipped: Image.Image) -> tuple[float, float]:
    """(mean distance in pixels from the rendered strokes to the shipped ones, IoU of their inked pixels)."""
    a, b = drawn(rendered), drawn(shipped)
    distance = float(ndimage.distance_transform_edt(~b)[a].mean()) if a.any() else float("nan")
    return distance, float((a & b).sum() / max((a | b).sum(), 1))


def joint_table(detected: np.ndarray, truth: np.ndarray) -> list[dict]:
    """Per joint: frames where the render / the detector has it, median distance where both do, share within CLOSE."""
    rows = []
    for name in BODY:
        j = JOINTS.index(name)
        has, found = truth[:, j, 2] > 0, detected[:, j, 2] > 0
        both = has & found
        distance = np.linalg.norm(detected[both, j, :2] - truth[both, j, :2], axis=-1)
        rows.append(
            {
                "joint": name,
                "in_render": int(has.sum()),
                "detected": int(found.sum()),
                "median_px": float(np.median(distance)) if both.any() else float("nan"),
                "within_5px": float((distance < CLOSE).sum() / max(has.sum(), 1)),
            }
        )
    return rows


def generated(dancer, figures: list[Image.Image]) -> list[Image.Image]:
    side = (dancer.size, dancer.size)
    poses = torch.stack([image_to_tensor(f.convert("RGB").resize(side, Image.Resampling.BICUBIC)) for f in figures])
    with torch.no_grad():
        frames = generate_sequence(dancer.runner, poses)
    return [tensor_to_image(frame).resize((256, 256), Image.Resampling.BICUBIC) for frame in frames]


def compared(outputs: list[Image.Image], targets: list[Image.Image]) -> dict[str, float]:
    return mean_metrics([pair_metrics(x, y) for x, y in zip(outputs, targets, strict=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/edn_pose", help="edn_pose (test/*.jpg: frame | render)")
    parser.add_argument("--model", default="weights/edn_subject")
    args = parser.parse_args()
    files = sorted(Path(args.data, "test").glob("*.jpg"))
    if not files:
        raise SystemExit(f"{args.data}/test: no frames here (see ../shared/data/README.md)")
    pairs = [Image.open(path).convert("RGB") for path in files]
    frames = [pair.crop((0, 0, 256, 256)) for pair in pairs]
    shipped = [pair.crop((256, 0, 512, 256)) for pair in pairs]
    truth = np.stack([read_stick_figure(render).body for render in shipped])
    detected_poses = detect_poses(frames)
    detected = np.stack([pose.body for pose in detected_poses])
    figures = [render_pose(pose, (256, 256)) for pose in detected_poses]
    reread = [render_pose(read_stick_figure(render), (256, 256)) for render in shipped]
    figure_rows = {
        "detected": np.nanmean([figure_agreement(f, s) for f, s in zip(figures, shipped, strict=True)], 0).tolist(),
        "read_back": np.nanmean([figure_agreement(f, s) for f, s in zip(reread, shipped, strict=True)], 0).tolist(),
    }
    dancer = load_dancer(args.model)
    from_detected, from_shipped = generated(dancer, figures), generated(dancer, shipped)
    subject = {
        "from detected poses vs from the shipped renders": compared(from_detected, from_shipped),
        "from the shipped renders vs the real frames": compared(from_shipped, frames),
        "from detected poses vs the real frames": compared(from_detected, frames),
    }
    results = {"frames": len(files), "joints": joint_table(detected, truth), "figures": figure_rows}
    results["subject"] = subject
    (OUT / "dance_from_video.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (OUT / "dance_from_video.md").write_text(tables(results), encoding="utf-8")
    columns = [frames, figures, from_detected]
    strip = Image.new("RGB", (256 * len(STRIP), 256 * len(columns)), "white")
    for row, images in enumerate(columns):
        for column, index in enumerate(STRIP):
            strip.paste(images[index], (256 * column, 256 * row))
    strip.resize((strip.width // 2, strip.height // 2), Image.Resampling.LANCZOS).save(
        OUT / "dance_from_video.jpg", quality=88
    )
    print(tables(results))


def tables(results: dict) -> str:
    """The README's tables: per joint, then whole figures and generated frames."""
    lines = [
        "| joint | frames with it in the render | detected | median distance (px) | within 5 px, of the render's |",
        "|---|---|---|---|---|",
    ]
    for row in results["joints"]:
        lines.append(
            f"| {row['joint']} | {row['in_render']} | {row['detected']} | {row['median_px']:.1f} "
            f"| {100 * row['within_5px']:.0f} % |"
        )
    detected, read_back = results["figures"]["detected"], results["figures"]["read_back"]
    lines += [
        "",
        "| stick figure vs the shipped render | stroke distance (px) | IoU |",
        "|---|---|---|",
        f"| from detected keypoints | {detected[0]:.2f} | {detected[1]:.2f} |",
        f"| from the render's own keypoints, read back | {read_back[0]:.2f} | {read_back[1]:.2f} |",
        "",
        "| generated subject | L1 | PSNR (dB) | SSIM |",
        "|---|---|---|---|",
    ]
    for name, scores in results["subject"].items():
        lines.append(f"| {name} | {scores['l1']:.4f} | {scores['psnr']:.2f} | {scores['ssim']:.4f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
