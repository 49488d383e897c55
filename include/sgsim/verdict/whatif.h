#pragma once
// The what-if engine (SEMANTICS §6): one pass over a capture with two evaluators, the table as it is
// ("before") and as it would be after the requests ("after"), each with its own connection state, and
// every flow whose packets get a different verdict collected with its impact.
// A flow is a conversation: protocol and both endpoints. A non-first fragment counts in the flow of its first
// fragment (SEMANTICS §6); one whose first fragment was not seen has verdict `none` on both sides, so it never
// changes fate, and is counted apart (WhatIfTotals::unmatchedFragments), never as a flow of its own.
// A flow is shown from the side that opened it (issue 10), whichever way its first changed packet went (a change
// at an instant that cuts a download in the middle first drops a packet of the reply stream): the flow-table entry
// behind that packet's deciding check under the table before the change knows which endpoint's packet made it, and
// that packet's flags, so whether it opens a connection (opensConnection, openedBy: flow/conntrack.h). When it does not
// (the capture starts in the middle of the connection, or the entry expired and a later packet made it again), the
// opener is unknown and the flow is shown as that packet went (as first seen).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/verdict/evaluator.h"

namespace sgsim {

struct WhatIfOptions {
  EvalOptions eval;
  std::optional<std::int64_t> atNs;  // apply the change at this capture instant (default: from the start)
  bool keepEstablished = false;      // with atNs: live connections keep flowing
};

// How one side (before or after) decided a flow's first changed packet.
struct SideDecision {
  Verdict verdict = Verdict::None;
  Reason reason = Reason::Default;
  std::string eniId;
  Direction direction = Direction::Ingress;
  std::string ruleId;   // deciding rule, or "" (default / intra-group / established / blocked)
  std::string groupId;  // group of the rule, or the shared group for intra-group
};

struct ChangedFlow {
  // From the opener (src) to the other side (dst); when !openerSeen, as first seen (see above).
  std::uint8_t proto = 0;
  IpAddr src, dst;
  std::uint16_t sport = 0, dport = 0;
  bool openerSeen = false;
  Direction direction = Direction::Ingress;  // of the packets from src at before.eniId (as the entry was made)
  std::uint64_t packets = 0;                 // packets whose verdict differs
  std::uint64_t bytes = 0;                   // their length on the wire
  std::int64_t firstNs = 0, lastNs = 0;
  std::uint64_t firstFrame = 0;
  std::uint16_t firstFile = 0;
  SideDecision before, after;
};

struct WhatIfTotals {
  std::uint64_t frames = 0;
  std::uint64_t changedPackets = 0;
  std::uint64_t changedBytes = 0;
  std::uint64_t cut = 0;                   // flows accepted before, dropped after
  std::uint64_t opened = 0;                // flows dropped before, accepted after
  std::uint64_t other = 0;                 // any other change (e.g. none ↔ accept cannot happen, kept for honesty)
  std::size_t flowsCutAtInstant = 0;       // live accepted entries cut when the change applied (--at), per ENI
  std::size_t flowsReleasedAtInstant = 0;  // live blocked entries released then (the new table accepts them)
  std::uint64_t unmatchedFragments = 0;    // non-first fragments whose first fragment was not seen: verdict none,
                                           // in no flow
};

// The ranking of changed flows, a total order (issue 13: shards merged must rank as one run does, and two runs
// alike): most bytes first, then most packets, then the earliest first changed packet, then by where that packet is
// (capture file, frame or record number), then by protocol, endpoints and the ENIs of the decisions. Two flows of
// one run differ in the conversation, so ties go no further; nothing depends on the order flows were met.
bool rankedBefore(const ChangedFlow& a, const ChangedFlow& b);

// Who decides the changed flows after the change (issue 9: whatif and audit name it alike): one entry per deciding
// rule, default, intra-group or state, with how many changed flows it decides, most flows first (then by rule, group,
// verdict and reason: a total order, so that merged shards list them as one run does).
struct Fallback {
  Verdict verdict = Verdict::None;
  Reason reason = Reason::Default;
  std::string ruleId, groupId;
  std::uint64_t flows = 0;
};
std::vector<Fallback> fallbackOf(const std::vector<ChangedFlow>& flows);

// How to show a changed flow, from the verdict its first changed packet got under the table before the change and
// that table's flow entry at the deciding check's ENI, `key`, as the packet left it (null: none, the table was full;
// srcIsA: the packet came from the entry key's endpoint a; packetOpens: opensConnection() of the packet): whether the
// packet came from the other side than the one whose packet made the entry (then the endpoints swap), whether that
// one is the opener, and the direction of its packets at that ENI. Looked up only for a flow's first changed packet,
// so the per-packet path pays nothing. WhatIf and TrafficAudit (verdict/audit.h) both orient their flows with it.
struct FlowOrientation {
  bool reversed = false;
  bool openerSeen = false;
  Direction direction = Direction::Ingress;
};
FlowOrientation orientationOf(const PacketVerdict& before, const FlowKey& key, const FlowEntry* entry, bool srcIsA,
                              bool packetOpens);

class WhatIf {
 public:
  WhatIf(const std::shared_ptr<const Network>& before, const std::shared_ptr<const Network>& after,
         WhatIfOptions options);

  // The planner for the evaluator a WhatIf over these tables runs (for plans made ahead, before the first frame
  // fixes the instant): side 1 is the after table, fixed unless the change applies at an instant.
  static BasicPlanner<2> planner(const std::shared_ptr<const Network>& before,
                                 const std::shared_ptr<const Network>& after, const EvalOptions& eval, bool atInstant);

  // Evaluates one frame under both tables. Returns true when its verdict differs.
  bool process(const Frame& frame, const PacketKey& key);
  // The same with a plan made ahead by planner().
  bool process(const Frame& frame, const PacketKey& key, const BasicPacketPlan<2>& plan);
  // Applies the change at its instant now, if no frame has yet (a run of one shard whose own frames end before the
  // instant, when the whole stream's do not: the connections live at the instant are cut or released all the same).
  void reachInstant();
  // Flows ranked by impact (rankedBefore: bytes, then packets, then first time, then where and what).
  std::vector<ChangedFlow> ranked() const;
  const WhatIfTotals& totals() const { return totals_; }
  const PacketVerdict& lastBefore() const { return last_[0]; }
  const PacketVerdict& lastAfter() const { return last_[1]; }
  // Side 0 is the table before the change, side 1 after.
  const BasicEvaluator<2>& evaluator() const { return evaluator_; }

 private:
  SideDecision describe(int side, const PacketVerdict& v) const;
  // Counts a frame whose verdict changed into its flow (apart from process(), which every frame pays).
  [[gnu::noinline]] void record(const Frame& frame, const PacketKey& key);

  BasicEvaluator<2> evaluator_;
  std::shared_ptr<const Network> pending_;  // the after table, until atNs
  WhatIfOptions options_;
  WhatIfTotals totals_;
  BasicEvaluator<2>::Verdicts last_;
  boost::unordered_flat_map<FlowKey, std::size_t, FlowKeyHash> index_;
  std::vector<ChangedFlow> flows_;
};

}  // namespace sgsim
