"""Hone's networks on the CPU runtimes a user would otherwise reach for (issue 35):
PyTorch (Debian's), ONNX Runtime and OpenVINO (PyPI), on the same weights, the
same number of threads, static shapes. The networks are the PyTorch twins
(bench/hone_twin.py, bench/realesrgan_twin.py, bench/ncnn_torch.py), exported to ONNX for the other two.

    runtimes.py export OUT_DIR                      # ONNX files for both shapes
    runtimes.py speed ENGINE MODEL REPEATS OUT_DIR  # JSON: fps (median after one warm-up) and the precision used
    runtimes.py quality ENGINE MODEL OUT_DIR VIDEO  # JSON: Y-PSNR against the truth, the mean over 4 of VIDEO's 640×360 frames
    runtimes.py cpu                                 # the CPU and OpenVINO's view of it

ENGINE: torch, onnxruntime, openvino-f32, openvino (its default precision on this CPU); for quality
also hone (`hone infer` on the frames as PNGs: the twins checked against Hone) and bicubic (MODEL ignored).
MODEL: default (base-x2's weights), fast (the fast tier, base-x2-fast's weights),
animevideov3 (realesrgan-animevideov3-x2 from the sr-vulkan wheel), realcugan (realcugan-se-x2, its ncnn graph
as a PyTorch module: bench/ncnn_torch.py).
Speed runs on 640×360 inputs; quality on four of the video's frames (every 50th, read by FFmpeg)
shrunk ×2 (bicubic, antialiased) to 320×180, scored against the frames (BT.601 luma, 2-pixel border cropped).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from hone_twin import SRNet, load_safetensors, matlab_bicubic_x2
from ncnn_torch import NCNNGraph
from realesrgan_twin import build

threads = 2
torch.set_num_threads(threads)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shapes = {"speed": (360, 640), "quality": (180, 320)}


def network(model):
    if model == "default":
        net = SRNet(40, 5, prelu=True)
        net.load(load_safetensors(os.path.join(root, "checkpoints/base-x2.safetensors")))
    elif model == "fast":
        net = SRNet(16, 2, prelu=False)
        net.load(load_safetensors(os.path.join(root, "checkpoints/base-x2-fast.safetensors")))
    elif model == "animevideov3":
        net = build(os.environ["ANIME_PARAM"])
    elif model == "realcugan":
        net = NCNNGraph(os.environ["CUGAN_PARAM"], 18)  # Real-CUGAN's prepadding at ×2, as Hone finds it
    else:
        raise SystemExit(f"unknown model {model}")
    return net.eval()


def onnx_path(out, model, use):
    return os.path.join(out, f"{model}-{use}.onnx")


def export(out):
    os.makedirs(out, exist_ok=True)
    for model in ("default", "fast", "animevideov3", "realcugan"):
        net = network(model)
        for use, (h, w) in shapes.items():
            with torch.no_grad():
                torch.onnx.export(net, torch.rand(1, 3, h, w), onnx_path(out, model, use), opset_version=13,
                                  input_names=["input"], output_names=["output"])


def engine(name, model, use, out):
    """A function from a [1, 3, h, w] float32 array to the output array, and the precision it computes in."""
    if name == "torch":
        net = network(model)
        def run(x):
            with torch.no_grad():
                return net(torch.from_numpy(x)).numpy()
        return run, "f32"
    if name == "onnxruntime":
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(onnx_path(out, model, use), options, providers=["CPUExecutionProvider"])
        return (lambda x: session.run(None, {"input": x})[0]), "f32"
    if name in ("openvino", "openvino-f32"):
        import openvino as ov
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
        if name == "openvino-f32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        compiled = ov.Core().compile_model(onnx_path(out, model, use), "CPU", config)
        request = compiled.create_infer_request()
        return (lambda x: request.infer({0: x})[0]), compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
    if name == "bicubic":  # MATLAB's, the baseline every quality figure stands beside
        return (lambda x: matlab_bicubic_x2(torch.from_numpy(x)).numpy()), "f32"
    if name == "hone":
        # `hone infer` on the picture as a PNG (8-bit in and out): Hone's output, to check the twins against.
        checkpoint = {"default": os.path.join(root, "checkpoints/base-x2.safetensors"), "animevideov3": "realesrgan-animevideov3-x2",
                      "realcugan": "realcugan-se-x2",
                      "fast": os.path.join(root, "checkpoints/base-x2-fast.safetensors")}[model]
        def run(x):
            (h, w), png = x.shape[2:], os.path.join(out, "hone-in.png")
            rgb = np.round(x[0].transpose(1, 2, 0) * 255).astype(np.uint8).tobytes()
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", "-", png], input=rgb, check=True)
            subprocess.run([os.path.join(root, ".build/release/hone"), "infer", "--checkpoint", checkpoint, "--video", png,
                            "-o", os.path.join(out, "hone-out.png")], check=True, capture_output=True)
            raw = subprocess.run(["ffmpeg", "-v", "error", "-i", os.path.join(out, "hone-out.png"), "-pix_fmt", "rgb24", "-f", "rawvideo", "-"],
                                 capture_output=True, check=True).stdout
            return (np.frombuffer(raw, np.uint8).reshape(2 * h, 2 * w, 3).transpose(2, 0, 1)[None] / 255).astype(np.float32)
        return run, "f32"
    raise SystemExit(f"unknown engine {name}")


def speed(name, model, repeats, out):
    run, precision = engine(name, model, "speed", out)
    x = np.random.default_rng(3).random((1, 3) + shapes["speed"], dtype=np.float32)
    run(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t0)
    return {"fps": 1 / sorted(times)[len(times) // 2], "precision": precision}


def luma(rgb):
    """MATLAB's BT.601 Y (16–235) of [h, w, 3] values in 0–255."""
    return 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255


def quality(name, model, out, video):
    run, precision = engine(name, model, "quality", out)
    (h, w), n = shapes["speed"], 4
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", video, "-vf", f"select='not(mod(n\\,50))',scale={w}:{h}", "-vsync", "0",
                          "-frames:v", str(n), "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], capture_output=True, check=True).stdout
    truth = np.frombuffer(raw, np.uint8).reshape(n, h, w, 3)
    scores = []
    for frame in truth:
        hr = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255
        lr = F.interpolate(hr, scale_factor=0.5, mode="bicubic", align_corners=False, antialias=True)
        lr = (lr.clamp(0, 1) * 255).round() / 255
        sr = np.clip(run(lr.numpy().astype(np.float32))[0].transpose(1, 2, 0), 0, 1)
        sr = np.round(sr * 255)
        diff = (luma(sr) - luma(frame.astype(np.float64)))[2:-2, 2:-2]
        scores.append(10 * np.log10(255**2 / np.mean(diff**2)))
    return {"psnrY": float(np.mean(scores)), "precision": precision}


def cpu():
    import openvino as ov
    core = ov.Core()
    name = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_int8"]
    return {"cpu": name, "cores": os.cpu_count(), "features": [f for f in wanted if f in flags],
            "openvino": ov.__version__, "openvino_capabilities": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
            "onnxruntime": __import__("onnxruntime").__version__, "torch": torch.__version__}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "export":
        export(sys.argv[2])
    elif mode == "speed":
        print(json.dumps(speed(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])))
    elif mode == "quality":
        print(json.dumps(quality(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])))
    elif mode == "cpu":
        print(json.dumps(cpu()))
