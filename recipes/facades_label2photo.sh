#!/usr/bin/env bash
# facades_label2photo (label map -> photo, B->A): the CPU recipe behind weights/facades_label2photo.
# Needs the pix2pix facades data in DATA (default ../shared/data/facades) and the judge in weights/judges/facades
# (recipes/judges.sh). About an hour on a quiet 2-core CPU with native bf16 (--mixed_precision auto); see
# recipes/README.md. The paper's 256x256 (resize 286, random 256 crop, flips), unet_256 and batch 1, with
# ngf = ndf = 32, 10 + 10 epochs, and the resize-then-convolve decoder (--upsample bilinear, BicycleGAN's code's
# option, not the paper's: at equal steps it removed the transposed convolutions' mesh and scored better,
# docs/upsample_comparison_facades.md). Resumes from its last checkpoint when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}  # accelerate launch sets 1 when unset: one core idle
DATA=${DATA:-../shared/data/facades}

accelerate launch --num_processes 1 --num_machines 1 --dynamo_backend no train_accelerate.py --dataset "$DATA" \
  --direction BtoA --arch unet_256 --ngf 32 --ndf 32 --upsample bilinear --epochs 10 --decay_epochs 10 \
  --eval_steps 0 --checkpointing_steps 1000 --checkpoints_total_limit 1 --report_to none \
  --output_dir runs/facades_label2photo --resume_from_checkpoint latest
python recipes/ship.py facades_label2photo --data "$DATA"
