#!/usr/bin/env bash
# 教育部账号登录 (LOGIN-5) against npm oidc-provider (panva) as the ministry's
# identity platform: the peer suite in crates/jszg/tests/peers/upstream,
# run once on SQLite and once on a fresh PostgreSQL database.
# Needs node/npm; uses the jszg binary given in $JSZG_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${JSZG_BIN:?set JSZG_BIN to the jszg binary}"
peer=crates/jszg/tests/peers/upstream
. .ci/lib.sh
npm_ready "$peer"

echo "--- upstream peers on SQLite"
JSZG_BIN="$JSZG_BIN" timeout 300 node --test --test-concurrency=1 "$peer/"

pg_admin="${JSZG_PEER_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
if command -v psql >/dev/null && psql "$pg_admin" -qAtc 'SELECT 1' >/dev/null 2>&1; then
  db="jszg_upstream_$$"
  psql "$pg_admin" -qc "CREATE DATABASE $db"
  trap 'psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
  echo "--- upstream peers on PostgreSQL"
  JSZG_PEER_DATABASE_URL="${pg_admin%/*}/$db" JSZG_BIN="$JSZG_BIN" timeout 300 node --test --test-concurrency=1 "$peer/"
else
  echo "no PostgreSQL at $pg_admin: the peer suite ran on SQLite only" >&2
  exit 1
fi
