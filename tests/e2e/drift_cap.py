#!/usr/bin/env python3
"""A flow log with more distinct drift rows than a run lists (ReplayStats::kMaxDriftRows, 100,000), through the built
binary (issue 13 and trust): the whole run lists the first 100,000 rows it meets, each with all its records, and says
on stderr and in the report's warnings how many drift records it counts but does not list; shards run in place and
merged give that report byte for byte (N = 2 and 3, any order, partial merges merged again), though each shard lists
rows the whole run cut and a shard may cut its own list; shards of a split, whose rows do not say where they were
met, are refused by merge with a message saying why, instead of a longer list than one run gives.
usage: drift_cap.py SGSIM SOURCE_DIR"""
import json
import os
import random
import subprocess
import sys
import tempfile

sgsim, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
CAP = 100000
failures = []


def fail(what):
    failures.append(what)
    print("FAIL", what)


def run(args, cwd, ok=(0,)):
    done = subprocess.run([sgsim] + args, cwd=cwd, capture_output=True, timeout=600)
    if done.returncode not in ok:
        sys.exit(f"sgsim {' '.join(args)}: exit {done.returncode}\n{done.stderr.decode()}")
    return done


def flow_log(path):
    """130,000 conversations from distinct sources to eni-web's port 9999, which examples/web.json drops, logged
    ACCEPT: one drift row each. Rows met early and late get more records afterwards (the early ones' counts must be
    whole in the listed rows; the late ones are counted only), and starts jitter by a second so that the flow-log
    reader's reorder window puts records in another order than their lines."""
    rng = random.Random(13)
    head = ("version,vswitch-id,vm-id,vpc-id,account-id,eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,"
            "packets,bytes,start,end,log-status,action,tcp-flags,region\n")
    t0 = 1714554000
    rows = []
    for i in range(130000):
        rows.append((i, t0 + i // 100 + rng.choice((0, 1))))
    for j in range(3000):  # more records of rows met first and of rows met after the cap
        i = rng.randrange(0, 2000) if j % 2 else rng.randrange(120000, 130000)
        rows.append((i, t0 + 1300 + j // 100 + rng.choice((0, 1))))
    with open(path, "w") as f:
        f.write(head)
        for i, start in rows:
            src_ip = f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"
            f.write(f"1,vsw-1,i-web,vpc-1,1234567890123456,eni-web,{src_ip},{40000 + i % 20000},10.0.0.5,9999,6,in,"
                    f"{2 + i % 5},{100 * (2 + i % 5)},{start},{start + 30},OK,ACCEPT,2,cn-hangzhou\n")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "drift.csv")
        flow_log(log)
        model = os.path.join(src, "examples/web.json")
        revoke = os.path.join(src, "examples/requests/revoke_ssh.json")
        commands = {"whatif": ["whatif", "--model", model, "--revoke", revoke, "--format", "json"],
                    "replay": ["replay", "--model", model, "--format", "json"],
                    "audit": ["audit", "--model", model, "--format", "json"]}
        for name, base in commands.items():
            whole = run(base + ["--flow-log", log], tmp)
            report = json.loads(whole.stdout)
            if len(report["drift"]) != CAP:
                fail(f"{name}: the whole run lists {len(report['drift'])} drift rows, not the first {CAP}")
            listed = sum(r["records"] for r in report["drift"])
            unlisted = report["totals"]["driftRecords"] - listed
            warning = [w for w in report["warnings"] if w["where"] == "drift"]
            want = (f"more than {CAP} distinct rows disagree with the logged action: the first {CAP} met in the input "
                    f"are listed, each with all its records; {unlisted} drift records of rows met after them are "
                    "counted in the totals only")
            if unlisted <= 0 or [w["message"] for w in warning] != [want]:
                fail(f"{name}: the report's drift warning is {warning}, expected one saying {unlisted} records")
            if f"sgsim: warning: drift: {want}\n" not in whole.stderr.decode():
                fail(f"{name}: stderr lacks the drift warning: {whole.stderr.decode()[:300]}")
            for n in (2, 3) if name == "whatif" else (3,):
                shards = []
                for k in range(1, n + 1):
                    out = os.path.join(tmp, f"{name}-{n}-{k}.json")
                    run(base + ["--flow-log", log, "--shard", f"{k}/{n}", "-o", out], tmp)
                    shards.append(out)
                    rows = json.load(open(out))["drift"]
                    if any("firstRecord" not in r for r in rows):
                        fail(f"{name} shard {k}/{n} in place: a drift row without firstRecord")
                total = sum(len(json.load(open(s))["drift"]) for s in shards)
                if total <= CAP:
                    fail(f"{name} N={n}: the shards list {total} rows: the test needs more than {CAP}")
                for order in (shards, shards[::-1]):
                    merged = run(["merge"] + order, tmp)
                    if merged.stdout != whole.stdout:
                        fail(f"{name} N={n}: merge of {', '.join(os.path.basename(s) for s in order)} differs from "
                             "the whole run")
                if n < 3:
                    continue
                partial = os.path.join(tmp, f"{name}-{n}-partial.json")
                with open(partial, "wb") as f:
                    f.write(run(["merge", "--partial"] + shards[:2], tmp).stdout)
                merged = run(["merge", partial] + shards[2:], tmp)
                if merged.stdout != whole.stdout:
                    fail(f"{name} N={n}: a partial merge merged again differs from the whole run")
            # Shards of a split: their rows do not say where the whole run met them; more rows than a run lists
            # cannot be cut as it cuts them.
            split = os.path.join(tmp, f"split-{name}")
            run(["split", "--shards", "2", "--out", split, "--flow-log", log], tmp)
            reports = []
            for k in (1, 2):
                out = os.path.join(tmp, f"{name}-split-{k}.json")
                run(base + ["--split", split, "--shard", f"{k}/2", "-o", out], tmp)
                reports.append(out)
            refused = run(["merge"] + reports, tmp, ok=(2,))
            if b"cannot be told: run the shards in place" not in refused.stderr or refused.stdout:
                fail(f"{name}: merge of split shards over the cap: {refused.stderr.decode()[:400]}")
    print(f"drift cap: {len(commands)} commands, whole runs, in-place shards merged, split shards refused; "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
