"""BicycleGAN (Zhu, Zhang, Pathak, Darrell, Efros, Wang, Shechtman, NeurIPS 2017): many outputs for one input.

Read against the paper (Sec. 3) and the reference's `models/bicycle_gan_model.py` (junyanz/BicycleGAN @ 40b9d52).
G(A, z) takes a latent code z beside the source; an encoder E maps a target image to z's posterior. Each batch is
split in two halves, both generated from the first half's sources A1:
- cVAE-GAN (Sec. 3.2): z = E(B1) by the reparameterisation trick; G(A1, z) must rebuild B1 (L1) and fool D, and
  E's posterior is pulled to N(0, 1) (KL, summed);
- cLR-GAN (Sec. 3.3): z ~ N(0, 1); G(A1, z) must fool D2 (against the second half's real B2), and E must find z
  again from it (L1 on E's mean, with E frozen so that this term trains G alone).
One step updates G and E together, then D, then D2, with four Adams; D's loss is not halved.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .base import Recipe, TrainingState, option, upsample_option
from .paired import PairedTranslation, paired_card

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from torch import nn

    from ..evaluation.evaluate import Evaluation
    from ..losses import GANLoss
    from .paired import PairedData

PAPER_URL = "https://arxiv.org/abs/1711.11586"
REFERENCE_REPO_URL = "https://github.com/junyanz/BicycleGAN"
ENCODER_SUBFOLDER = "encoder"  # the Hub folder holds G at its top (as every pix2pix-hub model) and E here


@dataclass(frozen=True)
class BicycleGANRecipe(Recipe):
    """BicycleGAN as the reference trains it: U-Net G with z at every level, ResNet E, two 2-scale PatchGANs, LSGAN,
    batch 2 (one cVAE-GAN and one cLR-GAN sample), Adam(2e-4, 0.5), xavier init, 100 + 100 epochs."""

    batch_size: int = option(
        2,
        "images per step: an even number, half cVAE-GAN, half cLR-GAN",
        flag="--train_batch_size",
        aliases=["--batch_size"],
    )
    epochs: int = option(100, "epochs at the initial learning rate", aliases=["--n_epochs", "--niter"])
    decay_epochs: int = option(100, "then epochs of linear decay", aliases=["--n_epochs_decay", "--niter_decay"])
    init_type: str = option("xavier", "weight init", choices=("normal", "xavier", "kaiming", "orthogonal"))

    generator_arch: str = option(
        "unet_256",
        "G: the U-Net for 256 or 128 px",
        "networks",
        flag="--netG",
        aliases=["--arch"],
        choices=("unet_128", "unet_256"),
    )
    nz: int = option(8, "length of the latent code z", "networks")
    where_add: str = option(
        "all", "where G takes z: at every down block, or at the input", "networks", choices=("all", "input")
    )
    ngf: int = option(64, "generator width", "networks")
    upsample: str = upsample_option()
    nl: str = option("relu", "G's decoder activation", "networks", choices=("relu", "lrelu", "elu"))
    use_dropout: bool = option(False, "dropout 0.5 in G's inner decoder levels", "networks")
    encoder_arch: str = option(
        "resnet_256", "E", "networks", flag="--netE", choices=("resnet_256", "resnet_128", "conv_256", "conv_128")
    )
    nef: int = option(64, "encoder width", "networks")
    discriminator_arch: str = option(
        "basic_256_multi",
        "D (judges the cVAE-GAN half)",
        "networks",
        flag="--netD",
        choices=("basic_256_multi", "basic_128_multi"),
    )
    discriminator2_arch: str = option(
        "basic_256_multi",
        "D2 (judges the cLR-GAN half)",
        "networks",
        flag="--netD2",
        choices=("basic_256_multi", "basic_128_multi"),
    )
    ndf: int = option(64, "discriminator width", "networks")
    num_scales: int = option(2, "scales of each D", "networks", flag="--num_Ds")
    norm: str = option("instance", "normalisation in G, E and D", "networks", choices=("batch", "instance", "none"))
    conditional_discriminator: bool = option(False, "D sees the source stacked with the image", flag="--conditional_D")
    use_same_D: bool = option(False, "one D judges both halves (no D2)")
    gan_mode: str = option("lsgan", "adversarial loss", choices=("vanilla", "lsgan"))
    lambda_l1: float = option(10.0, "weight of |B - G(A, E(B))|", flag="--lambda_L1")
    lambda_gan: float = option(1.0, "weight of D's verdict on G(A, E(B))", flag="--lambda_GAN")
    lambda_gan2: float = option(1.0, "weight of D2's verdict on G(A, z)", flag="--lambda_GAN2")
    lambda_z: float = option(0.5, "weight of |E(G(A, z)) - z|")
    lambda_kl: float = option(0.01, "weight of the KL term")


PAPER = BicycleGANRecipe()


def gan_terms(gan: GANLoss, verdicts, target_is_real: bool) -> torch.Tensor:
    """The reference's GANLoss over D's scales: the sum of each scale's loss. (With one scale its D returns a map,
    not a list, and the same loop runs over the map's samples: the sum of per-sample losses, kept for exactness.)"""
    return sum(gan(verdict, target_is_real) for verdict in verdicts)


class BicycleGAN(PairedTranslation):
    """`--method bicyclegan`: the reference's `BiCycleGANModel.optimize_parameters`, step for step."""

    name = "bicyclegan"
    paper_url = PAPER_URL
    Recipe = BicycleGANRecipe
    description = "BicycleGAN (Zhu et al., NeurIPS 2017): many plausible outputs for one input, with a latent code"

    def validate(self, args: argparse.Namespace) -> None:
        super().validate(args)
        if args.batch_size < 2 or args.batch_size % 2:
            raise ValueError(f"--batch_size must be even (half cVAE-GAN, half cLR-GAN), got {args.batch_size}")

    def build_networks(
        self, recipe: BicycleGANRecipe, channels: tuple[int, int], args: argparse.Namespace
    ) -> TrainingState:
        """G, D, D2 (unless --use_same_D) and E, each with its Adam."""
        from ..networks import LatentEncoder, Pix2PixGenerator, create_discriminator
        from .gan import adam, initialise

        source, target = channels
        generator = Pix2PixGenerator(
            f"bicycle_{recipe.generator_arch}",
            source,
            target,
            recipe.ngf,
            recipe.norm,
            recipe.use_dropout,
            "eval",
            {"nz": recipe.nz, "where_add": recipe.where_add, "upsample": recipe.upsample, "nl": recipe.nl},
        )
        judged = source + target if recipe.conditional_discriminator else target
        arches = [recipe.discriminator_arch] + ([] if recipe.use_same_D else [recipe.discriminator2_arch])
        discriminators = [
            create_discriminator(arch, in_channels=judged, ndf=recipe.ndf, norm=recipe.norm, num_D=recipe.num_scales)
            for arch in arches
        ]
        encoder = LatentEncoder(recipe.encoder_arch, target, recipe.nz, recipe.nef, recipe.norm)
        initialise(recipe, generator, *discriminators, encoder)
        modules = {"generator": generator, "encoder": encoder, "discriminator": discriminators[0]}
        if not recipe.use_same_D:
            modules["discriminator2"] = discriminators[1]
        fused = not args.no_fused_adam
        return TrainingState(
            modules, {name: adam(module.parameters(), recipe, fused) for name, module in modules.items()}
        )

    def training_step(
        self, accelerator: Accelerator, state: TrainingState, batch: dict, recipe: BicycleGANRecipe
    ) -> dict[str, torch.Tensor]:
        """The two halves generated from A1, then G and E, then D and D2 (`BiCycleGANModel.optimize_parameters`).

        A batch may carry its noise draws ("eps", "z_random": (half, nz) each; a parity test feeds the reference's);
        otherwise they are drawn from torch's global generator, as the reference draws them.
        """
        half = len(batch["source"]) // 2
        if half == 0:  # the reference skips a batch too small to split
            return {}
        images = self.halves(batch, half, recipe)
        losses = self.update_generator_and_encoder(accelerator, state, recipe, images)
        losses |= self.update_discriminators(accelerator, state, recipe, images)
        return {name: loss.detach() for name, loss in losses.items()}

    @staticmethod
    def halves(batch: dict, half: int, recipe: BicycleGANRecipe) -> dict:
        """The cVAE-GAN half (A1, B1), the cLR-GAN half (A2, B2), and the reparameterisation noise (drawn first, as
        the reference's `encode` draws it before z_random)."""
        import torch

        source, target = batch["source"], batch["target"]
        eps = batch["eps"] if "eps" in batch else torch.randn(half, recipe.nz)
        return {
            "A1": source[:half],
            "B1": target[:half],
            "A2": source[half : 2 * half],
            "B2": target[half : 2 * half],
            "eps": eps.to(source.device),
            "z_random_given": batch.get("z_random"),
        }

    def update_generator_and_encoder(
        self, accelerator: Accelerator, state: TrainingState, recipe: BicycleGANRecipe, images: dict
    ) -> dict[str, torch.Tensor]:
        """G and E through the frozen Ds: adversarial, L1 and KL terms; then |E(G(A1, z)) - z| into G alone."""
        import torch
        import torch.nn.functional as F

        from ..losses import GANLoss
        from .gan import frozen

        nets, gan = state.modules, GANLoss(recipe.gan_mode)
        generator, encoder = nets["generator"], nets["encoder"]
        a1, b1 = images["A1"], images["B1"]
        mu, logvar = encoder(b1)
        z_encoded = images["eps"] * torch.exp(logvar * 0.5) + mu
        given = images.pop("z_random_given")
        z_random = (given if given is not None else torch.randn(len(a1), recipe.nz)).to(a1.device)
        fake_encoded, fake_random = generator(a1, z_encoded), generator(a1, z_random)
        images |= {"fake_B_encoded": fake_encoded, "fake_B_random": fake_random, "z_encoded": z_encoded}
        images |= {"mu": mu, "logvar": logvar, "z_random": z_random}
        judge = frozen(accelerator, nets["discriminator"])
        judge2 = judge if recipe.use_same_D else frozen(accelerator, nets["discriminator2"])
        fake_data, _ = self.judged(recipe, images, "encoded")
        fake_data2, _ = self.judged(recipe, images, "random")
        zero = a1.new_zeros(())
        losses = {
            "G_GAN": gan_terms(gan, judge(fake_data), True) * recipe.lambda_gan if recipe.lambda_gan > 0 else zero,
            "G_GAN2": gan_terms(gan, judge2(fake_data2), True) * recipe.lambda_gan2 if recipe.lambda_gan2 > 0 else zero,
            "kl": torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) * (-0.5 * recipe.lambda_kl),
            "G_L1": F.l1_loss(fake_encoded, b1) * recipe.lambda_l1,
        }
        losses["G"] = losses["G_GAN"] + losses["G_GAN2"] + losses["G_L1"] + losses["kl"]
        accelerator.backward(losses["G"], retain_graph=recipe.lambda_z > 0)
        losses["z_L1"] = zero
        if recipe.lambda_z > 0:
            mu2, _ = encoder(fake_random)
            images["mu2"] = mu2
            encoder.requires_grad_(False)  # the latent regression trains G only
            losses["z_L1"] = F.l1_loss(mu2, z_random) * recipe.lambda_z
            accelerator.backward(losses["z_L1"])
            encoder.requires_grad_(True)
        for name in ("encoder", "generator"):
            state.optimizers[name].step()
            state.optimizers[name].zero_grad(set_to_none=True)
        return losses

    def update_discriminators(
        self, accelerator: Accelerator, state: TrainingState, recipe: BicycleGANRecipe, images: dict
    ) -> dict[str, torch.Tensor]:
        """D on the cVAE-GAN half, then D2 on the cLR-GAN half (fake first; the two terms summed, not halved)."""
        from ..losses import GANLoss

        nets, gan, losses = state.modules, GANLoss(recipe.gan_mode), {}
        for name in ("discriminator", "discriminator2"):
            if name in nets:
                nets[name].requires_grad_(True)
        halves = [("discriminator", "encoded", "D", recipe.lambda_gan)]
        halves.append(("discriminator" if recipe.use_same_D else "discriminator2", "random", "D2", recipe.lambda_gan2))
        for name, half, key, weight in halves:
            if weight <= 0:
                continue
            fake, real = self.judged(recipe, images, half)
            verdict_fake = nets[name](fake.detach())
            verdict_real = nets[name](real)
            losses[key] = gan_terms(gan, verdict_fake, False) + gan_terms(gan, verdict_real, True)
            accelerator.backward(losses[key])
            if not (recipe.use_same_D and key == "D"):  # one D judging both halves steps once, after both
                state.optimizers[name].step()
                state.optimizers[name].zero_grad(set_to_none=True)
        return losses

    @staticmethod
    def judged(recipe: BicycleGANRecipe, images: dict, half: str) -> tuple[torch.Tensor, torch.Tensor]:
        """What D sees of a half: (fake, real), each stacked behind its source with --conditional_D. The random
        half's fake is made from A1, its real is (A2, B2)."""
        import torch

        fake = images[f"fake_B_{half}"]
        real_source, real = (images["A1"], images["B1"]) if half == "encoded" else (images["A2"], images["B2"])
        if not recipe.conditional_discriminator:
            return fake, real
        return torch.cat([images["A1"], fake], 1), torch.cat([real_source, real], 1)

    def exports(self, accelerator: Accelerator, state: TrainingState) -> dict[str, nn.Module]:
        from .paired import plain_copy

        return {
            "": plain_copy(state.modules["generator"], accelerator),
            ENCODER_SUBFOLDER: plain_copy(state.modules["encoder"], accelerator),
        }

    def evaluate(
        self, exported: dict[str, nn.Module], data: PairedData, args: argparse.Namespace, device: torch.device
    ) -> Evaluation:
        """Random samples scored as any generator's outputs, plus the encoded outputs' L1/SSIM and the variety."""
        from ..evaluation.evaluate import evaluate
        from ..evaluation.multimodal import encoded_scores, sample_diversity

        generator, encoder = exported[""], exported[ENCODER_SUBFOLDER]
        result = evaluate(generator, data.evaluation, args.eval_batch_size, device, 0, args.dataloader_num_workers)
        result.metrics |= encoded_scores(generator, encoder, data.evaluation, device)
        result.metrics |= sample_diversity(generator, data.evaluation, device, samples=4, limit=16)
        generator.cpu(), encoder.cpu()
        return result

    def save(self, exported: dict[str, nn.Module], output_dir: Path, result: Evaluation, args, record) -> None:
        """The Hub folder: G at the top (weights, config.json, the card), E in `encoder/`."""
        (output_dir / "README.md").unlink(missing_ok=True)
        card = paired_card(record, result, args)
        card["metrics"] |= {
            name: f"{value:.4f}" for name, value in result.metrics.items() if name.startswith(("encoded_", "diversity"))
        }
        exported[""].save_pretrained(output_dir, model_card_kwargs=card)
        exported[ENCODER_SUBFOLDER].save_pretrained(output_dir / ENCODER_SUBFOLDER)
