#!/usr/bin/env bash
# Everybody Dance Now on edn_pose (pose stick figure -> the subject): the CPU recipe behind weights/edn_subject,
# and the same run without the temporal discriminator, to measure what it does to flicker.
# Needs DATA (default ../shared/data/edn_pose: train/ = the first 900 frames, test/ = the last 100, AB files with
# the frame left and the skeleton right, named in time order). Each run: 3596 steps (four epochs of consecutive
# pairs, the last two decaying to zero), at the data's 256x256 (retrained 2026-12-08; the model before it was trained
# at 128x128 on one thread, in this file's history), bf16 where the CPU has it, all cores (one run owns them).
# The reference's recipe (pix2pixHD global G with 6 input channels: pose + previous frame; 2 x 3-layer
# multi-scale D on (pose, frame); temporal D on (pose_t, pose_t+1, frame_t, frame_t+1); LSGAN, feature matching 10,
# Adam 2e-4 / 0.5, batch 1, no flips) with what a CPU allows: 256x256 instead of 512x1024, ngf = ndf = 16 with 3
# downsamplings and 3 residual blocks instead of 64 / 4 / 9, 2 + 2 epochs instead of 100 + 100,
# and the reference's --use_l1 (lambda 10) in place of the VGG term, whose ImageNet weights no package here ships.
# No face GAN (no face crops in the data).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/edn_pose}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}

for run in edn_subject:1 edn_subject_no_temporal:0; do
  python train_accelerate.py --method everybody_dance_now --dataset "$DATA" --eval_split test \
    --ngf 16 --ndf 16 --n_downsample_global 3 --n_blocks_global 3 \
    --preprocess resize_and_crop --load_size 256 --crop_size 256 --lambda_l1 10 --lambda_temporal "${run#*:}" \
    --epochs 2 --decay_epochs 2 --eval_steps 0 --checkpointing_steps 600 --report_to none --logging_steps 50 \
    --seed 0 --output_dir "runs/${run%%:*}" --resume_from_checkpoint latest
done
python -m recipes.ship_everybody_dance_now --data "$DATA" --ship no_temporal  # it scored better here (README)
