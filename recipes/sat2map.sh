#!/usr/bin/env bash
# sat2map (aerial photo -> map, A->B): the CPU recipe behind weights/sat2map.
# Needs the pix2pix maps data in DATA (default ../shared/data/maps). About 50 minutes on a busy 2-core CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/maps}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # on a shared CPU, one thread per process wastes least time spinning

accelerate launch --num_processes 1 train_accelerate.py --dataset "$DATA" --direction AtoB \
  --arch unet_128 --ngf 16 --ndf 16 --load_size 143 --crop_size 128 --epochs 4 --decay_epochs 4 \
  --eval_steps 4384 --checkpointing_steps 1096 --checkpoints_total_limit 1 --output_dir runs/sat2map
python recipes/ship.py sat2map --data "$DATA"
