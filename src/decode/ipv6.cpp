// IPv6 and its extension header chain (bounded by kMaxIpv6ExtHeaders).

#include "decode_internal.h"
#include "sgsim/decode/decoder.h"

namespace sgsim::decode {
namespace {

enum NextHeader : std::uint8_t {
  kHopByHop = 0,
  kRouting = 43,
  kFragment = 44,
  kAuthentication = 51,
  kDestinationOptions = 60,
  kMobility = 135,
  kHip = 139,
  kShim6 = 140,
};

}  // namespace

void ipv6(std::uint8_t firstByte, ByteReader& r, PacketKey& key) {
  if (firstByte >> 4 != 6) return fail(key, DecodeStatus::Undecodable, "IPv6 version is not 6");
  r.skip(3);  // traffic class, flow label
  const std::uint16_t payloadLength = r.be16();
  std::uint8_t next = r.u8();
  r.skip(1);  // hop limit
  const std::uint8_t* src = r.bytes(16);
  const std::uint8_t* dst = r.bytes(16);
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated IPv6 header");
  key.family = Family::V6;
  key.src = IpAddr::v6(src);
  key.dst = IpAddr::v6(dst);
  key.ipLength = 40u + payloadLength;
  key.proto = next;
  // Payload length 0 (a jumbogram, or offload) leaves the bound at caplen.
  if (payloadLength != 0) r.limit(payloadLength);
  key.status = DecodeStatus::Ok;

  for (int headers = 0; headers < kMaxIpv6ExtHeaders; ++headers) {
    switch (next) {
      case kHopByHop:
      case kRouting:
      case kDestinationOptions:
      case kMobility:
      case kHip:
      case kShim6: {
        next = r.u8();
        const std::uint8_t units = r.u8();
        r.skip(units * 8u + 6);  // length in 8-byte units, not counting the first 8
        break;
      }
      case kAuthentication: {
        next = r.u8();
        const std::uint8_t words = r.u8();
        r.skip((words + 2u) * 4 - 2);  // length in 4-byte units, minus 2
        break;
      }
      case kFragment: {
        next = r.u8();
        r.skip(1);  // reserved
        const std::uint16_t offsetFlags = r.be16();
        const std::uint32_t id = r.be32();
        if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated IPv6 fragment header");
        const std::uint16_t offset = offsetFlags >> 3;
        // An atomic fragment (offset 0, no more fragments; RFC 6946) is a whole packet.
        key.isFragment = offset != 0 || (offsetFlags & 1) != 0;
        key.firstFragment = key.isFragment && offset == 0;
        key.fragId = id;
        key.proto = next;
        if (offset != 0) return;  // later fragments carry no transport header
        continue;
      }
      default:
        key.proto = next;
        return transport(r, key);  // includes ESP (50) and No Next Header (59): no ports
    }
    if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated IPv6 extension header");
    key.proto = next;
  }
  fail(key, DecodeStatus::Undecodable, "too many IPv6 extension headers");
}

}  // namespace sgsim::decode
