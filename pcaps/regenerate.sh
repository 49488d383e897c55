#!/bin/sh
# Regenerate every generated capture in pcaps/ (the recorded loopback_* files are not regenerated:
# see README.md for how they were recorded); pcapgen --all also writes the multi-interface
# interfaces_multi.pcapng. Usage: pcaps/regenerate.sh [build-dir]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
ninja -C "$build" tools/pcapgen
"$build/tools/pcapgen" --all "$here"
# The pcapng sample is the Ethernet one converted by Wireshark's editcap (package wireshark-common).
editcap -F pcapng "$here/linktypes_ethernet.pcap" "$here/linktypes_ethernet.pcapng"
