#include "html_page.h"

#include <algorithm>
#include <cstdio>

#include "sgsim/model/describe.h"
#include "sgsim/report/format.h"
#include "sgsim/report/html.h"

namespace sgsim {

std::string htmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string scriptSafeJson(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace html {

namespace {

// Kept short: a 1,000-rule audit repeats the row markup a thousand times, the style sheet once.
constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;color:#222;margin:0;background:#fff}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:24px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:16px 0 6px}
p.lead{color:#444}.muted{color:#777}
table{border-collapse:collapse;margin:4px 0 12px}
td,th{padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
th{background:#f4f4f4;font-weight:600}
td.b{white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,monospace;font-size:12px}
.issues{border:2px solid #d35400;background:#fdf2e9;padding:6px 12px;margin:12px 0}
.issues.errors{border-color:#c0392b;background:#fdedec}
.issues li{font-family:ui-monospace,monospace;font-size:12px}
svg.bar{vertical-align:middle;background:#f1f1f1}
svg.bar rect{fill:#2c7be5}svg.bar rect.impact{fill:#e67e22}svg.bar rect.cut{fill:#c0392b}
svg.bar rect.opened{fill:#27ae60}svg.bar rect.after{fill:#8e44ad}
tr.shadowed td{color:#aaa}tr.shadowed svg.bar{opacity:.4}
tr.removed td{text-decoration:line-through;color:#c0392b}tr.removed td.keep{text-decoration:none}
tr.added td{background:#eafaf1}
tr.kind-default td,tr.kind-intra-group td{font-style:italic}
.pol-accept{color:#1e8449;font-weight:600}.pol-drop{color:#c0392b;font-weight:600}
tr.shadowed .pol-accept,tr.shadowed .pol-drop{color:#aaa}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;background:#eee}
.badge.in-use{background:#d6eaf8}.badge.safe-to-revoke{background:#d5f5e3}.badge.never-matches{background:#eee;color:#777}
.note{font-size:12px;color:#666}
svg.timeline{border:1px solid #ddd;background:#fcfcfc}
svg text{font:11px ui-monospace,monospace;fill:#333;stroke:none}
.tl .cut{stroke:#c0392b;fill:#c0392b}.tl .opened{stroke:#27ae60;fill:#27ae60}
.tl .changed{stroke:#7f8c8d;fill:#7f8c8d}.tl .hits{stroke:#2c7be5;fill:#2c7be5}
.tl line.span{stroke-width:4}.tl line.axis{stroke:#bbb}.tl line.at{stroke:#8e44ad;stroke-dasharray:4 3;stroke-width:2}
.tl text.at{fill:#8e44ad}
.hist .accept{fill:#27ae60}.hist .drop{fill:#c0392b}.hist .none{fill:#95a5a6}
.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
)";

std::string num(std::uint64_t v) { return std::to_string(v); }

// x position of `ns` in a plot from x0 to x1 over [start, end].
double xOf(std::int64_t ns, std::int64_t start, std::int64_t end, double x0, double x1) {
  if (end <= start) return x0;
  const double f = static_cast<double>(ns - start) / static_cast<double>(end - start);
  return x0 + std::clamp(f, 0.0, 1.0) * (x1 - x0);
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

// The time axis: ticks at five evenly spaced instants, labelled as offsets from the origin.
std::string axis(std::int64_t start, std::int64_t end, std::int64_t origin, double x0, double x1, double y,
                 double height) {
  std::string s = "<line class=\"axis\" x1=\"" + fmt(x0) + "\" y1=\"" + fmt(y) + "\" x2=\"" + fmt(x1) + "\" y2=\"" +
                  fmt(y) + "\"/>";
  for (int i = 0; i <= 4; ++i) {
    const std::int64_t t = start + (end - start) / 4 * i;
    const double x = xOf(t, start, end, x0, x1);
    s += "<line class=\"axis\" x1=\"" + fmt(x) + "\" y1=\"" + fmt(y) + "\" x2=\"" + fmt(x) + "\" y2=\"" +
         fmt(y + height) + "\" stroke-opacity=\"0.3\"/>";
    s += "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y - 4) + "\" text-anchor=\"" +
         (i == 0   ? "start"
          : i == 4 ? "end"
                   : "middle") +
         "\">" + htmlEscape(offset(t, origin)) + "</text>";
  }
  return s;
}

}  // namespace

std::string offset(std::int64_t ns, std::int64_t originNs) { return relativeSeconds(ns, originNs); }

std::string Page::finish(const std::string& json) const {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      // Nothing may be fetched or run, whatever a string in the report holds.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" "
      "content=\"sgsim\">\n<title>" +
      htmlEscape(title_) + "</title>\n<style>" + kStyle + "</style></head>\n<body><main>\n<h1>" + htmlEscape(title_) +
      "</h1>\n";
  out += body_;
  out += "</main>\n<script type=\"application/json\" id=\"sgsim-report\">" + scriptSafeJson(json) +
         "</script>\n</body></html>\n";
  return out;
}

std::string heading(const std::string& text) { return "<h2>" + htmlEscape(text) + "</h2>\n"; }

std::string para(const std::string& text, const std::string& cls) {
  return (cls.empty() ? std::string("<p>") : "<p class=\"" + cls + "\">") + htmlEscape(text) + "</p>\n";
}

std::string issues(const std::vector<Error>& warnings, const std::vector<Error>& errors) {
  std::string s;
  auto box = [&](const std::vector<Error>& list, const char* cls, const std::string& title) {
    if (list.empty()) return;
    s += std::string("<div class=\"issues ") + cls + "\" id=\"" + cls + "\"><strong>" + htmlEscape(title) +
         "</strong><ul>\n";
    for (const Error& e : list)
      s += "<li data-where=\"" + htmlEscape(e.where) + "\">" + htmlEscape(e.toString()) + "</li>\n";
    s += "</ul></div>\n";
  };
  box(warnings, "warnings",
      std::to_string(warnings.size()) + (warnings.size() == 1 ? " warning" : " warnings") +
          ": what sgsim went on despite (--strict refuses them)");
  box(errors, "errors",
      std::to_string(errors.size()) + (errors.size() == 1 ? " error" : " errors") +
          " in the input: the report covers what was read before it");
  return s;
}

std::string facts(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string s = "<table class=\"facts\">\n";
  for (const auto& [k, v] : rows) s += "<tr><th>" + htmlEscape(k) + "</th><td>" + htmlEscape(v) + "</td></tr>\n";
  return s + "</table>\n";
}

std::string flowLogSection(const ReplayStats& s, const Network* net) {
  if (!s.flowLog) return "";
  std::string out = heading("Flow-log records") + "<pre class=\"flowlog\">" + htmlEscape(renderFlowLogCounts(s)) + "</pre>\n";
  if (!s.drift.empty() && net != nullptr) {
    out += heading("Drift: the model's verdict against the logged action, most bytes first");
    out += "<pre class=\"drift\">" + htmlEscape(renderDriftText(s, *net, 50)) + "</pre>\n";
  }
  return out;
}

std::string bar(std::uint64_t value, std::uint64_t max, const std::string& cls) {
  constexpr double kWidth = 120;
  double w = max ? kWidth * static_cast<double>(value) / static_cast<double>(max) : 0;
  if (value > 0 && w < 1) w = 1;  // a non-zero figure never looks like zero
  return "<svg class=\"bar\" width=\"120\" height=\"10\"><rect class=\"" + cls + "\" width=\"" + fmt(w) +
         "\" height=\"10\"/></svg> " + num(value);
}

std::string timelineSvg(const Timeline& t) {
  constexpr double kLabel = 380, kRight = 950, kRow = 16, kTop = 34;
  const double height = kTop + kRow * static_cast<double>(t.spans.size()) + 10;
  std::string s = "<svg class=\"timeline tl\" width=\"960\" height=\"" + fmt(height) + "\" viewBox=\"0 0 960 " +
                  fmt(height) + "\" role=\"img\">\n";
  s += axis(t.startNs, t.endNs, t.originNs, kLabel, kRight, 20, height - 24);
  for (std::size_t i = 0; i < t.spans.size(); ++i) {
    const Span& sp = t.spans[i];
    const double y = kTop + kRow * static_cast<double>(i) + kRow / 2;
    const double x1 = xOf(sp.firstNs, t.startNs, t.endNs, kLabel, kRight);
    const double x2 = std::max(xOf(sp.lastNs, t.startNs, t.endNs, kLabel, kRight), x1 + 1);
    std::string label = sp.label;
    if (label.size() > 56) label = label.substr(0, 55) + "…";
    s += "<g class=\"" + sp.cls + "\"" + sp.attrs + "><title>" + htmlEscape(sp.label) + ": " +
         htmlEscape(offset(sp.firstNs, t.originNs)) + " .. " + htmlEscape(offset(sp.lastNs, t.originNs)) +
         "</title><text x=\"4\" y=\"" + fmt(y + 4) + "\">" + htmlEscape(label) + "</text><line class=\"span " + sp.cls +
         "\" x1=\"" + fmt(x1) + "\" y1=\"" + fmt(y) + "\" x2=\"" + fmt(x2) + "\" y2=\"" + fmt(y) +
         "\"/><circle class=\"" + sp.cls + "\" cx=\"" + fmt(x1) + "\" cy=\"" + fmt(y) + "\" r=\"4\"/></g>\n";
  }
  if (t.atNs) {
    const double x = xOf(*t.atNs, t.startNs, t.endNs, kLabel, kRight);
    s += "<line class=\"at\" id=\"at-mark\" x1=\"" + fmt(x) + "\" y1=\"24\" x2=\"" + fmt(x) + "\" y2=\"" +
         fmt(height - 4) + "\"/><text class=\"at\" x=\"" + fmt(std::min(x + 4, kRight - 120)) + "\" y=\"32\">" +
         htmlEscape(t.atLabel) + "</text>\n";
  }
  s += "</svg>\n";
  if (t.more > 0)
    s += para("… and " + std::to_string(t.more) + " more not drawn (the JSON block lists them all)", "muted");
  return s;
}

std::string histogramSvg(const Histogram& h) {
  constexpr double kLeft = 60, kRight = 950, kTop = 28, kPlot = 140;
  std::uint64_t max = 0;
  for (const auto& b : h.buckets) {
    std::uint64_t sum = 0;
    for (auto v : b) sum += v;
    max = std::max(max, sum);
  }
  std::string s = "<svg class=\"timeline hist tl\" width=\"960\" height=\"" + fmt(kTop + kPlot + 8) +
                  "\" viewBox=\"0 0 960 " + fmt(kTop + kPlot + 8) + "\" role=\"img\">\n";
  s += axis(h.startNs, h.endNs, h.originNs, kLeft, kRight, 16, kPlot + 12);
  s += "<text x=\"4\" y=\"" + fmt(kTop + 10) + "\">" + num(max) + "</text><text x=\"4\" y=\"" + fmt(kTop + kPlot) +
       "\">0</text>\n";
  const double w = h.buckets.empty() ? 0 : (kRight - kLeft) / static_cast<double>(h.buckets.size());
  for (std::size_t i = 0; i < h.buckets.size(); ++i) {
    double y = kTop + kPlot;
    for (std::size_t k = 0; k < h.series.size() && k < h.buckets[i].size(); ++k) {
      const std::uint64_t v = h.buckets[i][k];
      if (v == 0 || max == 0) continue;
      const double bh = kPlot * static_cast<double>(v) / static_cast<double>(max);
      y -= bh;
      s += "<rect class=\"" + h.series[k] + "\" x=\"" + fmt(kLeft + w * static_cast<double>(i)) + "\" y=\"" + fmt(y) +
           "\" width=\"" + fmt(std::max(w - 1, 1.0)) + "\" height=\"" + fmt(bh) + "\"><title>" + h.series[k] + " " +
           num(v) + "</title></rect>";
    }
  }
  return s + "\n</svg>\n";
}

std::string tables(const std::vector<Metric>& metrics, const std::vector<Table>& list) {
  std::vector<std::uint64_t> max(metrics.size(), 0);
  for (const Table& t : list)
    for (const Entry& e : t.entries)
      for (std::size_t m = 0; m < metrics.size() && m < e.values.size(); ++m)
        if (e.values[m]) max[m] = std::max(max[m], *e.values[m]);
  std::string s;
  for (const Table& t : list) {
    s += "<h3>" + htmlEscape(t.heading) + "</h3>\n";
    s += "<table class=\"rules\" data-eni=\"" + htmlEscape(t.eni) + "\" data-direction=\"" + htmlEscape(t.direction) +
         "\">\n<tr><th>#</th><th>prio</th><th>policy</th><th>matches</th><th>group</th><th>rule</th>";
    for (const Metric& m : metrics) s += "<th>" + htmlEscape(m.label) + "</th>";
    s += "<th>notes</th></tr>\n";
    for (const Entry& e : t.entries) {
      std::string cls = "kind-" + e.kind;
      if (!e.shadowedBy.empty()) cls += " shadowed";
      if (!e.change.empty()) cls += " " + e.change;
      s += "<tr class=\"" + cls + "\" data-kind=\"" + e.kind + "\" data-rank=\"" + std::to_string(e.rank) + "\"";
      if (!e.ruleId.empty()) s += " data-rule=\"" + htmlEscape(e.ruleId) + "\"";
      if (!e.groupId.empty()) s += " data-group=\"" + htmlEscape(e.groupId) + "\"";
      if (!e.change.empty()) s += " data-change=\"" + e.change + "\"";
      if (!e.shadowedBy.empty()) {
        std::string by;
        for (const auto& x : e.shadowedBy) by += (by.empty() ? "" : " ") + x;
        s += " data-shadowed-by=\"" + htmlEscape(by) + "\"";
      }
      for (std::size_t m = 0; m < metrics.size() && m < e.values.size(); ++m)
        if (e.values[m]) s += " data-" + metrics[m].key + "=\"" + num(*e.values[m]) + "\"";
      s += e.attrs + "><td class=\"n\">" + std::to_string(e.rank) + "</td><td class=\"n\">" + htmlEscape(e.priority) +
           "</td><td class=\"pol-" + e.policy + "\">" + e.policy + "</td><td class=\"mono\">" + htmlEscape(e.what);
      if (!e.description.empty()) s += "<br><span class=\"note\">" + htmlEscape(e.description) + "</span>";
      s += "</td><td class=\"mono\">" + htmlEscape(e.groupId) + "</td><td class=\"mono\">" + htmlEscape(e.ruleId) +
           "</td>";
      for (std::size_t m = 0; m < metrics.size(); ++m) {
        s += "<td class=\"keep b\">";
        if (m < e.values.size() && e.values[m]) s += bar(*e.values[m], max[m], metrics[m].cls);
        s += "</td>";
      }
      s += "<td class=\"keep\">";
      if (!e.badge.empty())
        s += "<span class=\"badge " + htmlEscape(e.badge) + "\">" + htmlEscape(e.badge) + "</span> ";
      if (!e.change.empty()) s += "<strong>" + e.change + "</strong> ";
      if (!e.shadowedBy.empty()) {
        std::string by;
        for (const auto& x : e.shadowedBy) by += (by.empty() ? "" : ", ") + x;
        s += "<span class=\"note\">shadowed by " + htmlEscape(by) + ": never decides</span> ";
      }
      if (!e.note.empty()) s += "<span class=\"note\">" + htmlEscape(e.note) + "</span>";
      s += "</td></tr>\n";
    }
    s += "</table>\n";
    for (const auto& n : t.notes) s += para("note: " + n, "note");
  }
  return s;
}

const HsTableAnalysis* findAnalysis(const std::vector<HsTableAnalysis>& analyses, std::size_t eni, Direction d) {
  for (const HsTableAnalysis& a : analyses)
    if (a.eni == eni && a.direction == d) return &a;
  return nullptr;
}

std::string deciderName(const Network& net, std::size_t eni, Direction d, const HsDecider& who) {
  switch (who.kind) {
    case HsDecider::Kind::Rule:
      return net.rules(eni, d)[static_cast<std::size_t>(who.ruleRef)].ruleId;
    case HsDecider::Kind::IntraGroup:
      return "intra-group " + net.model().groups[static_cast<std::size_t>(who.group)].id;
    case HsDecider::Kind::Default:
      break;
  }
  return std::string("default ") + toString(who.verdict);
}

Table networkTable(const Network& net, std::size_t eni, Direction d, const HsTableAnalysis* analysis) {
  const Model& model = net.model();
  const Eni& e = net.eni(eni);
  Table t;
  t.eni = e.id;
  t.direction = toString(d);
  GroupType type = GroupType::Normal;
  for (const auto& id : e.groupIds)
    if (const SecurityGroup* g = model.findGroup(id)) {
      type = g->type;
      break;
    }
  t.heading = e.id + " " + toString(d) + " (" + (type == GroupType::Normal ? "basic" : "enterprise") + " groups: ";
  for (std::size_t i = 0; i < e.groupIds.size(); ++i) t.heading += (i ? ", " : "") + e.groupIds[i];
  t.heading += ")";
  int rank = 0;
  if (type == GroupType::Normal)
    for (const auto& id : e.groupIds) {
      const SecurityGroup* g = model.findGroup(id);
      if (g == nullptr || g->innerAccessPolicy != Policy::Accept) continue;
      Entry x;
      x.kind = "intra-group";
      x.rank = ++rank;
      x.groupId = g->id;
      x.policy = "accept";
      x.priority = "-";
      x.what = "members of " + g->id + " (checked before any custom rule)";
      t.entries.push_back(std::move(x));
    }
  const auto& refs = net.rules(eni, d);
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const RuleRef& ref = refs[i];
    const SecurityGroup* g = model.findGroup(ref.groupId);
    const Rule& r = *ref.rule;
    Entry x;
    x.kind = "rule";
    x.rank = ++rank;
    x.ruleId = ref.ruleId;
    x.groupId = ref.groupId;
    x.policy = toString(r.policy);
    x.priority = std::to_string(r.priority);
    x.what = std::string(toString(r.protocol, g ? g->product : Product::Ecs)) + " " + describePorts(r) +
             (d == Direction::Ingress ? " from " : " to ") + describePeer(r.peer);
    if (r.sourcePortRange && !r.sourcePortRange->isAny()) x.what += " sport " + r.sourcePortRange->toString();
    if (r.local) x.what += " at " + r.local->toString();
    x.description = r.description;
    if (analysis && analysis->status == HsStatus::Exact && i < analysis->rules.size()) {
      const HsRuleFindings& f = analysis->rules[i];
      if (f.shadowed)
        for (const HsDecider& who : f.shadowedBy) x.shadowedBy.push_back(deciderName(net, eni, d, who));
      if (f.matchesNothing) x.note = "matches nothing: " + f.nothingReason;
    }
    t.entries.push_back(std::move(x));
  }
  Entry def;
  def.kind = "default";
  def.rank = ++rank;
  def.policy = toString(net.defaultVerdict(eni, d));
  def.priority = "-";
  def.what = "anything else (implicit default)";
  t.entries.push_back(std::move(def));
  if (analysis && analysis->status != HsStatus::Exact)
    t.notes.push_back("shadowed rules not marked: the static analysis of this table was not proven (" +
                      analysis->notProven + ")");
  return t;
}

}  // namespace html
}  // namespace sgsim
