#pragma once
// The flat, fixed-size result of decoding one frame. Every later stage (flow tracking, classification,
// reports) reads this key, never the frame bytes (Open vSwitch's flow_extract idea).

#include <cstdint>

#include "sgsim/core/ip.h"

namespace sgsim {

enum class DecodeStatus : std::uint8_t {
  Ok,                   // an IPv4/IPv6 packet; the fields below are valid
  NotIp,                // a well-formed frame carrying something other than IP (ARP, STP, LLDP…)
  Undecodable,          // truncated or malformed headers; `detail` says what
  UnsupportedLinkType,  // the capture's link type is not one the decoder reads
};

struct PacketKey {
  DecodeStatus status = DecodeStatus::Undecodable;
  // Static string naming the problem or the non-IP payload ("ARP", "truncated IPv4 header",
  // "link type 105 (IEEE802_11)"…). Never null; "" when status is Ok.
  const char* detail = "";

  Family family = Family::V4;
  // The VXLAN network identifier (0 .. 2^24-1) of the tunnel this packet came out of when it is the inner frame
  // of a VXLAN packet (--decap vxlan, decoder.h decodeVxlan); -1 for a frame evaluated as itself. (Placed here,
  // in the padding after `family`, so that the key stays the same size.)
  std::int32_t vni = -1;
  IpAddr src;
  IpAddr dst;
  std::uint8_t proto = 0;  // IANA number of the transport (after IPv6 extension headers)
  // TCP/UDP ports; ICMP/ICMPv6 echo request/reply: the identifier in both (so the reply reverses onto
  // the request); other ICMP and other protocols: 0.
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t tcpFlags = 0;  // FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10
  std::uint8_t icmpType = 0;
  std::uint8_t icmpCode = 0;

  // Fragments. A first fragment (offset 0, more-fragments set) has isFragment && firstFragment and
  // carries its L4 ports when present; a later fragment has isFragment && !firstFragment and no ports.
  bool isFragment = false;
  bool firstFragment = false;
  std::uint32_t fragId = 0;  // IPv4 identification or IPv6 fragment header identification

  std::uint32_t ipLength = 0;  // IP total length as the header states (0 when unknown)
  std::uint16_t vlan = 0;      // outermost 802.1Q VLAN id, 0 when untagged
};

}  // namespace sgsim
