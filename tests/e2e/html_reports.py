#!/usr/bin/env python3
"""`--format html` through the built binary (issue 12): for whatif, audit, show and replay on the bundled samples,
the page carries the same numbers as the JSON report of the same run (its embedded JSON block equals it, and
every row's data-* figures agree with it; replay's against its JSON Lines), user text is escaped (a rule
description holding <script> and &), warnings reach the page, nothing is fetched from a network, -o writes the
same bytes as stdout, and a 1,000-rule audit stays a reasonable size. usage: html_reports.py SGSIM SOURCE_DIR"""
import collections
import html.parser
import json
import os
import random
import re
import subprocess
import sys
import tempfile

sgsim, src = os.path.abspath(sys.argv[1]), sys.argv[2]
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL", what)


def run(args, rcs=(0, 3)):
    r = subprocess.run([sgsim] + args, cwd=src, capture_output=True, text=True)
    if r.returncode not in rcs:
        sys.exit(f"sgsim {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


class Page(html.parser.HTMLParser):
    """The data block, and every element's tag and attributes in document order."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements, self.data, self._in_data = [], None, False
        self.text = text
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        self._in_data = tag == "script" and a.get("id") == "sgsim-report"

    def handle_endtag(self, tag):
        self._in_data = False

    def handle_data(self, d):
        if self._in_data:
            self.data = (self.data or "") + d

    def report(self):
        return json.loads(self.data)

    def rows(self, **want):
        return [a for t, a in self.elements if t == "tr" and all(a.get(k) == v for k, v in want.items())]

    def tables(self):
        """Each rule table: (eni, direction, its rows in order)."""
        out, current = [], None
        for t, a in self.elements:
            if t == "table":
                current = None
                if "rules" in a.get("class", "").split():
                    current = (a["data-eni"], a["data-direction"], [])
                    out.append(current)
            elif t == "tr" and current is not None and "data-kind" in a:
                current[2].append(a)
        return out


def offline(name, text):
    check(not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I), f"{name}: a src/href to a network")
    check(not re.search(r"https?://", text), f"{name}: an http(s):// address")
    check(not re.search(r"<script(?![^>]*type=\"application/json\")", text), f"{name}: a script that runs")
    check("url(" not in text and "@import" not in text, f"{name}: a style that fetches")


# ---- whatif --------------------------------------------------------------------------------------------------
def entry_key(side):
    if side["reason"] == "rule":
        return "rule:" + side["rule"]
    if side["reason"] == "intra-group":
        return "intra-group:" + side["group"]
    if side["reason"] == "default":
        return "default"
    return None


def row_key(a):
    if a["data-kind"] == "rule":
        return "rule:" + a["data-rule"]
    if a["data-kind"] == "intra-group":
        return "intra-group:" + a["data-group"]
    return "default"


WHATIF = [
    ["--model", "examples/web.json", "--revoke", "examples/requests/revoke_ssh.json", "pcaps/web_basic.pcap"],
    ["--model", "examples/web.json", "--revoke", "examples/requests/revoke_ssh.json", "--at", "+100",
     "pcaps/web_basic.pcap"],
    ["--model", "examples/web_audit.json", "--revoke", "examples/requests/revoke_public_https.json",
     "pcaps/web_basic.pcap", "pcaps/tcp_close_timeouts.pcap"],
    ["--model", "examples/two_tier.json", "--revoke", "examples/requests/revoke_db_mysql.json",
     "pcaps/two_tier_internal.pcap"],
]
for args in WHATIF:
    name = "whatif " + " ".join(args)
    want = json.loads(run(["whatif", "--format", "json"] + args))
    text = run(["whatif", "--format", "html", "--limit", "0"] + args)
    offline(name, text)
    page = Page(text)
    check(page.report() == want, f"{name}: the embedded JSON differs from --format json")
    flows = page.rows()
    flows = [a for a in flows if "data-flow" in a]
    check(len(flows) == len(want["flows"]), f"{name}: {len(flows)} flow rows, JSON has {len(want['flows'])}")
    for a, f in zip(flows, want["flows"]):
        check((a["data-change"], int(a["data-packets"]), int(a["data-bytes"]), int(a["data-first-frame"]))
              == (f["change"], f["packets"], f["bytes"], f["firstFrame"]), f"{name}: flow {a['data-flow']} differs")
    spans = len(re.findall(r'<g class="(cut|opened|changed)" data-flow=', text))
    check(spans == len(want["flows"]), f"{name}: {spans} timeline lines for {len(want['flows'])} flows")
    check(("id=\"at-mark\"" in text) == ("at" in want), f"{name}: --at mark")
    # Every changed flow's before and after decision is counted at the entry that made it.
    for side, attr in (("before", "data-before-flows"), ("after", "data-after-flows")):
        expect = collections.Counter()
        for f in want["flows"]:
            k = entry_key(f[side])
            if k:
                expect[(f[side]["eni"], f[side]["direction"], k)] += 1
        got = collections.Counter()
        for eni, d, rows in page.tables():
            for a in rows:
                if int(a.get(attr, 0)):
                    got[(eni, d, row_key(a))] += int(a[attr])
        check(got == expect, f"{name}: {side} decisions per entry {dict(got)} != {dict(expect)}")
    removed = {r for q in want["requests"] for r in q["removedRules"]}
    marked = {a["data-rule"] for _, _, rows in page.tables() for a in rows if a.get("data-change") == "removed"}
    check(marked == removed, f"{name}: removed rules marked {marked}, requests removed {removed}")

# ---- audit ---------------------------------------------------------------------------------------------------
AUDIT = [
    ["--model", "examples/web_audit.json", "pcaps/web_basic.pcap"],
    ["--model", "examples/two_tier.json", "pcaps/two_tier_internal.pcap"],
    ["--model", "examples/web.json", "pcaps/web_basic.pcap", "pcaps/tcp_close_timeouts.pcap"],
]
FIGURES = {"data-hits-flows": ("hits", "flows"), "data-hits-packets": ("hits", "packets"),
           "data-hits-bytes": ("hits", "bytes"), "data-changed-flows": ("ifRevoked", "changedFlows"),
           "data-cut-flows": ("ifRevoked", "cutFlows"), "data-opened-flows": ("ifRevoked", "openedFlows"),
           "data-changed-packets": ("ifRevoked", "changedPackets"),
           "data-changed-bytes": ("ifRevoked", "changedBytes")}
for args in AUDIT:
    name = "audit " + " ".join(args)
    want = json.loads(run(["audit", "--format", "json"] + args))
    text = run(["audit", "--format", "html"] + args)
    offline(name, text)
    page = Page(text)
    check(page.report() == want, f"{name}: the embedded JSON differs from --format json")
    rules = {(r["group"], r["rule"]): r for r in want["rules"]}
    seen = set()
    for eni, d, rows in page.tables():
        for a in rows:
            if a["data-kind"] != "rule" or "data-verdict" not in a:
                continue
            r = rules[(a["data-group"], a["data-rule"])]
            seen.add((a["data-group"], a["data-rule"]))
            check(eni in r["enis"] and d == r["direction"], f"{name}: {a['data-rule']} in the table of {eni} {d}")
            check(a["data-verdict"] == r["verdict"], f"{name}: {a['data-rule']} verdict")
            for attr, (part, field) in FIGURES.items():
                check(int(a[attr]) == r[part][field], f"{name}: {a['data-rule']} {attr} {a[attr]} != {r[part][field]}")
            shadowed = [s.get("rule") or s.get("intraGroup") for s in r["static"].get("shadowedBy", [])] \
                if isinstance(r["static"], dict) else []
            check(bool(a.get("data-shadowed-by")) == (bool(shadowed) and r["verdict"] == "never-matches"),
                  f"{name}: {a['data-rule']} shadowed mark")
    check(seen == {k for k, r in rules.items() if r["enis"]}, f"{name}: every audited rule on an ENI has a row")
    ranked = [(a["data-group"], a["data-rule"], a["data-verdict"]) for a in page.rows() if "data-verdict" in a
              and "data-kind" not in a]
    check(ranked == [(r["group"], r["rule"], r["verdict"]) for r in want["rules"]], f"{name}: the ranked list")

# ---- show ----------------------------------------------------------------------------------------------------
SHOW = [["--model", "examples/web.json"], ["--model", "examples/two_tier.json"], ["--model", "examples/ens.json"],
        ["--model", "examples/web_audit.json", "--eni", "eni-web"]]
for args in SHOW:
    name = "show " + " ".join(args)
    want = json.loads(run(["show", "--format", "json"] + args))
    text = run(["show", "--format", "html"] + args)
    offline(name, text)
    page = Page(text)
    check(page.report() == want, f"{name}: the embedded JSON differs from --format json")
    tables = page.tables()
    expect = [(e["eni"], d["direction"], d["entries"]) for e in want["enis"] for d in e["directions"]]
    check(len(tables) == len(expect), f"{name}: {len(tables)} tables, JSON has {len(expect)}")
    for (eni, d, rows), (weni, wd, entries) in zip(tables, expect):
        check((eni, d) == (weni, wd), f"{name}: table {eni} {d}")
        check([(int(a["data-rank"]), a["data-kind"], a.get("data-rule")) for a in rows]
              == [(e["rank"], e["kind"], e.get("ruleId")) for e in entries], f"{name}: {eni} {d} order")
        for a, e in zip(rows, entries):
            check(bool(a.get("data-shadowed-by")) == (e.get("shadowedBy") is not None),
                  f"{name}: {eni} {d} #{e['rank']} shadowed mark")

# ---- replay --------------------------------------------------------------------------------------------------
REPLAY = [["--model", "examples/web.json", "pcaps/web_basic.pcap"],
          ["--model", "examples/two_tier.json", "pcaps/two_tier_internal.pcap"],
          ["--model", "examples/web.json", "pcaps/non_ip_mixed.pcap", "pcaps/fragments_v4v6.pcap"]]
for args in REPLAY:
    name = "replay " + " ".join(args)
    records = [json.loads(l) for l in run(["replay", "--format", "jsonl"] + args).splitlines()]
    records = [r for r in records if "frame" in r]
    text = run(["replay", "--format", "html"] + args)
    offline(name, text)
    doc = Page(text).report()
    check(doc["frames"] == len(records), f"{name}: {doc['frames']} frames, JSON Lines has {len(records)}")
    outcomes = collections.Counter((r["verdict"], r["reason"]) for r in records)
    check({(o["verdict"], o["reason"]): o["frames"] for o in doc["outcomes"]} == dict(outcomes),
          f"{name}: outcomes differ from JSON Lines")
    decisions = collections.Counter()
    for r in records:
        for c in r.get("checks", []):
            k = {"rule": c["rule"], "default": "default"}.get(c["reason"], None) if c["reason"] != "intra-group" \
                else "intra-group"
            if k:
                decisions[(c["eni"], c["direction"], k)] += 1
    got = collections.Counter()
    for t in doc["tables"]:
        for e in t["entries"]:
            k = e["rule"] if e["kind"] == "rule" else e["kind"]
            if e["decisions"]:
                got[(t["eni"], t["direction"], k)] += e["decisions"]
    check(got == decisions, f"{name}: decisions per entry {dict(got)} != JSON Lines {dict(decisions)}")
    check(sum(sum(b) for b in doc["timeline"]["buckets"]) == len(records), f"{name}: the timeline loses frames")
    rows = {(a["data-verdict"], a["data-reason"]): int(a["data-frames"]) for a in Page(text).rows()
            if "data-frames" in a}
    check(rows == dict(outcomes), f"{name}: outcome rows differ")

# ---- flow logs (issue 10): counts and drift on every page, records named as records ----------------------------
FLOWLOG = ["--model", "examples/web.json", "--revoke", "examples/requests/revoke_ssh.json",
           "--flow-log", "examples/web_basic_flowlog.csv"]
records = [json.loads(l) for l in run(["replay", "--format", "jsonl"] + FLOWLOG).splitlines()]
records = [r for r in records if "record" in r]
drifting = [r for r in records if r["drift"]]
text = run(["replay", "--format", "html"] + FLOWLOG)
offline("replay --flow-log", text)
doc = Page(text).report()
check(doc["flowLog"]["records"] == len(records), "replay --flow-log: record count differs from JSON Lines")
check(doc["flowLog"]["driftRecords"] == len(drifting) > 0, "replay --flow-log: drift count differs from JSON Lines")
check(sum(d["records"] for d in doc["drift"]) == len(drifting), "replay --flow-log: drift rows lose records")
check("Flow-log records" in text and "Drift:" in text and " records, " in text,
      "replay --flow-log: the page does not show the records and their drift")
for cmd in (["whatif"] + FLOWLOG, ["audit"] + [a for a in FLOWLOG if a not in ("--revoke",
                                                "examples/requests/revoke_ssh.json")]):
    name = " ".join(cmd[:1]) + " --flow-log"
    want = json.loads(run([cmd[0], "--format", "json"] + cmd[1:]))
    text = run([cmd[0], "--format", "html"] + cmd[1:])
    offline(name, text)
    check(Page(text).report() == want, f"{name}: the embedded JSON differs from --format json")
    check("Flow-log records" in text and "<th>records</th>" in text, f"{name}: the page does not name the records")

# ---- escaping, warnings, -o, size ----------------------------------------------------------------------------
NASTY = '<script>alert("x")</script> & <b>bold</b> &amp;'
with tempfile.TemporaryDirectory() as tmp:
    model = json.load(open(os.path.join(src, "examples/web.json")))
    for p in model["SecurityGroups"][0]["Permissions"]["Permission"]:
        if p["SecurityGroupRuleId"] == "sgr-ssh":
            p["Description"] = NASTY
    model["SecurityGroups"][0]["Description"] = NASTY
    model["Unknown<Key>&"] = 1  # a warning under --allow-unknown-fields, whose text names the key
    path = os.path.join(tmp, "nasty<&>.json")
    json.dump(model, open(path, "w"))
    pages = {
        "show": run(["show", "--model", path, "--allow-unknown-fields", "--format", "html"]),
        "whatif": run(["whatif", "--model", path, "--allow-unknown-fields", "--revoke",
                       "examples/requests/revoke_ssh.json", "--format", "html", "pcaps/web_basic.pcap"]),
        "audit": run(["audit", "--model", path, "--allow-unknown-fields", "--format", "html", "pcaps/web_basic.pcap"]),
        "replay": run(["replay", "--model", path, "--allow-unknown-fields", "--format", "html", "pcaps/web_basic.pcap"]),
    }
    for kind, text in pages.items():
        check("<script>alert" not in text and "<b>bold</b>" not in text, f"escaping: {kind} holds raw markup")
        offline("escaping " + kind, text)
        page = Page(text)
        check('id="warnings"' in text and "Unknown&lt;Key&gt;&amp;" in text, f"warnings: {kind} lacks the warning")
        check(any("Unknown<Key>&" in w["where"] + w["message"] for w in page.report()["warnings"]),
              f"warnings: {kind}'s JSON block lacks the warning")
    check("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; &amp;amp;" in pages["show"],
          "escaping: show does not print the description escaped")
    show = Page(pages["show"]).report()
    descriptions = [e.get("description") for x in show["enis"] for d in x["directions"] for e in d["entries"]]
    check(NASTY in descriptions, "escaping: the JSON block does not give the description back as it was")

    # -o: the same bytes as standard output, through AtomicFile; an unwritable path is refused before the work.
    out = os.path.join(tmp, "report.html")
    args = ["audit", "--model", "examples/web_audit.json", "--format", "html", "pcaps/web_basic.pcap"]
    run(args + ["-o", out])
    check(open(out).read() == run(args), "-o: the file differs from standard output")
    r = subprocess.run([sgsim] + args + ["-o", tmp], cwd=src, capture_output=True, text=True)
    check(r.returncode == 2 and tmp in r.stderr and r.stdout == "", f"-o DIRECTORY: exit {r.returncode} {r.stderr}")
    for kind, a in (("show", ["show", "--model", "examples/web.json"]),
                    ("whatif", ["whatif", "--model", "examples/web.json", "--revoke",
                                "examples/requests/revoke_ssh.json", "pcaps/web_basic.pcap"])):
        run(a + ["--format", "html", "--output", out])
        check(open(out).read() == run(a + ["--format", "html"]), f"--output: {kind}'s file differs from stdout")

    # A 1,000-rule audit (seeded): the page's size, next to its JSON's.
    rng = random.Random(12)
    perms = []
    for i in range(1000):
        proto = rng.choice(["TCP", "UDP", "ICMP", "ALL"])
        port = rng.randrange(1, 65000)
        perms.append({"SecurityGroupRuleId": f"sgr-r{i:04d}", "Direction": rng.choice(["ingress", "egress"]),
                      "IpProtocol": proto, "PortRange": f"{port}/{port + rng.randrange(0, 50)}"
                      if proto in ("TCP", "UDP") else "-1/-1",
                      ("SourceCidrIp" if rng.random() < 0.5 else "DestCidrIp"):
                      f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.0/{rng.choice([8, 16, 24, 32])}",
                      "Policy": rng.choice(["Accept", "Drop"]), "Priority": str(rng.randrange(1, 101)),
                      "Description": f"rule {i} for service {rng.randrange(100)}"})
    for p in perms:  # egress rules name their peer as DestCidrIp, ingress as SourceCidrIp
        cidr = p.pop("SourceCidrIp", None) or p.pop("DestCidrIp")
        p["SourceCidrIp" if p["Direction"] == "ingress" else "DestCidrIp"] = cidr
    big = json.load(open(os.path.join(src, "examples/web.json")))
    big["SecurityGroups"][0]["Permissions"]["Permission"] += perms
    bigpath = os.path.join(tmp, "big.json")
    json.dump(big, open(bigpath, "w"))
    text = run(["audit", "--model", bigpath, "--format", "html", "pcaps/web_basic.pcap"])
    jtext = run(["audit", "--model", bigpath, "--format", "json", "pcaps/web_basic.pcap"])
    rows = len(Page(text).rows(**{"data-kind": "rule"}))
    print(f"1,008-rule audit: html {len(text.encode())} bytes ({rows} table rows), json {len(jtext.encode())} bytes")
    check(rows == 1008, f"size: {rows} rule rows in the 1,008-rule audit")
    check(len(text.encode()) < 3_000_000, f"size: the 1,008-rule audit page is {len(text.encode())} bytes")

print(f"{checks} checks, {len(failures)} failed")
sys.exit(1 if failures else 0)
