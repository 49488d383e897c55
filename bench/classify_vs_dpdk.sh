#!/bin/sh
# Alternates dpdk-test-acl --alg=scalar and sgsim's classify_bench on one ClassBench set, one run of each per
# round, so that both see the same machine; prints each round and the medians (ns per lookup). On a shared,
# noisy machine this is the fair comparison for target 1 (see docs/PERFORMANCE.md).
#
#   bench/classify_vs_dpdk.sh build-rel/bench/classify_bench 100k/acl1_100k 100k/acl1_100k_corner_trace 9
#
# Corpus from $SGSIM_SHARED_DIR or ../shared next to the checkout. classify_bench's benchmark is named after
# the rule file (fast/acl1_100k).
set -eu
[ $# -eq 4 ] || { echo "usage: $0 CLASSIFY_BENCH RULES TRACE ROUNDS (RULES/TRACE relative to corpus/classbench)" >&2; exit 2; }
bench=$1 rules=$2 trace=$3 rounds=$4
here=$(cd "$(dirname "$0")" && pwd)
corpus=${SGSIM_SHARED_DIR:-$here/../../shared}/corpus/classbench
command -v dpdk-test-acl >/dev/null || { echo "dpdk-test-acl not found (apt-get install dpdk-dev)" >&2; exit 1; }
[ -f "$corpus/$rules" ] && [ -f "$corpus/$trace" ] || { echo "$corpus/$rules or its trace is missing" >&2; exit 1; }
name=$(basename "$rules")
n=$(wc -l < "$corpus/$trace")
printf '%-6s %14s %10s\n' round dpdk-test-acl sgsim
for r in $(seq "$rounds"); do
  d=$(dpdk-test-acl --no-huge --no-pci -l 0 -m 2048 -- --rulesf="$corpus/$rules" --tracef="$corpus/$trace" \
        --tracenum="$n" --iter=3 --alg=scalar --verbose=1 2>/dev/null |
      sed -n 's/.* \([0-9.]*\) pkt\/sec.*/\1/p' | awk '{ printf "%.1f", 1e9 / $1 }')
  s=$("$bench" --benchmark_filter="^fast/$name\$" --benchmark_min_time=1 2>/dev/null |
      sed -n 's/^fast\/.*ns\/lookup=\([0-9.]*\).*/\1/p' | awk '{ printf "%.1f", $1 }')
  printf '%-6s %14s %10s\n' "$r" "$d" "$s"
done | awk '{ print } NR > 1 { d[NR - 1] = $2; s[NR - 1] = $3 }
  END { n = NR - 1
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) {
          if (d[j] < d[i]) { t = d[i]; d[i] = d[j]; d[j] = t }
          if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t } }
        m = int((n + 1) / 2)
        printf "%-6s %14.1f %10.1f   sgsim/dpdk %.2f\n", "median", d[m], s[m], s[m] / d[m] }'
