#pragma once
// Outputs of `sgsim replay`: one record per frame (text, JSON Lines, CSV) and the totals that account for
// every frame read (summary).

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/core/result.h"
#include "sgsim/core/shard.h"
#include "sgsim/decode/packet_key.h"
#include "sgsim/model/model_json.h"
#include "sgsim/verdict/evaluator.h"

namespace boost::json {
class array;
class object;
}  // namespace boost::json

namespace sgsim {

// One capture file's part of a run: its frames and the time they span (first frame read, latest timestamp).
struct CaptureSpan {
  std::string file;
  std::uint64_t frames = 0;
  std::int64_t firstNs = 0, lastNs = 0;
};

// Drift (issue 10): a flow-log record whose logged action (ACCEPT / REJECT) disagrees with the verdict of the table
// the run evaluates before any change. Rows group records by where and what was decided, so that a stale model
// shows as a few rows, not one per record; ranked by bytes, then records.
struct DriftRow {
  std::int32_t eni = -1;  // the deciding check's interface (Network index), -1 when none
  Direction direction = Direction::Ingress;
  Verdict verdict = Verdict::None;  // the model's
  Reason reason = Reason::Default;
  std::int32_t ruleRef = -1;  // the deciding check's rule, rules(eni, direction) index
  bool loggedAccept = false;  // the record's action
  std::uint8_t proto = 0;
  IpAddr src, dst;  // the record's addresses
  std::uint16_t dport = 0;
  std::uint64_t records = 0, packets = 0, bytes = 0;
  std::uint16_t firstFile = 0;  // where the first such record is
  std::uint64_t firstLine = 0;
  // A shard's run in place (--shard K/N, the whole input read): the first such record's position among the input's
  // records (1 = the first read), by which `sgsim merge` keeps the rows the whole run keeps (kMaxDriftRows); 0 in
  // other runs (not in their reports).
  std::uint64_t firstRecord = 0;
  std::uint32_t nextSameHash = UINT32_MAX;  // the next row whose identity hashes alike
};

struct FlowLogCounts {
  std::uint64_t records = 0;   // records evaluated (log-status OK)
  std::uint64_t packets = 0;   // their packets
  std::uint64_t noData = 0;    // NODATA records: counted, nothing to evaluate
  std::uint64_t skipData = 0;  // SKIPDATA records: the cloud lost records in those windows (a warning)
  std::uint64_t bad = 0;       // records that could not be read (warned, named by line)
  std::uint64_t compared = 0;  // records the model decided (accept or drop), compared with the logged action
  std::uint64_t driftRecords = 0, driftPackets = 0, driftBytes = 0;
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

  // The whole stream, whatever part of it the run counts (issue 13): with --shard K/N or --split only one shard's
  // observations are counted above, but the time origin, `--at` and its outside-the-capture check go by every
  // observation of the stream (with --split, as the split's manifest recorded it). Equal to frames, firstNs and
  // lastNs in a run of the whole stream.
  struct StreamSpan {
    std::uint64_t frames = 0;
    std::int64_t firstNs = 0, lastNs = 0;
  };
  StreamSpan stream;
  // The time origin (the whole stream's first observation) and the span `--at` is judged by; what the accounting
  // above says when `stream` was not filled in (a report built without a Pass).
  std::int64_t originNs() const { return stream.frames > 0 ? stream.firstNs : firstNs; }
  StreamSpan wholeSpan() const { return stream.frames > 0 ? stream : StreamSpan{frames, firstNs, lastNs}; }

  // pcapng blocks read past (name resolution, statistics, …), by type: capture/capture_reader.h.
  std::map<std::string, std::uint64_t> skippedBlocks;

  // Flow logs (capture/flow_log.h): set when the run read records instead of frames; `frames` then counts records
  // and `bytes` their bytes. Drift rows are kept up to kMaxDriftRows distinct rows (further records still count).
  bool flowLog = false;
  FlowLogCounts flowLogCounts;
  std::vector<DriftRow> drift;                                         // unranked; driftRanked() orders them
  boost::unordered_flat_map<std::uint64_t, std::uint32_t> driftIndex;  // identity hash → first row (rows chain)
  static constexpr std::size_t kMaxDriftRows = 100000;
  std::uint64_t driftUnlisted = 0;  // drift records of rows met after the first kMaxDriftRows: counted, not listed
  // The position among the input's records of the record add() is given next, when the pass knows it (a shard's
  // pass in place: Pass::stepShard); 0 otherwise. Becomes a new drift row's firstRecord.
  std::uint64_t ordinal = 0;

  // Names the capture files (by fileIndex), so that add() keeps each one's span.
  void setCaptures(const std::vector<std::string>& files);
  void add(const Frame& f, const PacketKey& k, const PacketVerdict& v);
  // A flow-log record's counts and its drift (add() calls it for a frame that is a record).
  void addRecord(const FlowRecord& r, const PacketVerdict& v);
};

enum class ReplayFormat { Text, Jsonl, Csv, Summary, Json };

struct ReplayContext {
  const Network* network = nullptr;
  std::vector<std::string> captureNames;  // by Frame::fileIndex; shown when more than one
  std::int64_t originNs = 0;              // first frame's time (text output shows time relative to it)
  std::vector<Error> warnings;            // known before the first frame (model, requests): streamed formats
                                          // put them first; ReplayStats::warnings holds these and later ones
  // --decap vxlan:PORT (0 without): text lines of decapsulated frames end "(VXLAN PORT vni N)", JSON Lines records
  // carry "vni" (null for a frame evaluated as itself), CSV rows a last column `vni`.
  std::uint16_t vxlanPort = 0;
  std::optional<Shard> shard;  // a shard's run (--shard K/N): the JSON summary's last member, "shard"
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
// The summary as one JSON document (`replay --format json`, issue 13), with whatif's names where the meaning is the
// same: captures, captureSpans, warnings, errors, totals (frames, bytes, per verdict, flow-log counts), outcomes (per
// verdict and reason, in the summary's order), notIp / undecodable / skippedBlocks by detail, drift (flow logs:
// every row, ranked), and "shard" last for a shard's run. `network` names the drift rows.
std::string renderReplayJson(const ReplayStats& s, const std::vector<std::string>& captures, const Network& network,
                             const std::optional<Shard>& shard);
// The same text written to `os` in pieces as it is made.
void writeReplayJson(std::ostream& os, const ReplayStats& s, const std::vector<std::string>& captures,
                     const Network& network, const std::optional<Shard>& shard);
// "pcaps/a.pcap: 1391 frames, 2024-05-01T09:00:05.000000000Z .. 2024-05-01T09:09:46.001000000Z (+0.000s ..
// +581.001s, 581.001 s)", offsets from originNs; "pcaps/b.pcap: 0 frames" for an empty one.
std::string describeCaptureSpan(const CaptureSpan& c, std::int64_t originNs);

// The warning that the flow table was full, when it was (every format reports it): `packets` were decided without
// connection state. flowCapPackets reads the count back from such a warning (merge sums it), nullopt for any other.
std::optional<Error> flowCapWarning(const ReplayStats& s);
Error flowCapWarning(const std::string& where, std::uint64_t packets);
std::optional<std::uint64_t> flowCapPackets(const Error& e);
// The warning that the drift rows were cut at ReplayStats::kMaxDriftRows, when they were (every format reports it):
// `unlisted` drift records belong to rows met after the ones listed. driftCapUnlisted reads the count back from such
// a warning (merge recomputes it), nullopt for any other.
std::optional<Error> driftCapWarning(const ReplayStats& s);
Error driftCapWarning(std::uint64_t unlisted);
std::optional<std::uint64_t> driftCapUnlisted(const Error& e);
// Every warning of the run, the full flow table's and the drift rows' cut included: what each report format lists.
std::vector<Error> allWarnings(const ReplayStats& s);
// The "captureSpans" member of every JSON report: each source's frames, first and last (null for a source that
// held none).
boost::json::array captureSpansJson(const ReplayStats& s);
// The replay summary's "outcomes" list and its "notIp", "undecodable" and "skippedBlocks" maps, in that order (the
// JSON report and the HTML page's data).
void addOutcomesJson(boost::json::object& root, const ReplayStats& s);

// The rule id (or "") of a check, for reports.
std::string checkRuleId(const Network& n, const Check& c);
std::string checkGroupId(const Network& n, const Check& c);

// Drift rows most bytes first (then records, then first line).
std::vector<DriftRow> driftRanked(const ReplayStats& s);
// The counts of a run that read flow logs, as text lines ("flow logs: 12 records, 340 packets, …; drift: …").
std::string renderFlowLogCounts(const ReplayStats& s);
// The drift rows as text, at most `limit` (0: all), with the network naming ENIs and rules.
std::string renderDriftText(const ReplayStats& s, const Network& n, std::size_t limit);
// The flow-log counts as JSON members (no braces): "records":…,"packets":…,"noDataRecords":…,"driftRecords":…
std::string flowLogCountsJson(const ReplayStats& s);
// The drift rows as a JSON array, at most `limit` (0: all).
std::string driftJson(const ReplayStats& s, const Network& n, std::size_t limit);
// One row of driftJson (the same members and values) appended as toPrettyJson lays it out `indent` spaces deep, for a
// report that writes its rows one at a time instead of parsing the whole list into its tree.
void appendDriftRowJson(std::string& out, const ReplayStats& s, const Network& n, const DriftRow& r, int indent);
// The "drift" list of a JSON report (model/model_json.h, writePrettyJson): the rows ranked as driftRanked, each as
// appendDriftRowJson writes it. `s` and `n` must outlive it.
PrettyRows driftPrettyRows(const ReplayStats& s, const Network& n);

}  // namespace sgsim
