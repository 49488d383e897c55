#pragma once
// The pieces every HTML report is made of (report/html.h): the page with its style sheet and JSON block, the
// issues, the timeline and the rule tables with bars. Private to src/report.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/core/result.h"
#include "sgsim/report/replay_report.h"
#include "sgsim/verdict/header_space.h"
#include "sgsim/verdict/network.h"

namespace sgsim::html {

// A page: a title, sections of markup (already escaped), and the report's JSON for the data block.
class Page {
 public:
  explicit Page(std::string title) : title_(std::move(title)) {}
  void add(std::string markup) { body_ += markup; }
  // The whole document; `json` goes (made script-safe) into <script type="application/json" id="sgsim-report">.
  std::string finish(const std::string& json) const;

 private:
  std::string title_;
  std::string body_;
};

// <h2>…</h2> and a paragraph: `text` is escaped.
std::string heading(const std::string& text);
std::string para(const std::string& text, const std::string& cls = "");
// The warnings and errors, each "where: message", in a box that says what they are; empty when there are none.
std::string issues(const std::vector<Error>& warnings, const std::vector<Error>& errors);
// A two-column table of label → value (both escaped).
std::string facts(const std::vector<std::pair<std::string, std::string>>& rows);
// What a run over flow logs adds (issue 10): the records' counts (records, packets, bytes, NODATA, SKIPDATA, bad)
// and the drift — the model's verdict against each record's logged action — as the text report words them, at
// most 50 drift rows; empty for a run over captures.
std::string flowLogSection(const ReplayStats& s, const Network* net);
// An inline SVG bar of value/max (max 0: an empty bar), with the value written beside it.
std::string bar(std::uint64_t value, std::uint64_t max, const std::string& cls);

// One line of a timeline: from firstNs to lastNs, a mark at markNs (e.g. the moment a flow changed).
struct Span {
  std::string label;  // plain text
  std::string cls;    // "cut", "opened", "accept", …
  std::int64_t firstNs = 0, lastNs = 0;
  std::string attrs;  // extra data-* attributes (already escaped)
};
struct Timeline {
  std::int64_t startNs = 0, endNs = 0;  // the capture
  std::int64_t originNs = 0;            // offsets are written from here
  std::optional<std::int64_t> atNs;     // a vertical mark ("--at")
  std::string atLabel;
  std::vector<Span> spans;
  std::size_t more = 0;  // spans left out ("… and N more")
};
std::string timelineSvg(const Timeline& t);

// A stacked histogram of counts over time (replay: accepted / dropped frames per bucket).
struct Histogram {
  std::int64_t startNs = 0, endNs = 0, originNs = 0;
  std::vector<std::string> series;                  // class names, bottom first ("accept", "drop", "none")
  std::vector<std::vector<std::uint64_t>> buckets;  // per bucket, one count per series
};
std::string histogramSvg(const Histogram& h);

// The rule tables. A metric is one figure per entry, drawn as a bar scaled to its largest value in the report.
struct Metric {
  std::string key;    // data-<key> on each row
  std::string label;  // column heading
  std::string cls;    // bar colour class
};
struct Entry {
  std::string kind;  // "rule", "intra-group", "default"
  int rank = 0;
  std::string ruleId, groupId;
  std::string policy;                   // "accept" / "drop"
  std::string priority;                 // "1" … "100", "-" for intra-group and default
  std::string what;                     // "TCP 22/22 from 203.0.113.0/24", "members of sg-web", "anything else"
  std::string description;              // the rule's own Description (user text)
  std::string change;                   // "", "removed", "added"
  std::vector<std::string> shadowedBy;  // non-empty: greyed
  std::string badge;                    // e.g. an audit verdict
  std::string note;
  std::string attrs;                                 // more data-* attributes for the row (already escaped)
  std::vector<std::optional<std::uint64_t>> values;  // one per metric; nullopt: no figure for it
};
struct Table {
  std::string eni, direction;
  std::string heading;  // plain text
  std::vector<std::string> notes;
  std::vector<Entry> entries;
};
std::string tables(const std::vector<Metric>& metrics, const std::vector<Table>& tables);

// A table in evaluation order from a network: the intra-group accept of the ENI's basic Accept groups, then
// rules(eni, d), then the default (SEMANTICS §3). Shadowed marks from `analysis` when given (the table's own).
Table networkTable(const Network& net, std::size_t eni, Direction d, const HsTableAnalysis* analysis);
// The analysis of (eni, d) among `analyses`, or null.
const HsTableAnalysis* findAnalysis(const std::vector<HsTableAnalysis>& analyses, std::size_t eni, Direction d);
// "sgr-ssh", "intra-group sg-web", "default drop".
std::string deciderName(const Network& net, std::size_t eni, Direction d, const HsDecider& who);

// Offsets as the text reports write them.
std::string offset(std::int64_t ns, std::int64_t originNs);

}  // namespace sgsim::html
