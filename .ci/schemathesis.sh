#!/usr/bin/env bash
# schemathesis (PyPI) against the jszg binary in $JSZG_BIN (default: the release build), in
# development mode on fresh SQLite databases: with an applicant session and with a staff session
# on one server, and anonymous on a second one (its run moves the development clock, which would
# expire the sessions), the three at once. Fails on any server error, any status the OpenAPI document does not list,
# any response that does not match its schema, and any schema-invalid body that is accepted.
# Each run is bounded by ST_SECONDS (default 90).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${JSZG_BIN:-$here/target/release/jszg}"
seconds="${ST_SECONDS:-90}"
venv="${ST_VENV:-/tmp/jszg-schemathesis-venv}"
if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
  python3 -m venv "$venv"
  timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.30,<5'
fi
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
# start NAME: a server on a fresh database in $work/NAME; sets $base and $db.
start() {
  mkdir -p "$work/$1"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  db="sqlite://$work/$1/jszg.db"
  (cd "$work/$1" && JSZG_BIND="127.0.0.1:$port" JSZG_DATABASE_URL="$db" JSZG_DEV=1 JSZG_LOG=warn exec "$bin" serve) > "$work/$1/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
  curl -sf "$base/healthz" >/dev/null
}
start anonymous
anonymous_base="$base"
start signed-in
created="$(cd "$work/signed-in" && JSZG_DEV=1 "$bin" staff add --username st-admin --role admin --database-url "$db")"
staff_password="$(printf '%s\n' "$created" | sed -n 's/^password: //p')"
sessions="$(node "$here/crates/jszg/tests/peers/schemathesis/sessions.mjs" "$base" st-admin "$staff_password")"
applicant_cookie="$(printf '%s' "$sessions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["applicant"])')"
staff_cookie="$(printf '%s' "$sessions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["staff"])')"

cd "$here/crates/jszg/tests/peers/schemathesis"
run() {
  local name="$1" url="$2"; shift 2
  timeout $((seconds + 120)) "$venv/bin/schemathesis" run "$url/api/v1/openapi.json" \
    --checks all --exclude-checks positive_data_acceptance --max-time "$seconds" --workers 1 --no-color "$@" \
    > "$work/$name.txt" 2>&1 && echo 0 > "$work/$name.status" || echo $? > "$work/$name.status"
}
report() {
  local name="$1" status
  status=$(cat "$work/$name.status")
  echo "--- schemathesis: $name (${seconds}s)"
  sed -n '/^=* SUMMARY =*$/,$p' "$work/$name.txt"
  sed -n '/^401 Unauthorized/,/^$/p' "$work/$name.txt"
  if [ "$status" -ne 0 ]; then
    sed -n '/^=* \(ERRORS\|FAILURES\) =*$/,/^=* SUMMARY =*$/p' "$work/$name.txt" | head -150 || true
    return "$status"
  fi
}
# Signed in: leave out what ends the session or moves the clock past its timeouts.
keep='^/api/v1/(sessions/current|staff/sessions/current|dev/.*)$'
runs=()
run applicant "$base" -H "Cookie: $applicant_cookie" --exclude-path-regex "$keep" & runs+=($!)
run staff "$base" -H "Cookie: $staff_cookie" --exclude-path-regex "$keep" & runs+=($!)
run anonymous "$anonymous_base" & runs+=($!)
# The runs only: a bare `wait` would wait for the servers too.
wait "${runs[@]}"
failed=0
for name in applicant staff anonymous; do report "$name" || failed=1; done
curl -sf "$base/healthz" >/dev/null
curl -sf "$anonymous_base/healthz" >/dev/null
[ "$failed" -eq 0 ]
echo "schemathesis: no server error, no undocumented status"
