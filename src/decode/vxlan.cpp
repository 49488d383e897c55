// VXLAN decapsulation (decoder.h): the outer frame as decodeFrame decodes it, then the inner Ethernet frame.

#include <string>

#include "decode_internal.h"
#include "sgsim/decode/decoder.h"

namespace sgsim {
namespace {

constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kIFlag = 0x08;  // RFC 7348 §5: "I" flag, the VNI is valid; the other bits are ignored

}  // namespace

DecapFrame decodeVxlan(int linkType, const std::uint8_t* data, std::uint32_t capLen, std::uint16_t port) {
  DecapFrame out;
  ByteReader r(data, capLen);
  decode::link(linkType, r, out.key);
  const PacketKey& outer = out.key;
  if (outer.status != DecodeStatus::Ok || outer.proto != kUdp || outer.dport != port) return out;
  if (outer.isFragment) {
    out.decap = Decap::Fragmented;
    return out;
  }
  // udp() read the ports and nothing more: the reader is at the UDP length field. (Bounded by the outer IP length.)
  r.skip(4);  // UDP length, checksum
  const std::uint8_t flags = r.u8();
  r.skip(3);  // reserved
  const std::uint32_t vniWord = r.be32();
  if (r.overflow()) {
    out.decap = Decap::Truncated;
    return out;
  }
  if ((flags & kIFlag) == 0) {
    out.decap = Decap::NoIFlag;
    return out;
  }
  const std::size_t encapLen = r.position();
  // Outer headers beyond 64 KiB (IPv6 extension headers of absurd length) are no mirror session's: such a
  // frame is evaluated as itself, counted with the cut-short ones.
  if (encapLen > 0xffff) {
    out.decap = Decap::Truncated;
    return out;
  }
  PacketKey inner;
  decode::ethernet(r, inner);
  inner.vni = static_cast<std::int32_t>(vniWord >> 8);
  if (inner.status != DecodeStatus::Ok) {
    // Bounded: details are static strings or interned ethertype/link-type names.
    inner.detail = decode::internDetail(std::string(inner.detail) + " (inside VXLAN)");
  }
  out.key = inner;
  out.decap = Decap::Inner;
  out.encapLen = static_cast<std::uint16_t>(encapLen);
  return out;
}

const char* decapName(Decap decap) {
  switch (decap) {
    case Decap::Inner:
      return "VXLAN";
    case Decap::NotVxlanPort:
      return "not UDP to the VXLAN port";
    case Decap::Fragmented:
      return "an IP fragment of UDP to the VXLAN port";
    case Decap::Truncated:
      return "UDP to the VXLAN port with its UDP or VXLAN header cut short";
    case Decap::NoIFlag:
      return "UDP to the VXLAN port whose VXLAN header has the I flag clear";
  }
  return "not VXLAN";
}

}  // namespace sgsim
