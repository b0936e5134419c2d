"""What `train_accelerate.py` is made of: networks and optimizers from a recipe, the pix2pix step, checkpoints.

`training_step` is one update of D then G as in the paper (and the reference's `optimize_parameters`); the
benchmarks call it directly. Checkpoints are `OUTPUT_DIR/checkpoint-<step>/` folders of accelerate state, written
under a temporary name and renamed, so a run killed while saving never leaves a half-written "latest".
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from huggingface_hub import HfApi
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from .losses import GANLoss, gradient_penalty, l1_loss
from .networks import PatchDiscriminator, Pix2PixGenerator
from .recipe import PAPER, PaperRecipe

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")


def build_networks(
    recipe: PaperRecipe, channels: tuple[int, int], inference_mode: str
) -> tuple[Pix2PixGenerator, PatchDiscriminator]:
    """G and the PatchGAN D (which sees source and target stacked) for `channels` = (source, target)."""
    generator = Pix2PixGenerator(
        arch=recipe.generator_arch,
        in_channels=channels[0],
        out_channels=channels[1],
        ngf=recipe.ngf,
        norm=recipe.norm,
        use_dropout=recipe.use_dropout,
        inference_mode=inference_mode,
    )
    discriminator = PatchDiscriminator(
        in_channels=sum(channels), ndf=recipe.ndf, n_layers=recipe.n_layers_discriminator, norm=recipe.norm
    )
    return generator, discriminator


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(layer, nn.modules.batchnorm._BatchNorm) for layer in module.modules())


def sync_batch_norm(module: nn.Module, accelerator: Accelerator) -> nn.Module:
    """Batch statistics over all processes' batches (the paper's batch is global); CUDA only in PyTorch."""
    if accelerator.num_processes > 1 and accelerator.device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return module


def adam(model: nn.Module, recipe: PaperRecipe, fused: bool) -> torch.optim.Adam:
    """The paper's Adam; `fused` updates all parameters in one kernel (CPU and CUDA; ~14% faster CPU steps)."""
    return torch.optim.Adam(
        model.parameters(), lr=recipe.learning_rate, betas=(recipe.adam_beta1, recipe.adam_beta2), fused=fused or None
    )


def compile_networks(generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
    """`torch.compile` of G and D for fixed shapes: a new input size (a smaller last batch, another model of the
    same class in the process) compiles anew instead of switching to dynamic shapes, which inductor can fail on."""
    return torch.compile(generator, dynamic=False), torch.compile(discriminator, dynamic=False)


def linear_decay(optimizer: torch.optim.Optimizer, constant_steps: int, decay_steps: int) -> LambdaLR:
    """The paper's schedule: the initial rate for `constant_steps`, then linearly down to zero over `decay_steps`."""

    def factor(step: int) -> float:
        return 1.0 if step < constant_steps else max(0.0, 1.0 - (step - constant_steps) / max(decay_steps, 1))

    return LambdaLR(optimizer, factor)


@dataclass
class Networks:
    """The two networks and their optimizers, as `accelerator.prepare` returned them."""

    generator: nn.Module
    discriminator: nn.Module
    optimizer_g: torch.optim.Optimizer
    optimizer_d: torch.optim.Optimizer


@dataclass
class StepOptions:
    """The objective and the fast paths of one step (each exactly equivalent to the plain computation)."""

    gan_mode: str = PAPER.gan_mode
    lambda_l1: float = PAPER.lambda_l1
    lambda_gradient_penalty: float = PAPER.lambda_gradient_penalty
    stack_discriminator: bool = True
    channels_last: bool = False
    gan_loss: GANLoss = field(init=False)

    def __post_init__(self) -> None:
        self.gan_loss = GANLoss(self.gan_mode)


def training_step(
    accelerator: Accelerator, nets: Networks, batch: dict, options: StepOptions
) -> dict[str, torch.Tensor]:
    """One pix2pix update: D on real and generated pairs, then G to fool the updated D and match the target."""
    memory_format = torch.channels_last if options.channels_last else torch.contiguous_format
    source = batch["source"].to(memory_format=memory_format)
    target = batch["target"].to(memory_format=memory_format)
    with accelerator.accumulate(nets.generator, nets.discriminator):
        fake = nets.generator(source)

        nets.discriminator.requires_grad_(True)
        real_pair, fake_pair = torch.cat([source, target], 1), torch.cat([source, fake.detach()], 1)
        if options.stack_discriminator:  # exact only if D has no batch norm: stacking would mix the statistics
            logits_real, logits_fake = nets.discriminator(torch.cat([real_pair, fake_pair])).chunk(2)
        else:
            logits_real, logits_fake = nets.discriminator(real_pair), nets.discriminator(fake_pair)
        loss_d_real = options.gan_loss(logits_real, True)
        loss_d_fake = options.gan_loss(logits_fake, False)
        loss_d = 0.5 * (loss_d_real + loss_d_fake)
        if options.gan_mode == "wgangp":
            weight = options.lambda_gradient_penalty
            loss_d = loss_d + gradient_penalty(nets.discriminator, real_pair, fake_pair, weight)
        accelerator.backward(loss_d)
        nets.optimizer_d.step()
        nets.optimizer_d.zero_grad(set_to_none=True)

        # G's loss goes through D without D's gradients; the DDP wrapper would wait for gradients D never gets.
        nets.discriminator.requires_grad_(False)
        plain_discriminator = accelerator.unwrap_model(nets.discriminator)
        loss_g_gan = options.gan_loss(plain_discriminator(torch.cat([source, fake], 1)), True)
        loss_g_l1 = l1_loss(fake, target, options.lambda_l1)
        accelerator.backward(loss_g_gan + loss_g_l1)
        nets.optimizer_g.step()
        nets.optimizer_g.zero_grad(set_to_none=True)
    losses = {"G_GAN": loss_g_gan, "G_L1": loss_g_l1, "D_real": loss_d_real, "D_fake": loss_d_fake}
    return {name: loss.detach() for name, loss in losses.items()}


def plain_copy(generator: nn.Module, accelerator: Accelerator) -> Pix2PixGenerator:
    """A fresh `Pix2PixGenerator` (plain batch norm, float32, CPU) holding the trained weights: what gets saved."""
    trained = accelerator.unwrap_model(generator, keep_torch_compile=False)
    copy = Pix2PixGenerator(**trained._hub_mixin_config)  # the constructor arguments, as config.json holds them
    copy.load_state_dict({name: tensor.float().cpu() for name, tensor in trained.state_dict().items()})
    return copy


def checkpoint_step(path: Path) -> int:
    match = CHECKPOINT_PATTERN.match(Path(path).name)
    if match is None:
        raise ValueError(f"{path}: not a checkpoint-<step> folder")
    return int(match.group(1))


def list_checkpoints(output_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (temporary folders of an interrupted save do not match the pattern)."""
    if not Path(output_dir).is_dir():
        return []
    found = [path for path in Path(output_dir).iterdir() if path.is_dir() and CHECKPOINT_PATTERN.match(path.name)]
    return sorted(found, key=checkpoint_step)


def save_checkpoint(accelerator: Accelerator, output_dir: Path, step: int, total_limit: int | None) -> Path:
    """Save accelerate state (models, optimizers, schedules, RNG) to checkpoint-<step>, atomically."""
    final = Path(output_dir) / f"checkpoint-{step}"
    temporary = Path(output_dir) / f".checkpoint-{step}.incomplete"
    if accelerator.is_main_process and temporary.exists():
        shutil.rmtree(temporary)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(temporary))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if final.exists():
            shutil.rmtree(final)
        temporary.rename(final)
        if total_limit is not None:
            for old in list_checkpoints(output_dir)[:-total_limit]:
                shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def find_checkpoint(output_dir: Path, resume_from: str | None) -> Path | None:
    """`latest` (None when there is none yet, so the same command starts or resumes) or an explicit folder."""
    if resume_from is None:
        return None
    if resume_from == "latest":
        checkpoints = list_checkpoints(output_dir)
        return checkpoints[-1] if checkpoints else None
    path = Path(resume_from)
    if not path.is_dir():
        raise FileNotFoundError(f"--resume_from_checkpoint {resume_from}: no such folder")
    checkpoint_step(path)
    return path


def recipe_changes(recipe: PaperRecipe) -> dict[str, object]:
    """Settings that differ from the paper's, for the model card."""
    return {
        item.name: getattr(recipe, item.name)
        for item in dataclasses.fields(recipe)
        if getattr(recipe, item.name) != getattr(PAPER, item.name)
    }


def read_history(metrics_file: Path, up_to: int) -> list[dict]:
    """Earlier evaluations of a resumed run (those not after the checkpoint it resumes from)."""
    if not Path(metrics_file).is_file():
        return []
    history = json.loads(Path(metrics_file).read_text(encoding="utf-8")).get("history", [])
    return [entry for entry in history if entry["step"] <= up_to]


def record_batch(output_dir: Path, process_index: int, step: int, names: list[str]) -> None:
    """Append which pairs this process trained on at `step` (audits data sharding and resumption)."""
    path = Path(output_dir) / "logs" / f"batches-rank{process_index}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{step}\t" + "\t".join(names) + "\n")


def log_to_file(accelerator: Accelerator, path: Path) -> None:
    """Plain-text log of the main process next to the trackers' logs."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.INFO)
    if accelerator.is_main_process:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logging.getLogger().addHandler(handler)


def hardware(accelerator: Accelerator) -> str:
    """E.g. "8 x NVIDIA H100 80GB HBM3 (bf16)" or "2 x CPU (no)" for the model card."""
    device = torch.cuda.get_device_name(accelerator.device) if accelerator.device.type == "cuda" else "CPU"
    return f"{accelerator.num_processes} x {device} ({accelerator.mixed_precision} mixed precision)"


def upload_output_dir(output_dir: Path, repo_id: str, token: str | None) -> str:
    """Create the model repo if needed and upload OUTPUT_DIR without checkpoints; returns the repo id."""
    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, exist_ok=True).repo_id
    api.upload_folder(
        repo_id=repo_id,
        folder_path=str(output_dir),
        commit_message="pix2pix-hub: trained model",
        ignore_patterns=["checkpoint-*", ".checkpoint-*", "logs/batches-*"],
    )
    return repo_id
