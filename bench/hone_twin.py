"""PyTorch twin of Hone's own upscaling network (`SRNet` without the U-Net),
read from Hone's safetensors checkpoints: the peer for bench/torch_reference.py
and bench/runtimes.py.
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name != "__metadata__":
            a, b = t["data_offsets"]
            out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).reshape(t["shape"]).copy())
    return out


def matlab_bicubic_x2(x):
    """MATLAB's imresize(x, 2, 'bicubic'), as Hone's skip (Resample.swift): Keys' cubic with a = −0.5,
    output o at source o/2 − 1/4, symmetric edges. Separable: along width, then height, each output
    phase a 5-tap filter over the input padded by 2 (gathers, so ONNX takes it)."""
    w = lambda d: 1.5 * d**3 - 2.5 * d**2 + 1 if d <= 1 else -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2
    taps = torch.tensor([[w(1.75), w(0.75), w(0.25), w(1.25), 0], [0, w(1.25), w(0.25), w(0.75), w(1.75)]]).view(2, 1, 1, 5)

    def along_width(x):  # [m, 1, h, w] → [m, 1, h, 2w]
        n = x.shape[-1]
        index = torch.tensor([1, 0] + list(range(n)) + [n - 1, n - 2])  # symmetric: −1 → 0, −2 → 1
        y = F.conv2d(x.index_select(3, index), taps)  # [m, 2, h, w]: even and odd outputs
        return y.permute(0, 2, 3, 1).reshape(x.shape[0], 1, x.shape[2], 2 * n)

    n, c, h, width = x.shape
    y = along_width(x.reshape(n * c, 1, h, width))
    y = along_width(y.transpose(2, 3)).transpose(2, 3)
    return y.reshape(n, c, 2 * h, 2 * width)


class SRNet(nn.Module):
    """Hone's SRNet without the U-Net: head, residual PReLU/ReLU blocks, body tail, pixel-shuffle ×2, tail, MATLAB-bicubic skip."""

    def __init__(self, channels, blocks, prelu):
        super().__init__()
        conv = lambda i, o: nn.Conv2d(i, o, 3, padding=1)
        self.head = conv(3, channels)
        self.body = nn.ModuleList([nn.ModuleDict({"conv1": conv(channels, channels), "conv2": conv(channels, channels)})
                                   for _ in range(blocks)])
        self.slopes = [torch.full((channels,), 0.25) if prelu else None for _ in range(blocks)]
        self.bodyTail = conv(channels, channels)
        self.upsample = nn.ModuleList([conv(channels, 4 * channels)])
        self.tail = conv(channels, 3)

    def load(self, tensors):
        for name, param in self.named_parameters():
            param.data.copy_(tensors[name])
        for i in range(len(self.slopes)):
            if self.slopes[i] is not None:
                self.slopes[i] = tensors[f"body.{i}.slope"]

    def forward(self, x):
        f = h = self.head(x)
        for block, slope in zip(self.body, self.slopes):
            r = block["conv1"](h)
            r = F.prelu(r, slope) if slope is not None else F.relu(r)
            h = h + block["conv2"](r)
        h = self.bodyTail(h) + f
        h = F.relu(F.pixel_shuffle(self.upsample[0](h), 2))
        return self.tail(h) + matlab_bicubic_x2(x)
