#!/usr/bin/env python3
"""Runs commands in turn, RUNS rounds (A B C, A B C, ...), after one warm-up round, and prints each command's
median, min and max wall time and its median's ratio to the first command's. Alternating single runs, rather
than all runs of one command then all of the next, spreads a shared machine's changing load over every command.

    bench/pipeline/alternate.py RUNS "COMMAND" "COMMAND"...

Commands are split on spaces (no shell); stdout is discarded; a failing command stops everything.
"""
import statistics
import subprocess
import sys
import time


def main():
    runs = int(sys.argv[1])
    commands = sys.argv[2:]
    times = [[] for _ in commands]
    for round_ in range(runs + 1):
        for i, c in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(c.split(), check=True, stdout=subprocess.DEVNULL)
            if round_ > 0:  # round 0 warms the page cache
                times[i].append(time.perf_counter() - start)
    base = statistics.median(times[0])
    for c, t in zip(commands, times):
        m = statistics.median(t)
        print(f"{m:7.3f} s  min {min(t):.3f}  max {max(t):.3f}  x{m / base:5.2f}  {c}")


if __name__ == "__main__":
    main()
