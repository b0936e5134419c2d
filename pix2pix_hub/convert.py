"""Turn reference-implementation checkpoints (`latest_net_G.pth`, or a CycleGAN's G_A and G_B) into a Hub folder.

python -m pix2pix_hub.convert checkpoints/facades_pix2pix/latest_net_G.pth --out pix2pix-facades
python -m pix2pix_hub.convert latest_net_G.pth --out horse2zebra --arch resnet_9blocks --norm instance --no_dropout
python -m pix2pix_hub.convert latest_net_G_A.pth latest_net_G_B.pth --out apple2orange \\
    --arch resnet_9blocks --norm instance --no_dropout
python -m pix2pix_hub.convert latest_net_G.pth --out label2city_1024p --arch local --ngf 32 --norm instance \\
    --no_dropout --arch_option n_downsample_global=4 --arch_option n_blocks_global=9   (a pix2pixHD run)
python -m pix2pix_hub.convert edges2shoes_net_G.pth --encoder edges2shoes_net_E.pth --out edges2shoes_bicyclegan \\
    --arch bicycle_unet_256 --in_channels 1 --norm instance   (a released BicycleGAN: G and its encoder E)

One checkpoint becomes one generator folder (a pix2pix model, or one direction of a released CycleGAN, which the
reference runs with `--model test --no_dropout`). Two are read as a CycleGAN's G_A (A -> B) and G_B (B -> A) and
become OUT/AtoB/ and OUT/BtoA/ with a card at the top, the layout `train_accelerate.py --method cyclegan` writes:
`Pix2PixGenerator.from_pretrained(OUT, subfolder="AtoB")`. A BicycleGAN's G (a `bicycle_*` arch, which takes a
latent code z) with `--encoder` its E becomes OUT (G) and OUT/encoder/ (E), the layout `--method bicyclegan` writes.
Checkpoints saved before PyTorch 0.4 (running statistics in InstanceNorm layers) load as the reference loads them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .networks import INFERENCE_MODES, LATENT, NORMS, LatentEncoder, Pix2PixGenerator, list_generators

DIRECTIONS = ("AtoB", "BtoA")  # the subfolders of a converted CycleGAN pair: G_A, then G_B


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pix2pix_hub.convert",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "checkpoint",
        type=Path,
        nargs="+",
        help="reference state dict (latest_net_G.pth), or two: a CycleGAN's latest_net_G_A.pth latest_net_G_B.pth",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write (for a pair: OUT/AtoB, OUT/BtoA)")
    parser.add_argument("--arch", default="unet_256", choices=list_generators(), help="the reference --netG")
    parser.add_argument("--in_channels", type=int, default=3, help="the reference --input_nc (domain A for a pair)")
    parser.add_argument("--out_channels", type=int, default=3, help="the reference --output_nc (domain B for a pair)")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--norm", default="batch", choices=NORMS)
    parser.add_argument("--no_dropout", action="store_true", help="the model was trained with --no_dropout")
    parser.add_argument(
        "--arch_option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an option of the arch beyond the ones above, e.g. pix2pixHD's n_blocks_global=9 (repeat for each)",
    )
    parser.add_argument(
        "--inference_mode",
        default="eval",
        choices=INFERENCE_MODES,
        help="eval: running statistics, no dropout (the reference's test.py --eval); "
        "paper: per-image statistics and dropout on (the reference's test.py default)",
    )
    parser.add_argument("--encoder", type=Path, help="a BicycleGAN's latest_net_E.pth, written to OUT/encoder")
    parser.add_argument("--netE", default="resnet_256", choices=sorted(LatentEncoder.ARCHS), help="the encoder's")
    parser.add_argument("--nef", type=int, default=64, help="the encoder's width (the reference --nef)")
    parser.add_argument("--push_to_hub", metavar="REPO_ID", help="also upload the folder to this Hub repo")
    args = parser.parse_args(argv)
    if args.encoder and len(args.checkpoint) != 1:
        parser.error("--encoder goes with one generator checkpoint (a BicycleGAN's G)")
    if len(args.checkpoint) > 2:
        parser.error(f"one checkpoint, or a CycleGAN's two (G_A, G_B); got {len(args.checkpoint)}")
    if malformed := [option for option in args.arch_option if "=" not in option]:
        parser.error(f"--arch_option takes NAME=VALUE, got {malformed[0]!r}")
    return args


def arch_options(pairs: list[str]) -> dict:
    """`--arch_option NAME=VALUE` flags as the generator's `arch_options` (numbers and booleans as JSON reads them)."""
    options = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            options[name] = json.loads(value)
        except json.JSONDecodeError:
            options[name] = value
    return options


def load_generator(path: Path, args: argparse.Namespace, channels: tuple[int, int]) -> Pix2PixGenerator:
    return Pix2PixGenerator.from_reference_checkpoint(
        path,
        arch=args.arch,
        in_channels=channels[0],
        out_channels=channels[1],
        ngf=args.ngf,
        norm=args.norm,
        use_dropout=not args.no_dropout,
        inference_mode=args.inference_mode,
        arch_options=arch_options(args.arch_option),
    )


def load_encoder(args: argparse.Namespace, generator: Pix2PixGenerator) -> LatentEncoder:
    """A BicycleGAN's E for `generator`: it reads the generator's outputs and gives codes of its latent's length."""
    latent = [item for item in generator.inputs if item.kind == LATENT]
    if not latent:
        raise ValueError(f"--encoder: arch {generator.arch} takes no latent code (a BicycleGAN is a bicycle_* arch)")
    return LatentEncoder.from_reference_checkpoint(
        args.encoder, arch=args.netE, in_channels=args.out_channels, nz=latent[0].channels, nef=args.nef, norm=args.norm
    )


def load_all(args: argparse.Namespace) -> list[Pix2PixGenerator]:
    """Every checkpoint loaded before anything is written; G_B of a pair maps B (--out_channels) back to A."""
    channels = (args.in_channels, args.out_channels)
    return [
        load_generator(path, args, channels[::-1] if index else channels) for index, path in enumerate(args.checkpoint)
    ]


def pair_card(checkpoints: list[Path], repo_id: str | None) -> str:
    """The top card of a converted pair: which folder translates which way, and how to load each."""
    from huggingface_hub import ModelCardData

    from .hub import PROJECT_REPO_URL

    metadata = ModelCardData(
        library_name="pix2pix-hub", license="bsd-3-clause", pipeline_tag="image-to-image", tags=["cyclegan", "gan"]
    )
    where = repo_id or "path/to/this/folder"
    return "\n".join(
        [
            f"---\n{metadata.to_yaml()}\n---\n",
            "# CycleGAN, both directions\n",
            f"A [CycleGAN](https://arxiv.org/abs/1703.10593) converted by [pix2pix-hub]({PROJECT_REPO_URL}) from the",
            "reference implementation's checkpoints, one generator folder per direction:\n",
            "| folder | translates | converted from |\n|---|---|---|",
            f"| `AtoB/` | domain A to domain B (G_A) | `{checkpoints[0].name}` |",
            f"| `BtoA/` | domain B to domain A (G_B) | `{checkpoints[1].name}` |\n",
            "```python\nfrom pix2pix_hub import Pix2PixPipeline\n",
            f'a_to_b = Pix2PixPipeline.from_pretrained("{where}", subfolder="AtoB")',
            f'b_to_a = Pix2PixPipeline.from_pretrained("{where}", subfolder="BtoA")\n```\n',
        ]
    )


def write_folders(
    generators: list[Pix2PixGenerator], args: argparse.Namespace, encoder: LatentEncoder | None = None
) -> None:
    """OUT itself for one generator (and OUT/encoder for its E); OUT/AtoB, OUT/BtoA and a top card for a pair."""
    from .hub import atomic_write_text

    repo_id = args.push_to_hub
    if len(generators) == 1:
        card = {
            "description": f"Converted from the reference checkpoint `{args.checkpoint[0].name}`.",
            "repo_id": repo_id,
        }
        generators[0].save_pretrained(args.out, model_card_kwargs=card)
        if encoder is not None:
            encoder.save_pretrained(args.out / "encoder")
        return
    for direction, generator, path, other in zip(
        DIRECTIONS, generators, args.checkpoint, DIRECTIONS[::-1], strict=True
    ):
        text = f"Converted from the reference checkpoint `{path.name}`: the {direction} direction of a CycleGAN"
        card = {"description": f"{text} (the other one is `../{other}`).", "repo_id": repo_id}
        generator.save_pretrained(args.out / direction, model_card_kwargs=card)
    atomic_write_text(args.out / "README.md", pair_card(args.checkpoint, repo_id))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        generators = load_all(args)
        encoder = load_encoder(args, generators[0]) if args.encoder else None
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_folders(generators, args, encoder)
    parameters = sum(p.numel() for network in [*generators, encoder] if network for p in network.parameters())
    print(f"wrote {args.out} ({len(generators)} generator(s), {parameters:,} parameters)")
    if args.push_to_hub:
        from huggingface_hub import HfApi

        api = HfApi()
        repo_id = api.create_repo(args.push_to_hub, exist_ok=True).repo_id
        print(api.upload_folder(repo_id=repo_id, folder_path=str(args.out), commit_message="pix2pix-hub: converted"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
