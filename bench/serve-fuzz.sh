#!/usr/bin/env bash
# Fuzzes `hone serve`'s JSON API from its OpenAPI description (openapi.yaml)
# with schemathesis (PyPI; installed here if missing): every operation with
# generated and mutated requests, then stateful sequences (upload → status →
# events → cancel → delete). Fails on a 5xx, an undocumented status or
# content type, or a response that breaks the schema. Not checked: that every
# schema-valid upload is accepted (random bytes are not a video, by design),
# and 405 for a method a path does not take (the router answers 404, in JSON).
# Usage: bench/serve-fuzz.sh [EXAMPLES]   (per operation, default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-200}
command -v st >/dev/null || python3 -m pip install -q schemathesis
work=$(mktemp -d)
.build/release/hone serve --port 0 --data "$work/data" --max-upload 0.001 > "$work/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
until grep -q "http://" "$work/serve.log"; do sleep 0.1; done
url=$(grep -o "http://[^ ]*/" "$work/serve.log")
st run openapi.yaml --url "${url%/}" --checks all --exclude-checks positive_data_acceptance,unsupported_method --max-examples "$examples"
