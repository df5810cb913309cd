#!/usr/bin/env bash
# End to end against model-only, in one run, as ratios (issue #7's pipeline rows):
#  - default model (the shipped ×2 base), 640×360 → 1280×720: `hone infer` on a real
#    clip with audio (decode → model → x264 → mux, audio copied) against the same
#    number of frames through the model alone (`hone bench`'s infer_default row);
#  - fast config, 160×90 → 320×180 end to end, in frames per second.
# Input: ../shared/data/clips/chaplin.mp4 (640×360, 241 frames, MP3) when present,
# else a generated 10 s testsrc2 clip with a tone. ROUNDS alternations (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
hone=.build/release/hone
rounds=${ROUNDS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

clip=../shared/data/clips/chaplin.mp4
if [ ! -f "$clip" ]; then
    clip=$work/clip.mp4
    ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440 \
        -t 10 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$clip"
fi
small=$work/small.mp4
ffmpeg -hide_banner -loglevel error -i "$clip" -vf scale=160:90:flags=area -c:v libx264 -crf 12 -c:a copy "$small"
# The fast model, fine-tuned briefly on the small clip (its speed does not depend on its weights).
"$hone" finetune --video "$small" --config configs/fast.yaml --epochs 1 -o "$work/fast.ckpt" >/dev/null 2>&1

# "wrote …: N frames in S s (…)" → "N S"
frames_seconds() { sed -n 's/^wrote .*: \([0-9]*\) frames in \([0-9.]*\) s .*/\1 \2/p'; }

for round in $(seq "$rounds"); do
    read -r frames e2e < <("$hone" infer --checkpoint checkpoints/base-x2.safetensors --video "$clip" -o "$work/out.mp4" 2>&1 | frames_seconds)
    fps=$("$hone" bench --only 'infer_default_640x360_fps$' --repeats 10 | awk '$1 == "infer_default_640x360_fps" {print $2}')
    read -r small_frames small_seconds < <("$hone" infer --checkpoint "$work/fast.ckpt" --video "$small" -o "$work/small-out.mp4" 2>&1 | frames_seconds)
    echo "$frames $e2e $fps $small_frames $small_seconds" >> "$work/rows"
done
python3 - "$work/rows" <<'PY'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1])]
frames, e2e, fps, small_frames, small_seconds = (statistics.median(c) for c in zip(*rows))
model = frames / fps
print(f"{'workload':36} {'value':>8}")
print(f"{'e2e_default_640x360_seconds':36} {e2e:8.2f}   {int(frames)} frames: decode, model, x264, audio copied")
print(f"{'model_only_default_640x360_seconds':36} {model:8.2f}   the same frames at hone bench's {fps:.2f} fps")
print(f"{'e2e_over_model_only':36} {e2e / model:8.2f}   target <= 1.15")
print(f"{'e2e_fast_160x90_fps':36} {small_frames / small_seconds:8.2f}   target >= 25, stretch >= 60")
PY
