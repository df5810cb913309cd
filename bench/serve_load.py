#!/usr/bin/env python3
"""Load on `hone serve` while a job runs: CLIENTS threads poll the job's
status (each POLL_HZ times a second) and one thread uploads UPLOAD over and
over at UPLOAD_MBPS megabytes a second (a person's upload over a fast
network; each new job is deleted at once, so the queue stays short). With
CLIENTS = 0 there is no load. Prints one JSON line: the running job's wall
time in the server, the latencies (ms) of the status polls and of the
uploads, and how many requests failed.

Usage: serve_load.py URL VIDEO EPOCHS UPLOAD [CLIENTS] [POLL_HZ] [UPLOAD_MBPS]
Standard library only.
"""
import json
import sys
import threading
import time
import urllib.request

url, video, epochs, upload = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
clients = int(sys.argv[5]) if len(sys.argv) > 5 else 20
poll_hz = float(sys.argv[6]) if len(sys.argv) > 6 else 2.0
upload_mbps = float(sys.argv[7]) if len(sys.argv) > 7 else 10.0


def request(method, path, body=None):
    req = urllib.request.Request(url.rstrip("/") + path, data=body, method=method)
    with urllib.request.urlopen(req, timeout=60) as answer:
        return answer.status, answer.read()


with open(video, "rb") as f:
    status, body = request("POST", f"/api/jobs?epochs={epochs}&name=load.mp4", f.read())
job = json.loads(body)["id"]
with open(upload, "rb") as f:
    upload_bytes = f.read()

done = threading.Event()
polls, uploads, failures = [], [], [0]
lock = threading.Lock()


def poller():
    while not done.is_set():
        start = time.perf_counter()
        try:
            request("GET", f"/api/jobs/{job}")
            with lock:
                polls.append((time.perf_counter() - start) * 1000)
        except Exception:
            with lock:
                failures[0] += 1
        time.sleep(max(0, 1 / poll_hz - (time.perf_counter() - start)))


def paced(data, chunk=64 * 1024):
    """The upload in chunks, sent no faster than upload_mbps."""
    start = time.perf_counter()
    for offset in range(0, len(data), chunk):
        ahead = offset / (upload_mbps * 1e6) - (time.perf_counter() - start)
        if ahead > 0:
            time.sleep(ahead)
        yield data[offset:offset + chunk]


def uploader():
    while not done.is_set():
        start = time.perf_counter()
        try:
            req = urllib.request.Request(url.rstrip("/") + "/api/jobs?epochs=1&name=extra.mp4", data=paced(upload_bytes), method="POST",
                                         headers={"Content-Length": str(len(upload_bytes))})
            with urllib.request.urlopen(req, timeout=120) as response:
                answer = response.read()
            with lock:
                uploads.append((time.perf_counter() - start) * 1000)
            request("DELETE", f"/api/jobs/{json.loads(answer)['id']}")
        except Exception:
            with lock:
                failures[0] += 1


# Wait for the job to start before loading the server.
while json.loads(request("GET", f"/api/jobs/{job}")[1])["state"] == "queued":
    time.sleep(0.2)
threads = [threading.Thread(target=poller) for _ in range(clients)] + ([threading.Thread(target=uploader)] if clients else [])
for t in threads:
    t.start()
while True:
    state = json.loads(request("GET", f"/api/jobs/{job}")[1])
    if state["state"] in ("done", "failed", "cancelled"):
        break
    time.sleep(0.5)
done.set()
for t in threads:
    t.join()


def percentile(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))], 1) if values else None


print(json.dumps({"client_cpu_s": round(time.process_time(), 1), "state": state["state"], "job_seconds": round(state["finished"] - state["started"], 2),
                  "polls": len(polls), "poll_p50_ms": percentile(polls, 50), "poll_p95_ms": percentile(polls, 95),
                  "poll_max_ms": round(max(polls), 1) if polls else None,
                  "uploads": len(uploads), "upload_p50_ms": percentile(uploads, 50), "upload_p95_ms": percentile(uploads, 95),
                  "failures": failures[0]}))
