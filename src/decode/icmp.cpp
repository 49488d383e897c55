// ICMP and ICMPv6: type and code; an echo's identifier stands in for both ports so that the reply
// reverses onto the request's flow.

#include "decode_internal.h"

namespace sgsim::decode {

void icmp(ByteReader& r, PacketKey& key, std::uint8_t echoRequest, std::uint8_t echoReply) {
  const bool v6 = key.family == Family::V6;
  const std::uint8_t type = r.u8();
  const std::uint8_t code = r.u8();
  if (r.overflow())
    return fail(key, DecodeStatus::Undecodable, v6 ? "truncated ICMPv6 header" : "truncated ICMP header");
  key.icmpType = type;
  key.icmpCode = code;
  if (type != echoRequest && type != echoReply) return;
  r.skip(2);  // checksum
  const std::uint16_t id = r.be16();
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, v6 ? "truncated ICMPv6 echo" : "truncated ICMP echo");
  key.sport = id;
  key.dport = id;
}

}  // namespace sgsim::decode
