#pragma once
// FastClassifier: the packet-path classifier, a drop-in for LinearClassifier (same constructor input, same
// answer: the index into boxes() of the lowest-rank matching box, or kNoMatch).
//
// What it is. A TupleMerge classifier (Daly et al., "TupleMerge: Fast Software Packet Processing for Online
// Packet Classification", IEEE/ACM ToN 2019) for IPv4, with a plain first-match scan for IPv6.
//
// How it works. Tuple-space search (Srinivasan et al. 1999) puts every rule in a hash table keyed by the
// rule's own field lengths ("tuple"): a lookup masks the packet with each table's masks, probes the table,
// and keeps the best hit. Here a tuple is (source prefix length, destination prefix length, exact
// destination port or not, exact protocol or not); the key is the masked source and destination, plus the
// destination port and protocol when the tuple is exact on them. Port ranges and source ports are checked
// in the bucket, not hashed. TupleMerge's idea is to put a rule into any table whose lengths are SHORTER
// than its own (the table's key still selects it; the full rule is checked in the bucket), so a few dozen
// tables cover thousands of distinct length pairs. A bucket may hold at most `collisionLimit` rules; a rule
// that would overflow every compatible table opens the coarsest new table it may: its lengths rounded down
// to a multiple of `lengthStep`, then of lengthStep/2 … 1, first on the addresses alone, then with its exact
// port/protocol. Buckets keep their rules in rank order, four to a SIMD group; tables are sorted by their
// best rank, and a lookup stops as soon as no remaining table can beat the match it already has:
// high-priority rules are found early and end the search.
// All of this is done four times, once per protocol partition (TCP, UDP, ICMP, every other protocol; an
// any-protocol rule goes into all four), and a lookup searches only its packet's partition.
// Ranks are replaced by positions in the rank-sorted box list, so equal-rank boxes (one API rule) resolve
// exactly as the stable sort of LinearClassifier does.
//
// Why this algorithm (measured on this machine in one sitting, release build, ClassBench traces, median of 5
// runs, ns per lookup; commands and the full table in docs/PERFORMANCE.md):
//   set          linear   plain TSS   TupleMerge (this)   dpdk-test-acl --alg=scalar
//   acl1_1k         683          98                  25                           44
//   fw1_1k          553         125                  27                           58
//   ipc1_1k         803         295                  23                           56
//   acl2_10k     11,088         936                  75                          215
//   fw1_10k       8,238         396                  58                          412
//   ipc1_10k      9,053         737                  64                          163
//   acl1_100k    62,372       1,757                 370                          195
//   fw1_100k     64,811       8,807                 448                          755
// Plain tuple-space search (one table per exact length/port/protocol combination, per partition: 213-7,304
// tables) probes hundreds of tables per lookup. Merging tables was the big step (TupleMerge with 4-bit
// length steps and 8-rule buckets, no partitions: fw1_10k 192 ns, ipc1_1k 241 ns); coarser 16-bit steps
// with 64-128-rule buckets cut the probes (ipc1_1k: 91 tables -> 8, 72 ns), checking bucket rules four
// at a time with SIMD compares cut a third (ipc1_1k 45-57 ns across sittings), intermediate roundings for
// overflowing rules cut the 100k sets' tables from ~400-750 to ~50 (fw1_100k 3.2 us -> 0.64 us), and the
// protocol partitions cut up to half more (ipc1_1k 45 -> 23 ns, fw1_100k 639 -> 448 ns; 2-11% on most
// other sets; acl1_1k unchanged; fw1_10k worse, 43 -> 58 ns). A DPDK-style multibit trie is what
// dpdk-test-acl runs (last column): faster on acl1_100k, but dpdk-test-acl needs 0.34 s from start to
// first lookup on fw1_1k and 3.3 s on fw1_10k (EAL start-up included), while a revoke must rebuild a
// 1,000-rule table in well under 1 ms (target 4). Decision trees (HiCuts/HyperCuts/CutSplit) replicate
// wildcard-heavy firewall rules and are known for long builds; they were not tried.
// Build: 48-111 us for the 1k sets after a revoke, 1.3-2.9 ms for 10k, 4.6-4.9 ms for 32k-51k.
//
// Complexity. Build: O(n · t) where t is the number of tables (t ≪ n: 24-52 over the four partitions
// of the 1k/10k sets, 110-168 at 32k-51k); memory O(n) plus the any-protocol rules copied into each
// partition. Lookup: at most t hash probes plus, per probed bucket, its rules in groups of four; the worst
// case is a bucket of rules equal on every keyed field (no table can separate them), and the rank cut-off
// stops most lookups long before the last table. IPv6: O(n6) linear scan (security groups hold few IPv6
// boxes; the simpler path the issue allows).
//
// Thread safety. Immutable after construction: classify() is const, touches no mutable state, and may be
// called from any number of threads at once. A revoke builds a new FastClassifier (a new snapshot) and
// swaps it in; nothing mutates a table a lookup is reading.

#include <cstdint>
#include <vector>

#include "sgsim/classify/rule_box.h"

namespace sgsim {

class FastClassifier {
 public:
  struct Options {
    // false: plain tuple-space search (one table per exact tuple, unbounded buckets) — kept for the
    // measurements above and as a second configuration for the differential tests.
    bool mergeTuples = true;
    std::uint32_t collisionLimit = 128;  // rules per bucket before a rule looks for another table
    std::uint32_t lengthStep = 16;       // new tables round prefix lengths down to a multiple of this
  };

  explicit FastClassifier(std::vector<RuleBox> boxes) : FastClassifier(std::move(boxes), Options{}) {}
  FastClassifier(std::vector<RuleBox> boxes, Options options);

  // Index into boxes() of the lowest-rank matching box, or kNoMatch. Never throws, never allocates.
  std::uint32_t classify(const ClassifyKey& key) const;
  // Sorted by rank exactly as LinearClassifier sorts (stable).
  const std::vector<RuleBox>& boxes() const { return boxes_; }
  // Number of IPv4 hash tables (for the benchmarks and the design notes above).
  std::size_t tableCount() const { return tables_.size(); }

 private:
  // Four rules of one bucket stored field by field, so that one SIMD comparison checks all four. Padding
  // lanes never match (mask 0, base 1) and have position kNoMatch.
  struct alignas(16) RuleGroup {
    std::uint32_t srcBase[4], srcMask[4], dstBase[4], dstMask[4];
    std::int32_t sportLo[4], sportHi[4], dportLo[4], dportHi[4];
    std::uint32_t proto[4], protoMask[4];  // any protocol: 0/0
    std::uint32_t pos[4];                  // index into boxes_, ascending
  };

  struct Slot {
    std::uint64_t ip = 0;     // masked source << 32 | masked destination
    std::uint32_t aux = 0;    // masked (dport << 8 | proto)
    std::uint32_t begin = 0;  // first RuleGroup
    std::uint32_t count = 0;  // RuleGroups in the bucket; 0 = empty slot
  };
  struct Table {
    std::uint32_t srcMask, dstMask, auxMask;
    std::uint32_t minPos;     // best position of any rule in the table
    std::uint32_t slotBegin;  // first slot in slots_
    std::uint32_t slotMask;   // capacity - 1 (power of two)
    std::uint32_t shift;      // 64 - log2(capacity)
  };

  struct Range {
    std::uint32_t begin = 0, end = 0;
  };

  void buildTables(const std::vector<std::uint32_t>& members, const Options& options);
  std::uint32_t classifyV4(const ClassifyKey& key) const;
  std::uint32_t classifyV6(const ClassifyKey& key) const;

  std::vector<RuleBox> boxes_;
  std::vector<RuleGroup> groups_;  // bucket by bucket, each bucket in position order
  std::vector<Table> tables_;      // partition by partition, each in ascending minPos
  Range partitions_[4];            // its tables for TCP, UDP, ICMP and every other protocol
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> v6_;  // positions of the IPv6 boxes, ascending
};

}  // namespace sgsim
