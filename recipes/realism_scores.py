"""Measure every bundled model's realism as the app serves it: its score and the real-vs-real floor, per level.

    python -m recipes.realism_scores [--data ../shared/data] [--max_images 200] [--out docs/realism_before]

Every model runs through the runner the app runs it with (ONNX Runtime, int8 with the model's calibration), on the
held-out split it was scored on, at the size it was trained at:
- the pix2pix models (recipes/ship.py's SHIPMENTS) by `python -m pix2pix_hub.evaluate --precision int8 --max_pairs N
  --two_sample_test` (the first N pairs of the split);
- apple2orange, each direction: its translations of the domain's test photos against the other domain's real test
  photos (unpaired, the first N of each; `pix2pix_hub.evaluation.cycle.unpaired_realism`);
- edn_subject: the test sequence generated frame by frame from the poses as the Dance tab does, against the real
  frames (`pix2pix_hub.evaluation.sequence`).
Each also gets the classifier two-sample test (`pix2pix_hub.evaluation.two_sample`: 0.5 = a small CNN cannot tell
its outputs from real images). Writes OUT.json (per model: images, the mean score and floor, per level, the test's
accuracy), OUT.jpg (per model one row: input | output | a real image of the split), each bundled folder's
`eval/realism.json` and the "Realism" section of its card (`model_cards/realism.md`, after the card's results) with
the SWD among its model-index results. One thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from huggingface_hub import EvalResult, ModelCard
from jinja2 import Template
from PIL import Image, ImageDraw
from torch.utils.data import Subset

from pix2pix_hub.data.arguments import preprocessing
from pix2pix_hub.data.unpaired import DomainImageDataset, domain_channels, load_unpaired
from pix2pix_hub.evaluation.cycle import parse_args as cycle_args
from pix2pix_hub.evaluation.cycle import translate_domain, unpaired_realism
from pix2pix_hub.evaluation.evaluate import main as evaluate
from pix2pix_hub.evaluation.sequence import score_sequence
from pix2pix_hub.evaluation.two_sample import classifier_two_sample_test
from pix2pix_hub.hub import atomic_write_text, read_model_card_template
from pix2pix_hub.images import tensor_to_image
from pix2pix_hub.inference.fast.int8 import find_calibration
from pix2pix_hub.inference.runner import Runner
from pix2pix_hub.inference.sequence import generate_sequence
from pix2pix_hub.networks import Pix2PixGenerator
from recipes.ship import SHIPMENTS
from recipes.ship_cyclegan import SHIPMENTS as CYCLE_SHIPMENTS

CELL = 160  # pixels per image in the grid
SEED = 0
CYCLE_TASK = "apple2orange"
SERVED_SIZE = {"apple2orange": 256}  # served at the photos' size since 2026-12-07 (trained on 128 px crops)
RESULTS_TITLES = ("## Results with their bounds", "## Results", "## Evaluation")  # the card section it follows


def app_runner(folder: Path, subfolder: str | None = None, size: int | None = None) -> Runner:
    """The runner the app builds for a bundled model: ONNX Runtime on the CPU, int8 with its calibration."""
    generator = Pix2PixGenerator.from_pretrained(folder, subfolder=subfolder)
    calibration = find_calibration(folder, subfolder=subfolder)
    return Runner(generator, "cpu", size or generator.native_size, precision="auto", int8_calibration=calibration)


def pixels(*sets: torch.Tensor) -> list[list[np.ndarray]]:
    """(N, C, H, W) tensors in [-1, 1] as lists of 8-bit RGB arrays, as the evaluations see images."""
    return [[np.asarray(tensor_to_image(image)) for image in images] for images in sets]


def realism_part(metrics: dict, prefix: str = "") -> dict:
    """The realism numbers of a report: the means, one dict per level (finest first), the two-sample test."""
    keys = {name.removeprefix(prefix) for name in metrics if name.startswith(prefix)}
    levels = sorted((int(k.split("_")[-1]) for k in keys if k.startswith("swd_") and "floor" not in k), reverse=True)
    return {
        "swd": metrics[f"{prefix}swd"],
        "swd_floor": metrics[f"{prefix}swd_floor"],
        "levels": {level: {"swd": metrics[f"{prefix}swd_{level}"], "floor": metrics[f"{prefix}swd_floor_{level}"]}
                   for level in levels},
        "c2st_accuracy": metrics[f"{prefix}c2st_accuracy"],
    }  # fmt: skip


def paired_model(task: str, data: Path, max_images: int, scratch: Path) -> tuple[dict, tuple]:
    """A pix2pix model through `pix2pix_hub.evaluate` in int8; its first grid row (source, output, target)."""
    shipment = SHIPMENTS[task]
    folder = Path("weights") / task
    size = Pix2PixGenerator.from_pretrained(folder).native_size
    argv = ["--model", str(folder), "--dataset", str(data / shipment.dataset), "--split", shipment.split]
    argv += ["--direction", shipment.direction, "--load_size", str(size), "--crop_size", str(size)]
    precision = "int8" if find_calibration(folder) is not None else "float32"  # as the app serves it
    argv += ["--precision", precision, "--max_pairs", str(max_images), "--seed", str(SEED), "--two_sample_test"]
    report = evaluate([*argv, "--output_dir", str(scratch / task)])
    grid = Image.open(scratch / task / "grid.png").convert("RGB")
    row = tuple(grid.crop((i * grid.width // 3, 0, (i + 1) * grid.width // 3, grid.height // 4)) for i in range(3))
    entry = {"split": shipment.split, "images": report["num_pairs"], "precision": report["precision"]}
    entry["command"] = "python -m pix2pix_hub.evaluate " + " ".join(argv)
    return entry | realism_part(report), row


def cycle_models(task: str, data: Path, max_images: int) -> dict[str, tuple[dict, tuple]]:
    """Both directions of a CycleGAN folder through the app's int8 runners, each direction's translations against
    the real test images of its target domain (named as the app's tasks: apple2orange, orange2apple)."""
    size = SERVED_SIZE.get(task, CYCLE_SHIPMENTS[task].size)
    folder = Path("weights") / task
    flags = ["--model", str(folder), "--dataset", str(data / task), "--eval_split", "test"]
    args = cycle_args([*flags, "--load_size", str(size), "--crop_size", str(size)])
    splits = load_unpaired(args)
    runners = {direction: app_runner(folder, direction, size) for direction in ("AtoB", "BtoA")}
    look = preprocessing(args, runners["AtoB"].generator.size_multiple)
    domains = [DomainImageDataset(domain, look, domain_channels(domain)) for domain in (splits.eval_a, splits.eval_b)]
    domain_a, domain_b = (Subset(domain, range(min(max_images, len(domain)))) for domain in domains)
    run = {direction: (lambda x, r=runner: r.run({"source": x})) for direction, runner in runners.items()}
    _, rows_a, real_a, fake_b = translate_domain(run["AtoB"], run["BtoA"], domain_a, "cpu")
    _, rows_b, real_b, fake_a = translate_domain(run["BtoA"], run["AtoB"], domain_b, "cpu")
    names = task.split("2")
    results = {}
    for direction, name, translated, real, row in (
        ("AtoB", task, fake_b, real_b, rows_a[0]),
        ("BtoA", f"{names[1]}2{names[0]}", fake_a, real_a, rows_b[0]),
    ):
        count = min(len(translated), len(real))
        entry = {"split": "test", "images": count, "precision": runners[direction].precision, "direction": direction}
        metrics = unpaired_realism(translated, real, direction)
        metrics[f"{direction}_c2st_accuracy"] = classifier_two_sample_test(*pixels(translated, real))
        results[name] = entry | realism_part(metrics, f"{direction}_"), (row[0], row[1], tensor_to_image(real[0]))
    return results


def edn_model(data: Path) -> tuple[dict, tuple]:
    """The Everybody Dance Now subject: the test poses in order, each frame from the one before, as the Dance tab."""
    from recipes.ship_everybody_dance_now import sequence

    folder = Path("weights/edn_subject")
    size = json.loads((folder / "dance.json").read_text())["size"]
    poses, real, _ = sequence(str(data / "edn_pose"), "test", size)
    runner = app_runner(folder, size=size)
    frames = generate_sequence(runner, poses)
    metrics = score_sequence(poses, frames, real).metrics
    metrics["c2st_accuracy"] = classifier_two_sample_test(*pixels(frames, real))
    entry = {"split": "test", "images": len(frames), "precision": runner.precision}
    middle = len(frames) // 2
    row = tuple(tensor_to_image(t[middle]) for t in (poses, frames, real))
    return entry | realism_part(metrics), row


def grid(rows: dict[str, tuple], results: dict[str, dict]) -> Image.Image:
    """One row per model: its name and numbers, then input | output | a real image of the split, CELL pixels each."""
    label_width, header = 190, 24
    sheet = Image.new("RGB", (label_width + 3 * CELL, header + CELL * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for column, title in enumerate(("input", "output", "real (of the split)")):
        draw.text((label_width + column * CELL + 6, 6), title, fill="black")
    for index, (name, images) in enumerate(rows.items()):
        entry, top = results[name], header + index * CELL
        finest = next(iter(entry["levels"]))
        lines = [name, f"SWD {entry['swd']:.0f} (floor {entry['swd_floor']:.0f})"]
        lines.append(f"{finest} px: {entry['levels'][finest]['swd']:.0f} ({entry['levels'][finest]['floor']:.0f})")
        draw.multiline_text((6, top + CELL // 2 - 20), "\n".join(lines), fill="black", spacing=4)
        for column, image in enumerate(images):
            sheet.paste(image.convert("RGB").resize((CELL, CELL)), (label_width + column * CELL, top))
    return sheet


def bundled_folder(name: str, entry: dict) -> Path:
    """Where a measured model lives: its own folder, or for a CycleGAN direction the folder of both."""
    return Path("weights") / (CYCLE_TASK if "direction" in entry else name)


def card_models(names: list[str], report: dict) -> list[dict]:
    """The realism card template's values for the models of one folder."""
    models = []
    for name in names:
        entry = report["models"][name]
        heights = list(entry["levels"])
        levels = [
            {
                "name": f"{height} px"
                + (" (finest)" if height == heights[0] else "")
                + (" (coarsest)" if height == heights[-1] else ""),
                "swd": f"{entry['levels'][height]['swd']:.1f}",
                "floor": f"{entry['levels'][height]['floor']:.1f}",
            }
            for height in heights
        ]
        note = {
            "AtoB": ", its translations of the test A photos against the real test B photos (unpaired)",
            "BtoA": ", its translations of the test B photos against the real test A photos (unpaired)",
        }.get(entry.get("direction"), "")
        models.append(
            {"title": f"`{name}`", "images": entry["images"], "split": entry["split"], "per_half": entry["images"] // 2,
             "note": note, "swd": f"{entry['swd']:.1f}", "floor": f"{entry['swd_floor']:.1f}", "levels": levels,
             "c2st": f"{entry['c2st_accuracy']:.2f}"}
        )  # fmt: skip
    return models


def with_section(card: str, section: str) -> str:
    """`card` with its "## Realism" section replaced by `section`, or `section` put after the results section."""
    lines = card.splitlines(keepends=True)
    headers = [index for index, line in enumerate(lines) if line.startswith("## ")]
    titled = {lines[index].strip(): index for index in headers}
    start = titled.get("## Realism")
    if start is None:
        results = next(titled[title] for title in RESULTS_TITLES if title in titled)
        start = end = next((index for index in headers if index > results), len(lines))
    else:
        end = next((index for index in headers if index > start), len(lines))
    return "".join(lines[:start]) + section.strip() + "\n\n" + "".join(lines[end:])


def with_index_entries(card: str, entry: dict) -> str:
    """`card` with the model's SWD (mean of levels, finest level) among its model-index evaluation results, the
    metadata the Hub shows, when it lists any (the first result's task and data set); earlier SWD entries replaced."""
    parsed = ModelCard(card)
    results = parsed.data.eval_results
    if not results:
        return card
    finest = next(iter(entry["levels"]))
    values = {"swd": entry["swd"], f"swd_{finest}": entry["levels"][finest]["swd"]}
    names = {"swd": "realism SWD x10³ (mean of levels)", f"swd_{finest}": f"realism SWD x10³ ({finest} px level)"}
    kept = [result for result in results if not result.metric_type.startswith("swd")]
    first = results[0]
    data = {"task_type": first.task_type, "dataset_type": first.dataset_type, "dataset_name": first.dataset_name}
    data["dataset_split"] = first.dataset_split
    added = [EvalResult(**data, metric_type=key, metric_name=names[key], metric_value=round(float(values[key]), 1))
             for key in values]  # fmt: skip
    parsed.data.eval_results = kept + added
    return str(parsed)


def write_model_files(report: dict) -> None:
    """Each bundled folder's eval/realism.json and the Realism section of its card(s)."""
    folders: dict[Path, list[str]] = {}
    for name, entry in report["models"].items():
        folders.setdefault(bundled_folder(name, entry), []).append(name)
    template = Template(read_model_card_template("realism.md"))
    for folder, names in folders.items():
        measured = {"command": report["command"], "seed": report["seed"]}
        measured["models"] = {name: report["models"][name] for name in names}
        atomic_write_text(folder / "eval" / "realism.json", json.dumps(measured, indent=2) + "\n")
        values = {"models": card_models(names, report), "command": report["command"]}
        values["precision"] = report["models"][names[0]]["precision"]
        cards = {folder / "README.md": "eval/realism.json"}
        cards |= {card: "../eval/realism.json" for card in folder.glob("*/README.md")}  # a CycleGAN's directions
        for card, link in cards.items():
            text = with_section(card.read_text(encoding="utf-8"), template.render(values | {"eval_link": link}))
            if len(names) == 1:  # one model in the folder: its Hub evaluation results too
                text = with_index_entries(text, report["models"][names[0]])
            atomic_write_text(card, text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data", help="the folder of facades/, maps/, ... (shared data)")
    parser.add_argument("--max_images", type=int, default=200, help="images per split (the first N)")
    parser.add_argument("--out", default="docs/realism_before", help="path stem of the .json and .jpg written")
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=None,
        help="only these pix2pix models or edn_subject (e.g. one retrained), merged into OUT.json",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.tasks:
        return update_tasks(args)
    torch.set_num_threads(1)
    data = Path(args.data)
    if not data.is_dir():
        sys.exit(f"{data}: no shared data here (facades/, maps/, ...); pass --data")
    results, rows = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        for task in SHIPMENTS:
            results[task], rows[task] = paired_model(task, data, args.max_images, Path(scratch))
            print(task, json.dumps(results[task]), flush=True)
    for name, (entry, row) in cycle_models(CYCLE_TASK, data, args.max_images).items():
        results[name], rows[name] = entry, row
        print(name, json.dumps(entry), flush=True)
    results["edn_subject"], rows["edn_subject"] = edn_model(data)
    print("edn_subject", json.dumps(results["edn_subject"]), flush=True)
    command = "python -m recipes.realism_scores " + " ".join(sys.argv[1:] if argv is None else argv)
    report = {"command": command.strip(), "threads": 1, "seed": SEED, "models": results}
    out = Path(args.out)
    atomic_write_text(out.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    grid(rows, results).save(out.with_suffix(".jpg"), quality=85)
    write_model_files(report)


def update_tasks(args: argparse.Namespace) -> None:
    """Measure only `args.tasks` (paired models, or edn_subject) and merge them into OUT.json and their folders'
    files; OUT.jpg, a picture of every model, is left as it was (run without --tasks to redraw it)."""
    torch.set_num_threads(1)
    out = Path(args.out).with_suffix(".json")
    report = json.loads(out.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as scratch:
        for task in args.tasks:
            if task == "edn_subject":
                report["models"][task], _ = edn_model(Path(args.data))
            else:
                report["models"][task], _ = paired_model(task, Path(args.data), args.max_images, Path(scratch))
            print(task, json.dumps(report["models"][task]), flush=True)
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    write_model_files({**report, "models": {task: report["models"][task] for task in args.tasks}})


if __name__ == "__main__":
    main()
