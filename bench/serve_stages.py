#!/usr/bin/env python3
"""Times each stage of one served job (decode, fine-tune, upscale and encode,
stills) by polling its status every 0.1 s. Standard library only.

Usage: serve_stages.py URL VIDEO [EPOCHS]   (URL of a running `hone serve`)
Prints the seconds per stage as JSON, then the job's wall time.
"""
import json
import sys
import time
import urllib.request

url, video = sys.argv[1].rstrip("/") + "/", sys.argv[2]
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1


def call(path, data=None, method="GET"):
    with urllib.request.urlopen(urllib.request.Request(url + path, data=data, method=method)) as answer:
        return json.loads(answer.read())


with open(video, "rb") as f:
    job = call(f"api/jobs?epochs={epochs}&name=timed.mp4", f.read(), "POST")["id"]
stages, stage, since = {}, None, time.time()
while True:
    status = call(f"api/jobs/{job}")
    now_stage, now = (status.get("progress") or {}).get("stage", status["state"]), time.time()
    if now_stage != stage:
        if stage:
            stages[stage] = stages.get(stage, 0) + now - since
        stage, since = now_stage, now
    if status["state"] in ("done", "failed", "cancelled"):
        break
    time.sleep(0.1)
print(json.dumps({k: round(v, 1) for k, v in stages.items()}), round(status["finished"] - status["started"], 1))
