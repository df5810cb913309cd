"""Any ncnn graph of the layers Hone's NCNNGraph runs, as a PyTorch module: the
PyTorch twin of Real-CUGAN and waifu2x (and the source of their ONNX exports) for
bench/runtimes.py. Layers follow ncnn's semantics (src/layer/*.cpp), as NCNNGraph does;
the input is padded by the graph's prepadding (mirrored, as Real-CUGAN's reference
code pads) before the graph.

    ncnn_torch.py run PARAM PREPADDING INPUT.f32 H W OUTPUT.f32   # [1,3,H,W] float32 in, the graph's output out
"""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from realesrgan_twin import read_ncnn


def activation(params):
    """ncnn's fused activation (9=type, 10=parameters)."""
    slope = params.get(10, [0.0])
    return {0: lambda x: x, 1: F.relu, 2: lambda x: F.leaky_relu(x, slope[0]), 4: torch.sigmoid}[params.get(9, 0)]


class NCNNGraph(nn.Module):
    def __init__(self, param_path, prepadding):
        super().__init__()
        self.prepadding = prepadding
        self.layers, self.weights = [], nn.ParameterList()
        for kind, name, bottoms, tops, params, blobs in read_ncnn(param_path, param_path[:-len(".param")] + ".bin"):
            index = len(self.weights)
            for b in blobs:
                self.weights.append(nn.Parameter(torch.from_numpy(b), requires_grad=False))
            self.layers.append((kind, bottoms, tops, params, index, len(blobs)))

    def step(self, kind, xs, params, w):
        if kind == "Convolution":
            pad = params.get(4, 0)
            return activation(params)(F.conv2d(xs[0], w[0], w[1] if len(w) > 1 else None, stride=params.get(3, 1), padding=pad))
        if kind == "Deconvolution":  # ncnn keeps [out, in, k, k]; PyTorch's transposed convolution [in, out, k, k]
            y = F.conv_transpose2d(xs[0], w[0].transpose(0, 1), w[1] if len(w) > 1 else None, stride=params.get(3, 1), padding=params.get(4, 0))
            return activation(params)(y)
        if kind == "InnerProduct":
            n, c = xs[0].shape[:2]
            y = F.linear(xs[0].reshape(n, c), w[0].reshape(w[0].shape[0], -1), w[1] if len(w) > 1 else None)
            return activation(params)(y).reshape(n, -1, 1, 1)
        if kind == "Pooling":
            return F.adaptive_avg_pool2d(xs[0], 1)
        if kind == "ReLU":
            return F.leaky_relu(xs[0], params[0]) if params.get(0, 0) else F.relu(xs[0])
        if kind == "Sigmoid":
            return torch.sigmoid(xs[0])
        if kind == "PReLU":
            return F.prelu(xs[0], w[0])
        if kind == "BinaryOp":
            op = params.get(0, 0)
            b = torch.tensor(params[2]) if params.get(1, 0) else xs[1]
            return {0: torch.add, 1: torch.sub, 2: torch.mul}[op](xs[0], b)
        if kind == "Eltwise":
            op = params.get(0, 1)
            if op == 0:
                return xs[0] * xs[1]
            coefficients = params.get(1, [1.0] * len(xs))
            return sum(c * x for c, x in zip(coefficients, xs))
        if kind == "Scale":
            return xs[0] * xs[1]
        if kind == "Concat":
            return torch.cat(xs, 1)
        if kind == "Interp":
            mode = {1: "nearest", 2: "bilinear"}[params[0]]
            return F.interpolate(xs[0], scale_factor=params[1], mode=mode, align_corners=None if mode == "nearest" else False)
        if kind == "PixelShuffle":
            return F.pixel_shuffle(xs[0], params[0])
        if kind == "Crop":
            if len(xs) == 2:
                top, left = params.get(1, 0), params.get(0, 0)
                return xs[0][..., top:top + xs[1].shape[2], left:left + xs[1].shape[3]]
            (t, l), (b, r) = [int(v) for v in params[9]], [int(v) for v in params[10]]
            return xs[0][..., t:b, l:r]
        raise SystemExit(f"ncnn_torch: layer kind {kind} is not built")

    def forward(self, x):
        p = self.prepadding
        blobs = {}
        x = F.pad(x, (p, p, p, p), mode="reflect") if p else x
        for kind, bottoms, tops, params, index, count in self.layers:
            if kind == "Input":
                blobs[tops[0]] = x
                continue
            xs = [blobs[b] for b in bottoms]
            if kind == "Split":
                for t in tops:
                    blobs[t] = xs[0]
                continue
            blobs[tops[0]] = self.step(kind, xs, params, list(self.weights[index:index + count]))
        return blobs[self.layers[-1][2][0]]


def main():
    param, prepadding, source, h, w, target = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
    net = NCNNGraph(param, prepadding).eval()
    x = torch.from_numpy(np.fromfile(source, "<f4").reshape(1, 3, h, w))
    with torch.no_grad():
        net(x).numpy().astype("<f4").tofile(target)


if __name__ == "__main__":
    main()
