#!/usr/bin/env bash
# facades_label2photo (label map -> photo, B->A): the CPU recipe behind weights/facades_label2photo.
# Needs the pix2pix facades data in DATA (default ../shared/data/facades) and the judge in weights/judges/facades
# (recipes/judges.sh). About 45 minutes on a busy 2-core CPU; see recipes/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/facades}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # on a shared CPU, one thread per process wastes least time spinning

accelerate launch --num_processes 1 train_accelerate.py --dataset "$DATA" --direction BtoA \
  --arch unet_128 --ngf 16 --ndf 16 --load_size 143 --crop_size 128 --epochs 10 --decay_epochs 10 \
  --eval_steps 4000 --checkpointing_steps 1000 --checkpoints_total_limit 1 --output_dir runs/facades_label2photo
python recipes/ship.py facades_label2photo --data "$DATA"
