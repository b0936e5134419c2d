"""Inference speed: the bundled models as users get them, eager float32 `generator(x)` against the pipeline's
backends on the paper's U-Net-256, and the app under load.

    python -m benchmarks.inference                       # all three sections of benchmarks/RESULTS.md
    python -m benchmarks.inference --sections bundled    # only "Bundled models, end to end"

**Bundled models, end to end** (the figures the README quotes): for each model in `weights/` and its first example,
the plain path a user would write (PIL open and bicubic resize, eager float32 forward in the model's inference mode,
back to PIL at the input's size) against `Pix2PixPipeline.from_pretrained(folder)(path, seed=0)`, the default path
(ONNX Runtime, int8 where the model ships a calibration), decoding and pre/post-processing included in both. Each
row is timed with 1 thread and with every core (torch and ONNX Runtime alike), in interleaved rounds, each row by a
fresh process; the default path's time is split into its stages (decode, resize, dropout masks, the ONNX Runtime
call with its conversion from and to 8-bit pixels, back to PIL). The Dance tab's row times the frames of
`weights/edn_subject` for its first test poses, eager PyTorch against the tab's runner. A busy
machine slows eager PyTorch more than ONNX Runtime, so every row records the CPU time other processes took while it
ran (from /proc/stat, in cores) and is flagged "busy" above `--max_other_load`: only unflagged rows are quiet-machine
figures.

**U-Net-256** (ngf 64, batch norm with trained-looking statistics; no bundled model is this size): one image at
256x256 and 512x512 in "eval" mode, and at 256x256 in "paper" mode (eager runs the plain paper-mode network with the
masks the pipelines draw for seed 0). Every path gets the same input; the table reports median latency, the speed-up
over eager float32, the largest absolute difference from the eager output and the PSNR against it (outputs span
[-1, 1]). The int8 row's ranges come from random inputs (this network is untrained): it times int8, and the bundled
models' own calibrations (weights/*/int8_calibration.json) say how close int8 stays on real data. The row "export
without graph rewrites" is ONNX Runtime on the plain export; two more rows measure candidates the pipeline does not
use: eager with channels-last tensors, and (at the first size, "eval" mode) `torch.compile` of the rewritten graph,
whose start-up cost the row names.

**App**: `python app.py` is started on a loopback port with that model (and its int8 calibration) behind the
facades task, and 1, 4 and 16 concurrent `gradio_client` callers hit `/translate`.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch._inductor.config
from gradio_client import Client, handle_file
from PIL import Image

from benchmarks.common import interleaved_rounds, write_section
from pix2pix_hub import Pix2PixGenerator, Pix2PixPipeline
from pix2pix_hub.calibrate_int8 import graph_feeds, record_ranges
from pix2pix_hub.evaluation.metrics import output_psnr
from pix2pix_hub.images import image_to_tensor, open_image, pixels_to_tensor, tensor_to_image
from pix2pix_hub.inference.fast.int8 import Int8Calibration, weights_sha256
from pix2pix_hub.inference.fast.onnx import OnnxGenerator, export_to_onnx
from pix2pix_hub.inference.fast.rewrites import fast_inference_graph
from pix2pix_hub.inference.paper_mode import PaperModeNetwork
from pix2pix_hub.pose import render_pose
from space.dance import load_dancer
from space.launch import REPO_ROOT, start_app

BUNDLED = {  # name -> (weights folder, subfolder, example input)
    "facades_label2photo": ("weights/facades_label2photo", None, "examples/facades_label2photo/1_input.jpg"),
    "sat2map": ("weights/sat2map", None, "examples/sat2map/1_input.jpg"),
    "map2sat": ("weights/map2sat", None, "examples/map2sat/1_input.jpg"),
    "apple2orange": ("weights/apple2orange", "AtoB", "examples/apple2orange/1_input.jpg"),
    "orange2apple": ("weights/apple2orange", "BtoA", "examples/orange2apple/1_input.jpg"),
    "cityscapes_label2photo": ("weights/cityscapes_label2photo", None, "examples/cityscapes_label2photo/1_input.jpg"),
    "cityscapes_photo2label": ("weights/cityscapes_photo2label", None, "examples/cityscapes_photo2label/1_input.jpg"),
    "edges2shoes": ("weights/edges2shoes", None, "examples/edges2shoes/1_input.jpg"),
}
MAX_OTHER_LOAD = 0.3  # cores other processes may use while a row runs before it is flagged "busy"


def trained_looking_generator() -> Pix2PixGenerator:
    torch.manual_seed(0)
    generator = Pix2PixGenerator()  # the paper's unet_256
    for layer in generator.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.2, 0.2)
            layer.running_var.uniform_(0.5, 2.0)
    return generator.eval()


INT8_FLOAT_LEVELS = 2  # what the bundled models' validations settled on (weights/*/int8_calibration.json)


def random_input_calibration(generator: Pix2PixGenerator, size: int) -> Int8Calibration:
    """Int8 ranges over random inputs: enough to time int8 on this untrained network (a real model's calibration
    comes from its own data, `python -m pix2pix_hub.calibrate_int8`)."""
    paper_mode = PaperModeNetwork(generator) if generator.inference_mode == "paper" else None
    sources = torch.rand(8, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    feeds = graph_feeds([{"source": source} for source in sources], generator, paper_mode, seed=0)
    ranges = record_ranges(export_to_onnx(generator, paper_mode, size), feeds)
    return Int8Calibration(
        weights_sha256(generator), size, generator.inference_mode, INT8_FLOAT_LEVELS, ranges, validation={}
    )


def inference(network: Callable, *inputs: torch.Tensor) -> Callable[[], torch.Tensor]:
    """A no-argument call of `network(*inputs)` in inference mode, as the timing loop wants it."""

    def run() -> torch.Tensor:
        with torch.inference_mode():
            return network(*inputs)

    return run


def compiled(network: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> tuple[Callable, float]:
    """`torch.compile` (inductor, weights frozen as constants) and the seconds its first call took."""
    start = time.perf_counter()
    with torch._inductor.config.patch(freezing=True), torch.inference_mode():
        network = torch.compile(network)
        network(*example)
    return network, time.perf_counter() - start


def busy_cpu_seconds() -> float:
    """CPU seconds every process together has used since boot (/proc/stat's first line, idle and iowait left out)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """How many cores other processes kept busy while the `with` block ran (this process's own CPU time left out)."""

    cores = 0.0

    def __enter__(self) -> OtherLoad:
        self.start = (time.perf_counter(), busy_cpu_seconds(), time.process_time())
        return self

    def __exit__(self, *exc_info) -> None:
        wall, busy, own = time.perf_counter(), busy_cpu_seconds(), time.process_time()
        others = (busy - self.start[1]) - (own - self.start[2])
        self.cores = max(0.0, others / (wall - self.start[0]))

    def cell(self, limit: float) -> str:
        """The table cell: cores used by others of the machine's, and the 1-minute load; "busy" above `limit`."""
        flag = " **busy**" if self.cores > limit else ""
        return f"{self.cores:.2f} of {os.cpu_count()} (load {os.getloadavg()[0]:.1f}){flag}"


def plain_path(generator: Pix2PixGenerator, size: tuple[int, int], path: Path) -> Callable[[], Image.Image]:
    """What a user writes without the pipeline: PIL in and resized, eager float32 forward in the model's inference
    mode (paper mode: the same seeded dropout masks as the pipeline's), PIL out at the input's size."""
    paper_mode = PaperModeNetwork(generator) if generator.inference_mode == "paper" else None
    height, width = size

    def run() -> Image.Image:
        image = Image.open(path).convert("RGB")
        x = image_to_tensor(image.resize((width, height), Image.Resampling.BICUBIC))[None]
        with torch.inference_mode():
            if paper_mode is None:
                y = generator(x)
            else:
                y = paper_mode(x, *paper_mode.draw_masks(x.shape, torch.Generator().manual_seed(0)))
        return tensor_to_image(y[0]).resize(image.size, Image.Resampling.BICUBIC)

    return run


def default_stages(pipe: Pix2PixPipeline, path: Path) -> dict[str, Callable[[], object]]:
    """The default path's call split into its stages, each on the output of the one before."""
    image = open_image(path)
    pixels = pipe.model_input(image)[None]
    masks = pipe.runner.draw_masks((1, pixels.shape[3], *pipe.runner.size), 0)
    pipe.runner.warm_up(images=True)
    output = pipe.runner.onnx({"source": pixels, **masks})[0]
    return {
        "decode": lambda: open_image(path),
        "pre": lambda: pipe.model_input(image),
        "masks": lambda: pipe.runner.draw_masks((1, pixels.shape[3], *pipe.runner.size), 0),
        "forward": lambda: pipe.runner.onnx({"source": pixels, **masks}),
        "post": lambda: pipe.restore_size(output, image.size),
    }


def measure_bundled(name: str, threads: int, rounds: int, repeats: int, max_other_load: float) -> str:
    """One table row: a bundled model's plain path against its default path, with `threads` threads."""
    folder, subfolder, example = BUNDLED[name]
    torch.set_num_threads(threads)  # the ONNX Runtime session takes torch's thread count when it is built
    pipe = Pix2PixPipeline.from_pretrained(REPO_ROOT / folder, subfolder=subfolder).warm_up()
    generator = Pix2PixGenerator.from_pretrained(REPO_ROOT / folder, subfolder=subfolder)
    path = REPO_ROOT / example
    plain = plain_path(generator, pipe.runner.size, path)
    x = pixels_to_tensor(pipe.model_input(open_image(path)))[None]
    masks = pipe.runner.draw_masks(x.shape, 0)
    stages = default_stages(pipe, path)
    candidates = {"plain": plain, "default": lambda: pipe(path, seed=0)}
    candidates["eager forward"] = inference(pipe.runner.paper_mode or generator, x, *masks.values())
    candidates |= {f"stage {stage}": run for stage, run in stages.items()}
    if threads > 1:  # is one ONNX Runtime thread faster for these small networks? (the pipeline uses `threads`)
        runner = pipe.runner
        one_thread = OnnxGenerator(runner.generator, runner.paper_mode, runner.size, threads=1, int8=runner._int8)
        pixels = pipe.model_input(open_image(path))[None]
        candidates["forward, 1 thread"] = lambda: one_thread({"source": pixels, **masks})
    with OtherLoad() as load:
        per_round = interleaved_rounds(candidates, rounds, repeats)
    ms = {key: statistics.median(seconds) * 1000 for key, seconds in per_round.items()}
    ratios = [slow / fast for slow, fast in zip(per_round["plain"], per_round["default"], strict=True)]
    difference = np.abs(np.asarray(plain(), dtype=int) - np.asarray(pipe(path, seed=0), dtype=int)).max()
    stage_cells = " / ".join(f"{ms[f'stage {stage}']:.1f}" for stage in stages)
    one_thread_cell = f"{ms['forward, 1 thread']:.1f}" if threads > 1 else "(this row)"
    row = (
        f"| {name} | {generator.inference_mode}, {pipe.precision} | {threads} | {ms['plain']:.1f} "
        f"| {ms['default']:.1f} | **{statistics.median(ratios):.2f}x** | {min(ratios):.2f}-{max(ratios):.2f}x "
        f"| {ms['eager forward'] / ms['stage forward']:.2f}x | {stage_cells} | {one_thread_cell} | {difference} "
        f"| {load.cell(max_other_load)} |"
    )
    print(row, flush=True)
    return row


DANCE_FRAMES = 10  # the first test poses of weights/edn_subject


def measure_dance(threads: int, rounds: int, repeats: int, max_other_load: float) -> str:
    """One row: the Dance tab's frames for the first test poses, eager PyTorch against its runner (the default)."""
    torch.set_num_threads(threads)
    load_dancer.cache_clear()  # the runner's ONNX Runtime session takes torch's thread count when it is built
    dancer = load_dancer(str(REPO_ROOT / "weights/edn_subject"))
    plain = dataclasses.replace(dancer, runner=dancer.generator)  # the frames from eager float32 PyTorch
    poses = dancer.test_poses[:DANCE_FRAMES]
    candidates = {"plain": lambda: plain.frames(poses), "default": lambda: dancer.frames(poses)}
    pose = image_to_tensor(render_pose(poses[0]).resize((dancer.size,) * 2))[None]
    generators = {
        "eager generator": inference(dancer.generator, pose, pose),
        "runner": lambda: dancer.runner.run({"source": pose, "previous": pose}),
    }
    with OtherLoad() as load:
        per_round = interleaved_rounds(candidates, rounds, repeats)
        per_call = interleaved_rounds(generators, rounds, repeats)
    ms = {key: statistics.median(seconds) * 1000 / len(poses) for key, seconds in per_round.items()}
    ms |= {key: statistics.median(seconds) * 1000 for key, seconds in per_call.items()}
    ratios = [slow / fast for slow, fast in zip(per_round["plain"], per_round["default"], strict=True)]
    difference = max(
        np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int)).max()
        for a, b in zip(plain.frames(poses), dancer.frames(poses), strict=True)
    )
    row = (
        f"| edn_subject | eval, {dancer.runner.precision} | {threads} | {ms['plain']:.1f} | {ms['default']:.1f} "
        f"| **{statistics.median(ratios):.2f}x** | {min(ratios):.2f}-{max(ratios):.2f}x "
        f"| {ms['eager generator']:.1f} / {ms['runner']:.1f} ({ms['eager generator'] / ms['runner']:.2f}x) "
        f"| {difference} | {load.cell(max_other_load)} |"
    )
    print(row, flush=True)
    return row


def dance_table(thread_counts: list[int], rounds: int, repeats: int, max_other_load: float) -> list[str]:
    rows = [row_in_own_process(DANCE, threads, rounds, repeats, max_other_load) for threads in thread_counts]
    return [
        "",
        f"The Dance tab (`space/dance.py`): the first {DANCE_FRAMES} test poses rendered, each frame generated from "
        "its pose and the frame before and resized to 256x256, by eager float32 PyTorch (plain) and by the tab's "
        "runner (default: ONNX Runtime, int8 with the model's calibration); ms per frame; the generator alone on one "
        "input (a pose over a frame), eager against the runner; the largest 8-bit difference over the frames (the "
        "frame before is fed back, so differences carry forward).",
        "",
        "| model | mode, precision | threads | plain ms/frame | default ms/frame | speed-up | range over rounds "
        "| generator alone, eager / runner ms | max 8-bit difference | other processes, cores |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]


DANCE = "edn_subject"  # the Dance tab's row


def row_in_own_process(name: str, threads: int, rounds: int, repeats: int, max_other_load: float) -> str:
    """One row measured by a fresh Python process (`--row`): no session, thread pool or cache left by the rows
    before it (in one long process, rows at 2 threads ran up to 1.6x slower than alone, both paths alike or not)."""
    command = [sys.executable, "-m", "benchmarks.inference", "--row", name, str(threads), "--rounds", str(rounds)]
    command += ["--repeats", str(repeats), "--max_other_load", str(max_other_load)]
    finished = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    row = finished.stdout.strip().splitlines()[-1]
    print(row, flush=True)
    return row


def bundled_section(thread_counts: list[int], rounds: int, repeats: int, max_other_load: float) -> str:
    """The "Bundled models, end to end" section: every bundled model at every thread count."""
    rows = [
        row_in_own_process(name, threads, rounds, repeats, max_other_load)
        for threads in thread_counts
        for name in BUNDLED
    ]
    return "\n".join(
        [
            "Each model's first example from its file to the output image: the plain path (PIL resize, eager float32 "
            "forward in the model's inference mode, PIL) against `Pix2PixPipeline.from_pretrained(folder)(path, "
            f"seed=0)`; times are medians of {rounds} interleaved rounds x {repeats} calls (each after an untimed "
            "one), the speed-up is the median of the rounds' speed-ups, the range their lowest and highest. "
            "Forward alone: eager against the default path's ONNX Runtime call (which also converts from and to "
            "8-bit pixels). Stages of the default path in ms: decode / resize / dropout masks / ONNX Runtime / "
            "back to PIL. The last column "
            "is the CPU other processes used while the row ran, in cores of the machine's (and the 1-minute load "
            f"average); rows above {max_other_load} cores are marked busy and are not quiet-machine figures.",
            "",
            "| model | mode, precision | threads | plain ms | default ms | speed-up | range over rounds "
            "| forward alone | stages ms | forward with 1 ONNX Runtime thread, ms | max 8-bit difference "
            "| other processes, cores |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            *dance_table(thread_counts, rounds, repeats, max_other_load),
        ]
    )


def measure(generator: Pix2PixGenerator, size: int, rounds: int, repeats: int, with_compile: bool = False) -> list[str]:
    """Table rows for one input size and the generator's inference mode: eager float32 and each backend.

    Besides the pipeline's backends, two candidates the pipeline does not use: eager PyTorch with channels-last
    tensors, and (`with_compile`) `torch.compile` of the rewritten graph, whose compile time is in its name.
    """
    mode = generator.inference_mode
    pipelines = {
        backend: Pix2PixPipeline(generator, device="cpu", image_size=size, backend=backend)
        for backend in ("onnxruntime", "torch")
    }
    int8 = Pix2PixPipeline(
        generator, device="cpu", image_size=size, int8_calibration=random_input_calibration(generator, size)
    )
    x = torch.rand(1, 3, size, size) * 2 - 1
    # paper mode: the plain network with the dropout masks the pipelines draw for seed 0
    paper_mode = PaperModeNetwork(generator) if mode == "paper" else None
    masks = paper_mode.draw_masks(x.shape, torch.Generator().manual_seed(0)) if paper_mode else []

    eager = inference(paper_mode or generator, x, *masks)
    reference = eager()
    plain_export = OnnxGenerator(generator, paper_mode, size, fast_graph=False)  # what the rewrites are worth
    candidates = {"eager float32": eager}
    candidates |= {
        f"pipeline backend={name}": (lambda p=p: p.runner.run({"source": x}, seed=0)) for name, p in pipelines.items()
    }
    int8_name = f"pipeline with an int8 calibration ({INT8_FLOAT_LEVELS} float32 levels)"
    candidates[int8_name] = lambda: int8.runner.run({"source": x}, seed=0)
    candidates["onnxruntime, export without graph rewrites"] = lambda: plain_export(
        {"source": x} | {f"mask{index}": mask for index, mask in enumerate(masks)}
    )
    channels_last = copy.deepcopy(paper_mode or generator).to(memory_format=torch.channels_last)
    candidates["eager float32, channels-last"] = inference(
        channels_last, x.contiguous(memory_format=torch.channels_last), *masks
    )
    if with_compile:
        network, seconds = compiled(fast_inference_graph(paper_mode or generator.net), (x, *masks))
        candidates[f"torch.compile of the rewritten graph (first call {seconds:.0f} s)"] = inference(network, x, *masks)
    with OtherLoad() as load:
        per_round = interleaved_rounds(candidates, rounds, repeats)
    baseline = per_round["eager float32"]
    rows = []
    for name, seconds in per_round.items():
        output = candidates[name]()
        difference, fidelity = (output - reference).abs().max().item(), output_psnr(output.numpy(), reference.numpy())
        default = {
            "pipeline backend=onnxruntime": " (default: float32 for a model without an int8 calibration)",
            int8_name: " (default for a calibrated model)",
        }.get(name, "")
        ratios = [slow / own for slow, own in zip(baseline, seconds, strict=True)]  # each round's own speed-up
        rows.append(
            f"| {size}x{size} | {mode} | {name}{default} | {statistics.median(seconds) * 1000:.1f} "
            f"| {statistics.median(baseline) / statistics.median(seconds):.2f}x | {min(ratios):.2f}-{max(ratios):.2f}x "
            f"| {difference:.1e} | {fidelity:.1f} | {load.cell(MAX_OTHER_LOAD)} |"
        )
        print(rows[-1], flush=True)
    return rows


def load_test(url: str, image: Path, callers: int, requests_each: int) -> str:
    """Latency and throughput of `/translate` with `callers` concurrent clients; every error is counted."""
    clients = [Client(url, verbose=False) for _ in range(callers)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def caller(client: Client) -> None:
        for _ in range(requests_each):
            start = time.perf_counter()
            try:
                client.predict("facades_label2photo", handle_file(str(image)), api_name="/translate")
                with lock:
                    latencies.append(time.perf_counter() - start)
            except Exception as error:  # counted and reported, never hidden
                with lock:
                    errors.append(repr(error))

    threads = [threading.Thread(target=caller, args=(client,)) for client in clients]
    start = time.perf_counter()
    with OtherLoad() as load:  # the app is another process: its CPU time counts, so this cell is for the record
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - start
    row = (
        f"| {callers} | {len(latencies) + len(errors)} | {len(errors)} | {statistics.median(latencies) * 1000:.0f} | "
        f"{len(latencies) / elapsed:.2f} | {load.cell(float('inf'))} |"
    )
    print(row, errors[:3], flush=True)
    return row


def measure_app(generator: Pix2PixGenerator, requests_each: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        generator.save_pretrained(workdir / "model")
        random_input_calibration(generator, 256).save(workdir / "model")  # served in int8, as calibrated models are
        image = workdir / "input.png"
        Image.effect_mandelbrot((256, 256), (-2, -1.5, 1, 1.5), 64).convert("RGB").save(image)
        env = {
            "HF_HUB_OFFLINE": "1",
            "GRADIO_TEMP_DIR": str(workdir / "uploads"),
            "PIX2PIX_MODEL_FACADES_LABEL2PHOTO": str(workdir / "model"),
        }
        process, url = start_app(env, workdir / "app.log")
        try:
            load_test(url, image, 1, 2)  # warm-up: model load, first request
            rows = [load_test(url, image, callers, requests_each) for callers in (1, 4, 16)]
        finally:
            process.terminate()
            process.wait(timeout=60)
    return "\n".join(
        [
            "`python app.py` serving U-Net-256 (ngf 64, with an int8 calibration) on loopback; each caller sends "
            f"{requests_each} 256x256 PNGs to `/translate` through `gradio_client`, one after another.",
            "",
            "| concurrent callers | requests | errors | median latency ms | throughput req/s "
            "| other processes (the app included), cores |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", choices=["bundled", "unet", "app"], default=["bundled", "unet", "app"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument(
        "--threads", type=int, nargs="+", default=sorted({1, os.cpu_count() or 1}), help="bundled section"
    )
    parser.add_argument("--max_other_load", type=float, default=MAX_OTHER_LOAD, help="cores; rows above: busy")
    parser.add_argument("--app_requests", type=int, default=4, help="requests per caller in the app load test")
    parser.add_argument("--row", nargs=2, metavar=("MODEL", "THREADS"), help="measure one bundled row (internal)")
    args = parser.parse_args()
    if args.row:
        name, threads = args.row[0], int(args.row[1])
        measure_row = measure_dance if name == DANCE else functools.partial(measure_bundled, name)
        measure_row(threads, args.rounds, args.repeats, args.max_other_load)
        return

    default_threads = torch.get_num_threads()
    if "bundled" in args.sections:
        section = bundled_section(args.threads, args.rounds, args.repeats, args.max_other_load)
        write_section("Bundled models, end to end (CPU)", section)
    torch.set_num_threads(default_threads)
    generator = trained_looking_generator()
    if "unet" in args.sections:
        rows = [
            row
            for size in args.sizes
            for row in measure(generator, size, args.rounds, args.repeats, with_compile=size == args.sizes[0])
        ]
        paper = trained_looking_generator()
        paper.inference_mode = "paper"  # per-image statistics, seeded dropout masks
        rows += measure(paper, args.sizes[0], args.rounds, args.repeats)
        table = "\n".join(
            [
                "U-Net-256 (ngf 64, 54.4M parameters; no bundled model is this size), batch 1, forward alone, median "
                f"of {args.rounds} interleaved rounds x {args.repeats} calls; the range is the lowest and highest "
                "speed-up of a single round (the machine's speed drifts between rounds).",
                "",
                "| input | inference mode | path | median ms | speed-up vs eager | range over rounds "
                "| max abs diff vs eager | PSNR vs eager dB | other processes, cores |",
                "|---|---|---|---|---|---|---|---|---|",
                *rows,
            ]
        )
        write_section("Inference (CPU)", table)
    if "app" in args.sections:
        write_section("App /translate under concurrent callers", measure_app(generator, args.app_requests))


if __name__ == "__main__":
    main()
