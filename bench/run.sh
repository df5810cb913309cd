#!/usr/bin/env bash
# Hone's engine against PyTorch on the same workloads, in one run, as ratios.
# Installs Debian's python3-torch on first use (benchmarks only; tests never need it).
# ROUNDS alternations of the two engines (default 3), each timing REPEATS runs
# per workload (default 10); the table shows each engine's median over rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import torch" 2>/dev/null && ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch
    else
        echo "PyTorch is missing. Run:  sudo apt-get install -y python3-torch"; exit 1
    fi
fi
py=python3; $py -c "import torch" 2>/dev/null || py=/usr/bin/python3
repeats=${REPEATS:-10}
rounds=${ROUNDS:-3}
mkdir -p bench/out
rm -f bench/out/hone.*.json bench/out/torch.*.json
# Alternate the engines so both see the same machine load (it drifts on shared hosts).
for round in $(seq "$rounds"); do
    .build/release/hone bench --json --repeats "$repeats" ${ONLY:+--only "$ONLY"} > "bench/out/hone.$round.json"
    $py bench/torch_reference.py "$repeats" > "bench/out/torch.$round.json"
done
.build/release/hone bench --cpu  # the CPU, its SIMD features and the OpenBLAS kernel in use
$py - "$rounds" <<'PY'
import json, sys, platform, os, datetime, statistics
rounds = int(sys.argv[1])
def merged(engine):
    runs = [json.load(open(f"bench/out/{engine}.{r}.json")) for r in range(1, rounds + 1)]
    return {k: statistics.median(run[k] for run in runs) for k in runs[0]}
hone, torch = merged("hone"), merged("torch")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
print(f"{datetime.date.today()}  {cpu}  {os.cpu_count()} cores  ({rounds} rounds)")
print(f"{'workload':44} {'hone':>10} {'pytorch':>10} {'ratio':>8}")
for key in sorted(hone):
    h, t = hone[key], torch.get(key)
    if t is None:  # Hone-only rows: the same workload on another code path
        print(f"{key:44} {h:10.2f} {'':>10} {'':>8}")
        continue
    # Hone's time over PyTorch's (for rates, PyTorch's over Hone's): below 1.0 means Hone is faster.
    ratio = h / t if key.endswith("_ms") else t / h
    print(f"{key:44} {h:10.2f} {t:10.2f} {ratio:8.2f}")
PY
