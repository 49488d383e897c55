#pragma once
// The evaluation stage: one pass over a stream of timestamped observations, shared by every command that judges
// traffic (`replay`, `whatif`, and `audit` next). Sources produce the stream, evaluations consume it, reports
// render what the evaluations collected; the command line only maps options onto these pieces.
//
// Layout (STYLE.md, "the house follows the data"):
//
//   sources                 stream: the reading thread            Pass: the calling thread             reports
//   ───────────────         ──────────────────────────            ─────────────────────────            ─────────
//   pcap/pcapng files ─┐    read ─▶ decode ─▶ plan                begin(first observation)             replay:
//    merged in time    │    (capture/read_ahead.h: batches of     for each observation, in order:       records
//    order (capture/)  ├──▶  256, a ring of 16; the plan's rule ─▶   prefetch(the plan 8 ahead)          + summary
//   later: VXLAN inner │     decisions made ahead only while       verdict = observe(o)  ─────────────▶ whatif:
//    frames, flow-log  │     the evaluation is the slower side)    account(o, verdict)                  flows
//    records          ─┘                                         finish(accounting)                   audit:
//                                                                                                      rules
//
// Where it lives, and why a folder of its own (include/sgsim/pipeline, src/pipeline, tests/pipeline): the stage
// joins capture (files, a thread), decode, verdict (the engines) and report (the sinks some evaluations write to
// as they go), so it comes after all of them in the dependency order and before cli. Putting it in verdict/
// would make the per-packet engines depend on file reading and threads (verdict's tests link no capture reader,
// and the audit engine being written beside them needs none); putting it in capture/ would make reading files
// depend on verdicts. verdict/ keeps the engines (BasicEvaluator, WhatIf, the audit engine), which know nothing
// of where packets come from; this stage adapts them to a stream.
//
// The stream. Its unit is an Observation: where it came from (Frame::fileIndex names the source, Frame::number
// the item within it), when (Frame::tsNs), how much (Frame::wireLen bytes, one packet), its PacketKey (decoded
// once, on the reading thread) and its plan (verdict/evaluator.h: the ENIs it touches, its flow-table hashes and,
// when the reading thread has time to spare, its stateless rule decisions). A stream hands observations out in
// batches, in stream order; today that is CaptureStream (pipeline/capture_stream.h): the captures merged in time
// order (capture/capture_reader.h, MergedCapture), read, decoded and planned ahead on a second thread
// (--threads 2) or on the calling thread (--threads 1), with the same output either way. The planner comes from
// the evaluation, because only it knows which rule tables stay fixed for the whole pass.
//
// What the stage itself decides (and tests/pipeline checks):
// - Time origin. The first observation in stream order fixes it: with several captures the earliest first frame
//   (they are merged in time order), within one capture its first frame even when a later frame is older.
//   begin() gets that observation before any observe(); a stream that holds none gets begin(nullptr) at
//   finish(), so every evaluation begins exactly once. What depends on the origin is fixed there: replay's
//   offsets (+12.345s), whatif's `--at +N` and its "before the first frame" check, the link type of whatif's
//   affected-packets pcap.
// - Accounting. Every observation is counted once, in ReplayStats (report/replay_report.h, named after the
//   report that first showed it): frames, bytes, the first and latest time, each source's own span (by
//   Frame::fileIndex, sources named by the stream) and one verdict/reason cell, under the verdict observe()
//   returns, the table as it is (for whatif the "before" side). So `replay --format summary` and whatif's frame
//   counts agree by construction, and audit's will too.
// - Errors. A source that ends on a bad record (truncated, corrupt) ends alone; the others go on, every
//   observation before it counts, and after the stream has ended its error is in ReplayStats::captureErrors for
//   the caller to report (bad input: exit 2 with the report of what was read). An evaluation may refuse to
//   begin (whatif: `--at` before the first frame) or fail mid-stream (a failed write of the affected pcap:
//   failure(), looked at after every batch, stops the pass at the end of that batch) — step() returns the
//   error, and nothing more is read — or refuse at finish() (whatif: `--at` after the last frame, known only
//   then). Errors are values (Result, std::optional<Error>): the library throws nothing of its own; an
//   exception of the reading thread (out of memory) comes out of step() on the calling thread.
// - Spans. Each source's frames and time span, not one span from the oldest frame to the newest: reports give
//   them per capture (issue 8).
//
// The per-packet path is the one the commands had (docs/PERFORMANCE.md, "How the pipeline keeps pace"): plans
// made on the reading thread, the flow-table slots of the observation 8 places ahead prefetched, one lock per
// batch. Pass is a template over the evaluation and the stream, so observe() inlines into the loop as the
// command loops did: the stage adds no virtual call (replay's ReplayWriter is one per frame, as it was) and no
// copy of an observation (it is a view of the batch's item).
//
// An evaluation (concept StreamEvaluation below) is a class with:
//   kSides                 1 (one rule table: replay, audit) or 2 (before and after: whatif)
//   planner()              the BasicPlanner<kSides> the reading thread plans with
//   wantsFrameBytes()      whether observe() needs Frame::data (whatif --write-affected); else it is null
//   begin(first, stats)    at the first observation (nullptr: the stream held none); may refuse
//   prefetch(plan)         a hint a few observations ahead; changes nothing
//   observe(o)             the verdict the observation is accounted under
//   failure()              a mid-stream error that stops the pass (checked after every batch)
//   finish(stats)          completes the accounting (the flow table's figures) and its own results; may refuse
// pipeline/replay_evaluation.h and pipeline/whatif_evaluation.h are the two of today.
//
// Adding `audit` (issue 9): the engine (verdict/audit.h, TrafficAudit: process(frame, key, plan) over one table)
// already has the shape; its evaluation is about twenty lines:
//
//   class AuditEvaluation {
//    public:
//     static constexpr int kSides = 1;
//     AuditEvaluation(std::shared_ptr<const Network> net, AuditOptions o)
//         : audit_(net, o), planner_(TrafficAudit::planner(net, o.eval)) {}
//     const BasicPlanner<1>& planner() const { return planner_; }
//     bool wantsFrameBytes() const { return false; }
//     std::optional<Error> begin(const Observation<1>*, const ReplayStats&) { return std::nullopt; }
//     void prefetch(const BasicPacketPlan<1>& p) const { audit_.prefetch(p); }
//     const PacketVerdict& observe(const Observation<1>& o) {
//       audit_.process(o.frame, o.key, o.plan);
//       return audit_.lastVerdict();  // the table as it is
//     }
//     std::optional<Error> failure() const { return std::nullopt; }
//     std::optional<Error> finish(ReplayStats& s) { /* flow-cap figures, audit_.rules() */ return std::nullopt; }
//    private:
//     TrafficAudit audit_;
//     BasicPlanner<1> planner_;
//   };
//
// and the command: parse options, build the evaluation, `CaptureStream<1> stream(*captures, ev.planner(),
// {threads, false})`, `Pass pass(stream, ev)`, step() to the end, finish(), render the rules table.
//
// Adding a source. A stream is any class with `using Item`, `std::span<const Item> next()` (empty at the end),
// `static Observation<S> observation(const Item&)`, `names()`, `errors()` and `account(ReplayStats&)` (the
// sources' own warnings and counts into the accounting) (valid once next() has returned
// empty); Pass takes it as its second template argument.
// - VXLAN inner frames (`--decap vxlan`, done): CaptureStream with a decapsulating decode step on the reading thread
//   (capture_stream.h, DecapOptions): the inner frame's key is planned (by a mirror session's own planner under
//   `--mirror VNI=ENI`), PacketKey::vni names the tunnel, Frame::wireLen becomes the inner frame's length (the
//   outer headers' in Frame::encapLen) and the Frame still names the outer record. Nothing downstream changes but
//   the replay writers, which show the VNI; what was not decapsulated is counted and said in account().
// - Flow-log records (`--flow-log F`), as built (issue 10; pipeline/record_stream.h): the RecordStream below, with
//   one change to the sketch — what a record carries rides on its Frame (Frame::record: packets, bytes, end, logged
//   action; capture/flow_log.h packetsOf/bytesOf/endOf read a frame or a record alike), so Observation and the
//   engines' signatures stay as they were, and ReplayStats::add counts records and drift for every evaluation.
//   The sketch, for the record: a RecordStream reads CSV / JSON Lines records on the reading thread (the
//   same ReadAhead ring, templated on the reader instead of MergedCapture), makes each record's PacketKey from
//   its 5-tuple and plans it with the same planner. A record is an observation of many packets over a window:
//   Observation gains `packets` (1 for a frame), `endNs` (tsNs for a frame) and a pointer to the record's own
//   fields (logged action, tcp-flags, log-status), the stream's Item carries them, and the accounting counts
//   records, packets and bytes. Evaluations read what they need (whatif's packet and byte counts come from
//   `packets` and `wireLen` instead of 1 and the frame's length; drift compares observe()'s verdict with the
//   logged action), so replay, whatif and audit accept `--flow-log` without a loop of their own. Time order
//   across a capture and a flow log is the record's start, the same merge as between captures.
//
// Shards (issue 13). A run may count one shard of the stream (core/shard.h): --shard K/N filters in place (every
// worker reads the whole stream), --split DIR --shard K/N reads the files `sgsim split` wrote for shard K (the
// stream holds only that shard's observations; a flow-log index, `--index DIR` of flow logs, likewise: its records
// in the whole input's order, each with its ordinal, and PassScope::Whole from the index). The filter is here, in
// Pass::step, for every evaluation and every source, after decoding: an observation's shard is its evaluated key's
// (shardOf below; with --decap the inner packet's addresses), so every packet of a conversation and every fragment
// (which has its first fragment's addresses) is in the same shard. A capture stream applies the same shardOf earlier,
// on its reading thread right after decoding (CaptureStreamOptions::shard), and drops the frames of other shards there,
// unplanned, uncopied and never batched, but for the stream's first frame; it counts every frame's span itself
// (wholeSpan()), and what it counts about the sources (decapsulation, mirrored traffic) it counts over every frame, as
// before. That early filter only drops what Pass::step would skip, so the reports are the same; it makes a shard's
// reading side cost little more than the reading itself (docs/PERFORMANCE.md, "Scale-out"). An observation of another
// shard is not evaluated and not counted anywhere (frames, bytes, spans, verdict cells), but the time origin is the
// whole stream's: begin() gets the stream's first observation whatever its shard (with --split, the manifest's first
// observation stands in for it), and ReplayStats::stream holds the whole stream's span, by which whatif judges `--at`.
// What the sources say about themselves rather than about an address pair (readers' warnings, skipped pcapng blocks,
// NODATA, SKIPDATA and bad flow-log records, the decapsulation's warnings) is shard 1's, as frames without an address
// pair are, so that a sum over the shards counts it once; the sources' errors (a capture that ends on a bad record) are
// every shard's, because every shard's report is then incomplete.
//
// Threads: a Pass, its evaluation and its accounting belong to the calling thread; the stream's reading thread
// touches only the sources and the planner (immutable), and is stopped and joined when the stream is destroyed.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/core/result.h"
#include "sgsim/core/shard.h"
#include "sgsim/decode/packet_key.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/verdict/evaluator.h"

namespace sgsim {

// One observation of the stream, as an evaluation sees it: a view of the stream's item, valid during the call.
template <int Sides>
struct Observation {
  const Frame& frame;  // source (fileIndex), item number, time, bytes on the wire; data only if asked for
  const PacketKey& key;
  const BasicPacketPlan<Sides>& plan;
};

template <class E>
concept StreamEvaluation = requires(E& e, const E& ce, const Observation<E::kSides>& o, ReplayStats& stats) {
  { E::kSides } -> std::convertible_to<int>;
  { ce.planner() } -> std::convertible_to<const BasicPlanner<E::kSides>&>;
  { ce.wantsFrameBytes() } -> std::convertible_to<bool>;
  { e.begin(&o, stats) } -> std::same_as<std::optional<Error>>;
  ce.prefetch(o.plan);
  { e.observe(o) } -> std::convertible_to<const PacketVerdict&>;
  { ce.failure() } -> std::same_as<std::optional<Error>>;
  { e.finish(stats) } -> std::same_as<std::optional<Error>>;
};

// The shard (1..count) of an observation: its evaluated address pair's (core/shard.h, shardOfPair); 1 for a key
// without one (not IP, undecodable).
inline std::uint32_t shardOf(const PacketKey& key, std::uint32_t count) {
  return key.status == DecodeStatus::Ok ? shardOfPair(key.src, key.dst, count) : 1;
}

// What part of the stream a pass counts (see "Shards" above). The default is all of it.
struct PassScope {
  std::optional<Shard> shard;  // count only this shard's observations
  // --split: the stream holds one shard's part of a split; what the whole stream was (the split's manifest).
  struct Whole {
    std::vector<std::string> names;  // the original sources, by Frame::fileIndex
    ReplayStats::StreamSpan span;    // every observation of the stream
    int firstLinkType = 0;           // the first observation's link type (whatif --write-affected)
    std::vector<Error> errors;       // the sources' errors, met by the split (every shard's)
    bool sourceFacts = false;        // shard 1: the sources' warnings and skipped blocks below are its
    std::vector<Error> warnings;
    std::map<std::string, std::uint64_t> skippedBlocks;
    std::uint64_t noData = 0, skipData = 0, badRecords = 0;  // flow logs' records no shard file holds
  };
  std::optional<Whole> whole;
};

// How many observations ahead of the evaluation the flow-table slots are prefetched (measured:
// docs/PERFORMANCE.md).
inline constexpr std::size_t kPrefetchAhead = 8;

// One pass of an evaluation over a stream. step() until it returns false, then finish().
template <class E, class Stream>
requires StreamEvaluation<E>
class Pass {
 public:
  // The stream must have been made with the evaluation's planner; both outlive the pass.
  Pass(Stream& stream, E& evaluation, PassScope scope = {})
      : stream_(stream), evaluation_(evaluation), scope_(std::move(scope)) {
    stats_.setCaptures(scope_.whole ? scope_.whole->names : stream.names());
    if (scope_.whole) {
      origin_.tsNs = scope_.whole->span.firstNs;
      origin_.linkType = scope_.whole->firstLinkType;
    }
  }

  // Evaluates the next batch of observations. false at the end of the stream; an error when the evaluation
  // refused to begin or failed (then nothing more is read, and the run has failed: a caller reports the error
  // rather than finish()).
  // Never inlined into its caller: GCC compiles what it inlines into main() as code that runs once, for size, and
  // the command line's loop would take this one with it (with --threads 1 each frame's 94-byte key was then copied
  // by `rep movsb`, +74 instructions per frame under callgrind, instead of six vector moves).
  [[gnu::noinline]] Result<bool> step() {
    if (ended_) return false;
    const auto batch = stream_.next();
    if (batch.empty()) {
      ended_ = drained_ = true;
      return false;
    }
    if (!begun_) {
      begun_ = true;
      const Observation<E::kSides> first = Stream::observation(batch[0]);
      const Observation<E::kSides> origin{origin_, first.key, first.plan};  // --split: the whole stream's
      if (auto refused = evaluation_.begin(scope_.whole ? &origin : &first, stats_)) {
        ended_ = true;
        return *refused;
      }
    }
    const std::size_t n = batch.size();
    if (scope_.shard) {
      stepShard(batch);
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        // Prefetch the flow-table slots of an observation a few places ahead: established traffic spread over many
        // live flows otherwise stalls on a cache miss per packet.
        if (i + kPrefetchAhead < n) evaluation_.prefetch(Stream::observation(batch[i + kPrefetchAhead]).plan);
        const Observation<E::kSides> o = Stream::observation(batch[i]);
        stats_.add(o.frame, o.key, evaluation_.observe(o));
      }
    }
    if (auto failed = evaluation_.failure()) {
      ended_ = true;
      return *failed;
    }
    return true;
  }

  // After step() returned false: begins an evaluation whose stream held nothing, takes the sources' errors into
  // the accounting (ReplayStats::captureErrors) and finishes the evaluation, whose refusal it returns. (After a
  // step() that failed, the sources' errors are not known: the stream was not read to its end.)
  std::optional<Error> finish() {
    if (!begun_) {
      begun_ = true;
      // --split: this shard's files held nothing, but the whole stream began with the manifest's first observation.
      const PacketKey key;
      const BasicPacketPlan<E::kSides> plan{};
      const Observation<E::kSides> origin{origin_, key, plan};
      const bool some = scope_.whole && scope_.whole->span.frames > 0;
      if (auto refused = evaluation_.begin(some ? &origin : nullptr, stats_)) return refused;
    }
    if (scope_.whole)
      stats_.stream = scope_.whole->span;
    else if (scope_.shard)
      stats_.stream = wholeSpan();
    else
      stats_.stream = ReplayStats::StreamSpan{stats_.frames, stats_.firstNs, stats_.lastNs};
    if (drained_ && scope_.whole) {
      const PassScope::Whole& w = *scope_.whole;
      stats_.captureErrors = w.errors;
      stats_.captureErrors.insert(stats_.captureErrors.end(), stream_.errors().begin(), stream_.errors().end());
      if (w.sourceFacts) stats_.warnings.insert(stats_.warnings.end(), w.warnings.begin(), w.warnings.end());
      stream_.account(stats_);  // this shard's files: their decapsulation, or their flow-log counts
      // The original captures' skipped blocks, as the manifest holds them (account() set the shard file's: none),
      // and the flow-log records no shard file holds.
      if (w.sourceFacts) {
        stats_.skippedBlocks = w.skippedBlocks;
        stats_.flowLogCounts.noData += w.noData;
        stats_.flowLogCounts.skipData += w.skipData;
        stats_.flowLogCounts.bad += w.badRecords;
      }
    } else if (drained_) {
      stats_.captureErrors = stream_.errors();
      if (!scope_.shard) {
        stream_.account(stats_);
      } else {
        // What the sources say about themselves is shard 1's (see "Shards" above); whether they were flow logs is
        // every shard's. Counted over the whole stream as this pass read it.
        ReplayStats sources;
        sources.frames = stats_.stream.frames;
        stream_.account(sources);
        stats_.flowLog = sources.flowLog;
        if (scope_.shard->index == 1) {
          stats_.warnings.insert(stats_.warnings.end(), sources.warnings.begin(), sources.warnings.end());
          stats_.skippedBlocks = std::move(sources.skippedBlocks);
          stats_.flowLogCounts.noData = sources.flowLogCounts.noData;
          stats_.flowLogCounts.skipData = sources.flowLogCounts.skipData;
          stats_.flowLogCounts.bad = sources.flowLogCounts.bad;
        }
      }
    }
    return evaluation_.finish(stats_);
  }

  // The accounting so far (complete after finish()). The caller adds what the run knew before the stream
  // (warnings) and renders it.
  ReplayStats& stats() { return stats_; }
  const ReplayStats& stats() const { return stats_; }

 private:
  // The filtered loop of step(): every observation moves the whole stream's span, only the shard's are evaluated,
  // with the flow-table slots prefetched ahead as in the unfiltered loop (a capture stream hands on only the shard's
  // frames, so nearly every one ahead is evaluated).
  template <class Batch>
  void stepShard(const Batch& batch) {
    const std::uint32_t index = scope_.shard->index, count = scope_.shard->count;
    const std::size_t n = batch.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) evaluation_.prefetch(Stream::observation(batch[i + kPrefetchAhead]).plan);
      const Observation<E::kSides> o = Stream::observation(batch[i]);
      if (!scope_.whole) {
        if (whole_.frames++ == 0) whole_.firstNs = whole_.lastNs = o.frame.tsNs;
        if (o.frame.tsNs > whole_.lastNs) whole_.lastNs = o.frame.tsNs;
      }
      if (shardOf(o.key, count) != index) continue;
      // A record stream hands on every record (no early filter), so whole_ numbers them as the whole run reads
      // them: the drift rows' firstRecord, by which merge keeps the rows the whole run keeps.
      stats_.ordinal = scope_.whole ? 0 : whole_.frames;
      stats_.add(o.frame, o.key, evaluation_.observe(o));
    }
  }

  // --shard in place: the whole stream's span. A stream that drops other shards' items as it reads them (a capture
  // stream: CaptureStream::keep) counted them there; else this pass saw every item.
  ReplayStats::StreamSpan wholeSpan() const {
    if constexpr (requires(const Stream& s) {
                    { s.wholeSpan() } -> std::same_as<std::optional<ReplayStats::StreamSpan>>;
                  }) {
      if (drained_)
        if (const auto span = stream_.wholeSpan()) return *span;
    }
    return whole_;
  }

  Stream& stream_;
  E& evaluation_;
  const PassScope scope_;
  Frame origin_;                   // --split: stands for the whole stream's first observation at begin()
  ReplayStats::StreamSpan whole_;  // --shard in place: every observation's span
  ReplayStats stats_;
  bool begun_ = false;
  bool ended_ = false;    // step() has nothing more to do
  bool drained_ = false;  // the stream was read to its end: its errors() are complete
};

}  // namespace sgsim
