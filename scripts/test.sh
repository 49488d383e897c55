#!/usr/bin/env bash
# Builds sgsim and runs the whole test suite twice: a debug build, then the same suite under
# AddressSanitizer and UndefinedBehaviorSanitizer. `--quick` skips the sanitizer pass.
#
# The tests that need the shared corpus (tcpdump captures, ClassBench sets) read it from the shared folder:
# $SGSIM_SHARED_DIR, or ../shared beside the checkout, passed to meson as -Dshared_dir. Without the corpus they
# skip, and the closing line says how many test cases skipped and why; with CI set (CI=true, as .ci/run runs
# it) a missing corpus fails them instead.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/deps.sh"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
shared=$(realpath -m "${SGSIM_SHARED_DIR:-../shared}")
case "$(echo "${CI:-}" | tr '[:upper:]' '[:lower:]')" in  # as tests/shared_corpus.h reads it
  "" | 0 | false | no) without_corpus=skip ;;
  *) without_corpus=fail ;;
esac
if [ -d "$shared/corpus" ]; then
  echo "shared folder: $shared (corpus present)"
else
  echo "shared folder: $shared (no corpus/ there: the tests that need it will $without_corpus)"
fi

# Test cases skipped in the last run of build-dir, from meson's test log: GoogleTest cases reported
# "[  SKIPPED ] Suite.Name (…)" and script tests that exited 77, grouped by reason (every "no corpus: …" is one).
skipped_cases() {  # build-dir
  awk -v corpus="no corpus at $shared/corpus" '
    function reasonOf(r) { return r ~ /^no corpus/ ? corpus : r }
    /^test: / { test = $0; sub(/^test: +/, "", test) }
    /^result: +exit status 77/ { exit77[test] = 1 }
    /^-+ stdout -+$/ { if ((getline line) > 0) first[test] = line }
    /^\[ RUN +\]/ { reason = "" }
    /: Skipped$/ { if ((getline line) > 0 && reason == "") reason = line; next }
    /^\[  SKIPPED \] [^ ]+ \(/ { if (!($4 in seen)) { seen[$4] = 1; n++; why[reasonOf(reason)]++ } }
    END {
      for (t in exit77) { n++; why[reasonOf(first[t])]++ }
      out = ""
      for (r in why) out = out (out == "" ? "" : "; ") why[r] ": " r
      printf "%d test case%s skipped%s\n", n, n == 1 ? "" : "s", n ? " (" out ")" : ""
    }' "$1/meson-logs/testlog.txt"
}

run_suite() {  # build-dir, timeout multiplier, extra meson options…
  local dir=$1 mult=$2; shift 2
  if [ -d "$dir" ]; then meson setup --reconfigure "$dir" -Dshared_dir="$shared" "$@" >/dev/null
  else meson setup "$dir" -Dshared_dir="$shared" "$@" >/dev/null; fi
  meson compile -C "$dir"
  local log="$dir/test-summary.txt" rc=0
  meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier "$mult" | tee "$log" || rc=$?
  # The plain closing line CI reads: counts of test programs (each a whole suite) that passed and failed
  # (a suite that timed out or passed when expected to fail counts as failed), and of the test cases skipped.
  local ok fail
  ok=$(awk '/^Ok:/ {print $2}' "$log")
  fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$log")
  echo "$dir: ${ok:-0} passed, ${fail:-0} failed, $(skipped_cases "$dir")"
  return $rc
}

# Every suite sets its own timeout for a debug build on a busy two-core machine; the sanitizer build runs
# several times slower, so its timeouts are multiplied.
run_suite build-test 1 -Dbuildtype=debug
if [ $quick -eq 0 ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-asan 4 -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
fi
