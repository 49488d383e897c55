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
// Memory: expired entries are swept when the table has doubled since the last sweep (amortised O(1) per
// insert), so the table holds the live flows and at most as many dead ones; a hard cap on entries is
// reported by the caller when reached (new flows are then not tracked).
// Threads: none; one tracker belongs to one evaluator.

#include <cstdint>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "sgsim/core/ip.h"
#include "sgsim/model/model.h"

namespace sgsim {

struct FlowKey {
  std::uint32_t eni = 0;
  std::uint8_t proto = 0;
  IpAddr a;  // canonical lower endpoint (address, port)
  IpAddr b;
  std::uint16_t pa = 0;
  std::uint16_t pb = 0;

  // Builds the canonical key and tells whether (src, sport) is endpoint a.
  static FlowKey make(std::uint32_t eni, std::uint8_t proto, const IpAddr& src, std::uint16_t sport,
                      const IpAddr& dst, std::uint16_t dport, bool& srcIsA);
  bool operator==(const FlowKey&) const = default;
};

struct FlowKeyHash {
  std::size_t operator()(const FlowKey& k) const noexcept;
};

enum class FlowFate : std::uint8_t { Accepted, Blocked };

// What the evaluator remembers about the decision that created a flow (for reports and for --at).
struct FlowOrigin {
  std::int32_t ruleRef = -1;  // index into the ENI's rule table, or -1
  std::uint8_t reason = 0;    // verdict::Reason of the creating decision
  Direction direction = Direction::Ingress;  // direction of the first packet at this ENI
  bool hairpin = false;       // source and destination are both this ENI (both checks made)
  std::int32_t peerEni = -1;
  // The first packet as seen by the classifier, so a rule change can re-decide the flow.
  std::uint8_t proto = 0;
  IpAddr src, dst;
  std::uint16_t sport = 0, dport = 0;
};

struct FlowEntry {
  std::int64_t firstNs = 0;
  std::int64_t lastNs = 0;
  FlowFate fate = FlowFate::Accepted;
  bool finA = false, finB = false, rst = false;
  FlowOrigin origin;
};

class ConnTracker {
 public:
  // timeouts[i] belongs to ENI index i.
  ConnTracker(std::vector<Timeouts> timeouts, std::size_t maxFlows);

  // The live entry for key at time nowNs, or nullptr if there is none (absent or expired).
  FlowEntry* findLive(const FlowKey& key, std::int64_t nowNs);
  // Creates (or replaces an expired) entry; nullptr when the table is full of live flows.
  FlowEntry* create(const FlowKey& key, const FlowEntry& entry, std::int64_t nowNs);
  // Refreshes the timer and records TCP FIN/RST from the sending side.
  void update(FlowEntry& e, const FlowKey& key, bool fromA, std::uint8_t tcpFlags, std::int64_t nowNs) const;

  bool alive(const FlowEntry& e, const FlowKey& key, std::int64_t nowNs) const;
  std::size_t size() const { return map_.size(); }
  std::size_t capHits() const { return capHits_; }
  std::size_t maxFlows() const { return maxFlows_; }

  // Visits every live entry (used when a rule change applies at an instant of the capture).
  template <class F>
  void forEachLive(std::int64_t nowNs, F&& f) {
    for (auto& [k, e] : map_)
      if (alive(e, k, nowNs)) f(k, e);
  }

 private:
  std::int64_t timeoutNs(const FlowEntry& e, const FlowKey& key) const;
  void sweep(std::int64_t nowNs);

  std::vector<Timeouts> timeouts_;
  std::size_t maxFlows_;
  std::size_t nextSweep_ = 1024;
  std::size_t capHits_ = 0;
  boost::unordered_flat_map<FlowKey, FlowEntry, FlowKeyHash> map_;
};

}  // namespace sgsim
