#pragma once
// `sgsim merge` (issue 13): the JSON reports of the shards of one run (whatif, audit or replay --format json, each
// run with --shard K/N over the same inputs, model and options) combined into the report the unsharded run prints,
// byte for byte. A shard holds every packet of its conversations (core/shard.h), so every per-flow figure is whole
// in exactly one shard and the run's figures are the shards' put together, member by member, by an explicit rule:
//   sum        counts: totals, captureSpans[].frames, audit's frames, hits and ifRevoked, fallback flows (by decider),
//              replay's outcomes (by verdict and reason) and notIp / undecodable / skippedBlocks (by detail)
//   min / max  first / last times (captureSpans, audit hits)
//   equal      what the model and the options make: captures, requests, at, keepEstablished, space (but touched),
//              audit rows' rule, group, direction, priority, policy, description, enis and static findings; and
//              atOutsideCapture, which every shard judges by the whole stream's span (ReplayStats::stream)
//   or         space regions' touched (seen in some shard's traffic)
//   union      flows and drift rows (each conversation is in one shard), then ranked again as one run ranks them
//              (rankedBefore, driftRanked: total orders); warnings and errors (each once; the full-flow-table
//              warning's packet counts summed, listed last as a run lists it, then a warning that each shard had a
//              table of its own, so that those figures are not one run's)
//   recomputed audit rows' verdict and why, and their order (--sort)
// A member merge does not know is an error that names it, never dropped. So are a report cut short (drift rows
// beyond the cap), a shard missing or given twice, reports of different kinds, and reports that disagree on a member
// that must be equal. Merging is associative and commutative: with `partial`, a merge of some shards is a report
// whose "shard" member lists them ({"index": [1, 3], "count": 4}) and merges again with the others.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sgsim/core/mapped_file.h"
#include "sgsim/core/result.h"
#include "sgsim/report/audit_report.h"

namespace sgsim {

enum class ReportKind : std::uint8_t { WhatIf, Audit, Replay };
const char* toString(ReportKind k);  // "whatif", "audit", "replay --format json"

struct ReportFile {
  std::string name;  // as errors name it (the path given)
  std::string text;  // the report's text, unless `mapped`
  std::shared_ptr<const MappedFile> mapped;  // a regular file mapped (sgsim merge): its text in place of `text`
  std::string_view view() const { return mapped ? mapped->text() : std::string_view(text); }
};

struct MergeOptions {
  bool partial = false;                // merge a subset of the shards (the result keeps a "shard" member)
  AuditSort sort = AuditSort::Impact;  // audit: the --sort the audits ran with
  // From this many rows (drift and flows, all reports) on, the rows are read and written on two threads; the answer is
  // the same either way (tests set 1 to compare).
  std::size_t twoThreadsFrom = 20000;
};

struct MergedReport {
  ReportKind kind = ReportKind::WhatIf;
  std::string json;                   // as the command prints it, without the final newline
  std::uint64_t changedFlows = 0;     // whatif: totals.changedFlows (merge --fail-on-change)
  std::vector<std::uint32_t> shards;  // the shards merged, ascending
  std::uint32_t count = 1;            // N
  std::vector<Error> notes;           // warnings merge itself added to the report (sgsim merge prints them)
};

Result<MergedReport> mergeReports(const std::vector<ReportFile>& files, const MergeOptions& options = {});

}  // namespace sgsim
