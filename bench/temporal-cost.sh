#!/usr/bin/env bash
# What the multi-frame model costs against the single-frame one, same run:
# wall time of `hone finetune` (3 epochs, --targets frames) plus `hone infer`
# (×2) on chaplin.mp4, for --neighbours 0 and K (default 1); then the peak
# resident memory of the multi-frame `hone infer` on 1920×1080 input (60
# frames → 3840×2160) against the single-frame one.
set -euo pipefail
cd "$(dirname "$0")/.."
hone=$(pwd)/.build/release/hone
k=${K:-1}
clip=$(pwd)/../shared/data/clips/chaplin.mp4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
calc() { python3 -c "print($1)"; }
seconds() { local start=$(date +%s.%N); "$@" >/dev/null 2>&1; calc "$(date +%s.%N) - $start"; }
peak() { /usr/bin/time -f "%M" -o rss "$@" >/dev/null 2>&1; echo $(( $(cat rss) / 1024 )); }
printf '%-10s %12s %10s %10s\n' "neighbours" "finetune s" "infer s" "total s"
declare -A total
for n in 0 "$k"; do
    ft=$(seconds "$hone" finetune --video "$clip" --epochs 3 --targets frames --neighbours "$n" -o "k$n.ckpt")
    inf=$(seconds "$hone" infer --checkpoint "k$n.ckpt" -o "k$n.mp4")
    total[$n]=$(calc "$ft + $inf")
    printf '%-10s %12.1f %10.1f %10.1f\n' "$n" "$ft" "$inf" "${total[$n]}"
done
printf 'ratio (multi-frame / single-frame): %.2f\n' "$(calc "${total[$k]} / ${total[0]}")"
ffmpeg -hide_banner -loglevel error -i "$clip" -frames:v 60 -vf scale=1920:1080:flags=bicubic -c:v libx264 -preset veryfast -crf 18 hd60.mp4
for n in 0 "$k"; do
    printf 'peak MiB, infer ×2 on 1080p (60 frames), neighbours %s: %s\n' "$n" "$(peak "$hone" infer --checkpoint "k$n.ckpt" --video hd60.mp4 -o hd$n.mp4)"
done
