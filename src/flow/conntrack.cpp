#include "sgsim/flow/conntrack.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <tuple>

namespace sgsim {

namespace {
constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::uint8_t kFin = 0x01;
constexpr std::uint8_t kRst = 0x04;
// The most entries a 4-byte index slot can refer to (both families: a reference is 1 + 2 × position + family).
constexpr std::size_t kMaxEntries = (std::size_t{1} << 31) - 1;

}  // namespace

FlowKey FlowKey::make(std::uint32_t eni, std::uint8_t proto, const IpAddr& src, std::uint16_t sport, const IpAddr& dst,
                      std::uint16_t dport, bool& srcIsA) {
  srcIsA = std::tie(src, sport) <= std::tie(dst, dport);
  const IpAddr& a = srcIsA ? src : dst;
  const IpAddr& b = srcIsA ? dst : src;
  FlowKey k;
  k.ahi = a.hi;
  k.alo = a.lo;
  k.bhi = b.hi;
  k.blo = b.lo;
  k.eni = eni;
  k.pa = srcIsA ? sport : dport;
  k.pb = srcIsA ? dport : sport;
  k.proto = proto;
  k.family = src.family;
  return k;
}

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::int64_t saturatingAdd(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  return r;
}
}  // namespace

// Below 2 MiB: the allocator, 64-byte aligned (an entry spans as few cache lines as it can). From 2 MiB: an
// anonymous mapping trimmed to 2 MiB boundaries and advised as transparent huge pages (random lookups otherwise
// miss the TLB on nearly every entry, which prefetching does not hide). A mapping's pages are zero and not resident
// until written, and unmapping returns them at once (a freed heap block may stay resident: growth would then hold
// the old array and the new one).
namespace detail {
TableBlock::TableBlock(std::size_t bytes, bool zeroed) {
  if (bytes < kHugePage) {
    const std::size_t rounded = (bytes + 63) / 64 * 64;
    p_ = std::aligned_alloc(64, rounded);
    if (p_ == nullptr) throw std::bad_alloc();
    if (zeroed) std::memset(p_, 0, rounded);
    return;
  }
  const std::size_t length = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* m = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  const auto at = reinterpret_cast<std::uintptr_t>(m);
  const std::uintptr_t aligned = (at + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > at) munmap(m, aligned - at);
  const std::uintptr_t end = at + length + kHugePage;
  if (end > aligned + length) munmap(reinterpret_cast<void*>(aligned + length), end - (aligned + length));
  p_ = reinterpret_cast<void*>(aligned);
  bytes_ = length;
  madvise(p_, length, MADV_HUGEPAGE);  // advice only: failure changes nothing
}

TableBlock::~TableBlock() {
  if (p_ == nullptr) return;
  if (bytes_ != 0)
    munmap(p_, bytes_);
  else
    std::free(p_);
}
}  // namespace detail

template <int Sides>
BasicConnTracker<Sides>::BasicConnTracker(std::vector<Timeouts> timeouts, std::size_t maxFlows)
    : timeouts_(std::move(timeouts)), maxFlows_(std::clamp<std::size_t>(maxFlows, 1, kMaxEntries)) {
  std::uint32_t least = std::min({Timeouts{}.tcpEstablished, Timeouts{}.tcpClosing, Timeouts{}.udp, Timeouts{}.other});
  for (const Timeouts& t : timeouts_) least = std::min({least, t.tcpEstablished, t.tcpClosing, t.udp, t.other});
  minTimeoutNs_ = static_cast<std::int64_t>(least) * kNsPerSec;
  refBits_ = static_cast<unsigned>(std::bit_width(2 * static_cast<std::uint64_t>(maxFlows_)));
  refMask_ = static_cast<std::uint32_t>((std::uint64_t{1} << refBits_) - 1);
  tagMask_ = (std::uint64_t{1} << (32 - refBits_)) - 1;
  rebuildIndex(capacityFor(std::min(sweepAt_, maxFlows_)));
}

template <int Sides>
BasicConnTracker<Sides>::BasicConnTracker(const BasicConnTracker& o)
    : timeouts_(o.timeouts_),
      maxFlows_(o.maxFlows_),
      capHits_(o.capHits_),
      sweepAt_(o.sweepAt_),
      sweeps_(o.sweeps_),
      minTimeoutNs_(o.minTimeoutNs_),
      noExpiryUntilNs_(o.noExpiryUntilNs_),
      sweepUselessUntilNs_(o.sweepUselessUntilNs_),
      size_(o.size_),
      capacity_(o.capacity_),
      refBits_(o.refBits_),
      refMask_(o.refMask_),
      tagMask_(o.tagMask_),
      indexBlock_(o.capacity_ * sizeof(std::uint32_t), false) {
  index_ = static_cast<std::uint32_t*>(indexBlock_.get());
  std::memcpy(index_, o.index_, capacity_ * sizeof(std::uint32_t));
  v4_.copyFrom(o.v4_);
  v6_.copyFrom(o.v6_);
}

template <int Sides>
void BasicConnTracker<Sides>::swap(BasicConnTracker& o) noexcept {
  using std::swap;
  swap(timeouts_, o.timeouts_);
  swap(maxFlows_, o.maxFlows_);
  swap(capHits_, o.capHits_);
  swap(sweepAt_, o.sweepAt_);
  swap(sweeps_, o.sweeps_);
  swap(minTimeoutNs_, o.minTimeoutNs_);
  swap(noExpiryUntilNs_, o.noExpiryUntilNs_);
  swap(sweepUselessUntilNs_, o.sweepUselessUntilNs_);
  swap(size_, o.size_);
  swap(capacity_, o.capacity_);
  swap(refBits_, o.refBits_);
  swap(refMask_, o.refMask_);
  swap(tagMask_, o.tagMask_);
  swap(index_, o.index_);
  swap(indexBlock_, o.indexBlock_);
  swap(v4_, o.v4_);
  swap(v6_, o.v6_);
  swap(pending_, o.pending_);
  swap(pendingAt_, o.pendingAt_);
}

// Index slots for `entries` at a load of at most 2/3.
template <int Sides>
std::size_t BasicConnTracker<Sides>::capacityFor(std::size_t entries) {
  return std::max(kMinCapacity, (entries + entries / 2 + 16) / 16 * 16);
}

// A new index of `capacity` slots, filled from the entries (they are the table; the index only finds them). The
// old index is freed first: the two are never held at once.
template <int Sides>
void BasicConnTracker<Sides>::rebuildIndex(std::size_t capacity) {
  indexBlock_ = detail::TableBlock();
  indexBlock_ = detail::TableBlock(capacity * sizeof(std::uint32_t), true);
  index_ = static_cast<std::uint32_t*>(indexBlock_.get());
  capacity_ = capacity;
  const auto place = [&](std::uint32_t top, std::uint32_t ref) {
    std::size_t i = homeOfTop(top);
    while (index_[i] != 0) i = next(i);
    index_[i] = tagOfTop(top) | ref;
  };
  for (std::size_t p = 0; p < v4_.size(); ++p) place(v4_[p].key.hash, refOf(p, false));
  for (std::size_t p = 0; p < v6_.size(); ++p) place(topOf(hashOf(v6_[p].key)), refOf(p, true));
}

template <int Sides>
std::int64_t BasicConnTracker<Sides>::timeoutNs(const FlowEntry& e, std::uint32_t eni, std::uint8_t proto) const {
  static const Timeouts kDefaults;
  const Timeouts& t = eni < timeouts_.size() ? timeouts_[eni] : kDefaults;
  std::uint32_t s = t.other;
  if (proto == 6)
    s = (e.rst || (e.finA && e.finB)) ? t.tcpClosing : t.tcpEstablished;
  else if (proto == 17)
    s = t.udp;
  return static_cast<std::int64_t>(s) * kNsPerSec;
}

template <int Sides>
FlowEntry* BasicConnTracker<Sides>::findLive(const FlowKey& key, std::int64_t nowNs, int side) const {
  FlowSlot<Sides>* slot = probe<false>(key, hashOf(key));
  if (slot == nullptr || !live(slot->side[side], key, nowNs)) return nullptr;
  return &slot->side[side];
}

// Keeps the entries with a live side, in their order, and lowers `earliest` to the first expiry among them.
template <int Sides>
template <class T>
std::size_t BasicConnTracker<Sides>::compact(Dense<T>& entries, std::int64_t nowNs, std::int64_t& earliest) {
  std::size_t kept = 0;
  const std::size_t n = entries.size();
  for (std::size_t i = 0; i < n; ++i) {
    T& e = entries[i];
    bool any = false;
    // A side already dead stays dead until update() starts it again (which lowers the bound itself): only the
    // live sides' expiries can free an entry later.
    for (const FlowEntry& s : e.slot.side) {
      const std::int64_t timeout = timeoutNs(s, e.key.eni, e.key.proto);
      if (!s.present || nowNs - s.lastNs > timeout) continue;
      any = true;
      earliest = std::min(earliest, saturatingAdd(s.lastNs, timeout));
    }
    if (!any) continue;
    if (kept != i) entries[kept] = e;
    ++kept;
  }
  entries.resize(kept);
  return n - kept;
}

// Erases every entry with no live side (compacting the arrays); the caller rebuilds the index if any went.
template <int Sides>
void BasicConnTracker<Sides>::sweep(std::int64_t nowNs) {
  ++sweeps_;
  std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
  size_ -= compact(v4_, nowNs, earliest);
  size_ -= compact(v6_, nowNs, earliest);
  noExpiryUntilNs_ = sweepUselessUntilNs_ = earliest;
}

template <int Sides>
FlowSlot<Sides>* BasicConnTracker<Sides>::insertSlow(const FlowKey& key, std::size_t hash, std::int64_t nowNs) {
  if (FlowSlot<Sides>* slot = probe<false>(key, hash)) return slot;
  // Full of flows none of which can have expired yet: a sweep would free nothing. Without this, a flood of new
  // flows at the cap would sweep the whole table for every packet.
  if (size_ >= maxFlows_ && nowNs <= noExpiryUntilNs_) {
    ++capHits_;
    return nullptr;
  }
  const std::size_t before = size_;
  // Below the cap, skip the scan while no entry can have expired (every flow of a flood still live).
  if (size_ >= maxFlows_ || nowNs > sweepUselessUntilNs_) sweep(nowNs);
  const std::size_t after = size_;
  // Sweep again after a quarter as many new entries as survived when this sweep freed some (flows come and go:
  // the table then holds at most one dead entry for every four live ones, so its size follows the live flows and
  // reaches its steady size within a few sweeps), after half as many when it freed none (the live flows are
  // growing: fewer index rebuilds on the way up, and the sweeps it skips cost nothing). Measured on a capture
  // keeping 100,000 conversations live (docs/PERFORMANCE.md, first round's target 3): with a half in both cases
  // the table peaked at 143k entries after 2M packets and 186k from 4M on, with a quarter after a sweep that
  // freed some at 133k and 156k, for 1% more time (whatif on cap2m and on the 20M-packet capture, alternated
  // against the half); a quarter in both cases also cost 8% on 2M live flows (rr2m), where this costs nothing.
  // The index grows when that many entries would exceed its load, and never shrinks: at a steady number of live
  // flows it keeps one capacity for good.
  sweepAt_ = after + (after != before ? after / 4 : after / 2) + 1024;
  // A growing index takes a quarter more than it needs, so that the survivors' count wandering a little above
  // its last high does not grow it again and again.
  const std::size_t wanted = capacityFor(std::min(sweepAt_, maxFlows_));
  if (wanted > capacity_)
    rebuildIndex((wanted + wanted / 4 + 15) / 16 * 16);
  else if (after != before)
    rebuildIndex(capacity_);
  if (after >= maxFlows_) {
    ++capHits_;
    return nullptr;
  }
  return findOrInsert(key, hash);
}

template <int Sides>
void BasicConnTracker<Sides>::update(FlowEntry& e, const FlowKey& key, bool fromA, std::uint8_t tcpFlags,
                                     std::int64_t nowNs) {
  e.lastNs = std::max(e.lastNs, nowNs);
  // Every entry is started or refreshed through here, and a FIN or RST may shorten its timeout: keep the bound
  // below its expiry with the shortest timeout there is.
  noExpiryUntilNs_ = std::min(noExpiryUntilNs_, saturatingAdd(e.lastNs, minTimeoutNs_));
  if (key.proto == 6) {
    if (tcpFlags & kRst) e.rst = true;
    if (tcpFlags & kFin) (fromA ? e.finA : e.finB) = true;
  }
  sweepUselessUntilNs_ = std::min(sweepUselessUntilNs_, saturatingAdd(e.lastNs, timeoutNs(e, key.eni, key.proto)));
}

template class BasicConnTracker<1>;
template class BasicConnTracker<2>;

}  // namespace sgsim
