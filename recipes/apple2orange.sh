#!/usr/bin/env bash
# apple2orange (CycleGAN, both directions): the CPU recipe behind weights/apple2orange.
# Needs the apple2orange data in DATA (default ../shared/data/apple2orange: trainA/ trainB/ testA/ testB/) and the
# domain judges in weights/judges/apple2orange and, not shipped, apple2orange_seed1 (SECOND_JUDGES=1 bash recipes/judges.sh). About 57 minutes on one CPU core.
# The reference's CycleGAN (LSGAN, cycle 10 + identity 0.5 x 10, pool of 50, Adam 2e-4 / 0.5, batch 1, flips) with
# what a CPU allows: resnet_6blocks (the reference's choice at 128x128) with ngf = ndf = 32 instead of resnet_9blocks
# at 64, resize 143 / random crop 128 instead of 286 / 256, and 4 epochs (2 + 2 decaying) instead of 100 + 100.
# (The bundled run was started with 3 + 3 and continued from its step-500 checkpoint with 2 + 2: both schedules hold
# the initial rate there and the data order of an epoch does not depend on the schedule, so it is this run.)
# One thread: on a shared 2-core machine two threads stall each other (benchmarks/RESULTS.md, start-up section).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/apple2orange}

OMP_NUM_THREADS=1 python train_accelerate.py --method cyclegan --dataset "$DATA" --eval_split test \
  --arch resnet_6blocks --ngf 32 --ndf 32 --load_size 143 --crop_size 128 --epochs 2 --decay_epochs 2 \
  --checkpointing_steps 500 --checkpoints_total_limit 2 --eval_steps 1000 --report_to none \
  --output_dir runs/apple2orange --resume_from_checkpoint latest
python -m recipes.ship_cyclegan apple2orange --data "$DATA"
