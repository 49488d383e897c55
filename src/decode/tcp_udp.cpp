// TCP and UDP: the ports, and TCP's flags. Transport dispatch lives here too.

#include "decode_internal.h"

namespace sgsim::decode {
namespace {

enum Proto : std::uint8_t { kIcmp = 1, kTcp = 6, kUdp = 17, kIcmpv6 = 58 };

// Ports first: a header cut after them still yields a usable flow key (decoder.h, DECISION).
bool ports(ByteReader& r, PacketKey& key, const char* truncated) {
  const std::uint16_t sport = r.be16();
  const std::uint16_t dport = r.be16();
  if (r.overflow()) {
    fail(key, DecodeStatus::Undecodable, truncated);
    return false;
  }
  key.sport = sport;
  key.dport = dport;
  return true;
}

}  // namespace

void transport(ByteReader& r, PacketKey& key) {
  switch (key.proto) {
    case kTcp:
      return tcp(r, key);
    case kUdp:
      return udp(r, key);
    case kIcmp:
      if (key.family == Family::V4) icmp(r, key, 8, 0);
      return;
    case kIcmpv6:
      if (key.family == Family::V6) icmp(r, key, 128, 129);
      return;
    default:
      return;  // GRE, ESP, SCTP…: the protocol number is the whole key
  }
}

void tcp(ByteReader& r, PacketKey& key) {
  if (!ports(r, key, "truncated TCP header")) return;
  r.skip(8 + 1);  // sequence, acknowledgement, data offset
  const std::uint8_t flags = r.u8();
  if (!r.overflow()) key.tcpFlags = flags;
}

void udp(ByteReader& r, PacketKey& key) { ports(r, key, "truncated UDP header"); }

}  // namespace sgsim::decode
