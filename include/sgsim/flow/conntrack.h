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
// the last sweep (amortised O(1) per insert), so its size follows the live flows, not the capture's length;
// when erasures have worn down the flat map's load budget, the map is rebuilt with the live entries (this
// briefly holds two arrays; see docs/PERFORMANCE.md, target 3). A hard cap on entries is reported by the
// caller when reached (new flows are then decided without state).
// Threads: none; one tracker belongs to one evaluator.

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
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
  std::size_t operator()(const FlowKey& k) const noexcept;
};

enum class FlowFate : std::uint8_t { Accepted, Blocked };

// What the evaluator remembers about the decision that created a flow, so that a rule change can re-decide
// it (--at). The first packet's addresses and ports are the key's, oriented by initiatorIsA.
struct FlowOrigin {
  std::int32_t peerEni = -1;
  Direction direction = Direction::Ingress;  // direction of the first packet at this ENI
  bool hairpin = false;                      // source and destination are both this ENI (both checks made)
  bool initiatorIsA = true;                  // the first packet came from endpoint a
};

struct FlowEntry {  // 24 bytes
  std::int64_t lastNs = 0;
  FlowOrigin origin;
  FlowFate fate = FlowFate::Accepted;
  bool finA = false, finB = false, rst = false;
  bool present = false;  // the flow has been seen at this ENI (in this side's table)
};

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

  // The slot of `key`: the existing one, or a new one with no side present. Null when the table is full of live
  // flows. The pointer is valid until the next call that may insert.
  FlowSlot<Sides>* acquire(const FlowKey& key, std::int64_t nowNs);
  // A side's entry is live: present and alive at nowNs.
  bool live(const FlowEntry& e, const FlowKey& key, std::int64_t nowNs) const {
    return e.present && alive(e, key, nowNs);
  }
  // The live entry of `side` for key, or nullptr.
  FlowEntry* findLive(const FlowKey& key, std::int64_t nowNs, int side = 0);
  // Refreshes the timer and records TCP FIN/RST from the sending side.
  void update(FlowEntry& e, const FlowKey& key, bool fromA, std::uint8_t tcpFlags, std::int64_t nowNs) const;

  bool alive(const FlowEntry& e, const FlowKey& key, std::int64_t nowNs) const;
  std::size_t size() const { return map_.size(); }
  std::size_t capHits() const { return capHits_; }
  std::size_t maxFlows() const { return maxFlows_; }

  // Visits every live entry of one side (used when a rule change applies at an instant of the capture).
  template <class F>
  void forEachLive(int side, std::int64_t nowNs, F&& f) {
    for (auto& [k, slot] : map_)
      if (live(slot.side[side], k, nowNs)) f(k, slot.side[side]);
  }

 private:
  std::int64_t timeoutNs(const FlowEntry& e, const FlowKey& key) const;
  bool anyLive(const FlowSlot<Sides>& slot, const FlowKey& key, std::int64_t nowNs) const;
  void sweep(std::int64_t nowNs);
  FlowSlot<Sides>* insertSlow(const FlowKey& key, std::int64_t nowNs);

  std::vector<Timeouts> timeouts_;
  std::size_t maxFlows_;
  std::size_t capHits_ = 0;
  std::size_t sweepAt_ = 1024;  // table size at which expired entries are swept out next
  using Map = boost::unordered_flat_map<FlowKey, FlowSlot<Sides>, FlowKeyHash>;
  Map map_;
};

using ConnTracker = BasicConnTracker<1>;
extern template class BasicConnTracker<1>;
extern template class BasicConnTracker<2>;

}  // namespace sgsim
