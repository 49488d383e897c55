#include "sgsim/report/merge.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "sgsim/core/proto_text.h"
#include "sgsim/core/time_spec.h"
#include "sgsim/model/model_json.h"
#include "sgsim/report/format.h"
#include "sgsim/verdict/whatif.h"

namespace sgsim {

const char* toString(ReportKind k) {
  switch (k) {
    case ReportKind::WhatIf:
      return "whatif";
    case ReportKind::Audit:
      return "audit";
    case ReportKind::Replay:
      return "replay --format json";
  }
  return "?";
}

namespace {

namespace json = boost::json;

// How a member merges (the rules of merge.h).
enum class How : std::uint8_t {
  Equal,
  Sum,
  Spans,
  Warnings,
  Errors,
  Totals,
  Drift,
  Flows,
  Fallback,
  Space,
  Outcomes,
  Details,
  AuditRules
};

struct Member {
  const char* name;
  How how;
};

const std::vector<Member>& membersOf(ReportKind k) {
  static const std::vector<Member> whatif = {{"captures", How::Equal},
                                             {"captureSpans", How::Spans},
                                             {"warnings", How::Warnings},
                                             {"errors", How::Errors},
                                             {"requests", How::Equal},
                                             {"at", How::Equal},
                                             {"keepEstablished", How::Equal},
                                             {"atOutsideCapture", How::Equal},
                                             {"totals", How::Totals},
                                             {"drift", How::Drift},
                                             {"fallback", How::Fallback},
                                             {"flows", How::Flows},
                                             {"space", How::Space}};
  static const std::vector<Member> audit = {
      {"captures", How::Equal}, {"captureSpans", How::Spans}, {"frames", How::Sum},  {"warnings", How::Warnings},
      {"errors", How::Errors},  {"totals", How::Totals},      {"drift", How::Drift}, {"rules", How::AuditRules}};
  static const std::vector<Member> replay = {{"captures", How::Equal},        {"captureSpans", How::Spans},
                                             {"warnings", How::Warnings},     {"errors", How::Errors},
                                             {"totals", How::Totals},         {"outcomes", How::Outcomes},
                                             {"notIp", How::Details},         {"undecodable", How::Details},
                                             {"skippedBlocks", How::Details}, {"drift", How::Drift}};
  switch (k) {
    case ReportKind::WhatIf:
      return whatif;
    case ReportKind::Audit:
      return audit;
    case ReportKind::Replay:
      break;
  }
  return replay;
}

const std::vector<std::string> kFlowLogTotals = {"records",         "recordPackets", "recordBytes",     "noDataRecords",
                                                 "skipDataRecords", "badRecords",    "comparedRecords", "driftRecords",
                                                 "driftPackets",    "driftBytes"};

std::vector<std::string> totalsOf(ReportKind k) {
  std::vector<std::string> t;
  if (k == ReportKind::WhatIf)
    t = {"frames",
         "changedFlows",
         "cutFlows",
         "openedFlows",
         "changedPackets",
         "changedBytes",
         "flowsCutAtInstant",
         "flowsReleasedAtInstant",
         "unmatchedFragments",
         "openerUnknownFlows"};
  else if (k == ReportKind::Replay)
    t = {"frames", "bytes", "accepted", "dropped", "noVerdict", "untrackedPackets"};
  t.insert(t.end(), kFlowLogTotals.begin(), kFlowLogTotals.end());
  return t;
}

// A report's long lists (whatif's and replay's drift rows, whatif's changed flows), kept as the text of each row
// rather than in the report's tree: a merge of two flow-log shards' reports of 27 MB each built trees of 360 MB, and
// the kernel's zeroing of their pages was 58% of its time. Each row is parsed when it is merged and again when it is
// written, one at a time, into the same small buffer (RowParser).
struct Rows {
  std::vector<std::string_view> drift, flows;
  bool hasDrift = false, hasFlows = false;
};

struct Doc {
  std::string name;
  std::string_view text;  // the report's whole text
  json::object root;      // with Rows: the lists "drift" and "flows" here are empty, their rows in `rows`
  Rows rows;
  std::vector<std::uint32_t> shards;  // ascending
  std::uint32_t count = 1;
  std::uint32_t hash = kShardHash;  // the shard hash's version (core/shard.h); 1 for a report without one
};

// The scan of a report's text for where its values end (splitRows); npos where the text is not JSON as far as it
// looks. It checks only what splitRows needs: each row and the rest are parsed after it.
constexpr std::size_t kNot = std::string_view::npos;

bool blank(char ch) { return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'; }

std::size_t skipBlank(std::string_view t, std::size_t i) {
  while (i < t.size() && blank(t[i])) ++i;
  return i;
}

std::size_t skipString(std::string_view t, std::size_t i) {  // t[i] is the opening quote
  const char* const begin = t.data() + i + 1;
  const char* const end = t.data() + t.size();
  for (const char* p = begin;;) {
    const auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
    if (!q) return kNot;
    const char* b = q;
    while (b > begin && b[-1] == '\\') --b;
    if ((q - b) % 2 == 0) return static_cast<std::size_t>(q - t.data()) + 1;  // not escaped
    p = q + 1;
  }
}

std::size_t skipValue(std::string_view t, std::size_t i) {
  static constexpr auto kMarks = [] {
    std::array<bool, 256> m{};
    for (const unsigned char ch : {'"', '{', '[', '}', ']'}) m[ch] = true;
    return m;
  }();
  if (i >= t.size()) return kNot;
  if (t[i] == '"') return skipString(t, i);
  if (t[i] == '{' || t[i] == '[') {
    std::size_t depth = 0;
    for (; i < t.size(); ++i) {
      const char ch = t[i];
      if (!kMarks[static_cast<unsigned char>(ch)]) continue;
      if (ch == '"') {
        i = skipString(t, i);
        if (i == kNot) return kNot;
        --i;
      } else if (ch == '{' || ch == '[') {
        ++depth;
      } else if ((ch == '}' || ch == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return kNot;
  }
  const std::size_t from = i;
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && !blank(t[i])) ++i;
  return i == from ? kNot : i;
}

// A report's top-level lists "drift" and "flows", each row's text, and the rest of the report with those lists
// emptied; nullopt (parse it whole, which says what is wrong) unless the text is an object whose keys have no escapes
// and name each list once, with values, colons and commas where JSON has them.
std::optional<std::pair<std::string, Rows>> splitRows(std::string_view t) {
  std::size_t i = skipBlank(t, 0);
  if (i == t.size() || t[i] != '{') return std::nullopt;
  std::string rest;
  Rows rows;
  std::size_t copied = 0;  // t[copied, …) is still to copy into rest
  i = skipBlank(t, i + 1);
  if (i < t.size() && t[i] == '}') return std::make_pair(std::string(t), std::move(rows));
  for (;;) {
    if (i >= t.size() || t[i] != '"') return std::nullopt;
    const std::size_t keyEnd = skipString(t, i);
    if (keyEnd == kNot) return std::nullopt;
    const std::string_view key = t.substr(i + 1, keyEnd - i - 2);
    if (key.find('\\') != std::string_view::npos) return std::nullopt;
    i = skipBlank(t, keyEnd);
    if (i >= t.size() || t[i] != ':') return std::nullopt;
    i = skipBlank(t, i + 1);
    const bool drift = key == "drift", flows = key == "flows";
    if ((drift && rows.hasDrift) || (flows && rows.hasFlows)) return std::nullopt;
    std::size_t valueEnd = kNot;
    if ((drift || flows) && i < t.size() && t[i] == '[') {
      // Row by row, in one pass over the list (skipping the whole list first read every row twice).
      (drift ? rows.hasDrift : rows.hasFlows) = true;
      std::vector<std::string_view>& list = drift ? rows.drift : rows.flows;
      std::size_t j = skipBlank(t, i + 1);
      while (j < t.size() && t[j] != ']') {
        const std::size_t end = skipValue(t, j);
        if (end == kNot) return std::nullopt;
        list.push_back(t.substr(j, end - j));
        j = skipBlank(t, end);
        if (j < t.size() && t[j] == ',') {
          j = skipBlank(t, j + 1);
          if (j < t.size() && t[j] == ']') return std::nullopt;  // a comma before the end
        } else if (j < t.size() && t[j] != ']') {
          return std::nullopt;
        }
      }
      if (j >= t.size()) return std::nullopt;
      valueEnd = j + 1;
      rest.append(t.substr(copied, i - copied));
      rest += "[]";
      copied = valueEnd;
    } else {
      valueEnd = skipValue(t, i);
      if (valueEnd == kNot) return std::nullopt;
    }
    i = skipBlank(t, valueEnd);
    if (i < t.size() && t[i] == ',') {
      i = skipBlank(t, i + 1);
      continue;
    }
    if (i < t.size() && t[i] == '}') break;
    return std::nullopt;
  }
  rest.append(t.substr(copied));
  return std::make_pair(std::move(rest), std::move(rows));
}

// The error of a report that is not JSON, as json::parse words what is wrong with its whole text.
Error notJson(const std::string& name, std::string_view text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  return Error{name, "not JSON (" + (ec ? ec.message() : std::string("nested too deep")) +
                         "): give the JSON reports of whatif, audit or replay --format json"};
}

// One row at a time, each into the same buffer (Rows).
class RowParser {
 public:
  // Rows sit two deep in their report: json::parse's depth limit (32) counts them from there.
  RowParser() : parser_(json::storage_ptr(), rowOptions()) {}
  RowParser(const RowParser&) = delete;
  RowParser& operator=(const RowParser&) = delete;
  // The row's value, valid until the next call; null when its text is not JSON (the report's error: notJson).
  json::value* parse(std::string_view text) {
    value_.reset();
    resource_.release();
    parser_.reset(json::storage_ptr(&resource_));
    boost::system::error_code ec;
    parser_.write(text.data(), text.size(), ec);
    if (ec) return nullptr;
    return &value_.emplace(parser_.release());  // its storage the buffer's: moved, not copied
  }

 private:
  static json::parse_options rowOptions() {
    json::parse_options o;
    o.max_depth = 30;
    return o;
  }
  unsigned char buffer_[16384];
  json::monotonic_resource resource_{buffer_, sizeof buffer_};
  json::parser parser_;
  std::optional<json::value> value_;
};

// Runs here() on this thread and there(parser) on a second one with a RowParser of its own (the long lists' rows
// read or written in two halves), waits for both, and rethrows what either threw.
template <class Here, class There>
void onTwoThreads(Here&& here, There&& there) {
  std::exception_ptr failed;
  std::thread other([&] {
    try {
      RowParser parser;
      there(parser);
    } catch (...) {
      failed = std::current_exception();
    }
  });
  try {
    here();
  } catch (...) {
    other.join();
    throw;
  }
  other.join();
  if (failed) std::rethrow_exception(failed);
}

// The first failure met; every check returns false once it is set.
struct Ctx {
  std::optional<Error> error;
  bool fail(const std::string& file, const std::string& path, const std::string& message) {
    if (!error) error = Error{file + (path.empty() ? "" : ": " + path), message};
    return false;
  }
};

std::string listText(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i == 0 ? "" : i + 1 == v.size() ? " and " : ", ") + v[i];
  return s;
}

bool countOf(Ctx& c, const std::string& file, const std::string& path, const json::value& v, std::uint64_t& out) {
  if (v.is_uint64()) return out = v.get_uint64(), true;
  if (v.is_int64() && v.get_int64() >= 0) return out = static_cast<std::uint64_t>(v.get_int64()), true;
  return c.fail(file, path, "not a count (a whole number, 0 or more)");
}

bool stringOf(Ctx& c, const std::string& file, const std::string& path, const json::value& v, std::string& out) {
  if (!v.is_string()) return c.fail(file, path, "not a string");
  out = std::string(v.get_string());
  return true;
}

// A string or null ("" for null), as reports write an absent rule, group or ENI.
bool nullableOf(Ctx& c, const std::string& file, const std::string& path, const json::value& v, std::string& out) {
  if (v.is_null()) return out.clear(), true;
  return stringOf(c, file, path, v, out);
}

// A time as reports write it (RFC 3339 UTC with nanoseconds), or null.
bool timeOf(Ctx& c, const std::string& file, const std::string& path, const json::value& v,
            std::optional<std::int64_t>& out) {
  if (v.is_null()) return out.reset(), true;
  if (v.is_string()) {
    const std::string s(v.get_string());
    auto t = parseTimeSpec(s, path);
    if (t && t->base == TimeSpec::Base::Epoch && isoTime(t->ns) == s) return out = t->ns, true;
  }
  return c.fail(file, path, "not a time as sgsim writes it (RFC 3339 UTC with nanoseconds, or null)");
}

const json::object* objectOf(Ctx& c, const std::string& file, const std::string& path, const json::value& v) {
  if (!v.is_object()) return c.fail(file, path, "not an object"), nullptr;
  return &v.get_object();
}

const json::array* arrayOf(Ctx& c, const std::string& file, const std::string& path, const json::value& v) {
  if (!v.is_array()) return c.fail(file, path, "not an array"), nullptr;
  return &v.get_array();
}

// Every member of `o` is one of `known`, and each of `required` is there.
bool checkKeys(Ctx& c, const std::string& file, const std::string& path, const json::object& o,
               const std::vector<std::string>& known, const std::vector<std::string>& required) {
  for (const auto& kv : o)
    if (std::find(known.begin(), known.end(), std::string(kv.key())) == known.end())
      return c.fail(file, path + (path.empty() ? "" : ".") + std::string(kv.key()),
                    "not a member merge knows here (known: " + listText(known) +
                        "); a report of another sgsim version? merge reports of one sgsim");
  for (const auto& k : required)
    if (!o.contains(k)) return c.fail(file, path, "lacks the member \"" + k + "\"");
  return true;
}

std::string at(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

template <class E>
std::optional<E> enumNamed(const std::string& s, int n) {
  for (int i = 0; i < n; ++i)
    if (s == toString(static_cast<E>(i))) return static_cast<E>(i);
  return std::nullopt;
}

bool verdictOf(Ctx& c, const std::string& file, const std::string& path, const json::value& v, Verdict& out) {
  std::string s;
  if (!stringOf(c, file, path, v, s)) return false;
  auto e = enumNamed<Verdict>(s, 3);
  if (!e) return c.fail(file, path, "\"" + s + "\" is not a verdict (accept, drop or none)");
  return out = *e, true;
}

bool reasonOf(Ctx& c, const std::string& file, const std::string& path, const json::value& v, Reason& out) {
  std::string s;
  if (!stringOf(c, file, path, v, s)) return false;
  auto e = enumNamed<Reason>(s, static_cast<int>(Reason::Undecodable) + 1);
  if (!e) return c.fail(file, path, "\"" + s + "\" is not a reason sgsim reports");
  return out = *e, true;
}

// ---- the members ------------------------------------------------------------------------------------------

struct SpanAcc {
  std::string file;
  std::uint64_t frames = 0;
  std::optional<std::int64_t> first, last;
};

// A listed row's JSON stays where it was parsed (the reports live until the merge ends): copied once, into the
// merged report.
struct FlowItem {
  ChangedFlow key;                      // the ranking's fields
  std::string_view text;                // the row's text (Rows), or
  const json::object* value = nullptr;  // the row in its report's tree
};

struct DriftItem {
  std::uint64_t bytes = 0, records = 0, firstFile = 0, firstLine = 0;
  std::uint64_t firstRecord = 0;  // the row's first record's position in the whole input (shards in place), or 0
  std::string_view text;          // the row's text (Rows), or
  const json::object* value = nullptr;  // the row in its report's tree
};

struct FallbackAcc {
  Verdict verdict = Verdict::None;
  Reason reason = Reason::Default;
  std::string rule, group;
  std::uint64_t flows = 0;
};

struct RowAcc {
  json::object row;  // the first shard's, figures replaced at the end
  std::string groupId, ruleId;
  std::uint64_t hits[3] = {0, 0, 0};  // flows, packets, bytes
  std::optional<std::int64_t> first, last;
  RevokeImpact revoked;
  std::vector<FallbackAcc> fallback;
  std::optional<std::string> neverWhy;  // a shard that judged it never-matches: its line (static only)
  std::optional<std::string> safeTail;  // a shard that judged it safe-to-revoke: its line after the lead
  std::size_t firstPosition = 0;        // in the first report (--sort rule)
};

struct State {
  ReportKind kind = ReportKind::WhatIf;
  std::vector<std::string> captures;
  json::object equal;  // members that must be equal: the first report's value
  std::vector<SpanAcc> spans;
  std::uint64_t frames = 0;  // audit's top-level frames
  std::vector<Error> warnings, errors;
  std::optional<Error> flowCap;  // the full-flow-table warning, counts summed
  std::uint64_t flowCapPackets = 0;
  std::size_t shardsMerged = 1;
  std::vector<std::pair<std::string, std::uint64_t>> totals;  // in the first report's order
  std::vector<DriftItem> drift;
  std::uint64_t driftUnlisted = 0;  // after the cut (cutDrift): drift records of rows not listed
  std::vector<FallbackAcc> fallback;
  std::vector<FlowItem> flows;
  std::optional<json::value> space;
  std::map<std::pair<int, int>, std::uint64_t> outcomes;
  std::map<std::string, std::map<std::string, std::uint64_t>> details;
  std::vector<RowAcc> rows;
  RowParser parser;  // the rows of drift and flows, one at a time
};

// Calls f(path, row, text) on each row of the list `name` (drift or flows): parsed (by `parser`) from its text when
// the report's Rows hold it (text is that), else the row of the report's tree (text empty).
template <class F>
bool eachRow(Ctx& c, RowParser& parser, const Doc& d, const std::string& name, const json::value& v, F&& f) {
  if (name == "drift" ? d.rows.hasDrift : d.rows.hasFlows) {
    const std::vector<std::string_view>& list = name == "drift" ? d.rows.drift : d.rows.flows;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const json::value* row = parser.parse(list[i]);
      if (!row) {
        c.error = notJson(d.name, d.text);
        return false;
      }
      if (!f(at(name, i), *row, list[i])) return false;
    }
    return true;
  }
  const json::array* a = arrayOf(c, d.name, name, v);
  if (!a) return false;
  for (std::size_t i = 0; i < a->size(); ++i)
    if (!f(at(name, i), (*a)[i], std::string_view())) return false;
  return true;
}

bool mergeSpans(Ctx& c, State& s, const Doc& d, const json::value& v, bool first) {
  const json::array* a = arrayOf(c, d.name, "captureSpans", v);
  if (!a) return false;
  if (!first && a->size() != s.spans.size())
    return c.fail(
        d.name, "captureSpans",
        "lists " + std::to_string(a->size()) + " captures, the first report " + std::to_string(s.spans.size()));
  if (first) s.spans.resize(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string path = at("captureSpans", i);
    const json::object* o = objectOf(c, d.name, path, (*a)[i]);
    if (!o || !checkKeys(c, d.name, path, *o, {"file", "frames", "first", "last"}, {"file", "frames", "first", "last"}))
      return false;
    std::string file;
    std::uint64_t frames = 0;
    std::optional<std::int64_t> f, l;
    if (!stringOf(c, d.name, path + ".file", o->at("file"), file) ||
        !countOf(c, d.name, path + ".frames", o->at("frames"), frames) ||
        !timeOf(c, d.name, path + ".first", o->at("first"), f) || !timeOf(c, d.name, path + ".last", o->at("last"), l))
      return false;
    SpanAcc& acc = s.spans[i];
    if (first) acc.file = file;
    if (file != acc.file) return c.fail(d.name, path + ".file", "\"" + file + "\", not \"" + acc.file + "\" as before");
    acc.frames += frames;
    if (f && (!acc.first || *f < *acc.first)) acc.first = f;
    if (l && (!acc.last || *l > *acc.last)) acc.last = l;
  }
  return true;
}

bool issuesOf(Ctx& c, const Doc& d, const std::string& name, const json::value& v, std::vector<Error>& out) {
  const json::array* a = arrayOf(c, d.name, name, v);
  if (!a) return false;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string path = at(name, i);
    const json::object* o = objectOf(c, d.name, path, (*a)[i]);
    Error e;
    if (!o || !checkKeys(c, d.name, path, *o, {"where", "message"}, {"where", "message"}) ||
        !stringOf(c, d.name, path + ".where", o->at("where"), e.where) ||
        !stringOf(c, d.name, path + ".message", o->at("message"), e.message))
      return false;
    out.push_back(std::move(e));
  }
  return true;
}

void addOnce(std::vector<Error>& to, const Error& e) {
  for (const Error& x : to)
    if (x.where == e.where && x.message == e.message) return;
  to.push_back(e);
}

// What merge adds after the full flow table's warning of several shards: each had a table of its own, so the
// figures are not those of one run (which would have held every shard's live flows in one table).
const std::string kShardTables =
    "each shard's run had a flow table of its own, so where they were full the merged figures are the shards', not "
    "those of one run over all the traffic (give every shard a --max-flows that holds the whole run's live flows)";

bool mergeWarnings(Ctx& c, State& s, const Doc& d, const json::value& v) {
  std::vector<Error> w;
  if (!issuesOf(c, d, "warnings", v, w)) return false;
  for (const Error& e : w) {
    if (e.message == kShardTables) continue;  // a partial merge's: added again at the end
    if (driftCapUnlisted(e)) continue;        // recomputed once the rows are cut as one run cuts them (cutDrift)
    if (auto n = flowCapPackets(e)) {
      if (!s.flowCap) s.flowCap = e;
      s.flowCapPackets += *n;
      continue;
    }
    addOnce(s.warnings, e);
  }
  return true;
}

bool mergeTotals(Ctx& c, State& s, const Doc& d, const json::value& v, bool first) {
  const json::object* o = objectOf(c, d.name, "totals", v);
  if (!o) return false;
  const std::vector<std::string> known = totalsOf(s.kind);
  std::vector<std::string> required;
  if (!first)
    for (const auto& [k, n] : s.totals) required.push_back(k);
  if (!checkKeys(c, d.name, "totals", *o, known, required)) return false;
  if (!first && o->size() != s.totals.size())
    return c.fail(d.name, "totals", "has members the first report's totals lack");
  for (const auto& kv : *o) {
    const std::string k(kv.key());
    std::uint64_t n = 0;
    if (!countOf(c, d.name, "totals." + k, kv.value(), n)) return false;
    if (first) {
      s.totals.emplace_back(k, n);
    } else {
      for (auto& [name, sum] : s.totals)
        if (name == k) sum += n;
    }
  }
  return true;
}

std::optional<std::uint64_t> totalOf(const State& s, const std::string& name) {
  for (const auto& [k, n] : s.totals)
    if (k == name) return n;
  return std::nullopt;
}

// "pcaps/a.log: line 12" → (index of the capture, 12)
bool driftFirst(Ctx& c, const State& s, const Doc& d, const std::string& path, const json::value& v, DriftItem& item) {
  std::string t;
  if (!stringOf(c, d.name, path, v, t)) return false;
  const auto sep = t.rfind(": line ");
  if (sep != std::string::npos) {
    const std::string file = t.substr(0, sep), line = t.substr(sep + 7);
    const auto it = std::find(s.captures.begin(), s.captures.end(), file);
    if (it != s.captures.end() && !line.empty() && line.size() <= 18 &&
        line.find_first_not_of("0123456789") == std::string::npos) {
      item.firstFile = static_cast<std::uint64_t>(it - s.captures.begin());
      item.firstLine = std::stoull(line);
      return true;
    }
  }
  return c.fail(d.name, path, "\"" + t + "\" is not FILE: line N with FILE one of the report's captures");
}

// A report's drift rows, each checked, into `out`; false at the first that is wrong (c says why). Reads only the
// report and the captures' names in `s`: the reports' rows are read on two threads at once (Prepared).
bool driftRows(Ctx& c, const State& s, const Doc& d, const json::value& v, RowParser& parser,
               std::vector<DriftItem>& out) {
  return eachRow(
      c, parser, d, "drift", v, [&](const std::string& path, const json::value& row, std::string_view text) {
        const json::object* o = objectOf(c, d.name, path, row);
        static const std::vector<std::string> keys = {"proto",     "src",     "dst",     "dport",  "eni",
                                                      "direction", "logged",  "verdict", "reason", "rule",
                                                      "records",   "packets", "bytes",   "first"};
        // firstRecord: shards in place or through an index (report/replay_report.h, DriftRow::firstRecord)
        static const std::vector<std::string> known = [] {
          std::vector<std::string> k = keys;
          k.push_back("firstRecord");
          return k;
        }();
        DriftItem item;
        if (!o || !checkKeys(c, d.name, path, *o, known, keys) ||
            (o->contains("firstRecord") &&
             (!countOf(c, d.name, path + ".firstRecord", o->at("firstRecord"), item.firstRecord) ||
              (item.firstRecord == 0 && c.fail(d.name, path + ".firstRecord", "0: positions count from 1")))) ||
            !countOf(c, d.name, path + ".bytes", o->at("bytes"), item.bytes) ||
            !countOf(c, d.name, path + ".records", o->at("records"), item.records) ||
            !driftFirst(c, s, d, path + ".first", o->at("first"), item))
          return false;
        item.text = text;
        if (text.empty()) item.value = o;
        out.push_back(std::move(item));
        return true;
      });
}

// A list's rows read ahead (Prepared), or the first failure among them.
template <class Item>
struct ReadRows {
  std::vector<Item> items;
  std::optional<Error> error;
};

// Rows read ahead, appended to `into`; false (c says why) when reading them failed.
template <class Item>
bool takeRows(Ctx& c, const ReadRows<Item>& ahead, std::vector<Item>& into) {
  if (ahead.error) {
    c.error = ahead.error;
    return false;
  }
  into.insert(into.end(), ahead.items.begin(), ahead.items.end());
  return true;
}

// `ahead`: the report's drift rows read ahead, or null (read here).
bool mergeDrift(Ctx& c, State& s, const Doc& d, const json::value& v, ReadRows<DriftItem>* ahead) {
  const std::size_t before = s.drift.size();
  if (ahead ? !takeRows(c, *ahead, s.drift) : !driftRows(c, s, d, v, s.parser, s.drift)) return false;
  std::uint64_t records = 0;
  for (std::size_t i = before; i < s.drift.size(); ++i) records += s.drift[i].records;
  // A run keeps at most ReplayStats::kMaxDriftRows rows, the first it meets (further records are counted, not
  // listed). A shard's list cut so is still exact to merge when its rows say where they were met (firstRecord: shards
  // in place): the whole run's first rows are among each shard's first ones (cutDrift). Without that, it is not.
  const json::value* totals = d.root.if_contains("totals");
  const json::value* drift = totals && totals->is_object() ? totals->get_object().if_contains("driftRecords") : nullptr;
  std::uint64_t counted = 0;
  const bool placed = std::all_of(s.drift.begin() + static_cast<std::ptrdiff_t>(before), s.drift.end(),
                                  [](const DriftItem& i) { return i.firstRecord != 0; });
  if (drift && countOf(c, d.name, "totals.driftRecords", *drift, counted) && counted != records && !placed)
    return c.fail(d.name, "drift",
                  "its rows hold " + std::to_string(records) + " of the " + std::to_string(counted) +
                      " drift records (totals.driftRecords): the list was cut short (at most " +
                      std::to_string(ReplayStats::kMaxDriftRows) +
                      " rows) and its rows do not say where they were met (firstRecord, in shards run in place), so "
                      "the report cannot be merged exactly: run the shards in place (--shard K/N over the flow logs)");
  return !c.error;
}

// The rows one run lists: the first ReplayStats::kMaxDriftRows it met, in the order it met them (firstRecord), each
// with all its records; and how many drift records the totals count beyond the rows listed (driftCapWarning).
bool cutDrift(Ctx& c, State& s, const std::string& name) {
  if (s.drift.size() > ReplayStats::kMaxDriftRows) {
    if (std::any_of(s.drift.begin(), s.drift.end(), [](const DriftItem& i) { return i.firstRecord == 0; }))
      return c.fail(name, "drift",
                    "the reports list " + std::to_string(s.drift.size()) + " drift rows, more than the " +
                        std::to_string(ReplayStats::kMaxDriftRows) +
                        " one run lists, and not where each was met (firstRecord, in shards run in place), so the "
                        "rows one run lists cannot be told: run the shards in place (--shard K/N over the flow logs)");
    std::sort(s.drift.begin(), s.drift.end(),
              [](const DriftItem& a, const DriftItem& b) { return a.firstRecord < b.firstRecord; });
    s.drift.resize(ReplayStats::kMaxDriftRows);
  }
  std::uint64_t listed = 0;
  for (const DriftItem& i : s.drift) listed += i.records;
  const std::optional<std::uint64_t> total = totalOf(s, "driftRecords");
  s.driftUnlisted = total && *total > listed ? *total - listed : 0;
  return true;
}

bool fallbackOfJson(Ctx& c, const Doc& d, const std::string& name, const json::value& v,
                    std::vector<FallbackAcc>& acc) {
  const json::array* a = arrayOf(c, d.name, name, v);
  if (!a) return false;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string path = at(name, i);
    const json::object* o = objectOf(c, d.name, path, (*a)[i]);
    const std::vector<std::string> keys = {"verdict", "reason", "rule", "group", "flows"};
    FallbackAcc f;
    if (!o || !checkKeys(c, d.name, path, *o, keys, keys) ||
        !verdictOf(c, d.name, path + ".verdict", o->at("verdict"), f.verdict) ||
        !reasonOf(c, d.name, path + ".reason", o->at("reason"), f.reason) ||
        !nullableOf(c, d.name, path + ".rule", o->at("rule"), f.rule) ||
        !nullableOf(c, d.name, path + ".group", o->at("group"), f.group) ||
        !countOf(c, d.name, path + ".flows", o->at("flows"), f.flows))
      return false;
    auto it = std::find_if(acc.begin(), acc.end(), [&](const FallbackAcc& x) {
      return x.verdict == f.verdict && x.reason == f.reason && x.rule == f.rule && x.group == f.group;
    });
    if (it == acc.end())
      acc.push_back(f);
    else
      it->flows += f.flows;
  }
  return true;
}

// fallbackOf's order (verdict/whatif.cpp).
void sortFallback(std::vector<FallbackAcc>& v) {
  std::sort(v.begin(), v.end(), [](const FallbackAcc& x, const FallbackAcc& y) {
    if (x.flows != y.flows) return x.flows > y.flows;
    if (x.rule != y.rule) return x.rule < y.rule;
    if (x.group != y.group) return x.group < y.group;
    if (x.verdict != y.verdict) return x.verdict < y.verdict;
    return x.reason < y.reason;
  });
}

json::array fallbackJson(const std::vector<FallbackAcc>& v) {
  json::array a;
  for (const FallbackAcc& f : v)
    a.push_back(json::object{{"verdict", toString(f.verdict)},
                             {"reason", toString(f.reason)},
                             {"rule", f.rule.empty() ? json::value(nullptr) : json::value(f.rule)},
                             {"group", f.group.empty() ? json::value(nullptr) : json::value(f.group)},
                             {"flows", f.flows}});
  return a;
}

bool sideEni(Ctx& c, const Doc& d, const std::string& path, const json::value& v, std::string& eni) {
  const json::object* o = objectOf(c, d.name, path, v);
  const std::vector<std::string> keys = {"verdict", "reason", "rule", "group", "eni", "direction"};
  return o && checkKeys(c, d.name, path, *o, keys, keys) && nullableOf(c, d.name, path + ".eni", o->at("eni"), eni);
}

// A report's changed flows, each checked, into `out` (as driftRows).
bool flowRows(Ctx& c, const State& s, const Doc& d, const json::value& v, RowParser& parser,
              std::vector<FlowItem>& out) {
  const bool several = s.captures.size() > 1;
  return eachRow(c, parser, d, "flows", v, [&](const std::string& path, const json::value& row, std::string_view text) {
    const json::object* o = objectOf(c, d.name, path, row);
    static const std::vector<std::string> one = {"change", "proto",      "src",       "sport",   "dst",   "dport",
                                                 "opener", "eni",        "direction", "packets", "bytes", "first",
                                                 "last",   "firstFrame", "before",    "after"};
    static const std::vector<std::string> known = [] {
      std::vector<std::string> k = one;
      k.push_back("capture");
      return k;
    }();
    if (!o || !checkKeys(c, d.name, path, *o, known, several ? known : one)) return false;
    FlowItem item;
    ChangedFlow& f = item.key;
    std::string proto, src, dst;
    std::uint64_t sport = 0, dport = 0, frame = 0;
    std::optional<std::int64_t> first;
    if (!countOf(c, d.name, path + ".bytes", o->at("bytes"), f.bytes) ||
        !countOf(c, d.name, path + ".packets", o->at("packets"), f.packets) ||
        !timeOf(c, d.name, path + ".first", o->at("first"), first) ||
        !countOf(c, d.name, path + ".firstFrame", o->at("firstFrame"), frame) ||
        !stringOf(c, d.name, path + ".proto", o->at("proto"), proto) ||
        !stringOf(c, d.name, path + ".src", o->at("src"), src) ||
        !stringOf(c, d.name, path + ".dst", o->at("dst"), dst) ||
        !countOf(c, d.name, path + ".sport", o->at("sport"), sport) ||
        !countOf(c, d.name, path + ".dport", o->at("dport"), dport) ||
        !sideEni(c, d, path + ".before", o->at("before"), f.before.eniId) ||
        !sideEni(c, d, path + ".after", o->at("after"), f.after.eniId))
      return false;
    if (!first) return c.fail(d.name, path + ".first", "null: a changed flow has a first time");
    f.firstNs = *first;
    f.firstFrame = frame;
    auto number = protoFromName(proto);
    if (!number && !proto.empty() && proto.size() <= 3 && proto.find_first_not_of("0123456789") == std::string::npos &&
        std::stoul(proto) <= 255)
      number = static_cast<std::uint8_t>(std::stoul(proto));
    if (!number) return c.fail(d.name, path + ".proto", "\"" + proto + "\" is not a protocol");
    f.proto = *number;
    auto s1 = IpAddr::parse(src), s2 = IpAddr::parse(dst);
    if (!s1) return c.fail(d.name, path + ".src", "\"" + src + "\" is not an IP address");
    if (!s2) return c.fail(d.name, path + ".dst", "\"" + dst + "\" is not an IP address");
    f.src = *s1;
    f.dst = *s2;
    if (sport > 65535 || dport > 65535)
      return c.fail(d.name, path + (sport > 65535 ? ".sport" : ".dport"), "not a port");
    f.sport = static_cast<std::uint16_t>(sport);
    f.dport = static_cast<std::uint16_t>(dport);
    if (several) {
      std::string file;
      if (!stringOf(c, d.name, path + ".capture", o->at("capture"), file)) return false;
      const auto it = std::find(s.captures.begin(), s.captures.end(), file);
      if (it == s.captures.end())
        return c.fail(d.name, path + ".capture", "\"" + file + "\" is not one of the report's captures");
      f.firstFile = static_cast<std::uint16_t>(it - s.captures.begin());
    }
    item.text = text;
    if (text.empty()) item.value = o;
    out.push_back(std::move(item));
    return true;
  });
}

bool mergeFlows(Ctx& c, State& s, const Doc& d, const json::value& v, ReadRows<FlowItem>* ahead) {
  return ahead ? takeRows(c, *ahead, s.flows) : flowRows(c, s, d, v, s.parser, s.flows);
}

// Space: equal in every shard but each region's touched, which is or-ed (null: not marked, in every shard).
json::value withoutTouched(const json::value& v) {
  json::value copy = v;
  if (copy.is_object())
    if (json::value* regions = copy.get_object().if_contains("regions"); regions && regions->is_array())
      for (json::value& r : regions->get_array())
        if (r.is_object()) r.get_object().erase("touched");
  return copy;
}

// null (--no-space) or {"regions": [{…, "touched": true|false|null}, …], …}.
bool checkSpace(Ctx& c, const Doc& d, const json::value& v) {
  if (v.is_null()) return true;
  const json::object* o = objectOf(c, d.name, "space", v);
  if (!o) return false;
  const json::value* regions = o->if_contains("regions");
  if (!regions) return c.fail(d.name, "space", "lacks the member \"regions\"");
  const json::array* a = arrayOf(c, d.name, "space.regions", *regions);
  if (!a) return false;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const json::object* r = objectOf(c, d.name, at("space.regions", i), (*a)[i]);
    if (!r) return false;
    const json::value* t = r->if_contains("touched");
    if (!t || !(t->is_bool() || t->is_null()))
      return c.fail(d.name, at("space.regions", i) + ".touched", "missing, or not true, false or null");
  }
  return true;
}

bool mergeSpace(Ctx& c, State& s, const Doc& d, const json::value& v, const std::string& firstName) {
  if (!checkSpace(c, d, v)) return false;
  if (!s.space) {
    s.space = v;
    return true;
  }
  if (withoutTouched(*s.space) != withoutTouched(v))
    return c.fail(d.name, "space",
                  "differs from " + firstName +
                      "'s: the shards of one run share the model and the requests (merge reports of "
                      "one run)");
  if (!v.is_object()) return true;
  // at(), not operator[]: boost::json's operator[] may grow the table (invalidating references) even for a key
  // that is there.
  const json::array& theirs = v.get_object().at("regions").get_array();
  json::array& out = s.space->get_object().at("regions").get_array();
  for (std::size_t i = 0; i < out.size(); ++i) {
    const json::value& t = theirs[i].get_object().at("touched");
    json::value& m = out[i].get_object().at("touched");
    if (t.is_bool() && m.is_bool())
      m = m.get_bool() || t.get_bool();
    else if (!(t.is_null() && m.is_null()))
      return c.fail(d.name, at("space.regions", i) + ".touched", "not as " + firstName + "'s (true, false or null)");
  }
  return true;
}

bool mergeOutcomes(Ctx& c, State& s, const Doc& d, const json::value& v) {
  const json::array* a = arrayOf(c, d.name, "outcomes", v);
  if (!a) return false;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string path = at("outcomes", i);
    const json::object* o = objectOf(c, d.name, path, (*a)[i]);
    Verdict verdict;
    Reason reason;
    std::uint64_t n = 0;
    if (!o || !checkKeys(c, d.name, path, *o, {"verdict", "reason", "frames"}, {"verdict", "reason", "frames"}) ||
        !verdictOf(c, d.name, path + ".verdict", o->at("verdict"), verdict) ||
        !reasonOf(c, d.name, path + ".reason", o->at("reason"), reason) ||
        !countOf(c, d.name, path + ".frames", o->at("frames"), n))
      return false;
    s.outcomes[{static_cast<int>(verdict), static_cast<int>(reason)}] += n;
  }
  return true;
}

bool mergeDetails(Ctx& c, State& s, const Doc& d, const std::string& name, const json::value& v) {
  const json::object* o = objectOf(c, d.name, name, v);
  if (!o) return false;
  auto& m = s.details[name];
  for (const auto& kv : *o) {
    std::uint64_t n = 0;
    if (!countOf(c, d.name, name + "." + std::string(kv.key()), kv.value(), n)) return false;
    m[std::string(kv.key())] += n;
  }
  return true;
}

// ---- audit rows -------------------------------------------------------------------------------------------

struct RowFigures {
  std::uint64_t hits[3] = {0, 0, 0};
  std::optional<std::int64_t> first, last;
  RevokeImpact revoked;
  std::string verdict, why;
};

bool rowFigures(Ctx& c, const Doc& d, const std::string& path, const json::object& o, RowFigures& f) {
  const json::object* h = objectOf(c, d.name, path + ".hits", o.at("hits"));
  const std::vector<std::string> hk = {"flows", "packets", "bytes", "first", "last"};
  if (!h || !checkKeys(c, d.name, path + ".hits", *h, hk, hk) ||
      !countOf(c, d.name, path + ".hits.flows", h->at("flows"), f.hits[0]) ||
      !countOf(c, d.name, path + ".hits.packets", h->at("packets"), f.hits[1]) ||
      !countOf(c, d.name, path + ".hits.bytes", h->at("bytes"), f.hits[2]) ||
      !timeOf(c, d.name, path + ".hits.first", h->at("first"), f.first) ||
      !timeOf(c, d.name, path + ".hits.last", h->at("last"), f.last))
    return false;
  const json::object* r = objectOf(c, d.name, path + ".ifRevoked", o.at("ifRevoked"));
  const std::vector<std::string> rk = {"changedFlows", "cutFlows", "openedFlows", "changedPackets", "changedBytes"};
  if (!r || !checkKeys(c, d.name, path + ".ifRevoked", *r, rk, rk) ||
      !countOf(c, d.name, path + ".ifRevoked.changedFlows", r->at("changedFlows"), f.revoked.changedFlows) ||
      !countOf(c, d.name, path + ".ifRevoked.cutFlows", r->at("cutFlows"), f.revoked.cutFlows) ||
      !countOf(c, d.name, path + ".ifRevoked.openedFlows", r->at("openedFlows"), f.revoked.openedFlows) ||
      !countOf(c, d.name, path + ".ifRevoked.changedPackets", r->at("changedPackets"), f.revoked.changedPackets) ||
      !countOf(c, d.name, path + ".ifRevoked.changedBytes", r->at("changedBytes"), f.revoked.changedBytes) ||
      !stringOf(c, d.name, path + ".verdict", o.at("verdict"), f.verdict) ||
      !stringOf(c, d.name, path + ".why", o.at("why"), f.why))
    return false;
  return true;
}

// The row order of sortAuditRows (report/audit_report.cpp), on the figures the JSON shows.
struct RowKey {
  int verdict = 0;
  std::uint64_t changedFlows = 0, changedBytes = 0, hitFlows = 0, hitBytes = 0;
  std::string group, rule;
};

bool rowBefore(AuditSort sort, const RowKey& a, const RowKey& b) {
  if (sort == AuditSort::Hits) {
    if (a.hitFlows != b.hitFlows) return a.hitFlows > b.hitFlows;
    if (a.hitBytes != b.hitBytes) return a.hitBytes > b.hitBytes;
  } else {
    if (a.verdict != b.verdict) return a.verdict < b.verdict;
    if (a.changedFlows != b.changedFlows) return a.changedFlows > b.changedFlows;
    if (a.changedBytes != b.changedBytes) return a.changedBytes > b.changedBytes;
    if (a.hitFlows != b.hitFlows) return a.hitFlows > b.hitFlows;
  }
  if (a.group != b.group) return a.group < b.group;
  return a.rule < b.rule;
}

int verdictRank(const std::string& v) {
  for (int i = 0; i < 3; ++i)
    if (v == toString(static_cast<AuditVerdict>(i))) return i;
  return -1;
}

const char* sortName(AuditSort s) { return s == AuditSort::Rule ? "rule" : s == AuditSort::Hits ? "hits" : "impact"; }

bool mergeRules(Ctx& c, State& s, const Doc& d, const json::value& v, bool first, AuditSort sort) {
  const json::array* a = arrayOf(c, d.name, "rules", v);
  if (!a) return false;
  if (!first && a->size() != s.rows.size())
    return c.fail(d.name, "rules",
                  "lists " + std::to_string(a->size()) + " rules, the first report " + std::to_string(s.rows.size()) +
                      ": audit every shard with the same options");
  const std::vector<std::string> keys = {"rule", "group",     "direction", "priority", "policy",  "description", "enis",
                                         "hits", "ifRevoked", "fallback",  "static",   "verdict", "why"};
  std::optional<RowKey> previous;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string path = at("rules", i);
    const json::object* o = objectOf(c, d.name, path, (*a)[i]);
    std::string group, rule;
    RowFigures f;
    if (!o || !checkKeys(c, d.name, path, *o, keys, keys) ||
        !stringOf(c, d.name, path + ".group", o->at("group"), group) ||
        !stringOf(c, d.name, path + ".rule", o->at("rule"), rule) || !rowFigures(c, d, path, *o, f))
      return false;
    const int vr = verdictRank(f.verdict);
    if (vr < 0)
      return c.fail(d.name, path + ".verdict", "\"" + f.verdict + "\" is not in-use, safe-to-revoke or never-matches");
    // The shard's own order must be the --sort given to merge (it ranks the merged rows alike).
    const RowKey key{vr, f.revoked.changedFlows, f.revoked.changedBytes, f.hits[0], f.hits[2], group, rule};
    if (sort != AuditSort::Rule && previous && rowBefore(sort, key, *previous))
      return c.fail(d.name, path,
                    "rule " + rule + " comes after rule " + previous->rule + ", which --sort " + sortName(sort) +
                        " ranks after it: give merge the --sort the audits ran with (impact, rule or hits)");
    previous = key;
    RowAcc* acc = nullptr;
    if (first) {
      s.rows.emplace_back();
      acc = &s.rows.back();
      acc->row = *o;
      acc->groupId = group;
      acc->ruleId = rule;
      acc->firstPosition = i;
    } else {
      auto it = std::find_if(s.rows.begin(), s.rows.end(),
                             [&](const RowAcc& r) { return r.groupId == group && r.ruleId == rule; });
      if (it == s.rows.end())
        return c.fail(
            d.name, path,
            "rule " + rule + " of " + group + " is not in the first report: audit every shard with the same options");
      if (sort == AuditSort::Rule && it->firstPosition != i)
        return c.fail(d.name, path,
                      "rule " + rule + " of " + group +
                          " is at another place than in the first report: with --sort rule every "
                          "shard lists the rules alike; give merge the --sort the audits ran with");
      acc = &*it;
      for (const char* k : {"direction", "priority", "policy", "description", "enis", "static"})
        if (acc->row.at(k) != o->at(k))
          return c.fail(d.name, path + "." + k,
                        "differs from the first report's for rule " + rule +
                            ": the shards of one run share the model (merge reports of one run)");
    }
    for (int k = 0; k < 3; ++k) acc->hits[k] += f.hits[k];
    if (f.first && (!acc->first || *f.first < *acc->first)) acc->first = f.first;
    if (f.last && (!acc->last || *f.last > *acc->last)) acc->last = f.last;
    acc->revoked.changedFlows += f.revoked.changedFlows;
    acc->revoked.cutFlows += f.revoked.cutFlows;
    acc->revoked.openedFlows += f.revoked.openedFlows;
    acc->revoked.changedPackets += f.revoked.changedPackets;
    acc->revoked.changedBytes += f.revoked.changedBytes;
    if (!fallbackOfJson(c, d, path + ".fallback", o->at("fallback"), acc->fallback)) return false;
    if (vr == static_cast<int>(AuditVerdict::NeverMatches)) {
      acc->neverWhy = f.why;
    } else if (vr == static_cast<int>(AuditVerdict::SafeToRevoke)) {
      const std::string lead = safeToRevokeLead(f.hits[0]);
      if (f.why.rfind(lead, 0) != 0)
        return c.fail(d.name, path + ".why", "does not begin \"" + lead + "\" as a safe-to-revoke rule's does");
      acc->safeTail = f.why.substr(lead.size());
    }
  }
  return true;
}

json::value timeJson(const std::optional<std::int64_t>& t) {
  return t ? json::value(isoTime(*t)) : json::value(nullptr);
}

bool finishRows(Ctx& c, State& s, const std::string& firstName, AuditSort sort, json::array& out) {
  std::vector<std::pair<RowKey, json::object>> rows;
  for (RowAcc& r : s.rows) {
    json::object o = r.row;
    o["hits"] = json::object{{"flows", r.hits[0]},
                             {"packets", r.hits[1]},
                             {"bytes", r.hits[2]},
                             {"first", r.hits[1] ? timeJson(r.first) : json::value(nullptr)},
                             {"last", r.hits[1] ? timeJson(r.last) : json::value(nullptr)}};
    o["ifRevoked"] = json::object{{"changedFlows", r.revoked.changedFlows},
                                  {"cutFlows", r.revoked.cutFlows},
                                  {"openedFlows", r.revoked.openedFlows},
                                  {"changedPackets", r.revoked.changedPackets},
                                  {"changedBytes", r.revoked.changedBytes}};
    sortFallback(r.fallback);
    o["fallback"] = fallbackJson(r.fallback);
    // The verdict of audit_report.cpp auditRows: never-matches needs no traffic and a static proof that every shard
    // shares; in-use and safe-to-revoke follow the merged figures.
    AuditVerdict verdict;
    std::string why;
    if (r.hits[1] == 0 && r.neverWhy) {
      verdict = AuditVerdict::NeverMatches;
      why = *r.neverWhy;
    } else if (r.revoked.changedFlows > 0) {
      verdict = AuditVerdict::InUse;
      AuditedRule t;
      t.ifRevoked = r.revoked;
      t.ifRevoked.otherFlows =
          r.revoked.changedFlows - std::min(r.revoked.changedFlows, r.revoked.cutFlows + r.revoked.openedFlows);
      for (const FallbackAcc& f : r.fallback)
        t.fallback.push_back(Fallback{f.verdict, f.reason, f.rule, f.group, f.flows});
      why = inUseWhy(t);
    } else if (r.safeTail) {
      verdict = AuditVerdict::SafeToRevoke;
      why = safeToRevokeLead(r.hits[0]) + *r.safeTail;
    } else {
      return c.fail(firstName, "rules",
                    "rule " + r.ruleId + " of " + r.groupId +
                        ": the shards' verdicts do not add up (no shard judged it safe to revoke, "
                        "yet revoking it changes no flow): reports of different runs?");
    }
    o["verdict"] = toString(verdict);
    o["why"] = why;
    rows.emplace_back(RowKey{static_cast<int>(verdict), r.revoked.changedFlows, r.revoked.changedBytes, r.hits[0],
                             r.hits[2], r.groupId, r.ruleId},
                      std::move(o));
  }
  if (sort != AuditSort::Rule)
    std::sort(rows.begin(), rows.end(),
              [&](const auto& a, const auto& b) { return rowBefore(sort, a.first, b.first); });
  for (auto& [k, o] : rows) out.push_back(std::move(o));
  return true;
}

// ---- reading ----------------------------------------------------------------------------------------------

bool readShard(Ctx& c, Doc& d) {
  const json::value* v = d.root.if_contains("shard");
  if (!v) {
    d.shards = {1};
    d.count = 1;
    return true;
  }
  const json::object* o = objectOf(c, d.name, "shard", *v);
  if (!o || !checkKeys(c, d.name, "shard", *o, {"index", "count", "hash"}, {"index", "count"})) return false;
  std::uint64_t n = 0;
  d.hash = 1;  // the reports of sgsim before kShardHash 2 did not say
  if (const json::value* h = o->if_contains("hash")) {
    if (!countOf(c, d.name, "shard.hash", *h, n)) return false;
    if (n < 1 || n > kShardHash)
      return c.fail(d.name, "shard.hash",
                    "shard hash version " + std::to_string(n) + " is not one this sgsim knows (1 to " +
                        std::to_string(kShardHash) + "): merge with the sgsim that ran the shards");
    d.hash = static_cast<std::uint32_t>(n);
  }
  if (!countOf(c, d.name, "shard.count", o->at("count"), n)) return false;
  if (n < 1 || n > kMaxShards)
    return c.fail(d.name, "shard.count", "not a shard count (1 to " + std::to_string(kMaxShards) + ")");
  d.count = static_cast<std::uint32_t>(n);
  const json::value& index = o->at("index");
  std::vector<json::value> items;
  if (index.is_array())
    items.assign(index.get_array().begin(), index.get_array().end());
  else
    items.push_back(index);
  if (items.empty()) return c.fail(d.name, "shard.index", "lists no shard");
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::uint64_t k = 0;
    const std::string path = index.is_array() ? at("shard.index", i) : "shard.index";
    if (!countOf(c, d.name, path, items[i], k)) return false;
    if (k < 1 || k > n)
      return c.fail(
          d.name, path,
          std::to_string(k) + " is not a shard of " + std::to_string(n) + " (1 to " + std::to_string(n) + ")");
    d.shards.push_back(static_cast<std::uint32_t>(k));
  }
  std::sort(d.shards.begin(), d.shards.end());
  if (std::adjacent_find(d.shards.begin(), d.shards.end()) != d.shards.end())
    return c.fail(d.name, "shard.index", "lists a shard twice");
  d.root.erase("shard");
  return true;
}

const char* article(ReportKind k) { return k == ReportKind::Audit ? "an " : "a "; }

std::optional<ReportKind> kindOf(const json::object& o) {
  if (o.contains("requests")) return ReportKind::WhatIf;
  if (o.contains("rules")) return ReportKind::Audit;
  if (o.contains("outcomes")) return ReportKind::Replay;
  return std::nullopt;
}

std::string shardList(const std::vector<std::uint32_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s;
}

// The blocks of the merge's arena: from 2 MiB on, mapped on 2 MiB boundaries and advised as transparent huge pages
// (detail::TableBlock, as the flow table's arrays), so that filling them takes a page fault per 2 MiB rather than per
// 4 KiB; all freed with the resource.
class ArenaBlocks final : public json::memory_resource {
 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    if (align > 64) throw std::bad_alloc();
    blocks_.emplace_back(bytes, false);
    return blocks_.back().get();
  }
  void do_deallocate(void*, std::size_t, std::size_t) override {}  // freed with the resource
  bool do_is_equal(const json::memory_resource& o) const noexcept override { return this == &o; }
  std::vector<detail::TableBlock> blocks_;
};

}  // namespace

Result<MergedReport> mergeReports(const std::vector<ReportFile>& files, const MergeOptions& options) {
  Ctx c;
  if (files.empty()) return Error{"", "no report to merge: give the JSON reports of the shards"};
  // The reports and the merged tree in one arena, freed at once: a merge of two flow-log shards' reports of 27 MB
  // each (fl1m.csv, ~65,000 drift rows each) spent 40% of its 0.91 s in malloc and free and their page faults.
  // Its blocks on huge pages (ArenaBlocks), the first as large as the reports' text: the DOM of a report takes a
  // few times its text.
  std::size_t text = 0;
  for (const ReportFile& f : files) text += f.view().size();
  text = std::min(text, std::size_t{256} << 20);  // beyond, the arena grows as it needs
  // Not shared: values of a storage that is neither shared nor freed piece by piece skip their destructors' walk
  // (boost::json::value::~value), which took 8% of the merge; every value here is gone before the arena.
  ArenaBlocks blocks;
  json::monotonic_resource arenaResource(std::max<std::size_t>(text, std::size_t{64} << 10), &blocks);
  const json::storage_ptr arena(&arenaResource);
  std::vector<Doc> docs;
  std::optional<ReportKind> kind;
  for (const ReportFile& f : files) {
    auto split = splitRows(f.view());
    boost::system::error_code ec;
    json::value v = json::parse(split ? std::string_view(split->first) : f.view(), ec, arena);
    if (ec) return notJson(f.name, f.view());
    if (!v.is_object()) return Error{f.name, "not a JSON object: not a report of sgsim whatif, audit or replay"};
    Doc d{f.name, f.view(), std::move(v.get_object()), split ? std::move(split->second) : Rows{}, {}, 1};
    const auto k = kindOf(d.root);
    if (!k)
      return Error{f.name,
                   "not a report merge knows: no \"requests\" (whatif), \"rules\" (audit) or \"outcomes\" "
                   "(replay --format json) member"};
    if (kind && *k != *kind)
      return Error{f.name, std::string(article(*k)) + toString(*k) + " report, but " + docs.front().name + " is " +
                               article(*kind) + toString(*kind) + " report: merge the reports of one command"};
    kind = k;
    if (!readShard(c, d)) return *c.error;
    docs.push_back(std::move(d));
  }
  // Which shards: every one of 1..N exactly once (or, with partial, some of them once).
  const std::uint32_t count = docs.front().count;
  std::map<std::uint32_t, std::string> byShard;
  for (const Doc& d : docs) {
    if (d.count != count)
      return Error{d.name + ": shard.count", "shards of " + std::to_string(d.count) + ", but " + docs.front().name +
                                                 " is one of " + std::to_string(count) +
                                                 ": merge the shards of one split"};
    if (d.hash != docs.front().hash)
      return Error{d.name + ": shard.hash",
                   "shards hashed with version " + std::to_string(d.hash) + ", but " + docs.front().name +
                       "'s with version " + std::to_string(docs.front().hash) +
                       ": their conversations are cut differently; run every shard with one sgsim"};
    for (std::uint32_t k : d.shards) {
      auto [it, inserted] = byShard.emplace(k, d.name);
      if (!inserted)
        return Error{d.name + ": shard", "shard " + std::to_string(k) + "/" + std::to_string(count) +
                                             (it->second == d.name ? " is given twice" : " is also in " + it->second) +
                                             ": give each shard once"};
    }
  }
  std::vector<std::uint32_t> shards;
  for (const auto& [k, name] : byShard) shards.push_back(k);
  if (shards.size() != count && !options.partial) {
    std::vector<std::uint32_t> missing;
    for (std::uint32_t k = 1; k <= count && missing.size() < 10; ++k)
      if (!byShard.count(k)) missing.push_back(k);
    return Error{"", "shard" + std::string(count - shards.size() == 1 ? " " : "s ") + shardList(missing) +
                         (count - shards.size() > missing.size() ? ", …" : "") + " of " + std::to_string(count) +
                         " missing (given: " + shardList(shards) +
                         "): merge every shard's report (or --partial for a report of some)"};
  }
  // In shard order, whatever the order given: the merge is commutative.
  std::sort(docs.begin(), docs.end(), [](const Doc& a, const Doc& b) { return a.shards.front() < b.shards.front(); });

  State s;
  s.kind = *kind;
  s.shardsMerged = shards.size();
  const std::vector<Member>& members = membersOf(*kind);
  const Doc& first = docs.front();
  std::vector<std::string> memberNames;
  for (const Member& m : members) memberNames.push_back(m.name);
  for (const Doc& d : docs) {
    if (!checkKeys(c, d.name, "", d.root, memberNames, {})) return *c.error;
    for (const auto& kv : first.root)
      if (!d.root.contains(kv.key()))
        return Error{d.name, "lacks the member \"" + std::string(kv.key()) + "\" that " + first.name +
                                 " has: merge reports of one run (same options)"};
    for (const auto& kv : d.root)
      if (!first.root.contains(kv.key()))
        return Error{d.name, "has the member \"" + std::string(kv.key()) + "\" that " + first.name +
                                 " lacks: merge reports of one run (same options)"};
  }
  if (const json::value* caps = first.root.if_contains("captures")) {
    const json::array* a = arrayOf(c, first.name, "captures", *caps);
    if (!a) return *c.error;
    for (std::size_t i = 0; i < a->size(); ++i) {
      std::string name;
      if (!stringOf(c, first.name, at("captures", i), (*a)[i], name)) return *c.error;
      s.captures.push_back(name);
    }
  }

  // The reports' drift and flows rows read ahead, the reports split between this thread and a second one, when they
  // are many (each row is parsed and checked on its own; what the rows' checks read of the state, the captures'
  // names, is known by now). Each report's first failure is kept, and met where the loop below meets its list.
  struct Prepared {
    ReadRows<DriftItem> drift;
    ReadRows<FlowItem> flows;
  };
  std::vector<Prepared> ahead;
  std::size_t lazyRows = 0;
  for (const Doc& d : docs) lazyRows += d.rows.drift.size() + d.rows.flows.size();
  if (docs.size() > 1 && lazyRows >= options.twoThreadsFrom) {
    ahead.resize(docs.size());
    const auto readList = [&](const Doc& d, const char* name, auto readRows, RowParser& parser, auto& into) {
      const json::value* v = d.root.if_contains(name);
      if (!v || !first.root.contains(name)) return;  // the loop below says what is missing
      Ctx local;
      if (!readRows(local, s, d, *v, parser, into.items))
        into.error = local.error.value_or(Error{d.name + ": " + name, "not a list of rows merge reads"});
    };
    const auto readAhead = [&](std::size_t from, RowParser& parser) {
      for (std::size_t i = from; i < docs.size(); i += 2) {
        readList(docs[i], "drift", driftRows, parser, ahead[i].drift);
        readList(docs[i], "flows", flowRows, parser, ahead[i].flows);
      }
    };
    onTwoThreads([&] { readAhead(0, s.parser); }, [&](RowParser& parser) { readAhead(1, parser); });
  }

  for (std::size_t i = 0; i < docs.size(); ++i) {
    const Doc& d = docs[i];
    const bool isFirst = i == 0;
    for (const auto& kv : first.root) {
      const std::string name(kv.key());
      const How how =
          std::find_if(members.begin(), members.end(), [&](const Member& m) { return name == m.name; })->how;
      const json::value& v = d.root.at(name);
      bool ok = true;
      switch (how) {
        case How::Equal:
          if (isFirst)
            s.equal[name] = v;
          else if (s.equal.at(name) != v)
            ok = c.fail(d.name, name,
                        "differs from " + first.name +
                            "'s: the shards of one run share the inputs, model, requests and options "
                            "(merge reports of one run)");
          break;
        case How::Sum: {
          std::uint64_t n = 0;
          ok = countOf(c, d.name, name, v, n);
          s.frames += n;
          break;
        }
        case How::Spans:
          ok = mergeSpans(c, s, d, v, isFirst);
          break;
        case How::Warnings:
          ok = mergeWarnings(c, s, d, v);
          break;
        case How::Errors: {
          std::vector<Error> e;
          ok = issuesOf(c, d, name, v, e);
          for (const Error& x : e) addOnce(s.errors, x);
          break;
        }
        case How::Totals:
          ok = mergeTotals(c, s, d, v, isFirst);
          break;
        case How::Drift:
          ok = mergeDrift(c, s, d, v, ahead.empty() ? nullptr : &ahead[i].drift);
          break;
        case How::Flows:
          ok = mergeFlows(c, s, d, v, ahead.empty() ? nullptr : &ahead[i].flows);
          break;
        case How::Fallback:
          ok = fallbackOfJson(c, d, name, v, s.fallback);
          break;
        case How::Space:
          ok = mergeSpace(c, s, d, v, first.name);
          break;
        case How::Outcomes:
          ok = mergeOutcomes(c, s, d, v);
          break;
        case How::Details:
          ok = mergeDetails(c, s, d, name, v);
          break;
        case How::AuditRules:
          ok = mergeRules(c, s, d, v, isFirst, options.sort);
          break;
      }
      if (!ok) return *c.error;
    }
  }

  if (first.root.contains("drift") && !cutDrift(c, s, first.name)) return *c.error;
  const bool complete = shards.size() == count;

  // The merged report, member by member in the order the command writes them.
  MergedReport out;
  json::object root(arena);
  for (const auto& kv : first.root) {
    const std::string name(kv.key());
    const How how = std::find_if(members.begin(), members.end(), [&](const Member& m) { return name == m.name; })->how;
    switch (how) {
      case How::Equal:
        root[name] = s.equal.at(name);
        break;
      case How::Sum:
        root[name] = s.frames;
        break;
      case How::Spans: {
        json::array a;
        for (const SpanAcc& sp : s.spans)
          a.push_back(json::object{{"file", sp.file},
                                   {"frames", sp.frames},
                                   {"first", sp.frames ? timeJson(sp.first) : json::value(nullptr)},
                                   {"last", sp.frames ? timeJson(sp.last) : json::value(nullptr)}});
        root[name] = std::move(a);
        break;
      }
      case How::Warnings: {
        std::vector<Error> all = s.warnings;
        if (s.flowCap) all.push_back(flowCapWarning(s.flowCap->where, s.flowCapPackets));
        if (s.driftUnlisted) all.push_back(driftCapWarning(s.driftUnlisted));
        if (s.flowCap && s.shardsMerged > 1) {
          all.push_back(Error{s.flowCap->where, kShardTables});
          out.notes.push_back(all.back());
        }
        json::array a;
        for (const Error& e : all) a.push_back(json::object{{"where", e.where}, {"message", e.message}});
        root[name] = std::move(a);
        break;
      }
      case How::Errors: {
        json::array a;
        for (const Error& e : s.errors) a.push_back(json::object{{"where", e.where}, {"message", e.message}});
        root[name] = std::move(a);
        break;
      }
      case How::Totals: {
        json::object t;
        for (const auto& [k, n] : s.totals) t[k] = n;
        root[name] = std::move(t);
        break;
      }
      case How::Drift: {
        std::sort(s.drift.begin(), s.drift.end(), [](const DriftItem& a, const DriftItem& b) {
          if (a.bytes != b.bytes) return a.bytes > b.bytes;
          if (a.records != b.records) return a.records > b.records;
          if (a.firstFile != b.firstFile) return a.firstFile < b.firstFile;
          return a.firstLine < b.firstLine;
        });
        root[name] = json::array();  // its rows written into the text (writeRows)
        break;
      }
      case How::Flows: {
        std::sort(s.flows.begin(), s.flows.end(),
                  [](const FlowItem& a, const FlowItem& b) { return rankedBefore(a.key, b.key); });
        root[name] = json::array();  // its rows written into the text (writeRows)
        break;
      }
      case How::Fallback:
        sortFallback(s.fallback);
        root[name] = fallbackJson(s.fallback);
        break;
      case How::Space:
        root[name] = *s.space;
        break;
      case How::Outcomes: {
        json::array a;
        for (const auto& [k, n] : s.outcomes)
          a.push_back(json::object{{"verdict", toString(static_cast<Verdict>(k.first))},
                                   {"reason", toString(static_cast<Reason>(k.second))},
                                   {"frames", n}});
        root[name] = std::move(a);
        break;
      }
      case How::Details: {
        json::object o;
        for (const auto& [k, n] : s.details[name]) o[k] = n;
        root[name] = std::move(o);
        break;
      }
      case How::AuditRules: {
        json::array a;
        if (!finishRows(c, s, first.name, options.sort, a)) return *c.error;
        root[name] = std::move(a);
        break;
      }
    }
  }
  out.kind = *kind;
  out.shards = shards;
  out.count = count;
  if (shards.size() != count) {
    json::array index;
    for (std::uint32_t k : shards) index.push_back(k);
    root["shard"] = json::object{{"index", std::move(index)}, {"count", count}, {"hash", docs.front().hash}};
  }
  if (auto n = totalOf(s, "changedFlows")) out.changedFlows = *n;
  // The report as toPrettyJson writes it, the rows of drift and flows written one at a time into their lists.
  const std::string outline = toPrettyJson(root);
  out.json.reserve(text);  // the merged report is at most about the reports' size (or 256 MiB)
  std::vector<std::pair<std::size_t, std::string>> lists;  // (where its "[]" is in the outline, name)
  for (const char* name : {"drift", "flows"}) {
    const std::string placeholder = "\n  \"" + std::string(name) + "\": []";  // top level: no string holds a newline
    const std::size_t where = first.root.contains(name) ? outline.find(placeholder) : std::string::npos;
    if (where != std::string::npos) lists.emplace_back(where + placeholder.size() - 2, name);
  }
  std::sort(lists.begin(), lists.end());
  std::size_t copied = 0;
  for (const auto& [where, name] : lists) {
    const bool drift = name == "drift";
    const std::size_t n = drift ? s.drift.size() : s.flows.size();
    if (n == 0) continue;
    out.json.append(outline, copied, where - copied);
    out.json += "[\n";
    const auto writeRows = [&](std::string& to, RowParser& parser, std::size_t from, std::size_t end) {
      for (std::size_t i = from; i < end; ++i) {
        to += i ? ",\n    " : "    ";
        const std::string_view rowText = drift ? s.drift[i].text : s.flows[i].text;
        json::value copy;  // a row of a report's tree, which stays as it is
        json::value& row = !rowText.empty() ? *parser.parse(rowText)  // it parsed when it was merged
                                            : (copy = json::value(drift ? *s.drift[i].value : *s.flows[i].value));
        // Where each row was met matters only to further merges: the whole merge lists rows as one run does.
        if (drift && complete) row.as_object().erase("firstRecord");
        appendPrettyJson(to, row, 4);
      }
    };
    // A long list's second half written on a second thread into a text of its own (each row is read from its
    // report's text, which no thread changes), then appended: fl3m's 100,000 drift rows are ~40% of its merge.
    const std::size_t half = n >= options.twoThreadsFrom && n > 1 ? n / 2 : n;
    std::string second;
    if (half < n)
      onTwoThreads([&] { writeRows(out.json, s.parser, 0, half); },
                   [&](RowParser& parser) { writeRows(second, parser, half, n); });
    else
      writeRows(out.json, s.parser, 0, n);
    out.json += second;
    out.json += "\n  ]";
    copied = where + 2;
  }
  out.json.append(outline, copied);
  return out;
}

}  // namespace sgsim
