"""Ship a CycleGAN run as a bundled two-direction model: float16 weights per direction, int8 calibrations where they
hold, its evaluation (cycle L1 and two domain judges, float16 and float32) and cards.

    python -m recipes.ship_cyclegan apple2orange [--data ../shared/data/apple2orange]

Reads `runs/<task>/` (written by `recipes/<task>.sh`) and writes `weights/<task>/`: `AtoB/` and `BtoA/` (each
model.safetensors in float16, config.json, README.md, int8_calibration.json when int8 passes its checks), README.md,
training.json and eval/metrics.json + eval/grid.png from `python -m pix2pix_hub.evaluate_cycle`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Template
from torch.utils.data import Dataset

from pix2pix_hub.calibrate_int8 import calibrate
from pix2pix_hub.data.arguments import preprocessing
from pix2pix_hub.data.unpaired import DomainImageDataset, load_unpaired
from pix2pix_hub.evaluation.cycle import main as evaluate_cycle
from pix2pix_hub.evaluation.evaluate import Evaluation
from pix2pix_hub.hub import WEIGHTS_NAME, atomic_write_text
from pix2pix_hub.methods.cyclegan import DIRECTIONS, card_values, render_card
from pix2pix_hub.networks import Pix2PixGenerator
from pix2pix_hub.training.report import TRAINING_RECORD, read_training_record
from recipes.ship import save_weights


@dataclass(frozen=True)
class CycleShipment:
    """What a bundled CycleGAN was trained on and how it is judged."""

    dataset: str  # folder under ../shared/data
    domain_a: str
    domain_b: str
    judges: tuple[str, ...]  # folders under weights/judges/ (the second: SECOND_JUDGES=1 bash recipes/judges.sh)
    size: int  # the training crop: where it is evaluated and calibrated


SHIPMENTS = {
    "apple2orange": CycleShipment(
        "apple2orange", "apple photos", "orange photos", ("apple2orange", "apple2orange_seed1"), 128
    ),
}
EXTRA = """
## Results

Every number below comes from `python -m pix2pix_hub.evaluate_cycle` on the held-out test images of both domains
at {{ size }}x{{ size }} ({{ domain_a }} as A, {{ domain_b }} as B), saved beside this card in
[`eval/metrics.json`](eval/metrics.json) (command: `{{ command }}`). The judges are small apple-vs-orange
classifiers trained on the training photos only, with two seeds ([`judges/{{ judges[0] }}`](../judges/{{ judges[0] }}),
[`judges/{{ judges[1] }}`](../judges/{{ judges[1] }})); a claim holds only where both agree. FID is not reported:
it needs Inception weights, which no package available here ships.

| | translated | real images of the target domain | untranslated inputs |
|---|---|---|---|
{% for row in rows -%}
| {{ row.what }} | **{{ row.translated }}** | {{ row.real }} | {{ row.input }} |
{% endfor %}
Cycle consistency (mean absolute error of a round trip on 8-bit images in [0, 1]): A → B → A {{ cycle_a }},
B → A → B {{ cycle_b }}; the float32 weights the float16 ones were cast from: {{ cycle_a32 }} and {{ cycle_b32 }}.

{{ int8 }}

## Reproduce

Needs the apple2orange data in `{{ data }}` (not part of this repository): `bash recipes/{{ task }}.sh`.
"""


class AsPairs(Dataset):
    """A domain's images as {"source", "target"} with the image as both: int8 calibration's eval metrics then say
    how far each output is from its input, which int8 must not move either."""

    def __init__(self, domain: DomainImageDataset):
        self.domain = domain

    def __len__(self) -> int:
        return len(self.domain)

    def __getitem__(self, index: int) -> dict:
        image = self.domain[index]["image"]
        return {"source": image, "target": image}


def data_args(data: str, size: int) -> argparse.Namespace:
    """The unpaired data flags of a training run on `data`, evaluated at `size`."""
    return argparse.Namespace(
        dataset=data, dataset_A=None, dataset_B=None, image_column=None, dataset_config=None, cache_dir=None,
        direction="AtoB", source_column=None, target_column=None, train_split="train", eval_split="test",
        eval_split_fraction=0.1, split_seed=0, max_dataset_size=None, preprocess="resize_and_crop",
        load_size=size, crop_size=size, flip=False,
    )  # fmt: skip


def float32_part(calibration) -> str:
    """What a calibration keeps in float32, in words: "2 float32 levels and 1 more convolution", "3 convolutions in
    float32"."""
    extra = len(calibration.float_convs)
    noun = "convolution" if extra == 1 else "convolutions"
    if not calibration.float_levels:
        return f"{extra} {noun} in float32"
    more = f" and {extra} more {noun}" if extra else ""
    return f"{calibration.float_levels} float32 levels{more}"


def calibrate_directions(out_dir: Path, data: str, size: int, ranges: str = "minmax") -> str:
    """int8 for each direction where it holds (train images to calibrate, test images to validate)."""
    splits = load_unpaired(data_args(data, size))
    lines = []
    for direction, (train, test) in {
        "AtoB": (splits.train_a, splits.eval_a),
        "BtoA": (splits.train_b, splits.eval_b),
    }.items():
        generator = Pix2PixGenerator.from_pretrained(out_dir, subfolder=direction)
        look = preprocessing(data_args(data, size), generator.size_multiple)
        domain_train, domain_test = (AsPairs(DomainImageDataset(images, look, 3)) for images in (train, test))
        try:
            calibration = calibrate(generator, domain_train, domain_test, size, ranges_method=ranges)
        except ValueError as error:
            lines.append(f"- `{direction}`: float32 (int8 did not pass: {error})")
            continue
        calibration.save(out_dir / direction)
        validation = calibration.validation
        lines.append(
            f"- `{direction}`: int8 with {float32_part(calibration)}, every test output at least "
            f"{validation['psnr_vs_float32_min']:.1f} dB PSNR from its float32 output "
            f"(median {validation['psnr_vs_float32_median']:.1f} dB)"
        )
    return (
        "**CPU inference.** Pipelines run int8 where a calibration holds (`precision='float32'` turns it off):\n\n"
        + "\n".join(lines)
    )


def judge_rows(metrics: dict, judges: tuple[str, ...]) -> list[dict]:
    rows = []
    for judge in judges:
        for direction, target, source in (("AtoB", "B", "A"), ("BtoA", "A", "B")):
            rows.append(
                {
                    "what": f"{direction}, share called {target} by `{judge}`",
                    "translated": f"{metrics[f'{judge}/{direction}_translated_called_{target}']:.3f}",
                    "real": f"{metrics[f'{judge}/real_{target}_called_{target}']:.3f}",
                    "input": f"{metrics[f'{judge}/input_{source}_called_{target}']:.3f}",
                }
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(SHIPMENTS))
    parser.add_argument("--data", default=None, help="the trainA/ trainB/ testA/ testB/ folder")
    parser.add_argument("--run_dir", default=None, help="the trained run (default: runs/<task>)")
    parser.add_argument("--out_dir", default=None, help="where to ship it (default: weights/<task>)")
    args = parser.parse_args(argv)
    shipment = SHIPMENTS[args.task]
    data = args.data or f"../shared/data/{shipment.dataset}"
    run_dir, out_dir = Path(args.run_dir or f"runs/{args.task}"), Path(args.out_dir or f"weights/{args.task}")
    if not all((run_dir / direction / WEIGHTS_NAME).is_file() for direction in DIRECTIONS):
        sys.exit(f"{run_dir}: no trained AtoB/ and BtoA/ here; run `bash recipes/{args.task}.sh` first")
    record = read_training_record(run_dir)

    for direction in DIRECTIONS:
        save_weights(run_dir / direction, out_dir / direction, half=True, inference_mode=None)
        save_weights(run_dir / direction, run_dir / "float32" / direction, half=False, inference_mode=None)
    shutil.copy(run_dir / TRAINING_RECORD, out_dir / TRAINING_RECORD)
    flags = [
        "--dataset",
        data,
        "--eval_split",
        "test",
        "--load_size",
        str(shipment.size),
        "--crop_size",
        str(shipment.size),
    ]
    flags += sum((["--judge", f"weights/judges/{judge}"] for judge in shipment.judges), [])
    shipped = evaluate_cycle(["--model", str(out_dir), "--output_dir", str(out_dir / "eval"), *flags])
    float32 = evaluate_cycle(
        ["--model", str(run_dir / "float32"), "--output_dir", str(run_dir / "float32" / "eval"), *flags]
    )
    int8 = calibrate_directions(out_dir, data, shipment.size)

    command = "python -m pix2pix_hub.evaluate_cycle --model " + " ".join([str(out_dir), *flags])
    extra = Template(EXTRA).render(
        size=shipment.size, domain_a=shipment.domain_a, domain_b=shipment.domain_b, judges=shipment.judges,
        rows=judge_rows(shipped, shipment.judges), command=command, data=data, task=args.task, int8=int8,
        cycle_a=f"{shipped['cycle_l1_A']:.4f}", cycle_b=f"{shipped['cycle_l1_B']:.4f}",
        cycle_a32=f"{float32['cycle_l1_A']:.4f}", cycle_b32=f"{float32['cycle_l1_B']:.4f}",
    )  # fmt: skip
    metrics = {name: value for name, value in shipped.items() if name.startswith("cycle")}
    result = Evaluation(metrics, shipped["num_images"], None)
    values = card_values(record, result, argparse.Namespace(hub_model_id=None, push_to_hub=False))
    values |= {"model_name": f"pix2pix-hub {args.task} (CycleGAN)", "sample_grid": "eval/grid.png",
               "domain_a": shipment.domain_a, "domain_b": shipment.domain_b, "extra_sections": extra}  # fmt: skip
    atomic_write_text(out_dir / "README.md", str(render_card(values)))
    for direction, text in (("AtoB", "A to B"), ("BtoA", "B to A")):
        card = render_card(values | {"direction": direction, "direction_text": text, "sample_grid": None})
        atomic_write_text(
            out_dir / direction / "README.md",
            str(card).replace("](eval/", "](../eval/").replace("](../judges/", "](../../judges/"),
        )
    print(json.dumps({"task": args.task, "shipped": shipped, "float32": float32}, indent=2))


if __name__ == "__main__":
    main()
