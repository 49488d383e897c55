#!/usr/bin/python3
"""The Dask runner's overhead (issue 13, docs/PERFORMANCE.md "Scale-out"): alternated rounds of the single sgsim
run and the same run through sgsim_dask.py on a LocalCluster (cluster start, split, shards, merge and the clean-up
all included), after one warm-up round; medians of wall time, the single run's CPU time (both its threads, from
wait4) against the shards' CPU time summed (the runner's --timings), and where the Dask run's time went.

usage: bench_overhead.py ROUNDS SGSIM [--workers N] [--shards N] -- SGSIM-ARGS...
e.g.   bench_overhead.py 7 build-rel/src/cli/sgsim -- whatif --model m1000.json --revoke revoke930.json \\
           --format json cap2m.pcap"""
import math
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(argv):
    """(wall s, CPU s of the process and its children, stdout bytes, stderr text); fails on a non-zero status."""
    start = time.monotonic()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3, 4):
        sys.exit(f"{' '.join(argv)}: exit status {code}\n{err.decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime, out, err.decode(errors="replace")


def main():
    rounds, sgsim = int(sys.argv[1]), os.path.abspath(sys.argv[2])
    split = sys.argv.index("--")
    runner_options, args = sys.argv[3:split], sys.argv[split + 1:]
    single_cmd = [sgsim] + args
    dask_cmd = [sys.executable, os.path.join(HERE, "sgsim_dask.py"), "--timings", "--sgsim", sgsim] + \
        (runner_options or ["--workers", "2"]) + args
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    rows = {"single wall": [], "single CPU": [], "dask wall": [], "dask CPU (all)": [], "shards CPU": [],
            "split CPU": [], "index CPU": [], "merge CPU": [], "cluster start": [], "split task": [],
            "index tasks": [], "shards tasks": [],
            "merge task": [], "workdir removal": []}
    patterns = {"cluster start": r"cluster started in ([\d.]+) s", "split task": r"split task done ([\d.]+) s",
                "shards tasks": r"all shards done ([\d.]+) s", "shards CPU": r"their CPU summed ([\d.]+) s",
                "merge task": r"merge task done ([\d.]+) s", "workdir removal": r"workdir removed in ([\d.]+) s",
                "index tasks": r"index parts done ([\d.]+) s",
                "split CPU": r"timings: split: sgsim [\d.]+ s wall, ([\d.]+) s CPU",
                "merge CPU": r"timings: merge: sgsim [\d.]+ s wall, ([\d.]+) s CPU"}
    for r in range(rounds + 1):
        s_wall, s_cpu, s_out, _ = timed(single_cmd)
        d_wall, d_cpu, d_out, d_err = timed(dask_cmd)
        if s_out != d_out:
            sys.exit("the Dask run's report differs from the single run's")
        if r == 0:
            continue  # the warm-up round: page cache, Python's imports
        rows["single wall"].append(s_wall)
        rows["single CPU"].append(s_cpu)
        rows["dask wall"].append(d_wall)
        rows["dask CPU (all)"].append(d_cpu)
        for name, pattern in patterns.items():
            found = re.search(pattern, d_err)
            rows[name].append(float(found.group(1)) if found else float("nan"))
        parts = re.findall(r"timings: index part \d+/\d+: sgsim [\d.]+ s wall, ([\d.]+) s CPU", d_err)
        rows["index CPU"].append(sum(float(p) for p in parts) if parts else float("nan"))
        print(f"round {r}: single {s_wall:.2f} s wall {s_cpu:.2f} s CPU; dask {d_wall:.2f} s wall "
              f"(x{d_wall / s_wall:.2f}), shards' CPU {rows['shards CPU'][-1]:.2f} s "
              f"(x{rows['shards CPU'][-1] / s_cpu:.2f})", flush=True)
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    for name, values in rows.items():
        print(f"{name:16} median {statistics.median(values):6.2f} s  (min {min(values):.2f}, max {max(values):.2f})")
    wall = [d / s for d, s in zip(rows["dask wall"], rows["single wall"])]
    cpu = [d / s for d, s in zip(rows["shards CPU"], rows["single CPU"])]
    print(f"dask wall / single wall: median x{statistics.median(wall):.2f} (per round {min(wall):.2f}-{max(wall):.2f})")
    print(f"shards' CPU / single CPU: median x{statistics.median(cpu):.2f} (per round {min(cpu):.2f}-{max(cpu):.2f})")
    # With the split or the index: its pass too (the CPU bound is on the shards; this is everything sgsim ran).
    extra = [(0 if math.isnan(sp) else sp) + (0 if math.isnan(ix) else ix)
             for sp, ix in zip(rows["split CPU"], rows["index CPU"])]
    total = [(d + e) / s for d, e, s in zip(rows["shards CPU"], extra, rows["single CPU"])]
    print(f"(shards + split/index) CPU / single CPU: median x{statistics.median(total):.2f} "
          f"(per round {min(total):.2f}-{max(total):.2f})")


if __name__ == "__main__":
    main()
