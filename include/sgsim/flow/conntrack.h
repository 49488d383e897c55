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
// Memory: expired entries are swept out once the table holds a quarter as many new entries again as survived
// the last sweep (half as many while the sweeps free nothing: the live flows are growing), amortised O(1) per
// insert, so its size follows the live flows, not the capture's length.
// A hard cap on entries is reported by the caller when reached (new flows are then decided without state).
// The table (since issue 11, target 2: two million live flows) is a dense array of entries per address family
// plus an index of 4-byte slots, as CPython's dict and Rust's indexmap are:
// - Entries: an IPv4 entry is the key in 20 bytes (addresses, ENI, ports, protocol, and the top half of its hash,
//   in what would be padding) and its FlowSlot: 48 bytes for one side, 72 for two; an IPv6 entry is the FlowKey and its
//   FlowSlot (72 / 96). New entries are appended; the arrays grow by segments of doubling size that are never moved or
//   copied (no growth-time doubling: a segment's pages become resident as entries fill them), and a sweep compacts them
//   in place.
// - Index: open addressing with linear probing over 4-byte slots, each 0 (empty) or a reference to an entry
//   (family and position) with low bits of the hash's top half above it as a tag, so a probe rarely reads an entry
//   that does not hold the key. A key's home slot is its hash's top half scaled to the capacity (any multiple of
//   16, not a power of two: fastrange), and the load never exceeds 2/3. The index is rebuilt from the entries after a
//   sweep that erased any and when the entries allowed until the next sweep would exceed that load (then it grows, and
//   never shrinks, so at a steady number of live flows one capacity serves for good: tests/flow,
//   SteadyLiveFlowsKeepOneCapacity). Nothing is ever erased from the index in between, so there are no tombstones and
//   no backward shifts. Below the cap, a sweep is skipped while no entry's own timeout can have run out (a flood of
//   live flows found nothing to erase).
// Why entries apart from the index: slots in the table itself (the design until issue 11) cost a power of two of
// whole slots, up to twice the entries, and growing rehashed into new arrays while the old ones were held: 2M
// live flows peaked at 460 MB for replay. Here the index alone is rebuilt (4 bytes a slot, the old one freed
// first) and the entries never move, for one more dependent load per lookup, which the two-stage prefetch covers.
// Large arrays (2 MiB or more) are mapped from the kernel on 2 MiB boundaries and advised as transparent huge
// pages: lookups land on random entries, and with 4 KiB pages almost every one also missed the TLB. Pages the
// table has not written yet are not resident, and a freed index goes back to the kernel at once.
// prefetch / prefetchHash work in two stages, for callers that look a few packets ahead: each call starts loading
// the key's home index slot and, for the key given kPrefetchStage calls earlier (whose index slot has arrived by
// then), the entry its slot refers to.
// Sizes: 2 million live IPv4 flows take 96 MB of entries for replay (144 MB for whatif's two sides) and a 15 MB
// index; the table before (one array of 72/96-byte slots in a power of two, doubled by rehashing into new arrays)
// took 302/403 MB at that count and briefly held both arrays while growing (docs/PERFORMANCE.md, target 2).
// Limit: at most 2^31 − 1 entries (a --max-flows above is taken as that).
// Why not boost::unordered_flat_map (used until 2026-11): erasing from a group that has overflowed lowers its load
// budget for good, so a long run of inserts and sweeps eventually forced a rehash at the same size, briefly holding
// two arrays (~11 MB of extra peak RSS in a 20M-packet whatif run; docs/PERFORMANCE.md, target 3 of issue 4).
// Threads: none; one tracker belongs to one evaluator.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
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

namespace detail {
// Memory from the allocator, or, from 2 MiB on, mapped from the kernel on 2 MiB boundaries (huge pages).
class TableBlock {
 public:
  TableBlock() = default;
  TableBlock(std::size_t bytes, bool zeroed);
  TableBlock(TableBlock&& o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  TableBlock& operator=(TableBlock&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  ~TableBlock();
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;  // mapped length when mapped, else 0
};

}  // namespace detail

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
  // Starts loading what acquire(key) will touch: the key's home index slot now, and the entry of the key given
  // kPrefetchStage calls before (its index slot has arrived by then). A caller issues it a few packets ahead to
  // overlap the misses. No effect on the table's contents.
  void prefetch(const FlowKey& key) const { prefetchHash(hashOf(key)); }
  void prefetchHash(std::size_t hash) const {
    __builtin_prefetch(&index_[homeOf(hash)]);
    const std::size_t earlier = pending_[pendingAt_];
    pending_[pendingAt_] = hash;
    pendingAt_ = (pendingAt_ + 1) % kPrefetchStage;
    prefetchEntry(earlier);
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
    sweepUselessUntilNs_ = std::min(sweepUselessUntilNs_, noExpiryUntilNs_);
  }
  bool alive(const FlowEntry& e, const FlowKey& key, std::int64_t nowNs) const {
    return nowNs - e.lastNs <= timeoutNs(e, key.eni, key.proto);
  }
  std::size_t size() const { return size_; }          // entries in the table, live or not yet swept
  std::size_t capacity() const { return capacity_; }  // index slots
  std::size_t capHits() const { return capHits_; }
  std::size_t sweeps() const { return sweeps_; }  // full scans for expired entries so far
  std::size_t maxFlows() const { return maxFlows_; }
  // Bytes of one entry of each family (what the table holds per flow, besides ~6 bytes of index).
  static constexpr std::size_t kV4EntryBytes = 24 + sizeof(FlowSlot<Sides>);
  static constexpr std::size_t kV6EntryBytes = sizeof(FlowKey) + sizeof(FlowSlot<Sides>);

  // Visits every live entry of one side (used when a rule change applies at an instant of the capture).
  template <class F>
  void forEachLive(int side, std::int64_t nowNs, F&& f) {
    for (std::size_t i = 0; i < v4_.size(); ++i) {
      V4Entry& e = v4_[i];
      FlowEntry& s = e.slot.side[side];
      if (s.present && nowNs - s.lastNs <= timeoutNs(s, e.key.eni, e.key.proto)) f(e.key.flowKey(), s);
    }
    for (std::size_t i = 0; i < v6_.size(); ++i) {
      V6Entry& e = v6_[i];
      if (live(e.slot.side[side], e.key, nowNs)) f(e.key, e.slot.side[side]);
    }
  }

 private:
  // An IPv4 key in 17 bytes (FlowKey holds 128-bit halves for either family), and the top half of its hash, which
  // is all an index rebuild needs (it fits in the entry's padding).
  struct V4Key {
    std::uint32_t a = 0, b = 0, eni = 0, hash = 0;
    std::uint16_t pa = 0, pb = 0;
    std::uint8_t proto = 0;
    static V4Key of(const FlowKey& k, std::uint32_t hash) {
      return V4Key{
          static_cast<std::uint32_t>(k.alo), static_cast<std::uint32_t>(k.blo), k.eni, hash, k.pa, k.pb, k.proto};
    }
    FlowKey flowKey() const {
      FlowKey k;
      k.alo = a;
      k.blo = b;
      k.eni = eni;
      k.pa = pa;
      k.pb = pb;
      k.proto = proto;
      return k;
    }
    bool operator==(const V4Key&) const = default;
  };
  struct V4Entry {
    alignas(8) V4Key key;
    FlowSlot<Sides> slot;
  };
  struct V6Entry {
    FlowKey key;
    FlowSlot<Sides> slot;
  };
  static_assert(sizeof(V4Entry) == kV4EntryBytes && sizeof(V6Entry) == kV6EntryBytes);
  static_assert(std::is_trivially_copyable_v<V4Entry> && std::is_trivially_copyable_v<V6Entry>);

  // A dense array of entries in segments of doubling size: segment s holds kFirst << s entries, so growing never
  // moves an entry and the segments' sum stays within twice the largest count (pages untouched are not resident).
  template <class T>
  class Dense {
   public:
    static constexpr unsigned kFirstBits = 8;
    static constexpr std::size_t kFirst = std::size_t{1} << kFirstBits;
    T& operator[](std::size_t i) const {
      const std::size_t q = (i >> kFirstBits) + 1;
      const unsigned s = static_cast<unsigned>(std::bit_width(q)) - 1;
      return segments_[s][i + kFirst - (kFirst << s)];
    }
    std::size_t size() const { return size_; }
    T& push() {
      if (size_ == reserved_) grow();
      return (*this)[size_++];
    }
    void resize(std::size_t n) { size_ = n; }  // n <= size(): the entries after are dropped
    void copyFrom(const Dense& o) {
      while (reserved_ < o.size_) grow();
      for (std::size_t i = 0; i < o.size_; ++i) (*this)[i] = o[i];
      size_ = o.size_;
    }

   private:
    void grow() {
      const std::size_t s = blocks_.size();
      blocks_.emplace_back((kFirst << s) * sizeof(T), false);
      segments_[s] = static_cast<T*>(blocks_.back().get());
      reserved_ += kFirst << s;
    }
    std::array<T*, 48> segments_{};
    std::vector<detail::TableBlock> blocks_;
    std::size_t size_ = 0, reserved_ = 0;
  };

  // Calls of prefetchHash between loading a key's index slot and loading the entry it refers to.
  static constexpr std::size_t kPrefetchStage = 4;
  static constexpr std::size_t kMinCapacity = 16;

  static std::size_t capacityFor(std::size_t entries);
  // A key's home slot and tag come from the top half of its hash (what an IPv4 entry keeps).
  static std::uint32_t topOf(std::size_t hash) {
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(hash) >> 32);
  }
  std::size_t homeOf(std::size_t hash) const { return homeOfTop(topOf(hash)); }
  std::size_t homeOfTop(std::uint32_t top) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(top) * capacity_) >> 32);
  }
  std::size_t next(std::size_t i) const { return i + 1 == capacity_ ? 0 : i + 1; }
  std::uint32_t tagOf(std::size_t hash) const { return tagOfTop(topOf(hash)); }
  std::uint32_t tagOfTop(std::uint32_t top) const {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(top) & tagMask_) << refBits_);
  }
  std::uint32_t tagOfSlot(std::uint32_t w) const { return w & ~refMask_; }
  // A reference: 1 + 2 × position + (1 for IPv6), below 2^refBits_.
  static std::uint32_t refOf(std::size_t pos, bool v6) { return static_cast<std::uint32_t>(2 * pos + v6 + 1); }
  void* entryOf(std::uint32_t ref) const {
    const std::size_t pos = (ref - 1) >> 1;
    if ((ref - 1) & 1) return &v6_[pos];
    return &v4_[pos];
  }
  void prefetchEntry(std::size_t hash) const {
    const std::uint32_t tag = tagOf(hash);
    std::size_t i = homeOf(hash);
    for (int n = 0; n < 4; ++n, i = next(i)) {
      const std::uint32_t w = index_[i];
      if (w == 0) return;
      if (tagOfSlot(w) == tag) {
        const std::uint32_t ref = w & refMask_;
        const char* p = static_cast<const char*>(entryOf(ref));
        __builtin_prefetch(p, 1);
        __builtin_prefetch(p + ((ref - 1) & 1 ? sizeof(V6Entry) : sizeof(V4Entry)) - 1, 1);
        return;
      }
    }
  }
  // The key's slot, or (Insert) a new entry for it in the empty index slot that ends its probe.
  template <bool Insert>
  FlowSlot<Sides>* probe(const FlowKey& key, std::size_t hash) const {
    const std::uint32_t tag = tagOf(hash);
    const bool v6 = key.family == Family::V6;
    const V4Key k4 = V4Key::of(key, topOf(hash));
    for (std::size_t i = homeOf(hash);; i = next(i)) {
      const std::uint32_t w = index_[i];
      if (w == 0) {
        if constexpr (Insert)
          return const_cast<BasicConnTracker*>(this)->insertAt(i, tag, key, v6, k4);
        else
          return nullptr;
      }
      if (tagOfSlot(w) != tag) continue;
      const std::uint32_t ref = w & refMask_;
      if (((ref - 1) & 1) != static_cast<std::uint32_t>(v6)) continue;
      const std::size_t pos = (ref - 1) >> 1;
      if (!v6) {
        V4Entry& e = v4_[pos];
        if (e.key == k4) return &e.slot;
      } else {
        V6Entry& e = v6_[pos];
        if (e.key == key) return &e.slot;
      }
    }
  }
  FlowSlot<Sides>* findOrInsert(const FlowKey& key, std::size_t hash) { return probe<true>(key, hash); }
  FlowSlot<Sides>* insertAt(std::size_t i, std::uint32_t tag, const FlowKey& key, bool v6, const V4Key& k4) {
    ++size_;
    if (!v6) {
      index_[i] = tag | refOf(v4_.size(), false);
      V4Entry& e = v4_.push();
      e.key = k4;
      e.slot = FlowSlot<Sides>{};
      return &e.slot;
    }
    index_[i] = tag | refOf(v6_.size(), true);
    V6Entry& e = v6_.push();
    e.key = key;
    e.slot = FlowSlot<Sides>{};
    return &e.slot;
  }
  std::int64_t timeoutNs(const FlowEntry& e, std::uint32_t eni, std::uint8_t proto) const;
  // Drops the entries with no live side, in place, and returns how many it dropped.
  template <class T>
  std::size_t compact(Dense<T>& entries, std::int64_t nowNs, std::int64_t& earliest);
  void sweep(std::int64_t nowNs);
  void rebuildIndex(std::size_t capacity);
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
  // The same bound from each entry's own timeout (update() lowers it to the entry's expiry): below the cap, a sweep
  // before this instant would erase nothing and is skipped. Only memory depends on it, never a result.
  std::int64_t sweepUselessUntilNs_ = std::numeric_limits<std::int64_t>::min();
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;  // index slots
  unsigned refBits_ = 1;      // low bits of an index slot: the reference; the rest: the tag
  std::uint32_t refMask_ = 1;
  std::uint64_t tagMask_ = 0;       // the tag's bits, before the shift by refBits_
  std::uint32_t* index_ = nullptr;  // in indexBlock_
  detail::TableBlock indexBlock_;
  Dense<V4Entry> v4_;
  Dense<V6Entry> v6_;
  mutable std::array<std::size_t, kPrefetchStage> pending_{};
  mutable std::size_t pendingAt_ = 0;
};

using ConnTracker = BasicConnTracker<1>;
extern template class BasicConnTracker<1>;
extern template class BasicConnTracker<2>;

}  // namespace sgsim
