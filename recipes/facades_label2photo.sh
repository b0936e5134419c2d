#!/usr/bin/env bash
# facades_label2photo (label map -> photo, B->A): the CPU recipe behind weights/facades_label2photo.
# Needs the pix2pix facades data in DATA (default ../shared/data/facades) and the judge in weights/judges/facades
# (recipes/judges.sh). About 20 minutes on a quiet 2-core CPU; see recipes/README.md.
# The paper's 256x256 (resize 286, random 256 crop, flips) and unet_256, with ngf = ndf = 16 and 20 epochs.
# --lr_policy linear_per_step: the schedule these weights were trained with (the trainer decayed per step then;
# its default is now the reference's per-epoch rule).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/facades}

accelerate launch --num_processes 1 train_accelerate.py --dataset "$DATA" --direction BtoA \
  --lr_policy linear_per_step --arch unet_256 --ngf 16 --ndf 16 --epochs 10 --decay_epochs 10 \
  --eval_steps 8000 --checkpointing_steps 2000 --checkpoints_total_limit 1 --output_dir runs/facades_label2photo
python recipes/ship.py facades_label2photo --data "$DATA"
