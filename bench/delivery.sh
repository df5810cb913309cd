#!/usr/bin/env bash
# What `hone pack` is worth in bytes (notebooks-notes/delivery.md): `hone evaluate
# --delivery` on each clip — packs at CRFs $CRFS against the stream with the base,
# with bicubic, and x264 at full resolution — one folder per clip and scale in $OUT
# (packs, encodes, results.json, rate-distortion.png; rerunning reuses them).
# Then the time of one default `hone pack` of chaplin.mp4 and of the receiver's
# `hone infer` of that pack next to `hone infer` with the base on the same stream.
# Usage: bash bench/delivery.sh [scale] [clips…]   (default: 2, the shared clips and bikes.mp4)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-2}; shift || true
CLIPS=("$@")
[ ${#CLIPS[@]} -gt 0 ] || CLIPS=(../shared/data/clips/chaplin.mp4 ../shared/data/clips/tears_of_steel.webm
                                ../shared/data/clips/realshort.mp4 "${XDG_CACHE_HOME:-$HOME/.cache}/hone/bikes.mp4")
OUT=${OUT:-bench/out/delivery}
CRFS=${CRFS:-18,23,28,33,38}
TUNING=${TUNING:-channel-modulation}
HONE=.build/release/hone
mkdir -p "$OUT"
for clip in "${CLIPS[@]}"; do
    name=$(basename "${clip%.*}")-x$SCALE-$TUNING
    start=$(date +%s)
    "$HONE" evaluate --delivery --gt "$clip" --scale "$SCALE" --crf "$CRFS" --tuning "$TUNING" -o "$OUT/$name" 2> "$OUT/$name.log" | tee "$OUT/$name.txt"
    echo "$name: $(( $(date +%s) - start )) s"
done
clip=../shared/data/clips/chaplin.mp4
start=$(date +%s.%N)
"$HONE" pack --video "$clip" -o "$OUT/chaplin.hone.mkv" 2> /dev/null | tail -3
echo "hone pack (default) of chaplin.mp4: $(echo "$(date +%s.%N) - $start" | bc) s"
"$HONE" infer --video "$OUT/chaplin.hone.mkv" -o "$OUT/chaplin.pack-upscaled.mp4" 2> /dev/null | grep "^wrote"
"$HONE" infer --checkpoint checkpoints/base-x$SCALE.safetensors --video "$OUT/chaplin.hone.mkv" -o "$OUT/chaplin.base-upscaled.mp4" 2> /dev/null | grep "^wrote"
