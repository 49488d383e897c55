#!/usr/bin/env python3
"""Runs every `$ command` example of README.md (or of another Markdown file: --file docs/TUTORIAL.md) with the
built sgsim and compares what a terminal would show (stdout and stderr together) with the lines the file prints
under it, so the documentation never drifts from the tool. usage: readme_examples.py SGSIM SOURCE_DIR
[--file PATH] [--update]; --update rewrites the file's example outputs with what sgsim prints now (review the
diff)."""
import difflib
import os
import subprocess
import sys

sgsim, src = os.path.abspath(sys.argv[1]), sys.argv[2]
rest = sys.argv[3:]
update = "--update" in rest
name = rest[rest.index("--file") + 1] if "--file" in rest else "README.md"
readme = os.path.join(src, name)
text = open(readme, encoding="utf-8").read().split("\n")
blocks, current = [], None  # each block: the index of its first line in `text`, and its lines
for n, line in enumerate(text):
    if line.startswith("```"):
        if current is None:
            current = (n + 1, [])
        else:
            blocks.append(current)
            current = None
    elif current is not None:
        current[1].append(line)
replacements = []  # (first line index, last line index + 1, new lines) in `text`

examples = failed = 0
for start, lines in blocks:
    i = 0
    while i < len(lines):
        # `$ echo $?` lines belong to the example before them.
        if not lines[i].startswith("$ ") or lines[i].startswith("$ echo $?"):
            i += 1
            continue
        command, expected = lines[i][2:], []
        i += 1
        first = i
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
        if got != expected and update:
            replacements.append((start + first, start + first + len(expected), got))
        elif got != expected:
            failed += 1
            print(f"FAIL {name} example:", command)
            for d in list(difflib.unified_diff(expected, got, name, "sgsim", lineterm=""))[:30]:
                print("   ", d)
for a, b, new in reversed(replacements):
    text[a:b] = new
if replacements:
    open(readme, "w", encoding="utf-8").write("\n".join(text))
    print(f"rewrote {len(replacements)} {name} example outputs")
print(f"{examples - failed} {name} examples agree, {failed} differ")
sys.exit(1 if failed or examples == 0 else 0)
