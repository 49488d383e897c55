#pragma once
// Building the bytes of test packets for pcapgen: IPv4/IPv6 (with extension headers and fragments),
// TCP/UDP/ICMP/ICMPv6/GRE with correct lengths and checksums, and the link-layer framings the capture
// reader must understand. Everything here is a pure function of its arguments, so a scenario that is
// replayed produces the same bytes.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "sgsim/core/ip.h"

namespace sgsim {

using Bytes = std::vector<std::uint8_t>;

void put8(Bytes& b, std::uint8_t v);
void put16(Bytes& b, std::uint16_t v);  // network order
void put32(Bytes& b, std::uint32_t v);  // network order
void putBytes(Bytes& b, std::span<const std::uint8_t> v);
void putText(Bytes& b, std::string_view text);
void putIp(Bytes& b, const IpAddr& a);  // 4 or 16 bytes
void set16(Bytes& b, std::size_t at, std::uint16_t v);

// RFC 1071 one's-complement sum, folded and complemented.
std::uint16_t inetChecksum(std::span<const std::uint8_t> data, std::uint32_t initial = 0);

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoGre = 47;
inline constexpr std::uint8_t kProtoIcmpv6 = 58;
inline constexpr std::uint8_t kIpv6HopByHop = 0;
inline constexpr std::uint8_t kIpv6Fragment = 44;
inline constexpr std::uint8_t kIpv6DestOptions = 60;

inline constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

struct TcpSpec {
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  std::uint16_t window = 64240;
};

// L4 bytes with the checksum over the pseudo-header of src/dst (v4 or v6). A SYN carries an MSS option,
// as real stacks do.
Bytes tcpSegment(const IpAddr& src, const IpAddr& dst, const TcpSpec& spec, std::span<const std::uint8_t> payload);
Bytes udpDatagram(const IpAddr& src, const IpAddr& dst, std::uint16_t sport, std::uint16_t dport,
                  std::span<const std::uint8_t> payload);
Bytes icmpEcho(bool request, std::uint16_t id, std::uint16_t seq, std::span<const std::uint8_t> payload);
Bytes icmpv6Echo(const IpAddr& src, const IpAddr& dst, bool request, std::uint16_t id, std::uint16_t seq,
                 std::span<const std::uint8_t> payload);
// Neighbour solicitation for `target` (ICMPv6 type 135) with a source link-layer address option.
Bytes icmpv6NeighborSolicit(const IpAddr& src, const IpAddr& dst, const IpAddr& target, const std::uint8_t* mac);
// Basic GRE (RFC 2784, no options) carrying `inner` with the given EtherType.
Bytes greHeader(std::uint16_t etherType, std::span<const std::uint8_t> inner);

// One IPv6 extension header (hop-by-hop or destination options) padded with PadN to 8 bytes.
struct Ipv6Ext {
  std::uint8_t type = kIpv6DestOptions;
  std::uint8_t optionBytes = 6;  // length of the PadN option area (6 gives the minimum 8-byte header)
};

struct IpOptions {
  std::uint8_t ttl = 64;
  std::uint16_t id = 0;  // IPv4 identification
  bool dontFragment = true;
  std::vector<Ipv6Ext> v6Ext;  // in order, before the transport header
};

// A complete IP packet; the family comes from src.
Bytes ipPacket(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, std::span<const std::uint8_t> l4,
               const IpOptions& opt = {});

// Split an IPv4 packet so that no fragment carries more than `maxPayload` bytes (rounded down to 8).
std::vector<Bytes> fragmentIpv4(const Bytes& packet, std::size_t maxPayload);
// Split an IPv6 packet with a fragment header (identification `id`), keeping a hop-by-hop header in the
// unfragmentable part as RFC 8200 requires.
std::vector<Bytes> fragmentIpv6(const Bytes& packet, std::size_t maxPayload, std::uint32_t id);

// Link layers. Values are the LINKTYPE_ numbers written in the file header.
enum class Link { Ethernet, Vlan, QinQ, Sll, Sll2, Raw, Null };
int linkTypeOf(Link link);

using Mac = std::array<std::uint8_t, 6>;

struct LinkInfo {
  Mac src{};
  Mac dst{};
  bool outgoing = false;  // SLL packet type: sent by the capturing host, or addressed to it
};

// Wrap an IP packet (family read from its first nibble) in the link layer.
Bytes frameIp(Link link, const LinkInfo& info, const Bytes& ip);
// An Ethernet II frame with a given EtherType (ARP, LLDP…).
Bytes ethernetFrame(const Mac& dst, const Mac& src, std::uint16_t etherType, std::span<const std::uint8_t> payload);

}  // namespace sgsim
