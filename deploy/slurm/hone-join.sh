#!/bin/bash
# The join after a segment array: every FOLDER/part*ofN.mkv into OUTPUT, with the
# source's audio, subtitles and metadata.
#   sbatch --dependency=afterok:ARRAY_JOB deploy/slurm/hone-join.sh FOLDER N OUTPUT [hone join options]
#SBATCH --job-name=hone-join
#SBATCH --cpus-per-task=2
#SBATCH --output=hone-join-%j.log
set -euo pipefail
FOLDER=$1 N=$2 OUTPUT=$3
shift 3
exec "${HONE:-hone}" join "$FOLDER"/part*of"$N".mkv -o "$OUTPUT" "$@"
