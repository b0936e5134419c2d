"""Print the project README's results table from the evaluations committed beside the bundled weights.

    python recipes/results.py

Reads weights/<task>/eval/metrics.json (written by `recipes/ship.py` through `python -m pix2pix_hub.evaluate`).
"""

from __future__ import annotations

import json
from pathlib import Path

from ship import METRIC_NAMES, PERFECT, SHIPMENTS


def table_rows(task: str, report: dict) -> list[str]:
    """Markdown rows: metric, this model, the mean-training-target bound, the real-target bound."""
    rows = []
    for name in ("l1", "ssim"):
        mean, perfect = report["mean_training_target"][name], PERFECT[name]
        rows.append(f"| {task} | {METRIC_NAMES[name]} | **{report[name]:.4f}** | {mean:.4f} | {perfect} |")
    judged = report.get("judge")
    if judged:
        for name, value in judged["output"].items():
            low, high = judged["mean_training_target"][name], judged["real_target"][name]
            rows.append(f"| {task} | {METRIC_NAMES[name]} | **{value:.4f}** | {low:.4f} | {high:.4f} |")
    return rows


def main() -> None:
    print("| task | metric | model | mean training target | real target |")
    print("|---|---|---|---|---|")
    for task in SHIPMENTS:
        path = Path("weights") / task / "eval" / "metrics.json"
        if path.is_file():
            print("\n".join(table_rows(task, json.loads(path.read_text()))))


if __name__ == "__main__":
    main()
