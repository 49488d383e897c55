#include "sgsim/report/replay_report.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <sstream>

#include "sgsim/capture/flow_log.h"
#include "sgsim/core/text.h"
#include "sgsim/model/model_json.h"
#include "sgsim/report/format.h"
#include "sgsim/report/issues.h"

namespace sgsim {

void ReplayStats::setCaptures(const std::vector<std::string>& files) {
  perCapture.clear();
  for (const auto& f : files) perCapture.push_back(CaptureSpan{f});
}

void ReplayStats::add(const Frame& f, const PacketKey& k, const PacketVerdict& v) {
  if (frames == 0) firstNs = lastNs = f.tsNs;
  ++frames;
  bytes += bytesOf(f);
  lastNs = std::max(lastNs, f.tsNs);
  if (f.fileIndex < perCapture.size()) {
    CaptureSpan& c = perCapture[f.fileIndex];
    if (c.frames++ == 0) c.firstNs = c.lastNs = f.tsNs;
    c.lastNs = std::max(c.lastNs, f.tsNs);
  }
  ++byOutcome[{v.verdict, v.reason}];
  if (v.reason == Reason::NotIp) ++notIp[k.detail];
  if (v.reason == Reason::Undecodable) ++undecodable[k.detail];
  if (v.untracked) ++untracked;
  if (f.record != nullptr) addRecord(*f.record, v);
}

void ReplayStats::addRecord(const FlowRecord& r, const PacketVerdict& v) {
  FlowLogCounts& c = flowLogCounts;
  ++c.records;
  c.packets += r.packets;
  if (v.verdict == Verdict::None) return;  // unmodeled: nothing to compare with the logged action
  ++c.compared;
  if ((v.verdict == Verdict::Accept) == r.accept) return;
  ++c.driftRecords;
  c.driftPackets += r.packets;
  c.driftBytes += r.bytes;
  DriftRow key;
  if (const Check* d = v.decidingCheck()) {
    key.eni = d->eni;
    key.direction = d->direction;
    key.ruleRef = d->ruleRef;
  }
  key.verdict = v.verdict;
  key.reason = v.reason;
  key.loggedAccept = r.accept;
  key.proto = r.proto;
  key.src = r.src;
  key.dst = r.dst;
  key.dport = r.dport;
  auto same = [&](const DriftRow& a) {
    return a.eni == key.eni && a.direction == key.direction && a.verdict == key.verdict && a.reason == key.reason &&
           a.ruleRef == key.ruleRef && a.loggedAccept == key.loggedAccept && a.proto == key.proto && a.src == key.src &&
           a.dst == key.dst && a.dport == key.dport;
  };
  const std::uint64_t h = IpAddrHash{}(key.src) * 31 + IpAddrHash{}(key.dst) * 17 +
                          (static_cast<std::uint64_t>(key.dport) << 16) + (static_cast<std::uint64_t>(key.proto) << 8) +
                          static_cast<std::uint64_t>(key.eni) * 1000003 +
                          static_cast<std::uint64_t>(key.ruleRef) * 7919 +
                          static_cast<std::uint64_t>(key.reason) * 131 + (key.loggedAccept ? 1 : 0);
  auto it = driftIndex.find(h);
  std::uint32_t last = UINT32_MAX;
  for (std::uint32_t i = it == driftIndex.end() ? UINT32_MAX : it->second; i != UINT32_MAX; i = drift[i].nextSameHash) {
    DriftRow& row = drift[i];
    last = i;
    if (!same(row)) continue;
    ++row.records;
    row.packets += r.packets;
    row.bytes += r.bytes;
    return;
  }
  if (drift.size() >= kMaxDriftRows) {  // counted above, not listed (driftCapWarning says so)
    ++driftUnlisted;
    return;
  }
  key.firstRecord = r.ordinal != 0 ? r.ordinal : ordinal;  // read through a flow-log index: the record's own
  key.records = 1;
  key.packets = r.packets;
  key.bytes = r.bytes;
  key.firstFile = r.fileIndex;
  key.firstLine = r.line;
  if (last == UINT32_MAX)
    driftIndex.emplace(h, static_cast<std::uint32_t>(drift.size()));
  else
    drift[last].nextSameHash = static_cast<std::uint32_t>(drift.size());
  drift.push_back(key);
}

std::string checkRuleId(const Network& n, const Check& c) {
  if (c.eni < 0 || c.ruleRef < 0) return "";
  return n.rules(static_cast<std::size_t>(c.eni), c.direction)[static_cast<std::size_t>(c.ruleRef)].ruleId;
}

std::string checkGroupId(const Network& n, const Check& c) {
  if (c.eni < 0) return "";
  if (c.ruleRef >= 0)
    return n.rules(static_cast<std::size_t>(c.eni), c.direction)[static_cast<std::size_t>(c.ruleRef)].groupId;
  if (c.intraGroup >= 0) return n.model().groups[static_cast<std::size_t>(c.intraGroup)].id;
  return "";
}

namespace {

std::string eniName(const Network& n, const Check* c) {
  return c == nullptr || c->eni < 0 ? "" : n.eni(static_cast<std::size_t>(c->eni)).id;
}

std::string jsonStrOrNull(const std::string& s) { return s.empty() ? "null" : "\"" + jsonEscape(s) + "\""; }

// The warnings a streamed format did not print before its first record.
std::vector<Error> laterWarnings(const ReplayContext& ctx, const ReplayStats& s) {
  std::vector<Error> all = allWarnings(s);
  std::vector<Error> later;
  for (const Error& e : all) {
    const bool early = std::any_of(ctx.warnings.begin(), ctx.warnings.end(),
                                   [&](const Error& w) { return w.where == e.where && w.message == e.message; });
    if (!early) later.push_back(e);
  }
  return later;
}

// One flow-log record's line: the verdict as for a frame, then the record's own fields under their documented names.
std::string recordJson(const Network& n, const Frame& f, const FlowRecord& r, const PacketVerdict& v) {
  const Check* d = v.decidingCheck();
  auto text = [](const FlowText& t) { return jsonStrOrNull(std::string(t.view())); };
  std::string s = "{\"record\":" + std::to_string(r.line);
  (void)f;
  s += ",\"time\":" + epochSeconds(r.startNs);
  s += ",\"packets\":" + std::to_string(r.packets) + ",\"bytes\":" + std::to_string(r.bytes);
  s += ",\"verdict\":\"" + std::string(toString(v.verdict)) + "\",\"reason\":\"" + toString(v.reason) + "\"";
  s += ",\"rule\":" + jsonStrOrNull(d ? checkRuleId(n, *d) : "");
  s += ",\"group\":" + jsonStrOrNull(d ? checkGroupId(n, *d) : "");
  s += ",\"eni\":" + jsonStrOrNull(eniName(n, d));
  s += ",\"direction\":" + (d ? std::string("\"") + toString(d->direction) + "\"" : std::string("null"));
  const bool compared = v.verdict != Verdict::None;
  s += ",\"drift\":" + std::string(compared ? ((v.verdict == Verdict::Accept) != r.accept ? "true" : "false") : "null");
  s += ",\"log\":{\"version\":" + (r.version >= 0 ? std::to_string(r.version) : std::string("null"));
  s += ",\"vswitch-id\":" + text(r.vswitch) + ",\"vm-id\":" + text(r.vm) + ",\"vpc-id\":" + text(r.vpc);
  s += ",\"account-id\":" + text(r.account) + ",\"eni-id\":" + text(r.eni);
  s += ",\"srcaddr\":\"" + r.src.toString() + "\",\"srcport\":" + std::to_string(r.sport);
  s += ",\"dstaddr\":\"" + r.dst.toString() + "\",\"dstport\":" + std::to_string(r.dport);
  s += ",\"protocol\":" + std::to_string(r.proto) + ",\"direction\":\"" + (r.inbound ? "in" : "out") + "\"";
  s += ",\"packets\":" + std::to_string(r.packets) + ",\"bytes\":" + std::to_string(r.bytes);
  s += ",\"start\":" + epochSeconds(r.startNs) + ",\"end\":" + epochSeconds(r.endNs);
  s += ",\"log-status\":\"OK\",\"action\":\"" + std::string(r.accept ? "ACCEPT" : "REJECT") + "\"";
  s += ",\"tcp-flags\":" + (r.hasTcpFlags ? std::to_string(r.tcpFlags) : std::string("null"));
  if (r.trafficPath >= 0) s += ",\"traffic_path\":" + std::to_string(r.trafficPath);
  if (r.srcType.size()) s += ",\"srctype\":" + text(r.srcType);
  if (r.dstType.size()) s += ",\"dsttype\":" + text(r.dstType);
  if (r.region.size()) s += ",\"region\":" + text(r.region);
  s += "}}";
  return s;
}

class JsonlWriter : public ReplayWriter {
 public:
  explicit JsonlWriter(std::ostream& out) : out_(out) {}
  void begin(const ReplayContext& ctx) override {
    ctx_ = ctx;
    out_ << issuesJsonl(IssueKind::Warning, ctx_.warnings);
  }
  void frame(const Frame& f, const PacketKey& k, const PacketVerdict& v) override {
    const Network& n = *ctx_.network;
    const Check* d = v.decidingCheck();
    std::string s;
    s.reserve(320);
    if (f.record != nullptr) {
      out_ << recordJson(n, f, *f.record, v) << '\n';
      return;
    }
    s += "{\"frame\":" + std::to_string(f.number);
    if (ctx_.captureNames.size() > 1) s += ",\"capture\":\"" + jsonEscape(ctx_.captureNames[f.fileIndex]) + "\"";
    s += ",\"time\":" + epochSeconds(f.tsNs);
    s += ",\"len\":" + std::to_string(f.wireLen);
    s += ",\"verdict\":\"";
    s += toString(v.verdict);
    s += "\",\"reason\":\"";
    s += toString(v.reason);
    s += "\",\"rule\":" + jsonStrOrNull(d ? checkRuleId(n, *d) : "");
    s += ",\"group\":" + jsonStrOrNull(d ? checkGroupId(n, *d) : "");
    s += ",\"eni\":" + jsonStrOrNull(eniName(n, d));
    s += ",\"direction\":" + (d ? std::string("\"") + toString(d->direction) + "\"" : std::string("null"));
    if (k.status == DecodeStatus::Ok) {
      s += ",\"proto\":\"" + protoName(k.proto) + "\",\"src\":\"" + k.src.toString() +
           "\",\"sport\":" + std::to_string(k.sport) + ",\"dst\":\"" + k.dst.toString() +
           "\",\"dport\":" + std::to_string(k.dport);
      if (k.isFragment) s += std::string(",\"fragment\":") + (k.firstFragment ? "\"first\"" : "\"later\"");
    } else {
      s += ",\"proto\":null,\"src\":null,\"sport\":null,\"dst\":null,\"dport\":null";
      s += ",\"detail\":\"" + jsonEscape(k.detail) + "\"";
    }
    s += ",\"checks\":[";
    for (std::uint8_t i = 0; i < v.checkCount; ++i) {
      const Check& c = v.checks[i];
      if (i) s += ',';
      s += "{\"eni\":\"" + jsonEscape(eniName(n, &c)) + "\",\"direction\":\"" + toString(c.direction) +
           "\",\"verdict\":\"" + toString(c.verdict) + "\",\"reason\":\"" + toString(c.reason) +
           "\",\"rule\":" + jsonStrOrNull(checkRuleId(n, c)) + "}";
    }
    s += "]";
    if (ctx_.vxlanPort != 0) s += ",\"vni\":" + (k.vni >= 0 ? std::to_string(k.vni) : std::string("null"));
    if (v.untracked) s += ",\"untracked\":true";
    s += "}\n";
    out_ << s;
  }
  void finish(const ReplayStats& s) override {
    out_ << issuesJsonl(IssueKind::Warning, laterWarnings(ctx_, s)) << issuesJsonl(IssueKind::Error, s.captureErrors);
    out_.flush();
  }

 private:
  std::ostream& out_;
  ReplayContext ctx_;
};

class CsvWriter : public ReplayWriter {
 public:
  explicit CsvWriter(std::ostream& out) : out_(out) {}
  void begin(const ReplayContext& ctx) override {
    ctx_ = ctx;
    out_ << "capture,frame,time,len,verdict,reason,rule,group,eni,direction,proto,src,sport,dst,dport,checks"
         << (ctx_.vxlanPort != 0 ? ",vni\n" : "\n");
  }
  void frame(const Frame& f, const PacketKey& k, const PacketVerdict& v) override {
    const Network& n = *ctx_.network;
    const Check* d = v.decidingCheck();
    std::string checks;
    for (std::uint8_t i = 0; i < v.checkCount; ++i) {
      const Check& c = v.checks[i];
      if (i) checks += ';';
      checks += eniName(n, &c) + ":" + toString(c.direction) + ":" + toString(c.verdict) + ":" + toString(c.reason);
      if (c.ruleRef >= 0) checks += ":" + checkRuleId(n, c);
    }
    const bool ok = k.status == DecodeStatus::Ok;
    out_ << csvField(ctx_.captureNames.empty() ? "" : ctx_.captureNames[f.fileIndex]) << ',' << f.number << ','
         << epochSeconds(f.tsNs) << ',' << bytesOf(f) << ',' << toString(v.verdict) << ',' << toString(v.reason) << ','
         << csvField(d ? checkRuleId(n, *d) : "") << ',' << csvField(d ? checkGroupId(n, *d) : "") << ','
         << csvField(eniName(n, d)) << ',' << (d ? toString(d->direction) : "") << ',' << (ok ? protoName(k.proto) : "")
         << ',' << (ok ? k.src.toString() : "") << ',' << (ok ? std::to_string(k.sport) : "") << ','
         << (ok ? k.dst.toString() : "") << ',' << (ok ? std::to_string(k.dport) : "") << ',' << csvField(checks);
    if (ctx_.vxlanPort != 0) out_ << ',' << (k.vni >= 0 ? std::to_string(k.vni) : "");
    out_ << '\n';
  }
  // After the rows, so that the header stays the first line.
  void finish(const ReplayStats& s) override {
    out_ << issuesCsv(IssueKind::Warning, allWarnings(s)) << issuesCsv(IssueKind::Error, s.captureErrors);
    out_.flush();
  }

 private:
  std::ostream& out_;
  ReplayContext ctx_;
};

class TextWriter : public ReplayWriter {
 public:
  explicit TextWriter(std::ostream& out) : out_(out) {}
  void begin(const ReplayContext& ctx) override { ctx_ = ctx; }
  void frame(const Frame& f, const PacketKey& k, const PacketVerdict& v) override {
    const Network& n = *ctx_.network;
    char head[64];
    std::snprintf(head, sizeof head, "%7llu %s  ", static_cast<unsigned long long>(f.number),
                  relativeSeconds(f.tsNs, ctx_.originNs).c_str());
    std::string s = head;
    if (ctx_.captureNames.size() > 1) s += ctx_.captureNames[f.fileIndex] + "  ";
    if (k.status == DecodeStatus::Ok) {
      s += protoName(k.proto) + " " + endpoint(k.src, k.sport, k.proto) + " > " + endpoint(k.dst, k.dport, k.proto);
      if (k.isFragment) s += k.firstFragment ? " (first fragment)" : " (fragment)";
    } else {
      s += std::string("[") + k.detail + "]";
    }
    if (k.vni >= 0) s += " (VXLAN " + std::to_string(ctx_.vxlanPort) + " vni " + std::to_string(k.vni) + ")";
    s += "  " + std::string(toString(v.verdict)) + " " + toString(v.reason);
    for (std::uint8_t i = 0; i < v.checkCount; ++i) {
      const Check& c = v.checks[i];
      s += i == 0 ? "  (" : ", ";
      s += eniName(n, &c) + " " + toString(c.direction) + ": " + toString(c.verdict) + " " + toString(c.reason);
      const std::string r = checkRuleId(n, c);
      if (!r.empty()) s += " " + r;
      if (c.intraGroup >= 0) s += " " + checkGroupId(n, c);
      if (i + 1 == v.checkCount) s += ")";
    }
    if (const FlowRecord* r = f.record) {
      s += "  [" + std::to_string(r->packets) + (r->packets == 1 ? " packet, " : " packets, ") + humanBytes(r->bytes) +
           ", logged " + (r->accept ? "ACCEPT" : "REJECT");
      if (v.verdict != Verdict::None && (v.verdict == Verdict::Accept) != r->accept) s += ": DRIFT";
      s += "]";
    }
    out_ << s << '\n';
  }
  void finish(const ReplayStats& s) override { out_ << '\n' << renderSummary(s); }

 private:
  std::ostream& out_;
  ReplayContext ctx_;
};

class JsonWriter : public ReplayWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}
  void begin(const ReplayContext& ctx) override { ctx_ = ctx; }
  void frame(const Frame&, const PacketKey&, const PacketVerdict&) override {}
  void finish(const ReplayStats& s) override {
    writeReplayJson(out_, s, ctx_.captureNames, *ctx_.network, ctx_.shard);
    out_ << '\n';
  }

 private:
  std::ostream& out_;
  ReplayContext ctx_;
};

class SummaryWriter : public ReplayWriter {
 public:
  explicit SummaryWriter(std::ostream& out) : out_(out) {}
  void frame(const Frame&, const PacketKey&, const PacketVerdict&) override {}
  void finish(const ReplayStats& s) override { out_ << renderSummary(s); }

 private:
  std::ostream& out_;
};

}  // namespace

std::unique_ptr<ReplayWriter> makeReplayWriter(ReplayFormat format, std::ostream& out) {
  switch (format) {
    case ReplayFormat::Text:
      return std::make_unique<TextWriter>(out);
    case ReplayFormat::Jsonl:
      return std::make_unique<JsonlWriter>(out);
    case ReplayFormat::Csv:
      return std::make_unique<CsvWriter>(out);
    case ReplayFormat::Summary:
      return std::make_unique<SummaryWriter>(out);
    case ReplayFormat::Json:
      return std::make_unique<JsonWriter>(out);
  }
  return nullptr;
}

std::string describeCaptureSpan(const CaptureSpan& c, std::int64_t originNs) {
  std::string t = c.file + ": " + std::to_string(c.frames) + (c.frames == 1 ? " frame" : " frames");
  if (c.frames == 0) return t;
  char span[48];
  std::snprintf(span, sizeof span, "%.3f s", static_cast<double>(c.lastNs - c.firstNs) / 1e9);
  return t + ", " + isoTime(c.firstNs) + " .. " + isoTime(c.lastNs) + " (" + relativeSeconds(c.firstNs, originNs) +
         " .. " + relativeSeconds(c.lastNs, originNs) + ", " + span + ")";
}

std::string renderSummary(const ReplayStats& s) {
  std::ostringstream o;
  char line[160];
  if (s.perCapture.size() > 1) {
    // One span from the oldest frame to the newest would hide gaps between captures of different times.
    std::snprintf(line, sizeof line, "%llu frames, %s, in %zu captures\n", static_cast<unsigned long long>(s.frames),
                  humanBytes(s.bytes).c_str(), s.perCapture.size());
    o << line;
    for (const CaptureSpan& c : s.perCapture) o << "  " << describeCaptureSpan(c, s.originNs()) << '\n';
  } else {
    std::snprintf(line, sizeof line,
                  s.flowLog ? "%llu records, %s, %.3f s of flow log\n" : "%llu frames, %s, %.3f s of capture\n",
                  static_cast<unsigned long long>(s.frames), humanBytes(s.bytes).c_str(),
                  s.frames ? static_cast<double>(s.lastNs - s.firstNs) / 1e9 : 0.0);
    o << line;
  }
  for (Verdict v : {Verdict::Accept, Verdict::Drop, Verdict::None}) {
    std::uint64_t total = 0;
    for (const auto& [key, n] : s.byOutcome)
      if (key.first == v) total += n;
    std::snprintf(line, sizeof line, "  %-7s %12llu\n", toString(v), static_cast<unsigned long long>(total));
    o << line;
    for (const auto& [key, n] : s.byOutcome)
      if (key.first == v) {
        std::snprintf(line, sizeof line, "    %-20s %10llu\n", toString(key.second),
                      static_cast<unsigned long long>(n));
        o << line;
      }
  }
  auto details = [&](const char* title, const std::map<std::string, std::uint64_t>& m) {
    if (m.empty()) return;
    o << title << ":\n";
    for (const auto& [d, n] : m) {
      std::snprintf(line, sizeof line, "    %-40s %10llu\n", d.c_str(), static_cast<unsigned long long>(n));
      o << line;
    }
  };
  details("  not IP, by payload", s.notIp);
  details("  undecodable, by cause", s.undecodable);
  details("  pcapng blocks skipped (no packet in them), by type", s.skippedBlocks);
  if (s.flowCapHits > 0)
    o << "  flow table full (--max-flows " << s.maxFlows << "): " << s.untracked
      << " packets decided without connection state\n";
  if (s.flowLog) o << renderFlowLogCounts(s);
  for (const auto& e : s.captureErrors) o << "  capture error: " << e.toString() << '\n';
  o << issuesText(IssueKind::Warning, s.warnings, "  ");
  return o.str();
}

std::string renderReplayJson(const ReplayStats& s, const std::vector<std::string>& captures, const Network& network,
                             const std::optional<Shard>& shard) {
  std::ostringstream os;
  writeReplayJson(os, s, captures, network, shard);
  return std::move(os).str();
}

void writeReplayJson(std::ostream& os, const ReplayStats& s, const std::vector<std::string>& captures,
                     const Network& network, const std::optional<Shard>& shard) {
  namespace json = boost::json;
  json::object root;
  json::array caps;
  for (const auto& c : captures) caps.emplace_back(c);
  root["captures"] = std::move(caps);
  root["captureSpans"] = captureSpansJson(s);
  root["warnings"] = issuesJson(allWarnings(s));
  root["errors"] = issuesJson(s.captureErrors);
  json::object t;
  t["frames"] = s.frames;
  t["bytes"] = s.bytes;
  std::uint64_t byVerdict[3] = {0, 0, 0};
  for (const auto& [key, n] : s.byOutcome) byVerdict[static_cast<std::size_t>(key.first)] += n;
  t["accepted"] = byVerdict[static_cast<std::size_t>(Verdict::Accept)];
  t["dropped"] = byVerdict[static_cast<std::size_t>(Verdict::Drop)];
  t["noVerdict"] = byVerdict[static_cast<std::size_t>(Verdict::None)];
  t["untrackedPackets"] = s.untracked;
  if (s.flowLog) {
    const json::object counts = json::parse("{" + flowLogCountsJson(s) + "}").as_object();
    for (const auto& kv : counts) t[kv.key()] = kv.value();
  }
  root["totals"] = std::move(t);
  addOutcomesJson(root, s);
  std::vector<PrettyRows> rows;
  if (s.flowLog) {
    root["drift"] = json::array();
    rows.push_back(driftPrettyRows(s, network));
  }
  addShardJson(root, shard);
  writePrettyJson(os, root, rows);
}

std::vector<DriftRow> driftRanked(const ReplayStats& s) {
  std::vector<DriftRow> rows = s.drift;
  std::sort(rows.begin(), rows.end(), [](const DriftRow& a, const DriftRow& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.records != b.records) return a.records > b.records;
    if (a.firstFile != b.firstFile) return a.firstFile < b.firstFile;
    return a.firstLine < b.firstLine;
  });
  return rows;
}

std::string renderFlowLogCounts(const ReplayStats& s) {
  const FlowLogCounts& c = s.flowLogCounts;
  std::string o = "  flow-log records: " + std::to_string(c.records) + " (" + std::to_string(c.packets) + " packets, " +
                  humanBytes(s.bytes) + ")";
  o += "; NODATA " + std::to_string(c.noData) + ", SKIPDATA " + std::to_string(c.skipData) + ", bad " +
       std::to_string(c.bad) + "\n";
  o += "  drift: " + std::to_string(c.driftRecords) + " of " + std::to_string(c.compared) +
       " records the model decided disagree with the logged action (" + std::to_string(c.driftPackets) + " packets, " +
       humanBytes(c.driftBytes) + ")\n";
  return o;
}

namespace {

std::string driftWhere(const ReplayStats& s, const DriftRow& r) {
  const std::string file = r.firstFile < s.perCapture.size() ? s.perCapture[r.firstFile].file : "";
  return file + ": line " + std::to_string(r.firstLine);
}

std::string driftModel(const Network& n, const DriftRow& r) {
  std::string m = std::string(toString(r.verdict)) + " " + toString(r.reason);
  if (r.eni >= 0 && r.ruleRef >= 0)
    m += " " + checkRuleId(n, Check{r.eni, r.direction, r.verdict, r.reason, r.ruleRef});
  return m;
}

}  // namespace

std::string renderDriftText(const ReplayStats& s, const Network& n, std::size_t limit) {
  const auto rows = driftRanked(s);
  std::string o;
  std::size_t shown = 0;
  for (const DriftRow& r : rows) {
    if (limit != 0 && shown == limit) {
      o += "  … " + std::to_string(rows.size() - shown) + " more drift rows\n";
      break;
    }
    ++shown;
    const std::string eni = r.eni >= 0 ? n.eni(static_cast<std::size_t>(r.eni)).id + " " + toString(r.direction) : "-";
    o += "  " + protoName(r.proto) + " " + r.src.toString() + " > " + endpoint(r.dst, r.dport, r.proto) + "  " + eni +
         "  logged " + (r.loggedAccept ? "ACCEPT" : "REJECT") + ", model " + driftModel(n, r) + "  " +
         std::to_string(r.records) + (r.records == 1 ? " record, " : " records, ") + std::to_string(r.packets) +
         " packets, " + humanBytes(r.bytes) + "  (first: " + driftWhere(s, r) + ")\n";
  }
  return o;
}

std::string flowLogCountsJson(const ReplayStats& s) {
  const FlowLogCounts& c = s.flowLogCounts;
  return "\"records\":" + std::to_string(c.records) + ",\"recordPackets\":" + std::to_string(c.packets) +
         ",\"recordBytes\":" + std::to_string(s.bytes) + ",\"noDataRecords\":" + std::to_string(c.noData) +
         ",\"skipDataRecords\":" + std::to_string(c.skipData) + ",\"badRecords\":" + std::to_string(c.bad) +
         ",\"comparedRecords\":" + std::to_string(c.compared) + ",\"driftRecords\":" + std::to_string(c.driftRecords) +
         ",\"driftPackets\":" + std::to_string(c.driftPackets) + ",\"driftBytes\":" + std::to_string(c.driftBytes);
}

std::string driftJson(const ReplayStats& s, const Network& n, std::size_t limit) {
  const auto rows = driftRanked(s);
  std::string o = "[";
  for (std::size_t i = 0; i < rows.size() && (limit == 0 || i < limit); ++i) {
    const DriftRow& r = rows[i];
    const Check c{r.eni, r.direction, r.verdict, r.reason, r.ruleRef};
    if (i) o += ',';
    o += "{\"proto\":\"" + protoName(r.proto) + "\",\"src\":\"" + r.src.toString() + "\",\"dst\":\"" +
         r.dst.toString() + "\",\"dport\":" + std::to_string(r.dport) +
         ",\"eni\":" + jsonStrOrNull(r.eni >= 0 ? n.eni(static_cast<std::size_t>(r.eni)).id : "") +
         ",\"direction\":" + (r.eni >= 0 ? "\"" + std::string(toString(r.direction)) + "\"" : std::string("null")) +
         ",\"logged\":\"" + (r.loggedAccept ? "ACCEPT" : "REJECT") + "\",\"verdict\":\"" + toString(r.verdict) +
         "\",\"reason\":\"" + toString(r.reason) + "\",\"rule\":" + jsonStrOrNull(r.eni >= 0 ? checkRuleId(n, c) : "") +
         ",\"records\":" + std::to_string(r.records) + ",\"packets\":" + std::to_string(r.packets) +
         ",\"bytes\":" + std::to_string(r.bytes) + ",\"first\":\"" + jsonEscape(driftWhere(s, r)) + "\"" +
         (r.firstRecord ? ",\"firstRecord\":" + std::to_string(r.firstRecord) : std::string()) + "}";
  }
  return o + "]";
}

void appendDriftRowJson(std::string& out, const ReplayStats& s, const Network& n, const DriftRow& r, int indent) {
  const Check c{r.eni, r.direction, r.verdict, r.reason, r.ruleRef};
  PrettyJsonObject o(out, indent);
  o.text("proto", protoName(r.proto)).text("src", r.src.toString()).text("dst", r.dst.toString());
  o.number("dport", r.dport);
  o.textOrNull("eni", r.eni >= 0 ? n.eni(static_cast<std::size_t>(r.eni)).id : "");
  if (r.eni >= 0)
    o.text("direction", toString(r.direction));
  else
    o.null("direction");
  o.text("logged", r.loggedAccept ? "ACCEPT" : "REJECT").text("verdict", toString(r.verdict));
  o.text("reason", toString(r.reason)).textOrNull("rule", r.eni >= 0 ? checkRuleId(n, c) : "");
  o.number("records", r.records).number("packets", r.packets).number("bytes", r.bytes);
  o.text("first", driftWhere(s, r));
  if (r.firstRecord) o.number("firstRecord", r.firstRecord);
  o.end();
}

PrettyRows driftPrettyRows(const ReplayStats& s, const Network& n) {
  auto ranked = std::make_shared<const std::vector<DriftRow>>(driftRanked(s));
  return PrettyRows{"drift", ranked->size(), [&s, &n, ranked](std::string& out, std::size_t i, int indent) {
                      appendDriftRowJson(out, s, n, (*ranked)[i], indent);
                    }};
}

std::vector<Error> allWarnings(const ReplayStats& s) {
  std::vector<Error> all = s.warnings;
  if (auto w = flowCapWarning(s)) all.push_back(*w);
  if (auto w = driftCapWarning(s)) all.push_back(*w);
  return all;
}

boost::json::array captureSpansJson(const ReplayStats& s) {
  namespace json = boost::json;
  json::array spans;
  for (const CaptureSpan& c : s.perCapture)
    spans.push_back(json::object{{"file", c.file},
                                 {"frames", c.frames},
                                 {"first", c.frames ? json::value(isoTime(c.firstNs)) : json::value(nullptr)},
                                 {"last", c.frames ? json::value(isoTime(c.lastNs)) : json::value(nullptr)}});
  return spans;
}

void addOutcomesJson(boost::json::object& root, const ReplayStats& s) {
  namespace json = boost::json;
  // The summary's order: by verdict (accept, drop, none), then reason as the evaluator numbers them.
  json::array outcomes;
  for (const auto& [key, n] : s.byOutcome)
    outcomes.push_back(json::object{{"verdict", toString(key.first)}, {"reason", toString(key.second)}, {"frames", n}});
  root["outcomes"] = std::move(outcomes);
  auto details = [](const std::map<std::string, std::uint64_t>& m) {
    json::object o;
    for (const auto& [d, n] : m) o[d] = n;
    return o;
  };
  root["notIp"] = details(s.notIp);
  root["undecodable"] = details(s.undecodable);
  root["skippedBlocks"] = details(s.skippedBlocks);
}

std::optional<Error> driftCapWarning(const ReplayStats& s) {
  if (s.driftUnlisted == 0) return std::nullopt;
  return driftCapWarning(s.driftUnlisted);
}

namespace {
// The count a warning of ours holds between `lead` and `tail` (flowCapPackets, driftCapUnlisted: merge sums or
// recomputes it), or nullopt when the message is not that one.
std::optional<std::uint64_t> countBetween(const std::string& m, const std::string& lead, const std::string& tail) {
  if (m.size() <= lead.size() + tail.size() || m.compare(0, lead.size(), lead) != 0 ||
      m.compare(m.size() - tail.size(), tail.size(), tail) != 0)
    return std::nullopt;
  const std::string n = m.substr(lead.size(), m.size() - lead.size() - tail.size());
  if (n.size() > 18 || n.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(n);
}

const std::string kFlowCapLead = "the flow table was full: ";
const std::string kFlowCapTail = " packets were decided without connection state (raise --max-flows)";
const std::string kDriftCapWhere = "drift";
const std::string kDriftCapLead = "more than " + std::to_string(ReplayStats::kMaxDriftRows) +
                                  " distinct rows disagree with the logged action: the first " +
                                  std::to_string(ReplayStats::kMaxDriftRows) +
                                  " met in the input are listed, each with all its records; ";
const std::string kDriftCapTail = " drift records of rows met after them are counted in the totals only";
}  // namespace

Error driftCapWarning(std::uint64_t unlisted) {
  return Error{kDriftCapWhere, kDriftCapLead + std::to_string(unlisted) + kDriftCapTail};
}

std::optional<std::uint64_t> driftCapUnlisted(const Error& e) {
  if (e.where != kDriftCapWhere) return std::nullopt;
  return countBetween(e.message, kDriftCapLead, kDriftCapTail);
}

std::optional<Error> flowCapWarning(const ReplayStats& s) {
  if (s.flowCapHits == 0) return std::nullopt;
  return flowCapWarning("--max-flows " + std::to_string(s.maxFlows), s.untracked);
}

Error flowCapWarning(const std::string& where, std::uint64_t packets) {
  return Error{where, kFlowCapLead + std::to_string(packets) + kFlowCapTail};
}

std::optional<std::uint64_t> flowCapPackets(const Error& e) {
  if (e.where.rfind("--max-flows ", 0) != 0) return std::nullopt;
  return countBetween(e.message, kFlowCapLead, kFlowCapTail);
}

}  // namespace sgsim
