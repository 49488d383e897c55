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
// The same, into key (every field set): the reading thread's hot path decodes into its batch slot, where copying a
// returned key cost a stalled load per frame (the decoder's narrow stores, read back as wide ones).
void decodeFrame(int linkType, const std::uint8_t* data, std::uint32_t capLen, PacketKey& key);

// True for link types decodeFrame reads.
bool isSupportedLinkType(int linkType);

// "ok", "not-ip", "undecodable", "unsupported-link-type": stable names for reports and counters.
const char* decodeStatusName(DecodeStatus status);

// ---- VXLAN (RFC 7348): traffic-mirror captures (--decap vxlan[:PORT]) ----
// A mirror session sends copies of an interface's frames to a collector inside VXLAN: outer IPv4/IPv6, UDP to
// port 4789 (or the session's), an 8-byte VXLAN header (flags with the I bit 0x08 set, a 24-bit VNI), then the
// mirrored Ethernet frame, which may carry VLAN tags (QinQ too). decodeVxlan decodes the outer frame as
// decodeFrame does and, when it is such a packet, continues into the inner frame: the key is then the inner
// frame's, with `vni` set. Anything else is the frame's own key (vni -1), and `decap` says why it was not
// decapsulated. A later fragment of an inner IP packet is the inner key's business, as for any frame; an outer
// packet that is itself an IP fragment is not decapsulated (the VXLAN payload of one record is incomplete): it
// and its later fragments are evaluated as themselves, together.
// Other tunnels (GRE, IP-in-IP, Geneve) are not decapsulated: a security group sees their outer packet.
inline constexpr std::uint16_t kVxlanPort = 4789;  // IANA's port for VXLAN

// UDP to VXLAN's port: mirrored traffic given as it is, which every shard reads for the mirrored-traffic warning
// (pipeline/capture_stream.h), so that an index (pipeline/split.h) gives it to every shard too.
inline bool toVxlanPort(const PacketKey& key) { return key.dport == kVxlanPort && key.proto == 17; }

enum class Decap : std::uint8_t {
  Inner,         // a VXLAN packet: the key is the inner frame's (its status may still be NotIp or Undecodable)
  NotVxlanPort,  // not UDP to the port (not IP, another protocol or port): the frame's own key
  Fragmented,    // UDP to the port in an IP fragment: the frame's own key
  Truncated,     // UDP to the port, but the UDP or VXLAN header was cut short: the frame's own key
  NoIFlag,       // UDP to the port, but the VXLAN header's I flag (a valid VNI) is clear: the frame's own key
};
inline constexpr int kDecapOutcomes = 5;

struct DecapFrame {
  PacketKey key;
  Decap decap = Decap::NotVxlanPort;
  // Inner: the bytes of the outer headers (outer link layer, IP, UDP, VXLAN) before the inner frame; else 0.
  std::uint16_t encapLen = 0;
};

// `port`: the outer UDP destination port (4789 unless the mirror session uses another; 1..65535).
DecapFrame decodeVxlan(int linkType, const std::uint8_t* data, std::uint32_t capLen, std::uint16_t port);

// What a frame that was not decapsulated is, for messages: "not UDP to port 4789" …
const char* decapName(Decap decap);

}  // namespace sgsim
