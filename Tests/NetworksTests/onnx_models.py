#!/usr/bin/python3
"""Exports small PyTorch upscalers to ONNX, the way a user's model reaches Hone, with
PyTorch's own output on a fixed input as the reference (ONNXTests).

Usage: onnx_models.py FOLDER
Writes FOLDER/<name>.onnx, FOLDER/x.f32 (the input, [1, 3, 16, 20] float32) and
FOLDER/<name>.y.f32 (PyTorch's output) for each network below, and FOLDER/gelu.onnx,
which uses an operator Hone does not run (Erf). Needs Debian's python3-torch.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Plain(nn.Module):
    """Per-channel and scalar constants, PReLU per channel, leaky ReLU, pixel shuffle and a nearest skip: ×2."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.45, 0.44, 0.40]).view(1, 3, 1, 1))
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.PReLU(8)
        self.body = nn.Conv2d(8, 8, 3, padding=1)
        self.tail = nn.Conv2d(8, 12, 3, padding=1)

    def forward(self, x):
        skip = F.interpolate(x, scale_factor=2, mode="nearest")
        h = (x - self.mean) * 2.0
        h = F.leaky_relu(self.body(self.act(self.head(h))), 0.1)
        return F.pixel_shuffle(self.tail(h), 2) / 2.0 + skip


class UNet(nn.Module):
    """A strided convolution, a transposed one, a concatenation, squeeze-and-excitation, one PReLU slope, bilinear ×2."""

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.down = nn.Conv2d(8, 16, 4, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        self.squeeze = nn.Conv2d(16, 4, 1)
        self.excite = nn.Conv2d(4, 16, 1)
        self.act = nn.PReLU()
        self.tail = nn.Conv2d(16, 3, 3, padding=1)

    def forward(self, x):
        h = F.relu(self.head(x))
        d = F.relu(self.down(h))
        d = d * torch.sigmoid(self.excite(F.relu(self.squeeze(F.adaptive_avg_pool2d(d, 1)))))
        h = torch.cat([h, self.act(self.up(d))], 1)
        h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
        return 1.0 - self.tail(h)


class Clamped(nn.Module):
    """Tanh, a transposed convolution with output padding (kernel 3, stride 2, padding 1), ReLU6 and a clamp to [0, 1]: ×2."""

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1)
        self.tail = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x):
        h = F.relu6(4.0 * self.up(torch.tanh(self.head(x))))  # ×4, so that 6 is reached
        return torch.clamp(self.tail(h) + F.interpolate(x, scale_factor=2, mode="nearest"), 0, 1)


class Gelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)

    def forward(self, x):
        return F.pixel_shuffle(F.gelu(self.conv(x)), 2)


def main():
    folder = sys.argv[1]
    torch.manual_seed(0)
    x = torch.rand(1, 3, 16, 20)
    x.numpy().tofile(os.path.join(folder, "x.f32"))
    for name, net in [("plain", Plain()), ("unet", UNet()), ("clamped", Clamped()), ("gelu", Gelu())]:
        net.eval()
        with torch.no_grad():
            # Weights and slopes away from PyTorch's defaults, so each takes part in the output.
            for p in net.parameters():
                p.add_(0.1 * torch.randn_like(p))
            y = net(x)
        y.numpy().tofile(os.path.join(folder, f"{name}.y.f32"))
        torch.onnx.export(net, x, os.path.join(folder, f"{name}.onnx"), input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {2: "h", 3: "w"}, "output": {2: "h2", 3: "w2"}}, opset_version=13)


if __name__ == "__main__":
    main()
