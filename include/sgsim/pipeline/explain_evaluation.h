#pragma once
// `explain --capture F --frame N` as an evaluation of the stream (stage.h): frames 1..N-1 are decided by the same
// evaluator `replay` uses, and remembered in a FlowHistory (verdict/explain.h) so that frame N can be explained
// with the connection state it meets ("established since frame K", …). With requests, the table after them
// decides from the first frame, or from `--at` on, as in whatif (the change cuts and releases live entries at that
// instant unless --keep-established). Frames after N are not evaluated; the caller stops reading once done().

#include <memory>
#include <optional>
#include <string>

#include "sgsim/core/result.h"
#include "sgsim/core/time_spec.h"
#include "sgsim/pipeline/stage.h"
#include "sgsim/verdict/evaluator.h"
#include "sgsim/verdict/explain.h"

namespace sgsim {

struct ExplainRunOptions {
  std::uint64_t frame = 0;  // 1-based, as tcpdump numbers frames
  EvalOptions eval;
  std::optional<TimeSpec> at;  // with `after`: the instant the change applies; without: from the first frame
  bool keepEstablished = false;
  bool atOutsideCapture = false;
};

class ExplainEvaluation {
 public:
  static constexpr int kSides = 1;

  // `after` is the table after the requests (null without requests): from the first frame, or from options.at.
  ExplainEvaluation(std::shared_ptr<const Network> before, std::shared_ptr<const Network> after,
                    ExplainRunOptions options)
      : before_(std::move(before)),
        after_(std::move(after)),
        options_(std::move(options)),
        evaluator_(after_ && !options_.at ? after_ : before_, options_.eval),
        planner_(evaluator_.planner({after_ && options_.at})),
        history_(timeoutsOf(*before_)) {}

  const BasicPlanner<1>& planner() const { return planner_; }
  bool wantsFrameBytes() const { return false; }

  std::optional<Error> begin(const Observation<1>* first, const ReplayStats& stats) {
    if (first == nullptr) return std::nullopt;
    facts_.originNs = first->frame.tsNs;
    if (after_ && options_.at) {
      auto atNs = options_.at->resolve(facts_.originNs);
      if (!atNs) return atNs.error();
      if (!options_.atOutsideCapture) {
        std::string list;
        for (const CaptureSpan& c : stats.perCapture) list += (list.empty() ? "" : ", ") + c.file;
        if (auto e =
                checkInstantInCapture(*options_.at, *atNs, facts_.originNs, std::nullopt, list, "--at-outside-capture"))
          return e;
      }
      atNs_ = *atNs;
    }
    return std::nullopt;
  }
  void prefetch(const BasicPacketPlan<1>& plan) const { evaluator_.prefetch(plan); }
  const PacketVerdict& observe(const Observation<1>& o) {
    if (done_) {
      verdicts_[0] = PacketVerdict{};  // after frame N: not evaluated (the caller stops reading)
      return verdicts_[0];
    }
    if (atNs_ && !applied_ && o.frame.tsNs >= *atNs_) {
      evaluator_.replaceNetwork(after_, *atNs_, options_.keepEstablished);
      applied_ = true;
    }
    evaluator_.evaluate(o.key, o.plan, o.frame.tsNs, verdicts_);  // a changing table: the plan decides nothing ahead
    if (o.frame.number == options_.frame) {
      done_ = true;
      facts_.frame = o.frame.number;
      facts_.tsNs = o.frame.tsNs;
      facts_.key = o.key;
      facts_.verdict = verdicts_[0];
      for (std::size_t i = 0; i < facts_.history.size(); ++i)
        facts_.history[i] = history_.lookup(o.key, o.frame.tsNs, verdicts_[0], i, atNs_);
      if (o.key.isFragment && !o.key.firstFragment) {
        facts_.fragmentFlow = evaluator_.firstFragmentOf(o.key, o.frame.tsNs);
        if (auto k = history_.firstFragmentFrame(o.key)) facts_.history[0].sinceFrame = *k;
      }
      facts_.tableNotes = tableNotes();
    } else {
      history_.record(o.frame.number, o.key, o.frame.tsNs, verdicts_[0], evaluator_.network());
    }
    return verdicts_[0];
  }
  std::optional<Error> failure() const { return std::nullopt; }
  std::optional<Error> finish(ReplayStats& stats) {
    stats.maxFlows = evaluator_.tracker().maxFlows();
    stats.flowCapHits = evaluator_.tracker().capHits();
    return std::nullopt;
  }

  bool done() const { return done_; }
  // Once done(): frame N and what it met (the capture's name is the caller's to fill in).
  const FrameFacts& facts() const { return facts_; }
  // The table that decided frame N.
  const Network& network() const { return evaluator_.network(); }

 private:
  static std::vector<Timeouts> timeoutsOf(const Network& net) {
    std::vector<Timeouts> t;
    for (std::size_t i = 0; i < net.eniCount(); ++i) t.push_back(net.eni(i).timeouts);
    return t;
  }
  std::vector<std::string> tableNotes() const {
    if (!after_) return {};
    if (!atNs_) return {"the model after the requests (--revoke/--authorize), from the first frame on"};
    const std::string when = formatOffset(*atNs_, facts_.originNs) + " (" + formatRfc3339(*atNs_) + ")";
    if (applied_)
      return {"the model after the requests, applied at " + when +
              std::string(options_.keepEstablished ? ", keeping established connections" : "") +
              "; the frames before it were decided by the model as it is"};
    return {"the model as it is: the requests apply at " + when + ", after this frame"};
  }

  std::shared_ptr<const Network> before_, after_;
  ExplainRunOptions options_;
  Evaluator evaluator_;
  const BasicPlanner<1> planner_;
  FlowHistory history_;
  Evaluator::Verdicts verdicts_;
  FrameFacts facts_;
  std::optional<std::int64_t> atNs_;
  bool applied_ = false;
  bool done_ = false;
};

}  // namespace sgsim
