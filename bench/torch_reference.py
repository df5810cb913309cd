"""PyTorch twin of `hone bench`'s workloads, for a side-by-side ratio.

Same shapes, same median-of-N timing after one warm-up, the same number of
threads as cores. Prints one JSON object with the same keys as `hone bench --json`.
"""
import json
import os
import sys
import time

import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F

from hone_twin import SRNet, load_safetensors

threads = os.cpu_count() or 1
torch.set_num_threads(threads)
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10


def seconds(body):
    body()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        body()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def vgg16_to_relu3_3():
    """VGG16's features up to relu3_3 (torchvision's layout), frozen; weights do not change the timing."""
    layers, c = [], 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256):
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    net = nn.Sequential(*layers)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


class Reference(nn.Module):
    """conv 3→32, 8 × (conv 32→32 + ReLU), conv 32→12, pixel shuffle ×2, bicubic ×2 skip."""

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 32, 3, padding=1)
        self.body = nn.ModuleList([nn.Conv2d(32, 32, 3, padding=1) for _ in range(8)])
        self.tail = nn.Conv2d(32, 12, 3, padding=1)

    def forward(self, x):
        h = self.head(x)
        for conv in self.body:
            h = F.relu(conv(h))
        return F.pixel_shuffle(self.tail(h), 2) + F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)


results = {}
a, b = torch.rand(1024, 1024), torch.rand(1024, 1024)
results[f"sgemm_1024_gflops_{threads}threads"] = 2 * 1024**3 / seconds(lambda: torch.mm(a, b)) / 1e9

for ch in (32, 64):
    x = torch.rand(16, ch, 48, 48, requires_grad=True)
    conv = nn.Conv2d(ch, ch, 3, padding=1)
    flops = 2 * 16 * 48 * 48 * ch * ch * 9
    with torch.no_grad():
        results[f"conv3x3_{ch}ch_forward_gflops"] = flops / seconds(lambda: conv(x)) / 1e9
    dy = torch.rand(16, ch, 48, 48)
    results[f"conv3x3_{ch}ch_forward_backward_gflops"] = 3 * flops / seconds(lambda: (conv(x) * dy).sum().backward()) / 1e9

model = Reference()
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
lr_in, hr = torch.rand(16, 3, 48, 48), torch.rand(16, 3, 96, 96)


def step():
    opt.zero_grad()
    F.mse_loss(model(lr_in), hr).backward()
    opt.step()


results["reference_train_step_ms"] = seconds(step) * 1000

vgg_net = vgg16_to_relu3_3()
mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
vgg = lambda x: vgg_net((x - mean) / std)  # ImageNet normalisation, as Hone's VGG16 does


def vgg_step():
    opt.zero_grad()
    sr = model(lr_in)
    with torch.no_grad():
        truth = vgg(hr)
    (F.mse_loss(sr, hr) + F.l1_loss(vgg(sr), truth)).backward()
    opt.step()


results["reference_vgg_train_step_ms"] = seconds(vgg_step) * 1000

# Model-only inference: the shipped ×2 base (same weights) on a 640×360 frame, and the fast config on 160×90.
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
default = SRNet(40, 5, prelu=True)
default.load(load_safetensors(os.path.join(root, "checkpoints/base-x2.safetensors")))
for name, net, (h, w) in (("infer_default_640x360_fps", default, (360, 640)),
                          ("infer_fast_160x90_fps", SRNet(16, 2, prelu=False), (90, 160))):
    frame = torch.rand(1, 3, h, w)
    with torch.no_grad():
        results[name] = 1 / seconds(lambda: net(frame))
print(json.dumps({k: round(v, 2) for k, v in results.items()}, sort_keys=True))
