// IPv4 (options, fragments) and the version dispatch shared by every link layer.

#include "decode_internal.h"

namespace sgsim::decode {
namespace {

constexpr std::uint16_t kMoreFragments = 0x2000;
constexpr std::uint16_t kOffsetMask = 0x1fff;

}  // namespace

void ip(ByteReader& r, PacketKey& key, int version) {
  const std::uint8_t first = r.u8();
  if (r.overflow()) {
    return fail(key, DecodeStatus::Undecodable, version == 6 ? "truncated IPv6 header" : "truncated IPv4 header");
  }
  if (version == 0) version = first >> 4;
  if (version == 4) return ipv4(first, r, key);
  if (version == 6) return ipv6(first, r, key);
  fail(key, DecodeStatus::Undecodable, "IP version neither 4 nor 6");
}

void ipv4(std::uint8_t versionIhl, ByteReader& r, PacketKey& key) {
  if (versionIhl >> 4 != 4) return fail(key, DecodeStatus::Undecodable, "IPv4 version is not 4");
  const std::uint32_t headerLength = (versionIhl & 0x0fu) * 4;
  if (headerLength < 20) return fail(key, DecodeStatus::Undecodable, "IPv4 header length below 20");
  r.skip(1);  // type of service
  const std::uint16_t totalLength = r.be16();
  const std::uint16_t id = r.be16();
  const std::uint16_t fragment = r.be16();
  r.skip(1);  // TTL
  const std::uint8_t proto = r.u8();
  r.skip(2);  // checksum: a capture of an offloading sender has wrong ones, so it is not checked
  const std::uint32_t src = r.be32();
  const std::uint32_t dst = r.be32();
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated IPv4 header");
  key.family = Family::V4;
  key.src = IpAddr::v4(src);
  key.dst = IpAddr::v4(dst);
  key.proto = proto;
  key.ipLength = totalLength;
  key.fragId = id;
  const std::uint16_t offset = fragment & kOffsetMask;
  key.isFragment = (fragment & kMoreFragments) != 0 || offset != 0;
  key.firstFragment = key.isFragment && offset == 0;
  r.skip(headerLength - 20);  // options
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated IPv4 options");
  // Total length 0 is what a capture of a TCP-segmentation-offloading sender shows: bound by caplen only.
  if (totalLength != 0) {
    if (totalLength < headerLength)
      return fail(key, DecodeStatus::Undecodable, "IPv4 total length below header length");
    r.limit(totalLength - headerLength);  // Ethernet padding is not transport header
  }
  key.status = DecodeStatus::Ok;
  if (offset != 0) return;  // a later fragment carries no transport header
  transport(r, key);
}

}  // namespace sgsim::decode
