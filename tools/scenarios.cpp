#include "scenarios.h"

#include <algorithm>
#include <array>

#include "conversations.h"
#include "pcapng_build.h"

namespace sgsim {

namespace {

// 2024-05-01T09:00:00Z: every scenario's clock starts here, so timestamps never depend on today.
constexpr std::int64_t kT0 = 1714554000LL * kSec;

IpAddr ip(const char* text) { return *IpAddr::parse(text); }

const IpAddr kWeb = ip("10.0.0.5");
const IpAddr kWeb6 = ip("2001:db8:10::5");
const IpAddr kApp = ip("10.0.0.6");
const IpAddr kDb = ip("10.0.1.7");
const IpAddr kResolver = ip("100.100.2.136");
const IpAddr kUpstream = ip("47.88.1.1");
const IpAddr kMonitor = ip("192.0.2.10");
const IpAddr kClient = ip("192.0.2.100");
const IpAddr kOffice1 = ip("203.0.113.10");
const IpAddr kOffice2 = ip("203.0.113.25");
const IpAddr kClient6 = ip("2001:db8:aaaa::10");

constexpr const char* kAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";

std::uint16_t ephemeralPort(Rng& rng) { return static_cast<std::uint16_t>(rng.range(32768, 60999)); }

// One HTTP or HTTPS visit: handshake, one or two request/response pairs, then a close.
void webVisit(Capture& cap, Rng& rng, const IpAddr& client, const IpAddr& server, std::uint16_t port,
              std::int64_t start) {
  TcpConn c(cap, rng, client, ephemeralPort(rng), server, port, start, rng.range(8, 180) * kMs);
  c.handshake();
  const int requests = static_cast<int>(rng.range(1, 2));
  for (int i = 0; i < requests; ++i) {
    if (port == 80) {
      c.clientSends(httpRequest("GET", "www.example.com", i == 0 ? "/" : "/static/app.css", kAgent));
      c.serverSends(httpResponse(rng, 200, static_cast<std::size_t>(rng.range(300, 6000))));
    } else {
      c.clientSends(tlsRecords(rng, static_cast<std::size_t>(rng.range(200, 600))));
      c.serverSends(tlsRecords(rng, static_cast<std::size_t>(rng.range(800, 7000))));
    }
    c.wait(rng.range(50, 900) * kMs);
  }
  if (rng.range(0, 9) == 0) {
    c.reset(true);  // browsers sometimes abort
  } else {
    c.closeFin(rng.range(0, 1) == 0);
  }
}

// An interactive SSH session: banners, key exchange, then keystrokes echoed for `seconds`.
void sshSession(Capture& cap, Rng& rng, const IpAddr& client, const IpAddr& server, std::int64_t start, int seconds) {
  TcpConn c(cap, rng, client, ephemeralPort(rng), server, 22, start, rng.range(15, 40) * kMs);
  c.handshake();
  c.serverSends(sshBanner("OpenSSH_9.2p1 Debian-2+deb12u3"));
  c.clientSends(sshBanner("OpenSSH_9.6"));
  c.clientSends(sshEncrypted(rng, 90));
  c.serverSends(sshEncrypted(rng, 70));
  c.clientSends(sshEncrypted(rng, 4));
  c.serverSends(sshEncrypted(rng, 40));
  const std::int64_t end = start + seconds * kSec;
  while (c.now() < end - 5 * kSec) {
    c.wait(rng.range(300, 4000) * kMs);
    c.clientSends(sshEncrypted(rng, 1));
    c.serverSends(sshEncrypted(rng, static_cast<std::size_t>(rng.range(1, 30))));
  }
  c.clientSends(sshEncrypted(rng, 2));
  c.closeFin(false);
}

void dnsLookup(Capture& cap, Rng& rng, std::int64_t t, std::uint16_t sport, const char* name) {
  const auto id = static_cast<std::uint16_t>(rng.next());
  udpExchange(cap, t, kWeb, sport, kResolver, 53, dnsQuery(id, name, 1),
              dnsResponse(id, name, 1, Bytes{47, 88, static_cast<std::uint8_t>(rng.range(0, 255)), 1}),
              rng.range(1, 3) * kMs);
}

Capture webBasic() {
  Capture cap(Link::Ethernet, {kWeb, kWeb6});
  Rng rng(1);
  const std::array clients4 = {ip("198.18.5.20"), ip("198.19.77.3"), kClient,
                               ip("192.0.2.200"), kOffice1,          ip("198.18.200.9")};
  const std::array clients6 = {kClient6, ip("2001:db8:bbbb::20")};
  for (int i = 0; i < 36; ++i) {
    const IpAddr& c = clients4[static_cast<std::size_t>(rng.range(0, clients4.size() - 1))];
    webVisit(cap, rng, c, kWeb, rng.range(0, 2) == 0 ? 80 : 443, kT0 + rng.range(1000, 590000) * kMs);
  }
  for (int i = 0; i < 6; ++i) {
    const IpAddr& c = clients6[static_cast<std::size_t>(i % 2)];
    webVisit(cap, rng, c, kWeb6, i < 2 ? 80 : 443, kT0 + rng.range(1000, 590000) * kMs);
  }
  // The admins: what revoking sgr-ssh would cut.
  sshSession(cap, rng, kOffice1, kWeb, kT0 + 30 * kSec, 200);
  sshSession(cap, rng, kOffice2, kWeb, kT0 + 300 * kSec, 120);
  // A stranger trying SSH: unanswered, retransmitted.
  TcpConn(cap, rng, ip("198.51.100.77"), 51515, kWeb, 22, kT0 + 120 * kSec, 0).synUnanswered(3);
  // Monitoring pings every minute (a new identifier each run, like separate ping processes).
  for (int i = 0; i < 10; ++i) {
    ping(cap, kT0 + (5 + 60 * i) * kSec, kMonitor, kWeb, static_cast<std::uint16_t>(0x1f40 + i), 3, kSec, kMs);
  }
  // An IPv6 ping nobody allowed.
  ping(cap, kT0 + 333 * kSec, kClient6, kWeb6, 0x0777, 2, kSec, 0, false);
  // The server's own lookups; port 41234 goes idle for 40 s and resumes (a new flow after the 30 s timeout).
  for (int i = 0; i < 12; ++i) {
    dnsLookup(cap, rng, kT0 + rng.range(2, 590) * kSec, ephemeralPort(rng), "mirrors.example.com");
  }
  dnsLookup(cap, rng, kT0 + 200 * kSec, 41234, "api.example.net");
  dnsLookup(cap, rng, kT0 + 240 * kSec, 41234, "api.example.net");
  dnsLookup(cap, rng, kT0 + 245 * kSec, 41234, "cdn.example.net");
  // HTTPS to an upstream API.
  for (const std::int64_t s : {60, 400}) {
    TcpConn c(cap, rng, kWeb, ephemeralPort(rng), kUpstream, 443, kT0 + s * kSec, 24 * kMs);
    c.handshake();
    c.clientSends(tlsRecords(rng, 517));
    c.serverSends(tlsRecords(rng, 4200));
    c.clientSends(tlsRecords(rng, 300));
    c.serverSends(tlsRecords(rng, 1200));
    c.closeFin(true);
  }
  // Outbound mail, refused by the egress drop rule for 25/tcp.
  TcpConn(cap, rng, kWeb, 45025, ip("192.0.2.25"), 25, kT0 + 450 * kSec, 0).synUnanswered(3);
  // A SYN scan: 80 and 443 answer (accepted at priority 1 ahead of the priority-50 deny), the rest is silent.
  std::int64_t t = kT0 + 500 * kSec;
  for (const std::uint16_t port : {21, 22, 23, 25, 80, 110, 443, 445, 3306, 3389, 5432, 8080}) {
    TcpConn c(cap, rng, ip("198.51.100.66"), 61000, kWeb, port, t, 90 * kMs);
    if (port == 80 || port == 443) {
      c.halfOpenScan();
    } else {
      c.synUnanswered(1);
    }
    t += 7 * kMs;
  }
  return cap;
}

void mysqlSession(Capture& cap, Rng& rng, const IpAddr& client, std::int64_t start, int queries, std::int64_t spacing) {
  TcpConn c(cap, rng, client, ephemeralPort(rng), kDb, 3306, start, kMs / 2);
  c.handshake();
  c.serverSends(mysqlGreeting(rng, static_cast<std::uint32_t>(rng.range(10, 9999))));
  c.clientSends(mysqlLogin(rng, "app", "shop"));
  c.serverSends(mysqlOk(2, 0));
  for (int i = 0; i < queries; ++i) {
    c.wait(spacing + rng.range(0, 500) * kMs);
    c.clientSends(mysqlQuery("UPDATE carts SET touched = NOW() WHERE id = " + std::to_string(rng.range(1, 99999))));
    c.serverSends(mysqlOk(1, 1));
  }
  c.wait(kSec);
  Bytes quit{1, 0, 0, 0, 1};  // COM_QUIT
  c.clientSends(quit);
  c.closeFin(false);
}

Capture twoTierInternal() {
  Capture cap(Link::Ethernet, {kWeb, kApp, kDb});
  Rng rng(2);
  // The connection pools of web and app to the database (SourceGroupId sg-web on sg-db).
  for (int i = 0; i < 3; ++i) mysqlSession(cap, rng, kWeb, kT0 + (1 + i) * kSec, 20, 12 * kSec);
  for (int i = 0; i < 2; ++i) mysqlSession(cap, rng, kApp, kT0 + (3 + i) * kSec, 15, 15 * kSec);
  // app calls web's internal API on 8080 and web pings app: intra-group traffic of sg-web.
  for (int i = 0; i < 8; ++i) {
    TcpConn c(cap, rng, kApp, ephemeralPort(rng), kWeb, 8080, kT0 + (10 + 30 * i) * kSec, kMs / 2);
    c.handshake();
    c.clientSends(httpRequest("POST", "web.internal", "/api/render", "app/1.4"));
    c.serverSends(httpResponse(rng, 200, static_cast<std::size_t>(rng.range(200, 3000))));
    c.closeFin(true);
  }
  ping(cap, kT0 + 50 * kSec, kWeb, kApp, 0x0101, 4, kSec, kMs / 3);
  // Internet visitors on the port-range-list rule of sg-web.
  for (int i = 0; i < 6; ++i) {
    webVisit(cap, rng, i % 2 ? ip("198.18.5.20") : kClient, kWeb, i < 3 ? 80 : 443, kT0 + (20 + 40 * i) * kSec);
  }
  // The office reaches the database over SSH through the prefix list pl-office.
  sshSession(cap, rng, kOffice1, kDb, kT0 + 100 * kSec, 60);
  // db tries SSH to web (dropped at web's ingress), an outsider tries MySQL (dropped at db's ingress).
  TcpConn(cap, rng, kDb, 40022, kWeb, 22, kT0 + 150 * kSec, 0).synUnanswered(3);
  TcpConn(cap, rng, ip("198.18.200.9"), 40306, kDb, 3306, kT0 + 170 * kSec, 0).synUnanswered(2);
  // db's own lookups (egress, default allow).
  for (int i = 0; i < 4; ++i) {
    const auto id = static_cast<std::uint16_t>(rng.next());
    udpExchange(cap, kT0 + (30 + 60 * i) * kSec, kDb, ephemeralPort(rng), kResolver, 53,
                dnsQuery(id, "repo.example.org", 1), dnsResponse(id, "repo.example.org", 1, Bytes{47, 88, 9, 9}), kMs);
  }
  return cap;
}

Bytes ntpPacket(bool request) {
  Bytes b(48, 0);
  b[0] = request ? 0x23 : 0x24;  // version 4, mode client / server
  if (!request) b[1] = 2;        // stratum
  return b;
}

Capture tcpCloseTimeouts() {
  Capture cap(Link::Ethernet, {kWeb, kWeb6});
  Rng rng(3);
  enum class Close { ClientFin, ServerFin, ClientRst, ServerRst };
  // One HTTP connection, closed as `first` says, then the same 5-tuple again `gap` later.
  const auto closedThenReused = [&](std::uint16_t port, std::int64_t start, Close first, Close second,
                                    std::int64_t gap) {
    std::int64_t t = start;
    for (const Close how : {first, second}) {
      TcpConn c(cap, rng, kClient, port, kWeb, 80, t, 20 * kMs);
      c.handshake();
      c.clientSends(httpRequest("GET", "www.example.com", "/", "curl/7.88.1"));
      c.serverSends(httpResponse(rng, 200, 700));
      if (how == Close::ClientFin || how == Close::ServerFin) {
        c.closeFin(how == Close::ClientFin);
      } else {
        c.reset(how == Close::ClientRst);
      }
      t = c.now() + gap;
    }
  };
  // A: FIN/FIN, then the same 5-tuple again 5 s later (a new connection: the old entry died after 3 s).
  closedThenReused(50000, kT0 + 1 * kSec, Close::ClientFin, Close::ServerFin, 5 * kSec);
  // B: closed by RST, then the same 5-tuple 5 s later, closed by the server's RST.
  closedThenReused(50001, kT0 + 20 * kSec, Close::ClientRst, Close::ServerRst, 5 * kSec);
  // C: half-close. The client's FIN alone does not start the 3 s timer; the server keeps sending 2 s later.
  {
    TcpConn c(cap, rng, kClient, 50002, kWeb, 80, kT0 + 40 * kSec, 20 * kMs);
    c.handshake();
    c.clientSends(httpRequest("GET", "www.example.com", "/stream", "curl/7.88.1"));
    const Bytes response = httpResponse(rng, 200, 3400);
    const auto split = response.begin() + static_cast<std::ptrdiff_t>(response.size() - 400);
    c.serverSends(Bytes(response.begin(), split));
    c.halfClose(true);
    c.wait(2 * kSec);
    c.serverSends(Bytes(split, response.end()));
    c.halfClose(false);
  }
  // D: port reuse 1 s after FIN/FIN (inside the 3 s closing timeout).
  closedThenReused(50003, kT0 + 60 * kSec, Close::ClientFin, Close::ClientFin, kSec);
  // Two lookups on one 5-tuple, the second `gap` after the first's answer.
  const auto lookupTwice = [&](std::uint16_t sport, std::int64_t t, std::int64_t gap) {
    for (const char* name : {"a.example.com", "b.example.com"}) {
      const auto id = static_cast<std::uint16_t>(rng.next());
      udpExchange(cap, t, kWeb, sport, kResolver, 53, dnsQuery(id, name, 1),
                  dnsResponse(id, name, 1, Bytes{47, 88, 1, static_cast<std::uint8_t>(rng.range(1, 254))}), kMs);
      t += kMs + gap;
    }
  };
  // UDP: a lookup, 31 s idle, the same 5-tuple again (a new flow).
  lookupTwice(41000, kT0 + 80 * kSec, 31 * kSec);
  // UDP at the boundary: the next query exactly 30 s after the last packet (still alive: now - last <= 30).
  lookupTwice(41002, kT0 + 120 * kSec, 30 * kSec);
  // A reply 31 s late: the egress entry has expired, so the reply is a new inbound flow.
  udpExchange(cap, kT0 + 80 * kSec, kWeb, 41001, kUpstream, 123, ntpPacket(true), ntpPacket(false), 31 * kSec);
  // ICMP: the monitor pings, then again 31 s later with the same identifier.
  ping(cap, kT0 + 130 * kSec, kMonitor, kWeb, 0x0100, 1, 0, kMs);
  ping(cap, kT0 + 161 * kSec + kMs, kMonitor, kWeb, 0x0100, 1, 0, kMs, true, 2);
  // The server pings upstream and the echo reply comes back 31 s later.
  ping(cap, kT0 + 170 * kSec, kWeb, kUpstream, 0x0200, 1, 0, 31 * kSec);
  // E: an upstream HTTPS connection idle for 911 s (past the 910 s established timeout), then the
  // upstream speaks first: a new inbound flow mid-stream.
  {
    TcpConn e(cap, rng, kWeb, 44300, kUpstream, 443, kT0 + 250 * kSec, 24 * kMs);
    e.handshake();
    e.clientSends(tlsRecords(rng, 400));
    e.serverSends(tlsRecords(rng, 900));
    e.wait(911 * kSec);
    e.serverSends(tlsRecords(rng, 120));
    e.closeFin(true);
  }
  return cap;
}

Capture fragmentsV4V6() {
  Capture cap(Link::Ethernet, {kWeb, kWeb6});
  Rng rng(4);
  const auto sendFragments = [&](std::int64_t t, const Bytes& packet, std::size_t mtuPayload, std::uint32_t id6) {
    const auto parts = (packet[0] >> 4) == 4 ? fragmentIpv4(packet, mtuPayload) : fragmentIpv6(packet, mtuPayload, id6);
    for (std::size_t i = 0; i < parts.size(); ++i) cap.addIp(t + static_cast<std::int64_t>(i) * 20000, parts[i]);
  };
  const auto v4 = [&](const IpAddr& src, const IpAddr& dst, std::uint8_t proto, const Bytes& l4) {
    IpOptions o;
    o.id = cap.nextIpId(src);
    o.dontFragment = false;
    return ipPacket(src, dst, proto, l4, o);
  };
  // A large ping from the monitor (allowed by sgr-icmp), fragmented both ways.
  const Bytes echoData = pingPayload(kT0 + kSec, 3000);
  sendFragments(kT0 + kSec, v4(kMonitor, kWeb, kProtoIcmp, icmpEcho(true, 0x0abc, 1, echoData)), 1480, 0);
  sendFragments(kT0 + kSec + kMs, v4(kWeb, kMonitor, kProtoIcmp, icmpEcho(false, 0x0abc, 1, echoData)), 1480, 0);
  // Fragmented UDP to a closed port (dropped): every fragment shares the first's fate.
  const IpAddr outsider = ip("198.18.5.20");
  sendFragments(kT0 + 3 * kSec,
                v4(outsider, kWeb, kProtoUdp, udpDatagram(outsider, kWeb, 40000, 9999, rng.bytes(4000))), 1480, 0);
  // The server's small request and a fragmented answer (established).
  sendIp(cap, kT0 + 5 * kSec, kWeb, kUpstream, kProtoUdp, udpDatagram(kWeb, kUpstream, 40001, 40000, rng.bytes(64)));
  sendFragments(kT0 + 5 * kSec + 30 * kMs,
                v4(kUpstream, kWeb, kProtoUdp, udpDatagram(kUpstream, kWeb, 40000, 40001, rng.bytes(2400))), 1480, 0);
  // An orphan: the last fragment of a datagram whose first fragment was never captured.
  {
    const Bytes lost = v4(outsider, kWeb, kProtoUdp, udpDatagram(outsider, kWeb, 40002, 9999, rng.bytes(2000)));
    cap.addIp(kT0 + 7 * kSec, fragmentIpv4(lost, 1480).back());
  }
  // IPv6: fragmented UDP to a closed port (dropped), a large ICMPv6 echo out and its fragmented reply.
  sendFragments(kT0 + 9 * kSec,
                ipPacket(kClient6, kWeb6, kProtoUdp, udpDatagram(kClient6, kWeb6, 40003, 9999, rng.bytes(3000))), 1448,
                0x11111111);
  const Bytes echo6 = pingPayload(kT0 + 11 * kSec, 2000);
  sendFragments(kT0 + 11 * kSec,
                ipPacket(kWeb6, kClient6, kProtoIcmpv6, icmpv6Echo(kWeb6, kClient6, true, 7, 1, echo6)), 1448,
                0x22222222);
  sendFragments(kT0 + 11 * kSec + 40 * kMs,
                ipPacket(kClient6, kWeb6, kProtoIcmpv6, icmpv6Echo(kClient6, kWeb6, false, 7, 1, echo6)), 1448,
                0x33333333);
  // IPv6 with hop-by-hop and destination options before TCP: an HTTP visit on sgr-http6.
  {
    TcpConn c(cap, rng, ip("2001:db8:bbbb::20"), 52000, kWeb6, 80, kT0 + 13 * kSec, 30 * kMs);
    c.setClientExtensions({Ipv6Ext{kIpv6HopByHop, 6}, Ipv6Ext{kIpv6DestOptions, 14}});
    c.handshake();
    c.clientSends(httpRequest("GET", "www.example.com", "/", kAgent));
    c.serverSends(httpResponse(rng, 200, 900));
    c.closeFin(true);
  }
  // Hop-by-hop stays in the unfragmentable part; UDP after a fragment header (dropped, closed port).
  {
    IpOptions o;
    o.v6Ext = {Ipv6Ext{kIpv6HopByHop, 6}, Ipv6Ext{kIpv6DestOptions, 6}};
    const Bytes p = ipPacket(kClient6, kWeb6, kProtoUdp, udpDatagram(kClient6, kWeb6, 40004, 9999, rng.bytes(2000)), o);
    sendFragments(kT0 + 15 * kSec, p, 1448, 0x44444444);
  }
  return cap;
}

// The same small exchange on every link type: HTTP over IPv4, a DNS lookup, a ping, HTTPS over IPv6.
Capture linkExchange(Link link) {
  Capture cap(link, {kWeb, kWeb6});
  Rng rng(5);
  // Odd nanoseconds on purpose: the nanosecond file keeps them, the microsecond ones truncate them.
  const std::int64_t start = kT0 + 123456789;
  TcpConn c(cap, rng, kClient, 51000, kWeb, 80, start, 23456789);
  c.handshake();
  c.clientSends(httpRequest("GET", "www.example.com", "/", "curl/7.88.1"));
  c.serverSends(httpResponse(rng, 200, 600));
  c.closeFin(true);
  udpExchange(cap, start + 500 * kMs + 777, kWeb, 42000, kResolver, 53, dnsQuery(0x4242, "www.example.com", 28),
              dnsResponse(0x4242, "www.example.com", 28,
                          Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05}),
              1234567);
  ping(cap, start + 700 * kMs + 1, kMonitor, kWeb, 0x0042, 2, kSec, 987654);
  TcpConn s(cap, rng, kClient6, 51001, kWeb6, 443, start + 3 * kSec + 3, 31234567);
  s.handshake();
  s.clientSends(tlsRecords(rng, 300));
  s.serverSends(tlsRecords(rng, 1000));
  s.closeFin(false);
  return cap;
}

Bytes arp(bool request, const Mac& senderMac, const IpAddr& sender, const Mac& targetMac, const IpAddr& target) {
  Bytes b;
  put16(b, 1);       // Ethernet
  put16(b, 0x0800);  // IPv4
  put8(b, 6);
  put8(b, 4);
  put16(b, request ? 1 : 2);
  putBytes(b, senderMac);
  putIp(b, sender);
  putBytes(b, targetMac);
  putIp(b, target);
  return b;
}

Bytes padded(Bytes frame) {
  if (frame.size() < 60) frame.resize(60, 0);
  return frame;
}

Capture nonIpMixed() {
  Capture cap(Link::Ethernet, {kWeb, kWeb6});
  Rng rng(6);
  const Mac me = Capture::macOf(kWeb, true);
  const Mac gw = Capture::macOf(kUpstream, false);
  const Mac broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const Mac zero{};
  const Mac bridge{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  const IpAddr gwIp = ip("10.0.0.253");
  // ARP: the server resolves its gateway, later announces itself (gratuitous ARP).
  cap.addFrame(kT0 + 1 * kSec, ethernetFrame(broadcast, me, 0x0806, arp(true, me, kWeb, zero, gwIp)));
  cap.addFrame(kT0 + 1 * kSec + 150000, padded(ethernetFrame(me, gw, 0x0806, arp(false, gw, gwIp, me, kWeb))));
  cap.addFrame(kT0 + 40 * kSec, ethernetFrame(broadcast, me, 0x0806, arp(true, me, kWeb, zero, kWeb)));
  // LLDP from the top-of-rack switch every 30 s.
  for (int i = 0; i < 2; ++i) {
    Bytes tlv;
    put16(tlv, (1 << 9) | 7);  // chassis id, MAC subtype
    put8(tlv, 4);
    putBytes(tlv, bridge);
    put16(tlv, (2 << 9) | 5);  // port id, interface name subtype
    put8(tlv, 5);
    putText(tlv, "eth1");
    put16(tlv, (3 << 9) | 2);  // TTL
    put16(tlv, 120);
    put16(tlv, (5 << 9) | 6);  // system name
    putText(tlv, "tor-01");
    put16(tlv, 0);  // end
    const Mac lldp{0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e};
    cap.addFrame(kT0 + (2 + 30 * i) * kSec, padded(ethernetFrame(lldp, bridge, 0x88cc, tlv)));
  }
  // STP configuration BPDUs (802.3 length field + LLC), every 2 s for 10 s.
  for (int i = 0; i < 5; ++i) {
    Bytes b;
    put8(b, 0x42);
    put8(b, 0x42);
    put8(b, 0x03);
    put16(b, 0);  // protocol id
    put8(b, 0);   // version
    put8(b, 0);   // configuration BPDU
    put8(b, 0);   // flags
    put16(b, 0x8000);
    putBytes(b, bridge);  // root id
    put32(b, 0);          // root path cost
    put16(b, 0x8000);
    putBytes(b, bridge);  // bridge id
    put16(b, 0x8001);     // port id
    put16(b, 0);          // message age
    put16(b, 20 * 256);
    put16(b, 2 * 256);
    put16(b, 15 * 256);
    const Mac stp{0x01, 0x80, 0xc2, 0x00, 0x00, 0x00};
    cap.addFrame(kT0 + (3 + 2 * i) * kSec, padded(ethernetFrame(stp, bridge, static_cast<std::uint16_t>(b.size()), b)));
  }
  // A frame of a local experimental EtherType.
  cap.addFrame(kT0 + 12 * kSec, padded(ethernetFrame(broadcast, bridge, 0x88b5, rng.bytes(20))));
  // IPv6 duplicate address detection: a neighbour solicitation from :: (IP, but touching no modeled address).
  {
    const IpAddr solicited = ip("ff02::1:ff00:5");
    const Bytes ns = icmpv6NeighborSolicit(ip("::"), solicited, kWeb6, me.data());
    IpOptions o;
    o.ttl = 255;
    const Mac mcast{0x33, 0x33, 0xff, 0x00, 0x00, 0x05};
    cap.addFrame(kT0 + 13 * kSec, ethernetFrame(mcast, me, 0x86dd, ipPacket(ip("::"), solicited, kProtoIcmpv6, ns, o)));
  }
  // Ordinary IP traffic in between.
  ping(cap, kT0 + 5 * kSec, kMonitor, kWeb, 0x0303, 3, kSec, kMs);
  webVisit(cap, rng, ip("198.18.5.20"), kWeb, 80, kT0 + 6 * kSec);
  dnsLookup(cap, rng, kT0 + 8 * kSec, 43000, "mirrors.example.com");
  return cap;
}

// GRE between the server and a tunnel peer, carrying an inner IPv4 ping and UDP; and GRE from a stranger.
Capture tunnelGre() {
  Capture cap(Link::Ethernet, {kWeb, kWeb6});
  Rng rng(7);
  const IpAddr peer = ip("192.0.2.50");
  const IpAddr innerA = ip("172.16.0.1");
  const IpAddr innerB = ip("172.16.0.2");
  const auto tunnel = [&](std::int64_t t, const IpAddr& outerSrc, const IpAddr& outerDst, const Bytes& inner) {
    sendIp(cap, t, outerSrc, outerDst, kProtoGre, greHeader(0x0800, inner));
  };
  for (int i = 0; i < 4; ++i) {
    const std::int64_t t = kT0 + (1 + i) * kSec;
    const Bytes data = pingPayload(t, 56);
    IpOptions o;
    o.id = static_cast<std::uint16_t>(100 + i);
    tunnel(t, kWeb, peer,
           ipPacket(innerA, innerB, kProtoIcmp, icmpEcho(true, 0x0505, static_cast<std::uint16_t>(i + 1), data), o));
    tunnel(t + 2 * kMs, peer, kWeb,
           ipPacket(innerB, innerA, kProtoIcmp, icmpEcho(false, 0x0505, static_cast<std::uint16_t>(i + 1), data), o));
  }
  const auto id = static_cast<std::uint16_t>(rng.next());
  tunnel(
      kT0 + 6 * kSec, kWeb, peer,
      ipPacket(innerA, innerB, kProtoUdp, udpDatagram(innerA, innerB, 45000, 53, dnsQuery(id, "tunnel.example", 1))));
  tunnel(kT0 + 6 * kSec + 3 * kMs, peer, kWeb,
         ipPacket(innerB, innerA, kProtoUdp,
                  udpDatagram(innerB, innerA, 53, 45000, dnsResponse(id, "tunnel.example", 1, Bytes{172, 16, 0, 9}))));
  const IpAddr stranger = ip("198.18.9.9");
  tunnel(kT0 + 8 * kSec, stranger, kWeb,
         ipPacket(ip("172.31.0.1"), innerA, kProtoIcmp, icmpEcho(true, 0x0606, 1, pingPayload(kT0 + 8 * kSec, 56))));
  return cap;
}

// A traffic-mirror collector's capture: the frames of web_basic's first 240 s (both admin SSH sessions' first,
// web visits, pings, DNS, the stranger's SSH retries), each as a mirror session copies it — inside VXLAN (VNI 100,
// UDP to 4789) from the mirror's address 10.0.9.1 to the collector 10.0.9.100, neither of them an interface of the
// model — and the collector's own ARP exchange, which is no VXLAN. `sgsim whatif --decap vxlan` over it gives what
// the same what-if gives over those frames of web_basic.pcap (tests/pipeline/decap_test.cpp).
Capture mirrorVxlan() {
  Capture cap(Link::Ethernet, {});
  const IpAddr mirror = ip("10.0.9.1");
  const IpAddr collector = ip("10.0.9.100");
  const Mac mirrorMac = Capture::macOf(mirror, false), collectorMac = Capture::macOf(collector, true);
  const Capture web = webBasic();
  for (const Capture::Timed& f : web.inOrder()) {
    if (f.tsNs >= kT0 + 240 * kSec) continue;
    const Bytes& inner = *f.data;
    // The outer source port spreads flows as VXLAN endpoints do: a hash of the inner frame's addresses and ports.
    std::uint32_t hash = 2166136261u;
    for (std::size_t i = 26; i < 38 && i < inner.size(); ++i) hash = (hash ^ inner[i]) * 16777619u;
    const auto sport = static_cast<std::uint16_t>(49152 + hash % 16384);
    Bytes vxlan;
    put8(vxlan, 0x08);  // the I flag: the VNI is valid
    put8(vxlan, 0);
    put16(vxlan, 0);
    put32(vxlan, 100u << 8);  // VNI 100
    putBytes(vxlan, inner);
    cap.addFrame(f.tsNs, ethernetFrame(collectorMac, mirrorMac, 0x0800,
                                       ipPacket(mirror, collector, kProtoUdp,
                                                udpDatagram(mirror, collector, sport, 4789, vxlan))));
  }
  const Mac broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero{};
  const IpAddr gw = ip("10.0.9.254");
  const Mac gwMac = Capture::macOf(gw, false);
  cap.addFrame(kT0 + 3 * kSec,
               padded(ethernetFrame(broadcast, collectorMac, 0x0806, arp(true, collectorMac, collector, zero, gw))));
  cap.addFrame(kT0 + 3 * kSec + 200000,
               padded(ethernetFrame(collectorMac, gwMac, 0x0806, arp(false, gwMac, gw, collectorMac, collector))));
  return cap;
}

__extension__ typedef unsigned __int128 Uint128;

// Timestamp units of a pcapng interface: 10^-digits s, or 2^-bits s (bits > 0) counted from `offsetS`.
std::uint64_t unitsOf(std::int64_t tsNs, int digits, int bits = 0, std::int64_t offsetS = 0) {
  const auto ns = static_cast<Uint128>(tsNs - offsetS * kSec);
  if (bits > 0) return static_cast<std::uint64_t>((ns << bits) / 1000000000u);
  std::uint64_t div = 1;
  for (int i = digits; i < 9; ++i) div *= 10;
  return static_cast<std::uint64_t>(ns / div);
}

Bytes cutTo(const Bytes& b, std::size_t snap) { return Bytes(b.begin(), b.begin() + std::min(b.size(), snap)); }

// An 802.11 beacon (radio link type 105), as a monitor-mode interface records it.
Bytes wifiBeacon() {
  Bytes b;
  put16(b, 0x8000);  // frame control: management, beacon
  put16(b, 0);       // duration
  putBytes(b, Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  const Mac ap{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
  putBytes(b, ap);
  putBytes(b, ap);
  put16(b, 0x1000);  // sequence
  // TSF timestamp, beacon interval 100 TU and capabilities (little-endian on air), then the SSID element.
  for (int i = 0; i < 8; ++i) put8(b, static_cast<std::uint8_t>(i));
  put16(b, 0x6400);
  put16(b, 0x1104);
  put8(b, 0);
  put8(b, 9);
  putText(b, "sgsim-lab");
  put8(b, 1);  // supported rates
  put8(b, 4);
  for (std::uint8_t r : {0x82, 0x84, 0x8b, 0x96}) put8(b, r);
  return b;
}

// A Wireshark capture on the web server with one interface per purpose, each with its own link type, snap length
// and timestamp units (dumpcap -i eth0 -f "tcp port 80 or icmp" -i any -s 96 -f "tcp port 22" -i wg0 -i wlan0mon),
// followed by a second section, big-endian, from another capture appended with `cat`. The blocks that hold no
// packet are those Wireshark writes (name resolution, statistics, a TLS key log). Every packet block kind is
// used: Enhanced, the obsolete Packet Block, and Simple Packet Blocks (no timestamp).
Bytes interfacesMulti() {
  Rng rng(11);
  Capture eth(Link::Ethernet, {kWeb, kWeb6});
  webVisit(eth, rng, kClient, kWeb, 80, kT0 + 1 * kSec);
  ping(eth, kT0 + 2 * kSec, kMonitor, kWeb, 0x0101, 2, kSec, 3 * kMs);
  Capture any(Link::Sll, {kWeb, kWeb6});
  sshSession(any, rng, kOffice1, kWeb, kT0 + 1500 * kMs, 12);
  Capture wg(Link::Raw, {kWeb});
  dnsLookup(wg, rng, kT0 + 3 * kSec + 250 * kMs, 40001, "mirrors.example.com");
  dnsLookup(wg, rng, kT0 + 9 * kSec + 500 * kMs, 40002, "updates.example.com");

  struct Item {
    std::int64_t tsNs;
    int iface;
    const Bytes* data;
  };
  std::vector<Item> items;
  int iface = 0;
  for (const Capture* c : {&eth, &any, &wg}) {
    for (const Capture::Timed& t : c->inOrder()) items.push_back({t.tsNs, iface, t.data});
    ++iface;
  }
  const Bytes beacon = wifiBeacon();
  items.push_back({kT0 + 4 * kSec + 102400 * 1000, 3, &beacon});
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.tsNs < b.tsNs; });

  pcapng::Builder b;
  using pcapng::Builder;
  b.section(false, {Builder::text(3, "Linux 6.1.0-21-cloud-amd64"), Builder::text(4, "pcapgen (sgsim)")});
  const auto filter = [](const char* text) {
    pcapng::Option o{11, {0}};  // if_filter: 0 = a libpcap filter string
    for (const char* c = text; *c != '\0'; ++c) o.value.push_back(static_cast<std::uint8_t>(*c));
    return o;
  };
  constexpr std::uint32_t kAnySnap = 96;
  constexpr std::int64_t kWgOffset = 1714554000;
  b.interface(1, 262144, {Builder::text(2, "eth0"), filter("tcp port 80 or icmp"), Builder::tsresol(6)});
  b.interface(113, kAnySnap, {Builder::text(2, "any"), filter("tcp port 22"), Builder::tsresol(9)});
  b.interface(101, 262144, {Builder::text(2, "wg0"), Builder::tsresol(0x80 | 20), b.tsoffset(kWgOffset)});
  b.interface(105, 2346, {Builder::text(2, "wlan0mon")});
  b.nameResolution({10, 0, 0, 5}, "web.example.internal");
  std::size_t ethFrames = 0;
  for (const Item& it : items) {
    const Bytes& d = *it.data;
    const auto wire = static_cast<std::uint32_t>(d.size());
    switch (it.iface) {
      case 0:
        // The monitor's last echo reply in an obsolete Packet Block, as an old writer would have left it.
        if (++ethFrames == eth.size())
          b.obsolete(0, unitsOf(it.tsNs, 6), d, wire);
        else
          b.enhanced(0, unitsOf(it.tsNs, 6), d, wire);
        break;
      case 1:
        b.enhanced(1, unitsOf(it.tsNs, 9), cutTo(d, kAnySnap), wire);
        break;
      case 2:
        b.enhanced(2, unitsOf(it.tsNs, 0, 20, kWgOffset), d, wire);
        break;
      default:
        b.enhanced(3, unitsOf(it.tsNs, 6), d, wire);
        break;
    }
  }
  b.decryptionSecrets(0x544c534b,
                      "CLIENT_RANDOM 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
                      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                      "202122232425262728292a2b2c2d2e2f\n");
  const std::uint64_t end = unitsOf(kT0 + 14 * kSec, 6);
  for (std::uint32_t i = 0; i < 4; ++i) b.statistics(i, end, i == 3 ? 1 : 40, 0);

  // The second section: a big-endian appliance with millisecond timestamps and a 128-byte snap length, whose
  // echo replies are Simple Packet Blocks (so they take the time of the request before them).
  constexpr std::uint32_t kSnap2 = 128;
  Capture pings(Link::Ethernet, {kWeb, kWeb6});
  ping(pings, kT0 + 20 * kSec, kMonitor, kWeb, 0x0202, 2, kSec, 2 * kMs);
  Capture visit(Link::Ethernet, {kWeb, kWeb6});
  webVisit(visit, rng, ip("192.0.2.77"), kWeb, 443, kT0 + 20 * kSec + 500 * kMs);
  std::vector<Item> second;
  for (const Capture::Timed& t : pings.inOrder()) second.push_back({t.tsNs, 1, t.data});
  for (const Capture::Timed& t : visit.inOrder()) second.push_back({t.tsNs, 0, t.data});
  std::stable_sort(second.begin(), second.end(), [](const Item& a, const Item& b) { return a.tsNs < b.tsNs; });
  b.section(true, {Builder::text(4, "pcapgen (sgsim), a big-endian appliance")});
  b.interface(1, kSnap2, {Builder::text(2, "port1"), Builder::tsresol(3)});
  bool reply = false;
  for (const Item& it : second) {
    const auto wire = static_cast<std::uint32_t>(it.data->size());
    if (it.iface == 1 && reply)
      b.simple(cutTo(*it.data, kSnap2), wire);
    else
      b.enhanced(0, unitsOf(it.tsNs, 3), cutTo(*it.data, kSnap2), wire);
    if (it.iface == 1) reply = !reply;
  }
  return b.bytes();
}

}  // namespace

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all = {
      {"web_basic", FileFormat::Micro, "web server 10.0.0.5 over ~10 minutes: HTTP(S), admin SSH, scan, DNS", webBasic},
      {"two_tier_internal", FileFormat::Micro, "web/app/db ENIs: MySQL via SourceGroupId, intra-group, prefix list",
       twoTierInternal},
      {"tcp_close_timeouts", FileFormat::Micro, "FIN/RST closes, port reuse, UDP/ICMP/TCP idle timeouts",
       tcpCloseTimeouts},
      {"fragments_v4v6", FileFormat::Micro, "IPv4/IPv6 fragments, an orphan fragment, IPv6 extension headers",
       fragmentsV4V6},
      {"non_ip_mixed", FileFormat::Micro, "ARP, LLDP, STP and an unknown EtherType among IP traffic", nonIpMixed},
      {"tunnel_gre", FileFormat::Micro, "GRE tunnel with inner IPv4, and GRE from a stranger", tunnelGre},
      {"mirror_vxlan", FileFormat::Micro,
       "traffic mirror of web_basic's first 240 s: VXLAN VNI 100 to a collector, and the collector's ARP", mirrorVxlan},
      {"linktypes_ethernet", FileFormat::Micro, "the link-type exchange on plain Ethernet",
       [] { return linkExchange(Link::Ethernet); }},
      {"linktypes_ethernet_vlan", FileFormat::Micro, "the link-type exchange under 802.1Q VLAN 100",
       [] { return linkExchange(Link::Vlan); }},
      {"linktypes_qinq", FileFormat::Micro, "the link-type exchange under 802.1ad 200 + 802.1Q 100",
       [] { return linkExchange(Link::QinQ); }},
      {"linktypes_sll", FileFormat::Micro, "the link-type exchange as Linux cooked v1",
       [] { return linkExchange(Link::Sll); }},
      {"linktypes_sll2", FileFormat::Micro, "the link-type exchange as Linux cooked v2",
       [] { return linkExchange(Link::Sll2); }},
      {"linktypes_raw", FileFormat::Micro, "the link-type exchange as raw IP", [] { return linkExchange(Link::Raw); }},
      {"linktypes_null", FileFormat::Micro, "the link-type exchange as BSD loopback (NULL)",
       [] { return linkExchange(Link::Null); }},
      {"format_nanosec", FileFormat::Nano, "the link-type exchange, nanosecond pcap",
       [] { return linkExchange(Link::Ethernet); }},
      {"format_bigendian", FileFormat::MicroBigEndian, "the link-type exchange, big-endian pcap",
       [] { return linkExchange(Link::Ethernet); }},
      {"interfaces_multi", FileFormat::Micro,
       "pcapng: four interfaces of four link types, snap lengths and time units; a big-endian second section", nullptr,
       interfacesMulti},
  };
  return all;
}

}  // namespace sgsim
