#!/bin/bash
# Records the real loopback captures described in README.md (loopback_curl_ping.pcap with tcpdump,
# loopback_http_tshark.pcapng with tshark). Traffic stays on 127.0.0.1 / ::1; every server this script
# starts is stopped by its own PID. Needs: tcpdump, tshark, python3, curl, ping (iputils-ping) and, for the
# SSH session, openssh-server. Run as root from the repository root: pcaps/record_loopback.sh
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/sgsim_rec.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Only the recorded services: other processes on this machine may use loopback too.
filter='(host 127.0.0.1 and (tcp port 8080 or tcp port 8081 or tcp port 2222 or udp port 5300 or icmp)) or (host ::1 and icmp6)'

# HTTP server with a few files of different sizes.
mkdir -p "$work/www"
echo '<html><body>sgsim loopback sample</body></html>' > "$work/www/index.html"
head -c 3000 /dev/zero | tr '\0' 'a' > "$work/www/small.txt"
head -c 20000 /dev/zero | tr '\0' 'b' > "$work/www/medium.txt"
(cd "$work/www" && exec python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)

# A UDP responder answering "pong <request>".
python3 - <<'EOF' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5300))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"pong " + data, peer)
EOF
pids+=($!)

# sshd on 127.0.0.1:2222 only, with its own host key and a throwaway client key.
have_sshd=0
if [ -x /usr/sbin/sshd ]; then
  have_sshd=1
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
  cp "$work/client_key.pub" "$work/authorized_keys"
  cat > "$work/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port 2222
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
PidFile $work/sshd.pid
EOF
  /usr/sbin/sshd -D -f "$work/sshd_config" &
  pids+=($!)
fi
sleep 1

udp_client() {
  python3 - <<'EOF'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(3):
    s.sendto(b"ping %d" % i, ("127.0.0.1", 5300))
    s.recvfrom(2048)
    time.sleep(0.5)
EOF
}

# 1. tcpdump, pcap, bounded by a packet count.
tcpdump -i lo -s 0 -c 600 -U -w "$out/loopback_curl_ping.pcap" "$filter" 2>/dev/null &
dump=$!
pids+=($dump)
sleep 1
for f in index.html small.txt medium.txt; do curl -s -o /dev/null "http://127.0.0.1:8080/$f"; done
curl -s -o /dev/null "http://127.0.0.1:8081/" || true  # nothing listens: a RST
ping -c 3 -i 0.5 127.0.0.1 >/dev/null
ping -6 -c 2 -i 0.5 ::1 >/dev/null
udp_client
if [ "$have_sshd" = 1 ]; then
  ssh -p 2222 -i "$work/client_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes 127.0.0.1 true
fi
sleep 1
kill -INT "$dump"
wait "$dump" || true

# 2. tshark (dumpcap), pcapng, bounded by duration.
tshark -i lo -F pcapng -w "$out/loopback_http_tshark.pcapng" -a duration:6 -f "$filter" 2>/dev/null &
shark=$!
pids+=($shark)
sleep 2
curl -s -o /dev/null "http://127.0.0.1:8080/index.html"
curl -s -o /dev/null "http://127.0.0.1:8080/small.txt"
ping -c 2 -i 0.5 127.0.0.1 >/dev/null
udp_client
wait "$shark" || true
# tcpdump drops privileges and tshark writes 0600: make them ordinary repository files.
chown "$(id -u):$(id -g)" "$out"/loopback_*
chmod 644 "$out"/loopback_*
ls -l "$out"/loopback_*
