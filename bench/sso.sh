#!/usr/bin/env bash
# Benchmark of the OpenID Connect provider against the release binary: SSO authorizations with a
# session, then the token endpoint redeeming the codes; the same load, in the same run, on npm
# oidc-provider configured alike (its own process), and the ratio.
#   cargo build --release -p jszg && bash bench/sso.sh [COUNT] [CONCURRENCY] [DATABASE_URL]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# Throughput, not the abuse quotas, is measured here: raise them as a test harness does.
set -a; . "$root/crates/jszg/tests/support/harness.env"; set +a
bin="${JSZG_BIN:-$root/target/release/jszg}"
count="${1:-2000}"; conc="${2:-8}"
dir="$(mktemp -d)"; trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
db="${3:-sqlite://$dir/jszg.db}"
cat > "$dir/jszg.toml" <<TOML
[clients.certification]
redirect_uris = ["http://127.0.0.1:9/cb"]
[clients.renewal]
redirect_uris = ["http://127.0.0.1:9/cb2"]
TOML
export JSZG_BIND="127.0.0.1:$port" JSZG_DATABASE_URL="$db" JSZG_DEV=1 JSZG_LOG=warn
secret="$(cd "$dir" && "$bin" clients rotate-secret certification | sed -n 's/^secret: //p')"
(cd "$dir" && exec "$bin" serve) & pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
( cd "$root/crates/jszg/tests/peers/sso" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error )
( cd "$root/crates/jszg/tests/peers/upstream" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error )
# oidc-provider: code + PKCE required, RS256, client_secret_basic, consent remembered (provider.mjs).
peer_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
PORT="$peer_port" REDIRECT_URI="http://127.0.0.1:9/peer-cb" ACCOUNTS='{"bench": {"name": "张三"}}' \
  node "$root/crates/jszg/tests/peers/upstream/provider.mjs" > "$dir/peer.json" &
peer=$!
trap 'kill "$pid" "$peer" 2>/dev/null || true; wait "$pid" "$peer" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [ -s "$dir/peer.json" ] && break; sleep 0.1; done
peer_secret="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$dir/peer.json")"
node "$root/bench/sso.mjs" "http://127.0.0.1:$port" "$secret" "http://127.0.0.1:9/cb" "$count" "$conc" \
  "http://127.0.0.1:$peer_port" "$peer_secret" "http://127.0.0.1:9/peer-cb"
