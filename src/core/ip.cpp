#include "sgsim/core/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sgsim {

namespace {

std::uint64_t load64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// Mask keeping the top `prefix` bits of a 128-bit value split as hi/lo.
void maskBits(int prefix, std::uint64_t& hi, std::uint64_t& lo) {
  if (prefix <= 0) {
    hi = lo = 0;
  } else if (prefix < 64) {
    hi &= ~0ULL << (64 - prefix);
    lo = 0;
  } else if (prefix == 64) {
    lo = 0;
  } else if (prefix < 128) {
    lo &= ~0ULL << (128 - prefix);
  }
}

}  // namespace

IpAddr IpAddr::v6(const std::uint8_t* bytes) { return IpAddr{Family::V6, load64(bytes), load64(bytes + 8)}; }

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    in_addr a{};
    if (inet_pton(AF_INET, buf, &a) != 1) return std::nullopt;
    return IpAddr::v4(ntohl(a.s_addr));
  }
  in6_addr a{};
  if (inet_pton(AF_INET6, buf, &a) != 1) return std::nullopt;
  return IpAddr::v6(a.s6_addr);
}

std::string IpAddr::toString() const {
  char buf[INET6_ADDRSTRLEN];
  if (isV4()) {
    // What inet_ntop writes (decimal, no leading zeros), without its sprintf: reports print hundreds of thousands.
    char* p = buf;
    for (int shift = 24; shift >= 0; shift -= 8) {
      p = std::to_chars(p, buf + sizeof buf, (v4Value() >> shift) & 0xff).ptr;
      if (shift > 0) *p++ = '.';
    }
    return std::string(buf, p);
  } else {
    in6_addr a{};
    for (int i = 0; i < 8; ++i) {
      a.s6_addr[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
      a.s6_addr[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
    }
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
  }
  return buf;
}

Cidr Cidr::of(IpAddr addr, int prefix) {
  if (addr.isV4()) {
    std::uint32_t v = addr.v4Value();
    std::uint32_t m = prefix <= 0 ? 0 : (prefix >= 32 ? 0xFFFFFFFFu : ~0u << (32 - prefix));
    return Cidr{IpAddr::v4(v & m), static_cast<std::uint8_t>(prefix)};
  }
  maskBits(prefix, addr.hi, addr.lo);
  return Cidr{addr, static_cast<std::uint8_t>(prefix)};
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  int prefix = addr->bits();
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return std::nullopt;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || prefix < 0 || prefix > addr->bits()) return std::nullopt;
  }
  return Cidr::of(*addr, prefix);
}

bool Cidr::contains(const IpAddr& a) const {
  if (a.family != base.family) return false;
  return Cidr::of(a, prefix).base == base;
}

IpAddr Cidr::last() const {
  IpAddr r = base;
  if (base.isV4()) {
    std::uint32_t host = prefix >= 32 ? 0 : (0xFFFFFFFFu >> prefix);
    r.lo = base.v4Value() | host;
    return r;
  }
  if (prefix < 64) {
    r.hi |= prefix == 0 ? ~0ULL : (~0ULL >> prefix);
    r.lo = ~0ULL;
  } else if (prefix < 128) {
    r.lo |= prefix == 64 ? ~0ULL : (~0ULL >> (prefix - 64));
  }
  return r;
}

std::string Cidr::toString() const { return base.toString() + "/" + std::to_string(prefix); }

std::optional<PortRange> PortRange::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s, std::int32_t& out) {
    if (s.empty() || s.size() > 6) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
  };
  PortRange r;
  if (!num(text.substr(0, slash), r.from) || !num(text.substr(slash + 1), r.to)) return std::nullopt;
  return r;
}

}  // namespace sgsim
