#!/usr/bin/env bash
# Peer test of single sign-on: npm openid-client 6.x as the relying party
# against the jszg binary in $JSZG_BIN (default: the release build).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
export JSZG_BIN="${JSZG_BIN:-$here/target/release/jszg}"
. "$here/.ci/lib.sh"
cd "$here/crates/jszg/tests/peers/sso"
npm_ready .
timeout 300 node --test --test-concurrency=1 .
