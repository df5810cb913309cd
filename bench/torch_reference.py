"""PyTorch twin of `hone bench`'s workloads, for a side-by-side ratio.

Same shapes, same median-of-N timing after one warm-up, the same number of
threads as cores. Prints one JSON object with the same keys as `hone bench --json`.
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

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
print(json.dumps({k: round(v, 2) for k, v in results.items()}, sort_keys=True))
