#!/usr/bin/env bash
# The WeChat callback (WX-1) against wechatpy 1.8 (PyPI) as the platform: the peer suite in
# crates/jszg/tests/peers/wechat, once on SQLite and once on a fresh PostgreSQL database.
# Uses the jszg binary given in $JSZG_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${JSZG_BIN:?set JSZG_BIN to the jszg binary}"
venv="${WECHATPY_VENV:-/tmp/jszg-wechatpy-venv}"
if ! "$venv/bin/python" -c 'import wechatpy, cryptography' 2>/dev/null; then
  python3 -m venv "$venv"
  timeout 300 "$venv/bin/pip" install -q "wechatpy[cryptography]>=1.8,<1.9"
fi
suite=crates/jszg/tests/peers/wechat/callback.py
# The suite registers many applicants from one address: the quotas raised (API.md "Abuse limits").
set -a; . crates/jszg/tests/support/harness.env; set +a
echo "--- wechat peers on SQLite"
JSZG_BIN="$JSZG_BIN" timeout 300 "$venv/bin/python" "$suite"

pg_admin="${JSZG_PEER_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
db="jszg_wechat_$$"
psql "$pg_admin" -qc "CREATE DATABASE $db"
trap 'psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
echo "--- wechat peers on PostgreSQL"
JSZG_PEER_DATABASE_URL="${pg_admin%/*}/$db" JSZG_BIN="$JSZG_BIN" timeout 300 "$venv/bin/python" "$suite"
