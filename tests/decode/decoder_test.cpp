// What a user relies on from the decoder: the key of every supported framing, and a status (never a crash)
// for everything malformed.

#include "sgsim/decode/decoder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "frame_builder.h"

// Designated initializers name only the fields a test changes; GCC 12 warns about the rest (its bug 96868).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace sgsim {
namespace {

using test::Bytes;
using test::cat;

constexpr int kEthernet = 1, kRaw = 12, kRawOpenBsd = 14, kLinktypeRaw = 101, kNull = 0, kLoop = 108, kSll = 113,
              kSll2 = 276, kIpv4Only = 228, kIpv6Only = 229;

// Exact-size heap copy, so that a sanitizer sees any read past capLen.
PacketKey decode(int linkType, const Bytes& frame) {
  Bytes copy(frame);
  return decodeFrame(linkType, copy.empty() ? nullptr : copy.data(), static_cast<std::uint32_t>(copy.size()));
}

Bytes tcpV4(std::uint16_t sport = 40000, std::uint16_t dport = 443, std::uint8_t flags = 0x02) {
  return test::ipv4({}, test::tcpHeader(sport, dport, flags));
}
Bytes udpV6() { return test::ipv6(17, test::udpHeader(5353, 53, 4)); }

void expectTcpV4(const PacketKey& k) {
  ASSERT_EQ(k.status, DecodeStatus::Ok) << k.detail;
  EXPECT_STREQ(k.detail, "");
  EXPECT_EQ(k.family, Family::V4);
  EXPECT_EQ(k.src.toString(), "10.0.0.1");
  EXPECT_EQ(k.dst.toString(), "10.0.0.2");
  EXPECT_EQ(k.proto, 6);
  EXPECT_EQ(k.sport, 40000);
  EXPECT_EQ(k.dport, 443);
  EXPECT_EQ(k.tcpFlags, 0x02);
  EXPECT_EQ(k.ipLength, 40u);
  EXPECT_FALSE(k.isFragment);
}

void expectUdpV6(const PacketKey& k) {
  ASSERT_EQ(k.status, DecodeStatus::Ok) << k.detail;
  EXPECT_EQ(k.family, Family::V6);
  EXPECT_EQ(k.src.toString(), "2001:db8::1");
  EXPECT_EQ(k.dst.toString(), "2001:db8::2");
  EXPECT_EQ(k.proto, 17);
  EXPECT_EQ(k.sport, 5353);
  EXPECT_EQ(k.dport, 53);
  EXPECT_EQ(k.ipLength, 40u + 12u);
}

TEST(Decoder, EthernetIpv4Tcp) { expectTcpV4(decode(kEthernet, test::ethernet(0x0800, tcpV4()))); }
TEST(Decoder, EthernetIpv6Udp) { expectUdpV6(decode(kEthernet, test::ethernet(0x86dd, udpV6()))); }

TEST(Decoder, EthernetPaddingIsNotTransportAndIpLengthComesFromHeader) {
  Bytes frame = test::ethernet(0x0800, test::ipv4({.proto = 17}, test::udpHeader(1, 2)));
  frame.resize(60, 0);  // minimum Ethernet frame
  const PacketKey k = decode(kEthernet, frame);
  ASSERT_EQ(k.status, DecodeStatus::Ok);
  EXPECT_EQ(k.ipLength, 28u);
  EXPECT_EQ(k.dport, 2);
}

TEST(Decoder, VlanTagsOuterIdRecordedUpToEightTags) {
  const auto single = decode(kEthernet, test::ethernet(0x0800, tcpV4(), {{0x8100, 0x2064}}));  // PCP 1, VID 100
  expectTcpV4(single);
  EXPECT_EQ(single.vlan, 100);
  const auto qinq = decode(kEthernet, test::ethernet(0x86dd, udpV6(), {{0x88a8, 200}, {0x8100, 300}}));
  expectUdpV6(qinq);
  EXPECT_EQ(qinq.vlan, 200);
  const auto old = decode(kEthernet, test::ethernet(0x0800, tcpV4(), {{0x9100, 7}, {0x8100, 8}}));
  expectTcpV4(old);
  EXPECT_EQ(old.vlan, 7);
  EXPECT_EQ(decode(kEthernet, test::ethernet(0x0800, tcpV4())).vlan, 0);

  const auto eight = decode(
      kEthernet,
      test::ethernet(
          0x0800, tcpV4(),
          {{0x8100, 1}, {0x8100, 2}, {0x8100, 3}, {0x8100, 4}, {0x8100, 5}, {0x8100, 6}, {0x8100, 7}, {0x8100, 8}}));
  expectTcpV4(eight);
  const auto nine = decode(kEthernet, test::ethernet(0x0800, tcpV4(),
                                                     {{0x8100, 1},
                                                      {0x8100, 2},
                                                      {0x8100, 3},
                                                      {0x8100, 4},
                                                      {0x8100, 5},
                                                      {0x8100, 6},
                                                      {0x8100, 7},
                                                      {0x8100, 8},
                                                      {0x8100, 9}}));
  EXPECT_EQ(nine.status, DecodeStatus::Undecodable);
  EXPECT_STREQ(nine.detail, "too many VLAN tags");
}

TEST(Decoder, NonIpEtherTypesAreNamed) {
  const Bytes payload(28, 0);
  const auto arp = decode(kEthernet, test::ethernet(0x0806, payload));
  EXPECT_EQ(arp.status, DecodeStatus::NotIp);
  EXPECT_STREQ(arp.detail, "ARP");
  EXPECT_STREQ(decode(kEthernet, test::ethernet(0x88cc, payload)).detail, "LLDP");
  EXPECT_STREQ(decode(kEthernet, test::ethernet(0x8847, payload)).detail, "MPLS");
  const auto unknown = decode(kEthernet, test::ethernet(0x88b5, payload));
  EXPECT_EQ(unknown.status, DecodeStatus::NotIp);
  EXPECT_STREQ(unknown.detail, "ethertype 0x88b5");
  // ARP behind a VLAN tag keeps the tag.
  const auto taggedArp = decode(kEthernet, test::ethernet(0x0806, payload, {{0x8100, 42}}));
  EXPECT_STREQ(taggedArp.detail, "ARP");
  EXPECT_EQ(taggedArp.vlan, 42);
}

TEST(Decoder, Ieee8023LlcAndSnap) {
  const Bytes stp = {0x42, 0x42, 0x03, 0, 0, 0, 0};
  const auto k = decode(kEthernet, test::ethernet(static_cast<std::uint16_t>(stp.size()), stp));
  EXPECT_EQ(k.status, DecodeStatus::NotIp);
  EXPECT_STREQ(k.detail, "STP");
  // RFC 1042: IP inside SNAP with OUI 0 is still IP.
  const Bytes snap = cat({{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, tcpV4()});
  expectTcpV4(decode(kEthernet, test::ethernet(static_cast<std::uint16_t>(snap.size()), snap)));
}

TEST(Decoder, LinuxCookedV1AndV2) {
  expectTcpV4(decode(kSll, test::sll(0x0800, tcpV4())));
  expectUdpV6(decode(kSll, test::sll(0x86dd, udpV6())));
  expectTcpV4(decode(kSll2, test::sll2(0x0800, tcpV4())));
  expectUdpV6(decode(kSll2, test::sll2(0x86dd, udpV6())));
  EXPECT_STREQ(decode(kSll, test::sll(0x0806, Bytes(28, 0))).detail, "ARP");
  EXPECT_EQ(decode(kSll, test::sll(0x0800, tcpV4(), 824)).status, DecodeStatus::NotIp);  // netlink
  EXPECT_EQ(decode(kSll, Bytes(15, 0)).status, DecodeStatus::Undecodable);
  EXPECT_EQ(decode(kSll2, Bytes(19, 0)).status, DecodeStatus::Undecodable);
}

TEST(Decoder, RawIpLinkTypes) {
  for (int lt : {kRaw, kRawOpenBsd, kLinktypeRaw}) {
    SCOPED_TRACE(lt);
    expectTcpV4(decode(lt, tcpV4()));
    expectUdpV6(decode(lt, udpV6()));
  }
  expectTcpV4(decode(kIpv4Only, tcpV4()));
  expectUdpV6(decode(kIpv6Only, udpV6()));
  // The link type says IPv4: a version-6 header there is malformed, not silently IPv6.
  EXPECT_EQ(decode(kIpv4Only, udpV6()).status, DecodeStatus::Undecodable);
}

TEST(Decoder, BsdLoopbackFamiliesInBothByteOrders) {
  for (bool bigEndian : {false, true}) {
    expectTcpV4(decode(kNull, test::loopback(2, bigEndian, tcpV4())));
    for (std::uint32_t af6 : {24u, 28u, 30u}) expectUdpV6(decode(kNull, test::loopback(af6, bigEndian, udpV6())));
  }
  expectTcpV4(decode(kLoop, test::loopback(2, true, tcpV4())));
  expectUdpV6(decode(kLoop, test::loopback(30, true, udpV6())));
  // DLT_LOOP is network order only.
  EXPECT_EQ(decode(kLoop, test::loopback(2, false, tcpV4())).status, DecodeStatus::NotIp);
  EXPECT_EQ(decode(kNull, test::loopback(7, false, tcpV4())).status, DecodeStatus::NotIp);
}

TEST(Decoder, UnsupportedLinkTypeIsNamed) {
  const Bytes frame = tcpV4();
  const auto wifi = decode(105, frame);
  EXPECT_EQ(wifi.status, DecodeStatus::UnsupportedLinkType);
  EXPECT_NE(std::string(wifi.detail).find("IEEE802_11"), std::string::npos);
  EXPECT_STREQ(decode(147, frame).detail, "link type 147");
  EXPECT_FALSE(isSupportedLinkType(105));
  EXPECT_TRUE(isSupportedLinkType(kSll2));
}

TEST(Decoder, Ipv4OptionsAreSkipped) {
  const Bytes frame =
      test::ipv4({.options = {0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00}}, test::tcpHeader(40000, 443, 2));
  const auto k = decode(kRaw, frame);
  ASSERT_EQ(k.status, DecodeStatus::Ok);
  EXPECT_EQ(k.sport, 40000);
  EXPECT_EQ(k.dport, 443);
  EXPECT_EQ(k.ipLength, 48u);
}

TEST(Decoder, Ipv4FragmentsFirstCarriesPortsLaterDoNot) {
  const auto first =
      decode(kRaw, test::ipv4({.proto = 17, .id = 777, .moreFragments = true}, test::udpHeader(1000, 53, 16)));
  ASSERT_EQ(first.status, DecodeStatus::Ok);
  EXPECT_TRUE(first.isFragment);
  EXPECT_TRUE(first.firstFragment);
  EXPECT_EQ(first.fragId, 777u);
  EXPECT_EQ(first.dport, 53);
  // A later fragment whose payload happens to look like a UDP header: its bytes are data, not ports.
  const auto later = decode(kRaw, test::ipv4({.proto = 17, .id = 777, .fragOffset = 3}, test::udpHeader(9, 9)));
  ASSERT_EQ(later.status, DecodeStatus::Ok);
  EXPECT_TRUE(later.isFragment);
  EXPECT_FALSE(later.firstFragment);
  EXPECT_EQ(later.fragId, 777u);
  EXPECT_EQ(later.proto, 17);
  EXPECT_EQ(later.sport, 0);
  EXPECT_EQ(later.dport, 0);
}

TEST(Decoder, MalformedIpv4HeadersAreUndecodableWithDetail) {
  const auto badVersion = decode(kEthernet, test::ethernet(0x0800, test::ipv4({.version = 5}, {})));
  EXPECT_EQ(badVersion.status, DecodeStatus::Undecodable);
  EXPECT_STREQ(badVersion.detail, "IPv4 version is not 4");
  const auto badIhl = decode(kRaw, test::ipv4({.ihlOverride = 4}, test::tcpHeader(1, 2, 0)));
  EXPECT_EQ(badIhl.status, DecodeStatus::Undecodable);
  EXPECT_STREQ(badIhl.detail, "IPv4 header length below 20");
  const auto badTotal = decode(kRaw, test::ipv4({.totalLength = 19}, test::tcpHeader(1, 2, 0)));
  EXPECT_EQ(badTotal.status, DecodeStatus::Undecodable);
  EXPECT_STREQ(badTotal.detail, "IPv4 total length below header length");
  // A total length beyond what was captured: bounds come from caplen, the header's claim is recorded.
  const auto longer = decode(kRaw, test::ipv4({.totalLength = 1500}, test::tcpHeader(1, 2, 0x10)));
  ASSERT_EQ(longer.status, DecodeStatus::Ok);
  EXPECT_EQ(longer.ipLength, 1500u);
  EXPECT_EQ(longer.tcpFlags, 0x10);
  // Total length 0: segmentation offload on the capturing host.
  const auto tso = decode(kRaw, test::ipv4({.totalLength = 0}, test::tcpHeader(1, 2, 0x18)));
  ASSERT_EQ(tso.status, DecodeStatus::Ok);
  EXPECT_EQ(tso.ipLength, 0u);
  EXPECT_EQ(tso.tcpFlags, 0x18);
  EXPECT_STREQ(decode(kRaw, Bytes{0x30, 0, 0, 0}).detail, "IP version neither 4 nor 6");
}

TEST(Decoder, Ipv6ExtensionHeaderChain) {
  const Bytes chain = cat({test::ipv6Ext(43), test::ipv6Ext(60, 1), test::ipv6Ext(6), test::tcpHeader(2222, 22, 0x12)});
  const auto k = decode(kRaw, test::ipv6(0, chain));
  ASSERT_EQ(k.status, DecodeStatus::Ok) << k.detail;
  EXPECT_EQ(k.proto, 6);
  EXPECT_EQ(k.sport, 2222);
  EXPECT_EQ(k.dport, 22);
  EXPECT_EQ(k.tcpFlags, 0x12);

  const auto ah = decode(kRaw, test::ipv6(51, cat({test::ipv6Ah(17), test::udpHeader(500, 500)})));
  ASSERT_EQ(ah.status, DecodeStatus::Ok);
  EXPECT_EQ(ah.proto, 17);
  EXPECT_EQ(ah.dport, 500);

  const auto esp = decode(kRaw, test::ipv6(50, Bytes(32, 0x11)));
  ASSERT_EQ(esp.status, DecodeStatus::Ok);
  EXPECT_EQ(esp.proto, 50);
  EXPECT_EQ(esp.sport, 0);

  Bytes longChain;
  for (int i = 0; i < kMaxIpv6ExtHeaders + 1; ++i) longChain = cat({longChain, test::ipv6Ext(60)});
  const auto tooLong = decode(kRaw, test::ipv6(60, cat({longChain, test::udpHeader(1, 2)})));
  EXPECT_EQ(tooLong.status, DecodeStatus::Undecodable);
  EXPECT_STREQ(tooLong.detail, "too many IPv6 extension headers");

  const auto cut = decode(kRaw, test::ipv6(0, Bytes{6, 3, 0, 0, 0, 0, 0, 0}));  // claims 32 bytes, has 8
  EXPECT_EQ(cut.status, DecodeStatus::Undecodable);
  EXPECT_STREQ(cut.detail, "truncated IPv6 extension header");
}

TEST(Decoder, Ipv6Fragments) {
  const auto first =
      decode(kRaw, test::ipv6(44, cat({test::ipv6Fragment(17, 0, true, 0xdeadbeef), test::udpHeader(7, 8)})));
  ASSERT_EQ(first.status, DecodeStatus::Ok);
  EXPECT_TRUE(first.isFragment);
  EXPECT_TRUE(first.firstFragment);
  EXPECT_EQ(first.fragId, 0xdeadbeefu);
  EXPECT_EQ(first.proto, 17);
  EXPECT_EQ(first.dport, 8);
  const auto later =
      decode(kRaw, test::ipv6(44, cat({test::ipv6Fragment(17, 100, false, 0xdeadbeef), test::udpHeader(7, 8)})));
  ASSERT_EQ(later.status, DecodeStatus::Ok);
  EXPECT_TRUE(later.isFragment);
  EXPECT_FALSE(later.firstFragment);
  EXPECT_EQ(later.proto, 17);
  EXPECT_EQ(later.dport, 0);
  // An atomic fragment (RFC 6946) is a whole packet.
  const auto atomic = decode(kRaw, test::ipv6(44, cat({test::ipv6Fragment(6, 0, false, 5), test::tcpHeader(1, 2, 2)})));
  EXPECT_FALSE(atomic.isFragment);
  EXPECT_EQ(atomic.dport, 2);
}

TEST(Decoder, IcmpEchoIdentifierIsBothPorts) {
  const auto request = decode(kRaw, test::ipv4({.proto = 1}, test::icmpHeader(8, 0, 0x4242)));
  ASSERT_EQ(request.status, DecodeStatus::Ok);
  EXPECT_EQ(request.icmpType, 8);
  EXPECT_EQ(request.sport, 0x4242);
  EXPECT_EQ(request.dport, 0x4242);
  const auto reply = decode(kRaw, test::ipv4({.proto = 1}, test::icmpHeader(0, 0, 0x4242)));
  EXPECT_EQ(reply.sport, 0x4242);
  const auto unreachable = decode(kRaw, test::ipv4({.proto = 1}, test::icmpHeader(3, 13, 0x4242)));
  ASSERT_EQ(unreachable.status, DecodeStatus::Ok);
  EXPECT_EQ(unreachable.icmpType, 3);
  EXPECT_EQ(unreachable.icmpCode, 13);
  EXPECT_EQ(unreachable.sport, 0);
  EXPECT_EQ(unreachable.dport, 0);

  const auto echo6 = decode(kRaw, test::ipv6(58, test::icmpHeader(129, 0, 0x77)));
  ASSERT_EQ(echo6.status, DecodeStatus::Ok);
  EXPECT_EQ(echo6.icmpType, 129);
  EXPECT_EQ(echo6.dport, 0x77);
  const auto ns = decode(kRaw, test::ipv6(58, test::icmpHeader(135, 0, 0x77)));
  EXPECT_EQ(ns.icmpType, 135);
  EXPECT_EQ(ns.sport, 0);
  // ICMP type 8 inside IPv6 (protocol 1) is not ICMPv6: just a protocol number.
  EXPECT_EQ(decode(kRaw, test::ipv6(1, test::icmpHeader(8, 0, 9))).sport, 0);
}

TEST(Decoder, OtherProtocolsAreJustANumber) {
  const auto gre = decode(kRaw, test::ipv4({.proto = 47}, Bytes{0, 0, 0x08, 0x00, 1, 2, 3, 4}));
  ASSERT_EQ(gre.status, DecodeStatus::Ok);
  EXPECT_EQ(gre.proto, 47);
  EXPECT_EQ(gre.sport, 0);
  EXPECT_EQ(gre.dport, 0);
}

TEST(Decoder, TruncatedTransportKeepsPortsWhenPresent) {
  const Bytes full = tcpV4(1234, 80, 0x02);
  const Bytes portsOnly(full.begin(), full.begin() + 24);
  const auto k = decode(kRaw, portsOnly);
  ASSERT_EQ(k.status, DecodeStatus::Ok);
  EXPECT_EQ(k.sport, 1234);
  EXPECT_EQ(k.dport, 80);
  EXPECT_EQ(k.tcpFlags, 0);
  const auto cut = decode(kRaw, Bytes(full.begin(), full.begin() + 23));
  EXPECT_EQ(cut.status, DecodeStatus::Undecodable);
  EXPECT_STREQ(cut.detail, "truncated TCP header");
  EXPECT_EQ(cut.src.toString(), "10.0.0.1");  // the IP part is still there for the report
  const Bytes udp = test::ipv4({.proto = 17}, test::udpHeader(1, 2));
  EXPECT_STREQ(decode(kRaw, Bytes(udp.begin(), udp.begin() + 22)).detail, "truncated UDP header");
  const Bytes echo = test::ipv4({.proto = 1}, test::icmpHeader(8, 0, 1));
  EXPECT_STREQ(decode(kRaw, Bytes(echo.begin(), echo.begin() + 25)).detail, "truncated ICMP echo");
  EXPECT_STREQ(decode(kRaw, Bytes(echo.begin(), echo.begin() + 21)).detail, "truncated ICMP header");
}

// Every prefix of every valid frame: a status with a detail, never a crash, and whatever the prefix does
// decode agrees with the whole frame.
TEST(Decoder, EveryPrefixOfValidFramesDecodesConsistently) {
  const std::vector<std::pair<int, Bytes>> frames = {
      {kEthernet, test::ethernet(0x0800, tcpV4(), {{0x88a8, 5}, {0x8100, 6}})},
      {kEthernet, test::ethernet(0x86dd, test::ipv6(0, cat({test::ipv6Ext(44), test::ipv6Fragment(58, 0, true, 9),
                                                            test::icmpHeader(128, 0, 3)})))},
      {kEthernet, test::ethernet(0x0800, test::ipv4({.proto = 1, .options = Bytes(8, 1)}, test::icmpHeader(8, 0, 3)))},
      {kSll, test::sll(0x86dd, test::ipv6(51, cat({test::ipv6Ah(6), test::tcpHeader(1, 2, 0x11)})))},
      {kSll2, test::sll2(0x0800, test::ipv4({.proto = 17}, test::udpHeader(1, 2, 3)))},
      {kNull, test::loopback(28, false, udpV6())},
      {kLoop, test::loopback(2, true, tcpV4())},
      {kLinktypeRaw, udpV6()},
  };
  for (const auto& [linkType, frame] : frames) {
    const PacketKey whole = decode(linkType, frame);
    ASSERT_EQ(whole.status, DecodeStatus::Ok) << whole.detail;
    for (std::size_t n = 0; n < frame.size(); ++n) {
      SCOPED_TRACE(testing::Message() << "link type " << linkType << ", " << n << " of " << frame.size() << " bytes");
      const PacketKey k = decode(linkType, Bytes(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n)));
      ASSERT_NE(k.detail, nullptr);
      if (k.status == DecodeStatus::Ok) {
        EXPECT_EQ(k.src, whole.src);
        EXPECT_EQ(k.dst, whole.dst);
        EXPECT_EQ(k.proto, whole.proto);
        EXPECT_EQ(k.sport, whole.sport);
        EXPECT_EQ(k.dport, whole.dport);
      } else {
        EXPECT_EQ(k.status, DecodeStatus::Undecodable);
        EXPECT_STRNE(k.detail, "");
      }
    }
  }
}

TEST(Decoder, RandomBytesNeverCrash) {
  std::mt19937 rng(20261123);
  const int linkTypes[] = {kEthernet, kRaw, kLinktypeRaw, kNull, kLoop, kSll, kSll2, kIpv4Only, kIpv6Only, 105};
  const Bytes seed = test::ethernet(
      0x86dd, test::ipv6(0, cat({test::ipv6Ext(44), test::ipv6Fragment(6, 0, true, 1), test::tcpHeader(1, 2, 2)})));
  int ok = 0;
  for (int i = 0; i < 50000; ++i) {
    Bytes frame;
    if (i % 2 == 0) {
      frame.resize(rng() % 128);
      for (auto& b : frame) b = static_cast<std::uint8_t>(rng());
    } else {  // mutate a valid frame so that the deep headers are reached too
      frame = seed;
      for (int flips = 0; flips < 3; ++flips) frame[rng() % frame.size()] = static_cast<std::uint8_t>(rng());
      frame.resize(rng() % (frame.size() + 1));
    }
    const int linkType = i % 2 == 0 ? linkTypes[rng() % std::size(linkTypes)] : kEthernet;
    const PacketKey k = decode(linkType, frame);
    ASSERT_NE(k.detail, nullptr);
    if (k.status == DecodeStatus::Ok) {
      ++ok;
      EXPECT_EQ(k.src.family, k.family);
    }
  }
  EXPECT_GT(ok, 0);  // the mutations do reach well-formed packets
}

TEST(Decoder, StatusNames) {
  EXPECT_STREQ(decodeStatusName(DecodeStatus::Ok), "ok");
  EXPECT_STREQ(decodeStatusName(DecodeStatus::NotIp), "not-ip");
  EXPECT_STREQ(decodeStatusName(DecodeStatus::Undecodable), "undecodable");
  EXPECT_STREQ(decodeStatusName(DecodeStatus::UnsupportedLinkType), "unsupported-link-type");
}

// ---- VXLAN (--decap vxlan): traffic-mirror captures ----

DecapFrame decap(int linkType, const Bytes& frame, std::uint16_t port = kVxlanPort) {
  Bytes copy(frame);
  return decodeVxlan(linkType, copy.empty() ? nullptr : copy.data(), static_cast<std::uint32_t>(copy.size()), port);
}

// Outer IPv4 192.168.0.1 > 192.168.0.2, UDP 50000 > `port`, carrying `payload`.
Bytes outerV4(const Bytes& payload, std::uint16_t port = 4789) {
  test::Ipv4 h;
  h.src = 0xc0a80001;
  h.dst = 0xc0a80002;
  h.proto = 17;
  return test::ethernet(0x0800, test::ipv4(h, test::udpCarrying(50000, port, payload)));
}

TEST(Vxlan, InnerFrameOverIpv4IsDecoded) {
  const Bytes inner = test::ethernet(0x0800, tcpV4());
  const DecapFrame d = decap(kEthernet, outerV4(test::vxlan(100, inner)));
  EXPECT_EQ(d.decap, Decap::Inner);
  expectTcpV4(d.key);
  EXPECT_EQ(d.key.vni, 100);
  EXPECT_EQ(d.encapLen, 14u + 20u + 8u + 8u);  // outer Ethernet, IPv4, UDP, VXLAN
}

TEST(Vxlan, InnerFrameOverIpv6IsDecoded) {
  const Bytes inner = test::ethernet(0x86dd, udpV6());
  const Bytes outer =
      test::ethernet(0x86dd, test::ipv6(17, test::udpCarrying(50000, 4789, test::vxlan(0xabcdef, inner)), 0x11, 0x22));
  const DecapFrame d = decap(kEthernet, outer);
  EXPECT_EQ(d.decap, Decap::Inner);
  expectUdpV6(d.key);
  EXPECT_EQ(d.key.vni, 0xabcdef);
  EXPECT_EQ(d.encapLen, 14u + 40u + 8u + 8u);
}

TEST(Vxlan, InnerVlanTagsAndOuterVlanAndRawOuter) {
  // QinQ inside: the inner frame's outermost VLAN is the key's.
  const Bytes inner = test::ethernet(0x0800, tcpV4(), {{0x88a8, 200}, {0x8100, 100}});
  DecapFrame d = decap(kEthernet, outerV4(test::vxlan(7, inner)));
  EXPECT_EQ(d.decap, Decap::Inner);
  expectTcpV4(d.key);
  EXPECT_EQ(d.key.vlan, 200);
  // An outer VLAN tag and a raw-IP outer link layer change nothing inside.
  test::Ipv4 h;
  h.proto = 17;
  const Bytes ip = test::ipv4(h, test::udpCarrying(1234, 4789, test::vxlan(7, test::ethernet(0x0800, tcpV4()))));
  d = decap(kEthernet, test::ethernet(0x0800, ip, {{0x8100, 5}}));
  expectTcpV4(d.key);
  EXPECT_EQ(d.key.vlan, 0);
  EXPECT_EQ(d.encapLen, 18u + 20u + 16u);
  d = decap(kRaw, ip);
  expectTcpV4(d.key);
  EXPECT_EQ(d.encapLen, 20u + 16u);
}

TEST(Vxlan, TruncatedVxlanHeaderLeavesTheOuterPacket) {
  Bytes frame = outerV4(test::vxlan(100, test::ethernet(0x0800, tcpV4())));
  const std::size_t vxlanAt = 14 + 20 + 8;
  for (const std::size_t cut : {vxlanAt - 4, vxlanAt, vxlanAt + 3, vxlanAt + 7}) {
    Bytes part(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(cut));
    const DecapFrame d = decap(kEthernet, part);
    EXPECT_EQ(d.decap, Decap::Truncated) << cut;
    ASSERT_EQ(d.key.status, DecodeStatus::Ok) << cut;
    EXPECT_EQ(d.key.dport, 4789);
    EXPECT_EQ(d.key.vni, -1);
    EXPECT_EQ(d.encapLen, 0u);
  }
  // The header whole but the inner frame cut short: decapsulated, and undecodable inside.
  Bytes part(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(vxlanAt + 8 + 14 + 10));
  const DecapFrame d = decap(kEthernet, part);
  EXPECT_EQ(d.decap, Decap::Inner);
  EXPECT_EQ(d.key.status, DecodeStatus::Undecodable);
  EXPECT_STREQ(d.key.detail, "truncated IPv4 header (inside VXLAN)");
  EXPECT_EQ(d.key.vni, 100);
}

TEST(Vxlan, IFlagDecidesReservedBitsDoNot) {
  const Bytes inner = test::ethernet(0x0800, tcpV4());
  DecapFrame d = decap(kEthernet, outerV4(test::vxlan(100, inner, 0x00)));
  EXPECT_EQ(d.decap, Decap::NoIFlag);
  EXPECT_EQ(d.key.proto, 17);
  EXPECT_EQ(d.key.vni, -1);
  d = decap(kEthernet, outerV4(test::vxlan(100, inner, 0x0c)));  // VXLAN-GPE's P bit beside I: ignored
  EXPECT_EQ(d.decap, Decap::Inner);
  expectTcpV4(d.key);
}

TEST(Vxlan, OnlyTheGivenPortIsDecapsulated) {
  const Bytes frame = outerV4(test::vxlan(100, test::ethernet(0x0800, tcpV4())), 8472);
  DecapFrame d = decap(kEthernet, frame);
  EXPECT_EQ(d.decap, Decap::NotVxlanPort);
  EXPECT_EQ(d.key.dport, 8472);
  d = decap(kEthernet, frame, 8472);
  EXPECT_EQ(d.decap, Decap::Inner);
  expectTcpV4(d.key);
  // Not UDP, not IP at all.
  EXPECT_EQ(decap(kEthernet, test::ethernet(0x0800, tcpV4(40000, 4789))).decap, Decap::NotVxlanPort);
  EXPECT_EQ(decap(kEthernet, test::ethernet(0x0806, Bytes(28, 0))).decap, Decap::NotVxlanPort);
  // decodeFrame never decapsulates.
  const PacketKey outer = decode(kEthernet, frame);
  EXPECT_EQ(outer.proto, 17);
  EXPECT_EQ(outer.vni, -1);
}

TEST(Vxlan, FragmentedOuterPacketIsNotDecapsulated) {
  test::Ipv4 h;
  h.proto = 17;
  h.moreFragments = true;
  const Bytes ip = test::ipv4(h, test::udpCarrying(1, 4789, test::vxlan(100, test::ethernet(0x0800, tcpV4()))));
  const DecapFrame d = decap(kEthernet, test::ethernet(0x0800, ip));
  EXPECT_EQ(d.decap, Decap::Fragmented);
  EXPECT_TRUE(d.key.isFragment);
  EXPECT_EQ(d.key.vni, -1);
}

TEST(Vxlan, NonIpInnerFrameIsNamedAsInside) {
  const DecapFrame d = decap(kEthernet, outerV4(test::vxlan(9, test::ethernet(0x0806, Bytes(28, 0)))));
  EXPECT_EQ(d.decap, Decap::Inner);
  EXPECT_EQ(d.key.status, DecodeStatus::NotIp);
  EXPECT_STREQ(d.key.detail, "ARP (inside VXLAN)");
  EXPECT_EQ(d.key.vni, 9);
}

TEST(Vxlan, RandomBytesAfterTheHeaderNeverReadPastTheFrame) {
  std::mt19937 rng(20261206);
  for (int i = 0; i < 20000; ++i) {
    Bytes tail(static_cast<std::size_t>(rng() % 80));
    for (auto& b : tail) b = static_cast<std::uint8_t>(rng());
    const DecapFrame d =
        decap(kEthernet, outerV4(test::vxlan(rng() & 0xffffff, tail, static_cast<std::uint8_t>(rng()))));
    ASSERT_NE(d.key.detail, nullptr);
    if (d.decap == Decap::Inner) {
      ASSERT_GE(d.key.vni, 0);
    } else {
      ASSERT_EQ(d.key.vni, -1);
    }
  }
}

}  // namespace
}  // namespace sgsim
