#!/usr/bin/env bash
# What the browser suite and the peers install (npm packages, Python virtual environments),
# fetched while cargo builds: the build keeps both cores busy, these wait on the network.
# Each peer script still installs what it needs when run alone; after this they find it ready.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
. "$here/.ci/lib.sh"
for dir in browser peers/upstream peers/gm peers/sso; do
  npm_ready "$here/crates/jszg/tests/$dir" &
done
venv() {
  local dir="$1" check="$2"; shift 2
  "$dir/bin/python" -c "$check" 2>/dev/null && return 0
  python3 -m venv "$dir"
  timeout 600 "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
}
venv "${CAPTCHA_VENV:-/tmp/jszg-captcha-venv}" "import numpy, scipy, cv2" numpy scipy opencv-python-headless &
venv "${WECHATPY_VENV:-/tmp/jszg-wechatpy-venv}" "import wechatpy, cryptography" "wechatpy[cryptography]>=1.8,<1.9" &
venv "${ST_VENV:-/tmp/jszg-schemathesis-venv}" "import schemathesis" 'schemathesis>=4.30,<5' &
# The 商用密码 peer uses the system Python's cryptography (≥ 44 has SM4-GCM).
if ! python3 -c "import cryptography, sys; sys.exit(int(cryptography.__version__.split('.')[0]) < 44)" 2>/dev/null; then
  timeout 300 python3 -m pip install --quiet --disable-pip-version-check 'cryptography>=44' &
fi
failed=0
for job in $(jobs -p); do wait "$job" || failed=1; done
exit "$failed"
