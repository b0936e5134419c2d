#!/usr/bin/env bash
# sat2map (aerial photo -> map, A->B): the CPU recipe behind weights/sat2map.
# Needs the pix2pix maps data in DATA (default ../shared/data/maps). About 75 minutes on a 2-core CPU.
# At 256x256, the paper's resolution (at 128x128 the streets are a pixel wide and the model never found them),
# with unet_256 and ngf = ndf = 16, trained in three stages of one run, each resumed from the last checkpoint:
#   1. 10 epochs (5 constant, 5 decaying), the paper's objective;
#   2. the schedule stretched to 20 epochs (10 decaying after a restart at the initial learning rate);
#   3. 3 more epochs, decaying from the initial rate, with lambda_L1 = 400 instead of 100.
# Served in "eval" mode (running batch-norm statistics, no dropout). See recipes/README.md for what each bought.
# --lr_policy linear_per_step: the schedule these weights were trained with (the trainer decayed per step then;
# its default is now the reference's per-epoch rule).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/maps}
RUN=runs/sat2map

train() {
  accelerate launch --num_processes 1 train_accelerate.py --dataset "$DATA" --direction AtoB --arch unet_256 \
    --ngf 16 --ndf 16 --lr_policy linear_per_step --checkpoints_total_limit 1 --output_dir "$RUN" "$@"
}

train --epochs 5 --decay_epochs 5 --eval_steps 10960 --checkpointing_steps 2192
train --epochs 10 --decay_epochs 10 --eval_steps 21920 --checkpointing_steps 2192 --resume_from_checkpoint latest
train --epochs 20 --decay_epochs 3 --lambda_l1 400 --eval_steps 25208 --checkpointing_steps 3288 \
  --resume_from_checkpoint latest
python recipes/ship.py sat2map --data "$DATA" --inference_mode eval
