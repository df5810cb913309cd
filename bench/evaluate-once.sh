# Sourced by the ground-truth benches (temporal.sh, restoration.sh, real-damage.sh).
# Sets data (DATA: the shared clips' folder), bikes (the demo's clip, fetched once) and
# clips (CLIPS: the four test clips); results are read back with bench/results.py.
data=${DATA:-../shared/data/clips}
bikes=$(bash scripts/fetch-demo-video.sh)
clips=${CLIPS:-"$data/chaplin.mp4 $data/tears_of_steel.webm $data/realshort.mp4 $bikes"}

# evaluate_once OUT NAME ARGS…: `hone evaluate ARGS -o OUT/NAME.ckpt ${EXTRA} --json`
# into OUT/NAME.json (its log in OUT/NAME.log), unless that result exists:
# a bench run again resumes where it stopped.
evaluate_once() {
    local out=$1 name=$2
    shift 2
    [ -s "$out/$name.json" ] && return 0
    echo "== $name" >&2
    .build/release/hone evaluate "$@" -o "$out/$name.ckpt" ${EXTRA:-} --json > "$out/$name.json.part" 2> "$out/$name.log"
    mv "$out/$name.json.part" "$out/$name.json"
}
