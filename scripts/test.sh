#!/usr/bin/env bash
# Builds sgsim and runs the whole test suite twice: a debug build, then the same suite under
# AddressSanitizer and UndefinedBehaviorSanitizer. `--quick` skips the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/deps.sh"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

run_suite() {  # build-dir, timeout multiplier, extra meson options…
  local dir=$1 mult=$2; shift 2
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null; else meson setup "$dir" "$@" >/dev/null; fi
  meson compile -C "$dir"
  local log="$dir/test-summary.txt" rc=0
  meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier "$mult" | tee "$log" || rc=$?
  # The plain closing line CI reads: counts of test programs (each a whole suite) that passed and failed
  # (a suite that timed out or passed when expected to fail counts as failed).
  local ok fail
  ok=$(awk '/^Ok:/ {print $2}' "$log")
  fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$log")
  echo "$dir: ${ok:-0} passed, ${fail:-0} failed"
  return $rc
}

# Every suite sets its own timeout for a debug build on a busy two-core machine; the sanitizer build runs
# several times slower, so its timeouts are multiplied.
run_suite build-test 1 -Dbuildtype=debug
if [ $quick -eq 0 ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-asan 4 -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
fi
