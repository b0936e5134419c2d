"""Print the project README's results table from the evaluations committed beside the bundled weights.

    python recipes/results.py

Reads weights/<task>/eval/metrics.json (written by `recipes/ship.py` through `python -m pix2pix_hub.evaluate`) and
weights/<folder>/eval/realism.json (written by `recipes/realism_scores.py`: every bundled model as the app serves
it), and prints the realism table of every bundled model after the results table.
"""

from __future__ import annotations

import json
from pathlib import Path

from ship import METRIC_NAMES, PERFECT, SHIPMENTS


def table_rows(task: str, report: dict, second_judge: dict | None = None) -> list[str]:
    """Markdown rows: metric, this model, the mean-training-target bound, the real-target bound (and the scores of
    a second judge, when the task has one)."""
    rows = []
    for name in ("l1", "ssim"):
        mean, perfect = report["mean_training_target"][name], PERFECT[name]
        rows.append(f"| {task} | {METRIC_NAMES[name]} | **{report[name]:.4f}** | {mean:.4f} | {perfect} |")
    for name, value in report.get("label_maps", {}).get("output", {}).items():
        low = report["label_maps"]["mean_training_target"][name]
        label = METRIC_NAMES[name].replace("FCN-score", "label map")
        rows.append(f"| {task} | {label} | **{value:.4f}** | {low:.4f} | 1 |")
    for judged, suffix in ((report.get("judge"), ""), ((second_judge or {}).get("judge"), " (second judge)")):
        for name, value in (judged or {}).get("output", {}).items():
            low, high = judged["mean_training_target"][name], judged["real_target"][name]
            rows.append(f"| {task} | {METRIC_NAMES[name]}{suffix} | **{value:.4f}** | {low:.4f} | {high:.4f} |")
    return rows


def realism_rows(task: str, measured: dict) -> list[str]:
    """Results-table rows of a task's realism: the mean over pyramid levels and the finest level, with the
    real-vs-real floor in the real-target column (no mean-training-target number: not measured)."""
    entry = measured["models"][task]
    finest = next(iter(entry["levels"]))
    where = f"{entry['precision']}, {entry['images']} images"
    return [
        f"| {task} | realism SWD x10³, mean of levels ({where}) | **{entry['swd']:.1f}** | "
        f"| {entry['swd_floor']:.1f} |",
        f"| {task} | realism SWD x10³, finest level ({finest} px) | **{entry['levels'][finest]['swd']:.1f}** | "
        f"| {entry['levels'][finest]['floor']:.1f} |",
    ]


def realism_table(folders: list[Path]) -> list[str]:
    """Every measured model: images, SWD x10³ against the floor as the mean of levels, at the finest and at the
    coarsest level, and the classifier two-sample test's accuracy (0.5: the CNN cannot tell)."""
    lines = [
        "| model | images (split) | SWD, mean of levels | floor | finest level | SWD | floor | coarsest SWD | floor "
        "| C2ST accuracy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in folders:
        for name, entry in json.loads(path.read_text()).get("models", {}).items():
            levels = list(entry["levels"].values())
            finest, coarsest = levels[0], levels[-1]
            lines.append(
                f"| {name} | {entry['images']} ({entry['split']}) | **{entry['swd']:.1f}** | {entry['swd_floor']:.1f} "
                f"| {next(iter(entry['levels']))} px | **{finest['swd']:.1f}** | {finest['floor']:.1f} "
                f"| **{coarsest['swd']:.1f}** | {coarsest['floor']:.1f} | {entry['c2st_accuracy']:.2f} |"
            )
    return lines


def main() -> None:
    print("| task | metric | model | mean training target | real target |")
    print("|---|---|---|---|---|")
    for task in SHIPMENTS:
        path = Path("weights") / task / "eval" / "metrics.json"
        second = path.with_name("metrics_judge_seed1.json")
        if path.is_file():
            second_judge = json.loads(second.read_text()) if second.is_file() else None
            print("\n".join(table_rows(task, json.loads(path.read_text()), second_judge)))
        realism = path.with_name("realism.json")
        if realism.is_file():
            print("\n".join(realism_rows(task, json.loads(realism.read_text()))))
    print()
    print("\n".join(realism_table(sorted(Path("weights").glob("*/eval/realism.json")))))


if __name__ == "__main__":
    main()
