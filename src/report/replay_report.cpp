#include "sgsim/report/replay_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "sgsim/core/text.h"
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
  bytes += f.wireLen;
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

// Every warning of the run, the full flow table's included.
std::vector<Error> allWarnings(const ReplayStats& s) {
  std::vector<Error> all = s.warnings;
  if (auto w = flowCapWarning(s)) all.push_back(*w);
  return all;
}

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
         << epochSeconds(f.tsNs) << ',' << f.wireLen << ',' << toString(v.verdict) << ',' << toString(v.reason) << ','
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
    out_ << s << '\n';
  }
  void finish(const ReplayStats& s) override { out_ << '\n' << renderSummary(s); }

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
    for (const CaptureSpan& c : s.perCapture) o << "  " << describeCaptureSpan(c, s.firstNs) << '\n';
  } else {
    std::snprintf(line, sizeof line, "%llu frames, %s, %.3f s of capture\n", static_cast<unsigned long long>(s.frames),
                  humanBytes(s.bytes).c_str(), s.frames ? static_cast<double>(s.lastNs - s.firstNs) / 1e9 : 0.0);
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
  for (const auto& e : s.captureErrors) o << "  capture error: " << e.toString() << '\n';
  o << issuesText(IssueKind::Warning, s.warnings, "  ");
  return o.str();
}

std::optional<Error> flowCapWarning(const ReplayStats& s) {
  if (s.flowCapHits == 0) return std::nullopt;
  return Error{"--max-flows " + std::to_string(s.maxFlows),
               "the flow table was full: " + std::to_string(s.untracked) +
                   " packets were decided without connection state (raise --max-flows)"};
}

}  // namespace sgsim
