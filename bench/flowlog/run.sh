#!/bin/sh
# Issue 10's flow-log target, as docs/PERFORMANCE.md ("Flow logs") reports it: `sgsim whatif --flow-log` over
# 10 million records with a 1,000-rule table against `mawk -F, '{s += $14} END {print s}'` over the same CSV (the
# yardstick: one pass that splits every line), alternated in one sitting with hyperfine; then peak RSS (GNU time)
# at 1M, 3M and 10M records of the same 100,000 live conversations (flat in the number of records).
#
#   bench/flowlog/run.sh [BUILD=build-rel] [DATA=/work/perfdata-flowlog]
#
# BUILD: a release build with src/cli/sgsim and bench/pipeline/modelgen. Needs python3, mawk, hyperfine,
# /usr/bin/time. About 1.9 GB of CSV under DATA (tools/flowlog_gen.py synth, seed 1: same bytes every time).
set -eu
BUILD=${1:-build-rel}
DATA=${2:-/work/perfdata-flowlog}
RUNS=${RUNS:-5}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
S=$BUILD/src/cli/sgsim
mkdir -p "$DATA"
[ -f "$DATA/m1000.json" ] || "$BUILD/bench/pipeline/modelgen" --rules 1000 --host 10.0.0.1 "$DATA/m1000.json"
echo '{"Action":"RevokeSecurityGroup","SecurityGroupId":"sg-bench","SecurityGroupRuleId":["sgr-bench000930"]}' \
  > "$DATA/revoke930.json"
for n in 1000000 3000000 10000000; do
  f="$DATA/fl$((n / 1000000))m.csv"
  [ -f "$f" ] || python3 "$SRC/tools/flowlog_gen.py" synth --records "$n" --conversations 100000 --seed 1 > "$f"
done
W="$S whatif --model $DATA/m1000.json --revoke $DATA/revoke930.json --format json --flow-log"
echo "== 10M records: mawk vs sgsim whatif (alternated, $RUNS runs each)"
hyperfine -N --runs "$RUNS" --warmup 1 \
  "mawk -F, '{s += \$14} END {print s}' $DATA/fl10m.csv" \
  "$W $DATA/fl10m.csv"
echo "== peak RSS (kB) at the same 100,000 conversations"
for m in 1 3 10; do
  printf '%sM records: ' "$m"
  /usr/bin/time -f '%M' $W "$DATA/fl${m}m.csv" 2>&1 >/dev/null | tail -1
done
