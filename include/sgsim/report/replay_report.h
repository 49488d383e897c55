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

// One capture file's part of a run: its frames and the time they span (first frame read, latest timestamp).
struct CaptureSpan {
  std::string file;
  std::uint64_t frames = 0;
  std::int64_t firstNs = 0, lastNs = 0;
};

// Counts for the summary; every frame read lands in exactly one verdict/reason cell.
struct ReplayStats {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::int64_t firstNs = 0, lastNs = 0;  // of all frames: the first read, the latest
  std::vector<CaptureSpan> perCapture;   // by Frame::fileIndex (setCaptures); each file's own span
  std::map<std::pair<Verdict, Reason>, std::uint64_t> byOutcome;
  std::map<std::string, std::uint64_t> notIp;        // detail ("ARP", "ethertype 0x88cc") → frames
  std::map<std::string, std::uint64_t> undecodable;  // detail ("truncated IPv4 header", "link type …") → frames
  std::uint64_t untracked = 0;                       // decided while the flow table was full
  std::vector<Error> captureErrors;                  // file/frame problems met while reading
  std::vector<Error> warnings;                       // what the run went on despite (report/issues.h)
  std::uint64_t flowCapHits = 0;
  std::size_t maxFlows = 0;

  // pcapng blocks read past (name resolution, statistics, …), by type: capture/capture_reader.h.
  std::map<std::string, std::uint64_t> skippedBlocks;

  // Names the capture files (by fileIndex), so that add() keeps each one's span.
  void setCaptures(const std::vector<std::string>& files);
  void add(const Frame& f, const PacketKey& k, const PacketVerdict& v);
};

enum class ReplayFormat { Text, Jsonl, Csv, Summary };

struct ReplayContext {
  const Network* network = nullptr;
  std::vector<std::string> captureNames;  // by Frame::fileIndex; shown when more than one
  std::int64_t originNs = 0;              // first frame's time (text output shows time relative to it)
  std::vector<Error> warnings;            // known before the first frame (model, requests): streamed formats
                                          // put them first; ReplayStats::warnings holds these and later ones
  // --decap vxlan:PORT (0 without): text lines of decapsulated frames end "(VXLAN PORT vni N)", JSON Lines records
  // carry "vni" (null for a frame evaluated as itself), CSV rows a last column `vni`.
  std::uint16_t vxlanPort = 0;
};

class ReplayWriter {
 public:
  virtual ~ReplayWriter() = default;
  virtual void begin(const ReplayContext& /*ctx*/) {}
  virtual void frame(const Frame& f, const PacketKey& k, const PacketVerdict& v) = 0;
  virtual void finish(const ReplayStats& s) = 0;
};

std::unique_ptr<ReplayWriter> makeReplayWriter(ReplayFormat format, std::ostream& out);

// The summary as text (also printed at the end of the text format). With several captures, each one's file,
// frames and time span instead of one span from the oldest frame to the newest.
std::string renderSummary(const ReplayStats& s);
// "pcaps/a.pcap: 1391 frames, 2024-05-01T09:00:05.000000000Z .. 2024-05-01T09:09:46.001000000Z (+0.000s ..
// +581.001s, 581.001 s)", offsets from originNs; "pcaps/b.pcap: 0 frames" for an empty one.
std::string describeCaptureSpan(const CaptureSpan& c, std::int64_t originNs);

// The warning that the flow table was full, when it was (every format reports it).
std::optional<Error> flowCapWarning(const ReplayStats& s);

// The rule id (or "") of a check, for reports.
std::string checkRuleId(const Network& n, const Check& c);
std::string checkGroupId(const Network& n, const Check& c);

}  // namespace sgsim
