#!/usr/bin/env bash
# Real compressed footage as it is, no ground truth (notebooks-notes/real-damage.md):
# the blockiness `hone infer` prints (the excess luma step at the input's 8×8 block
# edges, on the ×2 output's grid; 0 = none) of bicubic, the clean ×2 base, the ×2
# soft-footage and real-damage bases, Real-ESRGAN's animevideov3-x2, the default command
# (`hone finetune --video CLIP`, then `hone infer`; it starts a compressed clip from the
# real-damage base) and the fine-tune from the soft base (`--checkpoint
# checkpoints/base-x2-soft.safetensors`), on realshort.mp4 and chaplin.mp4.
# Then one frame's crops side by side: bicubic | default | animevideov3 (needs ffmpeg).
# Results: bench/out/blockiness/ (videos, logs), finished runs skipped; a table at the end.
# CLIPS overrides the clips.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/clips}
clips=${CLIPS:-"$data/realshort.mp4 $data/chaplin.mp4"}
out=bench/out/blockiness; mkdir -p "$out"
hone=.build/release/hone
for clip in $clips; do
    n=$(basename "${clip%.*}")
    [ -s "$out/$n-default.ckpt" ] || $hone finetune --video "$clip" -o "$out/$n-default.ckpt" > "$out/$n-finetune.log" 2>&1
    [ -s "$out/$n-soft.ckpt" ] || $hone finetune --video "$clip" --checkpoint checkpoints/base-x2-soft.safetensors \
        -o "$out/$n-soft.ckpt" > "$out/$n-finetune-soft.log" 2>&1
    for method in bicubic checkpoints/base-x2.safetensors checkpoints/base-x2-soft.safetensors checkpoints/base-x2-real.safetensors \
                  realesrgan-animevideov3-x2 "$out/$n-default.ckpt" "$out/$n-soft.ckpt"; do
        m=$(basename "${method%.*}"); m=${m#$n-}
        [ -s "$out/$n-$m.log" ] && grep -q blockiness "$out/$n-$m.log" && continue
        $hone infer --video "$clip" --checkpoint "$method" -o "$out/$n-$m.mp4" > "$out/$n-$m.log" 2>&1
    done
    # One frame (a second in), a 160×120 crop of the output from its middle, ×2 nearest so blocks show.
    for m in bicubic default realesrgan-animevideov3-x2; do
        ffmpeg -v error -y -ss 1 -i "$out/$n-$m.mp4" -frames:v 1 -vf "crop=160:120:(iw-160)/2:(ih-120)/2,scale=320:240:flags=neighbor" "$out/$n-$m-crop.png"
    done
    ffmpeg -v error -y -i "$out/$n-bicubic-crop.png" -i "$out/$n-default-crop.png" -i "$out/$n-realesrgan-animevideov3-x2-crop.png" \
        -filter_complex hstack=inputs=3 "notebooks-notes/blockiness-$n.png"
done
echo "clip        method                          blockiness (bicubic's)"
for log in "$out"/*.log; do
    grep -q "^blockiness" "$log" || continue
    printf "%-40s %s\n" "$(basename "${log%.log}")" "$(grep '^blockiness' "$log" | sed 's/.*: output //')"
done
