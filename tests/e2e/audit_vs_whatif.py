#!/usr/bin/env python3
"""`sgsim audit` against `sgsim whatif --revoke <rule>` on the bundled samples, through the built binary: for every
audited rule, its JSON `ifRevoked` must be exactly whatif's `totals` for that revoke alone, and its `fallback`
whatif's `fallback` (issue 9). usage: audit_vs_whatif.py SGSIM SOURCE_DIR"""
import json
import os
import subprocess
import sys

sgsim, src = os.path.abspath(sys.argv[1]), sys.argv[2]
CASES = [
    ("examples/web.json", ["pcaps/web_basic.pcap"]),
    ("examples/web.json", ["pcaps/tcp_close_timeouts.pcap"]),
    ("examples/web.json", ["pcaps/fragments_v4v6.pcap"]),
    ("examples/web.json", ["pcaps/web_basic.pcap", "pcaps/tcp_close_timeouts.pcap"]),
    ("examples/web_audit.json", ["pcaps/web_basic.pcap"]),
    ("examples/two_tier.json", ["pcaps/two_tier_internal.pcap"]),
    ("examples/loopback.json", ["pcaps/loopback_curl_ping.pcap", "pcaps/loopback_http_tshark.pcapng"]),
]
KEYS = ["changedFlows", "cutFlows", "openedFlows", "changedPackets", "changedBytes"]


def run(args):
    r = subprocess.run([sgsim] + args, cwd=src, capture_output=True, text=True)
    if r.returncode not in (0, 3):
        sys.exit(f"sgsim {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return json.loads(r.stdout)


checked = failed = changed = 0
for model, captures in CASES:
    audit = run(["audit", "--model", model, "--format", "json"] + captures)
    for rule in audit["rules"]:
        action = "RevokeSecurityGroup" if rule["direction"] == "ingress" else "RevokeSecurityGroupEgress"
        request = json.dumps({"Action": action, "SecurityGroupId": rule["group"], "SecurityGroupRuleId": [rule["rule"]]})
        whatif = run(["whatif", "--model", model, "--revoke", request, "--format", "json"] + captures)
        want = {k: whatif["totals"][k] for k in KEYS}
        got = {k: rule["ifRevoked"][k] for k in KEYS}
        checked += 1
        changed += want["changedFlows"] > 0
        if got != want or rule["fallback"] != whatif["fallback"]:
            failed += 1
            print(f"DIFFER {model} {' '.join(captures)} {rule['rule']}:\n  audit  {got} {rule['fallback']}\n"
                  f"  whatif {want} {whatif['fallback']}")
print(f"{checked} rules compared ({changed} whose revoke changes traffic), {failed} differ")
sys.exit(1 if failed or checked == 0 or changed == 0 else 0)
