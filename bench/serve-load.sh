#!/usr/bin/env bash
# `hone serve` under load (issue: p95 API latency under 100 ms with 20 clients
# polling twice a second and one uploading at 10 MB/s, and the job no more
# than 10% slower than the same job from the CLI). Same run, same machine,
# alternated ROUNDS times: the CLI job (finetune, then infer with the
# comparison video), the served job alone (it also cuts 3 stills), and the
# served job under load.
# Usage: bench/serve-load.sh [VIDEO] [EPOCHS] [ROUNDS]   (default: bikes.mp4, 1, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
hone=.build/release/hone
video=${1:-$(bash scripts/fetch-demo-video.sh)}
epochs=${2:-1}
rounds=${3:-2}
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
# The uploader's file: a 5-second 720p clip of noise (about 95 MB), uploaded again and again.
ffmpeg -v error -nostdin -y -f lavfi -i "nullsrc=size=1280x720:rate=25,geq=random(1)*255:128:128" -t 5 -c:v libx264 -crf 10 -preset ultrafast -pix_fmt yuv420p "$work/upload.mp4"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; video $video, $epochs epoch(s)"
for round in $(seq "$rounds"); do
  start=$(date +%s.%N)
  $hone finetune --video "$video" --epochs "$epochs" -o "$work/cli.ckpt" >/dev/null 2>&1
  $hone infer --checkpoint "$work/cli.ckpt" -o "$work/cli.mp4" --compare "$work/cli-compare.mp4" >/dev/null 2>&1
  cli=$(echo "$(date +%s.%N) - $start" | bc)
  rm -f "$work"/cli*

  for clients in 0 20; do
    rm -rf "$work/data"
    $hone serve --port 0 --data "$work/data" > "$work/serve.log" &
    server=$!
    until grep -q "http://" "$work/serve.log"; do sleep 0.1; done
    url=$(grep -o "http://[^ ]*/" "$work/serve.log")
    # The clients stand for browsers on other machines: at nice 19 they take only what the server leaves.
    served[$clients]=$(nice -n 19 python3 bench/serve_load.py "$url" "$video" "$epochs" "$work/upload.mp4" $clients)
    # The server's CPU seconds by thread name: hone-jobs is the job, NIO-* the HTTP server.
    threads[$clients]=$(for t in /proc/$server/task/*; do echo "$(cat $t/comm) $(awk '{print $14 + $15}' $t/stat)"; done |
      awk -v hz="$(getconf CLK_TCK)" '{name = $1 ~ /^NIO-/ ? "NIO" : $1; cpu[name] += $2} END {for (n in cpu) if (cpu[n] > 0) printf "%s %.1f s, ", n, cpu[n] / hz}')
    kill $server; wait $server || true
  done
  echo "round $round: CLI ${cli} s"
  echo "  served alone:      ${served[0]}"
  echo "                     server CPU: ${threads[0]}"
  echo "  served under load: ${served[20]}"
  echo "                     server CPU: ${threads[20]}"
done
