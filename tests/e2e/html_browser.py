#!/usr/bin/env python3
"""The HTML reports in a real browser (issue 12): headless Chromium renders a sample of each report kind.
`--dump-dom` gives the document as Chromium built it, which must hold the tables, the timeline and the data block
intact (a stray quote or tag in the markup would show up here); `--screenshot` gives a PNG that must not be blank
(read with the small PNG decoder below, compared pixel for pixel with Chromium's render of an empty page).
usage: html_browser.py SGSIM SOURCE_DIR [SCREENSHOT_DIR]: with SCREENSHOT_DIR the screenshots are kept there
(docs/html_*.png are made so). Without Chromium: under CI=true the test fails, elsewhere it is skipped (exit 77)
saying so. SGSIM_CHROMIUM names the browser binary (default: chromium)."""
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sgsim, src = os.path.abspath(sys.argv[1]), sys.argv[2]
keep = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else None

# SGSIM_CHROMIUM names another browser binary (or a missing one, to see what happens without it).
names = [os.environ["SGSIM_CHROMIUM"]] if os.environ.get("SGSIM_CHROMIUM") else ["chromium", "chromium-browser"]
chromium = next((shutil.which(n) for n in names if shutil.which(n)), None)
if chromium is None:
    msg = "Chromium is missing: install the Debian package chromium (scripts/deps.sh does) to render the HTML reports"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):  # as scripts/test.sh reads it
        sys.exit("FAIL: " + msg)
    print("SKIP: " + msg)
    sys.exit(77)

REPORTS = {
    "whatif": ["whatif", "--model", "examples/web.json", "--revoke", "examples/requests/revoke_ssh.json", "--at",
               "+100", "pcaps/web_basic.pcap"],
    "audit": ["audit", "--model", "examples/web_audit.json", "pcaps/web_basic.pcap"],
    "show": ["show", "--model", "examples/two_tier.json"],
    "replay": ["replay", "--model", "examples/web.json", "pcaps/web_basic.pcap"],
}
# What the rendered document must contain, beyond what every page has.
EXPECT = {"whatif": ["<svg", "Timeline of the changed flows", "id=\"at-mark\"", "data-change=\"removed\"", "sgr-ssh"],
          "audit": ["<svg", "Verdicts", "When each rule decided traffic", "data-verdict=\"in-use\"", "sgr-redis"],
          "show": ["eni-app", "eni-db", "data-kind=\"intra-group\""],
          "replay": ["<svg", "Verdicts over time", "data-decisions="]}


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG, non-interlaced (what Chromium writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, f"PNG kind {depth} {color} {interlace}"
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def ink(path):
    """Pixels that are not white, and distinct colours among them (coarsely), of a screenshot."""
    w, h, bpp, rows = png_pixels(path)
    dark, colours = 0, set()
    for row in rows:
        for x in range(0, w * bpp, bpp):
            r, g, b = row[x], row[x + 1], row[x + 2]
            if r < 240 or g < 240 or b < 240:
                dark += 1
                colours.add((r >> 5, g >> 5, b >> 5))
    return dark, len(colours), w * h


class Dom(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.tags, self.data, self._in = [], "", False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in = tag == "script" and ("id", "sgsim-report") in attrs

    def handle_endtag(self, tag):
        self._in = False

    def handle_data(self, d):
        if self._in:
            self.data += d


def chrome(tmp, *args):
    profile = tempfile.mkdtemp(dir=tmp)
    r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + profile] + list(args),
                       capture_output=True, text=True, timeout=120)
    return r


failures = []
with tempfile.TemporaryDirectory() as tmp:
    blank = os.path.join(tmp, "blank.html")
    open(blank, "w").write("<!DOCTYPE html><html><body></body></html>")
    blank_png = os.path.join(tmp, "blank.png")
    chrome(tmp, "--screenshot=" + blank_png, "--window-size=1280,2400", "file://" + blank)
    blank_ink = ink(blank_png)[0] if os.path.exists(blank_png) else 0
    for name, args in REPORTS.items():
        page = os.path.join(tmp, name + ".html")
        r = subprocess.run([sgsim] + args + ["--format", "html", "-o", page], cwd=src, capture_output=True, text=True)
        if r.returncode not in (0, 3):
            failures.append(f"{name}: sgsim exit {r.returncode}: {r.stderr}")
            continue
        want = json.loads(Dom(open(page).read()).data)  # html_reports.py checks it against the JSON report
        r = chrome(tmp, "--dump-dom", "file://" + page)
        dom = r.stdout
        if not dom.strip():
            failures.append(f"{name}: --dump-dom gave nothing (exit {r.returncode}): {r.stderr[-500:]}")
            continue
        d = Dom(dom)
        for needle in ["class=\"rules\"", "sgsim-report"] + EXPECT[name]:
            if needle not in dom:
                failures.append(f"{name}: the rendered document lacks {needle}")
        try:
            if json.loads(d.data) != want:
                failures.append(f"{name}: the data block as Chromium parsed it differs from the JSON report")
        except ValueError as e:
            failures.append(f"{name}: the data block as Chromium parsed it is not JSON: {e}")
        if d.tags.count("script") != 1:
            failures.append(f"{name}: {dom.count('<script')} script elements")
        png = os.path.join(tmp, name + ".png")
        r = chrome(tmp, "--screenshot=" + png, "--window-size=1280,2400", "file://" + page)
        if not os.path.exists(png):
            failures.append(f"{name}: no screenshot (exit {r.returncode}): {r.stderr[-500:]}")
            continue
        dark, colours, total = ink(png)
        print(f"{name}: {len(dom)} bytes of DOM, screenshot {dark} of {total} pixels not white, {colours} colours "
              f"(blank page: {blank_ink})")
        if dark < total // 50 or dark <= blank_ink or colours < 4:
            failures.append(f"{name}: the screenshot looks blank ({dark} pixels not white, {colours} colours)")
        if keep:
            os.makedirs(keep, exist_ok=True)
            shutil.copy(png, os.path.join(keep, f"html_{name}.png"))
for f in failures:
    print("FAIL", f)
print(f"{len(REPORTS)} reports rendered, {len(failures)} failures")
sys.exit(1 if failures else 0)
