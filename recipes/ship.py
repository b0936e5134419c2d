"""Ship a trained run as a bundled model: float16 weights, their evaluation beside them and a model card.

    python recipes/ship.py facades_label2photo [--data ../shared/data/facades] [--inference_mode eval]

Reads `runs/<task>/` (its weights, config.json and training.json, written by `recipes/<task>.sh`) and writes
`weights/<task>/`: model.safetensors (float16; loading casts back to float32), config.json (the run's, or with
`--inference_mode`), README.md (its training section from training.json), and eval/metrics.json + eval/grid.png
from `python -m pix2pix_hub.evaluate`. The same model in float32 is evaluated as well (`runs/<task>/float32/`), so
the card states what half precision costs. Prints the task's rows for the project README's results table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import EvalResult
from jinja2 import Template
from safetensors.torch import load_file

from pix2pix_hub.evaluation.evaluate import main as evaluate
from pix2pix_hub.hub import CONFIG_NAME, WEIGHTS_NAME, atomic_write_text, read_model_card_template, save_state_dict
from pix2pix_hub.networks import INFERENCE_MODES, Pix2PixGenerator
from pix2pix_hub.training.report import TRAINING_RECORD, read_training_record


@dataclass(frozen=True)
class Shipment:
    """What a bundled task was trained on and how it is judged."""

    dataset: str  # folder under ../shared/data
    split: str  # the held-out split evaluated
    dataset_name: str
    domain: str
    direction: str
    source: str
    target: str
    judge: str | None  # a folder under weights/judges/
    label_maps: str | None = None  # outputs are colour label maps of this set, scored as the paper's Table 3


SHIPMENTS = {
    "facades_label2photo": Shipment(
        "facades", "test", "CMP Facades", "European building fronts", "BtoA", "label map", "photo", "facades"
    ),
    "sat2map": Shipment("maps", "val", "pix2pix maps", "Manhattan, Google Maps", "AtoB", "aerial photo", "map", None),
    "map2sat": Shipment("maps", "val", "pix2pix maps", "Manhattan, Google Maps", "BtoA", "map", "aerial photo", "maps"),
    "cityscapes_label2photo": Shipment(
        "cityscapes", "val", "Cityscapes", "German street scenes", "BtoA", "label map", "photo", "cityscapes"
    ),
    "cityscapes_photo2label": Shipment(
        "cityscapes", "val", "Cityscapes", "German street scenes", "AtoB", "photo", "label map", None, "cityscapes"
    ),
    "edges2shoes": Shipment(
        "edges2shoes", "val", "edges2shoes", "UT Zappos50K shoes", "BtoA", "edge map", "photo", None
    ),
    # BicycleGAN: scored on random codes here (the encoder's subfolder ships beside G); its variety and encoded
    # scores: python -m recipes.bicyclegan_diversity
    "edges2shoes_bicyclegan": Shipment(
        "edges2shoes", "val", "edges2shoes", "UT Zappos50K shoes", "BtoA", "edge map", "photo", None
    ),
}
SECOND_JUDGE_NOTE = "no longer shipped; `SECOND_JUDGES=1 bash recipes/judges.sh` rebuilds it"
JUDGE_TEXT = {
    "facades": "**FCN-score** (the paper's realism measure, Sec. 4.2): the facade segmenter "
    "[`weights/judges/facades`](../judges/facades), trained on the training photos only, labels each generated "
    "photo, and the scores say how well its labels recover the input label map. The generated photos close "
    "**{gap:.0%}** of the per-pixel-accuracy gap between the mean training photo and the real photos.",
    "cityscapes": "**FCN-score** (the paper's Table 1 measure): the Cityscapes segmenter "
    "[`weights/judges/cityscapes`](../judges/cityscapes), trained on the training photos only, labels each "
    "generated photo over the 19 evaluated classes (void pixels ignored), and the scores say how well its labels "
    "recover the input label map. The generated photos close **{gap:.0%}** of the per-pixel-accuracy gap between "
    "the mean training photo and the real photos.",
    "maps": "**Structure score**: the photo -> map regressor [`weights/judges/maps`](../judges/maps), trained on "
    "the training pairs only, reads a map back from each generated aerial photo and is compared with the input map "
    "(structure L1: lower is better). The generated photos close **{gap:.0%}** of the structure-L1 gap between the "
    "mean training photo and the real photos.",
}
JUDGE_GAP_METRIC = {"facades": "per_pixel_accuracy", "cityscapes": "per_pixel_accuracy", "maps": "structure_l1"}
LABEL_MAPS_TEXT = (
    "**Label-map scores** (the paper's Table 3, photo -> labels): each pixel of the generated colour map is decoded "
    "to the nearest class colour and compared with the real label map (void pixels ignored); the bound is the mean "
    "training label map decoded the same way."
)
METRIC_NAMES = {
    "l1": "L1",
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "per_pixel_accuracy": "FCN-score per-pixel accuracy",
    "per_class_accuracy": "FCN-score per-class accuracy",
    "class_iou": "FCN-score class IoU",
    "structure_l1": "structure L1",
    "structure_ssim": "structure SSIM",
}
PERFECT = {"l1": "0", "psnr": "∞", "ssim": "1"}


def with_article(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def save_weights(run_dir: Path, out_dir: Path, half: bool, inference_mode: str | None) -> None:
    """The run's weights (as float16 with `half`; integer buffers such as batch-norm counters stay as they are)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = load_file(run_dir / WEIGHTS_NAME)
    cast = {k: v.half() if half and v.is_floating_point() else v for k, v in tensors.items()}
    save_state_dict(cast, out_dir / WEIGHTS_NAME)
    config = json.loads((run_dir / CONFIG_NAME).read_text(encoding="utf-8"))
    if "inference_mode" in config:  # a generator's (an encoder has none)
        config["inference_mode"] = inference_mode or config["inference_mode"]
    atomic_write_text(out_dir / CONFIG_NAME, json.dumps(config, indent=2, sort_keys=True) + "\n")


def evaluate_folder(
    model: Path, shipment: Shipment, data: str, size: int, output_dir: Path, judge: str | None = None
) -> tuple[dict, str]:
    """Run `python -m pix2pix_hub.evaluate` on the held-out split at `size` (with the shipment's judge, or `judge`
    from weights/judges/); returns its report and the command."""
    argv = ["--model", str(model), "--dataset", data, "--split", shipment.split, "--direction", shipment.direction]
    argv += ["--load_size", str(size), "--crop_size", str(size), "--output_dir", str(output_dir)]
    argv += ["--judge", f"weights/judges/{judge or shipment.judge}"] if shipment.judge else ["--bounds"]
    argv += ["--label_maps", shipment.label_maps] if shipment.label_maps else []
    return evaluate(argv), "python -m pix2pix_hub.evaluate " + " ".join(argv)


def score_previous(out_dir: Path, shipment: Shipment, data: str) -> dict | None:
    """The shipped model that a new one is about to replace, evaluated as the new one will be (None: none yet)."""
    if not (out_dir / WEIGHTS_NAME).is_file():
        return None
    size = Pix2PixGenerator.from_pretrained(out_dir).native_size
    with tempfile.TemporaryDirectory() as scratch:
        report, _ = evaluate_folder(out_dir, shipment, data, size, Path(scratch))
    return report


def training_fields(run_dir: Path) -> dict[str, str]:
    """The card's training section, from the run's training.json (which holds every resumed stage, in order)."""
    try:
        record = read_training_record(run_dir)
    except FileNotFoundError as error:
        sys.exit(
            f"{error}\nship.py reads {TRAINING_RECORD}, which train_accelerate.py writes since the method/loop split; "
            "a run trained before it has none: train it again with its recipes/<task>.sh"
        )
    changes = {name: value for name, value in record["recipe_changes"].items() if name != "direction"}
    recipe = "the paper's" + (
        ", except " + ", ".join(f"{name}={value}" for name, value in changes.items()) if changes else ""
    )
    stages = record["stages"]
    staged = f" in {len(stages)} stages" if len(stages) > 1 else ""
    return {
        "recipe": recipe + (f" (the last of {len(stages)} stages; each stage's command is below)" if staged else ""),
        "steps": str(record["steps"]),
        "hardware": ", ".join(record["hardware"]),
        "training_time": f"{record['wall_time_s'] / 60:.1f} min{staged}",
        "command": "\n".join(stage["command"] for stage in stages),
    }


def result_rows(shipped: dict, float32: dict) -> list[dict[str, str]]:
    """One row per metric: the shipped model, the mean training target, the real target, the float32 model."""
    rows = []
    for name in ("l1", "psnr", "ssim"):
        digits = 2 if name == "psnr" else 4
        rows.append(
            {
                "key": name,
                "name": METRIC_NAMES[name],
                "model": f"{shipped[name]:.{digits}f}",
                "mean": f"{shipped['mean_training_target'][name]:.{digits}f}",
                "real": PERFECT[name],
                "float32": f"{float32[name]:.{digits}f}",
            }
        )
    for name, value in shipped.get("label_maps", {}).get("output", {}).items():
        rows.append(
            {
                "key": name,
                "name": f"label map {METRIC_NAMES[name].removeprefix('FCN-score ')}",
                "model": f"{value:.4f}",
                "mean": f"{shipped['label_maps']['mean_training_target'][name]:.4f}",
                "real": "1",
                "float32": f"{float32['label_maps']['output'][name]:.4f}",
            }
        )
    if "swd" in shipped:  # realism: the real-target column holds the real-vs-real floor
        finest = max(int(name.rsplit("_", 1)[1]) for name in shipped if name.startswith("swd_floor_"))
        for key, label in (("swd", "mean of levels"), (f"swd_{finest}", f"finest level, {finest} px")):
            floor = shipped[key.replace("swd", "swd_floor")]
            rows.append(
                {"key": key, "name": f"realism SWD x10³ ({label})", "model": f"{shipped[key]:.1f}", "mean": "",
                 "real": f"{floor:.1f}", "float32": f"{float32[key]:.1f}"}
            )  # fmt: skip
    if "checkerboard_ratio" in shipped:  # the mesh: 1 = no more periodic pattern than the real targets have
        rows.append(
            {"key": "checkerboard_ratio", "name": "mesh ratio (outputs / real targets)",
             "model": f"{shipped['checkerboard_ratio']:.2f}", "mean": "", "real": "1",
             "float32": f"{float32['checkerboard_ratio']:.2f}"}
        )  # fmt: skip
    judged = shipped.get("judge", {})
    for name, value in judged.get("output", {}).items():
        rows.append(
            {
                "key": name,
                "name": METRIC_NAMES[name],
                "model": f"{value:.4f}",
                "mean": f"{judged['mean_training_target'][name]:.4f}",
                "real": f"{judged['real_target'][name]:.4f}",
                "float32": f"{float32['judge']['output'][name]:.4f}",
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(SHIPMENTS))
    parser.add_argument("--data", default=None, help="the AB folder (default: ../shared/data/<dataset>)")
    parser.add_argument("--run_dir", default=None, help="the trained run (default: runs/<task>)")
    parser.add_argument("--out_dir", default=None, help="where to ship it (default: weights/<task>)")
    parser.add_argument("--inference_mode", choices=INFERENCE_MODES, default=None, help="default: the run's")
    args = parser.parse_args(argv)
    shipment = SHIPMENTS[args.task]
    data = args.data or f"../shared/data/{shipment.dataset}"
    run_dir = Path(args.run_dir or f"runs/{args.task}")
    out_dir = Path(args.out_dir or f"weights/{args.task}")
    if not (run_dir / WEIGHTS_NAME).is_file():
        sys.exit(f"{run_dir}: no trained model here; run `bash recipes/{args.task}.sh` first")
    run = training_fields(run_dir)  # before minutes of evaluation: a run without training.json stops here

    previous = score_previous(out_dir, shipment, data)  # the model this one replaces, scored the same way
    save_weights(run_dir, out_dir, half=True, inference_mode=args.inference_mode)
    if (run_dir / "encoder" / WEIGHTS_NAME).is_file():  # a BicycleGAN's E, in its subfolder
        save_weights(run_dir / "encoder", out_dir / "encoder", half=True, inference_mode=None)
    float32_dir = run_dir / "float32"  # the run as shipped but in float32: what half precision costs
    save_weights(run_dir, float32_dir, half=False, inference_mode=args.inference_mode)
    size = Pix2PixGenerator.from_pretrained(run_dir).native_size  # evaluated at the resolution it was trained for
    float32, _ = evaluate_folder(float32_dir, shipment, data, size, float32_dir / "eval")
    shipped, eval_command = evaluate_folder(out_dir, shipment, data, size, out_dir / "eval")
    rows = result_rows(shipped, float32)
    if previous is not None:
        before = {row["key"]: row["model"] for row in result_rows(previous, previous)}
        rows = [row | {"previous": before.get(row["key"], "")} for row in rows]
    judge_text = LABEL_MAPS_TEXT if shipment.label_maps else ""
    if shipment.judge:
        gap = shipped["judge"]["gap_closed"][JUDGE_GAP_METRIC[shipment.judge]]
        judge_text = JUDGE_TEXT[shipment.judge].format(gap=gap)
    second_judge = Path(f"weights/judges/{shipment.judge}_seed1")
    (out_dir / "eval" / "metrics_judge_seed1.json").unlink(missing_ok=True)  # it scored the model replaced
    if shipment.judge and second_judge.is_dir():  # a judge is one network's opinion: a second one, to compare
        second, _ = evaluate_folder(out_dir, shipment, data, size, out_dir / "eval_judge_seed1", second_judge.name)
        atomic_write_text(out_dir / "eval" / "metrics_judge_seed1.json", json.dumps(second, indent=2) + "\n")
        shutil.rmtree(out_dir / "eval_judge_seed1")
        judge_text += (
            f" A second judge of another seed and width (`{second_judge}`, {SECOND_JUDGE_NOTE}) scored it in "
            "`eval/metrics_judge_seed1.json`."
        )

    extra = Template(read_model_card_template("trained_model.md")).render(
        num_pairs=shipped["num_pairs"],
        split=shipment.split,
        size=size,
        eval_command=eval_command,
        rows=rows,
        judge_text=judge_text,
        task=args.task,
        data=data,
        dataset_name=shipment.dataset_name,
        domain=shipment.domain,
        source=shipment.source,
        target=shipment.target,
        training_time=run["training_time"],
    )
    model_name = f"pix2pix-hub {args.task}"
    eval_results = [
        EvalResult(
            task_type="image-to-image",
            dataset_type=f"pix2pix-{shipment.dataset}",
            dataset_name=shipment.dataset_name,
            dataset_split=shipment.split,
            metric_type=row["key"],
            metric_name=row["name"],
            metric_value=float(row["model"]),
        )
        for row in rows
    ]
    generator = Pix2PixGenerator.from_pretrained(out_dir)
    card = generator.generate_model_card(
        card_data={"model_name": model_name, "eval_results": eval_results},
        model_name=model_name,
        description=f"It translates {with_article(shipment.source)} into {with_article(shipment.target)} "
        f"({shipment.dataset_name} data).",
        dataset=f"{shipment.dataset_name} ({data}, train split)",
        direction=shipment.direction,
        source=shipment.source,
        target=shipment.target,
        sample_grid="eval/grid.png",
        extra_sections=extra,
        **run,
    )
    atomic_write_text(out_dir / "README.md", str(card))
    print(json.dumps({"task": args.task, "rows": rows, "judge_gap_closed": shipped.get("judge", {}).get("gap_closed")}))


if __name__ == "__main__":
    main()
