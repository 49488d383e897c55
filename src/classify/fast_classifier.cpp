#include "sgsim/classify/fast_classifier.h"

#include <algorithm>
#include <bit>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstring>
#include <random>
#include <tuple>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <utility>

namespace sgsim {

namespace {

std::uint32_t prefixMask(int len) { return len <= 0 ? 0 : (len >= 32 ? 0xFFFFFFFFu : ~0u << (32 - len)); }

constexpr std::uint64_t kHashMultiplier = 0xFF51AFD7ED558CCDull;

// Multiplicative hash, one multiply (aux, at most 24 bits, is folded into the source half); the top bits of the
// product depend on every input bit, and the lookup takes the top bits. Each frozen table has its own multiplier
// (placeBuckets below tries several).
inline std::uint64_t hashKey(std::uint64_t ip, std::uint32_t aux, std::uint64_t multiplier = kHashMultiplier) {
  return (ip ^ (static_cast<std::uint64_t>(aux) << 40)) * multiplier;
}

// A frozen table's two slots for a key of hash h (two-choice cuckoo hashing, placeBuckets): the top bits of h,
// and the top bits of h times a second odd constant (which depend on every bit of h, so keys whose hashes agree
// in their top bits still get different second slots).
inline std::uint32_t firstSlot(std::uint64_t h, std::uint32_t shift) { return static_cast<std::uint32_t>(h >> shift); }
// capacity - 1 of a table of 2^(64 - shift) slots (for linear probing).
inline std::uint32_t slotMask(std::uint32_t shift) { return (1u << (64 - shift)) - 1; }
inline std::uint32_t secondSlot(std::uint64_t h, std::uint32_t shift) {
  return static_cast<std::uint32_t>((h * 0x9E3779B97F4A7C15ull) >> shift);
}

// Where the buckets of a frozen hash table go. Two-choice cuckoo hashing (Pagh and Rodler, "Cuckoo hashing",
// 2001): every key is in one of its two slots (firstSlot, secondSlot), so a lookup reads both and picks the one
// holding its key without a branch on what the slots hold (linear probing walked on from a taken home slot:
// 0.7-0.9 extra slots per table probed on the 1k/10k sets, and a mispredicted branch on most of them). Tries
// the table's multipliers at the minimum capacity, then at twice it; if no try places every key (the same hash
// for three keys, or bad luck), the table falls back to linear probing from firstSlot (twoChoice false), which
// always works: the lookup has that path too, behind a branch that is the same for every lookup of the table.
struct Placement {
  std::uint32_t capacity = 0;
  std::uint64_t multiplier = kHashMultiplier;
  bool twoChoice = false;
  std::vector<std::uint32_t> slotOf;  // per key, its slot
};

constexpr std::uint32_t kNoKey = 0xFFFFFFFFu;

// hash(i, multiplier): key i's hash. minCapacity: a power of two, at least twice the number of keys.
// uniqueHashes: a try whose hashes (| 1) are not all different fails too (the IPv6 slots keep only the hash).
template <class HashFn>
Placement placeBuckets(std::size_t n, std::uint32_t minCapacity, bool twoChoice, bool uniqueHashes, HashFn hash) {
  static constexpr std::uint64_t kMultipliers[] = {kHashMultiplier, 0xC4CEB9FE1A85EC53ull, 0xD6E8FEB86659FD93ull,
                                                   0xA0761D6478BD642Full};
  constexpr int kMaxKicks = 256;
  Placement p;
  std::vector<std::uint32_t> owner;
  std::vector<std::uint32_t> choice[2];
  choice[0].resize(n);
  choice[1].resize(n);
  std::vector<std::uint64_t> hashes;
  for (std::uint32_t capacity = minCapacity; twoChoice && capacity <= 2 * minCapacity; capacity *= 2) {
    const auto shift = static_cast<std::uint32_t>(64 - std::countr_zero(capacity));
    for (const std::uint64_t multiplier : kMultipliers) {
      hashes.clear();
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t h = hash(i, multiplier);
        choice[0][i] = firstSlot(h, shift);
        choice[1][i] = secondSlot(h, shift);
        if (uniqueHashes) hashes.push_back(h | 1);
      }
      if (uniqueHashes) {
        std::sort(hashes.begin(), hashes.end());
        if (std::adjacent_find(hashes.begin(), hashes.end()) != hashes.end()) continue;
      }
      owner.assign(capacity, kNoKey);
      bool placed = true;
      for (std::uint32_t k = 0; k < n && placed; ++k) {
        // Insert k; a key with both slots taken evicts the one in the slot it did not just come from, which
        // then tries its own other slot (a random walk, at most kMaxKicks steps).
        std::uint32_t cur = k, at = choice[1][k];
        for (int kick = 0;; ++kick) {
          if (owner[choice[0][cur]] == kNoKey) {
            owner[choice[0][cur]] = cur;
            break;
          }
          if (owner[choice[1][cur]] == kNoKey) {
            owner[choice[1][cur]] = cur;
            break;
          }
          if (kick == kMaxKicks) {
            placed = false;
            break;
          }
          at = at == choice[0][cur] ? choice[1][cur] : choice[0][cur];
          std::swap(cur, owner[at]);
        }
      }
      if (!placed) continue;
      p.capacity = capacity;
      p.multiplier = multiplier;
      p.twoChoice = true;
      p.slotOf.resize(n);
      for (std::uint32_t i = 0; i < capacity; ++i)
        if (owner[i] != kNoKey) p.slotOf[owner[i]] = i;
      return p;
    }
  }
  // Linear probing from the first slot.
  p.capacity = minCapacity;
  p.slotOf.resize(n);
  owner.assign(minCapacity, kNoKey);
  const auto shift = static_cast<std::uint32_t>(64 - std::countr_zero(minCapacity));
  for (std::size_t k = 0; k < n; ++k) {
    std::uint32_t i = firstSlot(hash(k, kHashMultiplier), shift);
    while (owner[i] != kNoKey) i = (i + 1) & (minCapacity - 1);
    owner[i] = static_cast<std::uint32_t>(k);
    p.slotOf[k] = i;
  }
  return p;
}

// Four 32-bit lanes (GCC/Clang vector extension: SSE2 on x86-64, NEON on ARM); comparisons give -1 / 0 lanes.
typedef std::int32_t Lanes __attribute__((vector_size(16)));

inline Lanes load(const void* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline Lanes splat(std::uint32_t x) { return Lanes{} + static_cast<std::int32_t>(x); }

// Bit i set when lane i is all ones.
inline unsigned laneBits(Lanes m) {
#if defined(__SSE2__)
  return static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(reinterpret_cast<__m128i>(m))));
#else
  return (m[0] & 1u) | (m[1] & 2u) | (m[2] & 4u) | (m[3] & 8u);
#endif
}

// Eight 16-bit lanes, for the port pre-filter.
typedef std::int16_t Lanes16 __attribute__((vector_size(16)));

inline Lanes16 load16(const void* p) {
  Lanes16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline Lanes16 splat16(std::uint16_t port) { return Lanes16{} + static_cast<std::int16_t>(port ^ 0x8000u); }

// Four 16-bit lanes (the low half of an SSE2 register on x86-64).
typedef std::int16_t Lanes4x16 __attribute__((vector_size(8)));

inline Lanes4x16 load4(const std::int16_t* p) {
  Lanes4x16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Shortens the prefix (base, mask) to the longest one that also contains the prefix (b, m).
inline void widenToContain(std::uint32_t& base, std::uint32_t& mask, std::uint32_t b, std::uint32_t m) {
  mask &= m;
  const std::uint32_t diff = (b ^ base) & mask;
  if (diff != 0) mask &= ~(0xFFFFFFFFu >> std::countl_zero(diff));
  base &= mask;
}

// Buckets of more than this many RuleBlocks get a GroupHead per this many blocks.
constexpr std::uint32_t kGroupBlocks = 8;

// Large partitions probe their tables this many at a time (classifyLarge); SlotBounds::bound bounds what the tables of
// later batches can match (computeSlotBounds).
constexpr int kProbeBatch = 4;

inline std::int16_t biased(std::uint16_t port) { return static_cast<std::int16_t>(port ^ 0x8000u); }

// Bit i set when 16-bit lane i is all ones.
inline unsigned laneBits16(Lanes16 m) {
#if defined(__SSE2__)
  const __m128i v = reinterpret_cast<__m128i>(m);
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_packs_epi16(v, _mm_setzero_si128())));
#else
  unsigned bits = 0;
  for (int i = 0; i < 8; ++i) bits |= (m[i] & 1u) << i;
  return bits;
#endif
}

constexpr std::size_t kPartitions = 4;

// TCP, UDP, ICMP, everything else.
inline std::size_t partitionOf(std::uint8_t proto) { return proto == 6 ? 0 : proto == 17 ? 1 : proto == 1 ? 2 : 3; }

constexpr std::uint32_t kDportAux = 0xFFFF00u;
constexpr std::uint32_t kProtoAux = 0xFFu;

// Split buckets (large partitions; see the design notes, "Split buckets"). A bucket of more than kSplitFrom
// RuleBlocks may be split by a sub-key: `bits` bits of one field of the key (source, destination, source port,
// destination port) from bit `shift` up; each of the 2^bits sub-buckets holds, in position order, the rules that
// can match a key with that sub-key value (a rule whose range spans several values is in each of them).
constexpr std::uint32_t kSplitFrom = 4;
constexpr std::uint32_t kSplitMaxBits = 6;
// A split may hold at most this many times the bucket's rules (copies included), in tenths.
constexpr std::uint32_t kSplitMaxCopies10 = 20;
// What a split costs a lookup, in RuleBlocks read: the sub-bucket's entry, one more dependent load.
constexpr std::uint64_t kSplitOverhead = 2;

struct SplitChoice {
  std::uint32_t field = 0, shift = 0, bits = 0;  // bits 0: no split
};

// A rule's values of key field `field` (0 source, 1 destination, 2 source port, 3 destination port): [lo, hi].
inline std::pair<std::uint32_t, std::uint32_t> fieldRange(const RuleBox& b, std::uint32_t field) {
  switch (field) {
    case 0: {
      const std::uint32_t m = prefixMask(b.src.prefix), lo = b.src.base.v4Value() & m;
      return {lo, lo | ~m};
    }
    case 1: {
      const std::uint32_t m = prefixMask(b.dst.prefix), lo = b.dst.base.v4Value() & m;
      return {lo, lo | ~m};
    }
    case 2:
      return {b.sportLo, b.sportHi};
    default:
      return {b.dportLo, b.dportHi};
  }
}

// Calls fn(v) for every sub-key value v ((x >> shift) & mask, x in [lo, hi]) and returns how many there are.
template <class Fn>
inline std::uint32_t forEachSubValue(std::uint32_t lo, std::uint32_t hi, std::uint32_t shift, std::uint32_t mask,
                                     Fn fn) {
  const std::uint32_t a = lo >> shift, b = hi >> shift;
  if (b - a >= mask) {
    for (std::uint32_t v = 0; v <= mask; ++v) fn(v);
    return mask + 1;
  }
  for (std::uint32_t q = a;; ++q) {
    fn(q & mask);
    if (q == b) break;
  }
  return b - a + 1;
}

// The sub-key that splits a bucket (its rules' positions, ascending) for the fewest RuleBlocks read, or none.
// The estimate: a lookup whose match is rule r reads the blocks of its sub-bucket up to r's (averaged over the
// sub-key values r can take), against r's block in the whole bucket, plus kSplitOverhead; shadowed matches and
// GroupHeads are not modelled. Sub-keys are windows of the fields below the bits the table's key already fixes.
SplitChoice chooseSplit(const std::vector<RuleBox>& boxes, const std::vector<std::uint32_t>& positions, int srcLen,
                        int dstLen, std::uint32_t auxMask) {
  const auto n = static_cast<std::uint32_t>(positions.size());
  const std::uint32_t nblocks = (n + 7) / 8;
  if (nblocks <= kSplitFrom) return {};
  constexpr std::uint64_t kScale = 1 << 12;  // cost units per RuleBlock (averages over sub-key values)
  std::uint64_t bestCost = 0;
  for (std::uint32_t i = 0; i < n; ++i) bestCost += (i / 8) * kScale;
  const std::uint64_t maxCopies = static_cast<std::uint64_t>(n) * kSplitMaxCopies10 / 10;
  const std::uint32_t maxBits = std::min<std::uint32_t>(kSplitMaxBits, std::bit_width(nblocks));
  const int keyed[4] = {srcLen, dstLen, 0, (auxMask & kDportAux) != 0 ? 16 : 0};
  const int width[4] = {32, 32, 16, 16};
  std::vector<std::uint32_t> lo(n), hi(n), counts;
  SplitChoice best;
  for (std::uint32_t field = 0; field < 4; ++field) {
    for (std::uint32_t i = 0; i < n; ++i) std::tie(lo[i], hi[i]) = fieldRange(boxes[positions[i]], field);
    for (std::uint32_t bits = 2; bits <= maxBits; ++bits) {
      const std::uint32_t mask = (1u << bits) - 1;
      for (std::uint32_t shift = 0; static_cast<int>(shift + bits) + keyed[field] <= width[field]; ++shift) {
        counts.assign(mask + 1, 0);
        std::uint64_t copies = 0, cost = static_cast<std::uint64_t>(n) * kSplitOverhead * kScale;
        std::uint32_t i = 0;
        for (; i < n && copies <= maxCopies && cost < bestCost; ++i) {
          std::uint64_t sum = 0;
          const std::uint32_t values = forEachSubValue(lo[i], hi[i], shift, mask, [&](std::uint32_t v) {
            sum += counts[v] / 8;
            ++counts[v];
          });
          copies += values;
          cost += sum * kScale / values;
        }
        if (i < n || copies > maxCopies || cost >= bestCost) continue;
        bestCost = cost;
        best = {field, shift, bits};
      }
    }
  }
  return best;
}

struct BucketKey {
  std::uint64_t ip;
  std::uint32_t aux;
  bool operator==(const BucketKey&) const = default;
};

struct BucketKeyHash {
  std::size_t operator()(const BucketKey& k) const { return hashKey(k.ip, k.aux) >> 16; }
};

// What an IPv4 box matches, packed: two boxes with the same signature match the same packets.
struct BoxSignature {
  std::uint64_t addrs;  // masked source << 32 | masked destination
  std::uint64_t ports;  // sportLo, sportHi, dportLo, dportHi
  std::uint32_t rest;   // source length << 24 | destination length << 16 | protocol + 1
  bool operator==(const BoxSignature&) const = default;

  static BoxSignature of(const RuleBox& b) {
    return {static_cast<std::uint64_t>(b.src.base.v4Value() & prefixMask(b.src.prefix)) << 32 |
                (b.dst.base.v4Value() & prefixMask(b.dst.prefix)),
            static_cast<std::uint64_t>(b.sportLo) << 48 | static_cast<std::uint64_t>(b.sportHi) << 32 |
                static_cast<std::uint64_t>(b.dportLo) << 16 | b.dportHi,
            static_cast<std::uint32_t>(b.src.prefix) << 24 | static_cast<std::uint32_t>(b.dst.prefix) << 16 |
                static_cast<std::uint32_t>(b.proto + 1)};
  }
};

struct BoxSignatureHash {
  std::size_t operator()(const BoxSignature& k) const {
    return hashKey(k.addrs ^ (k.ports * 0x9E3779B97F4A7C15ull), k.rest) >> 16;
  }
};

// An IPv6 bucket key: the masked source and destination (high word first) and the masked aux.
struct BucketKey6 {
  std::uint64_t src[2], dst[2];
  std::uint32_t aux;
  bool operator==(const BucketKey6&) const = default;
};

__extension__ typedef unsigned __int128 Uint128;  // GCC and Clang; __extension__: no -Wpedantic warning

// The IPv6 key's hash; the lookup takes the top bits. Four independent multiplies (they overlap): the top bits
// of each product depend on every bit of its word. Slots keep the whole key, so the hash only spreads them. The
// low words are rotated by 32 first: masked prefixes leave a word's low bits zero, and the top bits of such a
// word's product depend only on the product of its top bits; two /16 prefixes under fixed64 (the address in
// bits 32-63 of the low word) then kept only 16 bits of the pair in the hash's top bits, and on the 100k sets
// three keys shared a hash and tables fell back to linear probing. (Mixing each address with a 64x64->128-bit
// multiply, folded, spread as well but measured 5-8% slower on the 10k sets.)
inline std::uint64_t hashKey6(std::uint64_t s0, std::uint64_t s1, std::uint64_t d0, std::uint64_t d1, std::uint32_t aux,
                              std::uint64_t multiplier = kHashMultiplier) {
  return (s0 * 0x9E3779B97F4A7C15ull) ^ (std::rotl(s1, 32) * 0xC2B2AE3D27D4EB4Full) ^ (d0 * 0x165667B19E3779F9ull) ^
         ((std::rotl(d1, 32) ^ (static_cast<std::uint64_t>(aux) << 40)) * multiplier);
}

struct BucketKey6Hash {
  std::size_t operator()(const BucketKey6& k) const {
    return hashKey6(k.src[0], k.src[1], k.dst[0], k.dst[1], k.aux) >> 16;
  }
};

// The mask of a prefix of `len` bits over a 128-bit address, as (high word, low word); 128 and more: all ones.
inline std::uint64_t prefixMask6Hi(int len) { return len <= 0 ? 0 : (len >= 64 ? ~0ull : ~0ull << (64 - len)); }
inline std::uint64_t prefixMask6Lo(int len) { return len <= 64 ? 0 : (len >= 128 ? ~0ull : ~0ull << (128 - len)); }

// The 64 bits of a 128-bit address that follow its first `shift` bits (shift < 128).
inline std::uint64_t window64(std::uint64_t hi, std::uint64_t lo, std::uint32_t shift) {
  return static_cast<std::uint64_t>(((static_cast<Uint128>(hi) << 64 | lo) << shift) >> 64);
}

// What an IPv6 box matches (bases as stored: Cidr::contains compares them unmasked), packed like BoxSignature.
struct BoxSignature6 {
  std::uint64_t src[2], dst[2];
  std::uint64_t ports;
  std::uint32_t rest;
  bool operator==(const BoxSignature6&) const = default;

  static BoxSignature6 of(const RuleBox& b) {
    return {{b.src.base.hi, b.src.base.lo},
            {b.dst.base.hi, b.dst.base.lo},
            static_cast<std::uint64_t>(b.sportLo) << 48 | static_cast<std::uint64_t>(b.sportHi) << 32 |
                static_cast<std::uint64_t>(b.dportLo) << 16 | b.dportHi,
            static_cast<std::uint32_t>(b.src.prefix) << 24 | static_cast<std::uint32_t>(b.dst.prefix) << 16 |
                static_cast<std::uint32_t>(b.proto + 1)};
  }
};

struct BoxSignature6Hash {
  std::size_t operator()(const BoxSignature6& k) const {
    return hashKey6(k.src[0], k.src[1] ^ k.ports, k.dst[0], k.dst[1], k.rest) >> 16;
  }
};

inline std::uint32_t auxOf(const RuleBox& b, std::uint32_t auxMask) {
  return ((static_cast<std::uint32_t>(b.dportLo) << 8) | static_cast<std::uint8_t>(b.proto)) & auxMask;
}

// How a table keys its buckets, per address family.
struct V4Keys {
  using Key = BucketKey;
  using Hash = BucketKeyHash;
  static constexpr int kReach = 255;  // a rule may join a table of any shorter lengths
  static int length(const Cidr& c) { return c.prefix; }
  static Key keyOf(const RuleBox& b, int srcLen, int dstLen, std::uint32_t auxMask) {
    const std::uint64_t src = b.src.base.v4Value() & prefixMask(srcLen);
    const std::uint64_t dst = b.dst.base.v4Value() & prefixMask(dstLen);
    return BucketKey{(src << 32) | dst, auxOf(b, auxMask)};
  }
};

struct V6Keys {
  using Key = BucketKey6;
  using Hash = BucketKey6Hash;
  // A rule joins only tables whose lengths are at most 64 shorter than its own: the bucket key checks the
  // table's bits, the RuleGroup6 the 64 bits after them (window64).
  static constexpr int kReach = 64;
  static int length(const Cidr& c) { return std::min<int>(c.prefix, 128); }
  static Key keyOf(const RuleBox& b, int srcLen, int dstLen, std::uint32_t auxMask) {
    return BucketKey6{{b.src.base.hi & prefixMask6Hi(srcLen), b.src.base.lo & prefixMask6Lo(srcLen)},
                      {b.dst.base.hi & prefixMask6Hi(dstLen), b.dst.base.lo & prefixMask6Lo(dstLen)},
                      auxOf(b, auxMask)};
  }
};

// A table while it is being filled: buckets are vectors of positions, in insertion (= position) order.
template <class Keys>
struct BuildTable {
  int srcLen, dstLen;
  std::uint32_t auxMask;
  boost::unordered_flat_map<typename Keys::Key, std::vector<std::uint32_t>, typename Keys::Hash> buckets;

  bool accepts(int sl, int dl, std::uint32_t ruleAux) const {
    return srcLen <= sl && dstLen <= dl && sl - srcLen <= Keys::kReach && dl - dstLen <= Keys::kReach &&
           (auxMask & ~ruleAux) == 0;
  }
  bool sameShape(int sl, int dl, std::uint32_t aux) const { return srcLen == sl && dstLen == dl && auxMask == aux; }
  typename Keys::Key keyOf(const RuleBox& b) const { return Keys::keyOf(b, srcLen, dstLen, auxMask); }
};

// Puts each member into a table (TupleMerge, or one table per exact tuple without mergeTuples); the tables come
// out in ascending position of their first rule. The same for both families: only the keys differ.
template <class Keys>
std::vector<BuildTable<Keys>> mergeIntoTables(const std::vector<RuleBox>& boxes,
                                              const std::vector<std::uint32_t>& members,
                                              const FastClassifier::Options& options) {
  const std::uint32_t limit = std::max<std::uint32_t>(1, options.collisionLimit);
  const bool portKeyFirst = options.portKeyFirst;
  const int step = static_cast<int>(std::max<std::uint32_t>(1, options.lengthStep));
  std::vector<BuildTable<Keys>> tables;
  auto findShape = [&](int sl, int dl, std::uint32_t aux) -> BuildTable<Keys>* {
    for (BuildTable<Keys>& t : tables)
      if (t.sameShape(sl, dl, aux)) return &t;
    return nullptr;
  };
  auto openTable = [&](int sl, int dl, std::uint32_t aux) -> BuildTable<Keys>& {
    tables.push_back(BuildTable<Keys>{sl, dl, aux, {}});
    return tables.back();
  };

  for (std::uint32_t pos : members) {
    const RuleBox& b = boxes[pos];
    const int sl = Keys::length(b.src);
    const int dl = Keys::length(b.dst);
    // Which key fields this rule can supply: an exact destination port and an exact protocol.
    const std::uint32_t ruleAux = (b.dportLo == b.dportHi ? kDportAux : 0u) | (b.proto >= 0 ? kProtoAux : 0u);
    BuildTable<Keys>* target = nullptr;
    if (options.mergeTuples) {
      for (BuildTable<Keys>& t : tables) {
        if (!t.accepts(sl, dl, ruleAux)) continue;
        auto it = t.buckets.find(t.keyOf(b));
        if (it == t.buckets.end() || it->second.size() < limit) {
          target = &t;
          break;
        }
      }
      if (target == nullptr) {
        // Open the coarsest table this rule may use that does not exist yet: lengths rounded down to
        // `step`, then to step/2, step/4 … and finally exact, each first on the addresses alone and then with
        // the port and protocol the rule pins down. The intermediate roundings matter on large sets: without
        // them overflowing rules scatter over one exact-length table per length pair (fw1_100k: 393 tables
        // instead of 48). Rules equal on every keyed field cannot be told apart by any table: they share
        // the last bucket.
        for (int st = step; target == nullptr; st /= 2) {
          const int s = sl - sl % st;
          const int d = dl - dl % st;
          for (std::uint32_t aux : {portKeyFirst ? ruleAux : 0u, portKeyFirst ? 0u : ruleAux})
            if (target == nullptr && sl - s <= Keys::kReach && dl - d <= Keys::kReach &&
                findShape(s, d, aux) == nullptr)
              target = &openTable(s, d, aux);
          if (st == 1) {
            if (target == nullptr) target = findShape(sl, dl, ruleAux);
            break;
          }
        }
      }
    } else {
      target = findShape(sl, dl, ruleAux);
      if (target == nullptr) target = &openTable(sl, dl, ruleAux);
    }
    target->buckets[target->keyOf(b)].push_back(pos);
  }
  return tables;
}

}  // namespace

FastClassifier::FastClassifier(std::vector<RuleBox> boxes, Options options) : boxes_(std::move(boxes)) {
  std::stable_sort(boxes_.begin(), boxes_.end(), [](const RuleBox& a, const RuleBox& b) { return a.rank < b.rank; });

  // Protocol partitions: a lookup only searches the tables of its protocol's partition; any-protocol
  // rules are in all of them.
  std::vector<std::uint32_t> members[kPartitions], members6[kPartitions];
  // A box equal on every field to a box before it can never be the first match: it is left out of the
  // tables (ClassBench's acl1_100k: 8,197 of 44,473 rules, equal but for the TCP flags sgsim does not match
  // on; a security group's rules can repeat across the groups of one interface).
  boost::unordered_flat_set<BoxSignature, BoxSignatureHash> seen;
  boost::unordered_flat_set<BoxSignature6, BoxSignature6Hash> seen6;
  const auto v6Boxes = static_cast<std::size_t>(
      std::count_if(boxes_.begin(), boxes_.end(), [](const RuleBox& b) { return b.family == Family::V6; }));
  seen.reserve(boxes_.size() - v6Boxes);
  seen6.reserve(v6Boxes);
  for (std::uint32_t pos = 0; pos < boxes_.size(); ++pos) {
    const RuleBox& b = boxes_[pos];
    // Boxes that can never match (family mismatch, empty port range) are left out: boxMatches says no to them.
    if (b.src.family() != b.family || b.dst.family() != b.family || b.sportLo > b.sportHi || b.dportLo > b.dportHi)
      continue;
    // Nor do boxes whose base has bits past the prefix (Cidr::contains compares the base unmasked, so they
    // match nothing): the IPv6 groups check only the 64 bits past their table's lengths, and the duplicate
    // check below compares masked prefixes (such a box would hide a later one equal to it once masked).
    if (Cidr::of(b.src.base, b.src.prefix).base != b.src.base || Cidr::of(b.dst.base, b.dst.prefix).base != b.dst.base)
      continue;
    if (b.family == Family::V4 ? !seen.insert(BoxSignature::of(b)).second : !seen6.insert(BoxSignature6::of(b)).second)
      continue;
    auto& m = b.family == Family::V4 ? members : members6;
    if (b.proto < 0) {
      for (auto& one : m) one.push_back(pos);
    } else {
      m[partitionOf(static_cast<std::uint8_t>(b.proto))].push_back(pos);
    }
  }
  // IPv6: the same partitions, every one in the small-partition layout (see the essay).
  for (std::size_t p = 0; p < kPartitions; ++p) {
    partitions6_[p].begin = static_cast<std::uint32_t>(tables6_.size());
    buildTablesV6(members6[p], options);
    partitions6_[p].end = static_cast<std::uint32_t>(tables6_.size());
  }
  const bool tune = options.mergeTuples && options.tuneFrom != 0;
  const bool anyLarge =
      tune && std::any_of(std::begin(members), std::end(members),
                          [&](const std::vector<std::uint32_t>& m) { return m.size() >= options.tuneFrom; });
  for (std::size_t p = 0; p < kPartitions; ++p) {
    Partition& part = partitions_[p];
    part.tables.begin = static_cast<std::uint32_t>(tables_.size());
    // Large partitions: a configuration chosen by estimated cost, eight-rule blocks, batched probes and
    // emptier hash tables. Smaller ones keep four-rule groups and one probe at a time: their buckets are
    // short (1-4 rules on the 1k/10k sets) and the lookup ends after few tables, where eight lanes and a
    // batch of four probes cost more than they save (measured: see the essay). Beside a large partition, a
    // partition of tuneSiblingsFrom rules is large too (the 100k sets' other partitions: see "Later-batch bounds").
    part.large = tune && (members[p].size() >= options.tuneFrom ||
                          (anyLarge && options.tuneSiblingsFrom != 0 && members[p].size() >= options.tuneSiblingsFrom));
    if (part.large)
      buildTunedTables(p, members[p], options);
    else
      buildTables(members[p], options, false);
    part.tables.end = static_cast<std::uint32_t>(tables_.size());
  }
}

// A large partition is built two ways (bucket limit 1024 with 14-bit length steps, port-keyed tables first or
// address-only tables first; with split buckets the three other trials of the round before, 128/16
// address-first, 512/16 port-first and 256/8 address-first, were never the cheapest on the three large sets,
// and each trial build now costs more) and each build is charged for lookups of a sample of headers drawn from
// its own rules (a random corner of a random rule, seeded: builds are deterministic): kProbeCost per table
// probed plus one per GroupHead or sub-bucket entry looked at plus one per RuleBlock read, weights checked
// against measured lookup times on acl1_100k, fw1_100k and ipc1_50k (see the essay). The cheapest build is kept
// where it was built.
void FastClassifier::buildTunedTables(std::size_t p, const std::vector<std::uint32_t>& members,
                                      const Options& options) {
  constexpr std::uint64_t kProbeCost = 4;
  constexpr std::size_t kSample = 2048;
  static constexpr std::uint8_t kPartitionProto[kPartitions] = {6, 17, 1, 0};
  std::mt19937_64 rng(p + 1);
  std::vector<ClassifyKey> sample;
  for (std::size_t i = 0; i < kSample; ++i) {
    const RuleBox& b = boxes_[members[rng() % members.size()]];
    ClassifyKey k;
    k.src = rng() & 1 ? b.src.base : b.src.last();
    k.dst = rng() & 1 ? b.dst.base : b.dst.last();
    k.sport = rng() & 1 ? b.sportLo : b.sportHi;
    k.dport = rng() & 1 ? b.dportLo : b.dportHi;
    k.proto = b.proto >= 0 ? static_cast<std::uint8_t>(b.proto) : kPartitionProto[p];
    sample.push_back(k);
  }
  struct Trial {
    std::uint32_t collisionLimit, lengthStep;
    bool portKeyFirst;
  };
  static constexpr Trial kTrials[] = {{1024, 14, true}, {1024, 14, false}};
  // The best build so far occupies [t0, tb) of tables_, [s0, sb) of slots_ and [b0, bb) of blocks_; each
  // trial is built after it and either dropped or moved down over it.
  const std::size_t t0 = tables_.size(), s0 = slots_.size(), b0 = blocks_.size();
  std::size_t tb = t0, sb = s0, bb = b0;
  const std::size_t g0 = groupHeads_.size(), u0 = subBuckets_.size();
  std::size_t gb = g0, ub = u0;
  std::uint64_t bestCost = ~std::uint64_t{0};
  for (const Trial& trial : kTrials) {
    Options o = options;
    o.collisionLimit = trial.collisionLimit;
    o.lengthStep = trial.lengthStep;
    o.portKeyFirst = trial.portKeyFirst;
    buildTables(members, o, true);
    Counts counts;
    const Range part{static_cast<std::uint32_t>(tb), static_cast<std::uint32_t>(tables_.size())};
    for (const ClassifyKey& k : sample)
      p == 3 ? classifyLarge<true, true>(k, part, &counts) : classifyLarge<false, true>(k, part, &counts);
    const std::uint64_t cost = kProbeCost * counts.probes + counts.heads + counts.blocks;
    if (cost >= bestCost) {
      tables_.resize(tb);
      slots_.resize(sb);
      slotBounds_.resize(sb);
      blocks_.resize(bb);
      blockPos_.resize(bb);
      groupHeads_.resize(gb);
      subBuckets_.resize(ub);
      continue;
    }
    bestCost = cost;
    if (tb != t0) {
      const auto ds = static_cast<std::uint32_t>(sb - s0), db = static_cast<std::uint32_t>(bb - b0);
      tables_.erase(tables_.begin() + static_cast<std::ptrdiff_t>(t0),
                    tables_.begin() + static_cast<std::ptrdiff_t>(tb));
      slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(s0), slots_.begin() + static_cast<std::ptrdiff_t>(sb));
      slotBounds_.erase(slotBounds_.begin() + static_cast<std::ptrdiff_t>(s0),
                        slotBounds_.begin() + static_cast<std::ptrdiff_t>(sb));
      blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(b0),
                    blocks_.begin() + static_cast<std::ptrdiff_t>(bb));
      blockPos_.erase(blockPos_.begin() + static_cast<std::ptrdiff_t>(b0),
                      blockPos_.begin() + static_cast<std::ptrdiff_t>(bb));
      for (std::size_t t = t0; t < tables_.size(); ++t) tables_[t].slotBegin -= ds;
      const auto dg = static_cast<std::uint32_t>(gb - g0);
      groupHeads_.erase(groupHeads_.begin() + static_cast<std::ptrdiff_t>(g0),
                        groupHeads_.begin() + static_cast<std::ptrdiff_t>(gb));
      const auto du = static_cast<std::uint32_t>(ub - u0);
      subBuckets_.erase(subBuckets_.begin() + static_cast<std::ptrdiff_t>(u0),
                        subBuckets_.begin() + static_cast<std::ptrdiff_t>(ub));
      // Unsplit buckets' and sub-buckets' blocks and heads moved down by db and dg; split buckets' sub-buckets by du.
      auto moveDown = [&](Slot& x) {
        if (x.count == kSplit) {
          x.begin -= du;
          return;
        }
        if (x.count > kGroupBlocks) x.group -= dg;
        if (x.count != 0) x.begin -= db;
      };
      for (std::size_t i = s0; i < slots_.size(); ++i) moveDown(slots_[i]);
      for (std::size_t i = u0; i < subBuckets_.size(); ++i) moveDown(subBuckets_[i]);
    }
    tb = tables_.size();
    sb = slots_.size();
    bb = blocks_.size();
    gb = groupHeads_.size();
    ub = subBuckets_.size();
  }
  if (options.batchBounds) computeSlotBounds(Range{static_cast<std::uint32_t>(t0), static_cast<std::uint32_t>(tb)});
}

// Bounds for the rank cut-off of a large partition (tables [part.begin, part.end)), see "Later-batch bounds" in the
// notes. A key found in bucket B of table i lies in B's region: the source under B's masked source at the table's
// source length, the destination likewise, the destination port equal to B's when the table keys it. A rule can
// match the key only if it meets that region, so no rule of the tables probed after i's batch that can match the
// key comes before B's SlotBounds::bound: the best position among those tables' rules that meet B's region (kNoMatch:
// none does). SlotBounds::stop is the same over the rules of every table after i (the rest of i's batch too), which
// lets a lookup stop inside a batch (see "Per-table bounds"). The protocol and source port are left out of the test (it
// may only say "meets" too often, which makes a bound lower: still true).
void FastClassifier::computeSlotBounds(Range part) {
  const std::uint32_t n = part.end - part.begin;
  if (n <= 1) return;
  // Each table's rules, from its buckets' blocks (a block shared by several buckets holds rules of this table only).
  std::vector<std::vector<std::uint32_t>> rulesOf(n);
  auto slotsOf = [&](const Table& t) {
    return std::span<const Slot>(slots_.data() + t.slotBegin, 1u << (64 - t.shift));
  };
  for (std::uint32_t i = 0; i < n; ++i) {
    std::vector<std::uint32_t>& out = rulesOf[i];
    auto collect = [&](const Slot& x) {
      for (std::uint32_t k = x.begin; k < x.begin + x.count; ++k)
        for (const std::uint32_t pos : blocks_[k].pos)
          if (pos != kNoMatch) out.push_back(pos);
    };
    for (const Slot& x : slotsOf(tables_[part.begin + i])) {
      if (x.count != kSplit) {
        collect(x);
        continue;
      }
      for (std::uint32_t v = 0; v <= (x.group >> 8 & 0xFF); ++v) collect(subBuckets_[x.begin + v]);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  // The tables of batch b (tables [b * kProbeBatch, (b + 1) * kProbeBatch)) look at the rules of every later batch,
  // in position order, each as the prefixes it meets at the table's lengths (masked) and its destination ports,
  // stored four to a SIMD compare (padded with entries that meet nothing).
  struct Later {
    std::vector<std::uint32_t> srcMask, srcBase, dstMask, dstBase, pos;
    std::vector<std::int32_t> dportLo, dportHi;
    void clear() {
      for (auto* v : {&srcMask, &srcBase, &dstMask, &dstBase, &pos}) v->clear();
      dportLo.clear();
      dportHi.clear();
    }
    void push(std::uint32_t sm, std::uint32_t sb, std::uint32_t dm, std::uint32_t db, std::int32_t lo, std::int32_t hi,
              std::uint32_t p) {
      srcMask.push_back(sm), srcBase.push_back(sb), dstMask.push_back(dm), dstBase.push_back(db);
      dportLo.push_back(lo), dportHi.push_back(hi), pos.push_back(p);
    }
  };
  std::vector<std::uint32_t> after, later, merged;
  auto add = [&](std::vector<std::uint32_t>& set, const std::vector<std::uint32_t>& rules) {
    merged.clear();
    std::merge(set.begin(), set.end(), rules.begin(), rules.end(), std::back_inserter(merged));
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    set.swap(merged);
  };
  Later probe;
  // Per slot of table t, the best of `rules` (ascending positions) that meets the slot's bucket's region.
  auto scanBounds = [&](const Table& t, const std::vector<std::uint32_t>& rules, std::uint32_t SlotBounds::*field) {
    const auto tsrc = static_cast<std::uint32_t>(t.ipMask >> 32), tdst = static_cast<std::uint32_t>(t.ipMask);
    const bool dport = (t.auxMask & kDportAux) != 0;
    // Rules that meet the same regions of this table's buckets: only the first (best) one counts.
    boost::unordered_flat_set<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t>>
        seenShape;
    probe.clear();
    for (const std::uint32_t pos : rules) {
      const RuleBox& r = boxes_[pos];
      const std::uint32_t sm = prefixMask(r.src.prefix) & tsrc, dm = prefixMask(r.dst.prefix) & tdst;
      const std::uint32_t sb = r.src.base.v4Value() & sm, db = r.dst.base.v4Value() & dm;
      const std::uint16_t lo = dport ? r.dportLo : 0, hi = dport ? r.dportHi : 65535;
      if (seenShape.insert({sm, sb, dm, db, std::uint32_t{lo} << 16 | hi}).second)
        probe.push(sm, sb, dm, db, lo, hi, pos);
    }
    const std::size_t real = probe.pos.size();
    while (probe.pos.size() % 4 != 0) probe.push(0, 1, 0, 1, 1, 0, kNoMatch);  // (x & 0) == 1 never holds
    const std::span<const Slot> slots = slotsOf(t);
    for (std::size_t k = 0; k < slots.size(); ++k) {
      const Slot& x = slots[k];
      if (x.count == 0) continue;
      const Lanes vsrc = splat(static_cast<std::uint32_t>(x.ip >> 32)), vdst = splat(static_cast<std::uint32_t>(x.ip));
      const Lanes vport = splat(x.aux >> 8 & 0xFFFF);
      std::uint32_t bound = kNoMatch;
      for (std::size_t q = 0; q < real; q += 4) {
        const Lanes meets = ((vsrc & load(&probe.srcMask[q])) == load(&probe.srcBase[q])) &
                            ((vdst & load(&probe.dstMask[q])) == load(&probe.dstBase[q])) &
                            (vport >= load(&probe.dportLo[q])) & (vport <= load(&probe.dportHi[q]));
        if (const unsigned bits = laneBits(meets); bits != 0) {
          bound = probe.pos[q + static_cast<std::size_t>(std::countr_zero(bits))];
          break;
        }
      }
      slotBounds_[t.slotBegin + k].*field = bound;
    }
  };
  // Table i: `after` holds the rules of tables (i, n) (its stop bounds), `later` those of the batches after i's
  // (tables [laterFrom, n): its batch bounds; none in the last batch). Where the two sets are the same (the last
  // table of a batch), the stop bounds are the batch bounds.
  std::uint32_t laterFrom = n;
  for (std::uint32_t i = n - 1; i-- > 0;) {
    add(after, rulesOf[i + 1]);
    const Table& t = tables_[part.begin + i];
    const std::uint32_t from = (i / kProbeBatch + 1) * kProbeBatch;
    if (from < n) {
      while (laterFrom > from) add(later, rulesOf[--laterFrom]);
      scanBounds(t, later, &SlotBounds::bound);
    }
    if (from == i + 1 && from < n) {
      for (SlotBounds& x : std::span<SlotBounds>(slotBounds_.data() + t.slotBegin, 1u << (64 - t.shift)))
        x.stop = x.bound;
    } else {
      scanBounds(t, after, &SlotBounds::stop);
    }
  }
}

void FastClassifier::buildTables(const std::vector<std::uint32_t>& members, const Options& options, bool large) {
  const std::vector<BuildTable<V4Keys>> tables = mergeIntoTables<V4Keys>(boxes_, members, options);

  // Freeze into flat arrays. Tables were opened in ascending position of their first rule, so tables_ is
  // already sorted by minPos. Hash tables are at most half full (two-choice slots read no more slots for
  // emptier tables). Large partitions' were a quarter full, which paid with linear probing (fewer slots
  // walked); with two-choice slots and prefetches limited to buckets found, half full takes 40% less memory
  // for the slots and is faster (Intel Xeon, 3 alternated rounds: acl1_100k 101.1 -> 98.1 ns, fw1_100k 184.9
  // -> 171.2, ipc1_50k 117.2 -> 118.5, within its noise).
  const std::uint32_t slotsPerBucket = 2;
  // Large partitions: each table's buckets (split buckets: their sub-buckets) as RuleBlocks. A bucket's rules stay
  // in position order; a bucket of more than 8 rules starts a block of its own, and buckets of at most 8 rules
  // fill the free lanes of earlier blocks of the same table (best fit, largest first) or start a new one: rules
  // of another bucket of the same table never match a key of this one (the key's masked fields are the
  // bucket's key), so a scan needs no mask for them, and blockPos_ holds each block's lowest position (a bound
  // for every bucket in it). GroupHeads as before, for buckets of more than kGroupBlocks blocks.
  struct Item {
    bool sub;  // target: subBuckets_[index] (else slots_[index])
    std::uint32_t index;
    std::uint32_t bucket;                  // the table's bucket (a split bucket's sub-buckets share it)
    std::vector<std::uint32_t> positions;  // ascending
  };
  std::vector<Item> items;
  auto newBlock = [&]() {
    RuleBlock rb{};
    for (std::size_t lane = 0; lane < 8; ++lane) {
      rb.sportLo[lane] = rb.dportLo[lane] = biased(65535);  // padding lanes never match
      rb.sportHi[lane] = rb.dportHi[lane] = biased(0);
      rb.pos[lane] = kNoMatch;
    }
    blocks_.push_back(rb);
    blockPos_.push_back(kNoMatch);
    return static_cast<std::uint32_t>(blocks_.size() - 1);
  };
  auto put = [&](std::uint32_t block, std::uint32_t lane, std::uint32_t pos) {
    RuleBlock& rb = blocks_[block];
    const RuleBox& b = boxes_[pos];
    rb.sportLo[lane] = biased(b.sportLo);
    rb.sportHi[lane] = biased(b.sportHi);
    rb.dportLo[lane] = biased(b.dportLo);
    rb.dportHi[lane] = biased(b.dportHi);
    rb.srcBase[lane] = b.src.base.v4Value();
    rb.srcMask[lane] = prefixMask(b.src.prefix);
    rb.dstBase[lane] = b.dst.base.v4Value();
    rb.dstMask[lane] = prefixMask(b.dst.prefix);
    rb.proto[lane] = b.proto < 0 ? 0 : b.proto;
    rb.protoMask[lane] = b.proto < 0 ? 0 : 0xFF;
    rb.pos[lane] = pos;
    blockPos_[block] = std::min(blockPos_[block], pos);
  };
  auto layOut = [&]() {
    auto target = [&](const Item& item) -> Slot& { return item.sub ? subBuckets_[item.index] : slots_[item.index]; };
    std::vector<std::uint32_t> withFree[8];  // blocks of this table by free lanes (1-7)
    // The buckets in each block of this table: sub-buckets of one split bucket never share a block (a rule in
    // several of them would match a key of one from another's lanes, ahead of that one's better rules).
    const auto firstBlock = static_cast<std::uint32_t>(blocks_.size());
    std::vector<std::vector<std::uint32_t>> bucketsIn;
    for (const Item& item : items) {
      const std::vector<std::uint32_t>& positions = item.positions;
      if (positions.size() <= 8) continue;
      const auto nblocks = static_cast<std::uint32_t>((positions.size() + 7) / 8);
      Slot& slot = target(item);
      slot.begin = static_cast<std::uint32_t>(blocks_.size());
      slot.count = nblocks;
      for (std::uint32_t r = 0; r < positions.size(); ++r) {
        if (r % 8 == 0) {
          newBlock();
          bucketsIn.push_back({item.bucket});
        }
        put(slot.begin + r / 8, r % 8, positions[r]);
      }
      if (positions.size() % 8 != 0) withFree[8 - positions.size() % 8].push_back(slot.begin + nblocks - 1);
      if (nblocks > kGroupBlocks) {
        // A head per kGroupBlocks blocks: their best position, port hull and common prefixes.
        slot.group = static_cast<std::uint32_t>(groupHeads_.size());
        for (std::size_t r = 0; r < positions.size(); r += 8 * kGroupBlocks) {
          const RuleBox& first = boxes_[positions[r]];
          std::uint32_t srcBase = first.src.base.v4Value(), srcMask = prefixMask(first.src.prefix);
          std::uint32_t dstBase = first.dst.base.v4Value(), dstMask = prefixMask(first.dst.prefix);
          srcBase &= srcMask;
          dstBase &= dstMask;
          std::uint16_t sportLo = 65535, sportHi = 0, dportLo = 65535, dportHi = 0;
          for (std::size_t k = r; k < std::min(positions.size(), r + 8 * kGroupBlocks); ++k) {
            const RuleBox& b = boxes_[positions[k]];
            widenToContain(srcBase, srcMask, b.src.base.v4Value(), prefixMask(b.src.prefix));
            widenToContain(dstBase, dstMask, b.dst.base.v4Value(), prefixMask(b.dst.prefix));
            sportLo = std::min(sportLo, b.sportLo);
            sportHi = std::max(sportHi, b.sportHi);
            dportLo = std::min(dportLo, b.dportLo);
            dportHi = std::max(dportHi, b.dportHi);
          }
          groupHeads_.push_back(
              GroupHead{positions[r],
                        {biased(sportLo), biased(dportLo), static_cast<std::int16_t>(~biased(sportHi)),
                         static_cast<std::int16_t>(~biased(dportHi))},
                        srcBase,
                        srcMask,
                        dstBase,
                        dstMask});
        }
      }
    }
    // Buckets of 1-8 rules, largest first (ties in item order: builds are deterministic), each into the block
    // with the fewest free lanes that still holds it.
    std::vector<std::uint32_t> small;
    for (std::uint32_t k = 0; k < items.size(); ++k)
      if (!items[k].positions.empty() && items[k].positions.size() <= 8) small.push_back(k);
    std::stable_sort(small.begin(), small.end(), [&](std::uint32_t x, std::uint32_t y) {
      return items[x].positions.size() > items[y].positions.size();
    });
    for (const std::uint32_t k : small) {
      const std::vector<std::uint32_t>& positions = items[k].positions;
      const auto n = static_cast<std::uint32_t>(positions.size());
      const std::uint32_t bucket = items[k].bucket;
      std::uint32_t free = n, block = 0;
      for (; free < 8; ++free) {
        auto& blocks = withFree[free];
        const auto fits = std::find_if(blocks.rbegin(), blocks.rend(), [&](std::uint32_t b) {
          const std::vector<std::uint32_t>& in = bucketsIn[b - firstBlock];
          return std::find(in.begin(), in.end(), bucket) == in.end();
        });
        if (fits == blocks.rend()) continue;
        block = *fits;
        blocks.erase(std::next(fits).base());
        break;
      }
      if (free == 8) {
        block = newBlock();
        bucketsIn.emplace_back();
      }
      bucketsIn[block - firstBlock].push_back(bucket);
      for (std::uint32_t r = 0; r < n; ++r) put(block, 8 - free + r, positions[r]);
      if (free > n) withFree[free - n].push_back(block);
      Slot& slot = target(items[k]);
      slot.begin = block;
      slot.count = 1;
    }
    items.clear();
  };
  // A bucket of a large partition: split by a sub-key when that reads fewer blocks (one level: splitting the
  // sub-buckets again was slower, see the notes), else laid out as it is.
  auto addBucket = [&](std::uint32_t slotIndex, std::uint32_t bucket, const std::vector<std::uint32_t>& positions,
                       const BuildTable<V4Keys>& t) {
    const SplitChoice split = chooseSplit(boxes_, positions, t.srcLen, t.dstLen, t.auxMask);
    if (split.bits == 0) {
      items.push_back(Item{false, slotIndex, bucket, positions});
      return;
    }
    const std::uint32_t mask = (1u << split.bits) - 1;
    const auto sub0 = static_cast<std::uint32_t>(subBuckets_.size());
    Slot& slot = slots_[slotIndex];
    slot.begin = sub0;
    slot.count = kSplit;
    slot.group = split.field << 16 | mask << 8 | split.shift;
    subBuckets_.resize(sub0 + mask + 1);
    for (std::uint32_t v = 0; v <= mask; ++v) items.push_back(Item{true, sub0 + v, bucket, {}});
    Item* subs = &items[items.size() - 1 - mask];
    for (const std::uint32_t pos : positions) {
      const auto [lo, hi] = fieldRange(boxes_[pos], split.field);
      forEachSubValue(lo, hi, split.shift, mask, [&](std::uint32_t v) { subs[v].positions.push_back(pos); });
    }
  };
  std::vector<const std::pair<const BucketKey, std::vector<std::uint32_t>>*> buckets;
  for (const BuildTable<V4Keys>& t : tables) {
    buckets.clear();
    for (const auto& bucket : t.buckets) buckets.push_back(&bucket);
    const Placement place = placeBuckets(
        buckets.size(),
        std::max<std::uint32_t>(2, std::bit_ceil(static_cast<std::uint32_t>(t.buckets.size() * slotsPerBucket))),
        options.twoChoice, false, [&](std::size_t k, std::uint64_t multiplier) {
          return hashKey(buckets[k]->first.ip, buckets[k]->first.aux, multiplier);
        });
    const std::uint32_t capacity = place.capacity;
    static_assert(sizeof(Table) == 32 && sizeof(Table6) == 64);
    Table out{static_cast<std::uint64_t>(prefixMask(t.srcLen)) << 32 | prefixMask(t.dstLen),
              t.auxMask,
              kNoMatch,
              static_cast<std::uint32_t>(slots_.size()),
              static_cast<std::uint8_t>(64 - std::countr_zero(capacity)),
              static_cast<std::uint8_t>(place.twoChoice ? 1 : 0),
              place.multiplier};
    slots_.resize(slots_.size() + capacity);
    if (large) slotBounds_.resize(slots_.size());
    for (std::size_t k = 0; k < buckets.size(); ++k) {
      const auto& [key, positions] = *buckets[k];
      const std::uint32_t i = place.slotOf[k];
      out.minPos = std::min(out.minPos, positions.front());
      if (!large) {
        const auto groups = static_cast<std::uint32_t>((positions.size() + 3) / 4);
        slots_[out.slotBegin + i] = Slot{key.ip, key.aux, static_cast<std::uint32_t>(groups_.size()), groups};
        for (std::size_t g = 0; g < positions.size(); g += 4) {
          RuleGroup rg{};
          for (std::size_t lane = 0; lane < 4; ++lane) {
            if (g + lane >= positions.size()) {
              rg.srcBase[lane] = 1;  // with srcMask 0: never matches
              rg.pos[lane] = kNoMatch;
              continue;
            }
            const std::uint32_t pos = positions[g + lane];
            const RuleBox& b = boxes_[pos];
            rg.srcBase[lane] = b.src.base.v4Value();
            rg.srcMask[lane] = prefixMask(b.src.prefix);
            rg.dstBase[lane] = b.dst.base.v4Value();
            rg.dstMask[lane] = prefixMask(b.dst.prefix);
            rg.sportBelow[lane] = b.sportLo - 1;
            rg.sportAbove[lane] = b.sportHi + 1;
            rg.dportBelow[lane] = b.dportLo - 1;
            rg.dportAbove[lane] = b.dportHi + 1;
            rg.proto[lane] = b.proto < 0 ? 0u : static_cast<std::uint32_t>(b.proto);
            rg.protoMask[lane] = b.proto < 0 ? 0u : 0xFFu;
            rg.pos[lane] = pos;
          }
          groups_.push_back(rg);
        }
        continue;
      }
      slots_[out.slotBegin + i] = Slot{key.ip, key.aux, 0, 0, 0};
      addBucket(out.slotBegin + i, static_cast<std::uint32_t>(k), positions, t);
    }
    if (large) layOut();
    tables_.push_back(out);
  }
}

std::size_t FastClassifier::linearProbedTables() const {
  return static_cast<std::size_t>(
      std::count_if(tables_.begin(), tables_.end(), [](const Table& t) { return t.twoChoice == 0; }) +
      std::count_if(tables6_.begin(), tables6_.end(), [](const Table6& t) { return t.twoChoice == 0; }));
}

std::size_t FastClassifier::splitBuckets() const {
  return static_cast<std::size_t>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.count == kSplit; }));
}

FastClassifier::LookupCounts FastClassifier::countLookups(std::span<const ClassifyKey> keys) const {
  LookupCounts out;
  Counts counts;
  for (const ClassifyKey& key : keys) {
    if (key.family != Family::V4 || !key.src.isV4() || !key.dst.isV4()) continue;
    const std::size_t p = partitionOf(key.proto);
    if (!partitions_[p].large) continue;
    ++out.lookups;
    p == 3 ? classifyLarge<true, true>(key, partitions_[p].tables, &counts)
           : classifyLarge<false, true>(key, partitions_[p].tables, &counts);
  }
  out.probes = counts.probes;
  out.heads = counts.heads;
  out.blocks = counts.blocks;
  out.slots = counts.slots;
  return out;
}

std::size_t FastClassifier::memoryBytes() const {
  return groups_.size() * sizeof(RuleGroup) + blocks_.size() * sizeof(RuleBlock) +
         blockPos_.size() * sizeof(std::uint32_t) + groupHeads_.size() * sizeof(GroupHead) +
         subBuckets_.size() * sizeof(Slot) + tables_.size() * sizeof(Table) + slots_.size() * sizeof(Slot) +
         slotBounds_.size() * sizeof(SlotBounds) + groups6_.size() * sizeof(RuleGroup6) +
         tables6_.size() * sizeof(Table6) + slots6_.size() * sizeof(Slot6) + keys6_.size() * sizeof(Key6);
}

std::uint32_t FastClassifier::classify(const ClassifyKey& key) const {
  if (key.family != Family::V4) return classifyV6(key);
  if (!key.src.isV4() || !key.dst.isV4()) return kNoMatch;
  const std::size_t p = partitionOf(key.proto);
  const Partition& part = partitions_[p];
  if (!part.large) return p == 3 ? classifySmall<true>(key, part.tables) : classifySmall<false>(key, part.tables);
  // Only the "other protocols" partition mixes protocols; in the others every rule's protocol matches.
  return p == 3 ? classifyLarge<true, false>(key, part.tables, nullptr)
                : classifyLarge<false, false>(key, part.tables, nullptr);
}

// Below tuneFrom: one table at a time, its bucket's rules four at a time.
// kProto: the partition mixes protocols (the "other protocols" one); in the others every rule's protocol matches.
template <bool kProto>
std::uint32_t FastClassifier::classifySmall(const ClassifyKey& key, Range part) const {
  const std::uint32_t src = key.src.v4Value();
  const std::uint32_t dst = key.dst.v4Value();
  const std::uint64_t key64 = static_cast<std::uint64_t>(src) << 32 | dst;
  const std::uint32_t aux = (static_cast<std::uint32_t>(key.dport) << 8) | key.proto;
  const Lanes vsrc = splat(src), vdst = splat(dst), vsport = splat(key.sport), vdport = splat(key.dport),
              vproto = splat(key.proto);
  std::uint32_t best = kNoMatch;
  for (const Table *t = tables_.data() + part.begin, *tend = tables_.data() + part.end; t != tend; ++t) {
    if (t->minPos >= best) break;  // no rule left in this or any later table can beat the match we have
    const std::uint64_t ip = key64 & t->ipMask;
    const std::uint32_t a = aux & t->auxMask;
    const Slot* base = slots_.data() + t->slotBegin;
    const std::uint64_t h = hashKey(ip, a, t->multiplier);
    const Slot* s = base + firstSlot(h, t->shift);
    if (t->twoChoice != 0) [[likely]] {
      // The key's bucket is in one of its two slots, or nowhere (an empty slot's aux equals no key's). The
      // insertion fills first slots first, so most buckets are in theirs and the branch predicts well (choosing
      // the slot without a branch measured 10-17% slower on the 1k/10k sets).
      const Slot* s2 = base + secondSlot(h, t->shift);
      if ((s->ip != ip) | (s->aux != a)) s = s2;
      if ((s->ip != ip) | (s->aux != a)) continue;
    } else {
      while (s->count != 0 && (s->ip != ip || s->aux != a)) s = base + ((s - base + 1) & slotMask(t->shift));
      if (s->count == 0) continue;
    }
    {
      for (const RuleGroup *g = groups_.data() + s->begin, *end = g + s->count; g != end && g->pos[0] < best; ++g) {
        Lanes hit = ((vsrc & load(g->srcMask)) == load(g->srcBase)) & ((vdst & load(g->dstMask)) == load(g->dstBase)) &
                    (vsport > load(g->sportBelow)) & (load(g->sportAbove) > vsport) & (vdport > load(g->dportBelow)) &
                    (load(g->dportAbove) > vdport);
        if constexpr (kProto) hit &= (vproto & load(g->protoMask)) == load(g->proto);
        if (const unsigned bits = laneBits(hit); bits != 0) {
          // Lanes ascend in position: the first hit is the bucket's best.
          best = std::min(best, g->pos[std::countr_zero(bits)]);
          break;
        }
      }
    }
  }
  return best;
}

// From tuneFrom: tables probed four at a time, buckets scanned eight rules at a time.
template <bool kProto, bool kCount>
std::uint32_t FastClassifier::classifyLarge(const ClassifyKey& key, Range part, Counts* counts) const {
  const std::uint32_t src = key.src.v4Value();
  const std::uint32_t dst = key.dst.v4Value();
  const std::uint64_t key64 = static_cast<std::uint64_t>(src) << 32 | dst;
  const std::uint32_t aux = (static_cast<std::uint32_t>(key.dport) << 8) | key.proto;
  const Lanes vsrc = splat(src), vdst = splat(dst);
  const Lanes16 vsport = splat16(key.sport), vdport = splat16(key.dport),
                vproto = Lanes16{} + static_cast<std::int16_t>(key.proto);
  const std::int16_t ks = biased(key.sport), kd = biased(key.dport);
  const std::uint32_t fields[4] = {src, dst, key.sport, key.dport};  // what a split bucket's sub-key is cut from
  const Lanes4x16 vports{ks, kd, static_cast<std::int16_t>(~ks), static_cast<std::int16_t>(~kd)};
  std::uint32_t best = kNoMatch;
  // Whether the key is outside what a GroupHead sums up: its port hull or its common address prefixes.
  auto outside = [&](const GroupHead& h) {
    return (std::bit_cast<std::uint64_t>(load4(h.bound) > vports) != 0) |
           ((((src & h.srcMask) ^ h.srcBase) | ((dst & h.dstMask) ^ h.dstBase)) != 0);
  };
  // Blocks [k, end) of a bucket in position order; the first full match is their best. False when the
  // bucket's scan is over (a match, or no block left that can beat the best match).
  auto scanBlocks = [&](std::uint32_t k, std::uint32_t end) -> bool {
    for (; k != end; ++k) {
      if (blockPos_[k] >= best) return false;
      const RuleBlock& b = blocks_[k];
      // The bucket's next block is fetched while this one is checked: most lookups read several blocks of the
      // bucket that holds their match (acl1_100k: 4.4 of 5.6 blocks read). acl1_100k 98.4 -> 95.5 ns, fw1_100k
      // 170.2 -> 164.7, ipc1_50k 117.1 -> 115.7 (medians of 7 alternated runs; fetching two blocks ahead instead:
      // no better), but with classifySmall aligned (which moved this function too) 0-2% on acl1_100k and 2% on
      // fw1_100k: the rest was code placement. Unlike prefetching every found bucket's second block (not kept),
      // it fetches only for a scan that goes on.
      if (k + 1 < end) {
        __builtin_prefetch(blocks_.data() + k + 1);
        __builtin_prefetch(reinterpret_cast<const char*>(blocks_.data() + k + 1) + 64);
        __builtin_prefetch(reinterpret_cast<const char*>(blocks_.data() + k + 1) + 128);
      }
      if constexpr (kCount) ++counts->blocks;
      const Lanes16 ports = (vsport >= load16(b.sportLo)) & (vsport <= load16(b.sportHi)) &
                            (vdport >= load16(b.dportLo)) & (vdport <= load16(b.dportHi));
      const Lanes lo = ((vsrc & load(b.srcMask)) == load(b.srcBase)) & ((vdst & load(b.dstMask)) == load(b.dstBase));
      const Lanes hi =
          ((vsrc & load(b.srcMask + 4)) == load(b.srcBase + 4)) & ((vdst & load(b.dstMask + 4)) == load(b.dstBase + 4));
      unsigned bits = laneBits16(ports) & (laneBits(lo) | laneBits(hi) << 4);
      if constexpr (kProto) bits &= laneBits16((vproto & load16(b.protoMask)) == load16(b.proto));
      if (bits != 0) {
        best = std::min(best, b.pos[std::countr_zero(bits)]);
        return false;
      }
    }
    return true;
  };
  // A bucket: up to eight blocks directly, more through the heads of their groups of eight.
  auto scan = [&](const Slot& s) {
    if (s.count <= kGroupBlocks) {
      scanBlocks(s.begin, s.begin + s.count);
      return;
    }
    for (std::uint32_t g = 0, k = s.begin, end = s.begin + s.count; k < end; ++g, k += kGroupBlocks) {
      const GroupHead& h = groupHeads_[s.group + g];
      if (h.pos >= best) return;
      if constexpr (kCount) ++counts->heads;
      if (outside(h)) continue;
      if (!scanBlocks(k, std::min(end, k + kGroupBlocks))) return;
    }
  };

  const Table* t = tables_.data() + part.begin;
  const Table* const tend = tables_.data() + part.end;
  constexpr int kBatch = kProbeBatch;
  // No rule of a later batch's tables that can match this key comes before `floor`: the largest SlotBounds::bound of
  // the buckets found so far (see computeSlotBounds).
  std::uint32_t floor = 0;
  // No rule of any later table that can match this key comes before `stop`: the largest SlotBounds::stop of the buckets
  // found so far.
  std::uint32_t stop = 0;
  while (t != tend && t->minPos < best && floor < best) {
    // A batch of tables at a time: first every table's two slots are computed and prefetched (their cache misses
    // overlap instead of following one another), then, table by table, the slots are searched and a bucket found
    // is scanned at once, until the match beats every later table (see "Per-table bounds").
    int n = static_cast<int>(std::min<std::ptrdiff_t>(kBatch, tend - t));
    while (t[n - 1].minPos >= best) --n;  // t[0] qualifies
    if constexpr (kCount) counts->probes += static_cast<std::uint64_t>(n);
    const Slot* home[kBatch];
    const Slot* second[kBatch];
    std::uint64_t ips[kBatch];
    std::uint32_t auxs[kBatch];
    for (int j = 0; j < n; ++j) {
      ips[j] = key64 & t[j].ipMask;
      auxs[j] = aux & t[j].auxMask;
      const std::uint64_t h = hashKey(ips[j], auxs[j], t[j].multiplier);
      home[j] = slots_.data() + t[j].slotBegin + firstSlot(h, t[j].shift);
      second[j] = slots_.data() + t[j].slotBegin + secondSlot(h, t[j].shift);
      __builtin_prefetch(home[j]);
      __builtin_prefetch(second[j]);
    }
    for (int j = 0; j < n; ++j) {
      // No rule left in this or any later table can beat our match (the tables' best positions), or no rule of a
      // later table that can match the key (the stop bounds of the buckets found so far: see "Per-table bounds").
      if (t[j].minPos >= best || stop >= best) return best;
      if constexpr (kCount) ++counts->slots;
      // The key's bucket is in one of its two slots (or nowhere: an empty slot's aux equals no key's); tables that
      // fell back to linear probing walk on from the home slot.
      const Slot* s = home[j];
      auto other = [&](const Slot* x) { return (x->ip != ips[j]) | (x->aux != auxs[j]); };
      if (t[j].twoChoice != 0) [[likely]] {
        s = other(s) ? second[j] : s;
        if (other(s)) continue;
      } else {
        const Slot* base = slots_.data() + t[j].slotBegin;
        while (s->count != 0 && other(s)) s = base + ((s - base + 1) & slotMask(t[j].shift));
        if (s->count == 0) continue;
      }
      const SlotBounds bounds = slotBounds_[static_cast<std::size_t>(s - slots_.data())];
      floor = std::max(floor, bounds.bound);
      stop = std::max(stop, bounds.stop);
      if (s->count == kSplit) {
        // A split bucket: the sub-bucket of the key's sub-key value stands for it.
        if constexpr (kCount) ++counts->heads;
        s = subBuckets_.data() + s->begin + ((fields[s->group >> 16] >> (s->group & 0xFF)) & (s->group >> 8 & 0xFF));
      }
      // The whole first block, its positions line too, fetched at once (most lookups end in a found bucket's first
      // block, at any lane).
      __builtin_prefetch(blocks_.data() + s->begin);
      __builtin_prefetch(reinterpret_cast<const char*>(blocks_.data() + s->begin) + 64);
      __builtin_prefetch(reinterpret_cast<const char*>(blocks_.data() + s->begin) + 128);
      __builtin_prefetch(reinterpret_cast<const char*>(blocks_.data() + s->begin) + 192);
      scan(*s);
    }
    t += n;
  }
  return best;
}

// Batch lookups: one key after the other. Interleaving several keys' lookups (to overlap their cache misses) was
// measured slower on every variant tried (see "Batch lookups" in the header's notes), so no partition uses it.
void FastClassifier::classify(std::span<const ClassifyKey> keys, std::span<std::uint32_t> out) const {
  const std::size_t n = std::min(keys.size(), out.size());
  for (std::size_t i = 0; i < n; ++i) out[i] = classify(keys[i]);
}

// IPv6 tables, frozen like the small IPv4 partitions: hash tables at most half full, four rules to a group.
// IPv6 tables, frozen like the small IPv4 partitions: hash tables at most half full, four rules to a group.
// A group holds each rule's 64 address bits after the table's lengths (the bits before them are the bucket's
// key, checked by the slot; a rule is at most 64 bits longer than its table, V6Keys::kReach).
void FastClassifier::buildTablesV6(const std::vector<std::uint32_t>& members, const Options& options) {
  if (members.empty()) return;
  const std::vector<BuildTable<V6Keys>> tables = mergeIntoTables<V6Keys>(boxes_, members, options);
  std::vector<const std::pair<const BucketKey6, std::vector<std::uint32_t>>*> buckets;
  for (const BuildTable<V6Keys>& t : tables) {
    buckets.clear();
    for (const auto& bucket : t.buckets) buckets.push_back(&bucket);
    const Placement place = placeBuckets(
        buckets.size(), std::max<std::uint32_t>(2, std::bit_ceil(static_cast<std::uint32_t>(t.buckets.size() * 2))),
        options.twoChoice, true, [&](std::size_t k, std::uint64_t multiplier) {
          const BucketKey6& key = buckets[k]->first;
          return hashKey6(key.src[0], key.src[1], key.dst[0], key.dst[1], key.aux, multiplier);
        });
    const std::uint32_t capacity = place.capacity;
    // A table of length 128 checks every bit in its key; its window (the last bit, then zeros) is harmless.
    const auto srcShift = static_cast<std::uint8_t>(std::min(t.srcLen, 127));
    const auto dstShift = static_cast<std::uint8_t>(std::min(t.dstLen, 127));
    Table6 out{{prefixMask6Hi(t.srcLen), prefixMask6Lo(t.srcLen)},
               {prefixMask6Hi(t.dstLen), prefixMask6Lo(t.dstLen)},
               t.auxMask,
               kNoMatch,
               static_cast<std::uint32_t>(slots6_.size()),
               static_cast<std::uint8_t>(64 - std::countr_zero(capacity)),
               srcShift,
               dstShift,
               static_cast<std::uint8_t>(place.twoChoice ? 1 : 0),
               place.multiplier};
    slots6_.resize(slots6_.size() + capacity);
    for (std::size_t k = 0; k < buckets.size(); ++k) {
      const auto& [key, positions] = *buckets[k];
      const std::uint32_t i = place.slotOf[k];
      out.minPos = std::min(out.minPos, positions.front());
      const auto groups = static_cast<std::uint32_t>((positions.size() + 3) / 4);
      slots6_[out.slotBegin + i] =
          Slot6{hashKey6(key.src[0], key.src[1], key.dst[0], key.dst[1], key.aux, out.multiplier) | 1,
                static_cast<std::uint32_t>(groups6_.size()), groups};
      keys6_.resize(groups6_.size() + groups);
      keys6_[groups6_.size()] = Key6{{key.src[0], key.src[1]}, {key.dst[0], key.dst[1]}, key.aux};
      for (std::size_t g = 0; g < positions.size(); g += 4) {
        RuleGroup6 rg{};
        for (std::size_t lane = 0; lane < 4; ++lane) {
          if (g + lane >= positions.size()) {
            rg.srcBase[0][lane] = 1;  // with srcMask 0: never matches
            rg.pos[lane] = kNoMatch;
            continue;
          }
          const std::uint32_t pos = positions[g + lane];
          const RuleBox& b = boxes_[pos];
          const int sl = V6Keys::length(b.src), dl = V6Keys::length(b.dst);
          const std::uint64_t srcMask = window64(prefixMask6Hi(sl), prefixMask6Lo(sl), srcShift);
          const std::uint64_t dstMask = window64(prefixMask6Hi(dl), prefixMask6Lo(dl), dstShift);
          const std::uint64_t srcBase = window64(b.src.base.hi, b.src.base.lo, srcShift) & srcMask;
          const std::uint64_t dstBase = window64(b.dst.base.hi, b.dst.base.lo, dstShift) & dstMask;
          for (int w = 0; w < 2; ++w) {
            const int shift = w == 0 ? 32 : 0;
            rg.srcBase[w][lane] = static_cast<std::uint32_t>(srcBase >> shift);
            rg.srcMask[w][lane] = static_cast<std::uint32_t>(srcMask >> shift);
            rg.dstBase[w][lane] = static_cast<std::uint32_t>(dstBase >> shift);
            rg.dstMask[w][lane] = static_cast<std::uint32_t>(dstMask >> shift);
          }
          rg.sportBelow[lane] = b.sportLo - 1;
          rg.sportAbove[lane] = b.sportHi + 1;
          rg.dportBelow[lane] = b.dportLo - 1;
          rg.dportAbove[lane] = b.dportHi + 1;
          rg.proto[lane] = b.proto < 0 ? 0u : static_cast<std::uint32_t>(b.proto);
          rg.protoMask[lane] = b.proto < 0 ? 0u : 0xFFu;
          rg.pos[lane] = pos;
        }
        groups6_.push_back(rg);
      }
    }
    tables6_.push_back(out);
  }
}

// The IPv6 twin of classifySmall: one table at a time, its bucket's rules four at a time, each rule's 64
// address bits after the table's lengths compared as two 32-bit words.
std::uint32_t FastClassifier::classifyV6(const ClassifyKey& key) const {
  if (key.family != Family::V6 || key.src.isV4() || key.dst.isV4()) return kNoMatch;
  const Range part = partitions6_[partitionOf(key.proto)];
  const std::uint64_t s0 = key.src.hi, s1 = key.src.lo, d0 = key.dst.hi, d1 = key.dst.lo;
  const std::uint32_t aux = (static_cast<std::uint32_t>(key.dport) << 8) | key.proto;
  const Lanes vsport = splat(key.sport), vdport = splat(key.dport), vproto = splat(key.proto);
  std::uint32_t best = kNoMatch;
  for (const Table6 *t = tables6_.data() + part.begin, *tend = tables6_.data() + part.end; t != tend; ++t) {
    if (t->minPos >= best) break;  // no rule left in this or any later table can beat the match we have
    const std::uint64_t ms0 = s0 & t->srcMask[0], ms1 = s1 & t->srcMask[1];
    const std::uint64_t md0 = d0 & t->dstMask[0], md1 = d1 & t->dstMask[1];
    const std::uint32_t a = aux & t->auxMask;
    const Slot6* base = slots6_.data() + t->slotBegin;
    const std::uint64_t h = hashKey6(ms0, ms1, md0, md1, a, t->multiplier);
    const std::uint64_t tag = h | 1;
    auto other = [&](const Slot6* s) {
      const Key6& k = keys6_[s->begin];
      return (((k.src[0] ^ ms0) | (k.src[1] ^ ms1) | (k.dst[0] ^ md0) | (k.dst[1] ^ md1)) != 0) | (k.aux != a);
    };
    const Slot6* s = base + firstSlot(h, t->shift);
    if (t->twoChoice != 0) [[likely]] {
      // The slot with the key's hash, if any, is the only one that can hold the key (hashes are unique).
      const Slot6* s2 = base + secondSlot(h, t->shift);
      if (s->tag != tag) s = s2;
      if (s->tag != tag || other(s)) continue;
    } else {
      while (s->count != 0 && (s->tag != tag || other(s))) s = base + ((s - base + 1) & slotMask(t->shift));
      if (s->count == 0) continue;
    }
    {
      const std::uint64_t ws = window64(s0, s1, t->srcShift), wd = window64(d0, d1, t->dstShift);
      const Lanes vs0 = splat(static_cast<std::uint32_t>(ws >> 32)), vs1 = splat(static_cast<std::uint32_t>(ws));
      const Lanes vd0 = splat(static_cast<std::uint32_t>(wd >> 32)), vd1 = splat(static_cast<std::uint32_t>(wd));
      for (const RuleGroup6 *g = groups6_.data() + s->begin, *end = g + s->count; g != end && g->pos[0] < best; ++g) {
        const Lanes hit = ((vs0 & load(g->srcMask[0])) == load(g->srcBase[0])) &
                          ((vs1 & load(g->srcMask[1])) == load(g->srcBase[1])) &
                          ((vd0 & load(g->dstMask[0])) == load(g->dstBase[0])) &
                          ((vd1 & load(g->dstMask[1])) == load(g->dstBase[1])) & (vsport > load(g->sportBelow)) &
                          (load(g->sportAbove) > vsport) & (vdport > load(g->dportBelow)) &
                          (load(g->dportAbove) > vdport) & ((vproto & load(g->protoMask)) == load(g->proto));
        if (const unsigned bits = laneBits(hit); bits != 0) {
          // Lanes ascend in position: the first hit is the bucket's best.
          best = std::min(best, g->pos[std::countr_zero(bits)]);
          break;
        }
      }
    }
  }
  return best;
}

}  // namespace sgsim
