#!/usr/bin/env bash
# The paper's Table 2 in spirit (CycleGAN, Zhu et al. 2017): facades labels -> photo learnt from UNPAIRED data
# (CycleGAN, the two halves of the training pairs read unaligned) against PAIRED data (pix2pix), with the same
# generator (resnet_6blocks, ngf = ndf = 32), the same 128x128 crops (resize 143) and about the same CPU time on
# one core (CycleGAN: 2 epochs, 800 steps of six generator passes each; pix2pix: 12 epochs, 4800 steps), each method's
# own objective and defaults otherwise. Scored by the facades FCN-score judge on the 106 test pairs.
# Needs ../shared/data/facades and weights/judges/facades. About 50 minutes on one free core.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/facades}
export OMP_NUM_THREADS=1
COMMON=(--dataset "$DATA" --direction BtoA --arch resnet_6blocks --ngf 32 --ndf 32 --load_size 143 --crop_size 128
  --eval_steps 0 --report_to none)

python train_accelerate.py --method cyclegan "${COMMON[@]}" --epochs 1 --decay_epochs 1 --checkpointing_steps 400 \
  --output_dir runs/facades_cyclegan
python train_accelerate.py --method pix2pix "${COMMON[@]}" --epochs 6 --decay_epochs 6 --checkpointing_steps 1200 \
  --output_dir runs/facades_pix2pix
JUDGE=(--dataset "$DATA" --direction BtoA --split test --load_size 128 --crop_size 128 --judge weights/judges/facades)
python -m pix2pix_hub.evaluate --model runs/facades_cyclegan/AtoB "${JUDGE[@]}" --output_dir runs/facades_cyclegan/judged
python -m pix2pix_hub.evaluate --model runs/facades_pix2pix "${JUDGE[@]}" --output_dir runs/facades_pix2pix/judged
