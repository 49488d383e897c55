#include "sgsim/classify/fast_classifier.h"

#include <algorithm>
#include <bit>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <utility>

namespace sgsim {

namespace {

std::uint32_t prefixMask(int len) { return len <= 0 ? 0 : (len >= 32 ? 0xFFFFFFFFu : ~0u << (32 - len)); }

// Multiplicative hash, one multiply (aux, at most 24 bits, is folded into the source half); the top bits of the
// product depend on every input bit, and the lookup takes the top bits.
inline std::uint64_t hashKey(std::uint64_t ip, std::uint32_t aux) {
  return (ip ^ (static_cast<std::uint64_t>(aux) << 40)) * 0xFF51AFD7ED558CCDull;
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

constexpr std::size_t kPartitions = 4;

// TCP, UDP, ICMP, everything else.
inline std::size_t partitionOf(std::uint8_t proto) { return proto == 6 ? 0 : proto == 17 ? 1 : proto == 1 ? 2 : 3; }

constexpr std::uint32_t kDportAux = 0xFFFF00u;
constexpr std::uint32_t kProtoAux = 0xFFu;

struct BucketKey {
  std::uint64_t ip;
  std::uint32_t aux;
  bool operator==(const BucketKey&) const = default;
};

struct BucketKeyHash {
  std::size_t operator()(const BucketKey& k) const { return hashKey(k.ip, k.aux) >> 16; }
};

// A table while it is being filled: buckets are vectors of positions, in insertion (= position) order.
struct BuildTable {
  int srcLen, dstLen;
  std::uint32_t auxMask;
  boost::unordered_flat_map<BucketKey, std::vector<std::uint32_t>, BucketKeyHash> buckets;

  bool accepts(int sl, int dl, std::uint32_t ruleAux) const {
    return srcLen <= sl && dstLen <= dl && (auxMask & ~ruleAux) == 0;
  }
  bool sameShape(int sl, int dl, std::uint32_t aux) const { return srcLen == sl && dstLen == dl && auxMask == aux; }
  BucketKey keyOf(const RuleBox& b) const {
    const std::uint64_t src = b.src.base.v4Value() & prefixMask(srcLen);
    const std::uint64_t dst = b.dst.base.v4Value() & prefixMask(dstLen);
    const std::uint32_t aux =
        ((static_cast<std::uint32_t>(b.dportLo) << 8) | static_cast<std::uint8_t>(b.proto)) & auxMask;
    return BucketKey{(src << 32) | dst, aux};
  }
};

}  // namespace

FastClassifier::FastClassifier(std::vector<RuleBox> boxes, Options options) : boxes_(std::move(boxes)) {
  std::stable_sort(boxes_.begin(), boxes_.end(), [](const RuleBox& a, const RuleBox& b) { return a.rank < b.rank; });

  // Protocol partitions: a lookup only searches the tables of its protocol's partition; any-protocol
  // rules are in all of them.
  std::vector<std::uint32_t> members[kPartitions];
  for (std::uint32_t pos = 0; pos < boxes_.size(); ++pos) {
    const RuleBox& b = boxes_[pos];
    // Boxes that can never match (family mismatch, empty port range) are left out: boxMatches says no to them.
    if (b.src.family() != b.family || b.dst.family() != b.family || b.sportLo > b.sportHi || b.dportLo > b.dportHi)
      continue;
    if (b.family == Family::V6) {
      v6_.push_back(pos);
    } else if (b.proto < 0) {
      for (auto& m : members) m.push_back(pos);
    } else {
      members[partitionOf(static_cast<std::uint8_t>(b.proto))].push_back(pos);
    }
  }
  for (std::size_t p = 0; p < kPartitions; ++p) {
    partitions_[p].begin = static_cast<std::uint32_t>(tables_.size());
    buildTables(members[p], options);
    partitions_[p].end = static_cast<std::uint32_t>(tables_.size());
  }
}

void FastClassifier::buildTables(const std::vector<std::uint32_t>& members, const Options& options) {
  const std::uint32_t limit = std::max<std::uint32_t>(1, options.collisionLimit);
  const int step = static_cast<int>(std::max<std::uint32_t>(1, options.lengthStep));
  std::vector<BuildTable> tables;
  auto findShape = [&](int sl, int dl, std::uint32_t aux) -> BuildTable* {
    for (BuildTable& t : tables)
      if (t.sameShape(sl, dl, aux)) return &t;
    return nullptr;
  };
  auto openTable = [&](int sl, int dl, std::uint32_t aux) -> BuildTable& {
    tables.push_back(BuildTable{sl, dl, aux, {}});
    return tables.back();
  };

  for (std::uint32_t pos : members) {
    const RuleBox& b = boxes_[pos];
    const int sl = b.src.prefix;
    const int dl = b.dst.prefix;
    // Which key fields this rule can supply: an exact destination port and an exact protocol.
    const std::uint32_t ruleAux = (b.dportLo == b.dportHi ? kDportAux : 0u) | (b.proto >= 0 ? kProtoAux : 0u);
    BuildTable* target = nullptr;
    if (options.mergeTuples) {
      for (BuildTable& t : tables) {
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
          for (std::uint32_t aux : {0u, ruleAux})
            if (target == nullptr && findShape(s, d, aux) == nullptr) target = &openTable(s, d, aux);
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

  // Freeze into flat arrays. Tables were opened in ascending position of their first rule, so tables_ is
  // already sorted by minPos.
  for (const BuildTable& t : tables) {
    const std::uint32_t capacity =
        std::max<std::uint32_t>(2, std::bit_ceil(static_cast<std::uint32_t>(t.buckets.size() * 2)));
    Table out{prefixMask(t.srcLen),
              prefixMask(t.dstLen),
              t.auxMask,
              kNoMatch,
              static_cast<std::uint32_t>(slots_.size()),
              capacity - 1,
              static_cast<std::uint32_t>(64 - std::countr_zero(capacity))};
    slots_.resize(slots_.size() + capacity);
    for (const auto& [key, positions] : t.buckets) {
      std::uint32_t i = static_cast<std::uint32_t>(hashKey(key.ip, key.aux) >> out.shift);
      while (slots_[out.slotBegin + i].count != 0) i = (i + 1) & out.slotMask;
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
          rg.sportLo[lane] = b.sportLo;
          rg.sportHi[lane] = b.sportHi;
          rg.dportLo[lane] = b.dportLo;
          rg.dportHi[lane] = b.dportHi;
          rg.proto[lane] = b.proto < 0 ? 0u : static_cast<std::uint32_t>(b.proto);
          rg.protoMask[lane] = b.proto < 0 ? 0u : 0xFFu;
          rg.pos[lane] = pos;
          out.minPos = std::min(out.minPos, pos);
        }
        groups_.push_back(rg);
      }
    }
    tables_.push_back(out);
  }
}

std::uint32_t FastClassifier::classify(const ClassifyKey& key) const {
  return key.family == Family::V4 ? classifyV4(key) : classifyV6(key);
}

std::uint32_t FastClassifier::classifyV4(const ClassifyKey& key) const {
  if (!key.src.isV4() || !key.dst.isV4()) return kNoMatch;
  const std::uint32_t src = key.src.v4Value();
  const std::uint32_t dst = key.dst.v4Value();
  const std::uint32_t aux = (static_cast<std::uint32_t>(key.dport) << 8) | key.proto;
  const Lanes vsrc = splat(src), vdst = splat(dst), vsport = splat(key.sport), vdport = splat(key.dport),
              vproto = splat(key.proto);
  std::uint32_t best = kNoMatch;
  const Range part = partitions_[partitionOf(key.proto)];
  for (const Table *t = tables_.data() + part.begin, *tend = tables_.data() + part.end; t != tend; ++t) {
    if (t->minPos >= best) break;  // no rule left in this or any later table can beat the match we have
    const std::uint64_t ip = (static_cast<std::uint64_t>(src & t->srcMask) << 32) | (dst & t->dstMask);
    const std::uint32_t a = aux & t->auxMask;
    const Slot* base = slots_.data() + t->slotBegin;
    for (std::uint32_t i = static_cast<std::uint32_t>(hashKey(ip, a) >> t->shift);; i = (i + 1) & t->slotMask) {
      const Slot& s = base[i];
      if (s.count == 0) break;
      if (s.ip != ip || s.aux != a) continue;
      for (const RuleGroup *g = groups_.data() + s.begin, *end = g + s.count; g != end && g->pos[0] < best; ++g) {
        const Lanes hit = ((vsrc & load(g->srcMask)) == load(g->srcBase)) &
                          ((vdst & load(g->dstMask)) == load(g->dstBase)) & (vsport >= load(g->sportLo)) &
                          (vsport <= load(g->sportHi)) & (vdport >= load(g->dportLo)) & (vdport <= load(g->dportHi)) &
                          ((vproto & load(g->protoMask)) == load(g->proto));
        if (const unsigned bits = laneBits(hit); bits != 0) {
          // Lanes ascend in position: the first hit is the bucket's best.
          best = std::min(best, g->pos[std::countr_zero(bits)]);
          break;
        }
      }
      break;
    }
  }
  return best;
}

std::uint32_t FastClassifier::classifyV6(const ClassifyKey& key) const {
  for (std::uint32_t pos : v6_)
    if (boxMatches(boxes_[pos], key)) return pos;
  return kNoMatch;
}

}  // namespace sgsim
