#!/usr/bin/env python3
"""Makes Alibaba VPC flow-log samples (issue 10), deterministically.

  from-pcap MODEL PCAP [--actions REPLAY.jsonl] [--window S] [--format csv|jsonl]
      The records a flow log at the model's ENIs would hold for a capture: its packets grouped per ENI, direction,
      5-tuple, action and aggregation window (start = the first packet's second, end = the last packet's, rounded
      up; tcp-flags = the OR of the packets' flags). The action of each packet comes from
      `sgsim replay --format jsonl` output of the same capture (--actions; ACCEPT when a packet's verdict is accept
      or it was not decided, REJECT when dropped), so the log agrees with the model it was made from; without it
      every record says ACCEPT. ICMP records have ports 0, as flow logs give none.
  synth --records N [--conversations C] [--seed S] [--host IP] [--format csv|jsonl]
      N records of C live TCP/UDP conversations at one ENI (eni-bench, HOST), both directions, in start order, for
      the benchmark (bench/flowlog). Same arguments, same bytes.

Columns in the documented order (version, vswitch-id, vm-id, vpc-id, account-id, eni-id, srcaddr, srcport, dstaddr,
dstport, protocol, direction, packets, bytes, start, end, log-status, action, tcp-flags): `$14` is bytes.
"""
import argparse
import ipaddress
import json
import random
import struct
import sys

COLUMNS = ["version", "vswitch-id", "vm-id", "vpc-id", "account-id", "eni-id", "srcaddr", "srcport", "dstaddr",
           "dstport", "protocol", "direction", "packets", "bytes", "start", "end", "log-status", "action", "tcp-flags"]


def emit(rows, fmt, out):
    if fmt == "csv":
        out.write(",".join(COLUMNS) + "\n")
        for r in rows:
            out.write(",".join(str(r[c]) for c in COLUMNS) + "\n")
    else:
        for r in rows:
            out.write(json.dumps({c: r[c] for c in COLUMNS}, separators=(",", ":")) + "\n")


def model_enis(path):
    m = json.load(open(path))
    enis = {}
    for n in m.get("NetworkInterfaces", []):
        addrs = [n.get("PrivateIpAddress", "")]
        for p in n.get("PrivateIpSets", {}).get("PrivateIpSet", []):
            addrs.append(p.get("PrivateIpAddress", ""))
        for p in n.get("Ipv6Sets", {}).get("Ipv6Set", []):
            addrs.append(p.get("Ipv6Address", ""))
        for a in addrs:
            if a:
                enis[ipaddress.ip_address(a)] = n["NetworkInterfaceId"]
    return enis


def packets(path):
    """(ts_seconds float, wire_len, proto, src, sport, dst, dport, tcp_flags) of each IP packet (Ethernet captures)."""
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        sys.exit("flowlog_gen: only Ethernet captures (link type 1), not %d" % linktype)
    at = 24
    while at + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack(endian + "IIII", data[at:at + 16])
        frame = data[at + 16:at + 16 + caplen]
        at += 16 + caplen
        ts = sec + frac / (1e9 if nano else 1e6)
        off = 12
        etype = struct.unpack(">H", frame[off:off + 2])[0]
        while etype in (0x8100, 0x88a8):
            off += 4
            etype = struct.unpack(">H", frame[off:off + 2])[0]
        ip = frame[off + 2:]
        if etype == 0x0800 and len(ip) >= 20:
            ihl = (ip[0] & 15) * 4
            proto = ip[9]
            src, dst = ipaddress.ip_address(ip[12:16]), ipaddress.ip_address(ip[16:20])
            frag = struct.unpack(">H", ip[6:8])[0] & 0x1fff
            l4 = ip[ihl:] if frag == 0 else b""
        elif etype == 0x86dd and len(ip) >= 40:
            proto = ip[6]
            src, dst = ipaddress.ip_address(ip[8:24]), ipaddress.ip_address(ip[24:40])
            l4 = ip[40:]
        else:
            continue
        sport = dport = flags = 0
        if proto in (6, 17) and len(l4) >= 4:
            sport, dport = struct.unpack(">HH", l4[:4])
            if proto == 6 and len(l4) >= 14:
                flags = l4[13] & 0x3f
        yield ts, wirelen, proto, src, sport, dst, dport, flags


def from_pcap(args):
    enis = model_enis(args.model)
    actions = None
    if args.actions:
        actions = {}
        for line in open(args.actions):
            o = json.loads(line)
            if "frame" in o:
                actions[o["frame"]] = "REJECT" if o["verdict"] == "drop" else "ACCEPT"
    groups = {}
    order = []
    for number, (ts, wirelen, proto, src, sport, dst, dport, flags) in enumerate(packets(args.pcap), start=1):
        if proto not in (6, 17):
            sport = dport = 0
        action = actions.get(number, "ACCEPT") if actions is not None else "ACCEPT"
        for addr, direction in ((src, "out"), (dst, "in")):
            eni = enis.get(addr)
            if eni is None:
                continue
            window = int(ts // args.window)
            key = (eni, direction, proto, src, sport, dst, dport, window, action)
            g = groups.get(key)
            if g is None:
                g = groups[key] = {"packets": 0, "bytes": 0, "first": ts, "last": ts, "flags": 0, "seq": len(order)}
                order.append(key)
            g["packets"] += 1
            g["bytes"] += wirelen
            g["last"] = ts
            g["flags"] |= flags
    rows = []
    for key in order:
        eni, direction, proto, src, sport, dst, dport, window, action = key
        g = groups[key]
        rows.append({"version": 1, "vswitch-id": "vsw-sample", "vm-id": "i-sample", "vpc-id": "vpc-sample",
                     "account-id": "1234567890123456", "eni-id": eni, "srcaddr": str(src), "srcport": sport,
                     "dstaddr": str(dst), "dstport": dport, "protocol": proto, "direction": direction,
                     "packets": g["packets"], "bytes": g["bytes"], "start": int(g["first"]),
                     "end": int(-(-g["last"] // 1)), "log-status": "OK", "action": action,
                     "tcp-flags": g["flags"] if proto == 6 else 0, "_seq": g["seq"]})
    rows.sort(key=lambda r: (r["start"], r["_seq"]))
    emit(rows, args.format, sys.stdout)


def synth(args):
    rng = random.Random(args.seed)
    host = ipaddress.ip_address(args.host)
    convs = []
    for i in range(args.conversations):
        peer = ipaddress.ip_address(int(ipaddress.ip_address("100.64.0.0")) + rng.randrange(1 << 20))
        proto = 6 if rng.random() < 0.8 else 17
        port = rng.choice([22, 80, 443, 3306, 8080, 53, 123, 6379]) if rng.random() < 0.7 else rng.randrange(1, 65536)
        inbound = rng.random() < 0.6
        convs.append((peer, rng.randrange(32768, 61000), proto, port, inbound))
    out = sys.stdout
    if args.format == "csv":
        out.write(",".join(COLUMNS) + "\n")
    t0 = 1767225600  # 2026-01-01T00:00:00Z
    n = 0
    window = 0
    while n < args.records:
        start = t0 + window * 60
        for c in range(len(convs)):
            if n >= args.records:
                break
            peer, eph, proto, port, inbound = convs[c]
            client, server = (peer, host) if inbound else (host, peer)
            for side in (0, 1):
                if n >= args.records:
                    break
                src, sport, dst, dport = (client, eph, server, port) if side == 0 else (server, port, client, eph)
                direction = ("in" if inbound else "out") if side == 0 else ("out" if inbound else "in")
                pk = 1 + (n * 7919) % 50
                flags = (0x02 | 0x10 if window == 0 else 0x10) | (0x08 if pk > 3 else 0) if proto == 6 else 0
                row = ["1", "vsw-bench", "i-bench", "vpc-bench", "1234567890123456", "eni-bench", str(src), str(sport),
                       str(dst), str(dport), str(proto), direction, str(pk), str(pk * 700), str(start),
                       str(start + 59), "OK", "ACCEPT", str(flags)]
                if args.format == "csv":
                    out.write(",".join(row) + "\n")
                else:
                    out.write(json.dumps(dict(zip(COLUMNS, row)), separators=(",", ":")) + "\n")
                n += 1
        window += 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("from-pcap")
    a.add_argument("model")
    a.add_argument("pcap")
    a.add_argument("--actions")
    a.add_argument("--window", type=int, default=60)
    a.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    b = sub.add_parser("synth")
    b.add_argument("--records", type=int, required=True)
    b.add_argument("--conversations", type=int, default=100000)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--host", default="10.0.0.1")
    b.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    args = p.parse_args()
    (from_pcap if args.cmd == "from-pcap" else synth)(args)


if __name__ == "__main__":
    main()
