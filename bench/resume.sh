#!/usr/bin/env bash
# What resumability costs `hone infer`: the same upscale written in one encode
# (--part-frames 0) and in parts of 250 frames (the default), alternated ROUNDS
# times on the same machine: wall time, file size, and Y-PSNR of the parts'
# output against the one-encode output. Then a run killed with SIGKILL half way
# and run again: the frames it reused, and whether its output equals the
# uninterrupted one (packet md5s).
# Usage: bash bench/resume.sh [clip] [checkpoint]   (default: chaplin.mp4 looped 4 times, checkpoints/base-x2.safetensors)
set -euo pipefail
cd "$(dirname "$0")/.."
HONE=.build/release/hone
OUT=${OUT:-bench/out/resume}
ROUNDS=${ROUNDS:-2}
CHECKPOINT=${2:-checkpoints/base-x2.safetensors}
mkdir -p "$OUT"
CLIP=${1:-$OUT/chaplin-x4.mp4}
if [ ! -s "$CLIP" ]; then
    ffmpeg -v error -nostdin -y -stream_loop 3 -i ../shared/data/clips/chaplin.mp4 -c copy "$CLIP"
fi
frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$CLIP")
echo "clip $CLIP: $frames frames; checkpoint $CHECKPOINT; $(nproc) cores"
run() {  # run PART_FRAMES OUTPUT → seconds
    local start; start=$(date +%s.%N)
    "$HONE" infer --checkpoint "$CHECKPOINT" --video "$CLIP" --part-frames "$1" -o "$2" >/dev/null 2>&1
    echo "$(date +%s.%N) - $start" | bc
}
for round in $(seq "$ROUNDS"); do
    one=$(run 0 "$OUT/one.mp4")
    parts=$(run 250 "$OUT/parts.mp4")
    psnr=$(ffmpeg -nostdin -i "$OUT/parts.mp4" -i "$OUT/one.mp4" -lavfi "[0:v][1:v]psnr" -f null - 2>&1 | grep -o "y:[0-9.inf]*" | head -1)
    printf 'round %d: one encode %.1f s, %d bytes; parts %.1f s, %d bytes (%.3f× the time, %.3f× the size); parts against one encode: Y-PSNR %s dB\n' \
        "$round" "$one" "$(stat -c %s "$OUT/one.mp4")" "$parts" "$(stat -c %s "$OUT/parts.mp4")" \
        "$(echo "$parts / $one" | bc -l)" "$(echo "$(stat -c %s "$OUT/parts.mp4") / $(stat -c %s "$OUT/one.mp4")" | bc -l)" "${psnr#y:}"
done
# Killed half way (by wall time), then run again.
half=$(echo "$parts / 2" | bc -l)
rm -f "$OUT/killed.mp4"
timeout -s KILL "$half" "$HONE" infer --checkpoint "$CHECKPOINT" --video "$CLIP" -o "$OUT/killed.mp4" >/dev/null 2>&1 || true
start=$(date +%s.%N)
"$HONE" infer --checkpoint "$CHECKPOINT" --video "$CLIP" -o "$OUT/killed.mp4" | grep -E "continuing|wrote"
resumed=$(echo "$(date +%s.%N) - $start" | bc)
same=$(cmp -s <(ffmpeg -v error -i "$OUT/killed.mp4" -f framemd5 -) <(ffmpeg -v error -i "$OUT/parts.mp4" -f framemd5 -) && echo yes || echo no)
printf 'killed after %.1f s, the rerun took %.1f s; frames and audio equal to the uninterrupted run: %s\n' "$half" "$resumed" "$same"
