#!/usr/bin/env bash
# The judges behind the FCN-score (facades, Cityscapes), the maps structure score and the apple2orange domain score,
# trained on the training splits only, then stored in float16 with their bounds re-scored (recipes/float16_judges.py).
# Needs the pix2pix data in ../shared/data (or DATA=... / FACADES=... MAPS=...). About 10 minutes each on one free CPU core.
# One judge per task is shipped. SECOND_JUDGES=1 also trains the second judges (another seed and width) that
# earlier results in the README were checked with: weights/judges/{facades,cityscapes,apple2orange}_seed1, not shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
FACADES=${FACADES:-$DATA/facades}
MAPS=${MAPS:-$DATA/maps}
CITYSCAPES=${CITYSCAPES:-$DATA/cityscapes}
A2O=${A2O:-$DATA/apple2orange}

python -m pix2pix_hub.judges train facades --data "$FACADES" --eval_split test --out weights/judges/facades \
  --steps 1200 --batch_size 8 --threads 1
python -m pix2pix_hub.judges train maps --data "$MAPS" --eval_split val --out weights/judges/maps \
  --steps 800 --batch_size 8 --threads 1
# Cityscapes: 19 evaluated classes, void ignored
python -m pix2pix_hub.judges train cityscapes --data "$CITYSCAPES" --eval_split val --out weights/judges/cityscapes \
  --steps 1500 --batch_size 8 --threads 1 --seed 0
# apple vs orange, for CycleGAN's apple2orange
seeds=0; [ "${SECOND_JUDGES:-0}" = 1 ] && seeds="0 1"
for seed in $seeds; do
  out=weights/judges/apple2orange; [ "$seed" = 1 ] && out=weights/judges/apple2orange_seed1
  rm -rf "$out"  # save_pretrained keeps an old card
  python -m pix2pix_hub.evaluation.domain_judge train --domain_a "$A2O/trainA" --domain_b "$A2O/trainB" \
    --test_a "$A2O/testA" --test_b "$A2O/testB" --out "$out" --seed "$seed" --steps 600 --name "apple (A) vs orange (B)"
done
if [ "${SECOND_JUDGES:-0}" = 1 ]; then  # a judge is one network's opinion: a twin of another seed and width
  python -m pix2pix_hub.judges train cityscapes --data "$CITYSCAPES" --eval_split val \
    --out weights/judges/cityscapes_seed1 --steps 800 --batch_size 8 --threads 1 --seed 1 --width 24
  python -m pix2pix_hub.judges train facades --data "$FACADES" --eval_split test --out weights/judges/facades_seed1 \
    --steps 800 --batch_size 8 --threads 1 --seed 1 --width 24
fi
python -m recipes.float16_judges --data "$DATA"
