"""Re-record `tests/fixtures/bundled_outputs/` for bundled models that were retrained.

    python -m recipes.record_bundled_outputs cityscapes_label2photo --why "the retrained model (recipes/...sh, date)"

For each of the models' cases in `cases.json`: a PyTorch case keeps its recorded inference mode(s); a default-path
case (`backend` "auto") takes what `from_pretrained` now gives, the config's inference mode and int8 only where a
calibration passed, and its file is renamed to match (`<model>-default-<precision>.png`); a Dance sequence keeps its
precision (re-calibrate int8 first). Each output is made by the test's own `translate`, on this CPU with its default
threads, so run it on the machine named in `recorded_on` (or re-record every case there). Old files whose names
changed are removed.
"""

from __future__ import annotations

import argparse
import json

from pix2pix_hub import Pix2PixPipeline
from tests.test_bundled_outputs import ROOT, cpu_signature, translate

FIXTURES = ROOT / "tests/fixtures/bundled_outputs"


def refresh_default_case(case: dict) -> None:
    """The default path's mode and precision as the app now loads the model; the file named after them."""
    pipe = Pix2PixPipeline.from_pretrained(ROOT / "weights" / case["model"])
    case["inference_mode"] = pipe.generator.inference_mode
    if case.get("mode", "resize") == "resize":  # whole images and tiles run in float32 whatever the calibration
        case["precision"] = pipe.precision
        case["output"] = f"{case['model']}-default-{case['precision']}.png"


def record(models: list[str], why: str) -> list[str]:
    """Re-record the cases of `models`; returns the files written."""
    index = json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8"))
    if index["recorded_on"] != cpu_signature():
        raise SystemExit(f"the fixtures were recorded on {index['recorded_on']}; this is {cpu_signature()}")
    written = []
    for case in index["cases"]:
        if case["model"] not in models:
            continue
        old_name = case["output"]
        if case["backend"] == "auto" and case.get("kind") != "sequence":
            refresh_default_case(case)
        translate(case).save(FIXTURES / case["output"])
        if old_name != case["output"]:
            (FIXTURES / old_name).unlink()
        case["recorded_with"] = why
        written.append(case["output"])
    (FIXTURES / "cases.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="bundled model folders under weights/")
    parser.add_argument("--why", required=True, help="what changed, kept in each case's recorded_with")
    args = parser.parse_args()
    for name in record(args.models, args.why):
        print("recorded", name)


if __name__ == "__main__":
    main()
