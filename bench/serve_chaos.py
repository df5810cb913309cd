#!/usr/bin/env python3
"""Chaos run for `hone serve`: jobs submitted by several clients while the
server is killed with SIGKILL at chosen moments (during an upload, during
fine-tuning, during encoding) and restarted each time; then a second server
whose data folder is a small tmpfs, so the disk fills up. Loopback only,
bounded in jobs, kills and time.

At the end every accepted job must be `done` exactly once with a result that
plays and equals the same job run alone (frame count, size, audio), or
`failed` with a one-line reason; no accepted upload lost; no temporary or
orphan file left; `PRAGMA integrity_check` ok. Prints the figures as one JSON
line and exits 1 on any violation. The seed is printed so a run can be replayed.

Usage: serve_chaos.py HONE [--jobs 32] [--clients 3] [--kills 21] [--disk-mb 3] [--seed N] [--short]
Standard library only (and ffmpeg/ffprobe for the clip and the checks).
"""
import argparse
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

parser = argparse.ArgumentParser()
parser.add_argument("hone")
parser.add_argument("--jobs", type=int, default=32)
parser.add_argument("--clients", type=int, default=3)
parser.add_argument("--kills", type=int, default=21)
parser.add_argument("--disk-mb", type=float, default=3.0)
parser.add_argument("--disk-jobs", type=int, default=4)
parser.add_argument("--seed", type=int)
parser.add_argument("--no-tmpfs", action="store_true", help="limit the file size instead of mounting a tmpfs (as where mount is not allowed)")
parser.add_argument("--short", action="store_true", help="the version in `make test`: 4 jobs, 3 kills, 2 jobs on a full disk")
parser.add_argument("--limit", type=float, default=1800, help="seconds before the run gives up")
args = parser.parse_args()
if args.short:
    args.jobs, args.clients, args.kills, args.disk_jobs = 4, 2, 3, 2
seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
print(f"seed {seed} (replay: serve_chaos.py HONE {'--short ' if args.short else ''}--seed {seed})", flush=True)
rng = random.Random(seed)
deadline = time.monotonic() + args.limit
work = tempfile.mkdtemp(prefix="hone-chaos-")
JOB_FILES = {"upload", "model.ckpt", "enhanced.mp4", "compare.mp4"}


def probe(path):
    """Frame count, size and audio of a result, by ffprobe."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                          "stream=codec_type,codec_name,width,height,nb_read_packets,duration", "-of", "json", path],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    streams = json.loads(out.stdout).get("streams", [])
    video = [s for s in streams if s["codec_type"] == "video"]
    audio = [s for s in streams if s["codec_type"] == "audio"]
    if not video:
        return None
    return {"frames": int(video[0]["nb_read_packets"]), "size": [video[0]["width"], video[0]["height"]],
            "audio": [(a["codec_name"], round(float(a.get("duration", 0)), 1)) for a in audio]}


class Server:
    """`hone serve` on a fixed loopback port, killed and restarted at will."""

    def __init__(self, data, port, limit_bytes=None):
        self.data, self.port, self.limit_bytes = data, port, limit_bytes
        self.process, self.starts = None, 0
        self.log = open(os.path.join(work, f"serve-{port}.log"), "a")

    def start(self):
        def limits():
            if self.limit_bytes:  # no tmpfs: files may not grow beyond the limit (EFBIG instead of SIGXFSZ)
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit_bytes, self.limit_bytes))
        self.process = subprocess.Popen([args.hone, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data", self.data,
                                         "--save-every", "0.05"], stdout=self.log, stderr=self.log, preexec_fn=limits)
        self.starts += 1
        while time.monotonic() < deadline:
            try:
                status, _ = call(self.port, "GET", "/api/jobs")
                if status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"hone serve exited with {self.process.returncode} at start; see {self.log.name}")
            time.sleep(0.05)

    def kill(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)


def call(port, method, path, body=None, headers=None, timeout=30):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_clip(path, seconds):
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=144x96:rate=25", "-f", "lavfi",
                    "-i", "sine", "-t", str(seconds), "-c:v", "libx264", "-c:a", "aac", "-shortest", path], check=True)
    with open(path, "rb") as f:
        return f.read()


clip = make_clip(os.path.join(work, "clip.mp4"), 1)
JOB_QUERY = "epochs=1&scale=2&preset=pixel-exact"


class Clients:
    """Threads submitting jobs, each upload sent slowly (so kills land in it) and
    retried with the same Idempotency-Key until the server answers it."""

    def __init__(self, server, jobs, clients):
        self.server, self.accepted, self.refused, self.keys = server, {}, {}, []
        self.uploading = threading.Event()
        self.lock = threading.Lock()
        shares = [jobs // clients + (1 if c < jobs % clients else 0) for c in range(clients)]
        self.threads = [threading.Thread(target=self.client, args=(c, n), daemon=True) for c, n in enumerate(shares)]

    def client(self, number, jobs):
        for j in range(jobs):
            key, name = str(uuid.uuid4()), f"client{number}-job{j}.mp4"
            with self.lock:
                self.keys.append(key)
            while time.monotonic() < deadline:
                try:
                    self.uploading.set()
                    status, body = call(self.server.port, "POST", f"/api/jobs?{JOB_QUERY}&name={name}",
                                        body=self.slowly(clip), headers={"Idempotency-Key": key, "Content-Length": str(len(clip))})
                except OSError:
                    time.sleep(0.2)  # the server is down: try again
                    continue
                finally:
                    self.uploading.clear()
                answer = json.loads(body or b"{}")
                if status == 429:  # the queue is full: wait for room, as a person would
                    time.sleep(1)
                    continue
                with self.lock:
                    if status in (200, 201):
                        self.accepted[key] = answer["id"]
                    else:
                        self.refused[key] = (status, answer.get("error", ""))
                break

    @staticmethod
    def slowly(data, chunks=8, seconds=0.4):
        for i in range(chunks):
            yield data[i * len(data) // chunks:(i + 1) * len(data) // chunks]
            time.sleep(seconds / chunks)

    def start(self):
        for t in self.threads:
            t.start()

    def running(self):
        return any(t.is_alive() for t in self.threads)


def jobs_of(port):
    status, body = call(port, "GET", "/api/jobs")
    return json.loads(body)["jobs"] if status == 200 else []


def wait_until_finished(server, ids):
    while time.monotonic() < deadline:
        try:
            states = {j["id"]: j["state"] for j in jobs_of(server.port)}
        except OSError:
            states = {}
        if states and all(states.get(i) in ("done", "failed", "cancelled") for i in ids):
            return
        time.sleep(0.25)
    raise SystemExit(f"jobs still unfinished after {args.limit:.0f} s; see {server.log.name}")


def check(data, reference, accepted, keys, figures, problems, expect_done):
    """Every accepted job done (result as the reference) or failed with one line; no orphans; the database sound."""
    database = sqlite3.connect(os.path.join(data, "jobs.sqlite"))
    integrity = database.execute("PRAGMA integrity_check").fetchone()[0]
    rows = {row[0]: row[1:] for row in database.execute("SELECT id, state, message, submission FROM job")}
    database.close()
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    lost = [key for key, job in accepted.items() if job not in rows]
    duplicated = sum(1 for _, _, submission in rows.values() if submission not in keys) \
        + len(rows) - len({submission for _, _, submission in rows.values()})
    done = failed = 0
    for key, job in accepted.items():
        if job not in rows:
            continue
        state, message, _ = rows[job]
        if state == "done":
            done += 1
            result = probe(os.path.join(data, "jobs", job, "enhanced.mp4"))
            if result != reference:
                problems.append(f"job {job}: result {result} differs from the job run alone {reference}")
        elif state == "failed":
            failed += 1
            if not message or "\n" in message:
                problems.append(f"job {job} failed without a one-line reason: {message!r}")
            if expect_done:
                problems.append(f"job {job} failed: {message}")
        else:
            problems.append(f"job {job} ended {state}")
    orphans = []
    for name in os.listdir(os.path.join(data, "jobs")):
        folder = os.path.join(data, "jobs", name)
        if name not in rows:
            orphans.append(folder)
            continue
        for file in os.listdir(folder):
            if file not in JOB_FILES and not (file.startswith("still-") and file.endswith(".png")):
                orphans.append(os.path.join(folder, file))
    for file in os.listdir(data):
        if file not in ("jobs", "jobs.sqlite", "jobs.sqlite-wal", "jobs.sqlite-shm"):
            orphans.append(os.path.join(data, file))
    if lost:
        problems.append(f"accepted and lost: {lost}")
    if duplicated:
        problems.append(f"{duplicated} jobs more than submissions")
    if orphans:
        problems.append(f"left over: {orphans}")
    figures["failures"] = sorted({rows[job][1] for job in accepted.values() if job in rows and rows[job][0] == "failed"})
    figures.update(accepted=len(accepted), done=done, failed=failed, lost=len(lost), duplicated=duplicated, orphans=len(orphans),
                   integrity=integrity)


def jobs_of_database(data):
    database = sqlite3.connect(os.path.join(data, "jobs.sqlite"))
    try:
        return database.execute("SELECT state, message FROM job").fetchall()
    finally:
        database.close()


# The job run alone, with no kills: what every result must equal.
alone = Server(os.path.join(work, "alone"), free_port())
alone.start()
status, body = call(alone.port, "POST", f"/api/jobs?{JOB_QUERY}&name=alone.mp4", body=clip)
job = json.loads(body)["id"]
started = time.monotonic()
wait_until_finished(alone, [job])
job_seconds = time.monotonic() - started
reference = probe(os.path.join(alone.data, "jobs", job, "enhanced.mp4"))
alone.stop()
print(f"the job alone: {job_seconds:.1f} s, {reference}", flush=True)
if reference is None:
    raise SystemExit(f"the job run alone has no result: {jobs_of_database(alone.data)}; see {alone.log.name}")

# Kills while jobs come in and run.
server = Server(os.path.join(work, "chaos"), free_port())
server.start()
clients = Clients(server, args.jobs, args.clients)
clients.start()
kills = {"upload": 0, "fine-tune": 0, "upscale and encode": 0, "other": 0}
targets = ["upload", "fine-tune", "upscale and encode"]
def pending():
    try:
        return clients.running() or any(j["state"] in ("queued", "running") for j in jobs_of(server.port))
    except OSError:
        return True


for k in range(args.kills):
    if not pending():
        break
    target = targets[k % len(targets)]
    waited = time.monotonic()
    hit = "other"
    while time.monotonic() - waited < 30 and time.monotonic() < deadline:
        if target == "upload" and clients.uploading.is_set():
            hit = "upload"
            break
        if target != "upload":
            try:
                running = [j for j in jobs_of(server.port) if j["state"] == "running" and j.get("progress")]
            except OSError:
                running = []
            if any(j["progress"]["stage"] == target for j in running):
                hit = target
                break
        time.sleep(0.02)
    time.sleep(rng.uniform(0, 0.3))
    server.kill()
    kills[hit] += 1
    time.sleep(rng.uniform(0, 0.5))
    server.start()
while clients.running() and time.monotonic() < deadline:
    time.sleep(0.2)
wait_until_finished(server, list(clients.accepted.values()))
server.stop()
figures, problems = {"seed": seed, "job_alone_s": round(job_seconds, 1), "kills": kills, "restarts": server.starts - 1}, []
check(server.data, reference, clients.accepted, set(clients.keys), figures, problems, expect_done=True)
figures["refused"] = len(clients.refused)
for key, (status, error) in clients.refused.items():
    problems.append(f"submission refused: {status} {error}")
if sum(kills.values()) < args.kills:
    problems.append(f"the jobs ran out after {sum(kills.values())} of {args.kills} kills; submit more")

# A disk that fills up: a small tmpfs as the data folder (or, where it cannot be mounted, files limited in size).
disk = os.path.join(work, "disk")
os.makedirs(disk)
mounted = not args.no_tmpfs and subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(args.disk_mb * 1024)}k", "tmpfs", disk],
                         capture_output=True).returncode == 0
full = Server(os.path.join(disk, "data"), free_port(), limit_bytes=None if mounted else int(args.disk_mb * 2 ** 20))
try:
    full.start()
    fill = Clients(full, args.disk_jobs, 1)
    fill.start()
    while fill.running() and time.monotonic() < deadline:
        time.sleep(0.2)
    wait_until_finished(full, list(fill.accepted.values()))
    # An upload larger than the room left: refused (507), nothing kept.
    try:
        status, body = call(full.port, "POST", "/api/jobs?name=big.mp4", body=os.urandom(int(args.disk_mb * 2 * 2 ** 20)))
        big = (status, json.loads(body or b"{}").get("error", ""))
    except OSError as error:
        big = (0, str(error))
    full.stop()
    disk_figures = {"filesystem": "tmpfs" if mounted else "RLIMIT_FSIZE", "megabytes": args.disk_mb}
    check(full.data, reference, fill.accepted, set(fill.keys), disk_figures, problems, expect_done=False)
    disk_figures["refused"] = {f"{status}": error for status, error in list(fill.refused.values()) + [big]}
    if big[0] != 507:
        problems.append(f"an upload larger than the disk got {big}, not 507")
    for status, error in fill.refused.values():
        if status != 507 or "\n" in error:
            problems.append(f"on a full disk, an upload was refused with {status} {error!r}")
    figures["full_disk"] = disk_figures
finally:
    if full.process and full.process.poll() is None:
        full.kill()
    if mounted:
        subprocess.run(["umount", disk])

figures["problems"] = problems
print(json.dumps(figures), flush=True)
if not problems:
    shutil.rmtree(work, ignore_errors=True)
else:
    print(f"kept {work} for a look", flush=True)
sys.exit(1 if problems else 0)
