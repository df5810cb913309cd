#!/bin/bash
# Upscale VIDEO on a Slurm cluster: N segment tasks (a job array), then the join,
# which starts when every task has succeeded.
#   deploy/slurm/run.sh VIDEO CHECKPOINT N OUTPUT [hone join options, e.g. --codec ffv1]
# FOLDER (default: OUTPUT's folder/hone-segments) must be on storage all nodes share;
# WAIT=1 returns when the join has finished, with its exit status.
set -euo pipefail
VIDEO=$1 CHECKPOINT=$2 N=$3 OUTPUT=$4
shift 4
HERE=$(cd "$(dirname "$0")" && pwd)
FOLDER=${FOLDER:-$(dirname "$OUTPUT")/hone-segments}
mkdir -p "$FOLDER"
array=$(sbatch --parsable --array=1-"$N" --chdir="$FOLDER" "$HERE/hone-segment.sh" "$VIDEO" "$CHECKPOINT" "$FOLDER")
array=${array%%;*}
echo "segments: job array $array ($N tasks) into $FOLDER"
wait=(); [ -n "${WAIT:-}" ] && wait=(--wait)
join=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes --chdir="$FOLDER" "${wait[@]}" \
       "$HERE/hone-join.sh" "$FOLDER" "$N" "$OUTPUT" "$@")
echo "join: job ${join%%;*} → $OUTPUT"
