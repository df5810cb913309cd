"""PyTorch twin of Hone's imported Real-ESRGAN networks: the reference for
Hone's outputs and the peer for its speed.

It reads the ncnn files itself (numpy; ncnn's .param text and .bin blocks) and
builds SRVGGNetCompact or RRDBNet as BasicSR writes them, with the ×2/×3
files' final bicubic resize as torch's interpolate (ncnn's Interp type 3 is
the same a = -0.75, half-pixel, clamped-edge bicubic).

    realesrgan_twin.py run PARAM INPUT.f32 H W OUTPUT.f32   # [1,3,H,W] float32 in, [1,3,H*s,W*s] out
    realesrgan_twin.py speed PARAM H W REPEATS              # JSON: model-only seconds per frame, training step seconds
    realesrgan_twin.py onnx PARAM OUTPUT.onnx                # the twin exported to ONNX (opset 13, any input size)
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_ncnn(param_path, bin_path):
    """Layers as (kind, name, bottoms, tops, params, blobs), in file order."""
    lines = [l.split() for l in open(param_path).read().splitlines() if l.strip()]
    assert lines[0] == ["7767517"], "not an ncnn param file"
    data, offset, layers = open(bin_path, "rb").read(), 0, []

    def raw(n):
        nonlocal offset
        a = np.frombuffer(data, "<f4", n, offset).copy()
        offset += 4 * n
        return a

    def tagged(n):
        nonlocal offset
        tag = int.from_bytes(data[offset:offset + 4], "little")
        offset += 4
        if tag == 0x01306B47:
            a = np.frombuffer(data, "<f2", n, offset).astype(np.float32)
            offset += (2 * n + 3) // 4 * 4
            return a
        assert tag == 0, f"weight storage {tag:#x} not read by the twin"
        return raw(n)

    for words in lines[2:]:
        kind, name, n_in, n_out = words[0], words[1], int(words[2]), int(words[3])
        bottoms, tops = words[4:4 + n_in], words[4 + n_in:4 + n_in + n_out]
        params = {}
        for item in words[4 + n_in + n_out:]:
            k, v = item.split("=")
            k = int(k)
            if k <= -23300:
                params[-23300 - k] = [float(x) for x in v.split(",")[1:]]
            else:
                params[k] = float(v) if any(c in v for c in ".eE") else int(v)
        blobs = []
        if kind in ("Convolution", "Deconvolution"):
            out, k, size = params[0], params[1], params[6]
            blobs.append(tagged(size).reshape(out, size // (out * k * k), k, k))
            if params.get(5, 0):
                blobs.append(raw(out))
        elif kind == "InnerProduct":
            out, size = params[0], params[2]
            blobs.append(tagged(size).reshape(out, size // out))
            if params.get(1, 0):
                blobs.append(raw(out))
        elif kind == "PReLU":
            blobs.append(raw(params[0]))
        layers.append((kind, name, bottoms, tops, params, blobs))
    assert offset == len(data), "the .bin has bytes the .param does not read"
    return layers


class SRVGGNetCompact(nn.Module):
    def __init__(self, channels, convs, r, scale):
        super().__init__()
        self.r, self.scale = r, scale
        body = [nn.Conv2d(3, channels, 3, 1, 1), nn.PReLU(channels)]
        for _ in range(convs):
            body += [nn.Conv2d(channels, channels, 3, 1, 1), nn.PReLU(channels)]
        body.append(nn.Conv2d(channels, 3 * r * r, 3, 1, 1))
        self.body = nn.Sequential(*body)

    def forward(self, x):
        out = F.pixel_shuffle(self.body(x), self.r) + F.interpolate(x, scale_factor=self.r, mode="nearest")
        if self.scale != self.r:
            out = F.interpolate(out, size=(x.shape[2] * self.scale, x.shape[3] * self.scale), mode="bicubic", align_corners=False)
        return out


class RDB(nn.Module):
    def __init__(self, c, g=32):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(c + i * g, c if i == 4 else g, 3, 1, 1) for i in range(5)])

    def forward(self, x):
        feats = [x]
        for conv in self.convs[:4]:
            feats.append(F.leaky_relu(conv(torch.cat(feats, 1)), 0.2))
        return self.convs[4](torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.rdbs = nn.Sequential(RDB(c), RDB(c), RDB(c))

    def forward(self, x):
        return self.rdbs(x) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, c, blocks):
        super().__init__()
        self.conv_first = nn.Conv2d(3, c, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(c) for _ in range(blocks)])
        self.conv_body = nn.Conv2d(c, c, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(c, c, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(c, c, 3, 1, 1)
        self.conv_hr = nn.Conv2d(c, c, 3, 1, 1)
        self.conv_last = nn.Conv2d(c, 3, 3, 1, 1)

    def forward(self, x):
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))


def build(param_path):
    layers = read_ncnn(param_path, param_path[:-len(".param")] + ".bin")
    convs = [l for l in layers if l[0] == "Convolution"]
    slopes = [l[5][0] for l in layers if l[0] == "PReLU"]
    if not slopes:
        net = RRDBNet(convs[0][4][0], (len(convs) - 6) // 15)
    else:
        r = int(round((convs[-1][4][0] / 3) ** 0.5))
        resize = [l for l in layers if l[0] == "Interp" and l[4].get(0) == 3]
        scale = int(round(r * resize[0][4][1])) if resize else r
        net = SRVGGNetCompact(convs[0][4][0], len(convs) - 2, r, scale)
    modules = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    prelus = [m for m in net.modules() if isinstance(m, nn.PReLU)]
    assert len(modules) == len(convs) and len(prelus) == len(slopes)
    with torch.no_grad():
        for m, layer in zip(modules, convs):
            m.weight.copy_(torch.from_numpy(layer[5][0]))
            m.bias.copy_(torch.from_numpy(layer[5][1]))
        for m, s in zip(prelus, slopes):
            m.weight.copy_(torch.from_numpy(s))
    return net.eval()


def main():
    torch.set_num_threads(os.cpu_count() or 1)
    mode, param = sys.argv[1], sys.argv[2]
    net = build(param)
    if mode == "run":
        h, w = int(sys.argv[4]), int(sys.argv[5])
        x = torch.from_numpy(np.fromfile(sys.argv[3], "<f4").reshape(1, 3, h, w))
        with torch.no_grad():
            net(x).numpy().astype("<f4").tofile(sys.argv[6])
        return
    if mode == "onnx":
        torch.onnx.export(net, torch.rand(1, 3, 32, 32), sys.argv[3], input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {2: "h", 3: "w"}, "output": {2: "h2", 3: "w2"}}, opset_version=13)
        return
    h, w, repeats = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    x = torch.rand(1, 3, h, w)

    def median(body):
        body()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            body()
            times.append(time.perf_counter() - t0)
        return sorted(times)[len(times) // 2]

    with torch.no_grad():
        infer = median(lambda: net(x))
    # A fine-tuning step as Hone takes it: batch 16 of 24² crops (96² targets at ×4), L1, Adam.
    net.train()
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    s = net.scale if hasattr(net, "scale") else 4
    crops, targets = torch.rand(16, 3, 96 // s, 96 // s), torch.rand(16, 3, 96, 96)

    def step():
        opt.zero_grad()
        F.l1_loss(net(crops), targets).backward()
        opt.step()

    print(json.dumps({"infer_seconds": infer, "train_step_seconds": median(step), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
