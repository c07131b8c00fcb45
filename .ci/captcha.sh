#!/usr/bin/env bash
# Slider captcha against the two cheap solver classes (crates/captcha/solvers/solve.py):
# dumps 300 challenges exactly as the browser receives them and fails when either solver
# finds the hole within tolerance on more than 10 % of them. Fixed seed (CAPTCHA_SEED) so the
# rate is reproducible: near chance level, a fresh draw could cross 10 % on luck alone.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CAPTCHA_VENV:-/tmp/jszg-captcha-venv}"
if ! "$venv/bin/python" -c "import numpy, scipy, cv2" 2>/dev/null; then
  python3 -m venv "$venv"
  timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check numpy scipy opencv-python-headless
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
timeout 600 cargo run --release --quiet -p jszg-captcha --example dump -- "$out" 300 "${CAPTCHA_SEED:-1}"
timeout 600 "$venv/bin/python" crates/captcha/solvers/solve.py "$out" --max-rate 0.10
