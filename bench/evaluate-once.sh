# Sourced by the ground-truth benches (temporal.sh, restoration.sh).
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
