// Linux "cooked" captures (tcpdump -i any): SLL v1 (16-byte header) and v2 (20 bytes).

#include "decode_internal.h"

namespace sgsim::decode {
namespace {

constexpr std::uint16_t kArphrdNetlink = 824;  // protocol is then a netlink family, not an EtherType
constexpr std::uint16_t kSllP8023 = 0x0001;    // Novell raw 802.3
constexpr std::uint16_t kSllP8022 = 0x0004;    // 802.2 LLC frame

void sllPayload(std::uint16_t hatype, std::uint16_t protocol, ByteReader& r, PacketKey& key) {
  if (hatype == kArphrdNetlink) return fail(key, DecodeStatus::NotIp, "netlink");
  if (protocol < 0x0600 && protocol != kSllP8023 && protocol != kSllP8022) {
    return fail(key, DecodeStatus::NotIp, "Linux SLL non-Ethernet protocol");
  }
  etherPayload(protocol, r, key);
}

}  // namespace

void linuxSll(ByteReader& r, PacketKey& key) {
  r.skip(2);  // packet type
  const std::uint16_t hatype = r.be16();
  r.skip(2 + 8);  // address length and address
  const std::uint16_t protocol = r.be16();
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated Linux SLL header");
  sllPayload(hatype, protocol, r, key);
}

void linuxSll2(ByteReader& r, PacketKey& key) {
  const std::uint16_t protocol = r.be16();
  r.skip(2 + 4);  // reserved, interface index
  const std::uint16_t hatype = r.be16();
  r.skip(1 + 1 + 8);  // packet type, address length, address
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated Linux SLL2 header");
  sllPayload(hatype, protocol, r, key);
}

}  // namespace sgsim::decode
