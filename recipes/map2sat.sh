#!/usr/bin/env bash
# map2sat (map -> aerial photo, B->A): the CPU recipe behind weights/map2sat.
# Needs the pix2pix maps data in DATA (default ../shared/data/maps) and the judge in weights/judges/maps
# (recipes/judges.sh). About 17 minutes on a quiet 2-core CPU.
# The paper's 256x256 (resize 286, random 256 crop, flips) and unet_256, with ngf = ndf = 16 and 6 epochs.
# --lr_policy linear_per_step: the schedule these weights were trained with (the trainer decayed per step then;
# its default is now the reference's per-epoch rule).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/maps}

accelerate launch --num_processes 1 train_accelerate.py --dataset "$DATA" --direction BtoA \
  --lr_policy linear_per_step --arch unet_256 --ngf 16 --ndf 16 --epochs 3 --decay_epochs 3 \
  --eval_steps 6576 --checkpointing_steps 2192 --checkpoints_total_limit 1 --output_dir runs/map2sat
python recipes/ship.py map2sat --data "$DATA"
