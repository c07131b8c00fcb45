#!/usr/bin/env bash
# GM-6: independent SM2/SM3/SM4 implementations check what the jszg binary in $JSZG_BIN
# produces under suite gm: npm sm-crypto (SM2 ID tokens), node:crypto and PyPI cryptography
# (OpenSSL's SM3 and SM4-GCM). See crates/jszg/tests/peers/gm/gm.test.mjs.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
export JSZG_BIN="${JSZG_BIN:-$here/target/release/jszg}"
# cryptography ≥ 44 has SM4 in GCM mode (OpenSSL 3 in its wheels).
if ! python3 -c "import cryptography, sys; sys.exit(int(cryptography.__version__.split('.')[0]) < 44)" 2>/dev/null; then
  timeout 300 python3 -m pip install --quiet --disable-pip-version-check 'cryptography>=44'
fi
. "$here/.ci/lib.sh"
cd "$here/crates/jszg/tests/peers/gm"
npm_ready .
timeout 300 node --test --test-concurrency=1 .
