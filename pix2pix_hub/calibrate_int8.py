"""Calibrate a model for int8 CPU inference and validate it on its eval split (see `pix2pix_hub.inference.fast.int8`).

    python -m pix2pix_hub.calibrate_int8 --model FOLDER --dataset DATA [--direction BtoA ...]

Writes FOLDER/int8_calibration.json only when the validation passes; otherwise nothing is written and the
command says which check failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from onnxruntime.quantization import CalibrationDataReader, quantize_static

from .data import PairedImageDataset, load_splits
from .data.arguments import add_data_arguments, data_spec, preprocessing
from .data.frames import SequenceFrames
from .evaluation.evaluate import evaluation_view
from .evaluation.metrics import mean_metrics, output_psnr, pair_metrics
from .images import tensor_to_image
from .inference.fast.int8 import (
    CALIBRATION_PAIRS,
    METRIC_TOLERANCES,
    MIN_PSNR,
    QUANTIZATION,
    RANGE_METHODS,
    Int8Calibration,
    conv_costs,
    conv_levels,
    float32_convs,
    quantized_graph,
    quiet_quantizer,
    stored_size,
    weights_sha256,
)
from .inference.fast.onnx import export_to_onnx
from .inference.interface import InferenceGenerator, Size, example_inputs, input_size, inputs_of
from .inference.paper_mode import PaperModeNetwork, paper_mode_network
from .inference.sequence import generate_sequence
from .networks import Pix2PixGenerator


class _Feeds(CalibrationDataReader):
    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self.feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.feeds, None)


def record_ranges(float_graph: bytes, feeds: list[dict[str, np.ndarray]], method: str = "minmax") -> dict:
    """ONNX Runtime's ranges of every Conv's tensors over `feeds` (the graph's inputs), by `RANGE_METHODS[method]`."""
    with tempfile.TemporaryDirectory() as folder, quiet_quantizer():
        cache = Path(folder) / "ranges.json"
        quantize_static(
            onnx.load_from_string(float_graph),
            Path(folder) / "int8.onnx",
            _Feeds(feeds),
            calibration_cache_path=cache,
            calibrate_method=RANGE_METHODS[method],
            **QUANTIZATION,
        )
        return json.loads(cache.read_text())


def graph_feeds(
    items: list[dict[str, torch.Tensor]], generator: InferenceGenerator, paper_mode: PaperModeNetwork | None, seed: int
) -> list[dict[str, np.ndarray]]:
    """One feed per item: its tensors of the generator's declared inputs by name (a latent code it lacks drawn from
    N(0, 1)); "paper" mode's dropout masks drawn image by image, all from `seed`."""
    feeds = []
    for index, item in enumerate(items):
        draws = torch.Generator().manual_seed(seed + index)
        height, width = item["source"].shape[-2:]
        defaults = example_inputs(inputs_of(generator), 1, height, width, draws)
        feed = {name: (item[name][None] if name in item else default).numpy() for name, default in defaults.items()}
        if paper_mode is not None:
            masks = paper_mode.draw_masks(feed["source"].shape, draws)
            feed |= {f"mask{number}": mask.numpy() for number, mask in enumerate(masks)}
        feeds.append(feed)
    return feeds


def session(graph: bytes) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def scored_outputs(graph: bytes, dataset, feeding: tuple, seed: int) -> tuple[list, list[dict]]:
    """`graph`'s output for each eval pair (dropout masks seeded per pair) and its metrics against the target;
    `feeding`: (generator, paper mode network or None), what `graph_feeds` feeds by."""
    run = session(graph)
    outputs, scores = [], []
    for index in range(len(dataset)):
        pair = dataset[index]
        (feed,) = graph_feeds([pair], *feeding, seed + index)
        (output,) = run.run(None, feed)
        outputs.append(output)
        scores.append(pair_metrics(tensor_to_image(torch.from_numpy(output[0])), tensor_to_image(pair["target"])))
    return outputs, scores


def validate(reference: tuple[list, list[dict]], int8_graph: bytes, dataset, feeding: tuple, seed: int) -> dict:
    """Each eval output of the int8 graph against the float32 one (`reference`), and both graphs' eval metrics."""
    float_outputs, float_scores = reference
    int8_outputs, int8_scores = scored_outputs(int8_graph, dataset, feeding, seed)
    psnrs = [
        output_psnr(output, float_output) for output, float_output in zip(int8_outputs, float_outputs, strict=True)
    ]
    return {
        "num_pairs": len(psnrs),
        "psnr_vs_float32_min": min(psnrs),
        "psnr_vs_float32_median": statistics.median(psnrs),
        "metrics_float32": mean_metrics(float_scores),
        "metrics_int8": mean_metrics(int8_scores),
    }


def failures(validation: dict, min_psnr: float) -> list[str]:
    """What keeps a validation from passing (empty when it passes)."""
    found = []
    if validation["psnr_vs_float32_min"] < min_psnr:
        found.append(f"an output is {validation['psnr_vs_float32_min']:.1f} dB from float32 (needs {min_psnr})")
    for name, tolerance in METRIC_TOLERANCES.items():
        change = abs(validation["metrics_int8"][name] - validation["metrics_float32"][name])
        if change > tolerance:
            found.append(f"eval {name} moves by {change:.4f} (at most {tolerance})")
    return found


MAX_SEARCHED_CONVS = 4  # a level with more convolutions is kept whole in float32 (2^n - 2 subsets to try)


def cheaper_subsets(level_convs: list[str], costs: dict[str, int]) -> list[tuple[str, ...]]:
    """The non-empty proper subsets of one level's convolutions, fewest float32 multiply-adds first."""
    if len(level_convs) > MAX_SEARCHED_CONVS:
        return []
    subsets = [subset for k in range(1, len(level_convs)) for subset in itertools.combinations(level_convs, k)]
    return sorted(subsets, key=lambda subset: sum(costs[name] for name in subset))


RANGES_CHOICES = [*RANGE_METHODS, "both"]  # "both": the one whose passing set keeps fewer float32 multiply-adds


def attempter(float_graph: bytes, ranges: dict, reference, eval_set, feeding: tuple, seed: int, min_psnr: float, log):
    """The check `cheapest_passing` calls: quantize with these ranges, keeping these convolutions float32, validate."""

    def attempt(float_levels: int, float_convs: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
        graph = quantized_graph(float_graph, ranges, float_levels, list(float_convs))
        validation = validate(reference, graph, eval_set, feeding, seed)
        reasons = failures(validation, min_psnr)
        also = f" and {', '.join(float_convs)}" if float_convs else ""
        log(
            f"{float_levels} float32 levels{also}: PSNR vs float32 min {validation['psnr_vs_float32_min']:.1f} dB, "
            f"median {validation['psnr_vs_float32_median']:.1f} dB; " + ("; ".join(reasons) or "passes")
        )
        return validation, reasons

    return attempt


def fewest_float_multiply_adds(found: list[tuple], levels: dict[str, int], costs: dict[str, int]) -> tuple:
    """Of (method, ranges, float levels, float convolutions, validation) results, the one whose float32
    convolutions take the fewest multiply-adds; of equals, the one with the higher lowest PSNR."""

    def rank(result: tuple) -> tuple[int, float]:
        _, _, float_levels, float_convs, validation = result
        kept = float32_convs(levels, float_levels, float_convs)
        return sum(costs[name] for name in kept), -validation["psnr_vs_float32_min"]

    return min(found, key=rank)


def calibrate(
    generator: InferenceGenerator,
    calibration_set: PairedImageDataset,
    eval_set: PairedImageDataset,
    image_size: Size,
    min_psnr: float = MIN_PSNR,
    seed: int = 0,
    log=print,
    ranges_method: str = "minmax",
) -> Int8Calibration:
    """Ranges from `calibration_set`'s sources, then the fewest float levels that pass on `eval_set`; then, from the
    innermost float level out, the cheapest convolutions of each level with which it still passes. With
    `ranges_method="both"`, that for each way of recording ranges, keeping the one with fewer float32 multiply-adds
    (then the higher lowest PSNR).

    `image_size` (an int: a square, or (height, width)) is the size of the datasets' images and the only size the
    calibration applies to.
    """
    size = input_size(generator, image_size)
    paper_mode = paper_mode_network(generator)
    float_graph = export_to_onnx(generator, paper_mode, size)
    picks = np.linspace(0, len(calibration_set) - 1, min(CALIBRATION_PAIRS, len(calibration_set))).round()
    sources = [calibration_set[int(index)] for index in picks]
    feeding = (generator, paper_mode)
    feeds = [feed for index, item in enumerate(sources) for feed in graph_feeds([item], *feeding, seed + 10**6 + index)]
    model = onnx.load_from_string(float_graph)
    levels, costs = conv_levels(model), conv_costs(model)
    reference = scored_outputs(float_graph, eval_set, feeding, seed)  # the same for every try
    methods = list(RANGE_METHODS) if ranges_method == "both" else [ranges_method]
    found, errors = [], []
    for method in methods:
        ranges = record_ranges(float_graph, feeds, method)
        method_log = (lambda text, method=method: log(f"{method} ranges, {text}")) if len(methods) > 1 else log
        attempt = attempter(float_graph, ranges, reference, eval_set, feeding, seed, min_psnr, method_log)
        try:
            found.append((method, ranges, *cheapest_passing(attempt, levels, costs)))
        except ValueError as error:
            errors.append(f"{method} ranges: {error}" if len(methods) > 1 else str(error))
    if not found:
        raise ValueError("; ".join(errors))
    method, ranges, float_levels, float_convs, validation = fewest_float_multiply_adds(found, levels, costs)
    validation |= {"calibration_pairs": len(sources), "ranges": method, "min_psnr": min_psnr}
    validation["sizes"] = [stored_size(size)]  # what it was validated at: where it holds (mode="resize")
    return Int8Calibration(
        weights_sha256(generator),
        stored_size(size),
        generator.inference_mode,
        float_levels,
        ranges,
        validation,
        float_convs=list(float_convs),
    )


def cheapest_passing(attempt, levels: dict[str, int], costs: dict[str, int]) -> tuple[int, tuple[str, ...], dict]:
    """(float levels, float convolutions beyond them, validation): the fewest whole float32 levels with which
    `attempt` passes, then, from the innermost of them out, only the cheapest convolutions of each level."""
    reasons = []
    for float_levels in range(max(levels.values()) + 1):
        validation, reasons = attempt(float_levels)
        if not reasons:
            break
    else:
        raise ValueError(f"int8 does not pass even with one int8 level: {'; '.join(reasons)}")
    float_convs: tuple[str, ...] = ()
    while float_levels > 0:
        edge = [name for name, level in levels.items() if level == float_levels - 1]
        for subset in cheaper_subsets(edge, costs):
            subset_validation, reasons = attempt(float_levels - 1, (*float_convs, *subset))
            if not reasons:
                float_levels, float_convs, validation = float_levels - 1, (*float_convs, *subset), subset_validation
                break
        else:
            break  # this level stays whole, and so do the levels outside it
    return float_levels, float_convs, validation


def generated_sequence_view(pairs, args: argparse.Namespace, generator: InferenceGenerator) -> list[dict]:
    """A video's frames in order as the model meets them: each source the pose over the frame the float32 model
    generated before it (zeros before the first), each target the real frame."""
    frames = SequenceFrames(pairs, preprocessing(args, generator.size_multiple))
    items = [frames[index] for index in range(len(frames))]
    poses = torch.stack([item["source"] for item in items])
    with torch.no_grad():
        generated = generate_sequence(generator.eval(), poses)
    previous = torch.cat([torch.zeros_like(generated[:1]), generated[:-1]])
    return [
        {"source": item["source"], "previous": before, "target": item["target"]}
        for item, before in zip(items, previous, strict=True)
    ]


def main(argv: list[str] | None = None) -> Int8Calibration:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a folder saved with save_pretrained (the file goes there)")
    parser.add_argument("--eval_split", default=None, help="validation split (default: test, validation or val)")
    parser.add_argument("--min_psnr", type=float, default=MIN_PSNR, help="dB, each eval output against float32")
    parser.add_argument("--seed", type=int, default=0, help="dropout masks of 'paper' inference mode")
    parser.add_argument(
        "--ranges",
        choices=RANGES_CHOICES,
        default="minmax",
        help="each tensor's range: its lowest to highest value, or its 0.001st to 99.999th percentile; both: "
        "calibrate with each and keep the one that keeps fewer float32 multiply-adds (takes twice as long)",
    )
    parser.add_argument(
        "--frames",
        action="store_true",
        help="the dataset is a video's frames in order (Everybody Dance Now): each source is a pose over the frame "
        "the float32 model generated before it, as in a generated video",
    )
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    if not Path(args.model).is_dir():
        raise SystemExit(f"--model {args.model}: not a folder (download the model, calibrate it, then upload it)")
    generator = Pix2PixGenerator.from_pretrained(args.model)
    train_pairs, eval_pairs, description = load_splits(data_spec(args), args.eval_split)
    print(f"calibrating on {description}", flush=True)
    view = generated_sequence_view if args.frames else evaluation_view
    try:
        calibration = calibrate(
            generator,
            view(train_pairs, args, generator),
            view(eval_pairs, args, generator),
            args.crop_size,
            args.min_psnr,
            args.seed,
            ranges_method=args.ranges,
        )
    except ValueError as error:
        raise SystemExit(f"{args.model}: no int8 calibration written: {error}") from error
    calibration.validation["data"] = description
    path = calibration.save(Path(args.model))
    print(f"wrote {path}: {calibration.float_levels} float32 levels", json.dumps(calibration.validation, indent=1))
    return calibration


if __name__ == "__main__":
    main()
