#!/bin/sh
# End-to-end measurements of issue 4 (targets 2a, 2b, 3 and the scaling tables), exactly as docs/PERFORMANCE.md
# reports them: generates what is missing under DATA, then runs sgsim and tcpdump side by side with hyperfine
# (medians of several runs, same sitting) and GNU time (peak RSS).
#
#   bench/pipeline/e2e.sh [BUILD=build-perf-rel] [DATA=/work/perfdata] [prepare|2a|2b|3|scale|live2m|all]...
#
# BUILD must be a release build with bench/pipeline/{trafficgen,modelgen}, bench/classbench2sgsim and
# src/cli/sgsim built. Needs hyperfine, GNU time (/usr/bin/time), tcpdump, tshark (2a only), python3.
# About 12 GB of captures (the 8M-packet one alone is 4.4 GB); the 20M-packet capture is cut at 96 bytes.
set -eu

BUILD=${1:-build-perf-rel}
DATA=${2:-/work/perfdata}
[ $# -ge 2 ] && shift 2 || shift $#
STEPS=${*:-all}
RUNS=${RUNS:-7}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CB=${CLASSBENCH:-$SRC/../shared/corpus/classbench/10k}
S=$BUILD/src/cli/sgsim
G=$BUILD/bench/pipeline
mkdir -p "$DATA"

gen_model() { [ -f "$DATA/m$1.json" ] || "$G/modelgen" --rules "$1" --host 10.0.0.1 "$DATA/m$1.json"; }
# gen_pcap NAME PACKETS RULES [trafficgen options]
gen_pcap() {
  name=$1 packets=$2 rules=$3
  shift 3
  [ -f "$DATA/$name" ] || "$G/trafficgen" --packets "$packets" --flows 100000 --rules-host 10.0.0.1 \
    --model "$DATA/m$rules.json" "$@" "$DATA/$name"
}

prepare() {
  for r in 100 1000 10000; do gen_model $r; done
  # The revoke of target 2a: an SSH-from-anywhere accept rule that the mix's traffic uses.
  echo '{"Action":"RevokeSecurityGroup","SecurityGroupId":"sg-bench","SecurityGroupRuleId":["sgr-bench000930"]}' \
    > "$DATA/revoke930.json"
  # For the rules table: a rule that the 100-, 1,000- and 10,000-rule models share (same seed, same first rules).
  echo '{"Action":"RevokeSecurityGroup","SecurityGroupId":"sg-bench","SecurityGroupRuleId":["sgr-bench000020"]}' \
    > "$DATA/revoke020.json"
  gen_pcap cap2m.pcap 2000000 1000
  gen_pcap cap2m_b4.pcap 2000000 1000 --burst 4
  gen_pcap cap500000.pcap 500000 1000
  gen_pcap cap8000000.pcap 8000000 1000
  gen_pcap cap2m_r100.pcap 2000000 100
  gen_pcap cap2m_r10000.pcap 2000000 10000
  gen_pcap cap2m_s96.pcap 2000000 1000 --snaplen 96
  gen_pcap cap20m_s96.pcap 20000000 1000 --snaplen 96
  gen_pcap new2m.pcap 2000000 1000 --new-flow-every-packet
  for s in acl2 fw1 ipc1; do
    [ -f "$DATA/cb_${s}_10k_2m.pcap" ] || "$BUILD/bench/classbench2sgsim" --rules "$CB/${s}_10k" \
      --trace "$CB/${s}_10k_trace" --model "$DATA/cb_${s}_10k.json" --pcap "$DATA/cb_${s}_10k_2m.pcap" \
      --count 2000000 --flows
  done
}

# compare NAME COMMAND...: hyperfine with tcpdump on the capture as the first command; prints medians and ratios.
compare() {
  name=$1 cap=$2
  shift 2
  hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$DATA/result_$name.json" \
    "tcpdump -r $cap -w /dev/null" "$@" > "$DATA/result_$name.txt" 2>&1
  python3 - "$DATA/result_$name.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[0]["median"]
for x in r:
    print(f'{x["median"]:8.3f} s  min {x["min"]:.3f}  max {x["max"]:.3f}  x{x["median"] / base:5.2f}  {x["command"]}')
EOF
}

rss() {  # median peak RSS in kB of three runs
  for i in 1 2 3; do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 2p
}

step_2a() {
  echo "== target 2a: 2M packets, 100k live flows, 1,000 rules"
  compare 2a "$DATA/cap2m.pcap" \
    "$S whatif --model $DATA/m1000.json --revoke $DATA/revoke930.json $DATA/cap2m.pcap" \
    "$S replay --model $DATA/m1000.json --format summary $DATA/cap2m.pcap" \
    "$S whatif --threads 1 --model $DATA/m1000.json --revoke $DATA/revoke930.json $DATA/cap2m.pcap" \
    "$S replay --threads 1 --model $DATA/m1000.json --format summary $DATA/cap2m.pcap"
  echo "peak RSS kB: whatif $(rss "$S" whatif --model "$DATA/m1000.json" --revoke "$DATA/revoke930.json" "$DATA/cap2m.pcap")" \
    "replay $(rss "$S" replay --model "$DATA/m1000.json" --format summary "$DATA/cap2m.pcap")" \
    "tcpdump $(rss tcpdump -r "$DATA/cap2m.pcap" -w /dev/null)"
  echo "== the same with trains of 4 frames on average per conversation (--burst 4)"
  compare 2a_burst "$DATA/cap2m_b4.pcap" \
    "$S whatif --model $DATA/m1000.json --revoke $DATA/revoke930.json $DATA/cap2m_b4.pcap" \
    "$S replay --model $DATA/m1000.json --format summary $DATA/cap2m_b4.pcap"
  # For scale: a display filter with a handful of the model's conditions (rules 930, 500, 45, 20 and an egress
  # one), one run.
  /usr/bin/time -f "tshark: %e s, %M kB" tshark -r "$DATA/cap2m.pcap" -Y \
    "(ip.dst==10.0.0.1 && tcp.dstport==22) || (ip.src==216.7.43.0/24 && udp.dstport==13503) ||
     (ip.src==70.64.0.0/10 && udp.dstport==22) || (ip.src==78.216.29.0/24 && tcp.dstport==22) ||
     (ip.dst==207.0.0.0/9 && tcp.dstport==13160)" > /dev/null
}

step_2b() {
  for s in acl2 fw1 ipc1; do
    echo "== target 2b: ClassBench ${s}_10k, 2M packets, every packet a new flow"
    compare "2b_$s" "$DATA/cb_${s}_10k_2m.pcap" \
      "$S replay --model $DATA/cb_${s}_10k.json --format summary $DATA/cb_${s}_10k_2m.pcap" \
      "$S replay --threads 1 --model $DATA/cb_${s}_10k.json --format summary $DATA/cb_${s}_10k_2m.pcap"
  done
  echo "== new-flow mix of trafficgen, 1,000 rules"
  compare 2b_mix "$DATA/new2m.pcap" "$S replay --model $DATA/m1000.json --format summary $DATA/new2m.pcap"
}

step_3() {
  echo "== target 3: peak RSS of whatif, 20M vs 2M packets, 100k live flows (frames cut at 96 bytes)"
  a=$(rss "$S" whatif --model "$DATA/m1000.json" --revoke "$DATA/revoke930.json" "$DATA/cap2m_s96.pcap")
  b=$(rss "$S" whatif --model "$DATA/m1000.json" --revoke "$DATA/revoke930.json" "$DATA/cap20m_s96.pcap")
  echo "2M: $a kB  20M: $b kB  ratio $(python3 -c "print(round($b / $a, 3))")"
}

step_scale() {
  echo "== scaling with rules: replay and whatif, 2M packets, 100k live flows"
  for r in 100 1000 10000; do
    cap=$DATA/cap2m_r$r.pcap
    [ $r = 1000 ] && cap=$DATA/cap2m.pcap
    compare "rules$r" "$cap" "$S replay --model $DATA/m$r.json --format summary $cap" \
      "$S whatif --model $DATA/m$r.json --revoke $DATA/revoke020.json $cap"
  done
  echo "== scaling with capture size: replay and whatif, 1,000 rules, 100k live flows"
  for n in 500000 8000000; do
    compare "size$n" "$DATA/cap$n.pcap" \
      "$S replay --model $DATA/m1000.json --format summary $DATA/cap$n.pcap" \
      "$S whatif --model $DATA/m1000.json --revoke $DATA/revoke930.json $DATA/cap$n.pcap"
  done
}

# Issue 11, target 2 (docs/PERFORMANCE.md): 2 million flows live at once, one packet each way, interleaved. With
# REF=an older sgsim binary, first checks that both give the same replay summary (exits if they differ).
step_live2m() {
  gen_model 1000
  [ -f "$DATA/revoke930.json" ] ||
    echo '{"Action":"RevokeSecurityGroup","SecurityGroupId":"sg-bench","SecurityGroupRuleId":["sgr-bench000930"]}' \
      > "$DATA/revoke930.json"
  [ -f "$DATA/rr2m.pcap" ] || "$G/trafficgen" --request-reply --flows 2000000 --rules-host 10.0.0.1 \
    --model "$DATA/m1000.json" "$DATA/rr2m.pcap"
  echo "== issue 11 target 2: 2M live flows, one packet each way, interleaved (rr2m.pcap)"
  if [ -n "${REF:-}" ]; then
    "$REF" replay --model "$DATA/m1000.json" --format summary "$DATA/rr2m.pcap" > "$DATA/live2m_ref.txt"
    "$S" replay --model "$DATA/m1000.json" --format summary "$DATA/rr2m.pcap" > "$DATA/live2m_new.txt"
    cmp "$DATA/live2m_ref.txt" "$DATA/live2m_new.txt"
    echo "replay summaries agree with $REF"
  fi
  compare live2m "$DATA/rr2m.pcap" \
    "$S replay --model $DATA/m1000.json --format summary $DATA/rr2m.pcap" \
    "$S whatif --model $DATA/m1000.json --revoke $DATA/revoke930.json --format json $DATA/rr2m.pcap"
  echo "peak RSS kB: replay $(rss "$S" replay --model "$DATA/m1000.json" --format summary "$DATA/rr2m.pcap")" \
    "whatif $(rss "$S" whatif --model "$DATA/m1000.json" --revoke "$DATA/revoke930.json" --format json "$DATA/rr2m.pcap")"
}

for step in $STEPS; do
  case $step in
    prepare) prepare ;;
    2a) step_2a ;;
    2b) step_2b ;;
    3) step_3 ;;
    scale) step_scale ;;
    live2m) step_live2m ;;
    all) prepare; step_2a; step_2b; step_3; step_scale ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
