#!/usr/bin/env bash
# Soak benchmark: the release binary on SQLite (or DATABASE_URL) in development mode under mixed
# traffic (bench/soak.mjs) for SECONDS (default 600) at CONC loops (default 16). Prints p50/p99
# per kind, errors and the server's RSS every 30 s, and writes them as CSV.
#   cargo build --release -p jszg && bash bench/soak.sh [SECONDS] [CONC] [DATABASE_URL]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# Throughput, not the abuse quotas, is measured here: raise them as a test harness does.
set -a; . "$root/crates/jszg/tests/support/harness.env"; set +a
bin="${JSZG_BIN:-$root/target/release/jszg}"
seconds="${1:-600}"; conc="${2:-16}"
dir="$(mktemp -d)"; trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export JSZG_BIND="127.0.0.1:$port" JSZG_DATABASE_URL="${3:-sqlite://$dir/jszg.db}" JSZG_DEV=1 JSZG_LOG=warn
(cd "$dir" && exec "$bin" serve) & pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
node "$root/bench/soak.mjs" "http://127.0.0.1:$port" "$pid" "$seconds" "$conc" "${SOAK_CSV:-$root/bench/soak-latest.csv}"
