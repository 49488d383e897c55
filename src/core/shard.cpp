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

// An address's 64-bit fold (its family and 128 bits), mixed: every input bit reaches every output bit, so nearby
// addresses spread evenly.
std::uint64_t mixedAddress(const IpAddr& a) {
  return mix(a.lo ^ (a.hi * 0x9e3779b97f4a7c15ULL) ^ (static_cast<std::uint64_t>(a.family) << 56));
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
  // The sum of the two mixed addresses is the same either way round, with no comparison; its high 32 bits scaled to
  // 0..count-1 (a multiply, no division). The two mixes are independent, so they run side by side: this runs for
  // every frame of a --shard run.
  const std::uint64_t h = (mixedAddress(a) + mixedAddress(b)) >> 32;
  return static_cast<std::uint32_t>((h * count) >> 32) + 1;
}

}  // namespace sgsim
