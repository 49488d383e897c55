#!/usr/bin/env bash
# Builds sgsim and runs the whole test suite twice: a debug build, then the same suite under
# AddressSanitizer and UndefinedBehaviorSanitizer. `--quick` skips the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/deps.sh"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

run_suite() {  # build-dir, extra meson options…
  local dir=$1; shift
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null; else meson setup "$dir" "$@" >/dev/null; fi
  meson compile -C "$dir"
  local log="$dir/test-summary.txt" rc=0
  meson test -C "$dir" --print-errorlogs --num-processes 2 | tee "$log" || rc=$?
  # The plain closing line CI reads: counts of test programs (each a whole suite) that passed and failed.
  local ok fail
  ok=$(awk '/^Ok:/ {print $2}' "$log")
  fail=$(awk '/^Fail:/ {print $2}' "$log")
  echo "$dir: ${ok:-0} passed, ${fail:-0} failed"
  return $rc
}

run_suite build-test -Dbuildtype=debug
if [ $quick -eq 0 ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-asan -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
fi
