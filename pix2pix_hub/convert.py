"""Turn a reference-implementation checkpoint (`latest_net_G.pth`) into a Hub folder.

python -m pix2pix_hub.convert checkpoints/facades_pix2pix/latest_net_G.pth --out pix2pix-facades
python -m pix2pix_hub.convert latest_net_G.pth --out maps --arch resnet_9blocks --norm instance
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .networks import INFERENCE_MODES, NORMS, Pix2PixGenerator, list_generators


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pix2pix_hub.convert", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="reference state dict, e.g. latest_net_G.pth")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (model.safetensors, config.json)")
    parser.add_argument("--arch", default="unet_256", choices=list_generators(), help="the reference --netG")
    parser.add_argument("--in_channels", type=int, default=3, help="the reference --input_nc")
    parser.add_argument("--out_channels", type=int, default=3, help="the reference --output_nc")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--norm", default="batch", choices=NORMS)
    parser.add_argument("--no_dropout", action="store_true", help="the model was trained with --no_dropout")
    parser.add_argument(
        "--inference_mode",
        default="eval",
        choices=INFERENCE_MODES,
        help="eval: running statistics, no dropout (the reference's test.py --eval); "
        "paper: per-image statistics and dropout on (the reference's test.py default)",
    )
    parser.add_argument("--push_to_hub", metavar="REPO_ID", help="also upload the folder to this Hub repo")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        generator = Pix2PixGenerator.from_reference_checkpoint(
            args.checkpoint,
            arch=args.arch,
            in_channels=args.in_channels,
            out_channels=args.out_channels,
            ngf=args.ngf,
            norm=args.norm,
            use_dropout=not args.no_dropout,
            inference_mode=args.inference_mode,
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    card = {"description": f"Converted from the reference checkpoint `{args.checkpoint.name}`."}
    generator.save_pretrained(args.out, model_card_kwargs=card)
    print(f"wrote {args.out} ({sum(p.numel() for p in generator.parameters()):,} parameters)")
    if args.push_to_hub:
        print(generator.push_to_hub(args.push_to_hub, model_card_kwargs={**card, "repo_id": args.push_to_hub}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
