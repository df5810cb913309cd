"""The ground-truth benches' results: `hone evaluate --json` reports in OUT whose names end in -TAG.json
(OUT and TAG are the script's first two arguments), each with its clip's file name as "clip" and
its methods by name as "by"."""
import glob
import json
import os
import sys


def runs():
    out, tag = sys.argv[1], sys.argv[2]
    for path in sorted(glob.glob(f"{out}/*-{tag}.json")):
        with open(path) as f:
            report = json.load(f)
        report["clip"] = os.path.basename(report["groundTruth"])
        report["by"] = {m["method"]: m for m in report["methods"]}
        yield report
