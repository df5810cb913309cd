#!/usr/bin/env bash
# Hone's engine against PyTorch on the same workloads, in one run, as ratios.
# Installs Debian's python3-torch on first use (benchmarks only; tests never need it).
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
mkdir -p bench/out
# Alternate the two engines so both see the same machine load.
.build/release/hone bench --json --repeats "$repeats" > bench/out/hone.json
$py bench/torch_reference.py "$repeats" > bench/out/torch.json
$py - bench/out/hone.json bench/out/torch.json <<'PY'
import json, sys, platform, os, datetime
hone, torch = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{datetime.date.today()}  {platform.machine()}  {os.cpu_count()} cores")
print(f"{'workload':40} {'hone':>10} {'pytorch':>10} {'ratio':>8}")
for key in sorted(hone):
    h, t = hone[key], torch.get(key)
    if t is None:  # Hone-only rows: the same workload on another code path
        print(f"{key:40} {h:10.2f} {'':>10} {'':>8}")
        continue
    # Ratio is hone's time over PyTorch's (hone's rate under PyTorch's for rates): below 1.0 means Hone is faster.
    ratio = h / t if key.endswith("_ms") else t / h
    print(f"{key:40} {h:10.2f} {t:10.2f} {ratio:8.2f}")
PY
