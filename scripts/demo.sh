#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The demo trains a base-width-16 U-Net to segment the brain on axial slices of a real T1 MRI
# (the ch2 scan of Debian's mricron-data), holding out two whole blocks of slices. It then scores
# the held-out slices with Dice and Jaccard, predicts the whole volume, and writes the mask and
# pictures to out/demo/.
set -eu
cd "$(dirname "$0")/.."
sh scripts/prepare.sh
sh scripts/fetch-sample-data.sh

scan=data/sample/ch2.nii.gz
brain=data/sample/ch2bet.nii.gz
out=out/demo
held_out=50:64,100:114
medunet="node dist/cli/main.js"
mkdir -p "$out"

echo "medunet demo: training on $scan, holding out axial slices $held_out"
$medunet train --image "$scan" --mask "$brain" --val-slices "$held_out" \
  --epochs "${MEDUNET_DEMO_EPOCHS:-10}" --batch-size 8 --base-width 16 --output "$out/brain-unet.pt"

echo "medunet demo: scoring the held-out slices"
$medunet evaluate --model "$out/brain-unet.pt" --image "$scan" --mask "$brain" \
  --slices "$held_out" --png "$out/panels"

echo "medunet demo: predicting the whole volume"
$medunet predict --model "$out/brain-unet.pt" --input "$scan" \
  --output "$out/ch2_brain_mask.nii.gz" --png "$out"

echo "medunet demo: done; outputs are in $out/"
