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

// Sides = 1: one rule table (replay, explain). Sides = 2: the tables before and after a change (whatif), each
// with its own connection state, evaluated together so that a packet costs one probe of the flow table.
template <int Sides>
class BasicEvaluator {
 public:
  using Verdicts = std::array<PacketVerdict, Sides>;

  BasicEvaluator(std::array<std::shared_ptr<const Network>, Sides> networks, EvalOptions options);
  BasicEvaluator(std::shared_ptr<const Network> network, EvalOptions options) requires(Sides == 1)
      : BasicEvaluator(std::array<std::shared_ptr<const Network>, 1>{std::move(network)}, options) {}

  // Every side's verdict on one packet. All sides share the ENIs (a request never adds or removes one).
  void evaluate(const PacketKey& key, std::int64_t tsNs, Verdicts& out);
  PacketVerdict evaluate(const PacketKey& key, std::int64_t tsNs) requires(Sides == 1) {
    Verdicts out;
    evaluate(key, tsNs, out);
    return out[0];
  }

  // Applies a new rule table to one side from now on (SEMANTICS §6, --at). Unless keepEstablished, every live
  // accepted flow of that side whose first packet the new table would drop is cut (becomes blocked). Returns
  // how many flows were cut.
  std::size_t replaceNetwork(int side, std::shared_ptr<const Network> network, std::int64_t nowNs,
                             bool keepEstablished);
  std::size_t replaceNetwork(std::shared_ptr<const Network> network, std::int64_t nowNs,
                             bool keepEstablished) requires(Sides == 1) {
    return replaceNetwork(0, std::move(network), nowNs, keepEstablished);
  }

  const Network& network(int side = 0) const { return *networks_[side]; }
  const BasicConnTracker<Sides>& tracker() const { return tracker_; }

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
    Verdicts verdicts;
  };

  static FragKey fragKeyOf(const PacketKey& k);
  // The check at one ENI in one direction, made for the sides in `need`: one probe of the flow table, then per
  // side either the live entry's fate or a decision by that side's rules, remembered as a new flow.
  void check(std::int32_t eni, Direction d, const PacketKey& key, std::int32_t peer, std::int64_t tsNs,
             const std::array<bool, Sides>& need, Verdicts& out);
  void checkHairpin(std::int32_t eni, const PacketKey& key, std::int64_t tsNs, Verdicts& out);
  bool redecideDrops(const Network& net, const FlowKey& k, const FlowOrigin& o) const;

  std::array<std::shared_ptr<const Network>, Sides> networks_;
  EvalOptions options_;
  BasicConnTracker<Sides> tracker_;
  boost::unordered_flat_map<FragKey, FragEntry, FragKeyHash> frags_;
  std::size_t nextFragSweep_ = 1024;
};

using Evaluator = BasicEvaluator<1>;
extern template class BasicEvaluator<1>;
extern template class BasicEvaluator<2>;

}  // namespace sgsim
