#pragma once
// Outputs of `sgsim replay`: one record per frame (text, JSON Lines, CSV) and the totals that account for
// every frame read (summary).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/core/result.h"
#include "sgsim/decode/packet_key.h"
#include "sgsim/verdict/evaluator.h"

namespace sgsim {

// Counts for the summary; every frame read lands in exactly one verdict/reason cell.
struct ReplayStats {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::int64_t firstNs = 0, lastNs = 0;
  std::map<std::pair<Verdict, Reason>, std::uint64_t> byOutcome;
  std::map<std::string, std::uint64_t> notIp;        // detail ("ARP", "ethertype 0x88cc") → frames
  std::map<std::string, std::uint64_t> undecodable;  // detail ("truncated IPv4 header", "link type …") → frames
  std::uint64_t untracked = 0;                       // decided while the flow table was full
  std::vector<Error> captureErrors;                  // file/frame problems met while reading
  std::vector<Error> warnings;                       // what the run went on despite (report/issues.h)
  std::uint64_t flowCapHits = 0;
  std::size_t maxFlows = 0;

  void add(const Frame& f, const PacketKey& k, const PacketVerdict& v);
};

enum class ReplayFormat { Text, Jsonl, Csv, Summary };

struct ReplayContext {
  const Network* network = nullptr;
  std::vector<std::string> captureNames;  // by Frame::fileIndex; shown when more than one
  std::int64_t originNs = 0;              // first frame's time (text output shows time relative to it)
  std::vector<Error> warnings;            // known before the first frame (model, requests): streamed formats
                                          // put them first; ReplayStats::warnings holds these and later ones
};

class ReplayWriter {
 public:
  virtual ~ReplayWriter() = default;
  virtual void begin(const ReplayContext& /*ctx*/) {}
  virtual void frame(const Frame& f, const PacketKey& k, const PacketVerdict& v) = 0;
  virtual void finish(const ReplayStats& s) = 0;
};

std::unique_ptr<ReplayWriter> makeReplayWriter(ReplayFormat format, std::ostream& out);

// The summary as text (also printed at the end of the text format).
std::string renderSummary(const ReplayStats& s);

// The warning that the flow table was full, when it was (every format reports it).
std::optional<Error> flowCapWarning(const ReplayStats& s);

// The rule id (or "") of a check, for reports.
std::string checkRuleId(const Network& n, const Check& c);
std::string checkGroupId(const Network& n, const Check& c);

}  // namespace sgsim
