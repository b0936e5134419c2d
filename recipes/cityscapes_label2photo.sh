#!/usr/bin/env bash
# cityscapes_label2photo (label colours -> street photo, B->A): the CPU recipe behind weights/cityscapes_label2photo
# since 2026-12-07 (the earlier ngf-16, 5-epoch model came from recipes/cityscapes.sh, now in git history).
# Needs the pix2pix cityscapes data in DATA (default ../shared/data/cityscapes) and the judge in
# weights/judges/cityscapes (recipes/judges.sh).
# The paper's unet_256 at 256x256 with batch norm, but as recipes/cityscapes_photo2label.sh trains its twin: batch 4
# and served in "eval" mode (running statistics, not each image's own: the per-image normalisation that grew
# photo2label's patch and lets a whole scene drift to one cast), ngf = ndf = 24 (the served-size budget), bf16 where
# the CPU has it, and the resize-then-convolve decoder (--upsample bilinear; not the paper's, see
# docs/upsample_comparison_facades.md). Resumes from its last checkpoint when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}  # accelerate launch sets 1 when unset: one core idle
DATA=${DATA:-../shared/data/cityscapes}
EPOCHS=${EPOCHS:-12}

accelerate launch --num_processes 1 --num_machines 1 --dynamo_backend no train_accelerate.py --dataset "$DATA" \
  --direction BtoA --arch unet_256 --ngf 24 --ndf 24 --upsample bilinear --train_batch_size 4 \
  --epochs "$EPOCHS" --decay_epochs "$EPOCHS" --inference_mode eval \
  --eval_steps 0 --checkpointing_steps 250 --checkpoints_total_limit 1 --report_to none \
  --output_dir runs/cityscapes_label2photo --resume_from_checkpoint latest
python recipes/ship.py cityscapes_label2photo --data "$DATA" --inference_mode eval
