#!/usr/bin/env bash
# Per-frame costs behind the README's "Scaling out" cost model, on 1080p input
# at ×2 with the shipped base: whole-video inference, one segment (FFV1 4K, and
# H.264 CRF 12 for comparison), the join, the packet scan that plans segments,
# and a fine-tuning run's step time and frame decoding. Prints a TSV of
# quantity, value, unit. The 1080p clip is chaplin.mp4 scaled ×3 (lanczos) by
# ffmpeg: real content, softer than native 1080p (so FFV1 sizes are a lower bound).
# Usage: bash bench/scaling-costs.sh [frames]   (default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMES=${1:-50}
OUT=${OUT:-bench/out/scaling}
mkdir -p "$OUT"
HONE=$PWD/.build/release/hone
BASE=$PWD/checkpoints/base-x2.safetensors
clip=$OUT/chaplin-1080p.mp4
[ -s "$clip" ] || ffmpeg -v error -nostdin -y -i ../shared/data/clips/chaplin.mp4 -frames:v "$FRAMES" \
    -vf scale=1920:1080:flags=lanczos -c:v libx264 -crf 18 -c:a copy "$clip"
n=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$clip")
seconds() { local s=$(date +%s.%N); "$@" > /dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc -l; }
row() { printf '%s\t%.4g\t%s\n' "$1" "$2" "$3"; }
rm -f "$OUT"/whole.mp4 "$OUT"/seg.mkv "$OUT"/seg264.mkv "$OUT"/joined.mp4 "$OUT"/ft.ckpt
t=$(seconds "$HONE" infer --checkpoint "$BASE" --video "$clip" -o "$OUT/whole.mp4")
row "infer 1080p→4K, whole video (H.264 out)" "$(echo "$t / $n" | bc -l)" "s/frame"
t=$(seconds "$HONE" infer --checkpoint "$BASE" --video "$clip" --segment 1/1 -o "$OUT/seg.mkv")
row "infer, one segment (FFV1 4K out)" "$(echo "$t / $n" | bc -l)" "s/frame"
row "segment size, FFV1 4K" "$(echo "$(stat -c %s "$OUT/seg.mkv") / $n / 1000000" | bc -l)" "MB/frame"
"$HONE" infer --checkpoint "$BASE" --video "$clip" --segment 1/1 --codec h264 --crf 12 -o "$OUT/seg264.mkv" > /dev/null 2>&1
row "segment size, H.264 CRF 12 4K" "$(echo "$(stat -c %s "$OUT/seg264.mkv") / $n / 1000000" | bc -l)" "MB/frame"
t=$(seconds "$HONE" join "$OUT/seg.mkv" -o "$OUT/joined.mp4")
row "join (FFV1 4K decode, H.264 medium encode)" "$(echo "$t / $n" | bc -l)" "s/frame"
rm -f "$OUT/joined.mp4"
t=$(seconds "$HONE" join "$OUT/seg.mkv" --preset veryfast -o "$OUT/joined.mp4")
row "join, --preset veryfast" "$(echo "$t / $n" | bc -l)" "s/frame"
# The packet scan that plans segments, on 100 loops of chaplin.mp4 (24,100 frames, stream copy):
# asking for more segments than frames fails right after the scan.
long=$OUT/chaplin-x100.mp4
[ -s "$long" ] || ffmpeg -v error -nostdin -y -stream_loop 99 -i ../shared/data/clips/chaplin.mp4 -c copy "$long"
t=$(seconds "$HONE" infer --checkpoint bicubic --video "$long" --segment 1/1000000)
row "segment planning (packet scan), per frame of a long video" "$(echo "$t / 24100" | bc -l)" "s/frame"
log=$OUT/finetune.log
"$HONE" finetune --video "$clip" --epochs 2 -o "$OUT/ft.ckpt" > "$log" 2>&1
row "fine-tune step (default config, batch 16 of 96²)" "$(tr '\r' '\n' < "$log" | grep -o 'at [0-9.]* s a step' | grep -o '[0-9.]*' | head -1)" "s/step"
row "fine-tune decode+cache at 1080p" "$(tr '\r' '\n' < "$log" | grep '^decode' | tail -1 | grep -o '[0-9.]* frames/s' | grep -o '[0-9.]*')" "frames/s"
