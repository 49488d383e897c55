#!/usr/bin/python3
"""The Dask runner's own logic (issue 13), without sgsim: how it takes the command line apart, which commands it
sends to split, shards and merge, the exit status it returns, what it says when a step, a worker or the binary
fails, and that a worker lost mid-run is made up for. The cluster parts run on a LocalCluster in this machine
with testdata/fake_sgsim standing in for sgsim. Without python3-distributed they are skipped saying so, except
under CI=true, where they fail. Run: /usr/bin/python3 contrib/dask/test_sgsim_dask.py"""
import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sgsim_dask  # noqa: E402
from sgsim_dask import UsageError, parse_args  # noqa: E402

FAKE = os.path.join(HERE, "testdata", "fake_sgsim")
RUNNER = os.path.join(HERE, "sgsim_dask.py")
CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")  # as scripts/test.sh reads it
try:
    import distributed  # noqa: F401
    HAVE_DASK = True
except ImportError:
    HAVE_DASK = False
if not HAVE_DASK and CI:
    sys.exit("FAIL: python3-distributed is missing (apt-get install python3-distributed; scripts/deps.sh does); "
             "CI is set, so the Dask runner's tests are required")


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


needs_dask = unittest.skipUnless(HAVE_DASK, "python3-distributed is not installed (scripts/deps.sh installs it)")


class ParseArgs(unittest.TestCase):
    def test_routes_each_option(self):
        plan = parse_args(["--shards", "3", "whatif", "--model", "m.json", "--revoke=r.json", "--at", "+5",
                           "--decap", "vxlan", "--mirror", "7=eni-a", "--format", "json", "-o", "out.json",
                           "--limit", "5", "--fail-on-change", "--fail-on-noop", "a.pcap", "--capture", "b.pcap",
                           "--workdir", "/shared/w"])
        self.assertEqual(plan.command, "whatif")
        self.assertEqual(plan.shards, 3)
        self.assertEqual(plan.workdir, "/shared/w")
        self.assertEqual(plan.captures, ["a.pcap", "b.pcap"])
        self.assertEqual(plan.split_options, ["--decap", "vxlan", "--mirror", "7=eni-a"])
        # --limit cuts only text and HTML: the shards' JSON is whole either way, as the single run's
        self.assertEqual(plan.shard_options, ["--model", "m.json", "--revoke", "r.json", "--at", "+5", "--limit", "5",
                                              "--fail-on-change", "--fail-on-noop"])
        self.assertEqual((plan.format, plan.output), ("json", "out.json"))
        self.assertTrue(plan.fail_on_change)
        self.assertTrue(plan.fail_on_noop)
        self.assertEqual(sgsim_dask.merge_command(plan, ["/s/shard-1.json"]),
                         ["merge", "--fail-on-change", "/s/shard-1.json"])

    def test_commands_of_a_run(self):
        plan = parse_args(["audit", "-m", "m.json", "--fail-on", "unused", "--decap", "vxlan", "--flow-log", "f.csv",
                           "--sort", "rule", "--format", "json"])
        # flow logs are sharded in place (exact, where a split one reorders late records); --fail-on is not given:
        # whether a rule is unused is known only after the merge
        self.assertEqual(sgsim_dask.shard_command(plan, "/w/s", 2, 2),
                         ["audit", "--threads", "1", "--model", "m.json", "--sort", "rule", "--decap", "vxlan",
                          "--flow-log", "f.csv", "--shard", "2/2", "--format", "json", "-o", "/w/s/shard-2.json"])
        self.assertEqual(sgsim_dask.merge_command(plan, ["/w/s/shard-1.json", "/w/s/shard-2.json"]),
                         ["merge", "--sort", "rule", "/w/s/shard-1.json", "/w/s/shard-2.json"])

    def test_with_split_the_captures_are_split(self):
        plan = parse_args(["replay", "-m", "m.json", "--decap", "vxlan", "--mirror", "7=eni-a", "a.pcap", "--capture",
                           "b.pcapng", "--format", "json", "--split"])
        self.assertEqual(sgsim_dask.split_command(plan, "/w/s", 2),
                         ["split", "--shards", "2", "--out", "/w/s", "--decap", "vxlan", "--mirror", "7=eni-a",
                          "a.pcap", "b.pcapng"])
        # decap goes to the shards too: --split with another --decap than the manifest's is an error
        self.assertEqual(sgsim_dask.shard_command(plan, "/w/s", 1, 2),
                         ["replay", "--threads", "1", "--model", "m.json", "--decap", "vxlan", "--mirror", "7=eni-a",
                          "--split", "/w/s", "--shard", "1/2", "--format", "json", "-o", "/w/s/shard-1.json"])

    def test_in_place_the_captures_are_read_whole_by_every_shard(self):
        for named in (["--in-place"], ["--no-split"]):
            plan = parse_args(["whatif", "-m", "m.json", "--revoke", "r"] + named + ["a.pcap", "--format", "json"])
            self.assertFalse(plan.split)
            self.assertFalse(sgsim_dask.indexes(plan))
            self.assertEqual(sgsim_dask.shard_command(plan, "/w/s", 1, 2),
                             ["whatif", "--threads", "1", "--model", "m.json", "--revoke", "r", "a.pcap", "--shard",
                              "1/2", "--format", "json", "-o", "/w/s/shard-1.json"])
        for two in (["--split", "--no-split"], ["--split", "--index"], ["--index", "--in-place"]):
            with self.assertRaisesRegex(UsageError, "--index, --in-place \\(--no-split\\) and --split: choose one"):
                parse_args(["whatif", "-m", "m.json"] + two + ["a.pcap"])

    def test_by_default_the_captures_are_indexed_in_parts_and_read_through_it(self):
        for named in ([], ["--index"]):
            plan = parse_args(["whatif", "-m", "m.json", "--revoke", "r"] + named + ["a.pcap", "b.pcap", "--format",
                                                                                      "json"])
            self.assertTrue(sgsim_dask.indexes(plan))
        self.assertEqual(sgsim_dask.index_command(plan, "/w/index", 2, 3, 3),
                         ["split", "--index", "--part", "2/3", "--shards", "3", "--out", "/w/index", "a.pcap", "b.pcap"])
        self.assertEqual(sgsim_dask.shard_command(plan, "/w/index", 1, 3),
                         ["whatif", "--threads", "1", "--model", "m.json", "--revoke", "r", "--index", "/w/index",
                          "--shard", "1/3", "--format", "json", "-o", "/w/index/shard-1.json"])
        # the user's --threads is the shards'
        plan = parse_args(["whatif", "-m", "m.json", "--threads", "2", "a.pcap", "--format", "json"])
        self.assertEqual(sgsim_dask.shard_command(plan, "/w/index", 1, 2)[:4], ["whatif", "--model", "m.json",
                                                                                "--threads"])
        # an index holds no decapsulated frames: read in place by default (--index named with --decap is refused:
        # test_refusals_name_the_argument)
        plan = parse_args(["whatif", "-m", "m.json", "--format", "json", "--decap", "vxlan", "a.pcap"])
        self.assertFalse(sgsim_dask.indexes(plan))
        self.assertNotIn("--index", sgsim_dask.shard_command(plan, "/w/s", 1, 2))
        # flow logs are indexed in one pass, with the shards' model, --host and --direction (they decide which records
        # are not placed at their interface, which shard 1 reports for the whole input)
        plan = parse_args(["whatif", "-m", "m.json", "--revoke", "r", "--host", "10.0.0.5", "--format", "json",
                           "--allow-unknown-fields", "--flow-log", "f.csv", "--direction", "ingress", "--flow-log",
                           "g.csv", "--max-flows", "9"])
        self.assertTrue(sgsim_dask.indexes(plan))
        self.assertEqual(sgsim_dask.index_parts(plan, 3), 1)
        self.assertEqual(sgsim_dask.index_command(plan, "/w/index", 1, 1, 3),
                         ["split", "--index", "--shards", "3", "--out", "/w/index", "--model", "m.json", "--host",
                          "10.0.0.5", "--allow-unknown-fields", "--direction", "ingress", "--flow-log", "f.csv",
                          "--flow-log", "g.csv"])
        self.assertEqual(sgsim_dask.shard_command(plan, "/w/index", 2, 3),
                         ["whatif", "--threads", "1", "--model", "m.json", "--revoke", "r", "--host", "10.0.0.5",
                          "--allow-unknown-fields", "--direction", "ingress", "--max-flows", "9", "--index",
                          "/w/index", "--shard", "2/3", "--format", "json", "-o", "/w/index/shard-2.json"])

    def test_audit_fail_on_is_decided_on_the_merged_report(self):
        plan = parse_args(["audit", "-m", "m", "--fail-on", "unused", "--fail-on", "broad", "--fail-on", "conflict",
                           "--format", "json", "c.pcap"])
        used = {"rule": "sgr-a", "hits": {"packets": 3}, "verdict": "in-use", "static": {"broad": None}}
        idle = [{"rule": f"sgr-{i}", "hits": {"packets": 0}, "verdict": "safe-to-revoke",
                 "static": {"broad": "0.0.0.0/0", "conflictsWith": []}} for i in range(12)]
        lines = sgsim_dask.audit_failures(plan, {"rules": [used] + idle})
        self.assertEqual(lines, ["sgsim: --fail-on unused: 12 rules (sgr-0, sgr-1, sgr-2, sgr-3, sgr-4, sgr-5, "
                                 "sgr-6, sgr-7, sgr-8, sgr-9, …)",
                                 "sgsim: --fail-on broad: 12 rules (sgr-0, sgr-1, sgr-2, sgr-3, sgr-4, sgr-5, "
                                 "sgr-6, sgr-7, sgr-8, sgr-9, …)"])
        self.assertEqual(sgsim_dask.final_exit(plan, [0, 0], 0, lines), 3)
        self.assertEqual(sgsim_dask.audit_failures(plan, {"rules": [used]}), [])

    def test_stderr_as_the_single_run_prints_it(self):
        report = {"warnings": [{"where": "a.pcap: frame 3", "message": "odd"}, {"where": "", "message": "bare"}],
                  "errors": [{"where": "b.pcap", "message": "cut short"}]}
        shards = [b"sgsim: warning: a.pcap: frame 3: partial\nsgsim: --fail-on-noop: request 1 changes no rule\n",
                  b"sgsim: --fail-on-noop: request 1 changes no rule\nsgsim: b.pcap: cut short\n"]
        self.assertEqual(sgsim_dask.messages(report, shards),
                         ["sgsim: warning: a.pcap: frame 3: odd", "sgsim: warning: bare", "sgsim: b.pcap: cut short",
                          "sgsim: --fail-on-noop: request 1 changes no rule"])

    def test_refusals_name_the_argument(self):
        cases = {
            ("whatif", "--model", "m", "--bogus", "c.pcap"): "--bogus",
            ("whatif", "--model", "m", "--mod", "x", "c.pcap"): "--mod",
            ("whatif", "--model", "m", "--write-affected", "o.pcap", "c.pcap"): "--write-affected",
            ("whatif", "--model", "m", "-"): "standard input",
            ("whatif", "--model", "m", "--flow-log", "-"): "--flow-log -",
            ("whatif", "--model", "m", "--revoke", "-", "--authorize", "-", "c.pcap"): "read once",
            ("whatif", "--model", "m"): "give the captures",
            ("whatif", "--model", "m", "c.pcap", "--flow-log", "f"): "not both",
            ("--split", "replay", "--model", "m", "--format", "json", "--flow-log", "f"): "flow logs are not split",
            ("--index", "replay", "--model", "m", "--format", "json", "--decap", "vxlan", "c.pcap"):
                "captures decapsulated with --decap are read in place",
            ("replay", "--model", "m", "c.pcap"): "sgsim merge prints the summary as JSON only",
            ("whatif", "--model", "m", "--revoke", "r", "c.pcap"): "add --format json",
            ("audit", "--model", "m", "--format", "csv", "c.pcap"): "audit --format csv",
            ("audit", "--model", "m", "--fail-on", "unuzed", "c.pcap"): "--fail-on unuzed: not a finding",
            ("audit", "--model", "m", "--at", "+1", "c.pcap"): "--at is an option of sgsim whatif",
            ("merge", "a.json"): "runs whatif, audit or replay",
            ("--shards", "0", "whatif", "c.pcap"): "--shards 0",
            ("--shards",): "--shards needs a value",
            ("--scheduler", "tcp://h:8786", "--workers", "4", "whatif", "c"): "--workers shapes the LocalCluster",
            (): "name the sgsim command",
        }
        for argv, needle in cases.items():
            with self.subTest(argv=argv):
                with self.assertRaises(UsageError) as caught:
                    parse_args(list(argv))
                self.assertIn(needle, str(caught.exception))

    def test_help(self):
        self.assertIsNone(parse_args(["whatif", "--help"]))

    def test_exit_status_as_the_single_run(self):
        plan = parse_args(["whatif", "--model", "m", "--revoke", "r", "--fail-on-noop", "--fail-on-change", "-f", "json",
                           "c"])
        self.assertEqual(sgsim_dask.final_exit(plan, [2, 4], 3, []), 2)  # a capture error first, as in sgsim
        self.assertEqual(sgsim_dask.final_exit(plan, [4, 4], 3, []), 4)  # then the no-op's 4
        self.assertEqual(sgsim_dask.final_exit(plan, [0, 3], 3, []), 3)
        self.assertEqual(sgsim_dask.final_exit(plan, [0, 0], 0, []), 0)
        plan.fail_on_noop = False
        self.assertEqual(sgsim_dask.final_exit(plan, [4, 4], 0, []), 0)


class ReportMembers(unittest.TestCase):
    def test_members_read_from_the_text_are_the_parsed_reports(self):
        # Random reports laid out as sgsim lays out JSON (each top-level member on a line of its own, two spaces in;
        # json.dumps(indent=2) keeps to it), with values holding what could mislead a scan (commas, quotes, braces
        # and escaped newlines in strings, nested lists): the members read from the text are the parsed report's.
        import random
        rng = random.Random(13)
        names = ("warnings", "errors", "rules")

        def value(depth):
            kind = rng.randrange(6 if depth < 3 else 3)
            if kind == 0:
                return rng.choice(['a, "b": 1', '\n  "errors": [', "}\n", "", "x\\"])
            if kind == 1:
                return rng.choice([0, -1, 2.5, True, None])
            if kind == 2:
                return rng.choice(["warnings", "rules", '",\n  "'])
            if kind == 3:
                return [value(depth + 1) for _ in range(rng.randrange(4))]
            return {rng.choice(names + ("where", "message")): value(depth + 1) for _ in range(rng.randrange(4))}

        for _ in range(300):
            report = {}
            for name in rng.sample(("captures", "warnings", "errors", "totals", "drift", "rules", "flows"),
                                   rng.randrange(1, 7)):
                report[name] = value(0)
            text = (json.dumps(report, indent=2) + "\n" * rng.randrange(3)).encode()
            self.assertEqual(sgsim_dask.report_members(text, names),
                             {k: v for k, v in report.items() if k in names})
            compact = json.dumps(report).encode()  # another layout: parsed whole
            self.assertEqual(sgsim_dask.report_members(compact, names), report)

    def test_text_that_is_not_a_report_is_refused(self):
        for text in (b"", b"{\n  \"warnings\": [", b"[1, 2]", b"{\n  \"warnings\": [}\n}\n", b"nothing"):
            with self.assertRaises(ValueError, msg=text):
                sgsim_dask.report_members(text, ("warnings",))


class Workers(unittest.TestCase):
    def probe(self, version="sgsim 0.1.0", sha="a" * 64, path="/usr/bin/sgsim", error=None):
        return {"version": version, "sha256": sha, "path": path, "error": error}

    def test_same_binary_everywhere(self):
        self.assertEqual(sgsim_dask.check_workers({"tcp://a:1": self.probe(), "tcp://b:1": self.probe()}), "a" * 64)

    def test_another_build_names_the_workers(self):
        with self.assertRaises(sgsim_dask.RunError) as caught:
            sgsim_dask.check_workers({"tcp://a:1": self.probe(), "tcp://b:1": self.probe(sha="b" * 64)})
        self.assertIn("tcp://a:1", str(caught.exception))
        self.assertIn("tcp://b:1", str(caught.exception))
        self.assertIn("not run the same sgsim", str(caught.exception))
        self.assertEqual(caught.exception.code, 2)

    def test_missing_binary_names_the_worker(self):
        with self.assertRaises(sgsim_dask.RunError) as caught:
            sgsim_dask.check_workers({"tcp://a:1": self.probe(), "tcp://b:1": self.probe(error="no `sgsim` there")})
        self.assertIn("worker tcp://b:1: no `sgsim` there", str(caught.exception))

    def test_probe_of_this_machine(self):
        with tempfile.TemporaryDirectory() as d:
            info = sgsim_dask.probe_worker(FAKE, d, d)
            self.assertIsNone(info["error"])
            self.assertEqual(info["version"], "sgsim 0.1.0")
            self.assertEqual(len(info["sha256"]), 64)
            self.assertIn("is not there", sgsim_dask.probe_worker(FAKE, d, os.path.join(d, "nope"))["error"])
            self.assertIn("not an executable", sgsim_dask.probe_worker(os.path.join(d, "x"), d, d)["error"])


class Output(unittest.TestCase):
    def test_regular_file_symlink_and_fifo(self):
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "report.json")
            sgsim_dask.write_output(target, b"one\n")
            sgsim_dask.write_output(target, b"two\n")
            self.assertEqual(read(target), b"two\n")
            link = os.path.join(d, "link.json")
            os.symlink(target, link)
            sgsim_dask.write_output(link, b"three\n")
            self.assertTrue(os.path.islink(link))
            self.assertEqual(read(target), b"three\n")
            fifo = os.path.join(d, "fifo")
            os.mkfifo(fifo)
            reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
            sgsim_dask.write_output(fifo, b"piped\n")
            self.assertEqual(reader.communicate()[0], b"piped\n")
            self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
            self.assertEqual(sorted(os.listdir(d)), ["fifo", "link.json", "report.json"])  # no temp file left

    def test_a_step_killed_by_a_signal_is_an_internal_error(self):
        failure = sgsim_dask._failure("the merge", (-6, b"", b"==1==ERROR: AddressSanitizer\n", {}, "tcp://w:1"))
        self.assertEqual(failure.code, 5)
        self.assertIn("the merge failed on worker tcp://w:1 (killed by SIGABRT)", str(failure))

    def test_unwritable_place_is_exit_2(self):
        with self.assertRaises(sgsim_dask.RunError) as caught:
            sgsim_dask.write_output("/nonexistent-dir/report.json", b"x")
        self.assertEqual(caught.exception.code, 2)
        self.assertIn("--output /nonexistent-dir/report.json", str(caught.exception))


@needs_dask
class OnLocalCluster(unittest.TestCase):
    """The runner as a user runs it, on a LocalCluster of 2 workers, with the fake sgsim."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.cwd = self.dir.name
        for name in ("a.pcap", "m.json"):
            open(os.path.join(self.cwd, name), "w").close()

    def tearDown(self):
        self.dir.cleanup()

    def runner(self, *argv, env=None, stdin=b"", sgsim=FAKE):
        full = dict(os.environ, SGSIM=sgsim, **(env or {}))
        done = subprocess.run([sys.executable, RUNNER, "--workers", "2"] + list(argv), cwd=self.cwd, env=full,
                              input=stdin, capture_output=True, timeout=240)
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    def test_split_shards_merge(self):
        rc, out, err = self.runner("whatif", "--model", "m.json", "--revoke", "-", "--format", "json",
                                   "--fail-on-change", "a.pcap", stdin=b'{"Action":"RevokeSecurityGroup"}')
        self.assertEqual(rc, 0, err)
        merged = json.loads(out)
        self.assertEqual([s["shard"] for s in merged["shards"]], [1, 2])  # default: one shard per worker thread
        for s in merged["shards"]:
            self.assertEqual(s["cwd"], self.cwd)  # relative paths mean what they mean to the user
            self.assertEqual(s["stdin"], '{"Action":"RevokeSecurityGroup"}')  # '-' read once, given to each shard
            # one thread per shard (a task per worker thread), then the user's options
            self.assertEqual(s["argv"][:6], ["whatif", "--threads", "1", "--model", "m.json", "--revoke"])
        self.assertEqual(merged["argv"][:2], ["merge", "--fail-on-change"])
        # the merged report's warnings, as sgsim prints them; not each shard's own
        self.assertEqual(err, "sgsim: warning: a.pcap: merged\n")
        self.assertEqual(sorted(os.listdir(self.cwd)), ["a.pcap", "m.json"])  # nothing left behind

    def test_shards_option_and_kept_workdir_and_output_file(self):
        rc, out, err = self.runner("--shards", "3", "--workdir", "w", "--split", "audit", "--model", "m.json",
                                   "--format", "json", "-o", "report.json", "a.pcap")
        self.assertEqual((rc, out), (0, ""), err)
        merged = json.loads(read(os.path.join(self.cwd, "report.json")))
        self.assertEqual([s["count"] for s in merged["shards"]], [3, 3, 3])
        split = [d for d in os.listdir(os.path.join(self.cwd, "w")) if d.startswith("split-")]
        self.assertEqual(len(split), 1)
        self.assertTrue(os.path.exists(os.path.join(self.cwd, "w", split[0], "shard-3.json")))
        rc, _, err = self.runner("--workdir", "w", "audit", "--model", "m.json", "--format", "json", "a.pcap")
        self.assertEqual(rc, 2)
        self.assertIn("--workdir w: must be an empty folder or absent", err)

    def test_gate_and_noop_exit_status(self):
        rc, out, _ = self.runner("whatif", "--model", "m.json", "--revoke", "r", "--format", "json",
                                 "--fail-on-change", "a.pcap", env={"FAKE_MERGE_RC": "3"})
        self.assertEqual(rc, 3)
        self.assertTrue(json.loads(out)["shards"])  # the report is printed all the same
        rc, out, err = self.runner("whatif", "--model", "m.json", "--revoke", "r", "--format", "json",
                                   "--fail-on-noop", "--fail-on-change", "a.pcap",
                                   env={"FAKE_MERGE_RC": "3", "FAKE_NOOP": "1"})
        self.assertEqual(rc, 4)
        self.assertEqual(err.splitlines(), ["sgsim: warning: a.pcap: merged",
                                            "sgsim: --fail-on-noop: request 1 changes no rule (see its notes)"])
        rc, out, err = self.runner("audit", "--model", "m.json", "--format", "json", "--fail-on", "unused", "a.pcap")
        self.assertEqual(rc, 3)
        self.assertIn("sgsim: --fail-on unused: 1 rule (sgr-idle)", err)
        self.assertNotIn("--fail-on", json.loads(out)["shards"][0]["argv"])

    def test_a_failing_shard_fails_the_run_with_its_message_and_status(self):
        rc, out, err = self.runner("whatif", "--model", "m.json", "--revoke", "r", "--format", "json", "a.pcap",
                                   env={"FAKE_SHARD_RC": "2:1"})
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("shard 2/2", err)
        self.assertIn("exit status 1", err)
        self.assertIn("sgsim: shard 2 failed on purpose", err)

    def test_flow_logs_are_indexed_in_one_pass_or_read_in_place(self):
        rc, out, err = self.runner("--workdir", "w", "audit", "--model", "m.json", "--format", "json", "--flow-log",
                                   "a.csv")
        self.assertEqual(rc, 0, err)
        # one folder per attempt of the index (sgsim writes a flow-log index only into a new directory)
        folders = [d for d in os.listdir(os.path.join(self.cwd, "w")) if d.startswith("index-")]
        self.assertEqual(len(folders), 1, folders)
        index = os.path.join(self.cwd, "w", folders[0])
        with open(os.path.join(index, "flowlog-index.json")) as f:
            self.assertEqual(json.load(f)["argv"], ["split", "--index", "--shards", "2", "--out", index, "--model",
                                                    "m.json", "--flow-log", "a.csv"])
        for s in json.loads(out)["shards"]:
            self.assertNotIn("--flow-log", s["argv"])
            self.assertEqual(s["argv"][s["argv"].index("--index") + 1], index)
        rc, out, err = self.runner("--in-place", "audit", "--model", "m.json", "--format", "json", "--flow-log",
                                   "a.csv")
        self.assertEqual(rc, 0, err)
        for s in json.loads(out)["shards"]:
            self.assertNotIn("--index", s["argv"])
            self.assertIn("--flow-log", s["argv"])

    def test_by_default_the_parts_of_an_index_run_then_the_shards_read_through_it(self):
        rc, out, err = self.runner("--workdir", "w", "whatif", "--model", "m.json", "--revoke", "r", "--format",
                                   "json", "a.pcap")
        self.assertEqual(rc, 0, err)
        index = os.path.join(self.cwd, "w", "index")
        for part in (1, 2):
            with open(os.path.join(index, f"part-{part}.json")) as f:
                argv = json.load(f)["argv"]
            self.assertEqual(argv, ["split", "--index", "--part", f"{part}/2", "--shards", "2", "--out", index,
                                    "a.pcap"])
        shards = json.loads(out)["shards"]
        self.assertEqual([s["argv"][-8:-4] for s in shards], [["--index", index, "--shard", "1/2"],
                                                              ["--index", index, "--shard", "2/2"]])

    def test_with_the_local_cluster_the_index_parts_run_here_as_it_starts(self):
        # The LocalCluster's workers are this machine: its binary is checked here once, and the index parts start
        # here before the cluster (beside `import distributed`), not as Dask tasks after it.
        rc, out, err = self.runner("--timings", "whatif", "--model", "m.json", "--revoke", "r", "--format", "json",
                                   "a.pcap")
        self.assertEqual(rc, 0, err)
        parts = [line for line in err.splitlines() if "timings: index part " in line]
        self.assertEqual(len(parts), 2, err)
        for line in parts:
            self.assertTrue(line.endswith("s CPU, here, started by the runner"), line)
        self.assertIn("sgsim-dask: timings: the LocalCluster's sgsim checked here before the cluster's start", err)
        self.assertNotIn("workers checked", err)
        self.assertEqual(len(json.loads(out)["shards"]), 2)

    def test_in_place_no_split_runs(self):
        for named in (["--in-place"], ["--no-split"]):
            rc, out, err = self.runner(*named, "whatif", "--model", "m.json", "--revoke", "r", "--format", "json",
                                       "a.pcap", env={"FAKE_SPLIT_RC": "2"})  # a split would fail
            self.assertEqual(rc, 0, err)
            shards = json.loads(out)["shards"]
            self.assertEqual([s["argv"][-6:-4] for s in shards], [["--shard", "1/2"], ["--shard", "2/2"]])
            self.assertEqual([s["argv"][-7] for s in shards], ["a.pcap", "a.pcap"])  # the capture itself, in place

    def test_a_capture_error_still_gives_the_report_and_exit_2(self):
        for mode in ([], ["--split"]):
            rc, out, err = self.runner(*mode, "replay", "--model", "m.json", "--format", "json", "a.pcap",
                                       env={"FAKE_CAPTURE_ERROR": "1"})
            self.assertEqual(rc, 2, err)
            self.assertEqual(len(json.loads(out)["shards"]), 2)

    def test_a_failing_split(self):
        rc, out, err = self.runner("--split", "replay", "--model", "m.json", "--format", "json", "missing.pcap",
                                   env={"FAKE_SPLIT_RC": "2"})
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("sgsim split --shards 2", err)
        self.assertIn("cannot read missing.pcap", err)

    def test_a_failing_index_part_stops_the_run_before_any_shard(self):
        rc, out, err = self.runner("--workdir", "w", "replay", "--model", "m.json", "--format", "json", "missing.pcap",
                                   env={"FAKE_SPLIT_RC": "2"})
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("sgsim split --index --part ", err)
        self.assertIn("failed here, started by the runner (exit status 2)", err)
        self.assertIn("cannot read missing.pcap", err)
        reports = [f for _, _, files in os.walk(os.path.join(self.cwd, "w")) for f in files if f.startswith("shard-")]
        self.assertEqual(reports, [])  # no shard ran

    def test_missing_binary_names_each_worker(self):
        rc, out, err = self.runner("whatif", "--model", "m.json", "--revoke", "r", "--format", "json", "a.pcap",
                                   sgsim=os.path.join(self.cwd, "no-sgsim"))
        self.assertEqual((rc, out), (2, ""))
        self.assertEqual(err.count("is not an executable file there"), 2, err)
        self.assertIn("worker ", err)

    def test_a_lost_worker_is_made_up_for(self):
        marker = os.path.join(self.cwd, "killed")
        rc, out, err = self.runner("--processes", "whatif", "--model", "m.json", "--revoke", "r", "--format",
                                   "json", "a.pcap", env={"FAKE_KILL_ONCE": marker})
        self.assertTrue(os.path.exists(marker))  # a worker was lost
        self.assertEqual(rc, 0, err)
        self.assertEqual([s["shard"] for s in json.loads(out)["shards"]], [1, 2])
        self.assertIn("Dask ran shard-1 2 times (a worker running it was lost)", err)


    def test_a_worker_lost_during_the_split(self):
        marker = os.path.join(self.cwd, "killed")
        rc, out, err = self.runner("--processes", "--workdir", "w", "--split", "whatif", "--model", "m.json",
                                   "--revoke", "r", "--format", "json", "a.pcap", env={"FAKE_KILL_SPLIT_ONCE": marker})
        self.assertTrue(os.path.exists(marker))
        self.assertEqual(rc, 0, err)
        self.assertIn("Dask ran split 2 times", err)
        # the second attempt split into a folder of its own, beside the first one's half-written folder
        splits = sorted(d for d in os.listdir(os.path.join(self.cwd, "w")) if d.startswith("split-"))
        self.assertEqual(len(splits), 2)
        used = {s["argv"][s["argv"].index("--split") + 1] for s in json.loads(out)["shards"]}
        self.assertEqual(len(used), 1)
        self.assertTrue(os.path.exists(os.path.join(used.pop(), "manifest.json")))  # the attempt that finished

if __name__ == "__main__":
    outcome = unittest.main(exit=False).result
    if not outcome.wasSuccessful():
        sys.exit(1)
    if not HAVE_DASK:  # meson's "skipped": the cluster half did not run
        print("SKIP: python3-distributed is not installed: the runner's cluster tests did not run")
        sys.exit(77)
