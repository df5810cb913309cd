#!/usr/bin/env bash
# The recurrent base against the single-frame base it started from, on the ground-truth
# protocol (notebooks-notes/temporal.md, "Issue 32"): `hone evaluate --epochs 0` (the models as
# they are, no fine-tune) on each test clip at SCALE (default 2), 16 frames scored, the
# recurrent checkpoint MODEL (default checkpoints/base-x<SCALE>-recurrent.safetensors) scored
# beside bicubic, lanczos and the shipped base with --also, run over each clip in order as
# `hone infer` runs it. DEGRADE adds a damage (as --degrade takes it). Results:
# bench/out/recurrent/*.json, finished runs skipped; a table at the end. CLIPS, FRAMES and TAG
# override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/evaluate-once.sh
scale=${SCALE:-2} frames=${FRAMES:-16}
model=${MODEL:-checkpoints/base-x$scale-recurrent.safetensors}
tag=${TAG:-x$scale}
out=bench/out/recurrent; mkdir -p "$out"
degrade=(); [ -n "${DEGRADE:-}" ] && degrade=(--degrade "$DEGRADE")
for clip in $clips; do
    name=$(basename "${clip%.*}")-$tag
    evaluate_once "$out" "$name" --gt "$clip" --scale "$scale" --epochs 0 --frames "$frames" --also "$model" "${degrade[@]}"
done
python3 - "$out" "$tag" "$(basename "${model%.safetensors}")" <<'PY'
import sys
sys.path.insert(0, "bench")
from results import runs
name = sys.argv[3]
rows = []
print(f"| clip | bicubic | base | {name} | Δ Y-PSNR | flicker base / {name} | seconds base / {name} |")
print("|---|---|---|---|---|---|---|")
for r in runs():
    b, base, rec = r["by"]["bicubic"], r["by"]["base"], r["by"][name]
    d = rec["psnrY"] - base["psnrY"]
    rows.append(d)
    print(f"| {r['clip']} | {b['psnrY']:.2f} / {b['lpips']:.3f} | {base['psnrY']:.2f} / {base['lpips']:.3f} | {rec['psnrY']:.2f} / {rec['lpips']:.3f} "
          f"| {d:+.2f} | {base.get('flicker') or 0:.3f} / {rec.get('flicker') or 0:.3f} | {base['seconds']:.1f} / {rec['seconds']:.1f} |")
if rows:
    print(f"mean Δ Y-PSNR {sum(rows) / len(rows):+.2f} dB over {len(rows)} clips")
PY
