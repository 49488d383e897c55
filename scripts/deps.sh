#!/usr/bin/env bash
# Installs what sgsim needs to build and test on Debian 12 (as root, or with sudo). Idempotent: does
# nothing when every package is already there. tcpdump and tshark (with Wireshark's editcap) read sgsim's own
# output files in the tests, as users' tools would; headless Chromium renders the HTML reports in the browser suite.
# python3-distributed (Dask) runs contrib/dask's runner and its tests, with the system's /usr/bin/python3.
# zlib reads gzip-compressed VPC flow logs (--flow-log): a well-kept inflate beats a hand-written one.
set -euo pipefail
pkgs=(meson ninja-build g++ pkg-config libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
      libpcap-dev zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev tcpdump tshark chromium
      python3-distributed)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
