#!/usr/bin/env python3
"""Runs every `$ command` example of README.md with the built sgsim and compares what a terminal would show
(stdout and stderr together) with the lines the README prints under it, so the README never drifts from the
tool. usage: readme_examples.py SGSIM SOURCE_DIR"""
import difflib
import os
import subprocess
import sys

sgsim, src = os.path.abspath(sys.argv[1]), sys.argv[2]
blocks, current = [], None
for line in open(os.path.join(src, "README.md"), encoding="utf-8").read().split("\n"):
    if line.startswith("```"):
        if current is None:
            current = []
        else:
            blocks.append(current)
            current = None
    elif current is not None:
        current.append(line)

examples = failed = 0
for lines in blocks:
    i = 0
    while i < len(lines):
        # `$ echo $?` lines belong to the example before them.
        if not lines[i].startswith("$ ") or lines[i].startswith("$ echo $?"):
            i += 1
            continue
        command, expected = lines[i][2:], []
        i += 1
        while i < len(lines) and (not lines[i].startswith("$ ") or lines[i].startswith("$ echo $?")):
            expected.append(lines[i])
            i += 1
        while expected and expected[-1] == "":
            expected.pop()
        examples += 1
        script = 'sgsim() { "' + sgsim + '" "$@"; }; { ' + command + "; } 2>&1"
        if "$ echo $?" in expected:  # the example shows the exit status as a shell session would
            script += "; s=$?; echo '$ echo $?'; echo $s"
        run = subprocess.run(["bash", "-c", script], cwd=src, capture_output=True, text=True)
        got = run.stdout.rstrip("\n").split("\n") if run.stdout else []
        if got != expected:
            failed += 1
            print("FAIL README example:", command)
            for d in list(difflib.unified_diff(expected, got, "README", "sgsim", lineterm=""))[:30]:
                print("   ", d)
print(f"{examples - failed} README examples agree, {failed} differ")
sys.exit(1 if failed or examples == 0 else 0)
