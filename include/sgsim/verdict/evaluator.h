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
// A rule change at an instant of the capture (replaceNetwork, SEMANTICS §6) re-decides one side's live entries
// by their first packet: accepted entries the new table would drop are cut (unless kept), blocked entries it
// would accept are released (a dropped packet never made a session: the flow's next packet is a first packet).

#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "sgsim/decode/packet_key.h"
#include "sgsim/flow/conntrack.h"
#include "sgsim/verdict/network.h"
#include "sgsim/verdict/network_change.h"

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

// What a rule change at an instant did to one side's live flow entries, counted per entry (a connection between
// two modeled ENIs has an entry at each).
struct InstantChange {
  std::size_t cut = 0;       // accepted entries the new table would drop, now blocked
  std::size_t released = 0;  // blocked entries the new table would accept, now forgotten
  bool operator==(const InstantChange&) const = default;
};

// The flow a non-first fragment belongs to: its first fragment's transport protocol and ports (the fragment
// itself carries no transport header).
struct FragmentFlow {
  std::uint8_t proto = 0;
  std::uint16_t sport = 0, dport = 0;
};

struct EvalOptions {
  DirectionMode mode = DirectionMode::Auto;
  // Auto: -1 = every modeled ENI; otherwise only this ENI is checked (--host on a full model).
  // Ingress/Egress: the ENI every packet is evaluated at (required).
  std::int32_t eni = -1;
  std::size_t maxFlows = 4'000'000;
};

// What can be known about a packet before its turn in the capture: the modeled ENIs it touches and, when
// asked, each fixed side's stateless decisions for its checks. Everything here is a pure function of the
// packet and immutable snapshots, so a reading thread may compute it ahead of the evaluation
// (capture/read_ahead.h); the evaluator uses a decision only when the flow table does not already decide the
// packet, and only for a side whose table is still the one the plan was made with.
template <int Sides>
struct BasicPacketPlan {
  std::int32_t src = -1, dst = -1;  // ENIs at both ends (also when only one is checked: the other is the peer)
  bool checkSrc = false, checkDst = false;
  // The flow table's hash (BasicConnTracker::hashOf) of the flow key at src and at dst, for the checks made.
  std::array<std::size_t, 2> flowHash{};
  // decided[s]: the Network whose decisions are in decisions[s] (nullptr: none made). decisions[s][0] is the
  // egress check at src, [1] the ingress check at dst; for a packet from an ENI to itself, [1] is made only
  // when [0] accepts.
  std::array<const Network*, Sides> decided{};
  std::array<std::array<Decision, 2>, Sides> decisions{};
};

// Makes plans. Immutable after construction; plan() may run on any thread. fixed[s] is side s's table when it
// stays the same for the whole run, else nullptr (then no decision is made ahead for that side).
template <int Sides>
class BasicPlanner {
 public:
  BasicPlanner(std::shared_ptr<const Network> topology, std::array<std::shared_ptr<const Network>, Sides> fixed,
               EvalOptions options)
      : topology_(std::move(topology)), fixed_(std::move(fixed)), options_(options) {
    if constexpr (Sides == 2)
      if (fixed_[0] && fixed_[1]) change_ = std::make_shared<const NetworkChange>(*fixed_[0], *fixed_[1]);
  }
  void plan(const PacketKey& key, BasicPacketPlan<Sides>& out, bool decide) const;
  // The ENIs at both ends of a packet from `src` to `dst` (-1: none), as plan() sets BasicPacketPlan::src and dst.
  std::pair<std::int32_t, std::int32_t> ends(const IpAddr& src, const IpAddr& dst) const {
    switch (options_.mode) {
      case DirectionMode::Ingress:
        return {topology_->eniOf(src), options_.eni};
      case DirectionMode::Egress:
        return {options_.eni, topology_->eniOf(dst)};
      case DirectionMode::Auto:
        break;
    }
    return {topology_->eniOf(src), topology_->eniOf(dst)};
  }
  const Network& topology() const { return *topology_; }
  const EvalOptions& options() const { return options_; }
  // The same planner with each packet checked only at `eni`, in the direction its addresses give there (as --host
  // on a full model): a packet with neither address of that ENI is checked nowhere (`unmodeled`). Used for the
  // inner packets of a traffic-mirror session, which are copies of that one interface's traffic (--mirror).
  BasicPlanner onlyAt(std::int32_t eni) const {
    BasicPlanner p(*this);
    p.options_.mode = DirectionMode::Auto;
    p.options_.eni = eni;
    return p;
  }

 private:
  std::shared_ptr<const Network> topology_;
  std::array<std::shared_ptr<const Network>, Sides> fixed_;
  EvalOptions options_;
  // Two sides, both fixed: side 1's decisions derived from side 0's (verdict/network_change.h). Shared by copies.
  std::shared_ptr<const NetworkChange> change_;
};

// Sides = 1: one rule table (replay, explain). Sides = 2: the tables before and after a change (whatif), each
// with its own connection state, evaluated together so that a packet costs one probe of the flow table.
template <int Sides>
class BasicEvaluator {
 public:
  using Verdicts = std::array<PacketVerdict, Sides>;

  BasicEvaluator(std::array<std::shared_ptr<const Network>, Sides> networks, EvalOptions options);
  // A member template, so that the explicit instantiation of BasicEvaluator<2> does not instantiate it (clang 14
  // does otherwise, despite the constraint).
  template <int S = Sides>
  requires(S == 1) BasicEvaluator(std::shared_ptr<const Network> network, EvalOptions options)
      : BasicEvaluator(std::array<std::shared_ptr<const Network>, 1>{std::move(network)}, options) {}

  using Plan = BasicPacketPlan<Sides>;

  // Every side's verdict on one packet. All sides share the ENIs (a request never adds or removes one).
  void evaluate(const PacketKey& key, std::int64_t tsNs, Verdicts& out);
  // The same with a plan made ahead by a planner of this evaluator's (planner()). `lastNs` (when later than tsNs) is
  // the observation's last packet: a flow-log record stands for packets from tsNs to lastNs, so it is decided at
  // tsNs and its flow entries are refreshed up to lastNs (SEMANTICS §4: every packet refreshes the timer).
  void evaluate(const PacketKey& key, const Plan& plan, std::int64_t tsNs, Verdicts& out,
                std::int64_t lastNs = std::numeric_limits<std::int64_t>::min());
  // Starts loading the flow-table slots a planned packet will touch: issued a few packets ahead of evaluate(),
  // it overlaps their cache misses. Changes nothing.
  void prefetch(const Plan& plan) const {
    if (plan.checkSrc) tracker_.prefetchHash(plan.flowHash[0]);
    if (plan.checkDst && !(plan.checkSrc && plan.src == plan.dst)) tracker_.prefetchHash(plan.flowHash[1]);
  }
  // The plan evaluate() makes itself: the packet's ENIs and flow-key hashes, no decisions.
  void plan(const PacketKey& key, Plan& out) const { planner_.plan(key, out, false); }
  // A planner for this run: its topology and options, and every side's current table as fixed unless
  // `changing[s]` (a side that replaceNetwork will change).
  BasicPlanner<Sides> planner(std::array<bool, Sides> changing = {}) const;
  PacketVerdict evaluate(const PacketKey& key, std::int64_t tsNs) requires(Sides == 1) {
    Verdicts out;
    evaluate(key, tsNs, out);
    return out[0];
  }

  // Applies a new rule table to one side from now on (SEMANTICS §6, --at). Unless keepEstablished, every live
  // accepted entry of that side whose first packet the new table would drop is cut (becomes blocked). Every live
  // blocked entry whose first packet the new table would accept is released, kept established or not (there is
  // no connection to keep): its flow's next packet is decided by the new table as a first packet.
  InstantChange replaceNetwork(int side, std::shared_ptr<const Network> network, std::int64_t nowNs,
                               bool keepEstablished);
  InstantChange replaceNetwork(std::shared_ptr<const Network> network, std::int64_t nowNs,
                               bool keepEstablished) requires(Sides == 1) {
    return replaceNetwork(0, std::move(network), nowNs, keepEstablished);
  }

  // For a non-first fragment just evaluated at tsNs: the flow of the first fragment it was matched to, or nullopt
  // when it was `unmatched-fragment` (or is no non-first fragment).
  std::optional<FragmentFlow> firstFragmentOf(const PacketKey& key, std::int64_t tsNs) const;

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
    FragmentFlow flow;
  };

  static FragKey fragKeyOf(const PacketKey& k);
  // The check at one ENI in one direction, made for the sides in `need`: one probe of the flow table, then per
  // side either the live entry's fate or a decision by that side's rules, remembered as a new flow.
  void check(std::int32_t eni, Direction d, const PacketKey& key, std::int32_t peer, std::int64_t tsNs,
             const std::array<bool, Sides>& need, const Plan& plan, Verdicts& out);
  void checkHairpin(std::int32_t eni, const PacketKey& key, std::int64_t tsNs, const Plan& plan, Verdicts& out);
  bool redecideDrops(const Network& net, const FlowKey& k, const FlowOrigin& o) const;

  std::array<std::shared_ptr<const Network>, Sides> networks_;
  EvalOptions options_;
  // Two sides: side 1's table from side 0's (verdict/network_change.h), for the checks where both decide by rules.
  std::shared_ptr<const NetworkChange> change_;
  BasicPlanner<Sides> planner_;  // for evaluate() without a plan: decides nothing ahead
  BasicConnTracker<Sides> tracker_;
  std::int64_t refreshNs_ = 0;  // the time entries are refreshed to: the observation's last packet
  boost::unordered_flat_map<FragKey, FragEntry, FragKeyHash> frags_;
  std::size_t nextFragSweep_ = 1024;
};

using Evaluator = BasicEvaluator<1>;
extern template class BasicPlanner<1>;
extern template class BasicPlanner<2>;
extern template class BasicEvaluator<1>;
extern template class BasicEvaluator<2>;

}  // namespace sgsim
