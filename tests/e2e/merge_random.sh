#!/usr/bin/env bash
# sgsim merge on random worlds (issue 13): for seeded random models and captures (the benchmarks' generators), the
# shards' JSON reports of whatif (without --at, with a relative and an absolute --at), audit and replay
# --format json, each shard filtered in place (--shard K/N), merge into the unsharded report byte for byte, for N in
# {2, 3, 5}, the reports given last shard first; and the unsharded report merged alone is itself.
#   merge_random.sh SGSIM TRAFFICGEN MODELGEN
set -euo pipefail
sgsim=$1 trafficgen=$2 modelgen=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 checks=0
for seed in 1 2 3; do
  "$modelgen" --rules $((20 * seed)) --host 10.0.0.1 --seed "$seed" "$tmp/m.json"
  "$trafficgen" --packets 4000 --flows 300 --rules-host 10.0.0.1 --model "$tmp/m.json" --seed "$seed" \
    --gap-ns 1000000 "$tmp/c.pcap" >/dev/null 2>&1
  # Revoke two ingress accept rules (one request revokes one direction), picked by the seed.
  python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["SecurityGroups"][0]
ids=[p["SecurityGroupRuleId"] for p in g["Permissions"]["Permission"] if p["Direction"]=="ingress" and p["Policy"]=="Accept"]
s=int(sys.argv[2]); print(json.dumps({"SecurityGroupId": g["SecurityGroupId"], "SecurityGroupRuleId": [ids[s % len(ids)], ids[(3 * s) % len(ids)]]}))' \
    "$tmp/m.json" "$seed" >"$tmp/revoke.json"
  # The instant of the 1000th frame, as an absolute --at.
  at=$("$sgsim" replay --model "$tmp/m.json" --format jsonl "$tmp/c.pcap" 2>/dev/null | sed -n 1000p |
    python3 -c 'import json,sys,datetime; t=json.load(sys.stdin)["time"]; print(datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))')
  runs=(
    "whatif --model $tmp/m.json --revoke $tmp/revoke.json --format json"
    "whatif --model $tmp/m.json --revoke $tmp/revoke.json --format json --at +1.5"
    "whatif --model $tmp/m.json --revoke $tmp/revoke.json --format json --at $at --at-outside-capture"
    "audit --model $tmp/m.json --format json"
    "audit --model $tmp/m.json --format json --sort hits"
    "replay --model $tmp/m.json --format json"
  )
  for cmd in "${runs[@]}"; do
    sort=()
    [[ "$cmd" == *"--sort hits"* ]] && sort=(--sort hits)
    set +e
    $sgsim $cmd "$tmp/c.pcap" >"$tmp/whole.json" 2>/dev/null
    set -e
    if [[ "$cmd" == whatif* ]]; then  # a world where nothing changes would test little
      changed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["changedFlows"])' "$tmp/whole.json")
      echo "seed $seed: $changed changed flows: sgsim $cmd"
      [ "$changed" -gt 0 ] || { echo "FAIL seed $seed: no flow changes"; fail=$((fail + 1)); }
    fi
    # The unsharded report alone (no "shard" member: the whole run, 1/1) merges into itself.
    checks=$((checks + 1))
    if ! "$sgsim" merge "${sort[@]}" "$tmp/whole.json" | cmp -s - "$tmp/whole.json"; then
      echo "FAIL seed $seed: sgsim $cmd: merging the unsharded report alone changes it"
      fail=$((fail + 1))
    fi
    for n in 2 3 5; do
      files=()
      for ((k = n; k >= 1; k--)); do
        set +e
        $sgsim $cmd --shard $k/$n "$tmp/c.pcap" >"$tmp/s$k.json" 2>/dev/null
        set -e
        files+=("$tmp/s$k.json")
      done
      checks=$((checks + 1))
      if ! "$sgsim" merge "${sort[@]}" "${files[@]}" >"$tmp/merged.json" || ! cmp -s "$tmp/merged.json" "$tmp/whole.json"; then
        echo "FAIL seed $seed, N=$n: sgsim $cmd: the merged report is not the unsharded one"
        diff "$tmp/whole.json" "$tmp/merged.json" | head -20
        fail=$((fail + 1))
      fi
    done
  done
done
echo "$checks merges compared with the unsharded run, $fail differ"
[ $fail -eq 0 ] && [ $checks -gt 0 ]
