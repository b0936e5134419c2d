"""A domain judge for unpaired translation: a small classifier that tells domain A images from domain B images.

Without paired ground truth (apple2orange), a translation is scored by whether an independent classifier, trained
on the training photos only, assigns it to the target domain: the share of translated test images it calls the
target domain, next to the share for real target-domain test images (what a perfect translation could reach) and
for the untranslated inputs (what doing nothing scores). FID would need Inception weights, which no package here
ships, so it is not reported. A judge is one network's opinion: train two (`--seed`) and trust what both say.

    python -m pix2pix_hub.evaluation.domain_judge train --domain_a DIR --domain_b DIR --out weights/judges/NAME
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import PROJECT_REPO_URL, StrictHubMixin, atomic_write_text, read_model_card_template
from ..images import IMAGE_EXTENSIONS, image_files, image_to_tensor, open_image

CYCLEGAN_PAPER_URL = "https://arxiv.org/abs/1703.10593"


class DomainJudge(
    nn.Module,
    StrictHubMixin,
    library_name="pix2pix-hub",
    tags=["cyclegan", "evaluation", "domain-classifier"],
    license="bsd-3-clause",
    paper_url=CYCLEGAN_PAPER_URL,
    repo_url=PROJECT_REPO_URL,
    model_card_template=read_model_card_template("domain_judge.md"),
):
    """Conv-BN-ReLU blocks halving the resolution, global average pooling, one logit: > 0 means domain B."""

    def __init__(self, width: int = 16, depth: int = 4, image_size: int = 64):
        super().__init__()
        layers, channels = [], 3
        for level in range(depth):
            out = width * 2**level
            layers += [nn.Conv2d(channels, out, 3, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, 1)
        self.image_size = image_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (N,) for images in [-1, 1] at `image_size`."""
        return self.head(self.features(images).mean(dim=(2, 3))).squeeze(1)

    @torch.inference_mode()
    def share_of_b(self, images: torch.Tensor) -> float:
        """The fraction of images (any size, [-1, 1]) the judge assigns to domain B."""
        self.eval()
        resized = F.interpolate(images.float(), size=(self.image_size,) * 2, mode="bilinear", antialias=True)
        return float((self(resized) > 0).float().mean())


def load_folder(folder: str | Path, size: int) -> torch.Tensor:
    """Every image of a folder as (N, 3, size, size) in [-1, 1]."""
    files = image_files(Path(folder))
    if not files:
        raise ValueError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)})")
    return torch.stack([image_to_tensor(open_image(path).resize((size, size)), 3) for path in files])


def train_domain_judge(judge: DomainJudge, domain_a: torch.Tensor, domain_b: torch.Tensor, steps: int, seed: int = 0):
    """Balanced batches of A (label 0) and B (label 1), random flips and shifts; AdamW with a one-cycle schedule."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(judge.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    judge.train()
    for _ in range(steps):
        picks = [domain[torch.randint(len(domain), (16,), generator=generator)] for domain in (domain_a, domain_b)]
        images, labels = torch.cat(picks), torch.cat([torch.zeros(16), torch.ones(16)])
        flip = torch.rand(len(images), generator=generator) < 0.5
        images = torch.where(flip[:, None, None, None], images.flip(-1), images)
        shift = torch.randint(-4, 5, (2,), generator=generator).tolist()
        images = torch.roll(images, shifts=shift, dims=(2, 3))
        loss = F.binary_cross_entropy_with_logits(judge(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return judge.eval()


def _train_command(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the initial weights too: the same command gives the same judge
    judge = DomainJudge(args.width, args.depth, args.image_size)
    domain_a, domain_b = (load_folder(folder, args.image_size) for folder in (args.domain_a, args.domain_b))
    train_domain_judge(judge, domain_a, domain_b, args.steps, args.seed)
    report = {"train_share_of_b": {"A": judge.share_of_b(domain_a), "B": judge.share_of_b(domain_b)}}
    if args.test_a and args.test_b:
        tests = (load_folder(folder, args.image_size) for folder in (args.test_a, args.test_b))
        report["test_share_of_b"] = dict(zip("AB", (judge.share_of_b(images) for images in tests), strict=True))
    command = "python -m pix2pix_hub.evaluation.domain_judge " + " ".join(sys.argv[1:])
    judge.save_pretrained(args.out, model_card_kwargs={"accuracy": report, "command": command, "name": args.name})
    atomic_write_text(Path(args.out) / "accuracy.json", json.dumps(report | {"command": command}, indent=2))
    print(json.dumps(report, indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a judge on two folders of training images")
    train.add_argument("--domain_a", required=True)
    train.add_argument("--domain_b", required=True)
    train.add_argument("--test_a", default=None, help="held-out A images: report the judge's accuracy on them")
    train.add_argument("--test_b", default=None)
    train.add_argument("--out", required=True)
    train.add_argument(
        "--name", default=None, help="what the domains are, for the card (e.g. 'apple (A) vs orange (B)')"
    )
    train.add_argument("--steps", type=int, default=600)
    train.add_argument("--width", type=int, default=16)
    train.add_argument("--depth", type=int, default=4)
    train.add_argument("--image_size", type=int, default=64)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    _train_command(args)


if __name__ == "__main__":
    main()
