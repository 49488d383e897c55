#include "sgsim/core/shard.h"

#include <algorithm>
#include <charconv>

namespace sgsim {
namespace {

// splitmix64's finalizer: every input bit reaches every output bit, so nearby addresses spread evenly.
constexpr std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// The hash of a pair absorbs its fields one by one: absorb(h, v) = mix(h ^ mix(v + kGolden)).
constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

// The inner mix of absorb() for the values most addresses have (an IPv4 address's hi, 0, and its family), computed
// once: the hash below is the same, with four of its ten mixes taken from here for a pair of IPv4 addresses (the
// function runs for every frame of a --shard run, twice for the shard's own).
constexpr std::uint64_t kMixedZero = mix(0 + kGolden);
constexpr std::uint64_t kMixedV4 = mix(static_cast<std::uint64_t>(Family::V4) + kGolden);
std::uint64_t mixed(std::uint64_t v) { return v == 0 ? kMixedZero : mix(v + kGolden); }
std::uint64_t mixedFamily(Family f) {
  return f == Family::V4 ? kMixedV4 : mix(static_cast<std::uint64_t>(f) + kGolden);
}

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
  // absorb() of each field in turn: the family of lo, lo.hi, lo.lo, the family of hi, hi.hi, hi.lo.
  std::uint64_t h = static_cast<std::uint64_t>(lo.family);
  h = mix(h ^ mixed(lo.hi));
  h = mix(h ^ mix(lo.lo + kGolden));
  h = mix(h ^ mixedFamily(hi.family));
  h = mix(h ^ mixed(hi.hi));
  h = mix(h ^ mix(hi.lo + kGolden));
  // h % count, without a division for a power of two
  return static_cast<std::uint32_t>((count & (count - 1)) == 0 ? h & (count - 1) : h % count) + 1;
}

}  // namespace sgsim
