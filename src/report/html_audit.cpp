// `audit --format html`: the ranked verdicts, each rule's decided traffic on a timeline, and every audited
// interface's table in evaluation order with what each rule decided and what revoking it alone would change
// (report/html.h).

#include <boost/json.hpp>
#include <map>
#include <set>

#include "html_page.h"
#include "sgsim/report/format.h"
#include "sgsim/report/html.h"

namespace sgsim {

namespace {

std::string key(const std::string& group, const std::string& rule) { return group + '\n' + rule; }

std::string figures(const AuditedRule& t) {
  auto a = [](const char* name, std::uint64_t v) {
    return std::string(" data-") + name + "=\"" + std::to_string(v) + "\"";
  };
  return a("hits-packets", t.hits.packets) + a("hits-bytes", t.hits.bytes) + a("cut-flows", t.ifRevoked.cutFlows) +
         a("opened-flows", t.ifRevoked.openedFlows) + a("changed-packets", t.ifRevoked.changedPackets) +
         a("changed-bytes", t.ifRevoked.changedBytes);
}

}  // namespace

std::string renderAuditHtml(const AuditReport& r, const Network& net) {
  std::string captures;
  for (const auto& c : r.captures) captures += (captures.empty() ? "" : ", ") + c;
  html::Page page("Audit of " + std::to_string(r.rules.size()) + (r.rules.size() == 1 ? " rule" : " rules") + " on " +
                  std::to_string(r.enis) + (r.enis == 1 ? " interface" : " interfaces") + " over " + captures);
  std::size_t counts[3] = {0, 0, 0};
  for (const auto& row : r.rules) ++counts[static_cast<int>(row.verdict)];
  page.add(html::para(std::to_string(counts[0]) + " in use, " + std::to_string(counts[1]) + " safe to revoke, " +
                          std::to_string(counts[2]) + (counts[2] == 1 ? " never matches" : " never match"),
                      "lead"));
  std::vector<Error> warnings = allWarnings(r.stats);
  page.add(html::issues(warnings, r.stats.captureErrors));
  std::vector<std::pair<std::string, std::string>> facts;
  for (const CaptureSpan& c : r.stats.perCapture) facts.push_back({"capture", describeCaptureSpan(c, r.originNs)});
  facts.push_back({r.stats.flowLog ? "records" : "frames", std::to_string(r.stats.frames)});
  page.add(html::facts(facts));
  page.add(html::flowLogSection(r.stats, r.network));

  // The ranked list, as the text report orders it.
  page.add(html::heading("Verdicts"));
  std::string s = "<table class=\"verdicts\">\n<tr><th>#</th><th>verdict</th><th>rule</th><th>why</th></tr>\n";
  std::size_t rank = 0;
  for (const auto& row : r.rules) {
    const AuditedRule& t = row.traffic;
    std::string enis;
    for (const auto& e : t.enis) enis += (enis.empty() ? "" : ", ") + e;
    s += "<tr data-rule=\"" + htmlEscape(t.ruleId) + "\" data-group=\"" + htmlEscape(t.groupId) + "\" data-verdict=\"" +
         toString(row.verdict) + "\"><td class=\"n\">" + std::to_string(++rank) + "</td><td><span class=\"badge " +
         toString(row.verdict) + "\">" + toString(row.verdict) + "</span></td><td class=\"mono\">" +
         htmlEscape(row.description) + " <span class=\"muted\">[" + htmlEscape(t.groupId) +
         (enis.empty() ? "" : " on " + htmlEscape(enis)) + "]</span></td><td>" + htmlEscape(row.why);
    for (const auto& f : row.findings) s += "<br><span class=\"note\">" + htmlEscape(f) + "</span>";
    s += "</td></tr>\n";
  }
  page.add(s + "</table>\n");

  // When each rule decided traffic.
  if (r.stats.frames > 0) {
    html::Timeline tl;
    tl.startNs = r.stats.firstNs;
    tl.endNs = r.stats.lastNs;
    tl.originNs = r.originNs;
    constexpr std::size_t kMaxSpans = 100;
    std::size_t withHits = 0;
    for (const auto& row : r.rules) {
      const AuditedRule& t = row.traffic;
      if (t.hits.packets == 0) continue;
      if (++withHits > kMaxSpans) continue;
      html::Span sp;
      sp.label = t.ruleId + " (" + std::to_string(t.hits.flows) + (t.hits.flows == 1 ? " flow)" : " flows)");
      sp.cls = "hits";
      sp.firstNs = t.hits.firstNs;
      sp.lastNs = t.hits.lastNs;
      sp.attrs = " data-rule=\"" + htmlEscape(t.ruleId) + "\"";
      tl.spans.push_back(std::move(sp));
    }
    tl.more = withHits > kMaxSpans ? withHits - kMaxSpans : 0;
    if (!tl.spans.empty()) {
      page.add(html::heading("When each rule decided traffic"));
      page.add(html::para("From the first to the last packet each rule decided, in the order of the verdicts above.",
                          "muted"));
      page.add(html::timelineSvg(tl));
    }
  }

  // The audited interfaces' tables in evaluation order.
  std::map<std::string, const AuditRuleRow*> byRule;
  std::set<std::pair<std::string, Direction>> wanted;
  for (const auto& row : r.rules) {
    byRule[key(row.traffic.groupId, row.traffic.ruleId)] = &row;
    for (const auto& e : row.traffic.enis) wanted.insert({e, row.traffic.direction});
  }
  std::vector<html::Table> list;
  for (std::size_t eni = 0; eni < net.eniCount(); ++eni)
    for (Direction d : {Direction::Ingress, Direction::Egress}) {
      if (!wanted.count({net.eni(eni).id, d})) continue;
      html::Table t = html::networkTable(net, eni, d, nullptr);
      for (html::Entry& e : t.entries) {
        e.values = {std::nullopt, std::nullopt};
        if (e.kind != "rule") continue;
        auto it = byRule.find(key(e.groupId, e.ruleId));
        if (it == byRule.end()) {
          e.note = "not audited";
          continue;
        }
        const AuditRuleRow& row = *it->second;
        e.values = {row.traffic.hits.flows, row.traffic.ifRevoked.changedFlows};
        e.badge = toString(row.verdict);
        e.attrs = " data-verdict=\"" + std::string(toString(row.verdict)) + "\"" + figures(row.traffic);
        if (row.statics.neverDecides)
          for (const AuditEntry& by : row.statics.shadowedBy) e.shadowedBy.push_back(entryText(by));
        if (row.statics.matchesNothing) e.note = "matches nothing: " + row.statics.nothingReason;
      }
      list.push_back(std::move(t));
    }
  if (!list.empty()) {
    page.add(html::heading("Rule tables in evaluation order"));
    page.add(html::para(
        "Each audited interface's entries as they are evaluated: intra-group accept, the custom rules (priority "
        "ascending, drop before accept at equal priority, then group and rule order), the implicit default. Bars: "
        "the flows each rule decided in the capture, and the flows whose fate revoking it alone would change "
        "(over every interface that holds its group). Grey: shadowed, with the entries that decide everything it "
        "matches.",
        "muted"));
    page.add(html::tables(
        {{"hits-flows", "decided flows", "hits"}, {"changed-flows", "if revoked: changed flows", "impact"}}, list));
  }
  return page.finish(boost::json::serialize(boost::json::parse(renderAuditJson(r))));
}

}  // namespace sgsim
