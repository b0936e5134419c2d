"""Translate image files with a trained model: a file, a folder or a glob in, one PNG per image out.

python -m pix2pix_hub.translate photo.jpg --model weights/sat2map --out maps/
python -m pix2pix_hub.translate aerial/ --model weights/sat2map --out maps/ --mode tiled
python -m pix2pix_hub.translate "scans/*.png" --model pix2pix-hub/pix2pix-sat2map --out maps/ --mode full --scale 0.5
python -m pix2pix_hub.translate apples/ --model weights/apple2orange --subfolder AtoB --out oranges/

--mode resize (default) translates at the model's input size (256x256 for a U-Net-256) and resizes the output
back, as the reference implementation does; full translates the whole image at its own resolution (or --scale
times it) in one pass; tiled translates overlapping tiles, so memory stays bounded for any size. Each output is
OUT/<input name>.png at the input's size. A file that cannot be read is reported and skipped; the exit status is
then 1.

Size limits: resize and full take images up to 89.5 megapixels (PIL's decompression-bomb threshold; full mode's
memory grows with the image), tiled up to 268.4 (16384x16384: its translation's memory grows with the width only,
and the decoded image takes 3 bytes a pixel); --max_megapixels N sets another limit (0: none).
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

from tqdm import tqdm

from .images import IMAGE_EXTENSIONS, MAX_PIXELS, ImageTooLarge, image_files, open_image
from .inference.pipeline import BACKENDS, MODES, Pix2PixPipeline
from .inference.tiling import Tiling

TILED_MAX_PIXELS = 16384 * 16384  # tiled mode's default limit: bounded translation memory, so above PIL's 89.5 MP


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pix2pix_hub.translate",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders of images, or globs")
    parser.add_argument("--model", required=True, help="a model folder (save_pretrained) or a Hub repo id")
    parser.add_argument("--subfolder", help="the model inside it, e.g. a CycleGAN's AtoB or BtoA")
    parser.add_argument("--out", type=Path, required=True, help="folder for the translated PNGs (made if missing)")
    parser.add_argument("--mode", default="resize", choices=MODES, help="at what size to translate (see below)")
    parser.add_argument("--scale", type=float, default=1.0, help="full/tiled: resize the input by this first")
    parser.add_argument("--tile", type=int, help="tiled: tile side in pixels (default: 4 grid cells, 1024 for U-Net)")
    parser.add_argument("--overlap", type=int, help="tiled: overlap of neighbouring tiles (default: a quarter)")
    parser.add_argument("--seed", type=int, help="fixes the dropout noise of paper-mode models")
    parser.add_argument("--backend", default="auto", choices=BACKENDS)
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: a GPU when there is one)")
    parser.add_argument(
        "--max_megapixels",
        type=float,
        help=f"refuse larger images (default: {MAX_PIXELS / 1e6:.1f}, tiled {TILED_MAX_PIXELS / 1e6:.1f}; 0: no limit)",
    )
    args = parser.parse_args(argv)
    if args.mode != "tiled" and (args.tile or args.overlap is not None):
        parser.error("--tile and --overlap apply to --mode tiled only")
    if args.max_megapixels is not None and args.max_megapixels < 0:
        parser.error("--max_megapixels must be 0 (no limit) or more")
    return args


def max_pixels(args: argparse.Namespace) -> int | None:
    """The largest image to decode: --max_megapixels (0: no limit), else the mode's own limit."""
    if args.max_megapixels is not None:
        return round(args.max_megapixels * 1e6) or None
    return TILED_MAX_PIXELS if args.mode == "tiled" else MAX_PIXELS


def input_files(inputs: list[str]) -> list[Path]:
    """The image files the arguments name: files as given, folders' images, globs' matches (sorted), once each."""
    found: list[Path] = []
    for entry in inputs:
        path = Path(entry)
        if path.is_dir():
            matches = image_files(path)
        elif path.is_file():
            matches = [path]
        else:
            matches = sorted(Path(match) for match in glob.glob(entry, recursive=True) if Path(match).is_file())
            matches = [match for match in matches if match.suffix.lower() in IMAGE_EXTENSIONS]
        if not matches:
            raise ValueError(f"{entry}: no such file, and no images in it or matching it")
        found += [match for match in matches if match not in found]
    return found


def output_paths(files: list[Path], out: Path) -> list[Path]:
    """OUT/<name>.png for each input; two inputs of the same name would overwrite each other, so that is refused."""
    paths = [out / f"{file.stem}.png" for file in files]
    clashes = sorted({path.name for path in paths if paths.count(path) > 1})
    if clashes:
        raise ValueError(
            f"several inputs would be written to the same file: {', '.join(clashes)} (translate them apart)"
        )
    return paths


def load_pipeline(args: argparse.Namespace) -> Pix2PixPipeline:
    """The model in the asked mode (tile and overlap default to the network's, see `tiling.resolve_tiling`)."""
    kwargs = {"subfolder": args.subfolder} if args.subfolder else {}
    tiling = Tiling(args.tile, args.overlap) if args.mode == "tiled" else None
    return Pix2PixPipeline.from_pretrained(
        args.model,
        args.device,
        args.backend,
        mode=args.mode,
        scale=args.scale,
        tiling=tiling,
        max_pixels=max_pixels(args),
        **kwargs,
    )


def main(argv: list[str] | None = None) -> int:
    """Translate every input; 0 when all were written, 1 when some were skipped, 2 when nothing could start."""
    args = parse_args(argv)
    try:
        files = input_files(args.inputs)
        outputs = output_paths(files, args.out)
        pipe = load_pipeline(args)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for file, output in zip(tqdm(files, desc=f"{args.mode} translation", unit="image"), outputs, strict=True):
        try:
            pipe(open_image(file, pipe.max_pixels), seed=args.seed).save(output)
        except ImageTooLarge as error:
            tiled = "" if args.mode == "tiled" else f"--mode tiled takes up to {TILED_MAX_PIXELS / 1e6:.1f}, "
            tqdm.write(f"skipped {error} ({tiled}--max_megapixels N sets the limit)", file=sys.stderr)
            failed += 1
        except ValueError as error:
            tqdm.write(f"skipped {error}", file=sys.stderr)
            failed += 1
    print(f"{len(files) - failed} of {len(files)} images translated into {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
