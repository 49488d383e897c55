#!/usr/bin/env bash
# End-to-end: runs each case of a case table (default tests/e2e/cases.txt; tests/e2e/bad_input.txt is the
# table of bad inputs) with the built sgsim from the source tree and compares stdout, stderr and the exit
# status with tests/e2e/golden/<name>.{out,err,rc}. UPDATE_GOLDEN=1 rewrites them.
# A case line: NAME<TAB>COMMAND, a bash command run in the source tree in which `sgsim` is the built binary.
# usage: run_golden.sh SGSIM SOURCE_DIR [CASES_FILE]
set -uo pipefail
sgsim=$(realpath "$1")
src=$2
cases=${3:-tests/e2e/cases.txt}
cd "$src"
golden=tests/e2e/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
while IFS=$'\t' read -r name args; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  n=$((n + 1))
  SGSIM="$sgsim" E2E_TMP="$tmp" bash -c "sgsim() { \"\$SGSIM\" \"\$@\"; }; $args" >"$tmp/$name.out" 2>"$tmp/$name.err"
  echo $? >"$tmp/$name.rc"
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$tmp/$name.out" "$tmp/$name.err" "$tmp/$name.rc" "$golden/"
    continue
  fi
  for ext in rc out err; do
    if ! diff -u "$golden/$name.$ext" "$tmp/$name.$ext" >"$tmp/diff"; then
      echo "FAIL $name ($ext differs): $args"
      head -40 "$tmp/diff"
      fail=$((fail + 1))
      break
    fi
  done
done <"$cases"
echo "$((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]
