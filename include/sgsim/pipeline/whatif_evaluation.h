#pragma once
// `whatif` as an evaluation of the stream (stage.h): the what-if engine (verdict/whatif.h) over the tables before
// and after the requests, started at the time origin, because that is where `--at` gets its instant:
// - `--at +N` counts from the first observation; an instant before it is refused there, at begin() (nothing has
//   been evaluated yet), unless `--at-outside-capture`;
// - an instant after the last observation can be known only once the stream has ended: finish() refuses it, as it
//   refuses any `--at` over a stream that held nothing (a change "after the last frame" changes nothing, and "no
//   traffic changes fate" would be a confident wrong answer);
// - `--write-affected`: the frames whose verdict changes, written as they are decided to a pcap of the first
//   frame's link type (report/pcap_writer.h), committed by finish() only when the run is not refused.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/core/result.h"
#include "sgsim/core/time_spec.h"
#include "sgsim/pipeline/stage.h"
#include "sgsim/report/pcap_writer.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/verdict/header_space.h"
#include "sgsim/verdict/whatif.h"

namespace sgsim {

struct WhatIfRunOptions {
  EvalOptions eval;
  bool keepEstablished = false;              // with `at`: live connections keep flowing
  std::optional<TimeSpec> at;                // apply the change at this instant (default: from the start)
  bool atOutsideCapture = false;             // accept an instant before the first or after the last frame
  std::optional<std::string> writeAffected;  // write the changed frames to this pcap
  // The regions of headers whose verdict the change flips (verdict/header_space.h, diffSpace): the evaluation
  // marks those the capture touched, i.e. that hold a packet the rules decided (a flow's first packet at a check,
  // not `established` or `blocked` ones). Null: no marking. Too many regions to scan per packet: no marking either.
  const HsSpaceDiff* space = nullptr;
};

// More regions than this are not marked (a linear scan per rule-decided packet would cost more than the pass).
inline constexpr std::size_t kMaxMarkedRegions = 4096;

class WhatIfEvaluation {
 public:
  static constexpr int kSides = 2;

  WhatIfEvaluation(std::shared_ptr<const Network> before, std::shared_ptr<const Network> after,
                   WhatIfRunOptions options);

  const BasicPlanner<2>& planner() const { return planner_; }
  bool wantsFrameBytes() const { return options_.writeAffected.has_value(); }

  // Fixes the instant of `--at` (refusing one before the first frame) and opens the affected-packets pcap.
  std::optional<Error> begin(const Observation<2>* first, const ReplayStats& stats);
  void prefetch(const BasicPacketPlan<2>& plan) const { engine_->evaluator().prefetch(plan); }
  const PacketVerdict& observe(const Observation<2>& o) {
    const bool changed = engine_->process(o.frame, o.key, o.plan);
    if (!touched_.empty() && decidedByTable(engine_->lastBefore())) markTouched(o.key, engine_->lastBefore());
    if (changed && affected_ && !failure_) {
      auto written = affected_->write(o.frame);
      if (!written) failure_ = written.error();
    }
    return engine_->lastBefore();
  }
  // A write of the affected-packets pcap that failed (a full disk, a closed pipe).
  std::optional<Error> failure() const { return failure_; }
  // Refuses an `--at` instant outside the stream (unless allowed), completes the flow table's figures and commits
  // the affected-packets pcap.
  std::optional<Error> finish(ReplayStats& stats);

  // The results, after finish().
  std::int64_t originNs() const { return originNs_; }
  // The instant the change applied at, as reports give it (nullopt: from the start).
  const std::optional<std::int64_t>& atNs() const { return atNs_; }
  const WhatIfTotals& totals() const { return engine_->totals(); }
  std::vector<ChangedFlow> ranked() const { return engine_->ranked(); }
  // The affected-packets files written (the primary first) and how many frames they hold.
  const std::vector<std::string>& affectedFiles() const { return affectedFiles_; }
  std::uint64_t affectedFrames() const { return affected_ ? affected_->framesWritten() : 0; }
  // Per region of options.space: whether the capture touched it; empty when no marking was made.
  const std::vector<char>& touched() const { return touched_; }

 private:
  std::shared_ptr<const Network> before_, after_;
  WhatIfRunOptions options_;
  const BasicPlanner<2> planner_;
  WhatIfOptions engineOptions_;
  std::optional<WhatIf> engine_;  // made at begin(), once the instant is known
  std::unique_ptr<PcapWriter> affected_;
  std::optional<Error> failure_;
  std::int64_t originNs_ = 0;
  std::optional<std::int64_t> atNs_;
  std::vector<std::string> affectedFiles_;
  std::vector<char> touched_;

  void markTouched(const PacketKey& key, const PacketVerdict& v);
  // Whether a check of `v` was decided by the table (rules, default, intra-group), not by state: only those can mark
  // a region (markTouched), and most packets have none (issue 11: checked here, without a call).
  static bool decidedByTable(const PacketVerdict& v) {
    bool any = false;
    for (std::uint8_t i = 0; i < v.checkCount; ++i)
      any = any || (v.checks[i].reason != Reason::Established && v.checks[i].reason != Reason::Blocked);
    return any;
  }
};

}  // namespace sgsim
