#pragma once
// Exact sharding (issue 13): which of N shards an observation belongs to. State in sgsim is per interface and per
// conversation, so a split is exact when every packet of a conversation, and every fragment, lands in the same
// shard: the shard is a hash of the unordered pair of the observation's addresses (source and destination give
// the same shard either way round). Frames without IP addresses (ARP, undecodable frames) and anything else
// without an address pair belong to shard 1, so that they are counted exactly once.
//
// The hash is fixed here and documented in the README. `sgsim split` on one machine and `--shard K/N` on another
// have to agree, so the hash has a version (kShardHash), written in split manifests and in every shard report's
// "shard" object; a split of another version is refused, and `sgsim merge` refuses reports of two versions.

#include <cstdint>
#include <string>
#include <string_view>

#include "sgsim/core/ip.h"
#include "sgsim/core/result.h"

namespace sgsim {

// One shard of a run split N ways. index is 1-based (1..count), as the user writes it: `--shard 2/4`.
struct Shard {
  std::uint32_t index = 1;
  std::uint32_t count = 1;
  bool operator==(const Shard&) const = default;
  std::string toString() const;  // "2/4"
};

// The version of shardOfPair's hash. 1 (until 2026-12-07): ten chained splitmix64 mixes over both addresses'
// families and bits, the lower address first, modulo N; 2: one mix per address, the two summed, the sum's high 32
// bits scaled to N (the same spread, a fifth of the latency: it runs for every frame of a --shard run).
inline constexpr std::uint32_t kShardHash = 2;

// The largest N accepted (a shard per core of a large cluster, with room to spare).
inline constexpr std::uint32_t kMaxShards = 65536;

// "K/N" with 1 <= K <= N <= kMaxShards. Errors name the text and say what is expected.
Result<Shard> parseShard(std::string_view text);

// The shard (1..count) of the unordered address pair {a, b}; count >= 1.
std::uint32_t shardOfPair(const IpAddr& a, const IpAddr& b, std::uint32_t count);

}  // namespace sgsim
