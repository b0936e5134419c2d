"""Print the project README's results table from the evaluations committed beside the bundled weights.

    python recipes/results.py

Reads weights/<task>/eval/metrics.json (written by `recipes/ship.py` through `python -m pix2pix_hub.evaluate`).
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


def main() -> None:
    print("| task | metric | model | mean training target | real target |")
    print("|---|---|---|---|---|")
    for task in SHIPMENTS:
        path = Path("weights") / task / "eval" / "metrics.json"
        second = path.with_name("metrics_judge_seed1.json")
        if path.is_file():
            second_judge = json.loads(second.read_text()) if second.is_file() else None
            print("\n".join(table_rows(task, json.loads(path.read_text()), second_judge)))


if __name__ == "__main__":
    main()
