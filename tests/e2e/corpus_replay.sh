#!/usr/bin/env bash
# Robustness: every capture of ../shared/corpus/tcpdump (public, many deliberately malformed), and every capture
# of pcaps/, goes through the whole replay (read, decode, evaluate, report) without a crash, a hang or a
# sanitizer report. Exit status 0 (read whole) or 2 (the file is broken: reported, partial) are both fine;
# anything else fails.
# Skips (exit 77) when the corpus is absent, as in a user's clone; fails when CI is set (CI=true), where a
# green suite must mean the corpus was replayed (tests/shared_corpus.h does the same for the GoogleTests).
set -uo pipefail
sgsim=$(realpath "$1")
src=$2
corpus="${SGSIM_SHARED_DIR:-$src/../shared}/corpus/tcpdump"
if [ ! -d "$corpus" ]; then
  case "$(echo "${CI:-}" | tr '[:upper:]' '[:lower:]')" in
    "" | 0 | false | no) echo "no corpus: $corpus is missing (configure with -Dshared_dir=DIR): skipped"; exit 77 ;;
    *) echo "no corpus: $corpus is missing; CI is set, so the corpus is required"; exit 1 ;;
  esac
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=99" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:halt_on_error=1:exitcode=98"
fail=0
n=0
# The shared corpus, then the project's own captures (pcaps/: the multi-interface pcapng among them).
for f in "$corpus"/* "$src"/pcaps/*.pcap "$src"/pcaps/*.pcapng; do
  n=$((n + 1))
  timeout 60 "$sgsim" replay --model "$src/examples/web.json" --format jsonl "$f" >/dev/null 2>"${TMPDIR:-/tmp}/sgsim-corpus.err"
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then
    echo "FAIL $f: exit $rc"
    head -20 "${TMPDIR:-/tmp}/sgsim-corpus.err"
    fail=$((fail + 1))
  fi
done
echo "$((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]
