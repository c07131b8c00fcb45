#!/usr/bin/env bash
# SSO-5: Apache httpd with mod_auth_openidc (Debian's packages) as a business system's front,
# signing applicants in and out through jszg: the peer suite in crates/jszg/tests/peers/apache.
# Installs the packages when missing; uses the jszg binary given in $JSZG_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${JSZG_BIN:?set JSZG_BIN to the jszg binary}"
if [ ! -x /usr/sbin/apache2 ] || [ ! -e /usr/lib/apache2/modules/mod_auth_openidc.so ]; then
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends apache2 libapache2-mod-auth-openidc
fi
# The suite runs its own Apache on a free port; the packaged service is not needed.
timeout 300 node --test --test-concurrency=1 crates/jszg/tests/peers/apache/
