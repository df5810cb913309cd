#!/usr/bin/env bash
# Peak resident memory of `hone infer` and `hone finetune` on 1920×1080 input
# (issue #7's target: ≤ 2 GiB at any length of video). The clip is chaplin.mp4
# scaled to 1080p (a generated one without ../shared); the default model runs on
# 60 frames (about 5 minutes on 2 cores), and the bicubic baseline and fine-tuning
# on 60 and 240 frames, to show that nothing grows with length.
set -euo pipefail
cd "$(dirname "$0")/.."
hone=$(pwd)/.build/release/hone
if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq time >/dev/null; else echo "Run:  sudo apt-get install -y time"; exit 1; fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source=../shared/data/clips/chaplin.mp4
[ -f "$source" ] || { source=$work/src.mp4; ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25 \
    -f lavfi -i sine=frequency=440 -t 10 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$source"; }
for frames in 60 240; do
    ffmpeg -hide_banner -loglevel error -stream_loop 1 -i "$source" -frames:v $frames -vf scale=1920:1080:flags=bicubic \
        -c:v libx264 -preset veryfast -crf 18 -c:a aac "$work/hd$frames.mp4"
done

# Peak RSS in MiB of a command, which must succeed.
peak() { /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null 2>&1; echo $(( $(cat "$work/rss") / 1024 )); }

cd "$work"
printf '%-52s %10s\n' "run on 1920×1080 input" "peak MiB"
printf '%-52s %10s\n' "infer, shipped ×2 base, 60 frames → 3840×2160" "$(peak "$hone" infer --checkpoint "$OLDPWD/checkpoints/base-x2.safetensors" --video hd60.mp4 -o a.mp4)"
for frames in 60 240; do
    printf '%-52s %10s\n' "infer, bicubic ×2, $frames frames" "$(peak "$hone" infer --checkpoint bicubic --video hd$frames.mp4 -o b.mp4)"
done
for frames in 60 240; do
    printf '%-52s %10s\n' "finetune, default config, 1 epoch, $frames frames" "$(peak "$hone" finetune --video hd$frames.mp4 --epochs 1 -o c$frames.ckpt)"
done
