#include "sgsim/core/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <vector>

namespace sgsim {
namespace {

TEST(ParseShard, AcceptsKOfNCountedFromOne) {
  auto s = parseShard("2/4");
  ASSERT_TRUE(s.ok()) << s.error().toString();
  EXPECT_EQ(s->index, 2u);
  EXPECT_EQ(s->count, 4u);
  EXPECT_EQ(s->toString(), "2/4");
  EXPECT_TRUE(parseShard("1/1").ok());
  EXPECT_TRUE(parseShard("65536/65536").ok());
}

TEST(ParseShard, RefusesWhatIsNotAShardAndSaysWhy) {
  EXPECT_EQ(parseShard("2").error().message, "\"2\" is not a shard: write K/N, shard K of N counted from 1 (e.g. 2/4)");
  EXPECT_EQ(parseShard("a/4").error().message, "\"a/4\" is not a shard: K and N must be whole numbers, as in 2/4");
  EXPECT_EQ(parseShard("2/").error().message, "\"2/\" is not a shard: K and N must be whole numbers, as in 2/4");
  EXPECT_EQ(parseShard("-1/4").error().message, "\"-1/4\" is not a shard: K and N must be whole numbers, as in 2/4");
  EXPECT_EQ(parseShard("0/4").error().message,
            "\"0/4\": K must be between 1 and N (shards are counted from 1: 1/4 to 4/4)");
  EXPECT_EQ(parseShard("5/4").error().message,
            "\"5/4\": K must be between 1 and N (shards are counted from 1: 1/4 to 4/4)");
  EXPECT_EQ(parseShard("1/0").error().message, "\"1/0\": N must be between 1 and 65536");
  EXPECT_EQ(parseShard("1/65537").error().message, "\"1/65537\": N must be between 1 and 65536");
  EXPECT_FALSE(parseShard("1/99999999999").ok());
}

IpAddr randomAddr(std::mt19937_64& rng) {
  if (rng() % 3 == 0) return IpAddr{Family::V6, rng(), rng()};
  return IpAddr::v4(static_cast<std::uint32_t>(rng()));
}

TEST(ShardOfPair, IsTheSameEitherWayRoundAndInRange) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < 20000; ++i) {
    const IpAddr a = randomAddr(rng), b = randomAddr(rng);
    const std::uint32_t n = 1 + static_cast<std::uint32_t>(rng() % 17);
    const std::uint32_t s = shardOfPair(a, b, n);
    EXPECT_EQ(s, shardOfPair(b, a, n));
    EXPECT_GE(s, 1u);
    EXPECT_LE(s, n);
  }
}

TEST(ShardOfPair, SpreadsConversationsOfOneServerEvenly) {
  // 100,000 clients of one server (the shape of a busy ENI): every shard gets its share within 5%.
  const IpAddr server = *IpAddr::parse("10.0.0.5");
  for (std::uint32_t n : {2u, 3u, 8u}) {
    std::vector<int> count(n + 1, 0);
    for (std::uint32_t c = 0; c < 100000; ++c) ++count[shardOfPair(IpAddr::v4(0xcb007100u + c), server, n)];
    for (std::uint32_t k = 1; k <= n; ++k) EXPECT_NEAR(count[k], 100000.0 / n, 0.05 * 100000.0 / n) << k << "/" << n;
  }
}

// The hash of version 2 (kShardHash) as the README states it: each address's family and 128 bits folded to 64 and
// mixed by splitmix64's finalizer, the two summed (mod 2^64), the sum's high 32 bits scaled to 1..N. Written here with
// a division where shardOfPair multiplies and shifts: every pair and N must give the same shard.
std::uint32_t referenceShard(const IpAddr& a, const IpAddr& b, std::uint32_t count) {
  if (count <= 1) return 1;
  auto mix = [](std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
  };
  auto fold = [](const IpAddr& x) {
    return x.lo ^ (x.hi * 0x9e3779b97f4a7c15ULL) ^ (static_cast<std::uint64_t>(x.family) << 56);
  };
  const std::uint64_t sum = mix(fold(a)) + mix(fold(b));
  const std::uint64_t scaled = (sum >> 32) * count;  // below 2^48
  return static_cast<std::uint32_t>(scaled / 4294967296ULL) + 1;
}

TEST(ShardOfPair, IsTheDocumentedHashForEveryKindOfAddressAndN) {
  std::mt19937_64 rng(20261207);
  const std::uint32_t counts[] = {2, 3, 4, 5, 7, 8, 16, 1000, 1024, 65535, kMaxShards};
  for (int i = 0; i < 200000; ++i) {
    IpAddr a = randomAddr(rng), b = randomAddr(rng);
    if (i % 7 == 0) a = IpAddr{Family::V6, 0, rng() % 4};  // ::, ::1, …: an IPv6 address whose hi is 0
    if (i % 11 == 0) b = IpAddr::v4(0);
    if (i % 13 == 0) b = a;
    const std::uint32_t n =
        i % 2 == 0 ? counts[rng() % std::size(counts)] : 1 + static_cast<std::uint32_t>(rng() % 70000);
    ASSERT_EQ(shardOfPair(a, b, n), referenceShard(a, b, n)) << a.toString() << " " << b.toString() << " " << n;
  }
}

TEST(ShardOfPair, SpreadsRandomPairsAndOneSubnetsHostsEvenly) {
  // Random pairs of both families, and the hosts of one IPv6 /64 talking to one server: within 2% at N = 2, 3, 7.
  std::mt19937_64 rng(7);
  const IpAddr server6 = *IpAddr::parse("2001:db8::5");
  for (std::uint32_t n : {2u, 3u, 7u}) {
    std::vector<int> random(n + 1, 0), subnet(n + 1, 0);
    for (int i = 0; i < 140000; ++i) {
      ++random[shardOfPair(randomAddr(rng), randomAddr(rng), n)];
      ++subnet[shardOfPair(IpAddr{Family::V6, 0x20010db800010000ULL, static_cast<std::uint64_t>(i)}, server6, n)];
    }
    for (std::uint32_t k = 1; k <= n; ++k) {
      EXPECT_NEAR(random[k], 140000.0 / n, 0.02 * 140000.0 / n) << k << "/" << n;
      EXPECT_NEAR(subnet[k], 140000.0 / n, 0.02 * 140000.0 / n) << k << "/" << n;
    }
  }
}

TEST(ShardOfPair, IsFixedWithinItsVersion) {
  // split on one machine and --shard K/N on another must agree: these values are part of version kShardHash's
  // format (a split manifest or shard report of another version is refused: pipeline and merge tests).
  EXPECT_EQ(kShardHash, 2u);
  const IpAddr a = *IpAddr::parse("203.0.113.10"), b = *IpAddr::parse("10.0.0.5");
  const IpAddr c = *IpAddr::parse("2001:db8::1"), d = *IpAddr::parse("2001:db8::5");
  EXPECT_EQ(shardOfPair(a, b, 1), 1u);
  const std::vector<std::uint32_t> got{shardOfPair(a, b, 2), shardOfPair(a, b, 7), shardOfPair(c, d, 2),
                                       shardOfPair(c, d, 7)};
  EXPECT_EQ(got, (std::vector<std::uint32_t>{2, 6, 1, 3}));
}

}  // namespace
}  // namespace sgsim
