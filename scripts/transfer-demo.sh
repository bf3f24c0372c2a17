#!/usr/bin/env bash
# Transfer learning as Keras's guide does it (examples/transfer.ts) on Fashion-MNIST: a MobileNetV2 base
# pretrained on eight clothing classes (the stand-in for ImageNet: nothing is downloaded), then frozen under
# a new head for the seed's sneakers vs ankle boots, then fine-tuned.
#   bash scripts/transfer-demo.sh [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=demo-output
if [ ! -d "$out/fashion-mnist/test_set" ]; then
  node scripts/make-fashion-mnist-folders.js --out "$out/fashion-mnist" --classes sneaker,ankle_boot \
    --train-per-class 1000 --test-per-class 300 --size 64
fi
if [ ! -d "$out/fashion-mnist-pretrain/test_set" ]; then
  node scripts/make-fashion-mnist-folders.js --out "$out/fashion-mnist-pretrain" \
    --classes t_shirt_top,trouser,pullover,dress,coat,sandal,shirt,bag \
    --train-per-class 1500 --test-per-class 200 --size 64
fi
npx tsc -p tsconfig.examples.json
node build-ts/examples/transfer.js "$out/fashion-mnist" "$out/fashion-mnist-pretrain" "${1:-3}"
