"""Plots the loss logs that `hone pretrain --log` writes (step, quantity, value):
the training loss (mean of the last 50 steps) and the validation Y-PSNR.
Usage: /usr/bin/python3 plot_training.py OUT.png LABEL=LOG.tsv [LABEL=LOG.tsv ...]
(needs matplotlib: Debian's python3-matplotlib)."""
import csv
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

out, runs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
fig, (loss_ax, psnr_ax) = plt.subplots(1, 2, figsize=(11, 4))
for label, path in runs:
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    for ax, quantity in ((loss_ax, "loss"), (psnr_ax, "validation_psnr")):
        points = [(int(r["step"]), float(r["value"])) for r in rows if r["quantity"] == quantity]
        ax.plot([p[0] for p in points], [p[1] for p in points], label=label, marker="o" if quantity != "loss" else None, ms=3)
loss_ax.set(xlabel="step", ylabel="training loss (L1, mean of 50 steps)", yscale="log", title="training loss")
psnr_ax.set(xlabel="step", ylabel="Y-PSNR (dB)", title="validation: 5 held-out photographs")
for ax in (loss_ax, psnr_ax):
    ax.grid(alpha=0.3)
    ax.legend()
fig.tight_layout()
fig.savefig(out, dpi=100)
