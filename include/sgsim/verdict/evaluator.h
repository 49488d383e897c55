#pragma once
// The stateful evaluator (SEMANTICS §4): decides every packet of a capture at the modeled ENIs it
// touches, with per-ENI connection tracking driven by the capture's timestamps.
//
// A packet between two modeled ENIs is checked twice: egress at the sender, then ingress at the
// receiver, each with its own state; a drop at the sender's egress ends it (the receiver never sees it).
// A packet whose source and destination are the same ENI (a capture on loopback) is one flow at that
// ENI: its first packet must pass that ENI's egress and then its ingress rules.
// Non-first fragments take the fate their first fragment got (matched on source, destination,
// protocol and IP identification), else they are `unmatched-fragment`.

#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <memory>

#include "sgsim/decode/packet_key.h"
#include "sgsim/flow/conntrack.h"
#include "sgsim/verdict/network.h"

namespace sgsim {

struct Check {
  std::int32_t eni = -1;
  Direction direction = Direction::Ingress;
  Verdict verdict = Verdict::None;
  Reason reason = Reason::Default;
  std::int32_t ruleRef = -1;     // rules(eni, direction) index when reason == Rule
  std::int32_t intraGroup = -1;  // model group index when reason == IntraGroup
};

struct PacketVerdict {
  Verdict verdict = Verdict::None;
  Reason reason = Reason::Undecodable;
  std::uint8_t checkCount = 0;
  std::array<Check, 2> checks{};
  // The check that decided the outcome: the dropping check when dropped, else the last check made.
  std::int8_t deciding = -1;
  bool untracked = false;  // the flow table was full: decided by rules, no state kept

  const Check* decidingCheck() const { return deciding >= 0 ? &checks[deciding] : nullptr; }
};

enum class DirectionMode : std::uint8_t { Auto, Ingress, Egress };

struct EvalOptions {
  DirectionMode mode = DirectionMode::Auto;
  // Auto: -1 = every modeled ENI; otherwise only this ENI is checked (--host on a full model).
  // Ingress/Egress: the ENI every packet is evaluated at (required).
  std::int32_t eni = -1;
  std::size_t maxFlows = 4'000'000;
};

class Evaluator {
 public:
  Evaluator(std::shared_ptr<const Network> network, EvalOptions options);

  PacketVerdict evaluate(const PacketKey& key, std::int64_t tsNs);

  // Applies a new rule table from now on (SEMANTICS §6, --at). Unless keepEstablished, every live
  // accepted flow whose first packet the new table would drop is cut (becomes blocked). Returns how
  // many flows were cut.
  std::size_t replaceNetwork(std::shared_ptr<const Network> network, std::int64_t nowNs, bool keepEstablished);

  const Network& network() const { return *network_; }
  const ConnTracker& tracker() const { return tracker_; }

 private:
  struct FragKey {
    IpAddr src, dst;
    std::uint32_t id = 0;
    std::uint8_t proto = 0;
    bool operator==(const FragKey&) const = default;
  };
  struct FragKeyHash {
    std::size_t operator()(const FragKey& k) const noexcept;
  };
  struct FragEntry {
    std::int64_t tsNs = 0;
    PacketVerdict verdict;
  };

  static FragKey fragKeyOf(const PacketKey& k);
  // A packet's flow at one ENI: looked up (or made room for) once, refreshed when it is live.
  struct Tracked {
    FlowKey key;
    bool srcIsA = true;
    ConnTracker::Slot slot;
  };
  Tracked track(std::int32_t eni, const PacketKey& key, std::int64_t tsNs);
  // Records the fate of a new flow; false when the flow table is full.
  bool remember(const Tracked& t, const PacketKey& key, std::int64_t tsNs, const Decision& dec, Direction d,
                std::int32_t peer, bool hairpin);
  Check check(std::int32_t eni, Direction d, const PacketKey& key, std::int32_t peer, std::int64_t tsNs,
              bool& untracked);
  void checkHairpin(std::int32_t eni, const PacketKey& key, std::int64_t tsNs, PacketVerdict& out);
  bool redecideDrops(const FlowKey& k, const FlowOrigin& o) const;

  std::shared_ptr<const Network> network_;
  EvalOptions options_;
  ConnTracker tracker_;
  boost::unordered_flat_map<FragKey, FragEntry, FragKeyHash> frags_;
  std::size_t nextFragSweep_ = 1024;
};

}  // namespace sgsim
