#!/usr/bin/env bash
# cityscapes_label2photo (label map -> photo, B->A) and cityscapes_photo2label (photo -> label map, A->B): the CPU
# recipes behind weights/cityscapes_*. Needs the pix2pix Cityscapes data in DATA (default ../shared/data/cityscapes:
# 1,000 train and 400 val pairs) and, for scoring, the judges of recipes/judges.sh. About 12 minutes each on one free
# CPU core (7.5 steps/s), one thread each so that both train side by side; see recipes/README.md for what was traded.
# The paper's 256x256 (resize 286, random 256 crop, flips) and unet_256, with ngf = ndf = 16 and 5 epochs (3 + 2).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/cityscapes}
export OMP_NUM_THREADS=1
COMMON=(--dataset "$DATA" --arch unet_256 --ngf 16 --ndf 16 --epochs 3 --decay_epochs 2
  --eval_steps 100000 --checkpointing_steps 1000 --checkpoints_total_limit 1)
accelerate launch --num_processes 1 train_accelerate.py "${COMMON[@]}" --direction BtoA \
  --output_dir runs/cityscapes_label2photo &
accelerate launch --num_processes 1 train_accelerate.py "${COMMON[@]}" --direction AtoB \
  --output_dir runs/cityscapes_photo2label &
wait
python recipes/ship.py cityscapes_label2photo --data "$DATA"
python recipes/ship.py cityscapes_photo2label --data "$DATA"
