#!/usr/bin/env bash
# Single-frame against multi-frame fine-tuning on the ground-truth protocol:
# `hone evaluate --neighbours K` on each test clip at ×2 and ×4 (3 epochs,
# 8 frames scored). ×4 uses bench/temporal-x4.yaml (48² crops: the clips'
# ×4 downscales are too small for 96²). Results: bench/out/temporal/*.json,
# finished runs skipped; a table at the end.
# CLIPS, SCALES, K, EPOCHS, FRAMES, CONFIG2/CONFIG4 (configs for ×2/×4), TAG (the
# results' suffix) and EXTRA (more evaluate options) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/evaluate-once.sh
k=${K:-1} epochs=${EPOCHS:-3} frames=${FRAMES:-8} tag=${TAG:-k$k}
out=bench/out/temporal; mkdir -p "$out"
for scale in ${SCALES:-2 4}; do
    config=${CONFIG2:-configs/default.yaml}; [ "$scale" = 4 ] && config=${CONFIG4:-bench/temporal-x4.yaml}
    for clip in $clips; do
        evaluate_once "$out" "$(basename "${clip%.*}")-x$scale-$tag" --gt "$clip" --scale "$scale" --epochs "$epochs" \
            --frames "$frames" --neighbours "$k" --config "$config"
    done
done
PYTHONPATH=bench python3 - "$out" "$tag" <<'PY'
from results import runs
print(f"{'clip':22} {'x':>2} {'method':22} {'Y-PSNR':>7} {'Y-SSIM':>7} {'LPIPS':>7} {'flicker':>8} {'vs base':>8}")
for r in runs():
    base = next(m for m in r["methods"] if m["method"].startswith("base"))
    for m in r["methods"]:
        print(f"{r['clip']:22} {r['scale']:2} {m['method']:22} {m['psnrY']:7.2f} {m['ssimY']:7.4f} {m['lpips']:7.4f} "
              f"{m.get('flicker') or 0:8.3f} {m['psnrY'] - base['psnrY']:+8.2f}")
    print("   stages (s): " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(r["stages"].items())))
PY
