// `replay --format html`: the summary (every frame in one verdict/reason cell), the verdicts over time, and each
// interface's table with the decisions each entry made (report/html.h). The summary has no JSON form of its
// own, so the page carries one (README "Reports in HTML").

#include <boost/json.hpp>
#include <cstdio>

#include "html_page.h"
#include "sgsim/report/format.h"
#include "sgsim/report/html.h"
#include "sgsim/report/issues.h"

namespace sgsim {

namespace json = boost::json;

namespace {

// Frames per verdict over time in at most kBuckets buckets whose width doubles (merging neighbours) when the
// capture outgrows them: constant memory, whatever the capture's length.
class TimeBuckets {
 public:
  static constexpr std::size_t kBuckets = 120;
  void add(std::int64_t ns, Verdict v) {
    if (!started_) {
      started_ = true;
      startNs_ = ns;
    }
    if (ns < startNs_) ns = startNs_;  // an out-of-order frame counts in the first bucket
    std::uint64_t i = static_cast<std::uint64_t>(ns - startNs_) / widthNs_;
    while (i >= kBuckets) {
      for (std::size_t k = 0; k < kBuckets / 2; ++k)
        for (int s = 0; s < 3; ++s) counts_[k][s] = counts_[2 * k][s] + counts_[2 * k + 1][s];
      for (std::size_t k = kBuckets / 2; k < kBuckets; ++k) counts_[k] = {0, 0, 0};
      widthNs_ *= 2;
      used_ = (used_ + 1) / 2;
      i = static_cast<std::uint64_t>(ns - startNs_) / widthNs_;
    }
    const int s = v == Verdict::Accept ? 0 : v == Verdict::Drop ? 1 : 2;
    ++counts_[i][s];
    used_ = std::max<std::size_t>(used_, i + 1);
  }
  std::int64_t startNs() const { return startNs_; }
  std::uint64_t widthNs() const { return widthNs_; }
  std::size_t used() const { return used_; }
  const std::array<std::uint64_t, 3>& at(std::size_t i) const { return counts_[i]; }

 private:
  bool started_ = false;
  std::int64_t startNs_ = 0;
  std::uint64_t widthNs_ = 1'000'000;  // 1 ms to start with
  std::size_t used_ = 0;
  std::array<std::array<std::uint64_t, 3>, kBuckets> counts_{};
};

// "8.192 s", "1 ms".
std::string bucketText(std::uint64_t ns) {
  char b[32];
  if (ns < 1'000'000'000)
    std::snprintf(b, sizeof b, "%g ms", static_cast<double>(ns) / 1e6);
  else
    std::snprintf(b, sizeof b, "%g s", static_cast<double>(ns) / 1e9);
  return b;
}

class HtmlSummaryWriter : public ReplayWriter {
 public:
  HtmlSummaryWriter(std::ostream& out, std::vector<HsTableAnalysis> analyses)
      : out_(out), analyses_(std::move(analyses)) {}

  void begin(const ReplayContext& ctx) override {
    net_ = ctx.network;
    captureNames_ = ctx.captureNames;
    if (net_ == nullptr) return;
    tables_.resize(net_->eniCount() * 2);
    for (std::size_t e = 0; e < net_->eniCount(); ++e)
      for (Direction d : {Direction::Ingress, Direction::Egress}) {
        Counts& c = tables_[e * 2 + (d == Direction::Ingress ? 0 : 1)];
        c.rules.assign(net_->rules(e, d).size(), 0);
        c.intra.assign(net_->model().groups.size(), 0);
      }
  }

  void frame(const Frame& f, const PacketKey&, const PacketVerdict& v) override {
    time_.add(f.tsNs, v.verdict);
    if (net_ == nullptr) return;
    for (std::uint8_t i = 0; i < v.checkCount; ++i) {
      const Check& c = v.checks[i];
      if (c.eni < 0) continue;
      Counts& t = tables_[static_cast<std::size_t>(c.eni) * 2 + (c.direction == Direction::Ingress ? 0 : 1)];
      switch (c.reason) {
        case Reason::Rule:
          if (c.ruleRef >= 0 && static_cast<std::size_t>(c.ruleRef) < t.rules.size()) ++t.rules[c.ruleRef];
          break;
        case Reason::IntraGroup:
          if (c.intraGroup >= 0 && static_cast<std::size_t>(c.intraGroup) < t.intra.size()) ++t.intra[c.intraGroup];
          break;
        case Reason::Default:
          ++t.defaults;
          break;
        default:
          ++t.byState;
      }
    }
  }

  void finish(const ReplayStats& s) override { out_ << render(s); }

 private:
  struct Counts {
    std::vector<std::uint64_t> rules, intra;
    std::uint64_t defaults = 0, byState = 0;
  };

  std::string render(const ReplayStats& s) const {
    std::string captures;
    for (const auto& c : captureNames_) captures += (captures.empty() ? "" : ", ") + c;
    html::Page page("Replay of " + captures);
    json::object root;
    root["frames"] = s.frames;
    root["bytes"] = s.bytes;
    root["first"] = s.frames ? json::value(isoTime(s.firstNs)) : json::value(nullptr);
    root["last"] = s.frames ? json::value(isoTime(s.lastNs)) : json::value(nullptr);
    root["captureSpans"] = captureSpansJson(s);
    std::vector<Error> warnings = allWarnings(s);
    root["warnings"] = issuesJson(warnings);
    root["errors"] = issuesJson(s.captureErrors);

    std::uint64_t perVerdict[3] = {0, 0, 0};
    for (const auto& [k, n] : s.byOutcome)
      perVerdict[k.first == Verdict::Accept ? 0 : k.first == Verdict::Drop ? 1 : 2] += n;
    addOutcomesJson(root, s);
    root["untracked"] = s.untracked;

    if (s.flowLog) {
      root["flowLog"] = json::parse("{" + flowLogCountsJson(s) + "}");
      if (net_ != nullptr) root["drift"] = json::parse(driftJson(s, *net_, 0));
    }
    page.add(html::para(std::to_string(s.frames) + (s.flowLog ? " records, " : " frames, ") + humanBytes(s.bytes) +
                            ": " + std::to_string(perVerdict[0]) + " accepted, " + std::to_string(perVerdict[1]) +
                            " dropped, " + std::to_string(perVerdict[2]) + " without a verdict (none)",
                        "lead"));
    page.add(html::issues(warnings, s.captureErrors));
    std::vector<std::pair<std::string, std::string>> facts;
    for (const CaptureSpan& c : s.perCapture) facts.push_back({"capture", describeCaptureSpan(c, s.originNs())});
    page.add(html::facts(facts));
    page.add(html::flowLogSection(s, net_));

    // Every frame in one cell.
    page.add(html::heading("Every frame by verdict and reason"));
    std::string t = "<table class=\"outcomes\">\n<tr><th>verdict</th><th>reason</th><th>frames</th></tr>\n";
    for (const auto& [k, n] : s.byOutcome)
      t += std::string("<tr data-verdict=\"") + toString(k.first) + "\" data-reason=\"" + toString(k.second) +
           "\" data-frames=\"" + std::to_string(n) + "\"><td class=\"pol-" + toString(k.first) + "\">" +
           toString(k.first) + "</td><td>" + toString(k.second) + "</td><td class=\"b\">" +
           html::bar(n, s.frames,
                     k.first == Verdict::Accept ? "opened"
                     : k.first == Verdict::Drop ? "cut"
                                                : "after") +
           "</td></tr>\n";
    t += "</table>\n";
    auto detailRows = [&](const char* title, const std::map<std::string, std::uint64_t>& m) {
      if (m.empty()) return;
      t += "<h3>" + std::string(title) + "</h3>\n<table>\n";
      for (const auto& [d, n] : m)
        t += "<tr><td>" + htmlEscape(d) + "</td><td class=\"n\">" + std::to_string(n) + "</td></tr>\n";
      t += "</table>\n";
    };
    detailRows("Not IP, by payload", s.notIp);
    detailRows("Undecodable, by cause", s.undecodable);
    detailRows("pcapng blocks skipped (no packet in them), by type", s.skippedBlocks);
    page.add(t);

    // Verdicts over time.
    json::array buckets;
    for (std::size_t i = 0; i < time_.used(); ++i)
      buckets.push_back(json::array{time_.at(i)[0], time_.at(i)[1], time_.at(i)[2]});
    root["timeline"] = json::object{{"start", s.frames ? json::value(isoTime(time_.startNs())) : json::value(nullptr)},
                                    {"bucketNs", time_.widthNs()},
                                    {"series", json::array{"accept", "drop", "none"}},
                                    {"buckets", buckets}};
    if (s.frames > 0) {
      page.add(html::heading("Verdicts over time"));
      page.add(
          "<p class=\"legend\"><span><i class=\"sw\" style=\"background:#27ae60\"></i>accept</span><span><i "
          "class=\"sw\" style=\"background:#c0392b\"></i>drop</span><span><i class=\"sw\" "
          "style=\"background:#95a5a6\"></i>none</span><span>frames per " +
          bucketText(time_.widthNs()) + "</span></p>\n");
      html::Histogram h;
      h.startNs = time_.startNs();
      h.endNs = time_.startNs() + static_cast<std::int64_t>(time_.widthNs() * std::max<std::size_t>(time_.used(), 1));
      h.originNs = s.originNs();
      h.series = {"accept", "drop", "none"};
      for (std::size_t i = 0; i < time_.used(); ++i)
        h.buckets.push_back({time_.at(i)[0], time_.at(i)[1], time_.at(i)[2]});
      page.add(html::histogramSvg(h));
    }

    // The tables with the decisions each entry made.
    json::array tablesJson;
    std::vector<html::Table> list;
    if (net_ != nullptr)
      for (std::size_t e = 0; e < net_->eniCount(); ++e)
        for (Direction d : {Direction::Ingress, Direction::Egress}) {
          const Counts& c = tables_[e * 2 + (d == Direction::Ingress ? 0 : 1)];
          html::Table tb = html::networkTable(*net_, e, d, html::findAnalysis(analyses_, e, d));
          json::array entries;
          std::size_t ruleIndex = 0;
          for (html::Entry& x : tb.entries) {
            std::uint64_t n = 0;
            if (x.kind == "rule") {
              n = c.rules[ruleIndex++];
            } else if (x.kind == "intra-group") {
              const auto& groups = net_->model().groups;
              for (std::size_t g = 0; g < groups.size(); ++g)
                if (groups[g].id == x.groupId) n = c.intra[g];
            } else {
              n = c.defaults;
            }
            x.values = {n};
            entries.push_back(json::object{{"rank", x.rank},
                                           {"kind", x.kind},
                                           {"rule", x.ruleId.empty() ? json::value(nullptr) : json::value(x.ruleId)},
                                           {"group", x.groupId.empty() ? json::value(nullptr) : json::value(x.groupId)},
                                           {"decisions", n}});
          }
          if (c.byState > 0)
            tb.notes.push_back(std::to_string(c.byState) +
                               " checks here were decided by connection state (established or blocked)");
          tablesJson.push_back(json::object{
              {"eni", tb.eni}, {"direction", tb.direction}, {"entries", std::move(entries)}, {"byState", c.byState}});
          list.push_back(std::move(tb));
        }
    root["tables"] = std::move(tablesJson);
    if (!list.empty()) {
      page.add(html::heading("Rule tables in evaluation order"));
      page.add(html::para(
          "Each interface's entries as they are evaluated. Bars: the checks each entry decided (a packet between "
          "two modeled interfaces is checked at both; the packets that pass or drop by connection state are not "
          "decisions of an entry). Grey: shadowed, with the entries that decide everything it matches.",
          "muted"));
      page.add(html::tables({{"decisions", "decisions", "hits"}}, list));
    }
    return page.finish(json::serialize(root));
  }

  std::ostream& out_;
  std::vector<HsTableAnalysis> analyses_;
  const Network* net_ = nullptr;
  std::vector<std::string> captureNames_;
  std::vector<Counts> tables_;
  TimeBuckets time_;
};

}  // namespace

std::unique_ptr<ReplayWriter> makeReplayHtmlWriter(std::ostream& out, std::vector<HsTableAnalysis> analyses) {
  return std::make_unique<HtmlSummaryWriter>(out, std::move(analyses));
}

}  // namespace sgsim
