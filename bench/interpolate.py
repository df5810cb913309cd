"""Weight-space interpolation of a fine-tuned checkpoint with its base (WiSE-FT,
Wortsman et al., CVPR 2022): w = (1 - alpha) * base + alpha * tuned, for the
tensors both hold with the same shape; tensors only the tuned model has (a
multi-frame model's fuse.weight) are scaled by alpha. Metadata is the tuned
checkpoint's, so `hone evaluate --resume -o OUT` scores it as its fine-tuned model.

    python3 bench/interpolate.py BASE TUNED ALPHA OUT
"""
import json, struct, sys
import numpy as np

def read(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    dtypes = {"F32": np.float32, "F16": np.float16}
    tensors = {name: np.frombuffer(body[e["data_offsets"][0]:e["data_offsets"][1]], dtype=dtypes[e["dtype"]]).astype(np.float32).reshape(e["shape"])
               for name, e in header.items()}
    return tensors, meta

def write(path, tensors, meta):
    header, offset, blobs = {"__metadata__": meta}, 0, []
    for name, t in tensors.items():
        b = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b); blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h); [f.write(b) for b in blobs]

base, _ = read(sys.argv[1])
tuned, meta = read(sys.argv[2])
alpha = float(sys.argv[3])
out = {name: (1 - alpha) * base[name] + alpha * t if name in base and base[name].shape == t.shape else alpha * t
       for name, t in tuned.items() if not name.startswith(("resume.", "optimizer."))}
write(sys.argv[4], out, meta)
