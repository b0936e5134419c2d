"""Large aerial photos through sat2map in the three modes: seconds and peak memory at 1024, 4096 and 8000 px.

    python -m benchmarks.tiling [--data ../shared/data/maps] [--sizes 1024 4096 8000] [--full_up_to 4096]
    python -m benchmarks.tiling --picture docs/any_size_sat2map.jpg   (the README's before/after picture)

The input is a square mosaic of the maps data's 256x256 aerial halves (the val split, in file order, repeated as
needed: the tiles are not neighbours on the ground, so it is a stand-in for one large photo). Each (mode, size)
runs in a fresh process, as `python -m pix2pix_hub.translate` would: load the bundled sat2map model, decode the
JPEG, translate, write the PNG; the row gives the translation's seconds (decode to written file, the ONNX export
done before) and the process's peak resident set (ru_maxrss, everything included: Python, torch, ONNX Runtime,
the decoded image and the output). `full` beyond `--full_up_to` pixels is left out: one pass over an 8000x8000
image holds every activation of the network at once.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from .common import write_section

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "weights/sat2map"
MEMORY_BOUND_MIB = 3072  # what `tiled` must stay under at 8000x8000 (the section says whether it did)


def mosaic(data: Path, side: int) -> Image.Image:
    """A side x side aerial mosaic of the val split's photo halves (the left half of each pair)."""
    files = sorted((data / "val").glob("*.jpg"), key=lambda path: int(path.stem) if path.stem.isdigit() else 0)
    if not files:
        raise SystemExit(f"{data}/val: no *.jpg pairs (point --data at the maps data set)")
    canvas = Image.new("RGB", (side, side))
    cells = -(-side // 256)
    for index in range(cells * cells):
        with Image.open(files[index % len(files)]) as pair:
            canvas.paste(pair.convert("RGB").crop((0, 0, 256, 256)), (256 * (index % cells), 256 * (index // cells)))
    return canvas


def measure(mode: str, source: Path) -> dict[str, float]:
    """In this process: load, translate one file, write it; seconds and peak RSS in MiB."""
    from pix2pix_hub import Pix2PixPipeline
    from pix2pix_hub.images import open_image

    pipe = Pix2PixPipeline.from_pretrained(MODEL, mode=mode, precision="float32")
    pipe.warm_up()  # the export is a one-off per process, as the app's warm-up does it
    start = time.perf_counter()
    output = pipe(open_image(source), seed=0)
    with tempfile.TemporaryDirectory() as folder:
        output.save(Path(folder) / "out.png")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def before_after(data: Path, path: Path, side: int = 1024, crop: int = 384) -> None:
    """The README's picture: a side x side mosaic, its map in `resize` and in `tiled` mode; below, a 1:1 crop."""
    from PIL import ImageDraw

    from pix2pix_hub import Pix2PixPipeline

    photo = mosaic(data, side)
    outputs = [Pix2PixPipeline.from_pretrained(MODEL, mode=mode)(photo, seed=0) for mode in ("resize", "tiled")]
    titles = ["aerial photo, 1024x1024", "resize (default): via 256x256", "tiled: at its own size"]
    box = (side // 2 - crop // 2, side // 2 - crop // 2, side // 2 + crop // 2, side // 2 + crop // 2)
    sheet = Image.new("RGB", (3 * crop, 2 * crop + 24), "white")
    draw = ImageDraw.Draw(sheet)
    for column, (title, image) in enumerate(zip(titles, [photo, *outputs], strict=True)):
        sheet.paste(image.resize((crop, crop), Image.Resampling.LANCZOS), (column * crop, 24))
        sheet.paste(image.crop(box), (column * crop, 24 + crop))
        draw.text((column * crop + 6, 6), title, fill="black")
    draw.rectangle([c * crop // side for c in box], outline="red")
    sheet.save(path, quality=90)


def run_one(mode: str, source: Path) -> dict[str, float]:
    """`measure` in a fresh Python, so that the peak memory is this run's alone."""
    command = [sys.executable, "-m", "benchmarks.tiling", "--one", mode, str(source)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(f"{mode} on {source.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Every (size, mode) in its own process, then the RESULTS.md section; or one measurement, or the picture."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/maps")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 8000])
    parser.add_argument("--full_up_to", type=int, default=4096, help="largest side run in full mode")
    parser.add_argument("--picture", type=Path, help="write the README's before/after picture here and stop")
    parser.add_argument("--one", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], Path(args.one[1]))))
        return
    if args.picture:
        before_after(args.data, args.picture)
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for side in args.sizes:
            source = Path(folder) / f"aerial_{side}.jpg"
            mosaic(args.data, side).save(source, quality=95)
            for mode in ("resize", "full", "tiled"):
                if mode == "full" and side > args.full_up_to:
                    continue
                result = run_one(mode, source)
                rows.append(f"| {side}x{side} | {mode} | {result['seconds']:.1f} | {result['peak_mib']:.0f} |")
                print(rows[-1], flush=True)
    body = (
        "sat2map (bundled U-Net-256, ngf 16, float32 on the CPU backend, default tiles 1024 px overlapping by 256) "
        "on a mosaic of the maps val split's aerial photos. Seconds from decoding the JPEG to the written PNG; peak "
        "resident memory of the whole process (a fresh one per row).\n\n"
        "| input | mode | seconds | peak RSS MiB |\n|---|---|---|---|\n" + "\n".join(rows)
    )
    tiled_8000 = [row for row in rows if row.startswith("| 8000x8000 | tiled")]
    if tiled_8000:
        peak = float(tiled_8000[0].split("|")[4])
        verdict = "within" if peak <= MEMORY_BOUND_MIB else "OVER"
        body += f"\n\n8000x8000 in `tiled` mode: peak {peak:.0f} MiB, {verdict} the {MEMORY_BOUND_MIB} MiB bound."
    write_section("Any-size inference (CPU)", body)


if __name__ == "__main__":
    main()
