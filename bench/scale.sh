#!/usr/bin/env bash
# Login and GET /api/v1/me latency at 1,000 and at 1,000,000 accounts on
# PostgreSQL, in one run: import 1,000 legacy accounts, measure; import the
# remaining 999,000 (rows/s and peak RSS of the import), measure again.
#   bench/scale.sh [TOTAL] [LOGINS]      needs wrk and a PostgreSQL on 127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL=${1:-1000000}
LOGINS=${2:-300}
SMALL=1000
cargo build --release -p jszg --bin jszg --example loadtest >/dev/null
bin="$PWD/target/release/jszg"
loadtest="$PWD/target/release/examples/loadtest"
dir=$(mktemp -d)
db=jszg_bench_scale
url="postgres://postgres@127.0.0.1:5432/$db"
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
python3 bench/legacy_csv.py "$TOTAL" > "$dir/all.csv"
head -n $((SMALL + 1)) "$dir/all.csv" > "$dir/small.csv"
{ head -n 1 "$dir/all.csv"; tail -n +$((SMALL + 2)) "$dir/all.csv"; } > "$dir/rest.csv"

import() { # FILE ROWS
  local t0 t1
  t0=$(date +%s.%N)
  ( cd "$dir" && JSZG_LOG=warn JSZG_DEV=1 JSZG_DATABASE_URL="$url" \
      /usr/bin/time -f "%M" -o "$dir/rss" "$bin" import-accounts "$1" | tail -1 )
  t1=$(date +%s.%N)
  printf 'import of %d rows: %.1f s, %.0f rows/s, peak RSS %d MB\n' "$2" "$(echo "$t1 - $t0" | bc)" \
    "$(echo "$2 / ($t1 - $t0)" | bc -l)" "$(( $(cat "$dir/rss") / 1024 ))"
}

measure() { # label
  ( cd "$dir" && JSZG_BIND=127.0.0.1:$port JSZG_LOG=warn JSZG_DEV=1 JSZG_DATABASE_URL="$url" \
      JSZG_CAPTCHA__FAILURE_LIMIT=100000 exec "$bin" serve ) &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
  local accounts out cookie login me
  accounts=$(psql -h 127.0.0.1 -U postgres -Atc "SELECT COUNT(*) FROM accounts" "$db")
  out=$("$loadtest" "$base" "$LOGINS" 4)
  cookie=$(echo "$out" | sed -n 's/^cookie: //p')
  login=$(echo "$out" | sed -n 's/^login latency: //p')
  wrk -t2 -c16 -d10s --latency -H "Cookie: $cookie" "$base/api/v1/me" > "$dir/wrk.out"
  me=$(awk '$1 == "50%" {p50=$2} $1 == "99%" {p99=$2} /Requests\/sec/ {rps=$2} END {printf "p50 %s, p99 %s, %s req/s", p50, p99, rps}' "$dir/wrk.out")
  printf '%-10s accounts %8d   login %s   /api/v1/me %s\n' "$1" "$accounts" "$login" "$me" | tee -a "$dir/summary"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

import "$dir/small.csv" "$SMALL"
measure "small"
import "$dir/rest.csv" $((TOTAL - SMALL))
measure "large"
echo
cat "$dir/summary"
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db WITH (FORCE)"
