#!/bin/sh
# Target 4 of issue 11 (and target 1 of issue 4): sgsim's fast classifier against dpdk-test-acl --alg=scalar on
# every ClassBench set, alternated. Each round runs, set by set, one dpdk-test-acl run (--iter=3) and then one
# classify_bench run of batch/SET and fast/SET, so that both tools of a pair see the same minutes of a shared
# machine. Prints every round (ns per lookup: dpdk-test-acl's TSC wall time per packet; sgsim's thread CPU time
# per lookup and its wall time through the batch API, and its CPU time one key at a time) and, per set, the
# medians over the rounds and the medians of the per-round ratios sgsim CPU / dpdk, batch and one at a time.
#
# The ratio that counts is the batch one: dpdk-test-acl classifies bursts, rte_acl_classify() on --tracestep
# keys at a time (TRACE_STEP_DEF 0x100 = 256 in app/test-acl/main.c), and its scalar algorithm keeps two
# searches in flight (MAX_SEARCHES_SCALAR 2 in lib/acl/acl_run.h, interleaved in rte_acl_classify_scalar,
# lib/acl/acl_run_scalar.c); classify_bench's batch/SET calls FastClassifier::classify(keys, out) on bursts of
# 256 (which today looks the keys up one after the other: see the classifier's design notes, "Batch lookups").
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
printf '%-6s %-10s %10s %10s %10s %10s %7s %7s\n' round set dpdk 'batch cpu' 'batch wall' '1x1 cpu' ratio '1x1/dpdk'
for r in $(seq "$rounds"); do
  for set in $sets; do
    set -- $(files "$set")
    rules=$corpus/$1 trace=$corpus/$2
    [ -f "$rules" ] && [ -f "$trace" ] || { echo "$rules or $trace is missing" >&2; exit 1; }
    n=$(wc -l < "$trace")
    d=$(dpdk-test-acl --no-huge --no-pci -l 0 -m 2048 -- --rulesf="$rules" --tracef="$trace" \
          --tracenum="$n" --iter=3 --alg=scalar --verbose=1 2>/dev/null |
        sed -n 's/.* \([0-9.]*\) pkt\/sec.*/\1/p' | awk '{ printf "%.1f", 1e9 / $1 }')
    out=$("$bench" --benchmark_filter="^(batch|fast)/$set\$" --benchmark_min_time="$minTime" 2>/dev/null)
    b=$(echo "$out" | sed -n 's/^batch\/.* ns\/lookup=\([0-9.]*\).* wall ns\/lookup=\([0-9.]*\).*/\1 \2/p')
    f=$(echo "$out" | sed -n 's/^fast\/.* ns\/lookup=\([0-9.]*\).* wall ns\/lookup=\([0-9.]*\).*/\1/p')
    set -- $b $f
    printf '%-6s %-10s %10s %10.1f %10.1f %10.1f %7.2f %7.2f\n' "$r" "$set" "$d" "$1" "$2" "$3" \
      "$(echo "$1 $d" | awk '{ print $1 / $2 }')" "$(echo "$3 $d" | awk '{ print $1 / $2 }')" | tee -a "$rows"
  done
done
awk '{ k = $2; n[k]++; d[k, n[k]] = $3; s[k, n[k]] = $4; f[k, n[k]] = $6; q[k, n[k]] = $7; g[k, n[k]] = $8
       if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
  function median(a, k, c,   i, j, t, v) {
    for (i = 1; i <= c; i++) v[i] = a[k, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
  }
  END {
    printf "\n%-10s %6s %10s %10s %10s %12s %-13s %s\n", "set", "rounds", "dpdk", "batch", "1x1", "median ratio",
           "(ratio range)", "1x1/dpdk"
    for (i = 1; i <= m; i++) {
      k = order[i]; lo = 1e9; hi = 0
      for (j = 1; j <= n[k]; j++) { if (q[k, j] < lo) lo = q[k, j]; if (q[k, j] > hi) hi = q[k, j] }
      printf "%-10s %6d %10.1f %10.1f %10.1f %12.2f (%.2f-%.2f)   %.2f\n", k, n[k], median(d, k, n[k]), median(s, k, n[k]),
             median(f, k, n[k]), median(q, k, n[k]), lo, hi, median(g, k, n[k])
    }
  }' "$rows"
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/')"
