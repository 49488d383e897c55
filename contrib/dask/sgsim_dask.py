#!/usr/bin/python3
"""sgsim-dask: runs `sgsim whatif|audit|replay` over a Dask distributed cluster, one task per shard (issue 13).

How a run goes (the commands are the contract of /work/prompts/scale_contract.md, see README "Scale-out"):
  1. captures and flow logs (the default, --index: on shared storage; each shard reads only its own frames or records):
     1a. on the workers: sgsim split --index --part I/N --shards N --out WORKDIR/index CAPTURES   (I = 1..N at once;
         with the LocalCluster, here, as processes of this machine started before the cluster: see start_here)
         or for flow logs, one pass: sgsim split --index --shards N --out WORKDIR/index-ID --model M [--host IP]
                                         [--direction D] --flow-log F...   (ID new to each attempt: index_dir)
     1b. on the workers: sgsim COMMAND OPTIONS --index WORKDIR/index --shard K/N --format json
                             -o WORKDIR/index/shard-K.json
     or captures with --decap, or with --in-place:
         on the workers: sgsim COMMAND OPTIONS INPUTS --shard K/N --format json -o WORKDIR/shards/shard-K.json
                         (one task per shard, K = 1..N: each reads the inputs on shared storage and keeps its own
                         conversations; the split is each shard's reading-side filter, frames of other shards
                         dropped as they are read)
     or, with --split (shards copied to machines without shared storage of the inputs):
     1a. on one worker:  sgsim split --shards N --out WORKDIR/split-ID [--decap ..] [--mirror ..] CAPTURES
     1b. on the workers: sgsim COMMAND OPTIONS --split WORKDIR/split-ID --shard K/N --format json
                             -o WORKDIR/split-ID/shard-K.json
  2. on one worker:  sgsim merge [--format F] [--limit L] [gates] WORKDIR/.../shard-*.json
  3. here: the merged report on stdout (or -o FILE), the exit status the single run would have had.

Every sgsim runs in the directory this runner was started in, so relative paths (the model, requests, captures)
mean on a worker what they mean here: that directory, the inputs and WORKDIR must be on storage every worker sees
at the same path. The workers find the binary at --sgsim PATH, else at $SGSIM (this process's), else each worker
looks up `sgsim` on its own PATH; before anything runs, every worker reports its binary's `--version` and SHA-256,
and differing or missing binaries stop the run naming the workers.

Only this file is needed on the client: its task functions are shipped to the workers by value (cloudpickle), so
the workers need python3-distributed and sgsim, not this module.
"""
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_CHANGE, EXIT_NOOP, EXIT_INTERNAL = 0, 1, 2, 3, 4, 5
COMMANDS = ("whatif", "audit", "replay")
MERGE_FORMATS = ("json",)  # what `sgsim merge --format` prints
AUDIT_FINDINGS = ("unused", "shadowed", "redundant", "broad", "conflict")

USAGE = """\
usage: sgsim_dask.py [--scheduler ADDR] [--workers N] [--processes] [--shards N] [--workdir DIR] [--sgsim PATH]
                     [--index | --in-place | --split] [--quiet] [--timings] COMMAND SGSIM-OPTIONS...
                     (CAPTURE... | --flow-log FILE...)

Runs `sgsim COMMAND` (whatif, audit or replay) over a Dask cluster: shards the inputs by address pair, runs one
sgsim per shard as a Dask task, merges the shards' JSON reports, and prints the report the single run prints,
exiting with its exit status. SGSIM-OPTIONS are sgsim's own (--model, --revoke, --authorize, --at, --format,
-o, --fail-on-change, ...; `sgsim COMMAND --help`); the runner's options may stand anywhere.

runner options:
  --scheduler ADDR  a running Dask scheduler (tcp://HOST:8786); default: a LocalCluster in this process
  --workers N       with the LocalCluster: this many workers (default: the number of CPUs), one thread each
  --processes       with the LocalCluster: workers as processes (default: threads; each task is an sgsim process
                    either way, so threads only save the start-up)
  --shards N        number of shards (default: the cluster's worker threads)
  --workdir DIR     where the shard reports (and with --split the split) go, on storage every worker shares;
                    must be empty or absent, and is kept (default: a temporary folder removed at the end:
                    under the system's temp folder with the LocalCluster, in the current directory with
                    --scheduler)
  --sgsim PATH      the sgsim binary on the workers (default: $SGSIM, else `sgsim` on each worker's PATH)
  --index           the default for captures, named: index the captures first, N parts over their bytes at once
                    (`sgsim split --index --part I/N`), then each shard reads only its own frames through the
                    index (sgsim --index DIR --shard K/N): the shards' CPU adds up to about the single run's,
                    where in place every shard also reads every other shard's frames; the index is one more
                    pass over the captures, run on all workers at once. Flow logs are indexed in one pass
                    (`sgsim split --index --flow-log`, with the shards' --model, --host and --direction), each
                    shard then parsing only its own records (of a gzip log, in the index's plain copy of its
                    text). Captures with --decap are read in place (named with it, --index is refused);
                    a capture the index cannot serve (truncated, a pcapng with SPBs, ...) is read whole by each
                    shard, the others through the index, and the runner prints the note once
  --in-place        no index: each shard reads the inputs whole on shared storage and keeps its own
                    conversations (sgsim --shard K/N in place, other shards' frames dropped as they are read)
  --no-split        the same as --in-place (its name before indexes)
  --split           split the captures into one file per shard first (`sgsim split`, one task), then each shard
                    reads its own file (sgsim --split DIR --shard K/N): for shards sent to machines that do
                    not share the inputs' storage; it writes and reads the input once more. Captures only:
                    with flow logs it is refused (they are indexed)
  --quiet           no progress on stderr (progress is shown only when stderr is a terminal)
  --timings         after the run, where the time went on stderr: the cluster's start, each step's wall and CPU
                    time and worker, the shards' CPU summed
  -h, --help        this help
"""

# sgsim's options of whatif, audit and replay that take a value (both spellings), and those that do not. The
# runner must know them to find the inputs among the arguments; an option it does not know is refused, not guessed.
VALUE_OPTIONS = {"-m": "--model", "--model": "--model", "--host": "--host", "--revoke": "--revoke",
                 "--authorize": "--authorize", "--at": "--at", "-f": "--format", "--format": "--format",
                 "--limit": "--limit", "--write-affected": "--write-affected", "-o": "--output",
                 "--output": "--output", "--direction": "--direction", "--max-flows": "--max-flows",
                 "--threads": "--threads", "--capture": "--capture", "--flow-log": "--flow-log", "--decap": "--decap",
                 "--mirror": "--mirror", "--eni": "--eni", "--group": "--group", "--sort": "--sort",
                 "--fail-on": "--fail-on"}
FLAG_OPTIONS = {"--allow-unknown-fields", "--strict", "--fail-on-noop", "--at-outside-capture",
                "--keep-established", "--fail-on-change", "--no-space"}
# Options only some commands have (sgsim itself refuses the others; the runner says so before starting a cluster).
ONLY_FOR = {"--at": ("whatif",), "--at-outside-capture": ("whatif",), "--keep-established": ("whatif",),
            "--limit": ("whatif",), "--write-affected": ("whatif",), "--fail-on-change": ("whatif",),
            "--no-space": ("whatif",), "--eni": ("audit",), "--group": ("audit",), "--sort": ("audit",),
            "--fail-on": ("audit",)}
RUNNER_VALUE_OPTIONS = ("--scheduler", "--workers", "--shards", "--workdir", "--sgsim")
RUNNER_FLAGS = ("--processes", "--quiet", "--timings", "--no-split", "--in-place", "--split", "--index")


class UsageError(Exception):
    """Bad usage or bad input: exit 2, the message on stderr."""


class RunError(Exception):
    """A step of the run failed: its message on stderr and this exit status."""

    def __init__(self, message, code, stdout=b""):
        super().__init__(message)
        self.code = code
        self.stdout = stdout  # what the failed sgsim printed there (a rejected request's error body)


@dataclasses.dataclass
class Plan:
    """The command line taken apart: what goes to split, to every shard, to merge, and what the runner keeps."""
    command: str
    captures: list = dataclasses.field(default_factory=list)
    flow_logs: list = dataclasses.field(default_factory=list)
    split_options: list = dataclasses.field(default_factory=list)  # --decap, --mirror (shards get them too)
    shard_options: list = dataclasses.field(default_factory=list)
    format: str = None
    output: str = None
    sort: str = None  # audit --sort: the shards and merge both need it
    fail_on_change: bool = False  # whatif: merge decides from the merged report
    fail_on: list = dataclasses.field(default_factory=list)  # audit's findings: decided here on the merged report
    fail_on_noop: bool = False
    reads_stdin: bool = False  # a request given as '-': read here once, fed to every shard's stdin
    scheduler: str = None
    workers: int = None
    processes: bool = False
    shards: int = None
    workdir: str = None
    sgsim: str = None
    quiet: bool = False
    timings: bool = False
    no_split: bool = False  # --in-place's older name
    in_place: bool = False  # no index: each shard reads the inputs whole (--in-place)
    split: bool = False  # sgsim split first (--split)
    index: bool = False  # sgsim split --index first, in parts: the default for captures, named (--index)


def _value(args, i, name, eq, inline):
    """The value of option `name` at args[i], written `--name=VALUE` (eq, inline) or as the next argument; and the
    index of the argument it ended at."""
    if eq:
        return inline, i
    if i + 1 < len(args):
        return args[i + 1], i + 1
    raise UsageError(f"{name} needs a value")


def _positive(option, text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or str(value) != text.strip():
        raise UsageError(f"{option} {text}: give a whole number of at least 1")
    return value


def parse_args(argv):
    """argv (without the program name) → Plan. Raises UsageError naming the argument; returns None for --help."""
    plan = Plan(command=None)
    args = list(argv)
    i = 0
    rest = []  # sgsim's arguments, the runner's own taken out
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg in ("-h", "--help"):
            return None
        if name in RUNNER_VALUE_OPTIONS:
            value, i = _value(args, i, name, eq, inline)
            if name == "--scheduler":
                plan.scheduler = value
            elif name == "--workers":
                plan.workers = _positive(name, value)
            elif name == "--shards":
                plan.shards = _positive(name, value)
            elif name == "--workdir":
                plan.workdir = value
            else:
                plan.sgsim = value
        elif arg in RUNNER_FLAGS:
            setattr(plan, arg[2:].replace("-", "_"), True)
        else:
            rest.append(arg)
        i += 1
    if sum((plan.split, plan.no_split or plan.in_place, plan.index)) > 1:
        raise UsageError("--index, --in-place (--no-split) and --split: choose one (the default is --index)")
    if plan.scheduler and (plan.workers or plan.processes):
        raise UsageError(f"{'--workers' if plan.workers else '--processes'} shapes the LocalCluster; with --scheduler "
                         "the cluster has the workers started for it (dask-worker --nworkers/--nthreads)")
    if not rest:
        raise UsageError("name the sgsim command to run: whatif, audit or replay")
    plan.command = rest[0]
    if plan.command not in COMMANDS:
        hint = " (sgsim merge and split are what the runner runs itself)" if plan.command in ("merge", "split") else ""
        raise UsageError(f"unknown command \"{plan.command}\": the runner runs whatif, audit or replay{hint}")
    i = 1
    stdin_users = []
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            plan.captures.extend(rest[i + 1:])
            break
        if not arg.startswith("-") or arg == "-":
            if arg == "-":
                raise UsageError("a capture from standard input ('-') cannot be split for the workers: "
                                 "give the capture's path on shared storage")
            plan.captures.append(arg)
            i += 1
            continue
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in VALUE_OPTIONS:
            option = VALUE_OPTIONS[name]
            value, i = _value(rest, i, name, eq, inline)
        elif name in FLAG_OPTIONS and not eq:
            option, value = name, None
        else:
            raise UsageError(f"{arg}: not an option of sgsim {plan.command} that the runner knows; write sgsim's "
                             f"options in full (`sgsim {plan.command} --help`), the runner's before or after them")
        if option in ONLY_FOR and plan.command not in ONLY_FOR[option]:
            raise UsageError(f"{option} is an option of sgsim {' and '.join(ONLY_FOR[option])}, not of "
                             f"{plan.command}")
        if option == "--capture":
            if value == "-":
                raise UsageError("a capture from standard input ('-') cannot be split for the workers: "
                                 "give the capture's path on shared storage")
            plan.captures.append(value)
        elif option == "--flow-log":
            if value == "-":
                raise UsageError("--flow-log -: a flow log from standard input cannot be split for the workers: "
                                 "give the file's path on shared storage")
            plan.flow_logs.append(value)
        elif option in ("--decap", "--mirror"):
            plan.split_options += [option, value]
        elif option == "--format":
            plan.format = value
        elif option == "--output":
            plan.output = value
        elif option == "--write-affected":
            raise UsageError("--write-affected: each shard would write its own part of the packets; the runner "
                             "does not join captures, so run `sgsim whatif --write-affected` on one machine")
        elif option == "--fail-on":
            if value not in AUDIT_FINDINGS:
                raise UsageError(f"--fail-on {value}: not a finding ({', '.join(AUDIT_FINDINGS)})")
            plan.fail_on.append(value)
        else:
            if option == "--fail-on-change":
                plan.fail_on_change = True
            if option == "--sort":
                plan.sort = value
            if option == "--fail-on-noop":
                plan.fail_on_noop = True
            if option in ("--revoke", "--authorize") and value == "-":
                stdin_users.append(option)
            plan.shard_options += [option] + ([] if value is None else [value])
        i += 1
    if len(stdin_users) > 1:
        raise UsageError(f"{' and '.join(stdin_users)} both read standard input ('-'): it can be read once")
    plan.reads_stdin = bool(stdin_users)
    if not plan.captures and not plan.flow_logs:
        raise UsageError(f"sgsim {plan.command}: give the captures (or --flow-log files) to split, on storage "
                         "every worker shares")
    if plan.captures and plan.flow_logs:
        raise UsageError("give captures or --flow-log files, not both (as sgsim itself)")
    # A way of reading named for inputs it does not serve is refused rather than replaced by another unsaid: with
    # --split the user may count on shards that need no shared storage for the inputs.
    if plan.flow_logs and plan.split:
        raise UsageError("--split splits captures: flow logs are not split (a split log would put a record older than "
                         "the reorder window back in order in its shard's file, which the whole run does not; README, "
                         "Shards): leave out --split; the logs are indexed and each shard reads its own records, on "
                         "storage every worker shares")
    if plan.index and "--decap" in plan.split_options:
        raise UsageError("--index indexes captures as they are: captures decapsulated with --decap are read in place "
                         "by each shard; leave out --index")
    if plan.format not in MERGE_FORMATS:
        what = "the summary as JSON" if plan.command == "replay" else "JSON"
        raise UsageError(f"{plan.command} --format {plan.format or 'text'}: sgsim merge prints {what} only "
                         f"(text, CSV and HTML need the model): add --format json")
    return plan


def split_command(plan, split_dir, shards):
    return ["split", "--shards", str(shards), "--out", split_dir] + plan.split_options + plan.captures


def indexes(plan):
    """--index applies to captures read as they are (an index holds no decapsulated frames) and to flow logs."""
    return bool(plan.captures or plan.flow_logs) and not (plan.split or plan.in_place or plan.no_split) and \
        "--decap" not in plan.split_options


def index_dir(plan, workdir):
    """Where the index goes. A flow-log index is one pass into a new directory (sgsim refuses one that is not empty),
    so each attempt of it gets a folder of its own (FRESH), as a split does: an index Dask runs again after losing its
    worker never meets the first attempt's files. Capture index parts share one folder (a part done is kept)."""
    return os.path.join(workdir, "index-" + FRESH if plan.flow_logs else "index")


def index_parts(plan, shards):
    """Captures are indexed in one part per shard, side by side; flow logs in one pass (the whole input's order needs
    every record: `sgsim split --index --flow-log`)."""
    return 1 if plan.flow_logs else shards


# What a flow-log index is made with besides the logs: the options that decide which records are not placed at their
# interface (pipeline/split.h, "Flow-log indexes"), the shards' own.
PLACEMENT_OPTIONS = ("--model", "--host", "--direction", "--allow-unknown-fields")


def index_command(plan, index_dir, part, parts, shards):
    if plan.flow_logs:
        placement, i = [], 0
        while i < len(plan.shard_options):
            option = plan.shard_options[i]
            takes = option in VALUE_OPTIONS.values()
            if option in PLACEMENT_OPTIONS:
                placement += plan.shard_options[i:i + (2 if takes else 1)]
            i += 2 if takes else 1
        return ["split", "--index", "--shards", str(shards), "--out", index_dir] + placement + \
            [a for log in plan.flow_logs for a in ("--flow-log", log)]
    return ["split", "--index", "--part", f"{part}/{parts}", "--shards", str(shards), "--out", index_dir] + \
        plan.captures


def shard_report(run_dir, k):
    return os.path.join(run_dir, f"shard-{k}.json")


def shard_command(plan, run_dir, k, n):
    """Shard K of N: through the index in run_dir (captures, the default), of the inputs themselves (each shard
    reading them whole and keeping its own conversations: --shard in place), or with --split of the split in run_dir.
    Flow logs are never split: a split flow log puts a record older than the reorder window back in order in its
    shard's file, which the whole run does not (README, Semantics decisions, Shards); their index and in place are
    exact.
    Each shard is one task on one worker thread, so it reads and evaluates on one thread (--threads 1) unless the
    command line says otherwise: two threads per task on a worker thread each made the shards' CPU 1.21x the single
    run's on cap2m, where one thread each gives 1.00x (docs/PERFORMANCE.md, "Scale-out")."""
    threads = [] if any(o == "--threads" or o.startswith("--threads=") for o in plan.shard_options) else \
        ["--threads", "1"]
    if plan.captures and plan.split:
        inputs = ["--split", run_dir]
    elif indexes(plan):
        inputs = ["--index", run_dir]
    else:
        inputs = [a for log in plan.flow_logs for a in ("--flow-log", log)] + plan.captures
    return ([plan.command] + threads + plan.shard_options + plan.split_options + inputs +
            ["--shard", f"{k}/{n}", "--format", "json", "-o", shard_report(run_dir, k)])


def merge_command(plan, reports):
    command = ["merge"] + (["--sort", plan.sort] if plan.sort else [])
    return command + (["--fail-on-change"] if plan.fail_on_change else []) + list(reports)


def report_members(text, names):
    """The top-level members `names` of a report sgsim printed (those it has), read from its text alone: the runner
    needs only the warnings and errors (and audit's rules), and parsing the whole of fl3m.csv's merged report (39 MB)
    took 0.30 s. sgsim lays out JSON with each top-level member on a line of its own, two spaces in, and every line
    deeper further in; a member's value runs to the next such line (`,` newline, two spaces, a quote) or to the last
    `}`. Text not laid out so is parsed whole. ValueError: not JSON."""
    end = text.rstrip(b"\n")
    if not (text.startswith(b'{\n  "') and end.endswith(b"\n}")):
        whole = json.loads(text)
        if not isinstance(whole, dict):
            raise ValueError("not a JSON object")
        return whole
    found = {}
    for name in names:
        key = b'\n  "' + name.encode() + b'": '
        at = end.find(key)
        if at < 0:
            continue
        start = at + len(key)
        stop = end.find(b',\n  "', start)
        found[name] = json.loads(end[start:stop if stop >= 0 else len(end) - 2])
    return found


def audit_failures(plan, report):
    """audit --fail-on on the merged report, as sgsim audit decides it (src/cli/main.cpp, hasFinding): the lines
    it prints on stderr, one per finding given that some rule has. A rule's traffic (unused) is known only once
    the shards are merged, so the shards are not given --fail-on."""
    lines = []
    for finding in plan.fail_on:
        ids = [row["rule"] for row in report.get("rules", []) if _has_finding(row, finding)]
        if ids:
            listed = ", ".join(ids[:10]) + (", …" if len(ids) > 10 else "")
            lines.append(f"sgsim: --fail-on {finding}: {len(ids)} {'rule' if len(ids) == 1 else 'rules'} ({listed})")
    return lines


def _has_finding(row, finding):
    static = row.get("static") or {}
    if finding == "unused":
        return row["hits"]["packets"] == 0
    if finding == "shadowed":
        return row["verdict"] == "never-matches"
    if finding == "redundant":
        return bool(static.get("redundant"))
    if finding == "broad":
        return static.get("broad") is not None
    return bool(static.get("conflictsWith"))


def messages(report, shard_errs):
    """What the single run prints on stderr, rebuilt: the merged report's warnings and errors as sgsim prints them
    (`sgsim: warning: WHERE: MESSAGE`), then the shards' other lines (e.g. --fail-on-noop's, the same in every
    shard), each once. A shard's own warning lines are left out: they are in its report, merged."""
    def text(issue):
        return f"{issue['where']}: {issue['message']}" if issue.get("where") else issue["message"]
    lines = [f"sgsim: warning: {text(w)}" for w in report.get("warnings", [])]
    lines += [f"sgsim: {text(e)}" for e in report.get("errors", [])]
    known = set(lines)
    for err in shard_errs:
        for line in err.decode(errors="replace").splitlines():
            if line.startswith("sgsim: warning: ") or line in known:
                continue
            known.add(line)
            lines.append(line)
    return lines


def final_exit(plan, shard_codes, merge_code, audit_lines):
    """The exit status the single run would have had: 2 for a capture that ended on a bad record (the report of
    what was read is printed), then --fail-on-noop's 4 (a request's no-op does not depend on the traffic, so every
    shard sees it), then the gates: merge's 3 for whatif --fail-on-change, audit --fail-on decided here."""
    if any(code == EXIT_USAGE for code in shard_codes):
        return EXIT_USAGE
    if plan.fail_on_noop and any(code == EXIT_NOOP for code in shard_codes):
        return EXIT_NOOP
    if audit_lines:
        return EXIT_CHANGE
    return merge_code


# ---- what runs on the workers (shipped by value: only the standard library and distributed there) ----------------

def _worker_name():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return socket.gethostname()


def _resolve_binary(sgsim):
    """The binary this worker would run: PATH given, else $SGSIM, else `sgsim` on PATH; (path, None) or (None, why)."""
    chosen = sgsim or os.environ.get("SGSIM") or "sgsim"
    if os.sep in chosen:
        if not os.path.isfile(chosen) or not os.access(chosen, os.X_OK):
            return None, f"{chosen} is not an executable file there"
        return os.path.abspath(chosen), None
    found = shutil.which(chosen)
    if found is None:
        return None, f"no `{chosen}` on its PATH (give --sgsim PATH or set SGSIM)"
    return found, None


def probe_worker(sgsim, cwd, workdir, worker=None):
    """Runs on every worker before the work: the binary's path, version and SHA-256, and whether the current
    directory and the workdir are there. Returns a dict; 'error' says what is wrong. `worker`: as in run_sgsim."""
    info = {"worker": worker or _worker_name(), "host": socket.gethostname(), "error": None}
    for what, path in (("the directory the runner was started in", cwd), ("the workdir", workdir)):
        if not os.path.isdir(path):
            info["error"] = (f"{what}, {path}, is not there: it must be on storage every worker shares, "
                             "at the same path")
            return info
    path, why = _resolve_binary(sgsim)
    if path is None:
        info["error"] = why
        return info
    info["path"] = path
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    info["sha256"] = digest.hexdigest()
    try:
        done = subprocess.run([path, "--version"], cwd=cwd, capture_output=True, timeout=60)
        info["version"] = done.stdout.decode(errors="replace").strip() if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired) as e:
        info["error"] = f"{path} --version failed: {e}"
    if not info.get("version") and not info["error"]:
        info["error"] = f"{path} --version did not print a version: is it sgsim?"
    return info


FRESH = "{fresh}"  # in a task's arguments: a folder name new to each attempt of the task


def run_sgsim(sgsim, expected_sha256, arguments, cwd, stdin_bytes, attempts_dir, label, output=None, worker=None):
    """One sgsim run on a worker: (exit status, stdout, stderr, {wall, cpu, wrote, fresh}, worker), wrote: whether
    `output` is there afterwards. FRESH in the arguments and output becomes a name new to this attempt (stats'
    "fresh"), so that a split Dask runs again after losing its worker never meets the first attempt's half-written
    folder. Leaves a file in attempts_dir so that the runner can tell a task Dask ran again. `worker` names where
    it runs when that is not a Dask worker (the runner's own index parts, see start_here)."""
    worker = worker or _worker_name()
    fresh = uuid.uuid4().hex[:8]
    arguments = [a.replace(FRESH, fresh) for a in arguments]
    output = output.replace(FRESH, fresh) if output else output
    with open(os.path.join(attempts_dir, f"{label}.{uuid.uuid4().hex}"), "w") as mark:
        mark.write(worker + "\n")
    path, why = _resolve_binary(sgsim)
    if path is None:
        return EXIT_USAGE, b"", f"sgsim-dask: worker {worker}: {why}\n".encode(), {}, worker
    if expected_sha256:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != expected_sha256:
            return (EXIT_USAGE, b"", f"sgsim-dask: worker {worker}: {path} is not the binary the other workers "
                    f"run (SHA-256 {digest.hexdigest()[:12]}…, expected {expected_sha256[:12]}…)\n".encode(), {},
                    worker)
    code, out, err, stats = _spawn([path] + arguments, cwd, stdin_bytes)
    stats["wrote"] = output is not None and os.path.exists(output)
    stats["fresh"] = fresh
    return code, out, err, stats, worker


def _spawn(argv, cwd, stdin_bytes):
    """(exit status, stdout, stderr, {wall, cpu}) of one process: run as subprocess.run would, but reaped with
    wait4 to get its own CPU time (the workers may run several tasks in one process)."""
    import threading
    start = time.monotonic()
    child = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = {}

    def drain(name, stream):
        chunks[name] = stream.read()
        stream.close()

    readers = [threading.Thread(target=drain, args=(n, s)) for n, s in (("out", child.stdout), ("err", child.stderr))]
    for reader in readers:
        reader.start()
    try:
        child.stdin.write(stdin_bytes or b"")
    except BrokenPipeError:
        pass  # sgsim did not read its stdin
    child.stdin.close()
    for reader in readers:
        reader.join()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    ended = time.monotonic()  # this machine's clock: meaningful to the runner only for its own processes (HERE)
    stats = {"wall": ended - start, "cpu": usage.ru_utime + usage.ru_stime, "ended": ended}
    return child.returncode, chunks["out"], chunks["err"], stats


# ---- the client side --------------------------------------------------------------------------------------------

class Progress:
    """One line on stderr, rewritten, when stderr is a terminal (never in a pipe or a log)."""

    def __init__(self, quiet):
        self.on = not quiet and sys.stderr.isatty()
        self.start = time.monotonic()

    def say(self, text):
        if self.on:
            sys.stderr.write(f"\r\033[Ksgsim-dask: {text} ({time.monotonic() - self.start:.1f} s)")
            sys.stderr.flush()

    def done(self):
        if self.on:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def check_workers(probes):
    """probes: {worker address: probe_worker's dict} → the SHA-256 every worker shares. Raises RunError naming the
    workers that lack the binary or run another one."""
    if not probes:
        raise RunError("sgsim-dask: the cluster has no workers: start some (dask-worker SCHEDULER) and run again",
                       EXIT_USAGE)
    broken = [f"worker {w}: {p['error']}" for w, p in sorted(probes.items()) if p.get("error")]
    if broken:
        raise RunError("sgsim-dask: " + "; ".join(broken), EXIT_USAGE)
    kinds = {}
    for w, p in sorted(probes.items()):
        kinds.setdefault((p["version"], p["sha256"]), []).append(f"{w} ({p['path']})")
    if len(kinds) > 1:
        listed = "; ".join(f"{version}, SHA-256 {sha[:12]}…: {', '.join(ws)}"
                           for (version, sha), ws in sorted(kinds.items()))
        raise RunError("sgsim-dask: the workers do not run the same sgsim binary (" + listed + "): a merge is exact "
                       "only over shards of one build; install the same binary everywhere or give --sgsim PATH",
                       EXIT_USAGE)
    return next(iter(kinds))[1]


def write_output(path, data):
    """The report to -o FILE as sgsim writes it: a regular file replaced atomically (through a symbolic link to
    its target), a FIFO or device written in place."""
    target = os.path.realpath(path)
    try:
        if os.path.exists(target) and not os.path.isfile(target):
            with open(target, "wb") as f:
                f.write(data)
            return
        folder = os.path.dirname(target) or "."
        fd, temp = tempfile.mkstemp(prefix=".sgsim-dask-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            if os.path.exists(target):
                os.chmod(temp, os.stat(target).st_mode & 0o7777)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(temp, 0o666 & ~umask)
            os.replace(temp, target)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as e:
        raise RunError(f"sgsim-dask: --output {path}: cannot write it: {e.strerror}; choose a writable place",
                       EXIT_USAGE)


def _failure(step, result):
    code, stdout, stderr, _, worker = result
    text = stderr.decode(errors="replace").rstrip("\n")
    status = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
    where = worker if worker == HERE else f"on worker {worker}"
    return RunError(f"sgsim-dask: {step} failed {where} ({status}):\n{text}",
                    code if code in (EXIT_API, EXIT_USAGE, EXIT_INTERNAL) else EXIT_INTERNAL, stdout)


HERE = "here, started by the runner"  # where start_here's index parts run (in place of a worker's address)


class LocalStart:
    """What a LocalCluster run does on this machine before the cluster starts (see start_here): the binary's
    check, the SHA-256 it found, and the index parts started as processes ({future: part}, empty without an index)."""

    def __init__(self, sha256, executor=None, parts=None, shards=None):
        self.sha256, self.executor, self.parts, self.started = sha256, executor, parts or {}, time.monotonic()
        self.shards = shards  # the shards the index parts were made for


def start_here(plan, cwd, workdir, attempts):
    """With the LocalCluster, the workers are this machine (threads of this process, or with --processes its
    children, with its environment), so the binary is checked here, once, and the index parts start here at once
    as processes of this machine, while `import distributed` and the cluster's start (~0.2 s of CPU on the
    2-core machine of docs/PERFORMANCE.md) go on beside them: the two overlap instead of following one another.
    With --scheduler both stay on the workers (their check, then the parts as Dask tasks). None when the binary
    is not usable here: the workers' check then says why, as for any run."""
    import concurrent.futures
    probe = probe_worker(plan.sgsim, cwd, workdir, HERE)  # HERE: no `import distributed` to name a worker
    if probe.get("error"):
        return None
    if not indexes(plan):
        return LocalStart(probe["sha256"])
    shards = plan.shards or local_workers(plan)  # one thread per worker (connect)
    run_dir = index_dir(plan, workdir)
    count = index_parts(plan, shards)
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=count)
    parts = {executor.submit(run_sgsim, plan.sgsim, probe["sha256"], index_command(plan, run_dir, i, count, shards),
                             cwd, b"", attempts, f"index-{i}", None, HERE): i for i in range(1, count + 1)}
    return LocalStart(probe["sha256"], executor, parts, shards)


def local_workers(plan):
    """The LocalCluster's workers, each of one thread: --workers, else one per CPU."""
    return plan.workers or os.cpu_count() or 1


def connect(plan):
    """(client, cluster or None). A LocalCluster in this process unless --scheduler names one."""
    import logging
    try:
        from distributed import Client, LocalCluster
        import cloudpickle
    except ImportError as e:
        raise RunError(f"sgsim-dask: {e}: install Dask distributed (Debian: apt-get install python3-distributed; "
                       "scripts/deps.sh does) and run with /usr/bin/python3", EXIT_USAGE)
    # A future Dask abandons while the client closes is logged as "Future exception was never retrieved" (seen with
    # distributed 2022.12 after a run against a scheduler): noise on a stderr that must match the single run's.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    # Workers need not have this module: its functions travel by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if plan.scheduler:
        try:
            return Client(plan.scheduler, timeout=30), None
        except (OSError, TimeoutError) as e:
            raise RunError(f"sgsim-dask: --scheduler {plan.scheduler}: cannot reach the scheduler ({e}): check the "
                           "address and that `dask-scheduler` runs there", EXIT_USAGE)
    workers = local_workers(plan)
    if not plan.processes:
        # Each worker reports its packages' versions when it registers (distributed/versions.py), and to do so imports
        # pandas: 0.11 s of the in-process cluster's 0.12 s start on this machine, for a report the scheduler compares
        # only for Dask's own packages (scheduler_relevant_packages), and between threads of this one process here.
        import distributed.versions
        distributed.versions.optional_packages[:] = [
            p for p in distributed.versions.optional_packages if p[0] in distributed.versions.scheduler_relevant_packages]
    # ":0": no clash between runs. Logs at CRITICAL only: the in-process cluster's own ERROR lines (seen in CI under
    # ASan: "Scheduler was unaware of this worker … Shutting down" with a heartbeat traceback, a worker timed out
    # and replaced, the report still whole) would land on a stderr that must be the single run's; what matters to
    # the user the runner says itself (a lost worker's rerun as a note, KilledWorker as its error).
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=plan.processes,
                           dashboard_address=":0", silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


def _make_workdir(plan, cwd):
    """The run's folder: a new temporary one, or --workdir (empty or absent)."""
    if plan.workdir is None:
        return tempfile.mkdtemp(prefix=".sgsim-dask-" if plan.scheduler else "sgsim-dask-",
                                dir=cwd if plan.scheduler else None)
    workdir = os.path.abspath(plan.workdir)
    if os.path.exists(workdir) and (not os.path.isdir(workdir) or os.listdir(workdir)):
        raise RunError(f"sgsim-dask: --workdir {plan.workdir}: must be an empty folder or absent (the runner "
                       "never overwrites files)", EXIT_USAGE)
    try:
        os.makedirs(workdir, exist_ok=True)
    except OSError as e:
        raise RunError(f"sgsim-dask: --workdir {plan.workdir}: cannot create it: {e.strerror}", EXIT_USAGE)
    return workdir


def run(plan, stdin_bytes=b""):
    """The whole run. Returns (report bytes, the single run's stderr lines, exit status, notes); raises RunError."""
    cwd = os.getcwd()
    progress = Progress(plan.quiet)
    notes = []
    started = time.monotonic()
    own_workdir = plan.workdir is None
    workdir = _make_workdir(plan, cwd)
    local = None
    try:
        attempts = os.path.join(workdir, "attempts")
        os.makedirs(attempts)
        if not plan.scheduler:
            local = start_here(plan, cwd, workdir, attempts)
        progress.say(f"connecting to {plan.scheduler}" if plan.scheduler else "starting a LocalCluster")
        client, cluster = connect(plan)
        try:
            if plan.timings:
                notes.append(f"sgsim-dask: timings: cluster {'connected' if plan.scheduler else 'started'} in "
                             f"{time.monotonic() - started:.2f} s")
            return _run_in(plan, client, cwd, workdir, attempts, stdin_bytes, progress, notes, local)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    finally:
        progress.done()
        if local is not None and local.executor is not None:
            local.executor.shutdown(wait=True)  # a failed run waits for the other parts before the folder goes
        clock = time.monotonic()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        if plan.timings:
            notes.append(f"sgsim-dask: timings: workdir {'removed' if own_workdir else 'kept'} in "
                         f"{time.monotonic() - clock:.2f} s; {time.monotonic() - started:.2f} s since the "
                         "runner's start")


def _run_in(plan, client, cwd, workdir, attempts, stdin_bytes, progress, notes, local):
    import concurrent.futures
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    clock = time.monotonic()

    def timing(step, outcome):
        if plan.timings:
            stats, worker = outcome[3], outcome[4]
            notes.append(f"sgsim-dask: timings: {step}: sgsim {stats.get('wall', 0):.2f} s wall, "
                         f"{stats.get('cpu', 0):.2f} s CPU, {worker if worker == HERE else 'on ' + worker}")

    if not local:
        progress.say("checking the workers' sgsim")
    sha = local.sha256 if local else check_workers(client.run(probe_worker, plan.sgsim, cwd, workdir))
    shards = local.shards if local and local.parts else plan.shards or sum(client.nthreads().values())
    splits = plan.captures and plan.split

    def submit(arguments, label, stdin=b"", output=None):
        return client.submit(run_sgsim, plan.sgsim, sha, arguments, cwd, stdin, attempts, label, output, pure=False,
                             key=f"sgsim-{label}-{uuid.uuid4().hex[:8]}")

    def result(future, step):
        try:
            return future.result()
        except KilledWorker as e:
            raise RunError(f"sgsim-dask: {step}: Dask lost the worker running it too many times ({e}); "
                           "see the workers' logs", EXIT_INTERNAL)

    if plan.timings:
        notes.append("sgsim-dask: timings: the LocalCluster's sgsim checked here before the cluster's start" if local
                     else f"sgsim-dask: timings: workers checked in {time.monotonic() - clock:.2f} s")
    clock = time.monotonic()
    if splits:
        progress.say(f"splitting into {shards} shards")
        # A new folder for each attempt of the split (FRESH), the one that succeeded named in its result.
        command = split_command(plan, os.path.join(workdir, "split-" + FRESH), shards)
        split = result(submit(command, "split", output=os.path.join(workdir, "split-" + FRESH, "manifest.json")),
                       "the split")
        run_dir = os.path.join(workdir, "split-" + split[3].get("fresh", ""))
        timing("split", split)
        if plan.timings:
            notes.append(f"sgsim-dask: timings: split task done {time.monotonic() - clock:.2f} s after its "
                         "submission")
        clock = time.monotonic()
        # Exit 2 with a manifest: a capture ended on a bad record; what was read is split, and each shard reports
        # the error (its report written, exit 2) as the single run does.
        if split[0] != EXIT_OK and not (split[0] == EXIT_USAGE and split[3].get("wrote")):
            raise _failure("sgsim " + " ".join(command).replace(FRESH, split[3].get("fresh", FRESH)), split)
    elif indexes(plan):
        count = index_parts(plan, shards)
        progress.say(f"indexing in {count} part{'s' if count > 1 else ''}")
        run_dir = index_dir(plan, workdir)
        if local:
            parts, clock = local.parts, local.started
            done = ((parts[f], f.result()) for f in concurrent.futures.as_completed(parts))
        else:
            parts = {submit(index_command(plan, run_dir, i, count, shards), f"index-{i}"): i
                     for i in range(1, count + 1)}
            done = ((parts[f], result(f, f"index part {parts[f]}/{count}")) for f in as_completed(parts))
        last = 0.0  # local parts: when the last one ended, from their start (they end before the cluster is up)
        for i, part in done:
            timing(f"index part {i}/{count}", part)
            last = max(last, part[3].get("ended", 0.0) - clock)
            if part[0] != EXIT_OK:
                for other in parts:
                    other.cancel()  # as for a failed shard: the run stops here
                raise _failure("sgsim " + " ".join(index_command(plan, run_dir, i, count, shards)).replace(
                    FRESH, part[3].get("fresh", FRESH)), part)
            run_dir = run_dir.replace(FRESH, part[3].get("fresh", ""))  # the attempt that succeeded
        if plan.timings:
            notes.append(f"sgsim-dask: timings: index parts done {last:.2f} s after their start, here, beside the "
                         "cluster's start" if local else
                         f"sgsim-dask: timings: index parts done {time.monotonic() - clock:.2f} s after their "
                         "submission")
        clock = time.monotonic()
    else:
        run_dir = os.path.join(workdir, "shards")
        os.makedirs(run_dir)
    futures = {submit(shard_command(plan, run_dir, k, shards), f"shard-{k}", stdin_bytes,
                      shard_report(run_dir, k)): k for k in range(1, shards + 1)}
    codes, outcomes = {}, {}
    progress.say(f"shards 0/{shards} done")
    for future in as_completed(futures):
        k = futures[future]
        outcome = result(future, f"shard {k}/{shards}")
        # 0, 3, 4: the report is written; 2 with the report written: the capture's error is in it
        if outcome[0] not in (EXIT_OK, EXIT_CHANGE, EXIT_NOOP) and not (outcome[0] == EXIT_USAGE and
                                                                        outcome[3].get("wrote")):
            for other in futures:
                other.cancel()
            raise _failure(f"shard {k}/{shards} (sgsim {' '.join(shard_command(plan, run_dir, k, shards))})",
                           outcome)
        codes[k] = outcome[0]
        timing(f"shard {k}/{shards}", outcome)
        outcomes[k] = outcome
        progress.say(f"shards {len(codes)}/{shards} done")
    if plan.timings:
        notes.append(f"sgsim-dask: timings: all shards done {time.monotonic() - clock:.2f} s after their "
                     f"submission; their CPU summed {sum(o[3].get('cpu', 0) for o in outcomes.values()):.2f} s")
    clock = time.monotonic()
    progress.say("merging")
    reports = [shard_report(run_dir, k) for k in range(1, shards + 1)]
    merged = result(submit(merge_command(plan, reports), "merge"), "the merge")
    timing("merge", merged)
    if plan.timings:
        notes.append(f"sgsim-dask: timings: merge task done {time.monotonic() - clock:.2f} s after its submission")
    if merged[0] not in (EXIT_OK, EXIT_CHANGE):
        raise _failure("sgsim " + " ".join(merge_command(plan, reports)), merged)
    for label, count in sorted(_attempt_counts(attempts).items()):
        if count > 1:
            notes.append(f"sgsim-dask: note: Dask ran {label} {count} times (a worker running it was lost); "
                         "the report is complete, each shard counted once")
    try:
        report = report_members(merged[1], ("warnings", "errors", "rules"))
    except ValueError as e:
        raise RunError(f"sgsim-dask: sgsim merge on worker {merged[4]} printed no JSON report ({e})", EXIT_INTERNAL)
    audit_lines = audit_failures(plan, report)
    lines = messages(report, [outcomes[k][2] for k in sorted(outcomes)] + [merged[2]]) + audit_lines
    return merged[1], lines, final_exit(plan, codes.values(), merged[0], audit_lines), notes


def _attempt_counts(attempts):
    counts = {}
    for name in os.listdir(attempts):
        label = name.rsplit(".", 1)[0]
        counts[label] = counts.get(label, 0) + 1
    return counts


def main(argv=None):
    try:
        plan = parse_args(sys.argv[1:] if argv is None else argv)
        if plan is None:
            sys.stdout.write(USAGE)
            return EXIT_OK
        stdin_bytes = sys.stdin.buffer.read() if plan.reads_stdin else b""
        report, lines, code, notes = run(plan, stdin_bytes)
        for line in lines + notes:
            print(line, file=sys.stderr)
        if plan.output is not None:
            write_output(plan.output, report)
        else:
            try:
                sys.stdout.buffer.write(report)
                sys.stdout.flush()
            except OSError as e:
                raise RunError(f"sgsim-dask: standard output: cannot write the report: {e.strerror}", EXIT_USAGE)
        return code
    except UsageError as e:
        print(f"sgsim-dask: {e}\n(sgsim_dask.py --help lists the runner's options)", file=sys.stderr)
        return EXIT_USAGE
    except RunError as e:
        try:
            sys.stdout.buffer.write(e.stdout)
            sys.stdout.flush()
        except OSError:
            pass  # the failure below is the news
        print(str(e), file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 128 + signal.SIGINT


if __name__ == "__main__":
    status = main()
    # The report is out and the cluster closed: leave without Python's teardown of distributed's modules, threads
    # and exit hooks (~0.04 s after the report on the machine of docs/PERFORMANCE.md, for nothing left to do).
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass  # main() said what it could not write
    os._exit(status)
