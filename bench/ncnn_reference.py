#!/usr/bin/env python3
"""An ncnn model run by ncnn itself (the PyPI wheel `ncnn`), fp32 throughout: the
independent reference for Hone's graph runner (NCNNGraph).

    ncnn_reference.py MODEL.param MODEL.bin INPUT.f32 C H W OUTPUT.f32

INPUT.f32 holds C·H·W little-endian floats (one image, CHW); OUTPUT.f32 gets the
graph's output in the same layout, and its C H W are printed.
"""
import sys

import ncnn
import numpy as np


def main():
    param, weights, source, c, h, w, target = sys.argv[1:8]
    net = ncnn.Net()
    # Exact fp32 on the CPU: no fp16/bf16 storage or arithmetic, no Winograd or SGEMM rewrites' packing surprises.
    for flag in ("use_vulkan_compute", "use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic", "use_bf16_storage",
                 "use_int8_inference", "use_winograd_convolution", "use_sgemm_convolution"):
        if hasattr(net.opt, flag):
            setattr(net.opt, flag, False)
    net.opt.num_threads = 1
    net.load_param(param)
    net.load_model(weights)
    x = np.fromfile(source, dtype="<f4").reshape(int(c), int(h), int(w))
    ex = net.create_extractor()
    ex.input(net.input_names()[0], ncnn.Mat(x).clone())
    ret, y = ex.extract(net.output_names()[0])
    assert ret == 0, f"ncnn returned {ret}"
    y = np.array(y)
    y.astype("<f4").tofile(target)
    print(*y.shape)


if __name__ == "__main__":
    main()
