#!/usr/bin/env bash
# The paper's loss ablation (Table 1) on Cityscapes labels -> photo at the CPU budget: the same unet_256 (ngf = ndf =
# 16), the same 2,000 steps (1 epoch + 1 decaying), only the objective changes:
#   L1 only (--lambda_gan 0), cGAN only (--lambda_l1 0), L1+GAN (D sees the photo alone: --unconditional_discriminator)
#   and L1+cGAN (the paper's). Scored by two Cityscapes FCN-score judges (recipes/judges.sh) on the 400 val pairs.
# Writes docs/cityscapes_ablation.{json,md,jpg}. About 5 minutes per run on one free core.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d weights/judges/cityscapes_seed1 ] || { echo "the second Cityscapes judge is not shipped: train it with SECOND_JUDGES=1 bash recipes/judges.sh" >&2; exit 1; }
DATA=${DATA:-../shared/data/cityscapes}
export OMP_NUM_THREADS=1
COMMON=(--dataset "$DATA" --direction BtoA --arch unet_256 --ngf 16 --ndf 16 --epochs 1 --decay_epochs 1
  --eval_steps 100000 --checkpointing_steps 1000 --checkpoints_total_limit 1)
train() { accelerate launch --num_processes 1 train_accelerate.py "${COMMON[@]}" --output_dir "runs/cityscapes_ablation/$1" "${@:2}"; }
train l1 --lambda_gan 0
train cgan --lambda_l1 0
train l1_gan --unconditional_discriminator
train l1_cgan
python recipes/compare_runs.py --data "$DATA" --direction BtoA --split val \
  --judge weights/judges/cityscapes --judge weights/judges/cityscapes_seed1 \
  --run "L1=runs/cityscapes_ablation/l1" --run "cGAN=runs/cityscapes_ablation/cgan" \
  --run "L1+GAN=runs/cityscapes_ablation/l1_gan" --run "L1+cGAN=runs/cityscapes_ablation/l1_cgan" \
  --out docs/cityscapes_ablation
