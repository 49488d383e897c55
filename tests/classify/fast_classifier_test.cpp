// The fast classifier must give the linear oracle's answer for every key: random boxes (IPv4 and IPv6,
// overlapping prefixes, port ranges, any-protocol, shared ranks) probed with uniform keys and with keys on
// the boxes' corners, in every configuration of the classifier.
#include "sgsim/classify/fast_classifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <span>
#include <thread>

#include "box_helpers.h"
#include "sgsim/classify/linear_classifier.h"

namespace sgsim {
namespace {

using test_util::box;
using test_util::key;

__extension__ typedef unsigned __int128 Uint128;

const FastClassifier::Options kConfigs[] = {
    {},                                                              // TupleMerge defaults
    {.mergeTuples = false, .collisionLimit = 64, .lengthStep = 16},  // plain tuple-space search
    {.mergeTuples = true, .collisionLimit = 1, .lengthStep = 1},     // buckets overflow at once: port/proto keys
    {.mergeTuples = true, .collisionLimit = 2, .lengthStep = 8},     // a few rules per bucket, coarse tables
    {.mergeTuples = true, .collisionLimit = 2, .lengthStep = 16, .portKeyFirst = true},  // port-keyed tables first
    // The large-partition path (several builds, the cheapest kept, emptier hash tables) on small inputs.
    {.mergeTuples = true, .collisionLimit = 128, .lengthStep = 16, .portKeyFirst = false, .tuneFrom = 1},
    // Linear probing instead of two-choice slots (the fallback of a table whose keys cannot be placed), both
    // layouts.
    {.twoChoice = false},
    {.mergeTuples = true,
     .collisionLimit = 128,
     .lengthStep = 16,
     .portKeyFirst = false,
     .tuneFrom = 1,
     .twoChoice = false},
};

TEST(FastClassifier, LowestRankWinsRegardlessOfInsertionOrder) {
  FastClassifier c({box("0.0.0.0/0", "0.0.0.0/0", 6, 22, 22, 5), box("10.0.0.0/8", "0.0.0.0/0", 6, 0, 65535, 2)});
  auto i = c.classify(key("10.1.1.1", "192.0.2.1", 6, 5555, 22));
  ASSERT_NE(i, kNoMatch);
  EXPECT_EQ(c.boxes()[i].rank, 2u);
  i = c.classify(key("11.1.1.1", "192.0.2.1", 6, 5555, 22));
  ASSERT_NE(i, kNoMatch);
  EXPECT_EQ(c.boxes()[i].rank, 5u);
  EXPECT_EQ(c.classify(key("11.1.1.1", "192.0.2.1", 6, 5555, 23)), kNoMatch);
}

TEST(FastClassifier, EqualRanksResolveToTheFirstBoxInInputOrder) {
  // Two boxes of one API rule (same rank): the answer is the first of them, as the stable sort leaves it.
  auto a = box("10.0.0.0/8", "0.0.0.0/0", -1, 0, 65535, 7);
  a.ruleIndex = 1;
  auto b = box("10.1.0.0/16", "0.0.0.0/0", 6, 80, 80, 7);
  b.ruleIndex = 2;
  FastClassifier c({b, a});
  auto i = c.classify(key("10.1.2.3", "192.0.2.1", 6, 1, 80));
  ASSERT_NE(i, kNoMatch);
  EXPECT_EQ(i, 0u);
  EXPECT_EQ(c.boxes()[i].ruleIndex, 2u);
}

TEST(FastClassifier, ProtocolAnyAndFamilies) {
  FastClassifier c({box("::/0", "2001:db8::/32", -1, 0, 65535, 1), box("0.0.0.0/0", "0.0.0.0/0", 17, 53, 53, 2)});
  EXPECT_EQ(c.classify(key("2001:db8::1", "2001:db8::2", 58, 0, 0)), 0u);
  EXPECT_EQ(c.classify(key("2001:db8::1", "2001:db9::2", 6, 1, 2)), kNoMatch);
  EXPECT_EQ(c.classify(key("10.0.0.1", "10.0.0.2", 17, 999, 53)), 1u);
  EXPECT_EQ(c.classify(key("10.0.0.1", "10.0.0.2", 6, 999, 53)), kNoMatch);
}

// Cidr::contains compares the base unmasked: a box whose base has bits past its prefix never matches, and a
// prefix past 128 bits is a host route. The IPv6 tables (which check a rule's bits relative to its table) agree.
TEST(FastClassifier, Ipv6BoxesWithUnnormalizedBasesOrLongPrefixesAgreeWithLinear) {
  auto odd = box("2001:db8::/32", "::/0", 6, 0, 65535, 1);
  odd.src.base.lo = 1;  // a bit past /32: this box matches nothing
  auto wide = box("2001:db8::/32", "::/0", 6, 0, 65535, 2);
  auto host = box("2001:db8::5/128", "::/0", 6, 0, 65535, 0);
  host.src.prefix = 200;  // contains() treats it as /128
  const std::vector<RuleBox> boxes = {odd, wide, host};
  const LinearClassifier linear(boxes);
  for (const auto& options : kConfigs) {
    const FastClassifier fast(boxes, options);
    for (const char* a : {"2001:db8::1", "2001:db8::5", "2001:db8::4", "2001:db9::1"}) {
      const ClassifyKey k = key(a, "2001:db8::9", 6, 1, 80);
      EXPECT_EQ(fast.classify(k), linear.classify(k)) << a;
    }
  }
  EXPECT_EQ(linear.classify(key("2001:db8::1", "::9", 6, 1, 80)), 2u);  // `wide` (rank 2), not `odd`
  EXPECT_EQ(linear.classify(key("2001:db8::5", "::9", 6, 1, 80)), 0u);  // `host`
}

// The same in IPv4: an unnormalized box must not hide a later box equal to it once masked (the duplicate
// check compares masked prefixes).
TEST(FastClassifier, Ipv4BoxWithUnnormalizedBaseDoesNotHideItsNormalizedTwin) {
  auto odd = box("10.0.0.0/8", "0.0.0.0/0", 6, 0, 65535, 1);
  odd.src.base = IpAddr::v4(0x0A000001u);  // 10.0.0.1/8: matches nothing
  const auto twin = box("10.0.0.0/8", "0.0.0.0/0", 6, 0, 65535, 2);
  const std::vector<RuleBox> boxes = {odd, twin};
  const LinearClassifier linear(boxes);
  const ClassifyKey k = key("10.1.2.3", "192.0.2.1", 6, 1, 80);
  ASSERT_EQ(linear.classify(k), 1u);
  for (const auto& options : kConfigs) EXPECT_EQ(FastClassifier(boxes, options).classify(k), 1u);
}

TEST(FastClassifier, EmptyTableMatchesNothing) {
  FastClassifier c({});
  EXPECT_EQ(c.classify(key("10.0.0.1", "10.0.0.2", 6, 1, 2)), kNoMatch);
  EXPECT_EQ(c.classify(key("::1", "::2", 6, 1, 2)), kNoMatch);
}

// Random boxes drawn from a small pool of networks so that they overlap and nest; `v6In5` of every five boxes
// and uniform keys are IPv6.
class RandomBoxes {
 public:
  explicit RandomBoxes(std::uint64_t seed, std::uint32_t v6In5 = 1) : rng_(seed), v6In5_(v6In5) {
    for (int i = 0; i < 6; ++i) v4Pool_.push_back(static_cast<std::uint32_t>(rng_()));
    for (int i = 0; i < 4; ++i) v6Pool_.push_back({rng_(), rng_()});
  }

  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(rng_() % n); }

  IpAddr address(Family f) {
    if (f == Family::V4) {
      std::uint32_t a = v4Pool_[below(v4Pool_.size())];
      if (below(2)) {  // perturb some low bits (a 64-bit shift: shifting a 32-bit value by 32 is undefined)
        a ^= static_cast<std::uint32_t>((rng_() & 0xFFFFFFFFu) >> below(33));
      }
      return IpAddr::v4(a);
    }
    auto [hi, lo] = v6Pool_[below(v6Pool_.size())];
    if (below(2)) lo ^= rng_() >> below(64);
    if (below(4) == 0) hi ^= rng_() >> below(64);
    return IpAddr{Family::V6, hi, lo};
  }

  int prefixLength(Family f) {
    const int bits = f == Family::V4 ? 32 : 128;
    switch (below(5)) {
      case 0:
        return 0;
      case 1:
        return bits;
      case 2:
        return static_cast<int>(below(4)) * bits / 4;
      default:
        return static_cast<int>(below(bits + 1));
    }
  }

  void ports(std::uint16_t& lo, std::uint16_t& hi) {
    static constexpr std::uint16_t kCommon[] = {0, 22, 53, 80, 443, 1024, 8080, 65535};
    switch (below(4)) {
      case 0:
        lo = 0, hi = 65535;
        break;
      case 1:
        lo = hi = kCommon[below(8)];
        break;
      case 2:
        lo = kCommon[below(8)], hi = std::max<std::uint16_t>(lo, kCommon[below(8)]);
        break;
      default: {
        lo = static_cast<std::uint16_t>(below(65536));
        hi = static_cast<std::uint16_t>(lo + below(65536 - lo));
      }
    }
  }

  std::vector<RuleBox> boxes(std::size_t n) {
    std::vector<RuleBox> out;
    for (std::size_t i = 0; i < n; ++i) {
      RuleBox b;
      b.family = below(5) < v6In5_ ? Family::V6 : Family::V4;
      b.src = Cidr::of(address(b.family), prefixLength(b.family));
      b.dst = Cidr::of(address(b.family), prefixLength(b.family));
      static constexpr std::int16_t kProtos[] = {-1, -1, 6, 6, 17, 1, 47, 58};
      b.proto = kProtos[below(8)];
      if (below(2)) ports(b.sportLo, b.sportHi);
      ports(b.dportLo, b.dportHi);
      // Ranks collide on purpose (several boxes of one rule) and do not follow the insertion order.
      b.rank = below(static_cast<std::uint32_t>(n));
      b.ruleIndex = static_cast<std::uint32_t>(i);
      out.push_back(b);
    }
    return out;
  }

  ClassifyKey uniformKey() {
    ClassifyKey k;
    k.family = below(5) < v6In5_ ? Family::V6 : Family::V4;
    k.src =
        k.family == Family::V4 ? IpAddr::v4(static_cast<std::uint32_t>(rng_())) : IpAddr{Family::V6, rng_(), rng_()};
    k.dst =
        k.family == Family::V4 ? IpAddr::v4(static_cast<std::uint32_t>(rng_())) : IpAddr{Family::V6, rng_(), rng_()};
    k.proto = static_cast<std::uint8_t>(below(256));
    k.sport = static_cast<std::uint16_t>(below(65536));
    k.dport = static_cast<std::uint16_t>(below(65536));
    return k;
  }

  // A key on a corner of a box (low or high end of each field), sometimes nudged one step outside.
  ClassifyKey cornerKey(const RuleBox& b) {
    ClassifyKey k;
    k.family = b.family;
    k.src = below(2) ? b.src.base : b.src.last();
    k.dst = below(2) ? b.dst.base : b.dst.last();
    k.proto = b.proto >= 0 ? static_cast<std::uint8_t>(b.proto) : static_cast<std::uint8_t>(below(256));
    k.sport = below(2) ? b.sportLo : b.sportHi;
    k.dport = below(2) ? b.dportLo : b.dportHi;
    if (below(4) == 0) {
      switch (below(3)) {
        case 0:
          k.dport = static_cast<std::uint16_t>(k.dport + (below(2) ? 1 : -1));
          break;
        case 1:
          k.sport = static_cast<std::uint16_t>(k.sport + (below(2) ? 1 : -1));
          break;
        default:
          if (k.family == Family::V4)
            k.src = IpAddr::v4(k.src.v4Value() + (below(2) ? 1 : -1));
          else
            k.src.lo ^= 1;
      }
    }
    return k;
  }

 private:
  std::mt19937_64 rng_;
  std::uint32_t v6In5_;
  std::vector<std::uint32_t> v4Pool_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> v6Pool_;
};

void agreeOnRandomBoxes(std::uint32_t v6In5) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    RandomBoxes gen(seed, v6In5);
    const std::size_t n = 1 + gen.below(seed % 3 == 0 ? 2000 : 300);
    auto boxes = gen.boxes(n);
    LinearClassifier linear(boxes);
    std::vector<ClassifyKey> keys;
    for (int i = 0; i < 3000; ++i) keys.push_back(gen.uniformKey());
    for (int i = 0; i < 6000; ++i) keys.push_back(gen.cornerKey(boxes[gen.below(static_cast<std::uint32_t>(n))]));
    for (const auto& options : kConfigs) {
      FastClassifier fast(boxes, options);
      ASSERT_EQ(fast.boxes().size(), linear.boxes().size());
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(fast.boxes()[i].ruleIndex, linear.boxes()[i].ruleIndex);
      std::size_t matched = 0;
      for (const auto& k : keys) {
        const auto want = linear.classify(k);
        matched += want != kNoMatch;
        ASSERT_EQ(fast.classify(k), want)
            << "v6In5 " << v6In5 << " seed " << seed << " boxes " << n << " merge " << options.mergeTuples << " limit "
            << options.collisionLimit << " twoChoice " << options.twoChoice << " key " << k.src.toString() << " -> "
            << k.dst.toString() << " proto " << int(k.proto) << " " << k.sport << "->" << k.dport;
      }
      // The corner keys must actually exercise matches, or the comparison proves little.
      EXPECT_GT(matched, keys.size() / 4) << "seed " << seed;
    }
  }
}

// Mostly IPv4 (one box in five IPv6), mostly IPv6, and IPv6 alone: both families' tables, in one classifier.
TEST(FastClassifier, AgreesWithLinearOnRandomBoxes) { agreeOnRandomBoxes(1); }

// The differential tests above run both slot layouts only if the option really switches them: by default every
// table of an ordinary rule set gets two-choice slots, and with twoChoice false none does.
TEST(FastClassifier, TwoChoiceSlotsByDefaultLinearProbingOnRequest) {
  RandomBoxes gen(3, 1);
  const auto boxes = gen.boxes(2000);
  const FastClassifier two(boxes);
  ASSERT_GT(two.tableCount(), 0u);
  ASSERT_GT(two.tableCountV6(), 0u);
  EXPECT_EQ(two.linearProbedTables(), 0u);
  const FastClassifier linear(boxes, FastClassifier::Options{.twoChoice = false});
  EXPECT_EQ(linear.linearProbedTables(), linear.tableCount() + linear.tableCountV6());
}
TEST(FastClassifier, AgreesWithLinearOnRandomIpv6Boxes) {
  agreeOnRandomBoxes(4);
  agreeOnRandomBoxes(5);
}

// The batch classify gives classify(key)'s answer (and the linear scan's) for every key, whatever the batch size:
// IPv4, mixed and IPv6 tables, every configuration (both layouts, both slot layouts), batches of 0, 1, 2, 3, an
// odd size, 256 and all keys at once; out's entries past the batch are left alone.
TEST(FastClassifier, BatchAgreesWithOneAtATimeAndLinear) {
  for (std::uint32_t v6In5 : {0u, 1u, 5u}) {
    for (std::uint64_t seed = 21; seed <= 24; ++seed) {
      RandomBoxes gen(seed, v6In5);
      const std::size_t n = 1 + gen.below(seed % 2 == 0 ? 1500 : 200);
      const auto boxes = gen.boxes(n);
      const LinearClassifier linear(boxes);
      std::vector<ClassifyKey> keys;
      for (int i = 0; i < 700; ++i) keys.push_back(gen.uniformKey());
      for (int i = 0; i < 1300; ++i) keys.push_back(gen.cornerKey(boxes[gen.below(static_cast<std::uint32_t>(n))]));
      std::shuffle(keys.begin(), keys.end(), std::mt19937_64(seed));
      std::vector<std::uint32_t> want;
      for (const auto& k : keys) want.push_back(linear.classify(k));
      for (const auto& options : kConfigs) {
        const FastClassifier fast(boxes, options);
        for (std::size_t batch : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{37},
                                  std::size_t{256}, keys.size()}) {
          constexpr std::uint32_t kUntouched = 0xDEADBEEFu;
          std::vector<std::uint32_t> out(keys.size() + 1, kUntouched);
          for (std::size_t i = 0; i < keys.size() && batch > 0; i += batch) {
            const std::size_t m = std::min(batch, keys.size() - i);
            // out one longer than the batch: the extra entry must stay as it was.
            fast.classify(std::span<const ClassifyKey>(keys.data() + i, m),
                          std::span<std::uint32_t>(out.data() + i, m + 1));
            ASSERT_EQ(out[i + m], kUntouched) << "batch " << batch << " at " << i;
          }
          if (batch == 0) {
            fast.classify(std::span<const ClassifyKey>(keys.data(), 0), std::span<std::uint32_t>(out));
            EXPECT_EQ(std::count(out.begin(), out.end(), kUntouched), static_cast<std::ptrdiff_t>(out.size()));
            continue;
          }
          for (std::size_t i = 0; i < keys.size(); ++i) {
            ASSERT_EQ(out[i], fast.classify(keys[i]))
                << "v6In5 " << v6In5 << " seed " << seed << " batch " << batch << " key " << i << " tuneFrom "
                << options.tuneFrom << " twoChoice " << options.twoChoice;
            ASSERT_EQ(out[i], want[i]) << "v6In5 " << v6In5 << " seed " << seed << " batch " << batch << " key " << i;
          }
        }
      }
    }
  }
}

// A batch shorter than its keys classifies only what out holds.
TEST(FastClassifier, BatchStopsAtTheEndOfOut) {
  const FastClassifier fast({box("10.0.0.0/8", "0.0.0.0/0", 6, 80, 80, 1)});
  const ClassifyKey keys[] = {key("10.1.1.1", "1.2.3.4", 6, 1000, 80), key("10.1.1.1", "1.2.3.4", 6, 1000, 81),
                              key("10.1.1.1", "1.2.3.4", 6, 1000, 80)};
  std::uint32_t out[2] = {7, 7};
  fast.classify(keys, std::span<std::uint32_t>(out, 2));
  EXPECT_EQ(out[0], 0u);
  EXPECT_EQ(out[1], kNoMatch);
}

// Enough rules that the default options take the large-partition path (tuneFrom) in the protocol partitions.
TEST(FastClassifier, LargeRuleSetAgreesWithLinear) {
  RandomBoxes gen(4242);
  const std::size_t n = 60000;  // the TCP and UDP partitions get about 24,000 and 18,000
  auto boxes = gen.boxes(n);
  LinearClassifier linear(boxes);
  FastClassifier fast(boxes);
  std::size_t matched = 0;
  std::vector<ClassifyKey> keys;
  std::vector<std::uint32_t> wants;
  for (int i = 0; i < 4000; ++i) {
    const ClassifyKey k =
        i % 4 == 0 ? gen.uniformKey() : gen.cornerKey(boxes[gen.below(static_cast<std::uint32_t>(n))]);
    const auto want = linear.classify(k);
    matched += want != kNoMatch;
    ASSERT_EQ(fast.classify(k), want) << "key " << i << " " << k.src.toString() << " -> " << k.dst.toString()
                                      << " proto " << int(k.proto) << " " << k.sport << "->" << k.dport;
    keys.push_back(k);
    wants.push_back(want);
  }
  EXPECT_GT(matched, 1000u);
  // The batch classify, in bursts of 256 and of an odd size, gives the same answers.
  for (std::size_t batch : {std::size_t{256}, std::size_t{101}}) {
    std::vector<std::uint32_t> out(keys.size());
    for (std::size_t i = 0; i < keys.size(); i += batch) {
      const std::size_t m = std::min(batch, keys.size() - i);
      fast.classify(std::span<const ClassifyKey>(keys.data() + i, m), std::span<std::uint32_t>(out.data() + i, m));
    }
    for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(out[i], wants[i]) << "batch " << batch << " key " << i;
  }
}

// Where crowdedAgree puts its boxes: IPv4; IPv6 crowded in the low byte (prefixes /123-/128, the IPv4
// test's /27-/32 moved to the end of 128 bits); IPv6 crowded across the two 64-bit words (bits 60-67 vary,
// prefixes /63-/68); and IPv4 and word-crossing IPv6 boxes in one table, keys of both families.
enum class Crowd { V4, V6LowByte, V6AcrossWords, Mixed };

// The networks crowdedAgree draws from; IPv6 addresses vary in the byte at bit `shift` from the low end.
struct CrowdNets {
  std::uint32_t src[3], dst[3];
  std::pair<std::uint64_t, std::uint64_t> src6[3], dst6[3];
  int shift = 0;
};

IpAddr crowdAddress(std::mt19937_64& rng, const CrowdNets& nets, Family f, bool src) {
  if (f == Family::V4) {
    // Through a pointer: GCC 12 with -fsanitize=address mishandles indexing a conditional of two arrays.
    const std::uint32_t* pool = src ? nets.src : nets.dst;
    const std::uint32_t net = pool[rng() % 3];
    return IpAddr::v4(net | static_cast<std::uint32_t>(rng() % 256));
  }
  const std::pair<std::uint64_t, std::uint64_t>* pool6 = src ? nets.src6 : nets.dst6;
  const std::pair<std::uint64_t, std::uint64_t> net6 = pool6[rng() % 3];
  const auto v = static_cast<std::uint32_t>(rng() % 256);
  const Uint128 net =
      (static_cast<Uint128>(net6.first) << 64 | net6.second) & ~(static_cast<Uint128>(0xFF) << nets.shift);
  const Uint128 a = net | static_cast<Uint128>(v) << nets.shift;
  return IpAddr{Family::V6, static_cast<std::uint64_t>(a >> 64), static_cast<std::uint64_t>(a)};
}

// Mostly the lengths that crowd on the varying byte (IPv4 /27-/32), sometimes any length.
int crowdLength(std::mt19937_64& rng, const CrowdNets& nets, Family f) {
  const int bits = f == Family::V4 ? 32 : 128 - nets.shift;
  const int all = f == Family::V4 ? 32 : 128;
  if (rng() % 6 == 0) return static_cast<int>(rng() % static_cast<std::uint64_t>(all + 1));
  return bits - 5 + static_cast<int>(rng() % 6);
}

// Thousands of rules on a few address pairs, as in ClassBench's acl sets: buckets of hundreds of rules (their
// blocks summed up by block and group heads), and exact duplicates with ranks before and after the original
// (a duplicate never wins; the first of equal boxes does). Large-partition path, every trial layout.
void crowdedAgree(Crowd crowd) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    std::mt19937_64 rng(seed);
    auto below = [&](std::uint64_t n) { return static_cast<std::uint32_t>(rng() % n); };
    CrowdNets nets;
    for (auto& a : nets.src) a = static_cast<std::uint32_t>(rng()) & 0xFFFFFF00u;
    for (auto& a : nets.dst) a = static_cast<std::uint32_t>(rng()) & 0xFFFFFF00u;
    std::mt19937_64 rng6(seed + 1000);  // IPv6 networks from their own generator: the IPv4 draws stay as they were
    for (auto& a : nets.src6) a = {rng6(), rng6()};
    for (auto& a : nets.dst6) a = {rng6(), rng6()};
    nets.shift = crowd == Crowd::V6LowByte ? 0 : 60;
    auto address = [&nets, &rng](Family f, bool src) { return crowdAddress(rng, nets, f, src); };
    auto length = [&nets, &rng](Family f) { return crowdLength(rng, nets, f); };
    static constexpr std::uint16_t kPorts[] = {22, 80, 443, 1024, 1600, 1649, 5001, 8080};
    std::vector<RuleBox> boxes;
    const std::size_t n = 3000;
    for (std::size_t i = 0; i < n; ++i) {
      RuleBox b;
      if (i > 0 && below(4) == 0) {
        b = boxes[below(static_cast<std::uint32_t>(boxes.size()))];  // a duplicate, its own rank below
      } else {
        b.family = crowd == Crowd::V4 || (crowd == Crowd::Mixed && below(2) == 0) ? Family::V4 : Family::V6;
        const int sl = length(b.family);
        const int dl = length(b.family);
        b.src = Cidr::of(address(b.family, true), sl);
        b.dst = Cidr::of(address(b.family, false), dl);
        b.proto = below(10) == 0 ? -1 : 6;
        switch (below(3)) {
          case 0:
            break;  // any destination port
          case 1:
            b.dportLo = b.dportHi = kPorts[below(8)];
            break;
          default:
            b.dportLo = kPorts[below(8)];
            b.dportHi = std::max<std::uint16_t>(b.dportLo, kPorts[below(8)]);
        }
        if (below(8) == 0) b.sportLo = b.sportHi = kPorts[below(8)];
      }
      b.rank = below(n);
      b.ruleIndex = static_cast<std::uint32_t>(i);
      boxes.push_back(b);
    }
    LinearClassifier linear(boxes);
    std::vector<ClassifyKey> keys;
    for (int i = 0; i < 6000; ++i) {
      const RuleBox& b = boxes[below(n)];
      ClassifyKey k{b.family,
                    6,
                    below(2) ? b.src.base : b.src.last(),
                    below(2) ? b.dst.base : b.dst.last(),
                    below(2) ? b.sportLo : b.sportHi,
                    below(2) ? b.dportLo : b.dportHi};
      if (below(3) == 0) k.src = address(k.family, true);
      if (below(3) == 0) k.dst = address(k.family, false);
      if (below(4) == 0) k.dport = kPorts[below(8)];
      keys.push_back(k);
    }
    for (const auto& options : kConfigs) {
      FastClassifier fast(boxes, options);
      std::size_t matched = 0;
      for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto want = linear.classify(keys[i]);
        matched += want != kNoMatch;
        ASSERT_EQ(fast.classify(keys[i]), want)
            << "crowd " << int(crowd) << " seed " << seed << " key " << i << " tuneFrom " << options.tuneFrom;
      }
      // The batch classify over all keys at once gives the same answers.
      std::vector<std::uint32_t> out(keys.size());
      fast.classify(keys, out);
      for (std::size_t i = 0; i < keys.size(); ++i)
        ASSERT_EQ(out[i], fast.classify(keys[i])) << "batch: crowd " << int(crowd) << " seed " << seed << " key " << i;
      EXPECT_GT(matched, keys.size() / 2) << "seed " << seed;
    }
  }
}

TEST(FastClassifier, CrowdedAddressesAndDuplicatesAgreeWithLinear) { crowdedAgree(Crowd::V4); }
TEST(FastClassifier, CrowdedIpv6AddressesAndDuplicatesAgreeWithLinear) {
  crowdedAgree(Crowd::V6LowByte);
  crowdedAgree(Crowd::V6AcrossWords);
}
TEST(FastClassifier, CrowdedMixedFamiliesAgreeWithLinear) { crowdedAgree(Crowd::Mixed); }

// Long buckets split by a sub-key (large partitions; see "Split buckets" in fast_classifier.h), shaped like
// ClassBench's acl sets: thousands of rules on a few (/28, /28) address pairs, most of them /30-/32 with narrow
// destination port ranges, so that buckets of hundreds of rules exist and a source, destination or port window
// separates them; some rules wildcard those bits (shorter prefixes, wide or any port ranges: copied into several
// sub-buckets, and laid out so that no block holds two sub-buckets of one bucket), some are exact duplicates (a
// duplicate never wins), other protocols and any-protocol rules share the tables. tuneFrom is lowered so that
// the TCP partition is large; `v6In4` of every four boxes and keys are IPv6 (mixed tables). With `pairs` 2x2
// address pairs, buckets hold hundreds of rules; with 8x8, tens, split into sub-buckets of a few rules each,
// which share blocks with other buckets' (the layout's own risk: two sub-buckets of one bucket in one block).
void splitAgree(std::uint32_t v6In4, std::uint32_t nets) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    std::mt19937_64 rng(seed * 7919);
    auto below = [&](std::uint64_t n) { return static_cast<std::uint32_t>(rng() % n); };
    std::vector<std::uint32_t> srcNets(nets), dstNets(nets);
    for (auto& a : srcNets) a = static_cast<std::uint32_t>(rng()) & 0xFFFFFFF0u;
    for (auto& a : dstNets) a = static_cast<std::uint32_t>(rng()) & 0xFFFFFFF0u;
    const std::uint64_t v6Net = rng();
    // Mostly /30-/32 inside the /28s; sometimes a length that wildcards the bits a sub-key may use.
    auto length = [&] {
      static constexpr int kShort[] = {0, 8, 16, 24, 27, 28, 29};
      return below(5) == 0 ? kShort[below(7)] : 30 + static_cast<int>(below(3));
    };
    auto address = [&](const std::vector<std::uint32_t>& pool) { return IpAddr::v4(pool[below(nets)] | below(16)); };
    std::vector<RuleBox> boxes;
    const std::size_t n = 5000;
    for (std::size_t i = 0; i < n; ++i) {
      RuleBox b;
      if (i > 0 && below(7) == 0) {
        b = boxes[below(boxes.size())];  // a duplicate, its own rank below
      } else {
        b.family = Family::V4;
        b.src = Cidr::of(address(srcNets), length());
        b.dst = Cidr::of(address(dstNets), length());
        static constexpr std::int16_t kProtos[] = {6, 6, 6, 6, 6, 6, -1, 17};
        b.proto = kProtos[below(8)];
        switch (below(8)) {
          case 0:
            break;  // any destination port
          case 1:
            b.dportLo = static_cast<std::uint16_t>(1024 * (1 + below(8))), b.dportHi = 65535;
            break;
          case 2:
            b.dportLo = b.dportHi = static_cast<std::uint16_t>(below(65536));
            break;
          default:  // a narrow range somewhere (ClassBench: 61400-61409, 1300-1350, ...)
            b.dportLo = static_cast<std::uint16_t>(below(65000));
            b.dportHi = static_cast<std::uint16_t>(b.dportLo + below(60));
        }
        if (below(10) == 0) {
          b.sportLo = static_cast<std::uint16_t>(below(65000));
          b.sportHi = static_cast<std::uint16_t>(b.sportLo + below(300));
        }
        if (below(4) < v6In4) {  // the same box under an IPv6 /64 (small layout)
          b.family = Family::V6;
          b.src = Cidr::of(IpAddr{Family::V6, v6Net, b.src.base.v4Value()}, 64 + b.src.prefix);
          b.dst = Cidr::of(IpAddr{Family::V6, v6Net, b.dst.base.v4Value()}, 64 + b.dst.prefix);
        }
      }
      b.rank = below(n);
      b.ruleIndex = static_cast<std::uint32_t>(i);
      boxes.push_back(b);
    }
    std::vector<ClassifyKey> keys;
    for (int i = 0; i < 8000; ++i) {
      const RuleBox& b = boxes[below(n)];
      ClassifyKey k{b.family,
                    b.proto >= 0 ? static_cast<std::uint8_t>(b.proto) : std::uint8_t{6},
                    below(2) ? b.src.base : b.src.last(),
                    below(2) ? b.dst.base : b.dst.last(),
                    static_cast<std::uint16_t>(b.sportLo + below(b.sportHi - b.sportLo + 1u)),
                    static_cast<std::uint16_t>(b.dportLo + below(b.dportHi - b.dportLo + 1u))};
      if (k.family == Family::V4 && below(3) == 0) k.src = address(srcNets);
      if (k.family == Family::V4 && below(3) == 0) k.dst = address(dstNets);
      if (below(6) == 0) k.dport = static_cast<std::uint16_t>(k.dport + 1);
      keys.push_back(k);
    }
    LinearClassifier linear(boxes);
    for (const bool twoChoice : {true, false}) {
      FastClassifier fast(boxes, FastClassifier::Options{.tuneFrom = 512, .twoChoice = twoChoice});
      EXPECT_GT(fast.splitBuckets(), 0u) << "seed " << seed;
      std::size_t matched = 0;
      std::vector<std::uint32_t> wants;
      for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto want = linear.classify(keys[i]);
        matched += want != kNoMatch;
        wants.push_back(want);
        ASSERT_EQ(fast.classify(keys[i]), want)
            << "v6In4 " << v6In4 << " nets " << nets << " seed " << seed << " key " << i << " "
            << keys[i].src.toString() << " -> " << keys[i].dst.toString() << " proto " << int(keys[i].proto) << " "
            << keys[i].sport << "->" << keys[i].dport << " twoChoice " << twoChoice;
      }
      std::vector<std::uint32_t> out(keys.size());
      fast.classify(keys, out);
      for (std::size_t i = 0; i < keys.size(); ++i)
        ASSERT_EQ(out[i], wants[i]) << "batch: seed " << seed << " key " << i;
      EXPECT_GT(matched, keys.size() / 2) << "seed " << seed;
    }
  }
}

TEST(FastClassifier, SplitBucketsAgreeWithLinear) {
  splitAgree(0, 2);
  splitAgree(0, 8);
}
TEST(FastClassifier, SplitBucketsInMixedTablesAgreeWithLinear) {
  splitAgree(1, 2);
  splitAgree(1, 8);
}

// A rule copied into several sub-buckets must not answer for a key of one of them from another's lanes: one
// address pair, 69 two-port destination ranges (0-1 ... 80-81, and four at each of 8192, 16384, ... 57344; ranges,
// so that no table keys them on the port), then an any-port rule. The bucket (70 rules, 9 blocks) is split on
// the port, into sub-buckets of a few rules that each end with a copy of the any-port rule; such sub-buckets
// must not share a block, or a key of the second would hit the first one's copy ahead of its own rule.
TEST(FastClassifier, CopiedRuleDoesNotAnswerForAnotherSubBucket) {
  std::vector<RuleBox> boxes;
  std::uint32_t rank = 0;
  for (std::uint16_t port = 0; port <= 80; port += 2)
    boxes.push_back(box("10.0.0.1/32", "192.0.2.1/32", 6, port, static_cast<std::uint16_t>(port + 1), rank++));
  for (std::uint32_t k = 1; k < 8; ++k)
    for (std::uint32_t d = 0; d < 8; d += 2) {
      const auto port = static_cast<std::uint16_t>(8192 * k + d);
      boxes.push_back(box("10.0.0.1/32", "192.0.2.1/32", 6, port, static_cast<std::uint16_t>(port + 1), rank++));
    }
  boxes.push_back(box("10.0.0.1/32", "192.0.2.1/32", 6, 0, 65535, rank++));
  FastClassifier fast(boxes, FastClassifier::Options{.tuneFrom = 8});
  LinearClassifier linear(boxes);
  EXPECT_EQ(fast.splitBuckets(), 1u);
  for (std::uint32_t port = 0; port < 65536; ++port) {
    const ClassifyKey k = key("10.0.0.1", "192.0.2.1", 6, 1, static_cast<std::uint16_t>(port));
    ASSERT_EQ(fast.classify(k), linear.classify(k)) << "port " << port;
  }
}

// Later-batch bounds (large partitions; see "Later-batch bounds" in fast_classifier.h): a lookup stops after a
// batch of tables once its match is at or before the bound of a bucket it found, the best position of any rule in
// the later batches' tables that meets the bucket's region, and inside a batch once its match is at or before the
// stop bound of a bucket it found (the same over every later table; see "Per-table bounds"). Rules of every length on
// nested prefixes of a few addresses (so that rules of later, shorter tables meet the regions of earlier buckets, and
// rules longer than their table sit beside them), exact ports, port ranges that contain the exact ones or not, any
// port; ranks mostly in order of specificity (as in ClassBench's sets: the bounds then end many lookups early), some
// anywhere (a rule of a later, coarser table that beats an earlier bucket's rules); duplicates; any-protocol and UDP
// rules; a few IPv6 boxes (small layout) in the same table. Keys on the rules' corners, some moved to another address
// or port. Every answer must equal the linear scan's, with and without the bounds; the bounds must spare probes.
TEST(FastClassifier, LaterBatchBoundsAgreeWithLinear) {
  std::uint64_t spared = 0, inBatchStops[2] = {0, 0};
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    std::mt19937_64 rng(seed * 104729);
    auto below = [&](std::uint64_t n) { return static_cast<std::uint32_t>(rng() % n); };
    std::uint32_t nets[4];
    for (auto& a : nets) a = static_cast<std::uint32_t>(rng());
    nets[1] = (nets[0] & 0xFFFF0000u) | (nets[1] & 0xFFFFu);  // shares a /16 with nets[0]
    nets[2] = (nets[0] & 0xFFFFFF00u) | (nets[2] & 0xFFu);    // shares a /24
    static constexpr std::uint16_t kPorts[] = {22, 53, 80, 443, 8080};
    auto address = [&] { return IpAddr::v4(nets[below(4)] ^ (below(4) == 0 ? below(256) : 0u)); };
    auto length = [&] { return below(3) == 0 ? static_cast<int>(below(33)) : 24 + static_cast<int>(below(9)); };
    std::vector<RuleBox> boxes;
    const std::size_t n = 3000;
    for (std::size_t i = 0; i < n; ++i) {
      RuleBox b;
      if (i > 0 && below(10) == 0) {
        b = boxes[below(boxes.size())];  // a duplicate, its own rank below
      } else {
        b.src = Cidr::of(address(), length());
        b.dst = Cidr::of(address(), length());
        static constexpr std::int16_t kProtos[] = {6, 6, 6, 6, 6, -1, 17};
        b.proto = kProtos[below(7)];
        switch (below(4)) {
          case 0:
            break;  // any destination port
          case 1:
            b.dportLo = b.dportHi = kPorts[below(5)];
            break;
          case 2:  // a range around one of the exact ports, or beside it
            b.dportLo = static_cast<std::uint16_t>(kPorts[below(5)] - below(3));
            b.dportHi = static_cast<std::uint16_t>(b.dportLo + below(4));
            break;
          default:
            b.dportLo = static_cast<std::uint16_t>(below(2000));
            b.dportHi = static_cast<std::uint16_t>(b.dportLo + below(9000));
        }
        if (below(6) == 0) b.sportLo = b.sportHi = kPorts[below(5)];
        if (below(16) == 0) {  // the same box under an IPv6 /64
          b.family = Family::V6;
          b.src = Cidr::of(IpAddr{Family::V6, 0x20010DB800000000ull, b.src.base.v4Value()}, 64 + b.src.prefix);
          b.dst = Cidr::of(IpAddr{Family::V6, 0x20010DB800000000ull, b.dst.base.v4Value()}, 64 + b.dst.prefix);
        }
      }
      // Mostly the more specific first, as in ClassBench's sets (the bounds then end most lookups early); some
      // anywhere (a later table's rule that beats an earlier bucket's).
      const int lengths = std::min<int>(b.src.prefix, 32) + std::min<int>(b.dst.prefix, 32);
      b.rank = below(4) == 0 ? below(6500) : static_cast<std::uint32_t>(64 - lengths) * 100 + below(300);
      b.ruleIndex = static_cast<std::uint32_t>(i);
      boxes.push_back(b);
    }
    std::vector<ClassifyKey> keys;
    for (int i = 0; i < 6000; ++i) {
      const RuleBox& b = boxes[below(n)];
      ClassifyKey k{b.family,
                    b.proto >= 0 ? static_cast<std::uint8_t>(b.proto) : std::uint8_t{6},
                    below(2) ? b.src.base : b.src.last(),
                    below(2) ? b.dst.base : b.dst.last(),
                    below(2) ? b.sportLo : b.sportHi,
                    below(2) ? b.dportLo : b.dportHi};
      if (k.family == Family::V4 && below(4) == 0) k.src = address();
      if (k.family == Family::V4 && below(4) == 0) k.dst = address();
      if (below(4) == 0) k.dport = kPorts[below(5)];
      keys.push_back(k);
    }
    const LinearClassifier linear(boxes);
    std::vector<std::uint32_t> wants;
    std::size_t matched = 0;
    for (const ClassifyKey& k : keys) {
      wants.push_back(linear.classify(k));
      matched += wants.back() != kNoMatch;
    }
    EXPECT_GT(matched, keys.size() / 2) << "seed " << seed;
    std::uint64_t probes[2] = {0, 0};
    for (const bool bounds : {false, true}) {
      for (const bool twoChoice : {true, false}) {
        const FastClassifier fast(
            boxes, FastClassifier::Options{.tuneFrom = 256, .twoChoice = twoChoice, .batchBounds = bounds});
        ASSERT_GT(fast.tableCount(), 12u) << "seed " << seed;  // several batches of tables in the TCP partition
        for (std::size_t i = 0; i < keys.size(); ++i)
          ASSERT_EQ(fast.classify(keys[i]), wants[i])
              << "seed " << seed << " key " << i << " " << keys[i].src.toString() << " -> " << keys[i].dst.toString()
              << " proto " << int(keys[i].proto) << " " << keys[i].sport << "->" << keys[i].dport << " bounds "
              << bounds << " twoChoice " << twoChoice;
        std::vector<std::uint32_t> out(keys.size());
        fast.classify(keys, out);
        for (std::size_t i = 0; i < keys.size(); ++i)
          ASSERT_EQ(out[i], wants[i]) << "batch: seed " << seed << " key " << i;
        if (twoChoice) {
          const FastClassifier::LookupCounts counts = fast.countLookups(keys);
          probes[bounds] = counts.probes;
          EXPECT_LE(counts.slots, counts.probes) << "seed " << seed;
          // Probed tables whose slots a lookup left alone: the tables' best positions end some lookups inside a
          // batch, the stop bounds many more.
          inBatchStops[bounds] += counts.probes - counts.slots;
        }
      }
    }
    EXPECT_LE(probes[1], probes[0]) << "seed " << seed;
    spared += probes[0] - std::min(probes[0], probes[1]);
  }
  EXPECT_GT(spared, 0u) << "the bounds spared no probe";
  EXPECT_GT(inBatchStops[1], inBatchStops[0]) << "the stop bounds ended no lookup inside a batch";
}

// A partition of tuneSiblingsFrom rules or more (and fewer than tuneFrom) is built like a large one when another
// partition is large, and only then; either way every answer is the linear scan's. About 1,200 TCP and 900 UDP
// rules (and as many ICMP): with tuneFrom 1,000, the UDP lookups go through the large path with tuneSiblingsFrom
// 500, through the small one with 0 (countLookups counts large-partition lookups only).
TEST(FastClassifier, PartitionsBesideALargeOneAreLargeFromTuneSiblingsFrom) {
  RandomBoxes gen(2718, 0);  // IPv4 only
  const auto boxes = gen.boxes(2400);
  const LinearClassifier linear(boxes);
  std::vector<ClassifyKey> keys, udp;
  for (int i = 0; i < 6000; ++i) {
    keys.push_back(gen.cornerKey(boxes[gen.below(2400)]));
    if (keys.back().proto == 17) udp.push_back(keys.back());
  }
  ASSERT_GT(udp.size(), 500u);
  for (const std::uint32_t siblings : {500u, 0u}) {
    const FastClassifier fast(boxes, FastClassifier::Options{.tuneFrom = 1000, .tuneSiblingsFrom = siblings});
    for (std::size_t i = 0; i < keys.size(); ++i)
      ASSERT_EQ(fast.classify(keys[i]), linear.classify(keys[i])) << "siblings " << siblings << " key " << i;
    EXPECT_EQ(fast.countLookups(udp).lookups, siblings != 0 ? udp.size() : 0u) << "siblings " << siblings;
  }
  // No partition reaches tuneFrom: none is large, whatever tuneSiblingsFrom says.
  const FastClassifier small(boxes, FastClassifier::Options{.tuneFrom = 5000, .tuneSiblingsFrom = 500});
  EXPECT_EQ(small.countLookups(keys).lookups, 0u);
}

TEST(FastClassifier, ConcurrentLookupsSeeTheSameAnswers) {
  RandomBoxes gen(99);
  auto boxes = gen.boxes(500);
  const FastClassifier fast(boxes);
  std::vector<ClassifyKey> keys;
  for (int i = 0; i < 4000; ++i) keys.push_back(gen.cornerKey(boxes[gen.below(500)]));
  std::vector<std::uint32_t> expected;
  for (const auto& k : keys) expected.push_back(fast.classify(k));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round)
        for (std::size_t i = 0; i < keys.size(); ++i) mismatches[t] += fast.classify(keys[i]) != expected[i];
    });
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace sgsim
