#pragma once
// `replay` as an evaluation of the stream (stage.h): every observation decided under one rule table and handed to
// a ReplayWriter (report/replay_report.h) as it is decided; the writer's begin() comes at the time origin (its
// offsets count from the first frame) and its finish() is the caller's, once the accounting is complete.

#include <memory>
#include <optional>

#include "sgsim/capture/flow_log.h"
#include "sgsim/core/result.h"
#include "sgsim/pipeline/stage.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/verdict/evaluator.h"

namespace sgsim {

class ReplayEvaluation {
 public:
  static constexpr int kSides = 1;

  // `context` is the writer's context without the origin (set at begin()); the writer outlives the evaluation.
  ReplayEvaluation(std::shared_ptr<const Network> network, EvalOptions options, ReplayWriter& writer,
                   ReplayContext context)
      : evaluator_(std::move(network), options),
        planner_(evaluator_.planner()),
        writer_(writer),
        context_(std::move(context)) {}

  const BasicPlanner<1>& planner() const { return planner_; }
  bool wantsFrameBytes() const { return false; }

  std::optional<Error> begin(const Observation<1>* first, const ReplayStats& /*stats*/) {
    if (first != nullptr) context_.originNs = first->frame.tsNs;
    writer_.begin(context_);
    return std::nullopt;
  }
  void prefetch(const BasicPacketPlan<1>& plan) const { evaluator_.prefetch(plan); }
  const PacketVerdict& observe(const Observation<1>& o) {
    evaluator_.evaluate(o.key, o.plan, o.frame.tsNs, verdicts_, endOf(o.frame));
    writer_.frame(o.frame, o.key, verdicts_[0]);
    return verdicts_[0];
  }
  std::optional<Error> failure() const { return std::nullopt; }
  // The flow table's figures (the cap and how often it was hit).
  std::optional<Error> finish(ReplayStats& stats) {
    stats.maxFlows = evaluator_.tracker().maxFlows();
    stats.flowCapHits = evaluator_.tracker().capHits();
    return std::nullopt;
  }

  const Evaluator& evaluator() const { return evaluator_; }

 private:
  Evaluator evaluator_;
  const BasicPlanner<1> planner_;
  ReplayWriter& writer_;
  ReplayContext context_;
  Evaluator::Verdicts verdicts_;
};

}  // namespace sgsim
