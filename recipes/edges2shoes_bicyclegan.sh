#!/usr/bin/env bash
# edges2shoes_bicyclegan (edge map -> many shoe photos, B->A): the CPU recipe behind weights/edges2shoes_bicyclegan.
# Needs the edges2shoes data in DATA (default ../shared/data/edges2shoes: 800 training pairs, photo | edges).
# BicycleGAN's recipe for edges2shoes (its scripts/train_edges2shoes.sh: no flips, no random crop, dropout, z of 8,
# 30 + 30 epochs) at the CPU budget: SIZE px (the reference's netG/netE/netD for it), widths WIDTH instead of 64,
# EPOCHS + EPOCHS epochs instead of 30 + 30, bf16 where the CPU has it, and the resize-then-convolve decoder
# (--upsample bilinear, BicycleGAN's own option; no checkerboard). Resumes from its last checkpoint when run again;
# then ships (float16 G and encoder/) and measures variety against pix2pix (recipes/bicyclegan_diversity.py).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/edges2shoes}
SIZE=${SIZE:-256}
WIDTH=${WIDTH:-32}
EPOCHS=${EPOCHS:-7}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}  # accelerate launch sets 1 when unset: one core idle

accelerate launch --num_processes 1 --num_machines 1 --dynamo_backend no train_accelerate.py --method bicyclegan \
  --dataset "$DATA" --direction BtoA --netG "unet_$SIZE" --netE "resnet_$SIZE" --netD "basic_${SIZE}_multi" \
  --netD2 "basic_${SIZE}_multi" --load_size "$SIZE" --crop_size "$SIZE" --no_flip --use_dropout \
  --ngf "$WIDTH" --nef "$WIDTH" --ndf "$WIDTH" --upsample bilinear --epochs "$EPOCHS" --decay_epochs "$EPOCHS" \
  --eval_steps 0 --checkpointing_steps 500 --checkpoints_total_limit 1 --report_to none \
  --output_dir runs/edges2shoes_bicyclegan --resume_from_checkpoint latest
python recipes/ship.py edges2shoes_bicyclegan --data "$DATA"
python -m recipes.bicyclegan_diversity --data "$DATA"
