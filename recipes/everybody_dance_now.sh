#!/usr/bin/env bash
# Everybody Dance Now on edn_pose (pose stick figure -> the subject): the CPU recipe behind weights/edn_subject,
# and the same run without the temporal discriminator, to measure what it does to flicker.
# Needs DATA (default ../shared/data/edn_pose: train/ = the first 900 frames, test/ = the last 100, AB files with
# the frame left and the skeleton right, named in time order). Each run: 1798 steps (two epochs of consecutive
# pairs, the second decaying to zero), 8 minutes on one CPU core of a quiet 2-core machine, 25 when it is shared.
# The reference's recipe (pix2pixHD global G with 6 input channels: pose + previous frame; 2 x 3-layer
# multi-scale D on (pose, frame); temporal D on (pose_t, pose_t+1, frame_t, frame_t+1); LSGAN, feature matching 10,
# Adam 2e-4 / 0.5, batch 1, no flips) with what a CPU allows: 128x128 instead of 512x1024, ngf = ndf = 16 with 3
# downsamplings and 3 residual blocks instead of 64 / 4 / 9, 1 + 1 epochs instead of 100 + 100,
# and the reference's --use_l1 (lambda 10) in place of the VGG term, whose ImageNet weights no package here ships.
# No face GAN (no face crops in the data). One thread: two would stall each other on a shared 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/edn_pose}

for run in edn_subject:1 edn_subject_no_temporal:0; do
  OMP_NUM_THREADS=1 python train_accelerate.py --method everybody_dance_now --dataset "$DATA" --eval_split test \
    --ngf 16 --ndf 16 --n_downsample_global 3 --n_blocks_global 3 \
    --preprocess resize_and_crop --load_size 128 --crop_size 128 --lambda_l1 10 --lambda_temporal "${run#*:}" \
    --epochs 1 --decay_epochs 1 --eval_steps 0 --checkpointing_steps 600 --report_to none --logging_steps 50 \
    --seed 0 --output_dir "runs/${run%%:*}" --resume_from_checkpoint latest
done
OMP_NUM_THREADS=1 python -m recipes.ship_everybody_dance_now --data "$DATA"
