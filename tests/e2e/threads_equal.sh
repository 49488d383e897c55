#!/usr/bin/env bash
# Reading ahead on a second thread (--threads 2, the default) must change nothing but the time: on a generated
# capture large enough for the reader to run ahead and for rules to be decided ahead of the evaluation, every
# output of replay and whatif (JSON Lines, CSV, summary, JSON, the affected-packets pcap, --at) must be
# byte-identical to --threads 1.
#   threads_equal.sh SGSIM TRAFFICGEN MODELGEN
set -euo pipefail
sgsim=$1 trafficgen=$2 modelgen=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$modelgen" --rules 300 --host 10.0.0.1 "$tmp/m.json"
"$trafficgen" --packets 120000 --flows 3000 --rules-host 10.0.0.1 --model "$tmp/m.json" "$tmp/mix.pcap"
"$trafficgen" --packets 60000 --flows 3000 --rules-host 10.0.0.1 --model "$tmp/m.json" --new-flow-every-packet \
  --seed 7 "$tmp/new.pcap"
echo '{"SecurityGroupId":"sg-bench","SecurityGroupRuleId":["sgr-bench000020","sgr-bench000100"]}' > "$tmp/revoke.json"
fail=0
same() {  # NAME ARGS...: runs sgsim with --threads 1 and 2, compares stdout, stderr and the exit status
  local name=$1
  shift
  for t in 1 2; do
    set +e
    "$sgsim" "$@" --threads $t >"$tmp/$name.$t.out" 2>"$tmp/$name.$t.err"
    echo $? >"$tmp/$name.$t.rc"
    set -e
    [ -f "$tmp/aff.pcap" ] && mv "$tmp/aff.pcap" "$tmp/$name.$t.pcap"
  done
  for ext in out err rc pcap; do
    [ -f "$tmp/$name.1.$ext" ] || continue
    if ! cmp -s "$tmp/$name.1.$ext" "$tmp/$name.2.$ext"; then
      echo "FAIL $name: $ext differs between --threads 1 and 2"
      fail=$((fail + 1))
    fi
  done
  [ -s "$tmp/$name.1.out" ] || { echo "FAIL $name: no output"; fail=$((fail + 1)); }
}
for cap in mix new; do
  same "replay_jsonl_$cap" replay --model "$tmp/m.json" --format jsonl "$tmp/$cap.pcap"
  same "replay_csv_$cap" replay --model "$tmp/m.json" --format csv --direction ingress --host 10.0.0.1 "$tmp/$cap.pcap"
  same "replay_summary_$cap" replay --model "$tmp/m.json" --format summary "$tmp/$cap.pcap"
  same "whatif_json_$cap" whatif --model "$tmp/m.json" --revoke "$tmp/revoke.json" --format json \
    --write-affected "$tmp/aff.pcap" "$tmp/$cap.pcap"
  same "whatif_at_$cap" whatif --model "$tmp/m.json" --revoke "$tmp/revoke.json" --format csv --at +1 "$tmp/$cap.pcap"
  same "whatif_cap_$cap" whatif --model "$tmp/m.json" --revoke "$tmp/revoke.json" --max-flows 500 "$tmp/$cap.pcap"
done
echo "threads: $fail differences"
[ $fail -eq 0 ]
