// Ethernet II, 802.3 with LLC/SNAP, and stacked VLAN tags.

#include <cstdio>

#include "decode_internal.h"
#include "sgsim/decode/decoder.h"

namespace sgsim::decode {
namespace {

constexpr std::uint16_t kIpv4 = 0x0800;
constexpr std::uint16_t kIpv6 = 0x86dd;
constexpr std::uint16_t kMaxLength8023 = 1500;  // values up to here are an 802.3 length, not a type

bool isVlanTpid(std::uint16_t type) { return type == 0x8100 || type == 0x88a8 || type == 0x9100; }

const char* etherTypeName(std::uint16_t type) {
  switch (type) {
    case 0x0806:
      return "ARP";
    case 0x8035:
      return "RARP";
    case 0x88cc:
      return "LLDP";
    case 0x8847:
    case 0x8848:
      return "MPLS";
    case 0x8863:
      return "PPPoE discovery";
    case 0x8864:
      return "PPPoE session";
    case 0x8137:
    case 0x8138:
      return "IPX";
    case 0x809b:
      return "AppleTalk";
    case 0x80f3:
      return "AARP";
    case 0x6003:
      return "DECnet";
    case 0x888e:
      return "EAPOL";
    case 0x8809:
      return "slow protocols (LACP)";
    case 0x88e5:
      return "MACsec";
    case 0x88f7:
      return "PTP";
    case 0x8902:
      return "CFM";
    case 0x9000:
      return "Ethernet loopback";
    case 0x88a2:
      return "ATA over Ethernet";
    case 0x8906:
      return "FCoE";
    case 0x22f3:
      return "TRILL";
    case 0x88e7:
      return "PBB";
    case 0x893a:
      return "IEEE 1905.1";
    case 0x0842:
      return "Wake-on-LAN";
    default: {
      char text[24];
      std::snprintf(text, sizeof text, "ethertype 0x%04x", type);
      return internDetail(text);  // at most 65536 distinct strings
    }
  }
}

// 802.2 LLC after an 802.3 length: SNAP may still carry IP (RFC 1042).
void llc(ByteReader& r, PacketKey& key) {
  const std::uint8_t dsap = r.u8();
  const std::uint8_t ssap = r.u8();
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated 802.2 LLC header");
  if (dsap == 0xff && ssap == 0xff) return fail(key, DecodeStatus::NotIp, "IPX (raw 802.3)");
  r.skip(1);  // control
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated 802.2 LLC header");
  if (dsap == 0xaa && ssap == 0xaa) {
    const std::uint8_t* oui = r.bytes(3);
    const std::uint16_t type = r.be16();
    if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated SNAP header");
    if (oui[0] == 0 && oui[1] == 0 && oui[2] == 0) return etherPayload(type, r, key);
    return fail(key, DecodeStatus::NotIp, "802.2 SNAP (non-Ethernet OUI)");
  }
  if (dsap == 0x42) return fail(key, DecodeStatus::NotIp, "STP");
  if (dsap == 0xe0) return fail(key, DecodeStatus::NotIp, "IPX");
  if (dsap == 0xf0) return fail(key, DecodeStatus::NotIp, "NetBIOS");
  if (dsap == 0xfe) return fail(key, DecodeStatus::NotIp, "OSI (802.2 LLC)");
  fail(key, DecodeStatus::NotIp, "802.2 LLC");
}

}  // namespace

void etherPayload(std::uint16_t etherType, ByteReader& r, PacketKey& key) {
  int tags = 0;
  while (isVlanTpid(etherType)) {
    if (++tags > kMaxVlanTags) return fail(key, DecodeStatus::Undecodable, "too many VLAN tags");
    const std::uint16_t tci = r.be16();
    etherType = r.be16();
    if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated VLAN tag");
    if (tags == 1) key.vlan = tci & 0x0fff;
  }
  if (etherType == kIpv4) return ip(r, key, 4);
  if (etherType == kIpv6) return ip(r, key, 6);
  if (etherType <= kMaxLength8023) return llc(r, key);
  fail(key, DecodeStatus::NotIp, etherTypeName(etherType));
}

void ethernet(ByteReader& r, PacketKey& key) {
  r.skip(12);  // destination and source MAC
  const std::uint16_t type = r.be16();
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated Ethernet header");
  if (type <= kMaxLength8023) r.limit(type);  // 802.3: the length excludes the padding
  etherPayload(type, r, key);
}

}  // namespace sgsim::decode
