#!/bin/sh
# The reference the fast classifier is measured against: dpdk-test-acl (Debian package dpdk-dev) with its
# scalar algorithm on the same ClassBench rule and trace files. Each set runs REPS times (default 5) and the
# median ns per packet is printed, from the pkt/sec that dpdk-test-acl reports with --verbose=1 (default
# verbosity prints inside the timed loop).
#
#   bench/dpdk_acl_compare.sh            # corpus from $SGSIM_SHARED_DIR or ../shared next to the checkout
#   REPS=9 bench/dpdk_acl_compare.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=${SGSIM_SHARED_DIR:-$here/../../shared}/corpus/classbench
reps=${REPS:-5}
command -v dpdk-test-acl >/dev/null || { echo "dpdk-test-acl not found (apt-get install dpdk-dev)" >&2; exit 1; }
printf '%-12s %8s %10s\n' set headers 'ns/packet'
for pair in 1k/acl1_1k:1k/acl1_1k_trace 1k/fw1_1k:1k/fw1_1k_trace 1k/ipc1_1k:1k/ipc1_1k_trace \
    10k/acl2_10k:10k/acl2_10k_trace 10k/fw1_10k:10k/fw1_10k_trace 10k/ipc1_10k:10k/ipc1_10k_trace \
    100k/acl1_100k:100k/acl1_100k_corner_trace 100k/fw1_100k:100k/fw1_100k_corner_trace \
    100k/ipc1_50k:100k/ipc1_50k_corner_trace; do
  rules=$corpus/${pair%%:*}
  trace=$corpus/${pair#*:}
  [ -f "$rules" ] && [ -f "$trace" ] || continue
  n=$(wc -l < "$trace")
  median=$(for r in $(seq "$reps"); do
      dpdk-test-acl --no-huge --no-pci -l 0 -m 2048 -- --rulesf="$rules" --tracef="$trace" --tracenum="$n" \
        --iter=3 --alg=scalar --verbose=1 2>/dev/null |
        sed -n 's/.* \([0-9.]*\) pkt\/sec.*/\1/p' | awk '{ printf "%.1f\n", 1e9 / $1 }'
    done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  printf '%-12s %8s %10s\n' "$(basename "$rules")" "$n" "$median"
done
