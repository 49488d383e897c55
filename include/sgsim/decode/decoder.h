#pragma once
// Frame bytes → PacketKey. The decoder is pure: it reads only [data, data + capLen), never throws, never
// allocates on the common path and reads each byte at most once. Bounds come from capLen (what was
// captured), never from a length field inside the packet; ipLength records what the IP header claims.
//
// Link types (DLT or LINKTYPE values, both accepted where they differ):
//   0 NULL (BSD loopback, family in either byte order), 108 LOOP (family in network order),
//   1 EN10MB (Ethernet, up to kMaxVlanTags stacked 802.1Q/802.1ad/0x9100 tags, 802.3 LLC/SNAP),
//   113 LINUX_SLL, 276 LINUX_SLL2, 12/14/101 RAW, 228 IPV4, 229 IPV6.
// Anything else is UnsupportedLinkType.
//
// Truncated transport headers (a DECISION): a TCP or UDP header is usable when its first 4 bytes (the
// ports) were captured; TCP flags are then 0 if byte 13 is missing. Fewer than 4 bytes → Undecodable, with
// the IP fields still filled in. ICMP needs type and code; an echo needs its identifier too.
// An IPv4 total length of 0 is taken as TCP segmentation offload (the header length is unknown, ipLength 0).

#include <cstdint>

#include "sgsim/decode/packet_key.h"

namespace sgsim {

inline constexpr int kMaxVlanTags = 8;         // deeper stacks are Undecodable (Suricata bounds layers too)
inline constexpr int kMaxIpv6ExtHeaders = 16;  // a longer IPv6 extension chain is Undecodable

PacketKey decodeFrame(int linkType, const std::uint8_t* data, std::uint32_t capLen);

// True for link types decodeFrame reads.
bool isSupportedLinkType(int linkType);

// "ok", "not-ip", "undecodable", "unsupported-link-type": stable names for reports and counters.
const char* decodeStatusName(DecodeStatus status);

}  // namespace sgsim
