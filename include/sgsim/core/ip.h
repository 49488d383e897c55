#pragma once
// Addresses, CIDR blocks and port ranges: the values every stage compares.
// An IpAddr holds IPv4 or IPv6 in 128 bits (hi/lo, network order as integers) so
// that one comparison covers both families; the family always takes part.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sgsim {

enum class Family : std::uint8_t { V4 = 4, V6 = 6 };

struct IpAddr {
  Family family = Family::V4;
  std::uint64_t hi = 0;  // v4: always 0
  std::uint64_t lo = 0;  // v4: the 32-bit address in the low bits

  static IpAddr v4(std::uint32_t hostOrder) { return IpAddr{Family::V4, 0, hostOrder}; }
  // 16 bytes in network order.
  static IpAddr v6(const std::uint8_t* bytes);
  // Dotted quad or any RFC 4291 text form (incl. "::ffff:1.2.3.4"); no zone, no prefix.
  static std::optional<IpAddr> parse(std::string_view text);

  bool isV4() const { return family == Family::V4; }
  std::uint32_t v4Value() const { return static_cast<std::uint32_t>(lo); }
  int bits() const { return isV4() ? 32 : 128; }
  // RFC 5952 canonical text for v6, dotted quad for v4.
  std::string toString() const;

  auto operator<=>(const IpAddr&) const = default;
  bool operator==(const IpAddr&) const = default;
};

// For hash maps keyed by address (boost::unordered mixes the result further).
struct IpAddrHash {
  std::size_t operator()(const IpAddr& a) const noexcept {
    return static_cast<std::size_t>((a.lo * 0x9e3779b97f4a7c15ULL) ^ (a.hi * 0xc2b2ae3d27d4eb4fULL) ^
                                    static_cast<std::uint64_t>(a.family));
  }
};

struct Cidr {
  IpAddr base;  // host bits always zero (normalized)
  std::uint8_t prefix = 0;

  // "a.b.c.d", "a.b.c.d/n", "v6", "v6/n". Host bits are cleared ("10.0.0.1/8" == "10.0.0.0/8"),
  // a bare address is /32 or /128. Returns nullopt for anything malformed.
  static std::optional<Cidr> parse(std::string_view text);
  static Cidr of(IpAddr addr, int prefix);  // clears host bits
  static Cidr any(Family f) { return Cidr{IpAddr{f, 0, 0}, 0}; }

  bool contains(const IpAddr& a) const;
  bool contains(const Cidr& inner) const { return inner.prefix >= prefix && contains(inner.base); }
  Family family() const { return base.family; }
  // Last address of the block.
  IpAddr last() const;
  // "10.0.0.0/8"; a host route prints with its /32 or /128.
  std::string toString() const;

  auto operator<=>(const Cidr&) const = default;
  bool operator==(const Cidr&) const = default;
};

// An inclusive port range. The API's "-1/-1" (every port) is kept as its own value so that a rule
// prints back as it was written; matches() treats it as 0..65535.
struct PortRange {
  std::int32_t from = -1;
  std::int32_t to = -1;

  static PortRange anyPort() { return PortRange{-1, -1}; }
  bool isAny() const { return from == -1 && to == -1; }
  // Syntax only: "a/b" with two integers (possibly -1). Range checks belong to the API validator.
  static std::optional<PortRange> parse(std::string_view text);
  bool matches(std::uint16_t port) const { return isAny() || (port >= from && port <= to); }
  std::uint16_t low() const { return isAny() ? 0 : static_cast<std::uint16_t>(from); }
  std::uint16_t high() const { return isAny() ? 65535 : static_cast<std::uint16_t>(to); }
  std::string toString() const { return std::to_string(from) + "/" + std::to_string(to); }

  auto operator<=>(const PortRange&) const = default;
  bool operator==(const PortRange&) const = default;
};

}  // namespace sgsim
