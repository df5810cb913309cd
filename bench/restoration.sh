#!/usr/bin/env bash
# ×1 restoration on the ground-truth protocol (notebooks-notes/restoration.md):
# `hone evaluate --scale 1 --degrade D` on each test clip for each damage D
# (3 epochs, 8 frames scored): the damaged input, FFmpeg's hqdn3d, nlmeans and
# deblock each at its best of a small grid, the shipped ×1 base and the
# fine-tuned model. Then ×1 inference speed end to end on chaplin (640×360).
# Results: bench/out/restoration/*.json, finished runs skipped; a table at the end.
# CLIPS, DAMAGES, EPOCHS, FRAMES, TAG (the results' suffix) and EXTRA (more
# evaluate options, e.g. "--targets frames", or with EPOCHS=0 "--also
# checkpoints/base-x1-real.safetensors" to score a second base as it is) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/evaluate-once.sh
damages=${DAMAGES:-"x264:crf=35 noise:sigma=10"}
epochs=${EPOCHS:-3} frames=${FRAMES:-8} tag=${TAG:-shipped}
out=bench/out/restoration; mkdir -p "$out"
for damage in $damages; do
    for clip in $clips; do
        evaluate_once "$out" "$(basename "${clip%.*}")-${damage//[:=,]/-}-$tag" --gt "$clip" --scale 1 --degrade "$damage" \
            --epochs "$epochs" --frames "$frames"
    done
done
PYTHONPATH=bench python3 - "$out" "$tag" <<'PY'
from results import runs
print(f"{'clip':22} {'damage':16} {'method':30} {'Y-PSNR':>7} {'Y-SSIM':>7} {'LPIPS':>7} {'vs input':>9} {'vs base':>8}")
for r in runs():
    by = r["by"]
    for m in r["methods"]:
        print(f"{r['clip']:22} {'+'.join(r['damages']):16} {m['method']:30} {m['psnrY']:7.2f} {m['ssimY']:7.4f} "
              f"{m['lpips']:7.4f} {m['psnrY'] - by['input']['psnrY']:+9.2f} {m['psnrY'] - by['base']['psnrY']:+8.2f}")
    filters = [m for m in r["methods"] if m["method"].split("=")[0] in ("hqdn3d", "nlmeans", "deblock", "unsharp")]
    t = by.get("fine-tuned")
    if not filters or not t:
        continue
    best = max(filters, key=lambda m: m["psnrY"])
    print(f"   fine-tuned vs input {t['psnrY'] - by['input']['psnrY']:+.2f} dB, vs best filter ({best['method']}) {t['psnrY'] - best['psnrY']:+.2f} dB, "
          f"vs base {t['psnrY'] - by['base']['psnrY']:+.2f} dB; LPIPS {t['lpips']:.4f} (input {by['input']['lpips']:.4f}, filter {best['lpips']:.4f})")
PY
# Speed: the shipped ×1 model over chaplin (640×360) end to end, decode and encode included.
speed="$out/speed-$tag.txt"
if [ ! -s "$speed" ] && [ -f "$data/chaplin.mp4" ]; then
    .build/release/hone infer --checkpoint checkpoints/base-x1.safetensors --video "$data/chaplin.mp4" -o "$out/chaplin-x1.mp4" > "$speed"
fi
[ -s "$speed" ] && grep wrote "$speed"
