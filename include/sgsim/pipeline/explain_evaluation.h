#pragma once
// `explain --capture F --frame N` (and `--flow-log F --record N`: the same over records, see below) as an evaluation of
// the stream (stage.h): frames 1..N-1 are decided by the same evaluator `replay` uses, and remembered in a FlowHistory
// (verdict/explain.h) so that frame N can be explained with the connection state it meets ("established since frame K",
// …). With requests, the table after them decides from the first frame, or from `--at` on, as in whatif (the change
// cuts and releases live entries at that instant unless --keep-established). Frames after N are not evaluated; the
// caller stops reading once done().

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/core/result.h"
#include "sgsim/core/time_spec.h"
#include "sgsim/pipeline/stage.h"
#include "sgsim/verdict/evaluator.h"
#include "sgsim/verdict/explain.h"

namespace sgsim {

struct ExplainRunOptions {
  std::uint64_t frame = 0;  // 1-based, as tcpdump numbers frames; a flow-log record: its line in its file
  std::uint16_t file = 0;   // which input the frame or record is in (several flow logs)
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
    // A changing table: the plan decides nothing ahead. A record's entry is refreshed to its window's end.
    evaluator_.evaluate(o.key, o.plan, o.frame.tsNs, verdicts_, endOf(o.frame));
    if (o.frame.number == options_.frame && o.frame.fileIndex == options_.file) {
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
      facts_.tableNotes = tableNotes(o.frame.record != nullptr ? "record" : "frame");
      facts_.file = o.frame.fileIndex;
      facts_.changedTable = after_ && (!atNs_ || applied_);
      if (o.frame.record != nullptr) facts_.record = *o.frame.record;
    } else {
      history_.record(o.frame.number, o.key, o.frame.tsNs, verdicts_[0], evaluator_.network(), o.frame.fileIndex,
                      o.frame.record != nullptr ? o.frame.record->endNs : 0);
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
  std::vector<std::string> tableNotes(const std::string& item) const {
    if (!after_) return {};
    if (!atNs_) return {"the model after the requests (--revoke/--authorize), from the first " + item + " on"};
    const std::string when = formatOffset(*atNs_, facts_.originNs) + " (" + formatRfc3339(*atNs_) + ")";
    if (applied_)
      return {"the model after the requests, applied at " + when +
              std::string(options_.keepEstablished ? ", keeping established connections" : "") + "; the " + item +
              "s before it were decided by the model as it is"};
    return {"the model as it is: the requests apply at " + when + ", after this " + item};
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

// ---- explain --flow-log F --record N ----------------------------------------------------------------------------
//
// The same evaluation over a RecordStream (pipeline/record_stream.h): the records before record N in the stream's
// order (the session mapping's: by start, openers first) are decided as replay decides them, each at its own ENI,
// its entry refreshed to its window's end; record N is then explained (verdict/explain.h, explainRecord).
//
// A record is named as the reports name it: by its line in its file (replay's text and JSON Lines `record`, CSV
// `frame`, the drift rows' and warnings' "FILE: line L"). With one flow log `--record 7` names line 7; with several,
// `FILE:7` (or "FILE: line 7", as the drift rows print it), FILE as given to --flow-log or its base name when that
// is unique.

struct RecordTarget {
  std::uint16_t file = 0;
  std::uint64_t line = 0;  // 0: "--record 0", refused by the caller with the file's counts
};
Result<RecordTarget> parseRecordTarget(const std::string& text, const std::vector<std::string>& paths);

// What one line of a flow log holds, read on its own: for a line the stream did not deliver as a record.
struct FlowLogLine {
  enum class Kind : std::uint8_t {
    Record,    // an OK record (the stream delivers it: seen here only when an earlier fatal error stopped the file)
    NoData,    // log-status NODATA: the window had no traffic
    SkipData,  // log-status SKIPDATA: the cloud skipped records in the window
    Bad,       // a record the reader skips (why says what is wrong)
    Header,    // the CSV header
    Blank,     // an empty line
    Beyond,    // the file has fewer lines
  };
  Kind kind = Kind::Beyond;
  std::string text;              // the line as written (cut at 300 characters)
  std::string why;               // Bad: what is wrong with it
  std::uint64_t lines = 0;       // lines in the file (read to its end only for Beyond)
  std::uint64_t headerLine = 0;  // the CSV header's line (0: JSON Lines)
};
Result<FlowLogLine> readFlowLogLine(const std::string& path, std::uint64_t line);

// The explanation of a NODATA or SKIPDATA line: what it is, and that no verdict is made.
std::string explainNoVerdictLine(const std::string& path, std::uint64_t line, const FlowLogLine& l);

}  // namespace sgsim
