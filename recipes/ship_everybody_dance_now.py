"""Ship the Everybody Dance Now runs as weights/edn_subject: float16 generator, dance.json for the app, the
measurements with and without the temporal discriminator, a frame strip and a short video.

    python -m recipes.ship_everybody_dance_now [--data ../shared/data/edn_pose]

Reads `runs/edn_subject/` and `runs/edn_subject_no_temporal/` (written by `recipes/everybody_dance_now.sh`), writes
`weights/edn_subject/` (model.safetensors in float16, config.json, README.md, training.json, dance.json,
eval/metrics.json, eval/grid.png), `docs/edn_results.json`, `docs/edn_strip.png` and `docs/edn_sample.mp4`; when
`weights/edn_subject/` already holds a model, it is scored beside the new one ("previous") and
`docs/edn_subject_before_after.jpg` shows pose | before | after | real.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pix2pix_hub.data.frames import SequenceFrames
from pix2pix_hub.data.preprocessing import Preprocessing
from pix2pix_hub.data.sources import DataSpec, load_splits
from pix2pix_hub.evaluation.sequence import score_sequence
from pix2pix_hub.hub import atomic_write_bytes, atomic_write_text
from pix2pix_hub.images import png_bytes, tensor_to_image
from pix2pix_hub.inference.sequence import generate_sequence
from pix2pix_hub.methods.everybody_dance_now import with_video_usage
from pix2pix_hub.networks import Pix2PixGenerator
from pix2pix_hub.pose import BodyStats, read_stick_figure
from pix2pix_hub.training.report import read_training_record
from pix2pix_hub.video import write_video
from recipes.ship import save_weights

RUNS = {"temporal": Path("runs/edn_subject"), "no_temporal": Path("runs/edn_subject_no_temporal")}
OUT = Path("weights/edn_subject")
FPS = 7.5  # the data keeps about every 4th frame of a 30 fps video
STRIP_FRAMES = 8
TRADED = """
## What was traded for a CPU

The paper trains at 512x1024 with pix2pixHD's global generator (ngf 64, 4 downsamplings, 9 residual blocks), then
a local enhancer, then the face GAN, for many epochs on a GPU, with the VGG perceptual term. This model was trained
by `recipes/everybody_dance_now.sh` on {hardware} in {minutes:.1f} minutes:

- {frames};
- generator ngf {ngf}, {downsamplings} downsamplings, {blocks} residual blocks; discriminators ndf {ndf} (2 scales of
  3 layers, for the frame D and for the temporal D);
- {steps} steps: {epochs} + {decay} epochs of the 899 consecutive pairs (the rate decaying linearly to zero over
  the last {decay}, pix2pixHD's rule), instead of 100 + 100;
- the reference's `--use_l1` (L1 x 10 on both generated frames) instead of the VGG term, whose ImageNet weights no
  package here ships; no local enhancer, no face GAN (the data has no face crops);
- weights stored in float16 (evaluated as shipped).

The full recipe (`--ngf 64 --ndf 64 --n_downsample_global 4 --n_blocks_global 9 --preprocess none --load_size 256
--crop_size 256 --epochs 100 --decay_epochs 100`, at the data's 256x256) wants a GPU.

## Temporal coherence: with and without the temporal discriminator

On the 100 test frames in order, each generated from its pose and the frame generated before it (`eval/metrics.json`,
`{command}`); temporal change is the mean absolute difference between consecutive frames (8-bit, in [0, 1]), the
real video's is {real:.4f}.

| run | L1 | PSNR (dB) | SSIM | SWD x10³ mean / finest | temporal change |
|---|---|---|---|---|---|
{rows}

Same recipe, steps and seed; the second run has `--lambda_temporal 0` (no temporal D). {shipped}
The previous model (when there is one) is the model this one replaced, scored on the same frames at the same size
(its own frames resized as the app shows them). SWD is the realism score (`pix2pix_hub/evaluation/realism.py`;
lower is closer to the real frames).

## Data and licence

edn_pose: 1,000 frames of one subject from a contributor's upload to carolineec/EverybodyDanceNow (non-commercial use
only), with OpenPose renderings; train = the first 900 frames, test = the last 100 (see `../shared/data/README.md`).
`dance.json` holds what the app needs: the input size, the frame rate (about every 4th frame of a 30 fps video), the
subject's body statistics for pose normalisation (from the skeletons of every 3rd training frame, read by
`pix2pix_hub.pose.read_stick_figure`) and the 100 test poses (keypoints read the same way).
"""


def sequence(data: str, split: str, size: int) -> tuple[torch.Tensor, torch.Tensor, object]:
    """The split's (pose, frame) tensors in time order at the training size, and its pairs."""
    spec = DataSpec(data, direction="BtoA")
    train, test, _ = load_splits(spec, "test")
    pairs = train if split == "train" else test
    frames = SequenceFrames(pairs, Preprocessing("resize_and_crop", size, size, flip=False))
    items = [frames[i] for i in range(len(frames))]
    return torch.stack([i["source"] for i in items]), torch.stack([i["target"] for i in items]), pairs


def generate(folder: Path, poses: torch.Tensor) -> torch.Tensor:
    generator = Pix2PixGenerator.from_pretrained(folder).float().eval()
    with torch.no_grad():
        return generate_sequence(generator, poses)


def previous_frames(data: str, size: int) -> torch.Tensor | None:
    """The frames of the model now in `OUT` (the one a retraining replaces) on the test poses at its own size,
    resized to `size` as the app shows them; None when there is none."""
    if not (OUT / "model.safetensors").is_file():
        return None
    own_size = json.loads((OUT / "dance.json").read_text())["size"]
    poses, _, _ = sequence(data, "test", own_size)
    frames = generate(OUT, poses)
    if own_size == size:
        return frames
    resized = torch.nn.functional.interpolate(frames, size=(size, size), mode="bicubic", antialias=True)
    return resized.clamp(-1, 1)


def subject_poses(pairs, step: int = 1) -> list:
    """The body keypoints in the skeletons of `pairs` (every `step`-th), read by colour at 256x256."""
    return [read_stick_figure(pairs.load(index)[0]) for index in range(0, len(pairs), step)]


def strip(rows: list[torch.Tensor]) -> Image.Image:
    """One row per sequence of `rows` (e.g. pose, generated, real), 8 frames across the test sequence."""
    picks = np.linspace(0, len(rows[0]) - 1, STRIP_FRAMES).round().astype(int)
    side = 128
    canvas = Image.new("RGB", (side * len(picks), side * len(rows)), "white")
    for r, row in enumerate(rows):
        for c, index in enumerate(picks):
            canvas.paste(tensor_to_image(row[index]).resize((side, side)), (c * side, r * side))
    return canvas


SHIPPED_LINE = {
    "temporal": "The run with the temporal D (the paper's recipe) is the one shipped.",
    "no_temporal": "The run without the temporal D is the one shipped: here it scored better on every measure, "
    "flicker included.",
}


def run_name(name: str, result: dict) -> str:
    return "previous model" if name == "previous" else f"{name} (lambda_temporal {result['lambda_temporal']})"


def write_card(results: dict, command: str, record: dict, shipped: str) -> None:
    """The run's card with frame-by-frame usage, what was traded and the two runs' measurements."""
    recipe = record["recipe"]
    size = int(recipe["crop_size"])
    rows = "\n".join(
        f"| {run_name(name, r)} | {r['l1']:.4f} | {r['psnr']:.2f} | {r['ssim']:.4f} "
        f"| {r['swd']:.1f} / {r[f'swd_{size}']:.1f} | {r['temporal_change']:.4f} |"
        for name, r in results.items()
    )
    frames = "the data's 256x256 frames" if size == 256 else f"{size}x{size} frames (the data's 256x256 resized)"
    extra = TRADED.format(
        minutes=results[shipped]["wall_time_min"], command=command, rows=rows, hardware=record["hardware"][0],
        frames=frames + ", shown and written at 256x256", ngf=recipe["ngf"], ndf=recipe["ndf"],
        downsamplings=recipe["n_downsample_global"], blocks=recipe["n_blocks_global"],
        steps=record["steps"], epochs=recipe["epochs"], decay=recipe["decay_epochs"],
        real=results[shipped]["temporal_change_real"], shipped=SHIPPED_LINE[shipped],
    )  # fmt: skip
    card = with_video_usage((RUNS[shipped] / "README.md").read_text(encoding="utf-8"))
    card = card.replace("samples.png", "eval/grid.png").replace(
        "Measured by `python -m pix2pix_hub.evaluate` at step", "Measured at step"
    )
    card = re.sub(r"^# .*$", "# Everybody Dance Now: the edn_pose subject", card, count=1, flags=re.MULTILINE)
    atomic_write_text(OUT / "README.md", card.rstrip() + "\n" + extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/edn_pose")
    parser.add_argument("--ship", choices=sorted(RUNS), default="temporal", help="which of the two runs to ship")
    args = parser.parse_args()
    shipped = args.ship
    record = read_training_record(RUNS[shipped])
    size = int(record["recipe"]["crop_size"])
    poses, real, test_pairs = sequence(args.data, "test", size)
    previous = previous_frames(args.data, size)
    save_weights(RUNS[shipped], OUT, half=True, inference_mode=None)
    shutil.copy(RUNS[shipped] / "training.json", OUT / "training.json")

    generated = {name: generate(OUT if name == shipped else RUNS[name], poses) for name in RUNS}
    results = {}
    for name, frames in generated.items():
        evaluation = score_sequence(poses, frames, real)
        run = read_training_record(RUNS[name])
        results[name] = {
            **evaluation.metrics,
            "frames": evaluation.num_pairs,
            "steps": run["steps"],
            "wall_time_min": round(run["wall_time_s"] / 60, 1),
            "lambda_temporal": run["recipe"]["lambda_temporal"],
            "weights": "float16 (shipped)" if name == shipped else "float32 (run folder)",
            "command": "\n".join(stage["command"] for stage in run["stages"]),
        }
        if name == shipped:
            (OUT / "eval").mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(OUT / "eval" / "grid.png", png_bytes(evaluation.grid))
    if previous is not None:
        results["previous"] = score_sequence(poses, previous, real).metrics | {
            "weights": "the model this one replaced, its frames resized to the new size as the app shows them"
        }
    report = {"data": f"{args.data} test: 100 frames in time order, at {size}x{size}", "runs": results}
    report["command"] = f"python -m recipes.ship_everybody_dance_now --data {args.data} --ship {shipped}"
    atomic_write_text(OUT / "eval" / "metrics.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(Path("docs/edn_results.json"), json.dumps(report, indent=2) + "\n")

    _, _, train_pairs = sequence(args.data, "train", size)
    subject = BodyStats.of(subject_poses(train_pairs, step=3))
    test_poses = [[[round(v, 2) for v in joint] for joint in p.body.tolist()] for p in subject_poses(test_pairs)]
    dance = {"size": size, "fps": FPS, "subject": subject.to_dict(), "test_poses": test_poses}
    atomic_write_text(OUT / "dance.json", json.dumps(dance) + "\n")

    write_card(results, report["command"], record, shipped)
    atomic_write_bytes(Path("docs/edn_strip.png"), png_bytes(strip([poses, *generated.values(), real])))
    if previous is not None:  # pose | before | after | real
        jpeg = io.BytesIO()
        strip([poses, previous, generated[shipped], real]).save(jpeg, format="JPEG", quality=90)
        atomic_write_bytes(Path("docs/edn_subject_before_after.jpg"), jpeg.getvalue())
    side_by_side = [
        Image.fromarray(np.concatenate([np.asarray(tensor_to_image(t[i]).resize((192, 192))) for t in rows], 1))
        for i in range(len(real))
        for rows in [(poses, generated["temporal"], generated["no_temporal"], real)]
    ]
    write_video(side_by_side, FPS, "docs/edn_sample.mp4")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
