"""Judges: small networks, trained apart from pix2pix, that score generated photos by what they can read back.

L1, PSNR and SSIM reward blur, so the paper judges realism with an "FCN-score" (Sec. 4.2): a segmentation network
trained on real photos labels the generated photo, and the closer its labels come to the label map the photo was
generated from, the more the photo looks like the real thing. The same idea scores map -> aerial photo: a photo ->
map regressor reads a map back from the generated photo and is compared with the input map.

`python -m pix2pix_hub.judges train facades --data ../shared/data/facades --out weights/judges/facades` trains one;
`python -m pix2pix_hub.judges bounds ...` scores real photos (upper bound) and the mean training photo (lower bound).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity
from torch import nn
from torch.utils.data import Dataset

from ..hub import PROJECT_REPO_URL, StrictHubMixin, atomic_write_text, read_model_card_template
from ..images import image_to_tensor, open_image, tensor_to_image
from ..networks import PIX2PIX_PAPER_URL
from ..palettes import CITYSCAPES_EVALUATED, CITYSCAPES_VOID, FACADE_CLASSES, LabelClass
from .metrics import mean_metrics, pair_metrics

IGNORED = 255  # the label of a void pixel: left out of judges' losses and of every score


def _colours(classes: tuple[LabelClass, ...]) -> torch.Tensor:
    return torch.tensor([label.color for label in classes], dtype=torch.float32).reshape(-1, 3)


@dataclass(frozen=True)
class LabelSet:
    """The classes a segmentation judge reads (class index = row of `palette`) and the colours scores ignore."""

    palette: torch.Tensor  # (K, 3) RGB in [0, 255]
    void: torch.Tensor  # (V, 3) RGB of pixels left out of every score; may be empty

    @property
    def num_classes(self) -> int:
        return len(self.palette)

    def labels(self, label_maps: torch.Tensor, keep_void: bool = True) -> torch.Tensor:
        """Class index of each pixel of (N, 3, H, W) colour maps in [-1, 1]: the nearest colour (void: IGNORED).

        `keep_void=False` decodes every pixel to the nearest evaluated class, as the paper scores generated maps.
        """
        if label_maps.ndim != 4 or label_maps.shape[1] != 3:
            raise ValueError(f"expected (N, 3, H, W) colour label maps, got shape {tuple(label_maps.shape)}")
        colours = torch.cat([self.palette, self.void]) if keep_void else self.palette
        rgb = (label_maps.float() + 1) * 127.5
        # |rgb - colour|^2 without its |rgb|^2 term, which is the same for every colour
        distances = (colours**2).sum(dim=1)[:, None, None] - 2 * torch.einsum("nchw,kc->nkhw", rgb, colours)
        labels = distances.argmin(dim=1)
        return labels.masked_fill(labels >= self.num_classes, IGNORED)


LABEL_SETS = {
    "facades": LabelSet(_colours(FACADE_CLASSES), _colours(())),
    "cityscapes": LabelSet(_colours(CITYSCAPES_EVALUATED), _colours(CITYSCAPES_VOID)),
}
# The facade label maps' colours as a (12, 3) tensor, class index = row: the one table the Space's brushes use too.
FACADE_PALETTE = LABEL_SETS["facades"].palette
NUM_FACADE_CLASSES = len(FACADE_PALETTE)


def labels_from_palette(label_maps: torch.Tensor, label_set: str = "facades") -> torch.Tensor:
    """Class index of each pixel of (N, 3, H, W) colour label maps in [-1, 1] (see `LabelSet.labels`)."""
    return LABEL_SETS[label_set].labels(label_maps)


def confusion_matrix(predicted: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(num_classes, num_classes) pixel counts: row = true class, column = predicted class; void targets left out."""
    if predicted.shape != target.shape:
        raise ValueError(f"predicted {tuple(predicted.shape)} and target {tuple(target.shape)} differ in shape")
    valid = target.reshape(-1) != IGNORED
    pairs = target.reshape(-1)[valid].long() * num_classes + predicted.reshape(-1)[valid].long()
    return torch.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)


def segmentation_scores(confusion: torch.Tensor) -> dict[str, float]:
    """The FCN-score triple of the pix2pix paper; classes absent from both truth and prediction are left out."""
    confusion = confusion.double()
    correct = confusion.diag()
    true_totals, predicted_totals = confusion.sum(dim=1), confusion.sum(dim=0)
    present = true_totals > 0
    union = true_totals + predicted_totals - correct
    return {
        "per_pixel_accuracy": float(correct.sum() / confusion.sum()),
        "per_class_accuracy": float((correct[present] / true_totals[present]).mean()),
        "class_iou": float((correct[union > 0] / union[union > 0]).mean()),
    }


@dataclass(frozen=True)
class JudgeKind:
    """What a judge reads from a photo: its output channels, training targets and loss."""

    out_channels: int
    targets: Callable[[torch.Tensor], torch.Tensor]  # (N, 3, H, W) in [-1, 1] -> what the loss compares with
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _map_l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(torch.tanh(output), target)


def _segmentation_kind(label_set: str) -> JudgeKind:
    return JudgeKind(
        LABEL_SETS[label_set].num_classes,
        LABEL_SETS[label_set].labels,
        partial(F.cross_entropy, ignore_index=IGNORED),
    )


JUDGE_KINDS = {
    "facades": _segmentation_kind("facades"),
    "cityscapes": _segmentation_kind("cityscapes"),
    "maps": JudgeKind(3, lambda maps: maps, _map_l1),
}


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Judge(
    nn.Module,
    StrictHubMixin,
    library_name="pix2pix-hub",
    tags=["pix2pix", "fcn-score", "evaluation"],
    license="bsd-3-clause",
    paper_url=PIX2PIX_PAPER_URL,
    repo_url=PROJECT_REPO_URL,
    model_card_template=read_model_card_template("judge.md"),
):
    """A small U-Net from a photo to class logits ("facades", "cityscapes") or to a map ("maps").

    It works at `image_size` and predicts at half that resolution (like FCN's coarse outputs, bilinearly
    upsampled): the judge needs layout, not texture, and this keeps CPU training to minutes.
    """

    def __init__(self, kind: str = "facades", width: int = 16, depth: int = 4, image_size: int = 128):
        super().__init__()
        if kind not in JUDGE_KINDS:
            raise ValueError(f"kind={kind!r} is not a judge kind; choose one of {', '.join(map(repr, JUDGE_KINDS))}")
        for name, value in (("width", width), ("depth", depth), ("image_size", image_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if image_size % 2 ** (depth + 1):
            raise ValueError(f"image_size {image_size} must be a multiple of {2 ** (depth + 1)} for depth {depth}")
        self.kind, self.image_size = kind, image_size
        widths = [width * 2**level for level in range(depth + 1)]
        self.stem = nn.Sequential(_conv_bn_relu(3, width, stride=2), _conv_bn_relu(width, width))
        self.down = nn.ModuleList(
            nn.Sequential(_conv_bn_relu(w_in, w_out, stride=2), _conv_bn_relu(w_out, w_out))
            for w_in, w_out in pairwise(widths)
        )
        self.up = nn.ModuleList(
            nn.Sequential(_conv_bn_relu(w_in + w_out, w_out), _conv_bn_relu(w_out, w_out))
            for w_out, w_in in reversed(list(pairwise(widths)))
        )
        self.head = nn.Conv2d(width, JUDGE_KINDS[kind].out_channels, 1)

    def forward(self, photos: torch.Tensor) -> torch.Tensor:
        """Raw outputs (class logits, or map values before tanh) at the input resolution."""
        if photos.ndim != 4 or photos.shape[1] != 3:
            raise ValueError(f"expected (N, 3, H, W) photos, got shape {tuple(photos.shape)}")
        x = self.stem(photos)
        skips = []
        for block in self.down:
            skips.append(x)
            x = block(x)
        for block in self.up:
            skip = skips.pop()
            x = block(torch.cat([skip, F.interpolate(x, size=skip.shape[-2:], mode="bilinear")], dim=1))
        return F.interpolate(self.head(x), size=photos.shape[-2:], mode="bilinear")

    @torch.inference_mode()
    def predict(self, photos: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Read photos in [-1, 1] of any size: class indices (N, H, W) or maps (N, 3, H, W) in [-1, 1] at `size`."""
        self.eval()
        size = size or tuple(photos.shape[-2:])
        inputs = F.interpolate(photos.float(), size=(self.image_size,) * 2, mode="bilinear", antialias=True)
        outputs = F.interpolate(self(inputs), size=size, mode="bilinear")
        return outputs.argmax(dim=1) if self.kind in LABEL_SETS else torch.tanh(outputs)


def map_distances(predicted: torch.Tensor, truth: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-image L1 ([0, 1] scale) and SSIM between (N, 3, H, W) maps in [-1, 1]."""
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted {tuple(predicted.shape)} and true maps {tuple(truth.shape)} differ in shape")
    predicted, truth = (predicted.float() + 1) / 2, (truth.float() + 1) / 2
    l1 = (predicted - truth).abs().mean(dim=(1, 2, 3)).tolist()
    ssim = [
        float(structural_similarity(one_predicted, one_truth, channel_axis=0, data_range=1.0))
        for one_predicted, one_truth in zip(predicted.numpy(), truth.numpy(), strict=True)
    ]
    return l1, ssim


class FCNScore:
    """Accumulates a segmentation judge's confusion over batches of (photo, the label map it should show)."""

    def __init__(self, judge: Judge):
        if judge.kind not in LABEL_SETS:
            raise ValueError(f"FCNScore needs a facades or cityscapes judge, got a {judge.kind!r} judge")
        self.judge, self.label_set = judge, LABEL_SETS[judge.kind]
        self.confusion = torch.zeros(self.label_set.num_classes, self.label_set.num_classes, dtype=torch.long)

    def update(self, photos: torch.Tensor, label_maps: torch.Tensor) -> None:
        predicted = self.judge.predict(photos, size=tuple(label_maps.shape[-2:]))
        self.confusion += confusion_matrix(predicted, self.label_set.labels(label_maps), self.label_set.num_classes)

    def compute(self) -> dict[str, float]:
        return segmentation_scores(self.confusion)


class LabelMapScore:
    """Generated colour label maps scored as the paper's Table 3 (photo -> labels): each pixel decoded to the
    nearest class colour, then per-pixel and per-class accuracy and class IoU against the real map (void left out)."""

    def __init__(self, label_set: str):
        if label_set not in LABEL_SETS:
            raise ValueError(f"{label_set!r} is not a label set; choose one of {', '.join(map(repr, LABEL_SETS))}")
        self.label_set = LABEL_SETS[label_set]
        self.confusion = torch.zeros(self.label_set.num_classes, self.label_set.num_classes, dtype=torch.long)

    def update(self, generated_maps: torch.Tensor, real_maps: torch.Tensor) -> None:
        predicted = self.label_set.labels(generated_maps, keep_void=False)
        self.confusion += confusion_matrix(predicted, self.label_set.labels(real_maps), self.label_set.num_classes)

    def compute(self) -> dict[str, float]:
        return segmentation_scores(self.confusion)


class MapStructureScore:
    """Mean L1 ([0, 1] scale) and SSIM between the maps a maps judge reads from photos and the true maps."""

    def __init__(self, judge: Judge):
        if judge.kind != "maps":
            raise ValueError(f"MapStructureScore needs a maps judge, got a {judge.kind!r} judge")
        self.judge = judge
        self.l1: list[float] = []
        self.ssim: list[float] = []

    def update(self, photos: torch.Tensor, maps: torch.Tensor) -> None:
        l1, ssim = map_distances(self.judge.predict(photos, size=tuple(maps.shape[-2:])), maps)
        self.l1 += l1
        self.ssim += ssim

    def compute(self) -> dict[str, float]:
        return {"structure_l1": float(np.mean(self.l1)), "structure_ssim": float(np.mean(self.ssim))}


SCORES = {"facades": FCNScore, "cityscapes": FCNScore, "maps": MapStructureScore}


def judge_score(judge: Judge) -> FCNScore | MapStructureScore:
    """The score accumulator that fits this judge's kind."""
    return SCORES[judge.kind](judge)


def mean_target(dataset: Dataset) -> torch.Tensor:
    """The average target image (3, H, W) of a paired dataset: the best output that ignores its input, for L1."""
    total = None
    for index in range(len(dataset)):
        target = dataset[index]["target"].double()
        total = target if total is None else total + target
    return (total / len(dataset)).float()


JUDGED = ("output", "real_target", "mean_training_target")  # the images a judge scores, best to worst
LABELLED = ("output", "mean_training_target")  # generated label maps scored against the real ones


class Bounds:
    """What a model's scores mean: the same scores for the mean training target and, with a judge, the real target.

    The judge reads the source back from an image (labels from a facade photo, a map from an aerial photo), so it
    scores the model's outputs, the real targets (upper bound) and the mean training target (lower bound), and
    `gap_closed` says which fraction of the way from the lower to the upper bound the outputs get. With
    `label_set`, the outputs are colour label maps (photo -> labels) scored against the real maps as the paper's
    Table 3 does, next to the mean training map.
    """

    def __init__(self, mean_target: torch.Tensor, judge: Judge | None = None, label_set: str | None = None):
        self.mean_target, self.judge = mean_target, judge
        self.mean_target_metrics: list[dict[str, float]] = []
        self.judged = {name: judge_score(judge) for name in JUDGED} if judge is not None else {}
        self.labelled = {name: LabelMapScore(label_set) for name in LABELLED} if label_set is not None else {}

    def update(self, sources: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        mean_targets = self.mean_target.expand_as(targets)
        mean_image = tensor_to_image(self.mean_target)
        self.mean_target_metrics += [pair_metrics(mean_image, tensor_to_image(target)) for target in targets]
        images = {"output": outputs, "real_target": targets, "mean_training_target": mean_targets}
        for name, score in self.judged.items():
            score.update(images[name], sources)
        for name, score in self.labelled.items():
            score.update(images[name], targets)

    def compute(self) -> dict[str, dict]:
        report = {"mean_training_target": mean_metrics(self.mean_target_metrics)}
        if self.judged:
            judged = {name: score.compute() for name, score in self.judged.items()}
            report["judge"] = {"kind": self.judge.kind, **judged, "gap_closed": _gap_closed(judged)}
        if self.labelled:
            report["label_maps"] = {name: score.compute() for name, score in self.labelled.items()}
        return report


def _gap_closed(judged: dict[str, dict[str, float]]) -> dict[str, float]:
    low, high, output = judged["mean_training_target"], judged["real_target"], judged["output"]
    return {
        name: (output[name] - low[name]) / (high[name] - low[name]) if high[name] != low[name] else float("nan")
        for name in output
    }


def load_ab_folder(folder: str | Path, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All side-by-side "AB" images of a folder as (A, B) tensors in [-1, 1], each half resized to `size`."""
    files = sorted(Path(folder).glob("*.jpg")) + sorted(Path(folder).glob("*.png"))
    if not files:
        raise ValueError(f"{folder}: no .jpg or .png AB images here (expected the pix2pix side-by-side layout)")
    halves_a, halves_b = [], []
    for path in files:
        pair = image_to_tensor(open_image(path), 3)
        width = pair.shape[-1] // 2
        halves_a.append(pair[..., :width])
        halves_b.append(pair[..., width:])
    return _resize(torch.stack(halves_a), size), _resize(torch.stack(halves_b), size)


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True)


def train_judge(
    judge: Judge,
    photos: torch.Tensor,
    targets: torch.Tensor,
    steps: int,
    batch_size: int = 8,
    learning_rate: float = 2e-3,
    seed: int = 0,
    log: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train on (photos, targets) held in memory: random 8/9 crops and flips, Adam with a one-cycle schedule.

    `targets` are already in the judge's loss space (class indices for facades, maps in [-1, 1] for maps), at
    the photos' resolution. Returns the loss of every step.
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    kind = JUDGE_KINDS[judge.kind]
    optimizer = torch.optim.AdamW(judge.parameters(), lr=learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps)
    crop = min(judge.image_size, photos.shape[-1])
    losses = []
    judge.train()
    for step in range(steps):
        index = torch.randint(len(photos), (batch_size,), generator=generator)
        top, left = torch.randint(photos.shape[-1] - crop + 1, (2,), generator=generator).tolist()
        batch_photos = photos[index, :, top : top + crop, left : left + crop]
        batch_targets = targets[index, ..., top : top + crop, left : left + crop]
        if torch.rand((), generator=generator) < 0.5:
            batch_photos, batch_targets = batch_photos.flip(-1), batch_targets.flip(-1)
        loss = kind.loss(judge(batch_photos), batch_targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if log is not None:
            log(step, loss.item())
    judge.eval()
    return losses


def training_targets(kind: str, images: torch.Tensor, size: int) -> torch.Tensor:
    """Judge targets at `size` from the B halves: labels are read at full resolution, then resized by nearest."""
    targets = torch.cat([JUDGE_KINDS[kind].targets(chunk) for chunk in images.split(32)])
    if targets.ndim == 3:
        return F.interpolate(targets[:, None].float(), size=(size, size), mode="nearest")[:, 0].long()
    return _resize(targets, size)


def folder_bounds(judge: Judge, train_folder: str | Path, test_folder: str | Path) -> dict[str, dict[str, float]]:
    """Scores of the real test photos (the upper bound) and of the mean training photo (the lower bound)."""
    train_photos, _ = load_ab_folder(train_folder, 256)
    test_photos, test_conditions = load_ab_folder(test_folder, 256)
    mean_photo = train_photos.mean(dim=0, keepdim=True)
    results = {}
    for name, photos in (("real", test_photos), ("mean_training_photo", mean_photo.expand_as(test_photos))):
        score = judge_score(judge)
        for start in range(0, len(photos), 32):
            score.update(photos[start : start + 32], test_conditions[start : start + 32])
        results[name] = score.compute()
    return results


def _train_command(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.monotonic()
    load_size = args.image_size * 9 // 8
    photos, conditions = load_ab_folder(Path(args.data) / "train", 256)
    photos, targets = _resize(photos, load_size), training_targets(args.kind, conditions, load_size)
    judge = Judge(kind=args.kind, width=args.width, depth=args.depth, image_size=args.image_size)

    def log(step: int, loss: float) -> None:
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss:.4f}  {time.monotonic() - started:6.0f}s", flush=True)

    train_judge(judge, photos, targets, args.steps, args.batch_size, args.learning_rate, args.seed, log)
    minutes = (time.monotonic() - started) / 60
    scores = folder_bounds(judge, Path(args.data) / "train", Path(args.data) / args.eval_split)
    command = "python -m pix2pix_hub.judges " + " ".join(args.argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(args.out) / "bounds.json", json.dumps(scores, indent=2) + "\n")
    judge.save_pretrained(
        args.out,
        model_card_kwargs={
            "kind": args.kind,
            "dataset": f"{Path(args.data).name}/train ({len(photos)} pairs)",
            "eval_split": args.eval_split,
            "steps": args.steps,
            "training_time": f"{minutes:.1f} min, torch.get_num_threads() = {torch.get_num_threads()} on the CPU",
            "command": command,
            "bounds": scores,
        },
    )
    print(json.dumps(scores, indent=2))


def _bounds_command(args: argparse.Namespace) -> None:
    judge = Judge.from_pretrained(args.judge)
    print(json.dumps(folder_bounds(judge, Path(args.data) / "train", Path(args.data) / args.eval_split), indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pix2pix_hub.judges", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a judge on the train/ split of an AB folder")
    train.add_argument("kind", choices=sorted(JUDGE_KINDS))
    train.add_argument("--data", required=True, help="folder with train/ and the eval split (AB images)")
    train.add_argument("--out", required=True, help="folder to save the judge in (Hub layout)")
    train.add_argument("--eval_split", default="test", help="split for the bounds (facades: test, maps: val)")
    train.add_argument("--steps", type=int, default=1200)
    train.add_argument("--batch_size", type=int, default=8)
    train.add_argument("--learning_rate", type=float, default=2e-3)
    train.add_argument("--width", type=int, default=16)
    train.add_argument("--depth", type=int, default=4)
    train.add_argument("--image_size", type=int, default=128)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    score = commands.add_parser("bounds", help="score real photos and the mean training photo with a saved judge")
    score.add_argument("--judge", required=True, help="saved judge folder or Hub id")
    score.add_argument("--data", required=True)
    score.add_argument("--eval_split", default="test")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = argv
    (_train_command if args.command == "train" else _bounds_command)(args)


if __name__ == "__main__":
    main()
