#!/usr/bin/env bash
# edges2shoes (edge map -> shoe photo): the CPU recipe behind weights/edges2shoes (retrained 2026-12-07; the model
# before it, ngf = ndf = 16 for 5 epochs at batch 1, is in this file's history). The shared data holds the photo on
# the LEFT and the edges on the RIGHT (the reverse of pix2pix's release), so edges -> photo is B->A. Needs DATA
# (default ../shared/data/edges2shoes: 800 train and 160 val pairs).
# The paper's unet_256 at 256x256 with batch norm, but with batch 4 and served in "eval" mode (running statistics,
# not each image's own), ngf = ndf = 24 (the served-size budget), bf16 where the CPU has it, and the
# resize-then-convolve decoder (--upsample bilinear; not the paper's, see docs/upsample_comparison_facades.md):
# 18 epochs (9 + 9 decaying), 3,600 steps. Resumes from its last checkpoint when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}  # accelerate launch sets 1 when unset: one core idle
DATA=${DATA:-../shared/data/edges2shoes}
EPOCHS=${EPOCHS:-9}

accelerate launch --num_processes 1 --num_machines 1 --dynamo_backend no train_accelerate.py --dataset "$DATA" \
  --direction BtoA --arch unet_256 --ngf 24 --ndf 24 --upsample bilinear --train_batch_size 4 \
  --epochs "$EPOCHS" --decay_epochs "$EPOCHS" --inference_mode eval \
  --eval_steps 0 --checkpointing_steps 200 --checkpoints_total_limit 1 --report_to none \
  --output_dir runs/edges2shoes --resume_from_checkpoint latest
python recipes/ship.py edges2shoes --data "$DATA" --inference_mode eval
