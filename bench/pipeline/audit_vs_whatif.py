#!/usr/bin/env python3
"""The traffic audit against `sgsim whatif --revoke` on a large capture, rule by rule.

    bench/pipeline/audit_vs_whatif.py BUILD MODEL CAPTURE [N=20] [SEED=1]

Runs `auditrun --json` once over CAPTURE, then `sgsim whatif --revoke <rule by id> --format json` for N rules
picked with SEED (half among the rules the audit says change traffic, half among all), and compares the JSON
totals (changedFlows, cutFlows, openedFlows, changedPackets, changedBytes) and the `fallback` array (the same
entries in the same order). Exit 1 on any difference. The unit tests
(tests/verdict/audit_test.cpp) compare every rule on random models and the bundled samples; this is the same
check at the size of the benchmarks (docs/PERFORMANCE.md).
"""
import json
import os
import random
import subprocess
import sys
import tempfile


def main():
    build, model, capture = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    rng = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "audit.json")
        subprocess.run([f"{build}/bench/pipeline/auditrun", "--model", model, "--top", "0", "--json", out, capture],
                       check=True, stdout=subprocess.DEVNULL)
        rules = json.load(open(out))
        changing = [r for r in rules if r["ifRevoked"]["changedFlows"] > 0]
        picked = rng.sample(changing, min(n // 2, len(changing)))
        picked += rng.sample([r for r in rules if r not in picked], min(n - len(picked), len(rules) - len(picked)))
        bad = 0
        for r in picked:
            d = None
            for action in ("RevokeSecurityGroup", "RevokeSecurityGroupEgress"):
                req = os.path.join(tmp, "revoke.json")
                json.dump({"Action": action, "SecurityGroupId": r["group"], "SecurityGroupRuleId": [r["rule"]]},
                          open(req, "w"))
                p = subprocess.run([f"{build}/src/cli/sgsim", "whatif", "--model", model, "--revoke", req,
                                    "--format", "json", capture], capture_output=True, text=True)
                if p.returncode == 0:
                    d = json.loads(p.stdout)
                    break
            if d is None:
                print(f"{r['rule']}: whatif refused both revokes")
                bad += 1
                continue
            t = d["totals"]
            want = {k: t[k] for k in ("changedFlows", "cutFlows", "openedFlows", "changedPackets", "changedBytes")}
            same = want == r["ifRevoked"] and d["fallback"] == r["fallback"]
            bad += not same
            print(f"{r['rule']}: {'same' if same else 'DIFFERENT'} {want}"
                  + ("" if same else f" audit {r['ifRevoked']} fallback {r['fallback']} vs {d['fallback']}"))
        print(f"{len(picked)} rules compared, {bad} different")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
