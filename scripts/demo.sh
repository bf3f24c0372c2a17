#!/usr/bin/env bash
# The README's main job: set up, make a Fashion-MNIST image folder tree (sneaker vs ankle boot, 64x64 RGB
# JPEG), train the seed tutorial's CNN on it with the seed's augmentation, report the test accuracy,
# predict a few held-out images, and save the model and a plot of the training.
#   bash scripts/demo.sh [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
data=demo-output/fashion-mnist
if [ ! -d "$data/test_set" ]; then
  node scripts/make-fashion-mnist-folders.js --out "$data" --classes sneaker,ankle_boot \
    --train-per-class 1000 --test-per-class 300 --size 64
fi
npx tsc -p tsconfig.examples.json
node build-ts/examples/seed.js "$data" "${1:-3}"
