#!/bin/sh
# Target 4 of issue 11 (and target 1 of issue 4): sgsim's fast classifier against dpdk-test-acl --alg=scalar on
# every ClassBench set, alternated. Each round runs, set by set, one dpdk-test-acl run (--iter=3) and then one
# classify_bench run of fast/SET, so that both tools of a pair see the same minutes of a shared machine. Prints
# every round (ns per lookup: dpdk-test-acl's TSC wall time per packet; sgsim's thread CPU time per lookup and
# its wall time) and, per set, the medians over the rounds and the median of the per-round ratios
# sgsim CPU / dpdk.
#
#   bench/classify_vs_dpdk_sets.sh build-rel/bench/classify_bench 5            # all nine sets, 5 rounds
#   SETS="acl1_1k acl1_100k" bench/classify_vs_dpdk_sets.sh build-rel/bench/classify_bench 9
#
# Corpus from $SGSIM_SHARED_DIR or ../shared next to the checkout. MIN_TIME (default 0.5 s) is classify_bench's
# --benchmark_min_time per run.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 CLASSIFY_BENCH ROUNDS" >&2; exit 2; }
bench=$1 rounds=$2
here=$(cd "$(dirname "$0")" && pwd)
corpus=${SGSIM_SHARED_DIR:-$here/../../shared}/corpus/classbench
command -v dpdk-test-acl >/dev/null || { echo "dpdk-test-acl not found (apt-get install dpdk-dev)" >&2; exit 1; }
[ -x "$bench" ] || { echo "$bench: not an executable (ninja -C build-rel bench/classify_bench)" >&2; exit 2; }
sets=${SETS:-"acl1_1k fw1_1k ipc1_1k acl2_10k fw1_10k ipc1_10k acl1_100k fw1_100k ipc1_50k"}
minTime=${MIN_TIME:-0.5}
files() {  # SET -> "RULES TRACE" relative to the corpus
  case $1 in
    *_1k) echo "1k/$1 1k/$1_trace" ;;
    *_10k) echo "10k/$1 10k/$1_trace" ;;
    *) echo "100k/$1 100k/$1_corner_trace" ;;
  esac
}
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/')"
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
printf '%-6s %-10s %10s %10s %10s %7s\n' round set dpdk 'sgsim cpu' 'sgsim wall' ratio
for r in $(seq "$rounds"); do
  for set in $sets; do
    set -- $(files "$set")
    rules=$corpus/$1 trace=$corpus/$2
    [ -f "$rules" ] && [ -f "$trace" ] || { echo "$rules or $trace is missing" >&2; exit 1; }
    n=$(wc -l < "$trace")
    d=$(dpdk-test-acl --no-huge --no-pci -l 0 -m 2048 -- --rulesf="$rules" --tracef="$trace" \
          --tracenum="$n" --iter=3 --alg=scalar --verbose=1 2>/dev/null |
        sed -n 's/.* \([0-9.]*\) pkt\/sec.*/\1/p' | awk '{ printf "%.1f", 1e9 / $1 }')
    s=$("$bench" --benchmark_filter="^fast/$set\$" --benchmark_min_time="$minTime" 2>/dev/null |
        sed -n 's/^fast\/.* ns\/lookup=\([0-9.]*\).* wall ns\/lookup=\([0-9.]*\).*/\1 \2/p')
    set -- $s
    printf '%-6s %-10s %10s %10.1f %10.1f %7.2f\n' "$r" "$set" "$d" "$1" "$2" "$(echo "$1 $d" | awk '{ print $1 / $2 }')" |
      tee -a "$rows"
  done
done
awk '{ k = $2; n[k]++; d[k, n[k]] = $3; s[k, n[k]] = $4; q[k, n[k]] = $6; if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
  function median(a, k, c,   i, j, t, v) {
    for (i = 1; i <= c; i++) v[i] = a[k, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
  }
  END {
    printf "\n%-10s %6s %10s %10s %12s %s\n", "set", "rounds", "dpdk", "sgsim", "median ratio", "(ratio range)"
    for (i = 1; i <= m; i++) {
      k = order[i]; lo = 1e9; hi = 0
      for (j = 1; j <= n[k]; j++) { if (q[k, j] < lo) lo = q[k, j]; if (q[k, j] > hi) hi = q[k, j] }
      printf "%-10s %6d %10.1f %10.1f %12.2f (%.2f-%.2f)\n", k, n[k], median(d, k, n[k]), median(s, k, n[k]), median(q, k, n[k]), lo, hi
    }
  }' "$rows"
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/')"
