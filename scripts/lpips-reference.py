"""LPIPS v0.1 (VGG) in plain numpy, for Hone's tests: reads the converted
weights file (safetensors layout, parsed by hand) and prints the distance
between two fixed 3×32×32 images. Shares the converter's conv and pool.
Usage: python3 lpips-reference.py WEIGHTS"""
import importlib.util
import json
import os
import struct
import sys

import numpy as np

spec = importlib.util.spec_from_file_location("convert", os.path.join(os.path.dirname(__file__), "convert-vgg16.py"))
convert = importlib.util.module_from_spec(spec)
spec.loader.exec_module(convert)


def images():
    """a[c,y,x] = ((7c + 3y + 5x) mod 17) / 16; b is a with ((c + 2y + 3x) mod 5 − 2) / 10 added."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(32), np.arange(32), indexing="ij")
    a = ((c * 7 + y * 3 + x * 5) % 17) / 16.0
    return a, a + ((c + 2 * y + 3 * x) % 5 - 2) / 10.0


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f4").reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


def features(t, x):
    mean = np.array([0.485, 0.456, 0.406])[:, None, None]
    std = np.array([0.229, 0.224, 0.225])[:, None, None]
    h, out, layer = (x - mean) / std, [], 0
    for stage, convs in enumerate([2, 2, 3, 3, 3]):
        if stage:
            h = convert.pool(h)
        for _ in range(convs):
            h = convert.conv3x3_relu(h, t[f"vgg.convs.{layer}.weight"], t[f"vgg.convs.{layer}.bias"])
            layer += 1
        out.append(h / (np.sqrt((h * h).sum(axis=0, keepdims=True)) + 1e-10))
    return out


t = load(sys.argv[1])
a, b = images()
fa, fb = features(t, a), features(t, b)
print(sum((t[f"lpips.lins.{i}.weight"][0, :, 0, 0][:, None, None] * (fa[i] - fb[i]) ** 2).sum(axis=0).mean() for i in range(5)))
