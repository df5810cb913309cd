#!/usr/bin/env bash
# What sampling a video's frames for fine-tuning costs in quality: `hone evaluate`
# on the longest shared clip at several --sample rates (frames a second), scored
# against the ground truth; one JSON report per rate into $OUT. EPOCHS (default 3)
# lets a sampled run take as many steps as the full one (epochs hold fewer frames).
# Usage: bash bench/long-videos.sh [clip] [scale]   (default: ../shared/data/clips/chaplin.mp4, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
CLIP=${1:-../shared/data/clips/chaplin.mp4}
SCALE=${2:-2}
OUT=${OUT:-bench/out/long-videos}
RATES=${RATES:-"all 5 2 1"}
EPOCHS=${EPOCHS:-3}
mkdir -p "$OUT"
HONE=.build/release/hone
for rate in $RATES; do
    name=$(basename "${CLIP%.*}")-x$SCALE-sample-$rate-epochs-$EPOCHS
    [ -s "$OUT/$name.json" ] && { echo "$name: done already"; continue; }
    sample=(); [ "$rate" != all ] && sample=(--sample "$rate")
    start=$(date +%s)
    "$HONE" evaluate --gt "$CLIP" --scale "$SCALE" --epochs "$EPOCHS" "${sample[@]}" --json -o "$OUT/$name.ckpt" > "$OUT/$name.partial" 2> "$OUT/$name.log"
    mv "$OUT/$name.partial" "$OUT/$name.json"
    echo "$name: $(( $(date +%s) - start )) s"
done
