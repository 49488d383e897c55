#pragma once
// The stream of today's source: pcap/pcapng files merged in time order (capture/capture_reader.h), each frame
// decoded and planned on the reading thread (capture/read_ahead.h) so that the evaluation finds its key and its
// ENIs, flow-table hashes and, when the reader has time to spare, its rule decisions ready (stage.h).

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sgsim/capture/capture_reader.h"
#include "sgsim/capture/read_ahead.h"
#include "sgsim/core/result.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/pipeline/stage.h"

namespace sgsim {

// Opens every capture file (merged in time order). Fails without files ("no capture file given") and with the
// first file that cannot be opened, naming it.
Result<std::unique_ptr<MergedCapture>> openCaptures(const std::vector<std::string>& paths);

// What the reading thread hands on for every frame: its key and, as far as it can tell ahead, its plan.
template <int Sides>
struct Planned {
  PacketKey key;
  BasicPacketPlan<Sides> plan;
};

struct CaptureStreamOptions {
  bool thread = true;      // read, decode and plan on a second thread (--threads 2)
  bool copyBytes = false;  // keep each frame's bytes for the evaluation (Frame::data; else null)
};

template <int Sides>
class CaptureStream {
  // Decodes a frame and plans it; makes the rules' decisions ahead only when the evaluation is the slower side.
  struct DecodeAndPlan {
    const BasicPlanner<Sides>* planner;
    void operator()(const Frame& f, Planned<Sides>& p, bool spare) const {
      p.key = decodeFrame(f.linkType, f.data, f.capLen);
      planner->plan(p.key, p.plan, spare);
    }
  };

 public:
  using Item = AheadFrame<Planned<Sides>>;

  // Starts reading (on a second thread unless options.thread is false). The captures outlive the stream.
  CaptureStream(MergedCapture& captures, const BasicPlanner<Sides>& planner, CaptureStreamOptions options)
      : captures_(captures),
        planner_(planner),
        ahead_(captures, DecodeAndPlan{&planner_}, ReadAheadOptions{options.thread, options.copyBytes}) {}
  CaptureStream(const CaptureStream&) = delete;
  CaptureStream& operator=(const CaptureStream&) = delete;

  // The next batch in capture order; empty at the end. Valid until the next call.
  std::span<const Item> next() { return ahead_.next(); }
  static Observation<Sides> observation(const Item& item) { return {item.frame, item.extra.key, item.extra.plan}; }
  // The capture files, by Frame::fileIndex.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& r : captures_.readers()) out.push_back(r->path());
    return out;
  }
  // Every file that ended on a bad record, in the order it happened; complete once next() has returned empty.
  const std::vector<Error>& errors() const { return captures_.errors(); }
  // What the readers went on despite (a pcapng frame without a timestamp, …) into the run's warnings, and the pcapng
  // blocks they skipped; once next() has returned empty.
  void account(ReplayStats& stats) const {
    const auto warnings = captures_.warnings();
    stats.warnings.insert(stats.warnings.end(), warnings.begin(), warnings.end());
    stats.skippedBlocks = captures_.skippedBlocks();
  }

 private:
  MergedCapture& captures_;
  const BasicPlanner<Sides> planner_;  // before ahead_: the reading thread plans with it
  ReadAhead<Planned<Sides>, DecodeAndPlan> ahead_;
};

}  // namespace sgsim
