#!/usr/bin/python3
"""The Dask runner with the real sgsim (issue 13): each case runs once as a single sgsim process and once through
contrib/dask/sgsim_dask.py on a LocalCluster of 2 workers (one sgsim per shard reading the inputs in place, or after
`sgsim split` in the cases run with --split; then merge), three of them also
against a real scheduler with 2 worker processes (dask-scheduler, dask-worker), and the two must
print the same bytes on stdout and the same lines on stderr, and exit with the same status. usage: test_e2e.py SGSIM SOURCE_DIR. Without
python3-distributed the test is skipped (exit 77) saying so; under CI=true it fails."""
import os
import subprocess
import sys
import tempfile
import time

sgsim, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
RUNNER = os.path.join(src, "contrib", "dask", "sgsim_dask.py")
try:
    import distributed  # noqa: F401
except ImportError:
    msg = "python3-distributed is missing: install it (apt-get install python3-distributed; scripts/deps.sh does)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):  # as scripts/test.sh reads it
        sys.exit("FAIL: " + msg + "; CI is set, so the Dask runner's test is required")
    print("SKIP: " + msg)
    sys.exit(77)

WEB = ["--model", "examples/web.json"]
SSH = ["--revoke", "examples/requests/revoke_ssh.json"]
# (name, sgsim arguments, runner-only arguments): the bundled samples, each kind of report, --at, fragments,
# traffic between two modeled interfaces, VXLAN mirror copies, flow logs, a gate's exit status, 3 shards.
CASES = [
    ("whatif_json", ["whatif"] + WEB + SSH + ["--format", "json", "pcaps/web_basic.pcap"], []),
    ("whatif_limit_noop", ["whatif"] + WEB + SSH + ["--revoke", "aliyun ecs RevokeSecurityGroup --SecurityGroupId "
                                                    "sg-web --Permissions.1.IpProtocol TCP --Permissions.1.PortRange "
                                                    "9/9 --Permissions.1.SourceCidrIp 1.2.3.4/32", "--limit", "1",
                                                    "--fail-on-noop", "--format", "json", "pcaps/web_basic.pcap"], []),
    # the API rejects the second request: the same error body on stdout and exit status 1; on stderr the runner
    # names the shard before sgsim's lines
    ("whatif_rejected", ["whatif"] + WEB + SSH + ["--revoke", "examples/requests/revoke_by_id.json", "--format",
                                                  "json", "pcaps/web_basic.pcap"], []),
    ("whatif_at_relative", ["whatif"] + WEB + SSH + ["--at", "+100", "--format", "json", "pcaps/web_basic.pcap"], []),
    ("whatif_gate", ["whatif"] + WEB + SSH + ["--fail-on-change", "--format", "json", "pcaps/web_basic.pcap"], []),
    ("whatif_two_tier", ["whatif", "--model", "examples/two_tier.json", "--revoke",
                         "examples/requests/revoke_db_mysql.json", "--format", "json", "pcaps/two_tier_internal.pcap"],
     []),
    ("whatif_fragments", ["whatif"] + WEB + ["--revoke", "aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-web "
                                             "--SecurityGroupRuleId.1 sgr-icmp", "--format", "json",
                                             "pcaps/fragments_v4v6.pcap"], []),
    ("whatif_mirror", ["whatif"] + WEB + SSH + ["--decap", "vxlan", "--mirror", "100=eni-web", "--format", "json",
                                                "pcaps/mirror_vxlan.pcap"], []),
    ("whatif_flow_log", ["whatif"] + WEB + SSH + ["--format", "json", "--flow-log", "examples/web_basic_flowlog.csv"],
     []),
    ("whatif_three_shards", ["whatif"] + WEB + SSH + ["--format", "json", "pcaps/web_basic.pcap",
                                                      "pcaps/interfaces_multi.pcapng"], ["--shards", "3"]),
    ("whatif_in_place", ["whatif"] + WEB + SSH + ["--at", "+300", "--format", "json", "pcaps/web_basic.pcap",
                                                  "pcaps/tcp_close_timeouts.pcap"], ["--in-place"]),
    ("whatif_split_files", ["whatif"] + WEB + SSH + ["--at", "+300", "--format", "json", "pcaps/web_basic.pcap",
                                                     "pcaps/interfaces_multi.pcapng"], ["--split"]),
    ("whatif_mirror_split_files", ["whatif"] + WEB + SSH + ["--decap", "vxlan", "--mirror", "100=eni-web", "--format",
                                                            "json", "pcaps/mirror_vxlan.pcap"], ["--split"]),
    # --index: the captures indexed in parts first, each shard reading only its frames; a pcapng as tshark writes it
    # goes through the index too; one the index cannot serve (a second section: "refused" in the case's name) the
    # shards read whole, the pcap beside it through the index (their note is the one line the single run does not
    # print)
    ("whatif_index", ["whatif"] + WEB + SSH + ["--at", "+300", "--format", "json", "pcaps/web_basic.pcap",
                                               "pcaps/tcp_close_timeouts.pcap"], ["--index", "--shards", "3"]),
    ("audit_index", ["audit", "--model", "examples/web_audit.json", "--format", "json", "pcaps/web_basic.pcap"],
     ["--index"]),
    ("replay_index_refused_pcapng", ["replay"] + WEB + ["--format", "json", "pcaps/web_basic.pcap",
                                                        "pcaps/interfaces_multi.pcapng"], ["--index"]),
    ("replay_index_tshark_pcapng", ["replay", "--model", "examples/loopback.json", "--format", "json",
                                    "pcaps/loopback_curl_ping.pcap", "pcaps/loopback_http_tshark.pcapng"], ["--index"]),
    # flow logs: indexed in one pass with the shards' model (two logs, records not placed at their interface, late
    # records: shard 1 reports both for the whole input); a gzip log, whose text the index copies for the shards
    ("whatif_flow_log_index", ["whatif"] + WEB + SSH + ["--format", "json", "--flow-log",
                                                        "tests/e2e/data/flowlog_unplaced_late.csv", "--flow-log",
                                                        "tests/e2e/data/flowlog_unplaced_late.jsonl"],
     ["--index", "--shards", "3"]),
    ("replay_flow_log_gzip_index", ["replay"] + WEB + ["--format", "json", "--flow-log",
                                                         "examples/web_basic_flowlog.jsonl.gz"], ["--index"]),
    ("audit_json", ["audit", "--model", "examples/web_audit.json", "--format", "json", "pcaps/web_basic.pcap"], []),
    ("audit_fail_on", ["audit", "--model", "examples/web_audit.json", "--sort", "hits", "--fail-on", "unused",
                       "--fail-on", "conflict", "--format", "json", "pcaps/web_basic.pcap"], []),
    ("audit_mirror", ["audit"] + WEB + ["--decap", "vxlan", "--format", "json", "pcaps/mirror_vxlan.pcap"], []),
    ("replay_json", ["replay"] + WEB + ["--format", "json", "pcaps/web_basic.pcap", "pcaps/non_ip_mixed.pcap"], []),
    # a capture cut short: the report of what was read, and exit status 2, as the single run
    ("replay_truncated", ["replay"] + WEB + ["--format", "json", "tests/e2e/data/web_truncated.pcap"], []),
]


def run(argv):
    done = subprocess.run(argv, cwd=src, capture_output=True, timeout=600)
    return done.returncode, done.stdout, done.stderr.decode(errors="replace")


def start_cluster(folder):
    """A real scheduler and 2 worker processes, started in another directory than the runner's (so they cannot
    import the runner's module: its functions must travel by value). Returns (address, processes)."""
    from distributed import Client
    scheduler_file = os.path.join(folder, "scheduler.json")
    quiet = {"cwd": folder, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                   "--port", "0", "--dashboard-address", ":0", "--scheduler-file", scheduler_file],
                                  **quiet)]
    for _ in range(600):
        if os.path.exists(scheduler_file):
            break
        time.sleep(0.1)
    processes.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                                       scheduler_file, "--nworkers", "2", "--nthreads", "1", "--dashboard-address",
                                       ":0"], **quiet))
    with Client(scheduler_file=scheduler_file, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        return client.scheduler.address, processes


failures = 0
only = os.environ.get("SGSIM_DASK_CASES", "").split(",") if os.environ.get("SGSIM_DASK_CASES") else None
cluster_dir = tempfile.TemporaryDirectory()
address, processes = start_cluster(cluster_dir.name)
# The LocalCluster cases, then a few against the real scheduler (--scheduler ADDRESS).
SCHEDULED = [(name + "_scheduler", args, extra + ["--scheduler", address]) for name, args, extra in CASES
             if name in ("whatif_json", "audit_fail_on", "replay_json", "whatif_flow_log_index")]
try:
    for name, args, extra in CASES + SCHEDULED:
        if only and name not in only:
            continue
        single = run([sgsim] + args)
        with tempfile.TemporaryDirectory() as workdir:
            local = [] if "--scheduler" in extra else ["--workers", "2"]
            dask = run([sys.executable, RUNNER, "--sgsim", sgsim, "--workdir", os.path.join(workdir, "w")] + local +
                       extra + args)
        # The default mode indexes captures; a capture the index cannot serve (a pcapng with a second section, a cut
        # record) the shards read whole, and the runner prints their note: the one line the single run does not print.
        notes = [line for line in dask[2].splitlines() if line.startswith("sgsim: note: --index ")]
        if "--index" in extra and ("refused" in name) != bool(notes):
            print(f"FAIL {name}: the index was {'not ' if notes else ''}used: {notes}")
            failures += 1
        if "--index" in extra and any(".pcapng: " not in line for line in notes):
            print(f"FAIL {name}: a pcap capture or a flow log (gzip or not) was read in place: {notes}")
            failures += 1
        dask = (dask[0], dask[1], "".join(line + "\n" for line in dask[2].splitlines() if line not in notes))
        alike = single == dask if name != "whatif_rejected" else (
            single[:2] == dask[:2] and all(line in dask[2].splitlines() for line in single[2].splitlines()))
        if alike:
            print(f"ok   {name}: exit {single[0]}, {len(single[1])} bytes alike")
            continue
        failures += 1
        print(f"FAIL {name}: single run exit {single[0]}, Dask run exit {dask[0]}")
        if single[1] != dask[1]:
            a, b = single[1].decode(errors="replace").splitlines(), dask[1].decode(errors="replace").splitlines()
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            print(f"  first difference at line {first + 1}:\n  single: {a[first] if first < len(a) else '(end)'}\n"
                  f"  dask:   {b[first] if first < len(b) else '(end)'}")
        print("  the single run's stderr:\n    " + single[2].replace("\n", "\n    "))
        print("  the Dask run's stderr:\n    " + dask[2].replace("\n", "\n    "))
finally:
    for process in reversed(processes):
        process.terminate()
        process.wait(timeout=60)
    cluster_dir.cleanup()
sys.exit(1 if failures else 0)
