# Sourced by the fetch scripts: Hone's cache folder (the Swift code looks in
# the same place) and a scratch folder that is removed on exit.
cache="${HONE_CACHE:-${XDG_CACHE_HOME:-${HOME:-$(echo ~)}/.cache}/hone}"
mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
