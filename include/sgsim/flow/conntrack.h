#pragma once
// Connection tracking, one table for every modeled ENI (the ENI index is part of the key).
//
// What it is: the stateful half of a security group (SEMANTICS §4). A flow is identified per ENI by
// protocol and its two endpoints in canonical order (so a reply finds its request's entry); ICMP echo
// carries its identifier in both port fields (the decoder puts it there), every other portless protocol
// has ports 0.
// How it works: an entry records the flow's fate (accepted or blocked), when it was last seen and which
// sides have sent a FIN or a RST. An entry is alive while (now − last) ≤ timeout, where the timeout comes
// from the ENI's ConnectionTrackingConfiguration: TCP 910 s, TCP after a RST or a FIN from each side 3 s,
// UDP 30 s, anything else 30 s. Every packet refreshes the timer. Time is always the capture's own
// timestamp, passed in; there is no clock here.
// Sides: one slot per key holds an independent entry per rule table ("side"): one for replay, two for
// whatif (before and after the change), so both tables cost one probe per packet.
// Memory: expired entries are swept out once the table holds half as many new entries again as survived
// the last sweep (amortised O(1) per insert), so its size follows the live flows, not the capture's length.
// A hard cap on entries is reported by the caller when reached (new flows are then decided without state).
// The table: open addressing with linear probing over a power-of-two array of slots (key and FlowSlot, 72
// bytes for one side, 96 for two), beside a control array of one byte per slot (0 empty, else 0x80 and 7 bits
// of the hash) read 8 bytes at a time, so a probe rarely touches a slot that does not hold the key. A key's
// home slot is the top bits of its hash. The load never exceeds 3/4: the capacity doubles (rehash into new
// arrays) only when the entries allowed until the next sweep would exceed it, and it never shrinks, so at a
// steady number of live flows one capacity serves for good (tests/flow: SteadyLiveFlowsKeepOneCapacity).
// Erasure is backward-shift deletion: no tombstones, so erasing never wears anything down. The arrays come from
// calloc/aligned_alloc: pages the table has not written yet are not resident. A slot array of 2 MiB or more is
// advised as transparent huge pages (madvise): lookups land on random slots, and with 4 KiB pages almost every
// one also missed the TLB, which prefetching did not hide (whatif on 2M packets, 2 threads: 702 → 547 ms with
// prefetching once the slots were on huge pages; medians of 9, noisy). prefetch / prefetchHash start
// loading a key's control byte and home slot, for callers that look a few packets ahead (in the benchmark,
// 100,000 live flows: ~110 → ~55 ns per packet with 8 packets ahead, medians of 5).
// Why not boost::unordered_flat_map (used until 2026-11): it keeps no tombstones but erasing an element from a
// group that has overflowed lowers the map's load budget (max_load) for good, so a long run of inserts and
// sweeps eventually forces a rehash at the same size: the tracker rebuilt the map, briefly holding two arrays,
// ~11 MB of extra peak RSS in a 20M-packet whatif run (docs/PERFORMANCE.md, target 3). 3/4 rather than boost's
// 7/8: the same capacity at the 100,000 live flows of the benchmark mix (the power of two is set by the sweep
// threshold), shorter probes for new keys otherwise.
// Threads: none; one tracker belongs to one evaluator.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "sgsim/core/ip.h"
#include "sgsim/model/model.h"

namespace sgsim {

// 48 bytes: the two endpoints as raw 128-bit halves (the family is stored once), so that an entry of the
// flow table spans as few cache lines as possible (each established packet costs one probe of this table).
struct FlowKey {
  std::uint64_t ahi = 0, alo = 0;  // canonical lower endpoint (address, port)
  std::uint64_t bhi = 0, blo = 0;
  std::uint32_t eni = 0;
  std::uint16_t pa = 0;
  std::uint16_t pb = 0;
  std::uint8_t proto = 0;
  Family family = Family::V4;

  // Builds the canonical key and tells whether (src, sport) is endpoint a.
  static FlowKey make(std::uint32_t eni, std::uint8_t proto, const IpAddr& src, std::uint16_t sport, const IpAddr& dst,
                      std::uint16_t dport, bool& srcIsA);
  IpAddr a() const { return IpAddr{family, ahi, alo}; }
  IpAddr b() const { return IpAddr{family, bhi, blo}; }
  bool operator==(const FlowKey&) const = default;
};

struct FlowKeyHash {
  std::size_t operator()(const FlowKey& k) const noexcept {
    std::uint64_t h = (static_cast<std::uint64_t>(k.eni) << 40) ^ (static_cast<std::uint64_t>(k.proto) << 32) ^
                      (static_cast<std::uint64_t>(k.pa) << 16) ^ k.pb;
    h = mix(h, k.alo);
    h = mix(h, k.blo);
    if (k.family == Family::V6) {
      h = mix(h, k.ahi);
      h = mix(h, k.bhi);
    }
    return static_cast<std::size_t>(h);
  }

 private:
  static std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
    return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
};

enum class FlowFate : std::uint8_t { Accepted, Blocked };

// What the evaluator remembers about the decision that created a flow, so that a rule change can re-decide
// it (--at), and a report can show the flow from the side that opened it (issue 10). The first packet's addresses
// and ports are the key's, oriented by initiatorIsA.
struct FlowOrigin {
  std::int32_t peerEni = -1;
  Direction direction = Direction::Ingress;  // direction of the first packet at this ENI
  bool hairpin = false;                      // source and destination are both this ENI (both checks made)
  bool initiatorIsA = true;                  // the first packet came from endpoint a
  // That packet's TCP flags or ICMP type (a packet has at most one of them): with the key's protocol and ports,
  // what opensConnection() reads, when a report asks whether that packet's sender is the flow's opener. Kept raw so
  // that making an entry costs one more byte stored, not a decision.
  std::uint8_t firstFlags = 0;
};

// Whether a packet can be the first packet of a connection, so that the endpoint that sent it opened it (issue 10:
// a flow is shown from its opener; one whose entry was made by any other packet has its opener unknown, as when a
// capture starts in the middle of a connection). TCP: SYN without ACK. ICMP and ICMPv6: anything but a reply to a
// query (echo reply 0 and 129; ICMP timestamp, information and address-mask replies 14, 16, 18). UDP: anything but a
// packet from a well-known port (1-1023) to a port above it, which is how a service answers a client (DNS, NTP's
// server side, SNMP…); UDP has no flag for it, so this is a rule of thumb, and a UDP capture that starts with a
// reply between two high ports is taken as opened by its first sender. Any other protocol: anything.
// The single place where this is decided (README, Semantics decisions → What-if). openedBy() reads it for an entry.
constexpr bool opensConnection(std::uint8_t proto, std::uint8_t tcpFlags, std::uint8_t icmpType, std::uint16_t sport,
                               std::uint16_t dport) {
  constexpr std::uint8_t kSyn = 0x02, kAck = 0x10;
  switch (proto) {
    case 6:
      return (tcpFlags & (kSyn | kAck)) == kSyn;
    case 17:
      return !(sport >= 1 && sport <= 1023 && dport > 1023);
    case 1:
      return icmpType != 0 && icmpType != 14 && icmpType != 16 && icmpType != 18;
    case 58:
      return icmpType != 129;
    default:
      return true;
  }
}

struct FlowEntry {  // 24 bytes
  std::int64_t lastNs = 0;
  FlowOrigin origin;
  FlowFate fate = FlowFate::Accepted;
  bool finA = false, finB = false, rst = false;
  bool present = false;  // the flow has been seen at this ENI (in this side's table)
};
static_assert(sizeof(FlowEntry) == 24);

// Whether the packet that made entry `e` of `key` opens a connection (its sender, endpoint a when
// e.origin.initiatorIsA, is then the flow's opener).
constexpr bool openedBy(const FlowKey& key, const FlowEntry& e) {
  const bool a = e.origin.initiatorIsA;
  return opensConnection(key.proto, e.origin.firstFlags, e.origin.firstFlags, a ? key.pa : key.pb, a ? key.pb : key.pa);
}

// One slot per flow key holds the state of each "side": one rule table for `replay`, two (before and after the
// change) for `whatif`, so that evaluating a packet under both tables costs one probe of the flow table, not
// two. Each side's entry is independent (present, timers, fate), exactly as if each side had a table of its own.
template <int Sides>
struct FlowSlot {
  FlowEntry side[Sides];
};

template <int Sides>
class BasicConnTracker {
 public:
  // timeouts[i] belongs to ENI index i.
  BasicConnTracker(std::vector<Timeouts> timeouts, std::size_t maxFlows);
  BasicConnTracker(const BasicConnTracker& other);
  BasicConnTracker(BasicConnTracker&&) noexcept = default;
  BasicConnTracker& operator=(BasicConnTracker other) noexcept {
    swap(other);
    return *this;
  }
  ~BasicConnTracker() = default;

  // The table's hash of a key: compute it once and pass it to prefetchHash and acquire.
  static std::size_t hashOf(const FlowKey& key) noexcept {
    std::uint64_t h = FlowKeyHash{}(key);
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return static_cast<std::size_t>(h);
  }
  // Starts loading the cache lines that acquire(key) will touch first (its control byte and home slot), so that
  // a caller can issue it a few packets ahead and overlap the misses. No effect on the table.
  void prefetch(const FlowKey& key) const { prefetchHash(hashOf(key)); }
  void prefetchHash(std::size_t hash) const {
    const std::size_t i = hash >> shift_;
    const char* p = reinterpret_cast<const char*>(&entries_[i]);
    __builtin_prefetch(&ctrl_[i]);
    __builtin_prefetch(p, 1);
    __builtin_prefetch(p + sizeof(Entry) - 1, 1);
  }

  // The slot of `key`: the existing one, or a new one with no side present. Null when the table is full of live
  // flows. The pointer is valid until the next call that may insert. A caller starts at least one side of a new
  // slot, and every side it starts or refreshes, through update().
  FlowSlot<Sides>* acquire(const FlowKey& key, std::int64_t nowNs) { return acquire(key, hashOf(key), nowNs); }
  // The same with hash == hashOf(key).
  FlowSlot<Sides>* acquire(const FlowKey& key, std::size_t hash, std::int64_t nowNs) {
    // Fast path: below the sweep threshold (and the cap), one probe finds or inserts.
    if (size_ < sweepAt_ && size_ < maxFlows_) return findOrInsert(key, hash);
    return insertSlow(key, hash, nowNs);
  }
  // A side's entry is live: present and alive at nowNs.
  bool live(const FlowEntry& e, const FlowKey& key, std::int64_t nowNs) const {
    return e.present && alive(e, key, nowNs);
  }
  // The live entry of `side` for key, or nullptr.
  FlowEntry* findLive(const FlowKey& key, std::int64_t nowNs, int side = 0) const;
  // Refreshes the timer and records TCP FIN/RST from the sending side.
  // Every entry must be started or refreshed through update() (the cap's sweep skipping relies on it).
  void update(FlowEntry& e, const FlowKey& key, bool fromA, std::uint8_t tcpFlags, std::int64_t nowNs);

  // Ends a side's entry before its timeout (a blocked flow released by a rule change at nowNs): the flow's next
  // packet is decided as a first packet. Safe inside forEachLive (nothing moves).
  void forget(FlowEntry& e, std::int64_t nowNs) {
    e.present = false;
    // The slot may be free from now on: a new flow at the cap must sweep rather than be refused unseen.
    noExpiryUntilNs_ =
        std::min(noExpiryUntilNs_, nowNs == std::numeric_limits<std::int64_t>::min() ? nowNs : nowNs - 1);
  }
  bool alive(const FlowEntry& e, const FlowKey& key, std::int64_t nowNs) const;
  std::size_t size() const { return size_; }  // slots in the table, live or not yet swept
  std::size_t capacity() const { return mask_ + 1; }
  std::size_t capHits() const { return capHits_; }
  std::size_t sweeps() const { return sweeps_; }  // full scans for expired entries so far
  std::size_t maxFlows() const { return maxFlows_; }

  // Visits every live entry of one side (used when a rule change applies at an instant of the capture).
  template <class F>
  void forEachLive(int side, std::int64_t nowNs, F&& f) {
    for (std::size_t i = 0; i <= mask_; ++i)
      if (ctrl_[i] != 0 && live(entries_[i].slot.side[side], entries_[i].key, nowNs))
        f(entries_[i].key, entries_[i].slot.side[side]);
  }

 private:
  struct Entry {
    FlowKey key;
    FlowSlot<Sides> slot;
  };
  static_assert(std::is_trivially_copyable_v<Entry>);
  struct Free {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  // The load factor the table never exceeds (entries / slots).
  static constexpr std::size_t kLoadNum = 3, kLoadDen = 4;
  static constexpr std::size_t kMinCapacity = 16;
  static constexpr std::size_t kGroup = 8;  // control bytes per probe step; the first kGroup are cloned at the end
  static constexpr std::uint64_t kLsb = 0x0101010101010101ULL, kMsb = 0x8080808080808080ULL;

  static std::uint8_t tagOf(std::size_t hash) { return static_cast<std::uint8_t>(0x80 | (hash & 0x7f)); }
  static std::size_t capacityFor(std::size_t entries);
  // Control bytes are read 8 at a time (a word per probe step, as SWAR): the first byte equal to the key's tag is
  // found without a data-dependent branch, so a hit costs no mispredicted branch and the next packet's work can
  // start while this one's miss is outstanding.
  static std::uint64_t matchBytes(std::uint64_t word, std::uint8_t tag) {
    const std::uint64_t x = word ^ (kLsb * tag);
    return (x - kLsb) & ~x & kMsb;  // the lowest set bit is exact; later ones may be false (keys are compared)
  }
  std::uint64_t ctrlWord(std::size_t i) const {
    std::uint64_t w;
    std::memcpy(&w, &ctrl_[i], sizeof w);
    return w;
  }
  FlowSlot<Sides>* findOrInsert(const FlowKey& key, std::size_t hash) {
    const std::uint8_t tag = tagOf(hash);
    for (std::size_t i = hash >> shift_;; i = (i + kGroup) & mask_) {
      const std::uint64_t w = ctrlWord(i);
      for (std::uint64_t m = matchBytes(w, tag); m != 0; m &= m - 1) {
        Entry& e = entries_[(i + static_cast<std::size_t>(std::countr_zero(m)) / 8) & mask_];
        if (e.key == key) return &e.slot;
      }
      if (const std::uint64_t empty = ~w & kMsb)
        return insertAt((i + static_cast<std::size_t>(std::countr_zero(empty)) / 8) & mask_, tag, key);
    }
  }
  void setCtrl(std::size_t i, std::uint8_t c) {
    ctrl_[i] = c;
    ctrl_[((i - kGroup) & mask_) + kGroup] = c;  // the clone after the end, for i < kGroup
  }
  FlowSlot<Sides>* insertAt(std::size_t i, std::uint8_t tag, const FlowKey& key) {
    setCtrl(i, tag);
    entries_[i].key = key;
    entries_[i].slot = FlowSlot<Sides>{};
    ++size_;
    return &entries_[i].slot;
  }
  Entry* find(const FlowKey& key, std::size_t hash) const;
  std::int64_t timeoutNs(const FlowEntry& e, const FlowKey& key) const;
  bool anyLive(const FlowSlot<Sides>& slot, const FlowKey& key, std::int64_t nowNs) const;
  void sweep(std::int64_t nowNs);
  void eraseAt(std::size_t hole);
  void rehash(std::size_t capacity);
  FlowSlot<Sides>* insertSlow(const FlowKey& key, std::size_t hash, std::int64_t nowNs);
  void swap(BasicConnTracker& o) noexcept;

  std::vector<Timeouts> timeouts_;
  std::size_t maxFlows_;
  std::size_t capHits_ = 0;
  std::size_t sweepAt_ = 1024;  // table size at which expired entries are swept out next
  std::size_t sweeps_ = 0;
  std::int64_t minTimeoutNs_ = 0;  // the shortest timeout of any ENI
  // No entry expires before this instant (a lower bound: exact after a sweep, lowered by update()). At the cap,
  // a new flow before it is refused without a sweep.
  std::int64_t noExpiryUntilNs_ = std::numeric_limits<std::int64_t>::min();
  std::size_t size_ = 0;
  std::size_t mask_ = 0;  // capacity − 1 (a power of two)
  unsigned shift_ = 64;   // home slot = hash >> shift_ (the hash's top bits)
  // Per slot: 0 empty, else 0x80 | 7 bits of the hash; then a copy of the first kGroup bytes.
  std::unique_ptr<std::uint8_t[], Free> ctrl_;
  std::unique_ptr<Entry[], Free> entries_;  // uninitialised where ctrl_ is 0
};

using ConnTracker = BasicConnTracker<1>;
extern template class BasicConnTracker<1>;
extern template class BasicConnTracker<2>;

}  // namespace sgsim
