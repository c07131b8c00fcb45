#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of outside input (REL-2), with libFuzzer via cargo fuzz.
#   bash fuzz/run.sh [SECONDS per target, default 600] [TARGET ...]
# The stable toolchain runs cargo fuzz with RUSTC_BOOTSTRAP=1 (it passes -Z flags). No sanitizer:
# our crates forbid `unsafe`, so AddressSanitizer would only watch dependencies at half the speed;
# debug assertions stay on, so an overflow is a finding. The targets are built once, then run
# directly, so editing the tree meanwhile does not trigger rebuilds. What a run keeps is minimised
# into fuzz/corpus/<target> (replayed by `cargo test`); a crash lands in fuzz/artifacts/<target>.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
seconds="${1:-600}"; shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
fi
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
if [ -z "${FUZZ_NO_BUILD:-}" ]; then cargo fuzz build -s none --debug-assertions; fi
bin="target/$(rustc -vV | sed -n 's/^host: //p')/release"
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "seeds/$t" "artifacts/$t"
  max_len=4096
  case "$t" in jpeg_gate|multipart) max_len=65536 ;; esac
  "$bin/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "corpus/$t" "seeds/$t" >"logs/$t.log" 2>&1 \
    || { echo "$t: FAILED, see fuzz/logs/$t.log and fuzz/artifacts/$t"; tail -30 "logs/$t.log"; exit 1; }
  # Keep the smallest corpus with the same coverage.
  rm -rf "corpus/$t.min"; mkdir "corpus/$t.min"
  "$bin/$t" -merge=1 -max_len="$max_len" "corpus/$t.min" "corpus/$t" >"logs/$t.cmin.log" 2>&1
  rm -rf "corpus/$t"; mv "corpus/$t.min" "corpus/$t"
  execs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "logs/$t.log" | awk '{print $2}' | tail -1)"
  cov="$(grep -o 'cov: [0-9]* ft: [0-9]*' "logs/$t.log" | tail -1)"
  printf '%-15s %5ss  execs %11s  %s  corpus %s files\n' "$t" "$seconds" "$execs" "$cov" "$(ls "corpus/$t" | wc -l)"
done
