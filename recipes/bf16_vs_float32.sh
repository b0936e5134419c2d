#!/usr/bin/env bash
# Does bf16 train as well as float32? The same short facades recipe (labels -> photo, unet_256, ngf = ndf = 32,
# 3 + 2 epochs = 2,000 steps, seed 0) in float32 and under bf16 autocast, and float32 again with seed 1 (how far
# two float32 runs that differ only in their seed land apart: the yardstick for the bf16 difference), then all
# scored side by side on the 106 test pairs by the facades judge and the realism score, with a grid
# (docs/bf16_vs_float32_facades.*).
# Needs ../shared/data/facades and weights/judges/facades; on a CPU without native bf16 (no avx512_bf16 / amx_bf16
# in lscpu's flags) the bf16 run is much slower than the float32 one (the trainer says so).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/facades}
COMMON=(--dataset "$DATA" --direction BtoA --arch unet_256 --ngf 32 --ndf 32 --epochs 3 --decay_epochs 2
  --eval_steps 0 --checkpointing_steps 1000 --checkpoints_total_limit 1 --report_to none)

train() {  # OUTPUT_DIR PRECISION SEED
  accelerate launch --num_processes 1 --num_machines 1 --dynamo_backend no train_accelerate.py "${COMMON[@]}" \
    --output_dir "$1" --mixed_precision "$2" --seed "$3"
}
train runs/facades_float32 no 0
train runs/facades_bf16 bf16 0
train runs/facades_float32_seed1 no 1
python recipes/compare_runs.py --data "$DATA" --direction BtoA --split test --judge weights/judges/facades \
  --run "float32=runs/facades_float32" --run "bf16=runs/facades_bf16" \
  --run "float32, seed 1=runs/facades_float32_seed1" --out docs/bf16_vs_float32_facades
