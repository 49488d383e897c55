#!/bin/sh
# The traffic audit's time and memory against `sgsim replay --format summary` on the same captures (issue 9: a
# whole 1,000-rule table audited over the 2-million-packet capture in at most 2x replay's time), as
# docs/PERFORMANCE.md reports them.
#
#   bench/pipeline/audit_e2e.sh [BUILD=build-rel] [DATA=/work/perfdata] [RUNS=7]
#
# BUILD: a release build with src/cli/sgsim and bench/pipeline/{auditrun,trafficgen,modelgen}. DATA: where the
# captures of bench/pipeline/e2e.sh are (m1000.json, cap2m.pcap, cap2m_b4.pcap; made here when missing, with the
# same commands). Needs python3 and GNU time (/usr/bin/time).
set -eu

BUILD=${1:-build-rel}
DATA=${2:-/work/perfdata}
RUNS=${RUNS:-7}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
S=$BUILD/src/cli/sgsim
A=$BUILD/bench/pipeline/auditrun
G=$BUILD/bench/pipeline
mkdir -p "$DATA"

[ -f "$DATA/m1000.json" ] || "$G/modelgen" --rules 1000 --host 10.0.0.1 "$DATA/m1000.json"
# e2e.sh's revoke of target 2a, for one whatif beside the audit of all 1,000 rules
echo '{"Action":"RevokeSecurityGroup","SecurityGroupId":"sg-bench","SecurityGroupRuleId":["sgr-bench000930"]}' \
  > "$DATA/revoke930.json"
for c in cap2m cap2m_b4; do
  opt=""
  [ $c = cap2m_b4 ] && opt="--burst 4"
  # shellcheck disable=SC2086
  [ -f "$DATA/$c.pcap" ] || "$G/trafficgen" --packets 2000000 --flows 100000 --rules-host 10.0.0.1 \
    --model "$DATA/m1000.json" $opt "$DATA/$c.pcap"
done

rss() {  # median peak RSS in kB of three runs
  for i in 1 2 3; do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 2p
}

for c in cap2m cap2m_b4; do
  echo "== $c.pcap: replay --format summary, the audit of every rule, one whatif (two threads); replay and audit (one)"
  python3 "$SRC/bench/pipeline/alternate.py" "$RUNS" \
    "$S replay --model $DATA/m1000.json --format summary $DATA/$c.pcap" \
    "$A --model $DATA/m1000.json $DATA/$c.pcap" \
    "$S whatif --model $DATA/m1000.json --revoke $DATA/revoke930.json $DATA/$c.pcap" \
    "$S replay --threads 1 --model $DATA/m1000.json --format summary $DATA/$c.pcap" \
    "$A --threads 1 --model $DATA/m1000.json $DATA/$c.pcap"
done
echo "peak RSS kB on cap2m.pcap: replay $(rss "$S" replay --model "$DATA/m1000.json" --format summary "$DATA/cap2m.pcap")" \
  "audit $(rss "$A" --model "$DATA/m1000.json" "$DATA/cap2m.pcap")"
"$A" --model "$DATA/m1000.json" --top 0 "$DATA/cap2m.pcap"

# What grows with the capture: the distinct (rule, flow) pairs. Target 3's captures (frames cut at 96 bytes),
# 2M and 20M packets with 100,000 live conversations throughout.
for n in 2000000:cap2m_s96 20000000:cap20m_s96; do
  [ -f "$DATA/${n#*:}.pcap" ] || "$G/trafficgen" --packets "${n%%:*}" --flows 100000 --rules-host 10.0.0.1 \
    --model "$DATA/m1000.json" --snaplen 96 "$DATA/${n#*:}.pcap"
  echo "peak RSS kB on ${n#*:}.pcap: replay $(rss "$S" replay --model "$DATA/m1000.json" --format summary \
    "$DATA/${n#*:}.pcap") whatif $(rss "$S" whatif --model "$DATA/m1000.json" --revoke "$DATA/revoke930.json" \
    "$DATA/${n#*:}.pcap") audit $(rss "$A" --model "$DATA/m1000.json" "$DATA/${n#*:}.pcap")"
done
