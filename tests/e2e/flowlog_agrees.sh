#!/usr/bin/env bash
# The same what-if over a capture and over the flow log made from it (tools/flowlog_gen.py from-pcap) agrees: the
# same conversations change fate, with the same packets and bytes (issue 10). Both bundled samples, both formats.
# usage: flowlog_agrees.sh SGSIM SOURCE_DIR
set -euo pipefail
sgsim=$(realpath "$1")
cd "$2"
flows() {  # change, proto, src, sport, dst, dport, packets, bytes of each changed flow, sorted
  python3 -c 'import json,sys; r=json.load(sys.stdin)
for f in sorted(r["flows"], key=lambda f: (f["src"], f["sport"], f["dst"], f["dport"])):
    print(f["change"], f["proto"], f["src"], f["sport"], f["dst"], f["dport"], f["packets"], f["bytes"])'
}
fail=0
for req in revoke_ssh.json revoke_public_https.json; do
  a=$("$sgsim" whatif --model examples/web.json --revoke "examples/requests/$req" --format json pcaps/web_basic.pcap | flows)
  for log in examples/web_basic_flowlog.csv examples/web_basic_flowlog.jsonl.gz; do
    b=$("$sgsim" whatif --model examples/web.json --revoke "examples/requests/$req" --format json --flow-log "$log" | flows)
    if [ "$a" != "$b" ] || [ -z "$a" ]; then
      echo "FAIL $req over $log:"; diff <(echo "$a") <(echo "$b") || true; fail=1
    else
      echo "ok $req over $log: $(echo "$a" | wc -l) changed flows agree"
    fi
  done
done
exit $fail
