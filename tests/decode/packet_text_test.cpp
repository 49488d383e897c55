// The packet-text parser (decode/packet_text.h): sgsim's own syntax and tcpdump's line form give the key the
// decoder would give the same packet, and every bad part is named in the error.
#include "sgsim/decode/packet_text.h"

#include <gtest/gtest.h>

#include <random>

namespace sgsim {
namespace {

PacketText ok(std::string_view text) {
  auto r = parsePacketText(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r ? "" : r.error().toString());
  return r ? *r : PacketText{};
}

std::string err(std::string_view text) {
  auto r = parsePacketText(text);
  EXPECT_FALSE(r.ok()) << text;
  return r ? "" : r.error().toString();
}

TEST(PacketText, OwnSyntax) {
  auto p = ok("tcp 203.0.113.7:51514 > 10.0.0.5:22");
  EXPECT_EQ(p.key.status, DecodeStatus::Ok);
  EXPECT_EQ(p.key.proto, 6);
  EXPECT_EQ(p.key.src.toString(), "203.0.113.7");
  EXPECT_EQ(p.key.sport, 51514);
  EXPECT_EQ(p.key.dst.toString(), "10.0.0.5");
  EXPECT_EQ(p.key.dport, 22);
  EXPECT_FALSE(p.tcpdump);
  p = ok("udp [2001:db8::1]:53 > [2001:db8::5]:5353");
  EXPECT_EQ(p.key.proto, 17);
  EXPECT_EQ(p.key.family, Family::V6);
  EXPECT_EQ(p.key.dport, 5353);
  p = ok("icmp 192.0.2.10 > 10.0.0.5 id 7");
  EXPECT_EQ(p.key.proto, 1);
  EXPECT_EQ(p.key.sport, 7);
  EXPECT_EQ(p.key.dport, 7);
  EXPECT_EQ(p.key.icmpType, 8);
  EXPECT_TRUE(p.icmpTypeKnown);
  p = ok("icmp 10.0.0.5 > 192.0.2.10 type 3 code 3");
  EXPECT_EQ(p.key.icmpType, 3);
  EXPECT_EQ(p.key.icmpCode, 3);
  EXPECT_EQ(p.key.sport, 0);
  p = ok("icmp 192.0.2.10 > 10.0.0.5");
  EXPECT_FALSE(p.icmpTypeKnown);
  p = ok("proto 132 10.0.0.1 > 10.0.0.5");
  EXPECT_EQ(p.key.proto, 132);
  p = ok("gre 10.0.0.1 > 10.0.0.5");
  EXPECT_EQ(p.key.proto, 47);
}

TEST(PacketText, TcpdumpLines) {
  // Lines as `tcpdump -nr pcaps/web_basic.pcap` prints them.
  auto p =
      ok("09:03:17.194000 IP6 2001:db8:aaaa::10.54419 > 2001:db8:10::5.80: Flags [S], seq 632457243, win "
         "64240, options [mss 1440], length 0");
  EXPECT_TRUE(p.tcpdump);
  EXPECT_EQ(p.key.proto, 6);
  EXPECT_EQ(p.key.src.toString(), "2001:db8:aaaa::10");
  EXPECT_EQ(p.key.sport, 54419);
  EXPECT_EQ(p.key.dst.toString(), "2001:db8:10::5");
  EXPECT_EQ(p.key.dport, 80);
  EXPECT_EQ(p.key.tcpFlags, 0x02);
  p = ok("IP 1.2.3.4.1000 > 10.0.0.5.22: Flags [S.], seq 1, ack 2, win 100, length 0");
  EXPECT_EQ(p.key.tcpFlags, 0x12);
  EXPECT_EQ(p.key.sport, 1000);
  EXPECT_EQ(p.key.dport, 22);
  p = ok("IP 1.2.3.4.1000 > 10.0.0.5.22: Flags [R.], seq 1");
  EXPECT_EQ(p.key.tcpFlags, 0x14);
  p = ok("09:00:03.000000 IP 198.18.5.20.40000 > 10.0.0.5.9999: UDP, length 4000");
  EXPECT_EQ(p.key.proto, 17);
  EXPECT_TRUE(p.notes.empty());
  p = ok("09:00:46.000000 IP 10.0.0.5.60391 > 100.100.2.136.53: 10416+ A? mirrors.example.com. (37)");
  EXPECT_EQ(p.key.proto, 17);
  ASSERT_EQ(p.notes.size(), 1u);  // UDP was assumed, and said
  EXPECT_NE(p.notes[0].find("taken as UDP"), std::string::npos);
  p = ok("09:00:05.000000 IP 192.0.2.10 > 10.0.0.5: ICMP echo request, id 8000, seq 1, length 64");
  EXPECT_EQ(p.key.proto, 1);
  EXPECT_EQ(p.key.icmpType, 8);
  EXPECT_EQ(p.key.sport, 8000);
  EXPECT_EQ(p.key.dport, 8000);
  p = ok("IP 10.0.0.5 > 192.0.2.10: ICMP echo reply, id 8000, seq 1, length 64");
  EXPECT_EQ(p.key.icmpType, 0);
  p = ok("IP 10.0.0.5 > 192.0.2.10: ICMP 10.0.0.9 udp port 53 unreachable, length 36");
  EXPECT_EQ(p.key.icmpType, 3);
  EXPECT_EQ(p.key.icmpCode, 3);
  EXPECT_EQ(p.key.sport, 0);
  p = ok("IP6 2001:db8::1 > 2001:db8:10::5: ICMP6, echo request, id 7, seq 1, length 64");
  EXPECT_EQ(p.key.proto, 58);
  EXPECT_EQ(p.key.icmpType, 128);
  EXPECT_EQ(p.key.sport, 7);
  p = ok("IP6 fe80::1 > ff02::1: ICMP6, neighbor advertisement, tgt is fe80::1, length 32");
  EXPECT_EQ(p.key.icmpType, 136);
  // Without a timestamp, with -tt and -tttt times, with -e's link layer, with -v's header details.
  EXPECT_EQ(ok("1714554005.000000 IP 1.2.3.4.1000 > 10.0.0.5.22: Flags [S], length 0").key.dport, 22);
  EXPECT_EQ(ok("2024-05-01 09:00:05.000000 IP 1.2.3.4.1000 > 10.0.0.5.22: Flags [S], length 0").key.dport, 22);
  EXPECT_EQ(ok("09:00:05.000000 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 74: IP "
               "1.2.3.4.1000 > 10.0.0.5.22: Flags [S], length 0")
                .key.dport,
            22);
  EXPECT_EQ(ok("09:00:05.000000 IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60) "
               "1.2.3.4.1000 > 10.0.0.5.22: Flags [S], length 0")
                .key.sport,
            1000);
  EXPECT_EQ(ok("IP 10.0.0.1 > 10.0.0.5: GREv0, length 88: IP 192.168.0.1 > 192.168.0.2: ICMP echo request, id 1, "
               "seq 1, length 64")
                .key.proto,
            47);
}

TEST(PacketText, ErrorsNameTheBadPart) {
  EXPECT_NE(err("tcp 1.2.3.4:1000 > 10.0.0.5:70000").find("port 70000 is out of range 0-65535"), std::string::npos);
  EXPECT_NE(err("IP 1.2.3.4.1000 > 10.0.0.5.70000: Flags [S]").find("port 70000 is out of range 0-65535"),
            std::string::npos);
  EXPECT_NE(err("tcp 1.2.3.4:1000 > 10.0.0.300:22").find("\"10.0.0.300\" is not an IP address"), std::string::npos);
  EXPECT_NE(err("tcpp 1.2.3.4:1000 > 10.0.0.5:22").find("\"tcpp\" is not a protocol"), std::string::npos);
  EXPECT_NE(err("tcpp 1.2.3.4:1000 > 10.0.0.5:22").find("did you mean tcp?"), std::string::npos);
  EXPECT_NE(err("tcp 1.2.3.4 > 10.0.0.5:22").find("TCP needs a port on both ends: the source \"1.2.3.4\" has none"),
            std::string::npos);
  EXPECT_NE(err("tcp 1.2.3.4:1000 10.0.0.5:22").find("expected \">\" between source and destination"),
            std::string::npos);
  EXPECT_NE(err("proto 300 1.2.3.4 > 10.0.0.5").find("protocol 300 is out of range 0-255"), std::string::npos);
  EXPECT_NE(err("icmp 1.2.3.4 > 10.0.0.5 id 70000").find("id 70000 is out of range 0-65535"), std::string::npos);
  EXPECT_NE(err("tcp 1.2.3.4:1000 > 10.0.0.5:22 extra").find("unexpected \"extra\""), std::string::npos);
  EXPECT_NE(err("tcp 1.2.3.4:1000 > [2001:db8::5]:22").find("different IP families"), std::string::npos);
  EXPECT_NE(err("tcp 1.2.3.4:ssh > 10.0.0.5:22").find("service name"), std::string::npos);
  EXPECT_NE(err("IP web01.example.com.ssh > 10.0.0.5.22: Flags [S]").find("run tcpdump with -n"), std::string::npos);
  EXPECT_NE(err("IP 1.2.3.4.1000 > 10.0.0.5.22 Flags [S]").find("expected \":\" after the destination"),
            std::string::npos);
  EXPECT_NE(err("IP 198.18.5.20 > 10.0.0.5: ip-proto-17").find("later IP fragment"), std::string::npos);
  EXPECT_NE(err("IP 192.0.2.10 > 10.0.0.5: ICMP echo request, seq 1").find("without \", id N\""), std::string::npos);
  EXPECT_NE(err("IP 1.2.3.4 > 10.0.0.5: FOOBAR 1").find("cannot tell the protocol from \"FOOBAR\""), std::string::npos);
  EXPECT_NE(err("IP6 1.2.3.4.1 > 10.0.0.5.2: Flags [S]").find("IP6 line with IPv4 addresses"), std::string::npos);
  EXPECT_NE(err("").find("empty packet"), std::string::npos);
  EXPECT_NE(err("09:00:05.000000 ARP, Request who-has 10.0.0.1 tell 10.0.0.5").find("no \"IP\" or \"IP6\""),
            std::string::npos);
  // Every error names where it comes from.
  EXPECT_EQ(err("tcp").rfind("packet: ", 0), 0u);
}

// Garbage never crashes and never yields a half-made key (seeded; the fuzz target goes further).
TEST(PacketText, RandomTextIsAKeyOrAnError) {
  std::mt19937 rng(12);
  const std::string alphabet = "IP6 tcpudicmv.:>[]0123456789,-+abef()Flags";
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    const int len = static_cast<int>(rng() % 60);
    for (int i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
    auto r = parsePacketText(s);
    if (r) {
      EXPECT_EQ(r->key.status, DecodeStatus::Ok) << s;
      EXPECT_EQ(r->key.src.family, r->key.dst.family) << s;
    } else {
      EXPECT_FALSE(r.error().message.empty()) << s;
    }
  }
}

}  // namespace
}  // namespace sgsim
