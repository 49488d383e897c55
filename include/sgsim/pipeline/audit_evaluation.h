#pragma once
// `audit` as an evaluation of the stream (stage.h): every observation decided under one rule table by the traffic
// audit engine (verdict/audit.h), which follows, in the same pass, what revoking each audited rule alone would do.
// The observation is accounted under the table as it is, so the frame counts agree with `replay`'s.

#include <memory>
#include <optional>
#include <utility>

#include "sgsim/core/result.h"
#include "sgsim/pipeline/stage.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/verdict/audit.h"

namespace sgsim {

class AuditEvaluation {
 public:
  static constexpr int kSides = 1;

  AuditEvaluation(const std::shared_ptr<const Network>& network, AuditOptions options)
      : planner_(TrafficAudit::planner(network, options.eval)), audit_(network, std::move(options)) {}

  const BasicPlanner<1>& planner() const { return planner_; }
  bool wantsFrameBytes() const { return false; }
  std::optional<Error> begin(const Observation<1>* first, const ReplayStats& /*stats*/) {
    if (first != nullptr) originNs_ = first->frame.tsNs;
    return std::nullopt;
  }
  void prefetch(const BasicPacketPlan<1>& plan) const { audit_.prefetch(plan); }
  const PacketVerdict& observe(const Observation<1>& o) {
    audit_.process(o.frame, o.key, o.plan);
    return audit_.lastVerdict();
  }
  std::optional<Error> failure() const { return std::nullopt; }
  // The flow table's figures, and the engine's own warnings (the flow-table cap) into the run's.
  std::optional<Error> finish(ReplayStats& stats) {
    stats.maxFlows = audit_.tracker().maxFlows();
    stats.flowCapHits = audit_.tracker().capHits();
    const auto warnings = audit_.warnings();
    stats.warnings.insert(stats.warnings.end(), warnings.begin(), warnings.end());
    return std::nullopt;
  }

  TrafficAudit& audit() { return audit_; }
  std::int64_t originNs() const { return originNs_; }

 private:
  const BasicPlanner<1> planner_;
  TrafficAudit audit_;
  std::int64_t originNs_ = 0;
};

}  // namespace sgsim
