#!/bin/bash
# One segment of `hone infer` per task of a Slurm job array.
#   sbatch --array=1-N deploy/slurm/hone-segment.sh VIDEO CHECKPOINT FOLDER
# Task I of N writes FOLDER/partIofN.mkv (video only; H.264 CRF 12, or what
# HONE_SEGMENT_OPTIONS says, e.g. "--codec ffv1" for lossless); the array may be
# numbered from 0 or 1. Every path must be on storage all nodes share.
# A failed task can be rerun alone: sbatch --array=I … (same N).
#SBATCH --job-name=hone-segment
#SBATCH --cpus-per-task=2
#SBATCH --output=hone-segment-%A_%a.log
set -euo pipefail
VIDEO=$1 CHECKPOINT=$2 FOLDER=$3
: "${SLURM_ARRAY_TASK_ID:?run this with sbatch --array}"
N=${HONE_SEGMENTS:-$SLURM_ARRAY_TASK_COUNT}
I=$(( SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1 ))
# shellcheck disable=SC2086  # the options are words
exec "${HONE:-hone}" infer --checkpoint "$CHECKPOINT" --video "$VIDEO" --segment "$I/$N" ${HONE_SEGMENT_OPTIONS:-} \
    -o "$FOLDER/part${I}of$N.mkv"
