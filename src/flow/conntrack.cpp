#include "sgsim/flow/conntrack.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <new>
#include <tuple>

namespace sgsim {

namespace {
constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::uint8_t kFin = 0x01;
constexpr std::uint8_t kRst = 0x04;

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

template <int Sides>
BasicConnTracker<Sides>::BasicConnTracker(std::vector<Timeouts> timeouts, std::size_t maxFlows)
    : timeouts_(std::move(timeouts)), maxFlows_(std::max<std::size_t>(maxFlows, 1)) {
  std::uint32_t least = std::min({Timeouts{}.tcpEstablished, Timeouts{}.tcpClosing, Timeouts{}.udp, Timeouts{}.other});
  for (const Timeouts& t : timeouts_) least = std::min({least, t.tcpEstablished, t.tcpClosing, t.udp, t.other});
  minTimeoutNs_ = static_cast<std::int64_t>(least) * kNsPerSec;
  rehash(capacityFor(std::min(sweepAt_, maxFlows_)));
}

template <int Sides>
BasicConnTracker<Sides>::BasicConnTracker(const BasicConnTracker& o)
    : timeouts_(o.timeouts_),
      maxFlows_(o.maxFlows_),
      capHits_(o.capHits_),
      sweepAt_(o.sweepAt_),
      sweeps_(o.sweeps_),
      minTimeoutNs_(o.minTimeoutNs_),
      noExpiryUntilNs_(o.noExpiryUntilNs_) {
  rehash(o.capacity());
  std::memcpy(ctrl_.get(), o.ctrl_.get(), capacity() + kGroup);
  for (std::size_t i = 0; i <= mask_; ++i)
    if (ctrl_[i] != 0) entries_[i] = o.entries_[i];
  size_ = o.size_;
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
  swap(size_, o.size_);
  swap(mask_, o.mask_);
  swap(shift_, o.shift_);
  swap(ctrl_, o.ctrl_);
  swap(entries_, o.entries_);
}

template <int Sides>
std::size_t BasicConnTracker<Sides>::capacityFor(std::size_t entries) {
  std::size_t c = kMinCapacity;
  while (c * kLoadNum < entries * kLoadDen) c *= 2;
  return c;
}

namespace {
std::int64_t saturatingAdd(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  return r;
}

constexpr std::size_t kHugePage = std::size_t{2} << 20;
// The slot array: 64-byte aligned (a 96-byte slot never spans three cache lines); from 2 MiB on, aligned to and
// advised as transparent huge pages, because lookups land on random slots and with 4 KiB pages nearly each one
// also misses the TLB (a 100,000-flow table is ~6,000 pages), which software prefetching does not hide.
void* allocateSlots(std::size_t bytes) {
  if (bytes < kHugePage) return std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p != nullptr) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
  return p;
}
}  // namespace

// Moves every entry into new arrays of `capacity` slots (a power of two that holds them within the load factor).
// calloc and a bare allocation leave the pages the table has not written yet out of the resident set.
template <int Sides>
void BasicConnTracker<Sides>::rehash(std::size_t capacity) {
  std::unique_ptr<std::uint8_t[], Free> ctrl(static_cast<std::uint8_t*>(std::calloc(capacity + kGroup, 1)));
  // 64-byte aligned, so that a 96-byte slot never spans three cache lines.
  std::unique_ptr<Entry[], Free> entries(static_cast<Entry*>(allocateSlots(capacity * sizeof(Entry))));
  if (!ctrl || !entries) throw std::bad_alloc();
  const std::size_t mask = capacity - 1;
  const unsigned shift = 64 - static_cast<unsigned>(std::countr_zero(capacity));
  std::swap(ctrl, ctrl_);
  std::swap(entries, entries_);
  const std::size_t oldCapacity = mask_ + 1;
  mask_ = mask;
  shift_ = shift;
  for (std::size_t i = 0; ctrl && i < oldCapacity; ++i) {
    if (ctrl[i] == 0) continue;
    std::size_t j = hashOf(entries[i].key) >> shift;
    while (ctrl_[j] != 0) j = (j + 1) & mask;
    setCtrl(j, ctrl[i]);
    entries_[j] = entries[i];
  }
}

template <int Sides>
std::int64_t BasicConnTracker<Sides>::timeoutNs(const FlowEntry& e, const FlowKey& key) const {
  static const Timeouts kDefaults;
  const Timeouts& t = key.eni < timeouts_.size() ? timeouts_[key.eni] : kDefaults;
  std::uint32_t s = t.other;
  if (key.proto == 6)
    s = (e.rst || (e.finA && e.finB)) ? t.tcpClosing : t.tcpEstablished;
  else if (key.proto == 17)
    s = t.udp;
  return static_cast<std::int64_t>(s) * kNsPerSec;
}

template <int Sides>
bool BasicConnTracker<Sides>::alive(const FlowEntry& e, const FlowKey& key, std::int64_t nowNs) const {
  return nowNs - e.lastNs <= timeoutNs(e, key);
}

template <int Sides>
bool BasicConnTracker<Sides>::anyLive(const FlowSlot<Sides>& slot, const FlowKey& key, std::int64_t nowNs) const {
  for (const FlowEntry& e : slot.side)
    if (live(e, key, nowNs)) return true;
  return false;
}

template <int Sides>
typename BasicConnTracker<Sides>::Entry* BasicConnTracker<Sides>::find(const FlowKey& key, std::size_t hash) const {
  const std::uint8_t tag = tagOf(hash);
  for (std::size_t i = hash >> shift_;; i = (i + kGroup) & mask_) {
    const std::uint64_t w = ctrlWord(i);
    for (std::uint64_t m = matchBytes(w, tag); m != 0; m &= m - 1) {
      Entry& e = entries_[(i + static_cast<std::size_t>(std::countr_zero(m)) / 8) & mask_];
      if (e.key == key) return &e;
    }
    if ((~w & kMsb) != 0) return nullptr;
  }
}

template <int Sides>
FlowEntry* BasicConnTracker<Sides>::findLive(const FlowKey& key, std::int64_t nowNs, int side) const {
  Entry* e = find(key, hashOf(key));
  if (e == nullptr || !live(e->slot.side[side], key, nowNs)) return nullptr;
  return &e->slot.side[side];
}

// Backward-shift deletion: every entry after the hole in its run that may sit earlier (its home slot is not
// between the hole and where it is) moves back into the hole, so no probe sequence is broken and no tombstone
// is left behind.
template <int Sides>
void BasicConnTracker<Sides>::eraseAt(std::size_t hole) {
  for (std::size_t j = (hole + 1) & mask_; ctrl_[j] != 0; j = (j + 1) & mask_) {
    const std::size_t home = hashOf(entries_[j].key) >> shift_;
    if (((j - home) & mask_) >= ((j - hole) & mask_)) {
      setCtrl(hole, ctrl_[j]);
      entries_[hole] = entries_[j];
      hole = j;
    }
  }
  setCtrl(hole, 0);
  --size_;
}

// Erases every slot with no live side. The scan starts just after an empty slot (there is one: the load factor
// is below 1), so no run of entries wraps past its end, and entries only ever shift back into the slot being
// looked at (looked at again) or into slots not reached yet.
template <int Sides>
void BasicConnTracker<Sides>::sweep(std::int64_t nowNs) {
  ++sweeps_;
  std::size_t i = 0;
  while (ctrl_[i] != 0) ++i;
  std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
  for (std::size_t n = 0; n <= mask_; ++n) {
    i = (i + 1) & mask_;
    while (ctrl_[i] != 0 && !anyLive(entries_[i].slot, entries_[i].key, nowNs)) eraseAt(i);
    if (ctrl_[i] == 0) continue;
    // A side already dead stays dead until update() starts it again (which lowers the bound itself): only the
    // live sides' expiries can free a slot later.
    for (const FlowEntry& e : entries_[i].slot.side)
      if (live(e, entries_[i].key, nowNs))
        earliest = std::min(earliest, saturatingAdd(e.lastNs, timeoutNs(e, entries_[i].key)));
  }
  noExpiryUntilNs_ = earliest;
}

template <int Sides>
FlowSlot<Sides>* BasicConnTracker<Sides>::insertSlow(const FlowKey& key, std::size_t hash, std::int64_t nowNs) {
  if (Entry* e = find(key, hash)) return &e->slot;
  // Full of flows none of which can have expired yet: a sweep would free nothing. Without this, a flood of new
  // flows at the cap would sweep the whole table for every packet.
  if (size_ >= maxFlows_ && nowNs <= noExpiryUntilNs_) {
    ++capHits_;
    return nullptr;
  }
  sweep(nowNs);
  const std::size_t after = size_;
  // Sweep again after half as many new entries as survived: the table holds at most one dead entry for every
  // two live ones, so its size follows the live flows. The capacity doubles when that many entries would exceed
  // the load factor, and never shrinks: at a steady number of live flows it stays the same for good.
  sweepAt_ = after + after / 2 + 1024;
  const std::size_t most = std::min(sweepAt_, maxFlows_);
  if (most * kLoadDen > capacity() * kLoadNum) rehash(capacityFor(most));
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
  if (key.proto != 6) return;
  if (tcpFlags & kRst) e.rst = true;
  if (tcpFlags & kFin) (fromA ? e.finA : e.finB) = true;
}

template class BasicConnTracker<1>;
template class BasicConnTracker<2>;

}  // namespace sgsim
