"""Score several trained runs side by side on one held-out split, with one or more judges: a table, a JSON, a grid.

    python recipes/compare_runs.py --data ../shared/data/cityscapes --direction BtoA --split val \\
        --judge weights/judges/cityscapes --judge weights/judges/cityscapes_seed1 \\
        --run "L1+cGAN=runs/cityscapes_ablation/l1_cgan" --run "L1=runs/cityscapes_ablation/l1" \\
        --out docs/cityscapes_ablation

Each run is scored with `python -m pix2pix_hub.evaluate` once per judge (in `<run>/judged/<judge name>/`), at the
size it was trained at; the real photos (upper bound) and the mean training photo (lower bound) are scored by every
judge too. Each run's realism (`pix2pix_hub.evaluation.realism`: SWD x10³ as the mean of pyramid levels and at the
finest level) stands beside the real-vs-real floor of the split, in the real photos' row, and its mesh ratio
(`pix2pix_hub.evaluation.artifacts`: the outputs' periodic-pattern score over the real photos'; 1 = none more).
`--out X` writes X.json (every number, each run's steps and wall time from its training.json), X.md (the table)
and X.jpg (the first rows of the split: source, each run's output, the real target).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image

from pix2pix_hub.evaluation.evaluate import main as evaluate
from pix2pix_hub.hub import atomic_write_text
from pix2pix_hub.networks import Pix2PixGenerator
from pix2pix_hub.training.report import read_training_record

SCORES = ("per_pixel_accuracy", "per_class_accuracy", "class_iou")


def score_run(run: Path, judge: Path, args: argparse.Namespace) -> dict:
    """One run's evaluation report under one judge (evaluated at the run's own training size)."""
    size = Pix2PixGenerator.from_pretrained(run).native_size
    height, width = (size, size) if isinstance(size, int) else size
    argv = ["--model", str(run), "--dataset", args.data, "--split", args.split, "--direction", args.direction]
    argv += ["--judge", str(judge), "--output_dir", str(run / "judged" / judge.name)]
    if height == width:
        argv += ["--load_size", str(width), "--crop_size", str(width)]
    else:  # a non-square model: width to its width, height by the aspect ratio it was trained at
        argv += ["--preprocess", "scale_width", "--load_size", str(width), "--aspect_ratio", str(width / height)]
    return evaluate(argv)


def run_facts(run: Path) -> dict:
    """Steps and wall time from the run's training.json (every stage)."""
    record = read_training_record(run)
    return {"steps": record["steps"], "minutes": round(record["wall_time_s"] / 60, 1), "method": record["method"]}


def realism_of(report: dict) -> dict:
    """A report's realism: SWD x10³ as the mean of levels and at the finest level, and the real-vs-real floor."""
    finest = max(int(name.rsplit("_", 1)[1]) for name in report if name.startswith("swd_floor_"))
    return {
        "swd": report["swd"],
        "swd_finest": report[f"swd_{finest}"],
        "finest_level": finest,
        "floor": {"swd": report["swd_floor"], "swd_finest": report[f"swd_floor_{finest}"]},
    }


def table(results: dict, judges: list[str]) -> str:
    """Markdown: one row per run and the two bounds, one column group per judge, then realism (SWD: the real
    photos' row holds the real-vs-real floor)."""
    scores = " | ".join(f"{score} ({judge})" for judge in judges for score in SCORES)
    header = f"| | steps | minutes | {scores} | SWD x10³ (mean of levels) | SWD x10³ (finest level) | mesh ratio |"
    lines = [header, "|---" * (6 + len(judges) * len(SCORES)) + "|"]
    for label, result in results["runs"].items():
        values = [f"{result['judges'][judge][score]:.3f}" for judge in judges for score in SCORES]
        values += [f"{result['realism']['swd']:.1f}", f"{result['realism']['swd_finest']:.1f}"]
        values += [f"{result['checkerboard_ratio']:.2f}"]
        lines.append(f"| {label} | {result['steps']} | {result['minutes']} | " + " | ".join(values) + " |")
    floor = next(iter(results["runs"].values()))["realism"]["floor"]
    for bound in ("real_target", "mean_training_target"):
        values = [f"{results['bounds'][judge][bound][score]:.3f}" for judge in judges for score in SCORES]
        values += [f"{floor['swd']:.1f}", f"{floor['swd_finest']:.1f}", "1.00"] if bound == "real_target" else [""] * 3
        lines.append(f"| {bound.replace('_', ' ')} | | | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def grid(runs: dict[str, Path], judge: str) -> Image.Image:
    """Rows of the split: source, each run's output, real target (cut from each evaluation's grid.png)."""
    grids = {label: Image.open(run / "judged" / judge / "grid.png").convert("RGB") for label, run in runs.items()}
    first = next(iter(grids.values()))
    cell_w = first.width // 3
    columns = [first.crop((0, 0, cell_w, first.height))]
    for image in grids.values():  # every run's output column, at the first run's cell size
        width = image.width // 3
        columns.append(image.crop((width, 0, 2 * width, image.height)).resize((cell_w, first.height)))
    columns.append(first.crop((2 * cell_w, 0, 3 * cell_w, first.height)))
    sheet = Image.new("RGB", (cell_w * len(columns), first.height), "white")
    for index, column in enumerate(columns):
        sheet.paste(column, (index * cell_w, 0))
    return sheet


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--direction", required=True, choices=("AtoB", "BtoA"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--judge", action="append", required=True, help="a judge folder (repeat for several)")
    parser.add_argument("--run", action="append", required=True, help="LABEL=RUN_FOLDER (repeat)")
    parser.add_argument("--out", required=True, help="path stem of the .json, .md and .jpg written")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    runs = {label: Path(folder) for label, folder in (entry.split("=", 1) for entry in args.run)}
    judges = [Path(judge) for judge in args.judge]
    results = {"command": "python recipes/compare_runs.py " + " ".join(argv), "runs": {}, "bounds": {}}
    for label, run in runs.items():
        reports = {judge.name: score_run(run, judge, args) for judge in judges}
        results["runs"][label] = run_facts(run) | {
            "judges": {name: report["judge"]["output"] for name, report in reports.items()},
            "l1": next(iter(reports.values()))["l1"],
            "realism": realism_of(next(iter(reports.values()))),
            "checkerboard_ratio": next(iter(reports.values()))["checkerboard_ratio"],
        }
        for name, report in reports.items():
            bounds = {key: report["judge"][key] for key in ("real_target", "mean_training_target")}
            results["bounds"].setdefault(name, bounds)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out.with_suffix(".json"), json.dumps(results, indent=2) + "\n")
    atomic_write_text(out.with_suffix(".md"), table(results, [judge.name for judge in judges]))
    grid(runs, judges[0].name).save(out.with_suffix(".jpg"), quality=88)
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
