#!/usr/bin/env bash
# The checkerboard at equal budget: the paper's decoder (stride-2 transposed convolutions, "basic") against
# BicycleGAN's code's resize-then-convolve decoder (--upsample bilinear, not the paper's), on the same short facades
# recipe (labels -> photo, unet_256, ngf = ndf = 32, 3 + 2 epochs = 2,000 steps, seed 0, the precision --mixed_precision
# auto picks), scored side by side on the 106 test pairs by the facades judge, the realism score and the mesh ratio,
# with a grid (docs/upsample_comparison_facades.*). Needs ../shared/data/facades and weights/judges/facades.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/facades}
COMMON=(--dataset "$DATA" --direction BtoA --arch unet_256 --ngf 32 --ndf 32 --epochs 3 --decay_epochs 2
  --eval_steps 0 --checkpointing_steps 1000 --checkpoints_total_limit 1 --report_to none --seed 0)

for upsample in basic bilinear; do
  accelerate launch --num_processes 1 --num_machines 1 --dynamo_backend no train_accelerate.py "${COMMON[@]}" \
    --upsample "$upsample" --output_dir "runs/facades_upsample_$upsample"
done
python recipes/compare_runs.py --data "$DATA" --direction BtoA --split test --judge weights/judges/facades \
  --run "transposed convolutions (basic, the paper's)=runs/facades_upsample_basic" \
  --run "resize + 3x3 convolution (bilinear)=runs/facades_upsample_bilinear" --out docs/upsample_comparison_facades
python -m recipes.mesh_crops --data "$DATA" --split test --direction BtoA --index 0 \
  --model "transposed conv (paper)=runs/facades_upsample_basic" --model "resize + conv=runs/facades_upsample_bilinear" \
  --model "bundled (before)=weights/facades_label2photo" --out docs/upsample_comparison_facades_crops.png
