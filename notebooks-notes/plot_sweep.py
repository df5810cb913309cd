"""Plots a `hone sweep` results.json: Y-PSNR, LPIPS and overshoot per run.
Usage: /usr/bin/python3 plot_sweep.py results.json OUT.png "TITLE"  (needs python3-matplotlib)"""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows, out, title = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
names = [r["method"].replace("pixel=1.0 ", "").replace(" gram=0.0", "").replace(" ", "\n") for r in rows]
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
for ax, key, label in zip(axes, ("psnrY", "lpips", "overshootMean"),
                          ("Y-PSNR (dB, higher is better)", "LPIPS (lower is better)", "overshoot mean (8-bit levels, lower is better)")):
    values = [r[key] for r in rows]
    ax.bar(range(len(rows)), values, color=["#999999" if i < 2 else "#3366aa" for i in range(len(rows))])
    ax.set_xticks(range(len(rows)), names, fontsize=7)
    ax.set_title(label, fontsize=10)
    lo, hi = min(values), max(values)
    if key == "psnrY":
        ax.set_ylim(lo - 0.5, hi + 0.3)
    ax.grid(axis="y", alpha=0.3)
fig.suptitle(title)
fig.tight_layout()
fig.savefig(out, dpi=100)
