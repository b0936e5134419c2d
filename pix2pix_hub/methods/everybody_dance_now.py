"""Everybody Dance Now (Chan, Ginosar, Zhou, Efros, ICCV 2019): pose stick figures to video of one person.

Read against the paper (Sec. 3-4) and the reference's `models/pix2pixHD_model_fullts.py` (carolineec/
EverybodyDanceNow): G is pix2pixHD's global generator, fed the pose of frame t stacked with the frame it generated
for t-1 (zeros before the first), so a video is generated frame by frame. Each step takes two consecutive frames:
G makes x_t from (pose_t, 0) and x_t+1 from (pose_t+1, x_t); pix2pixHD's multi-scale D judges each (pose, frame)
pair, and the temporal D judges the sequence (pose_t, pose_t+1, x_t, x_t+1) against the real one. G's loss is the
LSGAN terms and discriminator feature matching (lambda_feat) of both frames, plus lambda_temporal times the temporal
D's; the discriminators then update on their fake and real terms. The face GAN (a residual for a face crop) is not
here: the data has no face crops. `--lambda_temporal 0` drops the temporal D (the ablation).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import LR_POLICIES, Method, Recipe, TrainingState, option

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from torch import nn

    from ..data import PairSource
    from ..evaluation.evaluate import Evaluation

PAPER_URL = "https://arxiv.org/abs/1808.07371"
REFERENCE_REPO_URL = "https://github.com/carolineec/EverybodyDanceNow"


@dataclass(frozen=True)
class EverybodyDanceNowRecipe(Recipe):
    """The reference's train options at 256x256 (its 512x1024 needs a GPU): global G, 2 x 3-layer D, temporal D."""

    epochs: int = option(5, "epochs at the initial learning rate", aliases=["--n_epochs", "--niter"])
    decay_epochs: int = option(5, "then epochs of linear decay", aliases=["--n_epochs_decay", "--niter_decay"])
    lr_policy: str = option("linear_hd", "the learning-rate rule (linear_hd: pix2pixHD's)", choices=LR_POLICIES)
    direction: str = option("BtoA", "BtoA: B (the pose) is the source", "data", choices=("AtoB", "BtoA"))
    preprocess: str = option("none", "augmentation (none: the frames as they are)", "data")
    load_size: int = option(256, "resize to this before cropping (crop modes)", "data")
    crop_size: int = option(256, "training (and evaluation) resolution", "data")
    flip: bool = option(False, "random horizontal flips (off: a skeleton's colours say left from right)", "data")

    ngf: int = option(64, "generator width", "networks")
    n_downsample_global: int = option(4, "G's stride-2 convolutions", "networks")
    n_blocks_global: int = option(9, "G's residual blocks", "networks")
    ndf: int = option(64, "discriminator width", "networks")
    num_D: int = option(2, "discriminators, at 1, 1/2, ... of the resolution (each of the two kinds)", "networks")
    n_layers_discriminator: int = option(3, "layers of each discriminator", "networks", flag="--n_layers_D")
    norm: str = option("instance", "normalisation in G and D", "networks", choices=("batch", "instance", "none"))

    lambda_feat: float = option(10.0, "weight of the feature-matching terms")
    lambda_temporal: float = option(1.0, "weight of the temporal D's terms in G's loss (0: no temporal D)")
    lambda_l1: float = option(
        0.0, "weight of an L1 term on both generated frames (the reference's --use_l1 with --lambda_A; 0: off)"
    )


PAPER = EverybodyDanceNowRecipe()


@dataclass
class FrameData:
    """The training sequence as consecutive pairs, and the evaluation sequence frame by frame."""

    train_frames: PairSource
    eval_frames: PairSource
    description: str
    train: Any = None
    evaluation: Any = None
    collate: Any = field(default=None, repr=False)

    def record(self, args: argparse.Namespace) -> dict:
        """The data part of training.json (its training samples are the consecutive pairs of frames)."""
        from .paired import data_record

        return data_record(args, self.train_frames, self.eval_frames, self.description, len(self.train_frames) - 1)


class EverybodyDanceNow(Method):
    """`--method everybody_dance_now`: the reference's `Pix2PixHDModel` with temporal smoothing, one step per pair."""

    name = "everybody_dance_now"
    paper_url = PAPER_URL
    Recipe = EverybodyDanceNowRecipe
    description = (
        "Everybody Dance Now (Chan et al., ICCV 2019): pose stick figures to video of one person, temporally smooth"
    )

    def validate(self, args: argparse.Namespace) -> None:
        super().validate(args)
        if args.lambda_temporal < 0:
            raise ValueError(f"--lambda_temporal must be 0 (no temporal D) or more, got {args.lambda_temporal}")
        if args.flip:
            raise ValueError("--flip would swap a skeleton's left and right colours: poses and frames would disagree")

    def load_data(self, args: argparse.Namespace, recipe: EverybodyDanceNowRecipe) -> FrameData:
        """The splits in file (time) order: train consecutive pairs, and the eval sequence."""
        from ..data import Subset, load_splits
        from ..data.arguments import data_spec

        train, evaluation, description = load_splits(data_spec(args), args.eval_split)
        if isinstance(evaluation, Subset):  # held out at random: frames scattered over the video, no sequence
            raise ValueError(
                f"{args.dataset}: no evaluation split; a sequence is evaluated on frames that follow each other: put "
                "the last frames in a test/ folder (or name another split with --eval_split)"
            )
        if args.max_dataset_size and args.max_dataset_size < len(train):
            train = Subset(train, range(args.max_dataset_size))
            description += f"; the first {args.max_dataset_size} training frames used (--max_dataset_size)"
        return FrameData(train, evaluation, description + "; frames in file-name order")

    def build(self, recipe: EverybodyDanceNowRecipe, data: FrameData, args: argparse.Namespace) -> TrainingState:
        """G (pose + previous frame in), the frame D, the temporal D (unless lambda_temporal is 0), their Adams."""
        from ..data.arguments import preprocessing
        from ..data.frames import ConsecutiveFrames, SequenceFrames, collate_frame_pairs
        from ..networks import Pix2PixGenerator, create_discriminator
        from ..networks.pix2pixhd import init_pix2pixhd_weights
        from .gan import adam, has_batch_norm, initialise

        options = {"n_downsample_global": recipe.n_downsample_global, "n_blocks_global": recipe.n_blocks_global}
        generator = Pix2PixGenerator("global_previous_frame", 3, 3, recipe.ngf, recipe.norm, False, "eval", options)
        size = {
            "ndf": recipe.ndf,
            "norm": recipe.norm,
            "n_layers": recipe.n_layers_discriminator,
            "num_D": recipe.num_D,
        }
        modules = {"generator": generator, "discriminator": create_discriminator("multiscale", in_channels=6, **size)}
        if recipe.lambda_temporal > 0:
            modules["temporal_discriminator"] = create_discriminator("multiscale", in_channels=12, **size)
        initialise(recipe, *modules.values(), reference_init=init_pix2pixhd_weights)
        fused = not args.no_fused_adam
        look = preprocessing(args, generator.size_multiple)
        data.train = ConsecutiveFrames(data.train_frames, look, args.seed, augment=True)
        data.evaluation = SequenceFrames(data.eval_frames, look)
        data.collate = collate_frame_pairs
        optimizers = {name: adam(module.parameters(), recipe, fused) for name, module in modules.items()}
        # one D forward over fake and real stacked: exact only without batch norm (--norm batch), which would mix them
        stack = not args.no_stacked_discriminator and not has_batch_norm(modules["discriminator"])
        return TrainingState(modules, optimizers, extras={"stack_discriminator": stack})

    def training_step(
        self, accelerator: Accelerator, state: TrainingState, batch: dict, recipe: EverybodyDanceNowRecipe
    ) -> dict[str, torch.Tensor]:
        """Two frames from G (the second conditioned on the first), G's update, then both discriminators'."""
        import torch
        import torch.nn.functional as F

        generator = state.modules["generator"]
        pose, next_pose = batch["source"], batch["next_source"]
        real, next_real = batch["target"], batch["next_target"]
        fake = generator(pose, torch.zeros_like(real))
        next_fake = generator(next_pose, fake)
        frames = [(pose, fake, real), (next_pose, next_fake, next_real)]
        losses = self.frame_losses(accelerator, state, recipe, frames)
        if recipe.lambda_l1:
            losses["G_L1"] = (F.l1_loss(fake, real) + F.l1_loss(next_fake, next_real)) * recipe.lambda_l1
            losses["G"] = losses["G"] + losses["G_L1"]
        if "temporal_discriminator" in state.modules:
            poses = torch.cat([pose, next_pose], 1)
            sequence = (poses, torch.cat([fake, next_fake], 1), torch.cat([real, next_real], 1))
            temporal = judge(accelerator, state, "temporal_discriminator", recipe, *sequence)
            losses |= {f"T_{name}": value for name, value in temporal.items()}
            losses["G"] = losses["G"] + recipe.lambda_temporal * (temporal["G_GAN"] + temporal["G_GAN_Feat"])
        accelerator.backward(losses["G"])
        state.optimizers["generator"].step()
        state.optimizers["generator"].zero_grad(set_to_none=True)
        for name, prefix in (("discriminator", ""), ("temporal_discriminator", "T_")):
            if name in state.modules:
                state.modules[name].requires_grad_(True)  # off while G's loss went back through it
                accelerator.backward((losses[f"{prefix}D_fake"] + losses[f"{prefix}D_real"]) * 0.5)
                state.optimizers[name].step()
                state.optimizers[name].zero_grad(set_to_none=True)
        return {name: loss.detach() for name, loss in losses.items()}

    @staticmethod
    def frame_losses(accelerator, state, recipe, frames) -> dict[str, torch.Tensor]:
        """The frame D's verdicts on both frames: their sum of pix2pixHD terms, and G's total so far."""
        import torch

        pose = torch.cat([p for p, _, _ in frames])
        fake, real = torch.cat([f for _, f, _ in frames]), torch.cat([r for _, _, r in frames])
        losses = judge(accelerator, state, "discriminator", recipe, pose, fake, real)
        losses["G"] = losses["G_GAN"] + losses["G_GAN_Feat"]
        return losses

    def exports(self, accelerator: Accelerator, state: TrainingState) -> dict[str, nn.Module]:
        from .paired import plain_copy

        return {"": plain_copy(state.modules["generator"], accelerator)}

    def evaluate(self, exported: dict[str, nn.Module], data: FrameData, args, device) -> Evaluation:
        """The evaluation sequence generated in order, each frame from the one before: per-frame metrics against the
        real frames and the temporal ones (mean absolute change between consecutive frames, generated and real)."""
        import torch

        from ..evaluation.sequence import evaluate_sequence

        items = [data.evaluation[index] for index in range(len(data.evaluation))]
        sources, targets = (torch.stack([item[key] for item in items]) for key in ("source", "target"))
        return evaluate_sequence(exported[""], sources, targets, device)

    def save(self, exported: dict[str, nn.Module], output_dir: Path, result: Evaluation, args, record) -> None:
        """The generator's Hub folder; its card names the method and the temporal measurements."""
        from .paired import paired_card

        (output_dir / "README.md").unlink(missing_ok=True)
        card = paired_card(record, result, args)
        card["metrics"] |= {
            "temporal change, generated": f"{result.metrics['temporal_change']:.4f}",
            "temporal change, real": f"{result.metrics['temporal_change_real']:.4f}",
        }
        card["description"] = card_description(record["recipe"])
        card["model_name"] = f"Everybody Dance Now: {Path(record['data']['dataset']).name}"
        card["metrics_intro"] = (
            f"Measured at step {record['steps']} on the {result.num_pairs} evaluation frames in order, each generated "
            "from its pose and the frame generated before it; temporal change is the mean absolute difference between "
            "consecutive frames (8-bit, in [0, 1])."
        )
        exported[""].save_pretrained(output_dir, model_card_kwargs=card)
        card_path = output_dir / "README.md"
        card_path.write_text(with_video_usage(card_path.read_text(encoding="utf-8")), encoding="utf-8")


def judge(accelerator, state, name, recipe, condition, fake, real) -> dict[str, torch.Tensor]:
    """pix2pixHD's terms from the D called `name`: D_fake (on detached fakes), D_real, G's GAN and feature matching."""
    import torch

    from ..losses import GANLoss
    from .gan import multiscale_judge

    pairs = (torch.cat([condition, fake.detach()], 1), torch.cat([condition, real], 1), torch.cat([condition, fake], 1))
    feature_matching = (recipe.n_layers_discriminator, recipe.lambda_feat)
    stack = state.extras["stack_discriminator"]
    return multiscale_judge(accelerator, state.modules[name], GANLoss("lsgan"), stack, pairs, feature_matching)


VIDEO_USAGE = """## How to use

The generator takes two inputs, a stick figure ("source") and the frame it generated before ("previous"), so it makes
videos frame by frame:

```python
import torch
from pix2pix_hub import Pix2PixGenerator
from pix2pix_hub.images import image_to_tensor, tensor_to_image
from pix2pix_hub.inference.sequence import generate_sequence
from pix2pix_hub.pose import read_openpose_json, render_pose

generator = Pix2PixGenerator.from_pretrained("path/to/this/folder").eval()
poses = [render_pose(read_openpose_json(path), (SIZE, SIZE)) for path in sorted(keypoint_files)]
with torch.no_grad():
    frames = generate_sequence(generator, torch.stack([image_to_tensor(pose) for pose in poses]))
video = [tensor_to_image(frame) for frame in frames]
```

(`SIZE` is the training size in training.json; fit another person's poses to this subject first with
`pix2pix_hub.pose.normalise_poses`.)

"""


def with_video_usage(card: str) -> str:
    """The card with the pipeline's single-image usage replaced by frame-by-frame generation."""
    start, end = card.find("## How to use"), card.find("## Training")
    return card[:start] + VIDEO_USAGE + card[end:] if 0 <= start < end else card


def card_description(recipe: dict) -> str:
    """What the card says about the method: the generator's input and which discriminators trained it."""
    temporal = (
        f"a temporal discriminator on consecutive pairs (lambda_temporal {recipe['lambda_temporal']})"
        if recipe["lambda_temporal"] > 0
        else "no temporal discriminator (the ablation: --lambda_temporal 0)"
    )
    l1 = f", L1 on the frames (lambda_l1 {recipe['lambda_l1']})" if recipe["lambda_l1"] else ""
    return (
        f"Trained as [Everybody Dance Now]({PAPER_URL}) (Chan et al., ICCV 2019; reference: {REFERENCE_REPO_URL}): "
        "pix2pixHD's global generator fed two inputs, the pose stick figure and the previously generated "
        f"frame (zeros for the first), concatenated, {recipe['num_D']} frame discriminators and {temporal}; LSGAN with "
        f"feature matching (lambda_feat {recipe['lambda_feat']}){l1}; no face GAN, no VGG term. Generate a video with "
        "`pix2pix_hub.inference.sequence.generate_sequence`, frame by frame."
    )
