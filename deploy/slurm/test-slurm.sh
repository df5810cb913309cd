#!/bin/bash
# The Slurm path for real: a single-node Slurm (Debian's slurm-wlm with munge)
# started here, deploy/slurm/run.sh with three segments as a job array, then the
# join; the result must equal one `hone infer` (frames, timestamps, audio).
#   deploy/slurm/test-slurm.sh HONE_BINARY WORK_FOLDER
# Exit 0 passed, 77 skipped (says why: no Slurm, not root, daemons do not start), else failed.
# How such a Slurm starts on these machines: ../shared/notes/single-node-slurm.md.
set -euo pipefail
HONE=$(realpath "$1"); WORK=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
skip() { echo "skipped: $*"; exit 77; }
for tool in sbatch sinfo slurmctld slurmd munged munge ffmpeg; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (apt-get install slurm-wlm munge ffmpeg)"
done
[ "$(id -u)" = 0 ] || skip "the Slurm daemons run as root here"

STATE=$WORK/slurm
mkdir -p "$STATE"/{spool,state,log,run}
started_munge=""
cleanup() {
    pids=()
    for f in "$STATE/run/slurmd.pid" "$STATE/run/slurmctld.pid" ${started_munge:+/run/munge/munged.pid}; do
        [ -s "$f" ] && pids+=("$(cat "$f")")
    done
    [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
    # Gone before the next run binds the same ports.
    for _ in $(seq 20); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.5; done
    return 0
}
trap cleanup EXIT

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
    chmod 400 /etc/munge/munge.key
    su -s /bin/sh munge -c munged || skip "munged does not start"
    started_munge=1
    munge -n | unmunge >/dev/null || skip "munge does not authenticate"
fi

host=$(hostname -s)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
export SLURM_CONF=$STATE/slurm.conf
cat > "$SLURM_CONF" <<CONF
ClusterName=hone-test
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmUser=root
JobAcctGatherType=jobacct_gather/none
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmdSpoolDir=$STATE/spool
StateSaveLocation=$STATE/state
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ReturnToService=2
NodeName=$host CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=hone Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -i || skip "slurmctld does not start (see $STATE/log/slurmctld.log)"
slurmd || skip "slurmd does not start (see $STATE/log/slurmd.log)"
for _ in $(seq 30); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %t | grep -q idle || skip "the node does not come up: $(sinfo -h 2>&1 | head -1)"

# A clip with sound whose cuts fall between keyframes, one run of it, then the cluster's.
clip=$WORK/clip.mp4
ffmpeg -v error -nostdin -y -f lavfi -i testsrc2=size=96x64:rate=25 -f lavfi -i sine -t 3 \
    -c:v libx264 -pix_fmt yuv420p -g 7 -bf 3 -c:a aac -shortest "$clip"
"$HONE" infer --checkpoint bicubic --video "$clip" --codec ffv1 -o "$WORK/single.mkv" >/dev/null 2>&1
submitted=$(HONE="$HONE" HONE_SEGMENT_OPTIONS="--codec ffv1" FOLDER=$WORK/segments "$HERE/run.sh" "$clip" bicubic 3 "$WORK/joined.mkv" --codec ffv1)
echo "$submitted"
join=$(sed -n 's/^join: job \([0-9]*\).*/\1/p' <<< "$submitted")
# Polled here rather than with sbatch --wait, which checks only every few seconds.
state=""
for _ in $(seq 240); do
    state=$(scontrol show job "$join" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
    case $state in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break;; esac
    sleep 0.5
done
[ "$state" = COMPLETED ] || { echo "the join job ended $state"; cat "$WORK"/segments/*.log; exit 1; }
for n in 1 2 3; do [ -s "$WORK/segments/part${n}of3.mkv" ] || { echo "segment $n/3 missing"; exit 1; }; done
frames() { ffmpeg -v error -nostdin -i "$1" -map "0:$2" ${3:+-c copy} -f framemd5 - | grep -v '^#'; }
diff <(frames "$WORK/single.mkv" v) <(frames "$WORK/joined.mkv" v) >/dev/null || { echo "joined frames differ from one run"; exit 1; }
diff <(frames "$WORK/single.mkv" a copy) <(frames "$WORK/joined.mkv" a copy) >/dev/null || { echo "joined audio differs from one run"; exit 1; }
echo "passed: 3 segments as a Slurm job array, joined, equal one run ($(grep -c . <(frames "$WORK/joined.mkv" v)) frames, audio kept)"
