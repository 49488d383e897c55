#include "sgsim/pipeline/whatif_evaluation.h"

namespace sgsim {
namespace {

constexpr const char* kAllowFlag = "--at-outside-capture";

// The capture files, for messages: "pcaps/a.pcap" or "pcaps/a.pcap, pcaps/b.pcap".
std::string captureList(const ReplayStats& stats) {
  std::string list;
  for (const CaptureSpan& c : stats.perCapture) list += (list.empty() ? "" : ", ") + c.file;
  return list;
}

}  // namespace

WhatIfEvaluation::WhatIfEvaluation(std::shared_ptr<const Network> before, std::shared_ptr<const Network> after,
                                   WhatIfRunOptions options)
    : before_(std::move(before)),
      after_(std::move(after)),
      options_(std::move(options)),
      planner_(WhatIf::planner(before_, after_, options_.eval, options_.at.has_value())) {
  engineOptions_.eval = options_.eval;
  engineOptions_.keepEstablished = options_.keepEstablished;
  if (options_.space && !options_.space->regions.empty() && options_.space->regions.size() <= kMaxMarkedRegions)
    touched_.assign(options_.space->regions.size(), 0);
}

void WhatIfEvaluation::markTouched(const PacketKey& key, const PacketVerdict& v) {
  if (key.status != DecodeStatus::Ok || (key.isFragment && !key.firstFragment)) return;
  for (std::uint8_t i = 0; i < v.checkCount; ++i) {
    const Check& c = v.checks[i];
    // Only a decision by the table covers a region: state (established, blocked) decides regardless of headers.
    if (c.eni < 0 || (c.reason != Reason::Rule && c.reason != Reason::Default && c.reason != Reason::IntraGroup))
      continue;
    // Made here, not for every packet: most packets are decided by state (issue 11, one core).
    const PacketFields fields{key.proto, key.src, key.dst, key.sport, key.dport};
    const std::int32_t region = findRegion(*options_.space, static_cast<std::size_t>(c.eni), c.direction, fields);
    if (region >= 0) touched_[static_cast<std::size_t>(region)] = 1;
  }
}

std::optional<Error> WhatIfEvaluation::begin(const Observation<2>* first, const ReplayStats& stats) {
  if (first == nullptr) {
    // Nothing to fix the instant by: finish() refuses `--at` unless it is allowed outside the capture.
    engine_.emplace(before_, after_, engineOptions_);
    return std::nullopt;
  }
  originNs_ = first->frame.tsNs;
  if (options_.at) {
    auto atNs = options_.at->resolve(originNs_);
    if (!atNs) return atNs.error();
    if (!options_.atOutsideCapture) {
      if (auto e = checkInstantInCapture(*options_.at, *atNs, originNs_, std::nullopt, captureList(stats), kAllowFlag))
        return e;
    }
    engineOptions_.atNs = *atNs;
  }
  atNs_ = engineOptions_.atNs;
  engine_.emplace(before_, after_, engineOptions_);
  if (options_.writeAffected) {
    auto w = PcapWriter::open(*options_.writeAffected, first->frame.linkType);
    if (!w) return w.error();
    affected_ = std::move(*w);
  }
  return std::nullopt;
}

std::optional<Error> WhatIfEvaluation::finish(ReplayStats& stats) {
  const std::optional<TimeSpec>& at = options_.at;
  if (at && !options_.atOutsideCapture) {
    // Refused instead of a report; nothing is written (the affected-packets pcap is not committed).
    // The whole stream's span, also in a run of one shard (stage.h, "Shards").
    if (stats.stream.frames == 0)
      return Error{"--at", "\"" + at->text + "\" names no instant of the capture (" + captureList(stats) +
                               "), which holds no frame. Add " + kAllowFlag + " if that is meant"};
    if (auto e = checkInstantInCapture(*at, *engineOptions_.atNs, stats.stream.firstNs, stats.stream.lastNs,
                                       captureList(stats), kAllowFlag))
      return e;
  }
  // Over an empty stream an epoch instant is still an instant the report can name.
  if (at && stats.stream.frames == 0 && at->base == TimeSpec::Base::Epoch) atNs_ = at->ns;
  // A shard whose own frames end before the instant the whole stream reaches (stage.h, "Shards"): the change
  // still applies there, as it did in the unsharded run at the first frame at or after it.
  if (engine_ && engineOptions_.atNs && stats.stream.frames > 0 && stats.stream.lastNs >= *engineOptions_.atNs)
    engine_->reachInstant();
  stats.maxFlows = options_.eval.maxFlows;
  stats.flowCapHits = engine_->evaluator().tracker().capHits();
  if (affected_) {
    auto files = affected_->close();
    if (!files) return files.error();
    affectedFiles_ = std::move(*files);
  }
  return std::nullopt;
}

}  // namespace sgsim
