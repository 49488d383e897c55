#include "packet_build.h"

#include <pcap/pcap.h>

#include <stdexcept>

namespace sgsim {

void put8(Bytes& b, std::uint8_t v) { b.push_back(v); }
void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
void putBytes(Bytes& b, std::span<const std::uint8_t> v) { b.insert(b.end(), v.begin(), v.end()); }
void putText(Bytes& b, std::string_view text) { b.insert(b.end(), text.begin(), text.end()); }
void putIp(Bytes& b, const IpAddr& a) {
  if (a.isV4()) {
    put32(b, a.v4Value());
    return;
  }
  for (int i = 0; i < 8; ++i) put8(b, static_cast<std::uint8_t>(a.hi >> (56 - 8 * i)));
  for (int i = 0; i < 8; ++i) put8(b, static_cast<std::uint8_t>(a.lo >> (56 - 8 * i)));
}
void set16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

namespace {

std::uint32_t sum16(std::span<const std::uint8_t> data, std::uint32_t sum) {
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) sum += static_cast<std::uint32_t>(data[i] << 8);
  return sum;
}

// Unfolded sum of the pseudo-header (RFC 793 for IPv4, RFC 8200 §8.1 for IPv6).
std::uint32_t pseudoSum(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, std::size_t length) {
  Bytes p;
  putIp(p, src);
  putIp(p, dst);
  if (src.isV4()) {
    put8(p, 0);
    put8(p, proto);
    put16(p, static_cast<std::uint16_t>(length));
  } else {
    put32(p, static_cast<std::uint32_t>(length));
    put32(p, proto);
  }
  return sum16(p, 0);
}

void fillChecksum(Bytes& l4, std::size_t at, std::uint32_t initial, bool udp) {
  set16(l4, at, 0);
  std::uint16_t c = inetChecksum(l4, initial);
  if (udp && c == 0) c = 0xffff;  // 0 means "no checksum" in UDP
  set16(l4, at, c);
}

}  // namespace

std::uint16_t inetChecksum(std::span<const std::uint8_t> data, std::uint32_t initial) {
  std::uint32_t sum = sum16(data, initial);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

Bytes tcpSegment(const IpAddr& src, const IpAddr& dst, const TcpSpec& spec, std::span<const std::uint8_t> payload) {
  const bool syn = (spec.flags & kSyn) != 0;
  Bytes b;
  put16(b, spec.sport);
  put16(b, spec.dport);
  put32(b, spec.seq);
  put32(b, spec.ack);
  put8(b, static_cast<std::uint8_t>((syn ? 6 : 5) << 4));
  put8(b, spec.flags);
  put16(b, spec.window);
  put16(b, 0);
  put16(b, 0);
  if (syn) {  // MSS option
    put8(b, 2);
    put8(b, 4);
    put16(b, src.isV4() ? 1460 : 1440);
  }
  putBytes(b, payload);
  fillChecksum(b, 16, pseudoSum(src, dst, kProtoTcp, b.size()), false);
  return b;
}

Bytes udpDatagram(const IpAddr& src, const IpAddr& dst, std::uint16_t sport, std::uint16_t dport,
                  std::span<const std::uint8_t> payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint16_t>(8 + payload.size()));
  put16(b, 0);
  putBytes(b, payload);
  fillChecksum(b, 6, pseudoSum(src, dst, kProtoUdp, b.size()), true);
  return b;
}

Bytes icmpEcho(bool request, std::uint16_t id, std::uint16_t seq, std::span<const std::uint8_t> payload) {
  Bytes b;
  put8(b, request ? 8 : 0);
  put8(b, 0);
  put16(b, 0);
  put16(b, id);
  put16(b, seq);
  putBytes(b, payload);
  fillChecksum(b, 2, 0, false);
  return b;
}

Bytes icmpv6Echo(const IpAddr& src, const IpAddr& dst, bool request, std::uint16_t id, std::uint16_t seq,
                 std::span<const std::uint8_t> payload) {
  Bytes b;
  put8(b, request ? 128 : 129);
  put8(b, 0);
  put16(b, 0);
  put16(b, id);
  put16(b, seq);
  putBytes(b, payload);
  fillChecksum(b, 2, pseudoSum(src, dst, kProtoIcmpv6, b.size()), false);
  return b;
}

Bytes icmpv6NeighborSolicit(const IpAddr& src, const IpAddr& dst, const IpAddr& target, const std::uint8_t* mac) {
  Bytes b;
  put8(b, 135);
  put8(b, 0);
  put16(b, 0);
  put32(b, 0);
  putIp(b, target);
  put8(b, 1);  // source link-layer address option, 8 bytes
  put8(b, 1);
  putBytes(b, std::span<const std::uint8_t>(mac, 6));
  fillChecksum(b, 2, pseudoSum(src, dst, kProtoIcmpv6, b.size()), false);
  return b;
}

Bytes greHeader(std::uint16_t etherType, std::span<const std::uint8_t> inner) {
  Bytes b;
  put16(b, 0);  // no checksum, no key, no sequence, version 0
  put16(b, etherType);
  putBytes(b, inner);
  return b;
}

Bytes ipPacket(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, std::span<const std::uint8_t> l4,
               const IpOptions& opt) {
  Bytes b;
  if (src.isV4()) {
    put8(b, 0x45);
    put8(b, 0);
    put16(b, static_cast<std::uint16_t>(20 + l4.size()));
    put16(b, opt.id);
    put16(b, opt.dontFragment ? 0x4000 : 0);
    put8(b, opt.ttl);
    put8(b, proto);
    put16(b, 0);
    putIp(b, src);
    putIp(b, dst);
    set16(b, 10, inetChecksum(b));
    putBytes(b, l4);
    return b;
  }
  Bytes ext;
  for (std::size_t i = 0; i < opt.v6Ext.size(); ++i) {
    const Ipv6Ext& e = opt.v6Ext[i];
    const std::size_t total = 2 + e.optionBytes;
    if (total % 8 != 0 || e.optionBytes < 2) throw std::logic_error("IPv6 option area must pad to 8 bytes");
    put8(ext, i + 1 < opt.v6Ext.size() ? opt.v6Ext[i + 1].type : proto);
    put8(ext, static_cast<std::uint8_t>(total / 8 - 1));
    put8(ext, 1);  // PadN
    put8(ext, static_cast<std::uint8_t>(e.optionBytes - 2));
    ext.resize(ext.size() + e.optionBytes - 2, 0);
  }
  put32(b, 0x60000000);
  put16(b, static_cast<std::uint16_t>(ext.size() + l4.size()));
  put8(b, opt.v6Ext.empty() ? proto : opt.v6Ext.front().type);
  put8(b, opt.ttl);
  putIp(b, src);
  putIp(b, dst);
  putBytes(b, ext);
  putBytes(b, l4);
  return b;
}

std::vector<Bytes> fragmentIpv4(const Bytes& packet, std::size_t maxPayload) {
  const std::size_t hl = static_cast<std::size_t>(packet[0] & 0x0f) * 4;
  const std::size_t chunk = maxPayload & ~std::size_t{7};
  std::vector<Bytes> out;
  for (std::size_t off = hl; off < packet.size(); off += chunk) {
    const std::size_t len = std::min(chunk, packet.size() - off);
    const bool more = off + len < packet.size();
    Bytes f(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(hl));
    f.insert(f.end(), packet.begin() + static_cast<std::ptrdiff_t>(off),
             packet.begin() + static_cast<std::ptrdiff_t>(off + len));
    set16(f, 2, static_cast<std::uint16_t>(hl + len));
    set16(f, 6, static_cast<std::uint16_t>((more ? 0x2000 : 0) | ((off - hl) / 8)));
    set16(f, 10, 0);
    set16(f, 10, inetChecksum(std::span<const std::uint8_t>(f.data(), hl)));
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<Bytes> fragmentIpv6(const Bytes& packet, std::size_t maxPayload, std::uint32_t id) {
  std::size_t unfragEnd = 40;
  std::size_t nextHeaderAt = 6;
  if (packet[6] == kIpv6HopByHop) {
    nextHeaderAt = 40;
    unfragEnd = 40 + (static_cast<std::size_t>(packet[41]) + 1) * 8;
  }
  const std::uint8_t fragNext = packet[nextHeaderAt];
  const std::size_t chunk = maxPayload & ~std::size_t{7};
  std::vector<Bytes> out;
  for (std::size_t off = unfragEnd; off < packet.size(); off += chunk) {
    const std::size_t len = std::min(chunk, packet.size() - off);
    const bool more = off + len < packet.size();
    Bytes f(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(unfragEnd));
    f[nextHeaderAt] = kIpv6Fragment;
    put8(f, fragNext);
    put8(f, 0);
    put16(f, static_cast<std::uint16_t>((off - unfragEnd) | (more ? 1 : 0)));
    put32(f, id);
    f.insert(f.end(), packet.begin() + static_cast<std::ptrdiff_t>(off),
             packet.begin() + static_cast<std::ptrdiff_t>(off + len));
    set16(f, 4, static_cast<std::uint16_t>(f.size() - 40));
    out.push_back(std::move(f));
  }
  return out;
}

int linkTypeOf(Link link) {
  switch (link) {
    case Link::Ethernet:
    case Link::Vlan:
    case Link::QinQ:
      return DLT_EN10MB;
    case Link::Sll:
      return DLT_LINUX_SLL;
    case Link::Sll2:
      return DLT_LINUX_SLL2;
    case Link::Raw:
      return DLT_RAW;
    case Link::Null:
      return DLT_NULL;
  }
  return DLT_EN10MB;
}

Bytes ethernetFrame(const Mac& dst, const Mac& src, std::uint16_t etherType, std::span<const std::uint8_t> payload) {
  Bytes b;
  putBytes(b, dst);
  putBytes(b, src);
  put16(b, etherType);
  putBytes(b, payload);
  return b;
}

Bytes frameIp(Link link, const LinkInfo& info, const Bytes& ip) {
  const bool v4 = (ip[0] >> 4) == 4;
  const std::uint16_t etherType = v4 ? 0x0800 : 0x86dd;
  Bytes b;
  switch (link) {
    case Link::Ethernet:
    case Link::Vlan:
    case Link::QinQ:
      putBytes(b, info.dst);
      putBytes(b, info.src);
      if (link == Link::QinQ) {
        put16(b, 0x88a8);
        put16(b, 200);
      }
      if (link != Link::Ethernet) {
        put16(b, 0x8100);
        put16(b, 100);
      }
      put16(b, etherType);
      putBytes(b, ip);
      // Frames received from the wire arrive padded to the 60-byte minimum; sent ones are captured
      // before padding. Decoders must trust the IP length, not the frame length.
      if (!info.outgoing && b.size() < 60) b.resize(60, 0);
      return b;
    case Link::Sll:
      put16(b, info.outgoing ? 4 : 0);
      put16(b, 1);  // ARPHRD_ETHER
      put16(b, 6);
      putBytes(b, info.src);
      put16(b, 0);
      put16(b, etherType);
      putBytes(b, ip);
      return b;
    case Link::Sll2:
      put16(b, etherType);
      put16(b, 0);
      put32(b, 2);  // interface index
      put16(b, 1);  // ARPHRD_ETHER
      put8(b, info.outgoing ? 4 : 0);
      put8(b, 6);
      putBytes(b, info.src);
      put16(b, 0);
      putBytes(b, ip);
      return b;
    case Link::Raw:
      return ip;
    case Link::Null: {
      // The family is in the writer's byte order (little-endian here); 24 is AF_INET6 on the BSDs.
      const std::uint32_t af = v4 ? 2 : 24;
      for (int i = 0; i < 4; ++i) put8(b, static_cast<std::uint8_t>(af >> (8 * i)));
      putBytes(b, ip);
      return b;
    }
  }
  return b;
}

}  // namespace sgsim
