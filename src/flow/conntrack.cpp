#include "sgsim/flow/conntrack.h"

#include <algorithm>
#include <tuple>

namespace sgsim {

namespace {
constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::uint8_t kFin = 0x01;
constexpr std::uint8_t kRst = 0x04;

inline std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}
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

std::size_t FlowKeyHash::operator()(const FlowKey& k) const noexcept {
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

template <int Sides>
BasicConnTracker<Sides>::BasicConnTracker(std::vector<Timeouts> timeouts, std::size_t maxFlows)
    : timeouts_(std::move(timeouts)), maxFlows_(std::max<std::size_t>(maxFlows, 1)) {}

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
FlowEntry* BasicConnTracker<Sides>::findLive(const FlowKey& key, std::int64_t nowNs, int side) {
  auto it = map_.find(key);
  if (it == map_.end() || !live(it->second.side[side], key, nowNs)) return nullptr;
  return &it->second.side[side];
}

template <int Sides>
void BasicConnTracker<Sides>::sweep(std::int64_t nowNs) {
  boost::unordered::erase_if(map_, [&](const auto& kv) { return !anyLive(kv.second, kv.first, nowNs); });
}

template <int Sides>
FlowSlot<Sides>* BasicConnTracker<Sides>::acquire(const FlowKey& key, std::int64_t nowNs) {
  // Fast path: below the sweep threshold, one probe finds or inserts.
  if (map_.size() < sweepAt_ && map_.size() < maxFlows_) return &map_.try_emplace(key).first->second;
  return insertSlow(key, nowNs);
}

template <int Sides>
FlowSlot<Sides>* BasicConnTracker<Sides>::insertSlow(const FlowKey& key, std::int64_t nowNs) {
  auto it = map_.find(key);
  if (it != map_.end()) return &it->second;
  sweep(nowNs);
  const std::size_t after = map_.size();
  // Sweep again after half as many new entries as survived: the table holds at most one dead entry for every
  // two live ones, so its size follows the live flows. Erasing wears down the flat map's load budget
  // (max_load), and a map that runs out of it rehashes to a doubled capacity: when the budget left is short of
  // that room, rebuild the map with the live entries only, sized for the room.
  const std::size_t room = after + after / 2 + 1024;
  if (map_.max_load() < room) {
    Map fresh;
    fresh.reserve(room);
    for (const auto& kv : map_) fresh.emplace(kv.first, kv.second);
    map_.swap(fresh);
  }
  sweepAt_ = room;
  if (after >= maxFlows_) {
    ++capHits_;
    return nullptr;
  }
  return &map_.try_emplace(key).first->second;
}

template <int Sides>
void BasicConnTracker<Sides>::update(FlowEntry& e, const FlowKey& key, bool fromA, std::uint8_t tcpFlags,
                                     std::int64_t nowNs) const {
  e.lastNs = std::max(e.lastNs, nowNs);
  if (key.proto != 6) return;
  if (tcpFlags & kRst) e.rst = true;
  if (tcpFlags & kFin) (fromA ? e.finA : e.finB) = true;
}

template class BasicConnTracker<1>;
template class BasicConnTracker<2>;

}  // namespace sgsim
