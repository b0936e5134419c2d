#!/usr/bin/env bash
# Does bf16 train as well as float32? The same short facades recipe (labels -> photo, unet_256, ngf = ndf = 32,
# 3 + 2 epochs = 2,000 steps, seed 0) in float32 and under bf16 autocast, then both scored side by side on the 106
# test pairs by the facades judge, the realism score, L1/PSNR/SSIM, with a grid (docs/bf16_vs_float32_facades.*).
# Needs ../shared/data/facades and weights/judges/facades; on a CPU without native bf16 (no avx512_bf16 / amx_bf16
# in lscpu's flags) the bf16 run is much slower than the float32 one (the trainer says so).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/facades}
COMMON=(--dataset "$DATA" --direction BtoA --arch unet_256 --ngf 32 --ndf 32 --epochs 3 --decay_epochs 2 --seed 0
  --eval_steps 0 --checkpointing_steps 1000 --checkpoints_total_limit 1 --report_to none)

for precision in float32 bf16; do
  flag=$([ "$precision" = float32 ] && echo no || echo bf16)
  accelerate launch --num_processes 1 --num_machines 1 --dynamo_backend no train_accelerate.py "${COMMON[@]}" \
    --mixed_precision "$flag" --output_dir "runs/facades_$precision"
done
python recipes/compare_runs.py --data "$DATA" --direction BtoA --split test --judge weights/judges/facades \
  --run "float32=runs/facades_float32" --run "bf16=runs/facades_bf16" --out docs/bf16_vs_float32_facades
