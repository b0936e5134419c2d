#!/usr/bin/env bash
# edges2shoes (edge map -> shoe photo): the CPU recipe behind weights/edges2shoes. The shared data holds the photo on
# the LEFT and the edges on the RIGHT (the reverse of pix2pix's release), so edges -> photo is B->A. Needs DATA
# (default ../shared/data/edges2shoes: 800 train and 160 val pairs). About 9 minutes on one free CPU core.
# The paper's 256x256 and unet_256 with ngf = ndf = 16 and 5 epochs (3 + 2), 4,000 steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/edges2shoes}
export OMP_NUM_THREADS=1
accelerate launch --num_processes 1 train_accelerate.py --dataset "$DATA" --direction BtoA --arch unet_256 \
  --ngf 16 --ndf 16 --epochs 3 --decay_epochs 2 --eval_steps 100000 --checkpointing_steps 1000 \
  --checkpoints_total_limit 1 --output_dir runs/edges2shoes
python recipes/ship.py edges2shoes --data "$DATA"
