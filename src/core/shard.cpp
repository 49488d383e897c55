#include "sgsim/core/shard.h"

#include <algorithm>
#include <charconv>

namespace sgsim {
namespace {

// splitmix64's finalizer: every input bit reaches every output bit, so nearby addresses spread evenly.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t absorb(std::uint64_t h, std::uint64_t v) { return mix(h ^ mix(v + 0x9e3779b97f4a7c15ULL)); }

std::optional<std::uint32_t> number(std::string_view s) {
  std::uint32_t v = 0;
  if (s.empty() || s.size() > 9) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string Shard::toString() const { return std::to_string(index) + "/" + std::to_string(count); }

Result<Shard> parseShard(std::string_view text) {
  const std::string shown = "\"" + std::string(text) + "\"";
  const auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return Error{"", shown + " is not a shard: write K/N, shard K of N counted from 1 (e.g. 2/4)"};
  const auto k = number(text.substr(0, slash));
  const auto n = number(text.substr(slash + 1));
  if (!k || !n) return Error{"", shown + " is not a shard: K and N must be whole numbers, as in 2/4"};
  if (*n < 1 || *n > kMaxShards) return Error{"", shown + ": N must be between 1 and " + std::to_string(kMaxShards)};
  if (*k < 1 || *k > *n)
    return Error{"", shown + ": K must be between 1 and N (shards are counted from 1: 1/" + std::to_string(*n) +
                         " to " + std::to_string(*n) + "/" + std::to_string(*n) + ")"};
  return Shard{*k, *n};
}

std::uint32_t shardOfPair(const IpAddr& a, const IpAddr& b, std::uint32_t count) {
  if (count <= 1) return 1;
  const IpAddr& lo = std::min(a, b);
  const IpAddr& hi = std::max(a, b);
  std::uint64_t h = static_cast<std::uint64_t>(lo.family);
  h = absorb(h, lo.hi);
  h = absorb(h, lo.lo);
  h = absorb(h, static_cast<std::uint64_t>(hi.family));
  h = absorb(h, hi.hi);
  h = absorb(h, hi.lo);
  return static_cast<std::uint32_t>(h % count) + 1;
}

}  // namespace sgsim
