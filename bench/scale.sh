#!/usr/bin/env bash
# Login and GET /api/v1/me latency at 1,000 and at 1,000,000 accounts on
# PostgreSQL, in one run: two databases, one with 1,000 imported legacy
# accounts and one with TOTAL (the import's rows/s and peak RSS are printed),
# then three rounds that measure the small and the large one in turn, so
# neither is favoured by a warmer machine. Prints the medians and how far
# the large database is from the small one.
#   bench/scale.sh [TOTAL] [LOGINS]      needs wrk and a PostgreSQL on 127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/.."
# Throughput, not the abuse quotas, is measured here: raise them as a test harness does.
set -a; . crates/jszg/tests/support/harness.env; set +a
TOTAL=${1:-1000000}
LOGINS=${2:-1000}
SMALL=1000
cargo build --release -p jszg --bin jszg --example loadtest >/dev/null
bin="$PWD/target/release/jszg"
loadtest="$PWD/target/release/examples/loadtest"
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

url() { echo "postgres://postgres@127.0.0.1:5432/jszg_bench_$1"; }
for size in small large; do
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS jszg_bench_$size WITH (FORCE)" -c "CREATE DATABASE jszg_bench_$size"
done
python3 bench/legacy_csv.py "$TOTAL" > "$dir/all.csv"
head -n $((SMALL + 1)) "$dir/all.csv" > "$dir/small.csv"

import() { # SIZE FILE ROWS
  local t0 t1
  t0=$(date +%s.%N)
  ( cd "$dir" && JSZG_LOG=warn JSZG_DEV=1 JSZG_DATABASE_URL="$(url "$1")" \
      /usr/bin/time -f "%M" -o "$dir/rss" "$bin" import-accounts "$2" | tail -1 )
  t1=$(date +%s.%N)
  printf 'import of %d rows: %.1f s, %.0f rows/s, peak RSS %d MB\n' "$3" "$(echo "$t1 - $t0" | bc)" \
    "$(echo "$3 / ($t1 - $t0)" | bc -l)" "$(( $(cat "$dir/rss") / 1024 ))"
  # Fresh statistics, as autovacuum would gather soon after an import.
  psql -q -h 127.0.0.1 -U postgres -c ANALYZE "jszg_bench_$1"
}

# A wrk latency figure (850.00us, 3.81ms, 1.02s) in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'; }

round() { # SIZE: one server start, LOGINS logins, then 10 s of /me
  ( cd "$dir" && JSZG_BIND=127.0.0.1:$port JSZG_LOG=warn JSZG_DEV=1 JSZG_DATABASE_URL="$(url "$1")" \
      JSZG_CAPTCHA__FAILURE_LIMIT=100000 exec "$bin" serve ) &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
  local out cookie
  out=$("$loadtest" "$base" "$LOGINS" 4)
  cookie=$(echo "$out" | sed -n 's/^cookie: //p')
  # Warm up first (connections, PostgreSQL's plan and buffer caches).
  wrk -t2 -c16 -d3s -H "Cookie: $cookie" "$base/api/v1/me" > /dev/null
  wrk -t2 -c16 -d10s --latency -H "Cookie: $cookie" "$base/api/v1/me" > "$dir/wrk.out"
  {
    echo "$out" | sed -n 's/^login latency: p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms$/\1 \2/p' | tr '\n' ' '
    printf '%s %s %s\n' "$(ms "$(awk '$1 == "50%" {print $2}' "$dir/wrk.out")")" \
      "$(ms "$(awk '$1 == "99%" {print $2}' "$dir/wrk.out")")" "$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.out")"
  } >> "$dir/rounds.$1"
  echo "  $1: $(tail -1 "$dir/rounds.$1")   (login p50 p99 ms, /me p50 p99 ms, req/s)"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

median() { awk -v c="$2" '{print $c}' "$dir/rounds.$1" | sort -g | sed -n 2p; }

import small "$dir/small.csv" "$SMALL"
import large "$dir/all.csv" "$TOTAL"
for r in 1 2 3; do
  echo "round $r"
  round small
  round large
done
echo
for size in small large; do
  accounts=$(psql -h 127.0.0.1 -U postgres -Atc "SELECT COUNT(*) FROM accounts" "jszg_bench_$size")
  printf '%-6s accounts %8d   login p50 %s ms, p99 %s ms   /api/v1/me p50 %s ms, p99 %s ms, %s req/s (medians of 3)\n' \
    "$size" "$accounts" "$(median "$size" 1)" "$(median "$size" 2)" "$(median "$size" 3)" "$(median "$size" 4)" "$(median "$size" 5)"
done
for c in 1 2 3 4; do
  name=$(echo "login p50,login p99,/me p50,/me p99" | cut -d, -f"$c")
  awk -v n="$name" -v s="$(median small "$c")" -v l="$(median large "$c")" 'BEGIN { printf "%s at 1 M vs 1,000: %+.1f %%\n", n, (l / s - 1) * 100 }'
done
for size in small large; do psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE jszg_bench_$size WITH (FORCE)"; done
