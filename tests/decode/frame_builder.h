#pragma once
// Builds test frames byte by byte, so decoder and capture tests state exactly what is on the wire.
// Lengths (IPv4 total length, IPv6 payload length, UDP length) are computed unless a test overrides them.

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace sgsim::test {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline void putLe32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// ---- transport ----
inline Bytes tcpHeader(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);  // seq
  put32(b, 0);     // ack
  b.push_back(5 << 4);
  b.push_back(flags);
  put16(b, 65535);  // window
  put32(b, 0);      // checksum, urgent
  return b;
}
inline Bytes udpHeader(std::uint16_t sport, std::uint16_t dport, std::size_t payload = 0) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint16_t>(8 + payload));
  put16(b, 0);
  b.resize(b.size() + payload, 0xab);
  return b;
}
inline Bytes icmpHeader(std::uint8_t type, std::uint8_t code, std::uint16_t id, std::uint16_t seq = 1) {
  Bytes b{type, code, 0, 0};
  put16(b, id);
  put16(b, seq);
  return b;
}

// UDP carrying `payload` (checksum 0).
inline Bytes udpCarrying(std::uint16_t sport, std::uint16_t dport, const Bytes& payload) {
  Bytes b = udpHeader(sport, dport, payload.size());
  b.resize(8);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
// A VXLAN header (RFC 7348: flags, 3 reserved bytes, 24-bit VNI, 1 reserved byte) and the inner frame.
inline Bytes vxlan(std::uint32_t vni, const Bytes& innerFrame, std::uint8_t flags = 0x08) {
  Bytes b{flags, 0, 0, 0};
  put32(b, vni << 8);
  b.insert(b.end(), innerFrame.begin(), innerFrame.end());
  return b;
}

// ---- network ----
struct Ipv4 {
  std::uint32_t src = 0x0a000001;  // 10.0.0.1
  std::uint32_t dst = 0x0a000002;
  std::uint8_t proto = 6;
  std::uint16_t id = 0x1234;
  bool moreFragments = false;
  std::uint16_t fragOffset = 0;  // in 8-byte units
  Bytes options;                 // a multiple of 4 bytes
  int totalLength = -1;          // -1: computed
  int ihlOverride = -1;
  std::uint8_t version = 4;
};
inline Bytes ipv4(const Ipv4& h, const Bytes& payload) {
  Bytes b;
  const std::size_t ihl = h.ihlOverride >= 0 ? static_cast<std::size_t>(h.ihlOverride) : 5 + h.options.size() / 4;
  b.push_back(static_cast<std::uint8_t>(h.version << 4 | (ihl & 0x0f)));
  b.push_back(0);
  put16(b, static_cast<std::uint16_t>(h.totalLength >= 0 ? h.totalLength : 20 + h.options.size() + payload.size()));
  put16(b, h.id);
  put16(b, static_cast<std::uint16_t>((h.moreFragments ? 0x2000 : 0) | h.fragOffset));
  b.push_back(64);
  b.push_back(h.proto);
  put16(b, 0);
  put32(b, h.src);
  put32(b, h.dst);
  b.insert(b.end(), h.options.begin(), h.options.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

inline Bytes v6Addr(std::uint8_t last) {
  Bytes a{0x20, 0x01, 0x0d, 0xb8};
  a.resize(15, 0);
  a.push_back(last);
  return a;
}
// `chain` is the extension headers followed by the transport header.
inline Bytes ipv6(std::uint8_t next, const Bytes& chain, std::uint8_t srcLast = 1, std::uint8_t dstLast = 2) {
  Bytes b{0x60, 0, 0, 0};
  put16(b, static_cast<std::uint16_t>(chain.size()));
  b.push_back(next);
  b.push_back(64);
  const Bytes s = v6Addr(srcLast), d = v6Addr(dstLast);
  b.insert(b.end(), s.begin(), s.end());
  b.insert(b.end(), d.begin(), d.end());
  b.insert(b.end(), chain.begin(), chain.end());
  return b;
}
// Hop-by-hop, routing, destination options: 8 * (units + 1) bytes.
inline Bytes ipv6Ext(std::uint8_t next, std::uint8_t units = 0) {
  Bytes b{next, units};
  b.resize(8u * (units + 1u), 0);
  return b;
}
inline Bytes ipv6Fragment(std::uint8_t next, std::uint16_t offset, bool more, std::uint32_t id) {
  Bytes b{next, 0};
  put16(b, static_cast<std::uint16_t>(offset << 3 | (more ? 1 : 0)));
  put32(b, id);
  return b;
}
inline Bytes ipv6Ah(std::uint8_t next) {  // 12 bytes of header + 12 of ICV: payload length field 4
  Bytes b{next, 4};
  b.resize(24, 0);
  return b;
}

// ---- link layers ----
inline Bytes ethernet(std::uint16_t type, const Bytes& payload,
                      std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> tags = {}) {
  Bytes b{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  for (const auto& [tpid, tci] : tags) {
    put16(b, tpid);
    put16(b, tci);
  }
  put16(b, type);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
inline Bytes sll(std::uint16_t protocol, const Bytes& payload, std::uint16_t hatype = 1) {
  Bytes b;
  put16(b, 0);  // to us
  put16(b, hatype);
  put16(b, 6);
  b.insert(b.end(), {0x02, 0, 0, 0, 0, 0x01, 0, 0});
  put16(b, protocol);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
inline Bytes sll2(std::uint16_t protocol, const Bytes& payload) {
  Bytes b;
  put16(b, protocol);
  put16(b, 0);
  put32(b, 3);  // ifindex
  put16(b, 1);  // ARPHRD_ETHER
  b.push_back(0);
  b.push_back(6);
  b.insert(b.end(), {0x02, 0, 0, 0, 0, 0x01, 0, 0});
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
inline Bytes loopback(std::uint32_t family, bool bigEndian, const Bytes& payload) {
  Bytes b;
  if (bigEndian) {
    put32(b, family);
  } else {
    putLe32(b, family);
  }
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

}  // namespace sgsim::test
