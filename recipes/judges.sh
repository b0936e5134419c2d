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
