#!/usr/bin/env bash
# The judges behind the FCN-score (facades) and the maps structure score, trained on the training splits only.
# Needs the pix2pix data in ../shared/data (or FACADES=... MAPS=...). About 10 minutes each on one free CPU core.
set -euo pipefail
cd "$(dirname "$0")/.."
FACADES=${FACADES:-../shared/data/facades}
MAPS=${MAPS:-../shared/data/maps}

python -m pix2pix_hub.judges train facades --data "$FACADES" --eval_split test --out weights/judges/facades \
  --steps 1200 --batch_size 8 --threads 1
python -m pix2pix_hub.judges train maps --data "$MAPS" --eval_split val --out weights/judges/maps \
  --steps 800 --batch_size 8 --threads 1
# Cityscapes (19 evaluated classes, void ignored), and a second facades judge: a judge is one network's opinion, so
# each has a twin of another seed and width, and only what both say is claimed.
CITYSCAPES=${CITYSCAPES:-../shared/data/cityscapes}
python -m pix2pix_hub.judges train cityscapes --data "$CITYSCAPES" --eval_split val --out weights/judges/cityscapes \
  --steps 1500 --batch_size 8 --threads 1 --seed 0
python -m pix2pix_hub.judges train cityscapes --data "$CITYSCAPES" --eval_split val \
  --out weights/judges/cityscapes_seed1 --steps 800 --batch_size 8 --threads 1 --seed 1 --width 24
python -m pix2pix_hub.judges train facades --data "$FACADES" --eval_split test --out weights/judges/facades_seed1 \
  --steps 800 --batch_size 8 --threads 1 --seed 1 --width 24
# apple vs orange, for CycleGAN's apple2orange: two seeds, so that only what both judges say is claimed
A2O=${A2O:-../shared/data/apple2orange}
for seed in 0 1; do
  out=weights/judges/apple2orange; [ "$seed" = 1 ] && out=weights/judges/apple2orange_seed1
  rm -rf "$out"  # save_pretrained keeps an old card
  python -m pix2pix_hub.evaluation.domain_judge train --domain_a "$A2O/trainA" --domain_b "$A2O/trainB" \
    --test_a "$A2O/testA" --test_b "$A2O/testB" --out "$out" --seed "$seed" --steps 600 --name "apple (A) vs orange (B)"
done
