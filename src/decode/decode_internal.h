#pragma once
// The per-protocol decoders behind decodeFrame. Each reads its header from the reader, fills its part of
// the key and hands the rest on; on a problem it sets status and a static detail and stops.

#include <cstdint>
#include <string>

#include "byte_reader.h"
#include "sgsim/decode/packet_key.h"

namespace sgsim::decode {

inline void fail(PacketKey& key, DecodeStatus status, const char* detail) {
  key.status = status;
  key.detail = detail;
}

// A static-lifetime copy of a dynamic detail ("ethertype 0x88b5"). The set of such strings is bounded
// (one per ethertype or link type value), so this does not grow with capture length.
const char* internDetail(const std::string& text);

// The link layer of `linkType` and everything inside it (decoder.cpp): decodeFrame's body, which decodeVxlan
// continues from where the outer UDP header's ports end.
void link(int linkType, ByteReader& r, PacketKey& key);

// Link layers (ethernet.cpp, sll.cpp, loopback.cpp).
void ethernet(ByteReader& r, PacketKey& key);
void linuxSll(ByteReader& r, PacketKey& key);
void linuxSll2(ByteReader& r, PacketKey& key);
void loopback(ByteReader& r, PacketKey& key, bool networkOrderOnly);
// An EtherType payload, including stacked VLAN tags (ethernet.cpp); used by Ethernet, SLL and SNAP.
void etherPayload(std::uint16_t etherType, ByteReader& r, PacketKey& key);

// Network layer. ip() reads the first byte and hands it to ipv4() or ipv6(): by `version` (4 or 6, what
// the link layer announced) or, with version 0, by the version nibble (raw IP link types).
void ip(ByteReader& r, PacketKey& key, int version);
void ipv4(std::uint8_t versionIhl, ByteReader& r, PacketKey& key);
void ipv6(std::uint8_t firstByte, ByteReader& r, PacketKey& key);

// Transport (tcp_udp.cpp, icmp.cpp): reads the ports or ICMP fields of key.proto.
void transport(ByteReader& r, PacketKey& key);
void tcp(ByteReader& r, PacketKey& key);
void udp(ByteReader& r, PacketKey& key);
void icmp(ByteReader& r, PacketKey& key, std::uint8_t echoRequest, std::uint8_t echoReply);

}  // namespace sgsim::decode
