#!/usr/bin/env bash
# GET /api/v1/me (session-authenticated) beside GET /readyz (one database
# round trip) in the same run, on the release binary and SQLite, under wrk
# (2 threads, 32 connections). Prints both rates and their ratio, first in
# development mode (each request also follows the shared dev clock), then in
# production mode on the same database with the same session.
#   bench/me.sh [SECONDS]      needs wrk (Debian package `wrk`)
set -euo pipefail
cd "$(dirname "$0")/.."
# Throughput, not the abuse quotas, is measured here: raise them as a test harness does.
set -a; . crates/jszg/tests/support/harness.env; set +a
SECS=${1:-10}
cargo build --release -p jszg --bin jszg --example loadtest >/dev/null
bin="$PWD/target/release/jszg"
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

start() { # env assignments for the server
  ( cd "$dir" && env JSZG_BIND=127.0.0.1:$port JSZG_LOG=warn JSZG_CAPTCHA__FAILURE_LIMIT=100000 "$@" "$bin" serve ) &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

rate() { # URL [header]: requests/s
  local args=(-t2 -c32 "-d${SECS}s" --latency)
  [ $# -gt 1 ] && args+=(-H "$2")
  wrk "${args[@]}" "$1" > "$dir/wrk.out"
  if grep -q "Non-2xx" "$dir/wrk.out"; then echo "non-2xx answers for $1" >&2; cat "$dir/wrk.out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' "$dir/wrk.out"
}
p99() { awk '$1 == "99%" {print $2}' "$dir/wrk.out"; }

compare() { # label cookie
  local ready me ready99 me99
  ready=$(rate "$base/readyz"); ready99=$(p99)
  me=$(rate "$base/api/v1/me" "Cookie: $2"); me99=$(p99)
  printf '%-12s /readyz %9.0f req/s (p99 %s)   /api/v1/me %9.0f req/s (p99 %s)   ratio %.2f\n' \
    "$1" "$ready" "$ready99" "$me" "$me99" "$(echo "$me / $ready" | bc -l)"
}

start
cookie=$("$PWD/target/release/examples/loadtest" "$base" 4 1 | sed -n 's/^cookie: //p')
[ -n "$cookie" ] || { echo "no session cookie" >&2; exit 1; }
compare "development" "$cookie"
stop

# Production mode: same database, its development key file, delivery
# settings pointing at nothing (no message is sent during the run).
start JSZG_DEV=0 JSZG_KEYS_FILE="$dir/jszg.db.keys" \
  JSZG_SMTP__URL=smtp://127.0.0.1:9 JSZG_SMTP__FROM='jszg <noreply@example.invalid>' \
  JSZG_SMS__PROVIDER=aliyun JSZG_SMS__ACCESS_KEY_ID=bench JSZG_SMS__ACCESS_KEY_SECRET=bench \
  JSZG_SMS__SIGN_NAME=bench JSZG_SMS__CODE_TEMPLATE=SMS_1 JSZG_SMS__NOTICE_TEMPLATE=SMS_2 \
  JSZG_SMS__ENDPOINT=127.0.0.1:9 JSZG_OUTBOX__WORKER=false
compare "production" "$cookie"
