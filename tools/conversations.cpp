#include "conversations.h"

namespace sgsim {

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::int64_t Rng::range(std::int64_t lo, std::int64_t hi) {
  return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
}

Bytes Rng::bytes(std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(next() >> 24);
  return b;
}

void sendIp(Capture& cap, std::int64_t tsNs, const IpAddr& src, const IpAddr& dst, std::uint8_t proto, const Bytes& l4,
            std::uint8_t ttl, const std::vector<Ipv6Ext>& v6Ext) {
  IpOptions opt;
  opt.ttl = ttl;
  if (!src.isV4()) opt.v6Ext = v6Ext;
  if (src.isV4()) opt.id = cap.nextIpId(src);
  cap.addIp(tsNs, ipPacket(src, dst, proto, l4, opt));
}

TcpConn::TcpConn(Capture& cap, Rng& rng, IpAddr client, std::uint16_t clientPort, IpAddr server,
                 std::uint16_t serverPort, std::int64_t startNs, std::int64_t rttNs)
    : cap_(cap),
      rng_(rng),
      client_(client),
      server_(server),
      clientPort_(clientPort),
      serverPort_(serverPort),
      clientSeq_(static_cast<std::uint32_t>(rng.next())),
      serverSeq_(static_cast<std::uint32_t>(rng.next())),
      t_(startNs),
      rtt_(rttNs),
      clientTtl_(static_cast<std::uint8_t>(rng.range(46, 60))) {}

void TcpConn::emit(bool fromClient, std::uint8_t flags, const Bytes& payload) {
  TcpSpec s;
  s.flags = flags;
  if (fromClient) {
    s.sport = clientPort_;
    s.dport = serverPort_;
    s.seq = clientSeq_;
    s.ack = (flags & kAck) ? serverSeq_ : 0;
  } else {
    s.sport = serverPort_;
    s.dport = clientPort_;
    s.seq = serverSeq_;
    s.ack = (flags & kAck) ? clientSeq_ : 0;
    s.window = 65160;
  }
  const IpAddr& src = fromClient ? client_ : server_;
  const IpAddr& dst = fromClient ? server_ : client_;
  sendIp(cap_, t_, src, dst, kProtoTcp, tcpSegment(src, dst, s, payload), fromClient ? clientTtl_ : 64,
         fromClient ? clientExt_ : std::vector<Ipv6Ext>{});
  const auto advance = static_cast<std::uint32_t>(payload.size() + ((flags & (kSyn | kFin)) ? 1 : 0));
  (fromClient ? clientSeq_ : serverSeq_) += advance;
  lastFromClient_ = fromClient;
}

void TcpConn::opening(std::uint8_t thirdFlags) {
  emit(true, kSyn);
  t_ += rtt_ / 2;
  emit(false, kSyn | kAck);
  t_ += rtt_ / 2;
  emit(true, thirdFlags);
}

void TcpConn::handshake() { opening(kAck); }

void TcpConn::synUnanswered(int tries) {
  std::int64_t backoff = kSec;
  for (int i = 0; i < tries; ++i) {
    if (i > 0) {
      --clientSeq_;  // a retransmission repeats the same initial sequence number
      t_ += backoff;
      backoff *= 2;
    }
    emit(true, kSyn);
  }
}

void TcpConn::halfOpenScan() { opening(kRst); }

void TcpConn::transfer(bool fromClient, const Bytes& payload) {
  constexpr std::size_t kMss = 1448;
  // A response follows its request after the other side's think time; a second burst from the same side
  // follows closely.
  t_ += (fromClient != lastFromClient_) ? rtt_ / 2 + rng_.range(100, 2000) * 1000 : rng_.range(50, 400) * 1000;
  for (std::size_t off = 0; off < payload.size(); off += kMss) {
    const std::size_t len = std::min(kMss, payload.size() - off);
    const bool last = off + len == payload.size();
    if (off > 0) t_ += rng_.range(10, 80) * 1000;
    emit(fromClient, kAck | (last ? kPsh : 0),
         Bytes(payload.begin() + static_cast<std::ptrdiff_t>(off),
               payload.begin() + static_cast<std::ptrdiff_t>(off + len)));
  }
  t_ += rtt_ / 2;
  emit(!fromClient, kAck);
}

void TcpConn::closeFin(bool clientFirst) {
  t_ += rng_.range(1, 50) * kMs;
  emit(clientFirst, kFin | kAck);
  t_ += rtt_ / 2;
  emit(!clientFirst, kFin | kAck);
  t_ += rtt_ / 2;
  emit(clientFirst, kAck);
}

void TcpConn::halfClose(bool fromClient) {
  t_ += rng_.range(1, 50) * kMs;
  emit(fromClient, kFin | kAck);
  t_ += rtt_ / 2;
  emit(!fromClient, kAck);
}

void TcpConn::reset(bool fromClient) {
  t_ += rng_.range(1, 50) * kMs;
  emit(fromClient, kRst | kAck);
}

void udpExchange(Capture& cap, std::int64_t tsNs, const IpAddr& a, std::uint16_t aPort, const IpAddr& b,
                 std::uint16_t bPort, const Bytes& request, const Bytes& response, std::int64_t rttNs) {
  sendIp(cap, tsNs, a, b, kProtoUdp, udpDatagram(a, b, aPort, bPort, request));
  if (!response.empty()) sendIp(cap, tsNs + rttNs, b, a, kProtoUdp, udpDatagram(b, a, bPort, aPort, response));
}

Bytes pingPayload(std::int64_t tsNs, std::size_t size) {
  // iputils ping: a struct timeval (two little-endian 64-bit words), then the bytes 0x10, 0x11, …
  Bytes b;
  const std::uint64_t sec = static_cast<std::uint64_t>(tsNs / kSec);
  const std::uint64_t usec = static_cast<std::uint64_t>(tsNs % kSec / 1000);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(sec >> (8 * i)));
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(usec >> (8 * i)));
  for (std::size_t i = 16; i < size; ++i) b.push_back(static_cast<std::uint8_t>(i));
  b.resize(size);
  return b;
}

void ping(Capture& cap, std::int64_t tsNs, const IpAddr& from, const IpAddr& to, std::uint16_t id, int count,
          std::int64_t intervalNs, std::int64_t rttNs, bool answered, std::uint16_t firstSeq, std::size_t payloadSize) {
  for (int i = 0; i < count; ++i) {
    const std::int64_t t = tsNs + i * intervalNs;
    const auto seq = static_cast<std::uint16_t>(firstSeq + i);
    const Bytes data = pingPayload(t, payloadSize);
    if (from.isV4()) {
      sendIp(cap, t, from, to, kProtoIcmp, icmpEcho(true, id, seq, data));
      if (answered) sendIp(cap, t + rttNs, to, from, kProtoIcmp, icmpEcho(false, id, seq, data));
    } else {
      sendIp(cap, t, from, to, kProtoIcmpv6, icmpv6Echo(from, to, true, id, seq, data));
      if (answered) sendIp(cap, t + rttNs, to, from, kProtoIcmpv6, icmpv6Echo(to, from, false, id, seq, data));
    }
  }
}

Bytes httpRequest(std::string_view method, std::string_view host, std::string_view path, std::string_view agent) {
  Bytes b;
  putText(b, std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(host) +
                 "\r\nUser-Agent: " + std::string(agent) + "\r\nAccept: */*\r\n\r\n");
  return b;
}

Bytes httpResponse(Rng& rng, int status, std::size_t bodyLen) {
  std::string body = "<html><body>";
  static constexpr std::string_view kWords[] = {"security ", "group ", "rule ", "packet ", "flow ", "port "};
  while (body.size() + 14 < bodyLen) body += kWords[rng.next() % 6];
  body.resize(bodyLen > 14 ? bodyLen - 14 : 0, ' ');
  body += "</body></html>";
  body.resize(bodyLen);
  const std::string reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Found";
  Bytes b;
  putText(b, "HTTP/1.1 " + std::to_string(status) + " " + reason +
                 "\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: " + std::to_string(body.size()) +
                 "\r\n\r\n" + body);
  return b;
}

Bytes tlsRecords(Rng& rng, std::size_t totalLen) {
  Bytes b;
  while (b.size() + 5 < totalLen) {
    const std::size_t len = std::min<std::size_t>(16384, totalLen - b.size() - 5);
    put8(b, 23);
    put16(b, 0x0303);
    put16(b, static_cast<std::uint16_t>(len));
    putBytes(b, rng.bytes(len));
  }
  return b;
}

Bytes sshBanner(std::string_view software) {
  Bytes b;
  putText(b, "SSH-2.0-" + std::string(software) + "\r\n");
  return b;
}

Bytes sshEncrypted(Rng& rng, std::size_t blocks) { return rng.bytes(4 + 16 * blocks + 16); }

namespace {

void putDnsName(Bytes& b, std::string_view name) {
  while (!name.empty()) {
    const std::size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    put8(b, static_cast<std::uint8_t>(label.size()));
    putText(b, label);
    name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  }
  put8(b, 0);
}

Bytes dnsHeader(std::uint16_t id, std::uint16_t flags, std::uint16_t answers, std::string_view name,
                std::uint16_t qtype) {
  Bytes b;
  put16(b, id);
  put16(b, flags);
  put16(b, 1);
  put16(b, answers);
  put16(b, 0);
  put16(b, 0);
  putDnsName(b, name);
  put16(b, qtype);
  put16(b, 1);  // IN
  return b;
}

void putLe(Bytes& b, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// MySQL packets: a 3-byte little-endian length and a sequence id before the payload.
Bytes mysqlPacket(std::uint8_t seq, const Bytes& payload) {
  Bytes b;
  putLe(b, payload.size(), 3);
  put8(b, seq);
  putBytes(b, payload);
  return b;
}

Bytes printable(Rng& rng, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(0x21 + rng.next() % 0x5e);
  return b;
}

constexpr std::uint32_t kMysqlCaps = 0x00000001 | 0x00000004 | 0x00000008 | 0x00000200 | 0x00002000 | 0x00008000 |
                                     0x00010000 | 0x00020000 | 0x00080000 | 0x00200000;

}  // namespace

Bytes dnsQuery(std::uint16_t id, std::string_view name, std::uint16_t qtype) {
  return dnsHeader(id, 0x0100, 0, name, qtype);
}

Bytes dnsResponse(std::uint16_t id, std::string_view name, std::uint16_t qtype, const Bytes& address) {
  Bytes b = dnsHeader(id, address.empty() ? 0x8183 : 0x8180, address.empty() ? 0 : 1, name, qtype);
  if (address.empty()) return b;
  put16(b, 0xc00c);  // pointer to the question's name
  put16(b, qtype);
  put16(b, 1);
  put32(b, 60);
  put16(b, static_cast<std::uint16_t>(address.size()));
  putBytes(b, address);
  return b;
}

Bytes mysqlGreeting(Rng& rng, std::uint32_t threadId) {
  Bytes p;
  put8(p, 10);
  putText(p, "8.0.36");
  put8(p, 0);
  putLe(p, threadId, 4);
  putBytes(p, printable(rng, 8));
  put8(p, 0);
  putLe(p, kMysqlCaps & 0xffff, 2);
  put8(p, 255);  // utf8mb4_0900_ai_ci
  putLe(p, 0x0002, 2);
  putLe(p, kMysqlCaps >> 16, 2);
  put8(p, 21);
  p.resize(p.size() + 10, 0);
  putBytes(p, printable(rng, 12));
  put8(p, 0);
  putText(p, "caching_sha2_password");
  put8(p, 0);
  return mysqlPacket(0, p);
}

Bytes mysqlLogin(Rng& rng, std::string_view user, std::string_view db) {
  Bytes p;
  putLe(p, kMysqlCaps, 4);
  putLe(p, 16777216, 4);
  put8(p, 255);
  p.resize(p.size() + 23, 0);
  putText(p, user);
  put8(p, 0);
  put8(p, 32);
  putBytes(p, rng.bytes(32));
  putText(p, db);
  put8(p, 0);
  putText(p, "caching_sha2_password");
  put8(p, 0);
  return mysqlPacket(1, p);
}

Bytes mysqlOk(std::uint8_t seq, std::uint64_t affected) {
  Bytes p;
  put8(p, 0);
  put8(p, static_cast<std::uint8_t>(affected % 251));
  put8(p, 0);
  putLe(p, 0x0002, 2);
  putLe(p, 0, 2);
  return mysqlPacket(seq, p);
}

Bytes mysqlQuery(std::string_view sql) {
  Bytes p;
  put8(p, 3);  // COM_QUERY
  putText(p, sql);
  return mysqlPacket(0, p);
}

}  // namespace sgsim
