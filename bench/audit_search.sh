#!/usr/bin/env bash
# STAFF-5's audit search on PostgreSQL with a 100,000-entry audit log: the time of
# GET /api/v1/staff/audit for a jszg binary, median of 15 requests per query shape.
#   bash bench/audit_search.sh target/release/jszg
# Each run uses a fresh database (jszg_bench_audit_<pid>), dropped at the end.
set -euo pipefail
bin="$(realpath "$1")"
here="$(cd "$(dirname "$0")/.." && pwd)"
pg="${JSZG_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
db="jszg_bench_audit_$$"
psql "$pg/postgres" -qc "CREATE DATABASE $db"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
set -a; . "$here/crates/jszg/tests/support/harness.env"; set +a
(cd "$work" && JSZG_BIND="127.0.0.1:$port" JSZG_DATABASE_URL="$pg/$db" JSZG_DEV=1 JSZG_LOG=warn exec "$bin" serve) > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done

# One applicant, registered the way the browser tests do, and an admin.
doc=$(cd "$here/crates/jszg/tests/browser" && node --input-type=module -e "
  import { register } from './applicant.mjs';
  const who = await register('$base');
  console.log(who.doc);")
password=$(cd "$work" && JSZG_DEV=1 "$bin" staff add --username bench --role admin --database-url "$pg/$db" | sed -n 's/^password: //p')
jar="$work/cookies"
curl -sf -c "$jar" -H 'Content-Type: application/json' -d "{\"username\":\"bench\",\"password\":\"$password\"}" "$base/api/v1/staff/sessions" >/dev/null
curl -sf -b "$jar" -c "$jar" -H 'Content-Type: application/json' \
  -d "{\"current_password\":\"$password\",\"new_password\":\"Bench-Audit-Passw0rd!\"}" "$base/api/v1/staff/password" >/dev/null

# 100,000 entries: staff views of the applicant's items and system lines without an account.
staff_id=$(psql "$pg/$db" -Atc "SELECT id FROM staff WHERE username = 'bench'")
account_id=$(psql "$pg/$db" -Atc "SELECT id FROM accounts LIMIT 1")
psql "$pg/$db" -qc "INSERT INTO audit_log (at, actor_kind, actor_id, account_id, action, detail)
  SELECT 1700000000 + g * 60, CASE WHEN g % 4 = 0 THEN 'system' ELSE 'staff' END,
         CASE WHEN g % 4 = 0 THEN NULL ELSE $staff_id END,
         CASE WHEN g % 2 = 0 THEN $account_id ELSE NULL END, 'review_viewed', 'bench ' || g
  FROM generate_series(1, 100000) g"
psql "$pg/$db" -qc "ANALYZE audit_log"
echo "entries: $(psql "$pg/$db" -Atc 'SELECT COUNT(*) FROM audit_log')"

measure() {
  local name="$1" query="$2" times=() rows
  rows=$(curl -sf -b "$jar" "$base/api/v1/staff/audit?$query" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  for _ in $(seq 1 15); do
    times+=("$(curl -sf -o /dev/null -w '%{time_total}' -b "$jar" "$base/api/v1/staff/audit?$query")")
  done
  printf '%-28s rows %5s  median %6.1f ms\n' "$name" "$rows" "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 8p | awk '{print $1 * 1000}')"
}
measure "everything (newest 1000)" ""
measure "by staff member" "staff=bench"
measure "by applicant" "account=$doc"
measure "one day" "from=2023-11-20T00:00:00%2B08:00&to=2023-11-21T00:00:00%2B08:00"
