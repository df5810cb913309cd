#!/usr/bin/env bash
# `hone serve` killed with SIGKILL under load, and on a full disk (issue 34):
# 32 jobs from 3 clients, 21 kills (during uploads, fine-tuning, encoding),
# then a 3 MB tmpfs as the data folder. Prints the seed and the figures.
# Usage: bench/serve-chaos.sh [serve_chaos.py options: --seed N, --jobs, --kills, --short, …]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product hone >/dev/null
exec python3 bench/serve_chaos.py .build/release/hone "$@"
