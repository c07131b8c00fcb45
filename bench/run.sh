#!/usr/bin/env bash
# Load benchmark against the release binary on SQLite (issue: login and
# session throughput, peak RSS). Needs wrk (Debian package `wrk`).
#   bench/run.sh [LOGINS] [CONCURRENCY]
# SUITE=intl runs it on an AES-256-GCM/HMAC-SHA256 key file instead of the default gm one
# (docs/crypto.md compares the two).
set -euo pipefail
cd "$(dirname "$0")/.."
# Throughput, not the abuse quotas, is measured here: raise them as a test harness does.
set -a; . crates/jszg/tests/support/harness.env; set +a
LOGINS=${1:-400}
CONCURRENCY=${2:-8}
cargo build --release -p jszg --bin jszg --example loadtest >/dev/null
dir=$(mktemp -d)
port=18080
if [ "${SUITE:-gm}" = intl ]; then
  # A key file from before the 商用密码 work: no suite line means intl.
  key() { head -c "$1" /dev/urandom | base64 -w0; }
  printf 'index_key = "%s"\ncurrent = 1\n[data_keys]\n1 = "%s"\n' "$(key 32)" "$(key 32)" > "$dir/jszg.db.keys"
fi
echo "suite: ${SUITE:-gm}"
( cd "$dir" && JSZG_BIND=127.0.0.1:$port JSZG_LOG=warn JSZG_CAPTCHA__FAILURE_LIMIT=100000 \
    exec "$OLDPWD/target/release/jszg" serve ) &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

out=$(target/release/examples/loadtest "http://127.0.0.1:$port" "$LOGINS" "$CONCURRENCY")
echo "$out" | grep -v '^cookie:'
echo "peak RSS after the login run: $(grep VmHWM /proc/$pid/status | awk '{print $2/1024 " MB"}')"
cookie=$(echo "$out" | sed -n 's/^cookie: //p')
echo "GET /api/v1/me with a session cookie (wrk, 2 threads, 64 connections, 15 s):"
wrk -t2 -c64 -d15s -H "Cookie: $cookie" "http://127.0.0.1:$port/api/v1/me" | sed -n '/Requests\/sec/p;/Latency/p;/Non-2xx/p'
echo "peak RSS overall: $(grep VmHWM /proc/$pid/status | awk '{print $2/1024 " MB"}')"
