#!/usr/bin/env bash
# cityscapes_photo2label (street photo -> label colours, A->B): the CPU recipe behind weights/cityscapes_photo2label.
# Needs the pix2pix cityscapes data in DATA (default ../shared/data/cityscapes) and the judge in
# weights/judges/cityscapes (recipes/judges.sh). The paper's unet_256 at 256x256 with batch norm, but with batch 4 and
# served in "eval" mode (running statistics): at batch 1 batch norm normalises each image by itself, and the old
# model grew a fixed dark patch out of that (a per-image-normalisation "droplet", docs/photo2label_patch.md). With
# ngf = ndf = 32, bf16 where the CPU has it, and the resize-then-convolve decoder (--upsample bilinear; not the
# paper's, see docs/upsample_comparison_facades.md). Resumes from its last checkpoint when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}  # accelerate launch sets 1 when unset: one core idle
DATA=${DATA:-../shared/data/cityscapes}
EPOCHS=${EPOCHS:-4}

accelerate launch --num_processes 1 --num_machines 1 --dynamo_backend no train_accelerate.py --dataset "$DATA" \
  --direction AtoB --arch unet_256 --ngf 32 --ndf 32 --upsample bilinear --train_batch_size 4 \
  --epochs "$EPOCHS" --decay_epochs "$EPOCHS" --inference_mode eval \
  --eval_steps 0 --checkpointing_steps 250 --checkpoints_total_limit 1 --report_to none \
  --output_dir runs/cityscapes_photo2label --resume_from_checkpoint latest
python recipes/ship.py cityscapes_photo2label --data "$DATA" --inference_mode eval
