// `whatif --format html`: the changed flows on a timeline, the tables the change touches with what decided the
// changed flows before and after, and the JSON report in the page (report/html.h).

#include <boost/json.hpp>
#include <map>
#include <set>

#include "html_page.h"
#include "sgsim/model/describe.h"
#include "sgsim/report/format.h"
#include "sgsim/report/html.h"

namespace sgsim {

namespace {

using html::Entry;
using html::Table;

// The table entry a side's decision names, as a key into the merged table: "rule:<id>", "intra-group:<group>",
// "default"; "" for a decision by connection state (established, blocked) or none.
std::string entryKey(const SideDecision& s) {
  switch (s.reason) {
    case Reason::Rule:
      return "rule:" + s.ruleId;
    case Reason::IntraGroup:
      return "intra-group:" + s.groupId;
    case Reason::Default:
      return "default";
    default:
      return "";
  }
}

std::string entryKey(const Entry& e) {
  if (e.kind == "rule") return "rule:" + e.ruleId;
  if (e.kind == "intra-group") return "intra-group:" + e.groupId;
  return "default";
}

// The table of one interface and direction with the rules the change removed (in their former place) and added.
// Removing and adding rules keeps the other rules' relative order (model/order.h), so the two orders merge.
Table mergedTable(const Network& before, const Network& after, std::size_t eni, Direction d,
                  const HsTableAnalysis* analysis) {
  Table b = html::networkTable(before, eni, d, nullptr);
  Table a = html::networkTable(after, eni, d, analysis);
  std::set<std::string> inBefore, inAfter;
  for (const Entry& e : b.entries) inBefore.insert(entryKey(e));
  for (const Entry& e : a.entries) inAfter.insert(entryKey(e));
  Table t = a;
  t.entries.clear();
  std::size_t i = 0, j = 0;
  while (i < b.entries.size() || j < a.entries.size()) {
    if (i < b.entries.size() && j < a.entries.size() && entryKey(b.entries[i]) == entryKey(a.entries[j])) {
      t.entries.push_back(a.entries[j]);
      ++i, ++j;
    } else if (i < b.entries.size() && !inAfter.count(entryKey(b.entries[i]))) {
      t.entries.push_back(b.entries[i]);
      t.entries.back().change = "removed";
      ++i;
    } else if (j < a.entries.size() && !inBefore.count(entryKey(a.entries[j]))) {
      t.entries.push_back(a.entries[j]);
      t.entries.back().change = "added";
      ++j;
    } else {  // cannot happen (the orders agree); keep every entry rather than loop
      if (i < b.entries.size()) ++i;
      if (j < a.entries.size()) ++j;
    }
  }
  int rank = 0;
  for (Entry& e : t.entries) e.rank = ++rank;
  return t;
}

std::string deciderText(const Network& net, std::size_t eni, Direction d, const HsDecider& who) {
  std::string name = html::deciderName(net, eni, d, who);
  if (who.kind == HsDecider::Kind::Default) return name;
  return std::string(toString(who.verdict)) + " " + name;
}

}  // namespace

std::string renderWhatIfHtml(const WhatIfReport& r, const Network& before, const Network& after,
                             const std::vector<HsTableAnalysis>& analyses) {
  std::string captures;
  for (const auto& c : r.captures) captures += (captures.empty() ? "" : ", ") + c;
  html::Page page("What-if over " + captures);
  const std::size_t shown = r.limit ? std::min(r.limit, r.flows.size()) : r.flows.size();

  // The answer first.
  if (r.flows.empty())
    page.add(html::para("No traffic in the capture changes fate: every packet gets the same verdict before and after.",
                        "lead"));
  else
    page.add(html::para(std::to_string(r.flows.size()) + (r.flows.size() == 1 ? " flow changes" : " flows change") +
                            " fate (" + std::to_string(r.totals.cut) + " cut, " + std::to_string(r.totals.opened) +
                            " opened): " + std::to_string(r.totals.changedPackets) + " packets, " +
                            humanBytes(r.totals.changedBytes),
                        "lead"));
  std::vector<Error> warnings = allWarnings(r.stats);
  page.add(html::issues(warnings, r.stats.captureErrors));

  std::vector<std::pair<std::string, std::string>> facts;
  for (const CaptureSpan& c : r.stats.perCapture) facts.push_back({"capture", describeCaptureSpan(c, r.originNs)});
  facts.push_back({r.stats.flowLog ? "records" : "frames", std::to_string(r.totals.frames)});
  if (r.atNs) {
    facts.push_back({"change applied at", (r.stats.frames ? relativeSeconds(*r.atNs, r.originNs) + " (" : "") +
                                              isoTime(*r.atNs) + (r.stats.frames ? ")" : "")});
    if (r.keepEstablished)
      facts.push_back({"at that instant", "established connections kept (--keep-established)"});
    else
      facts.push_back({"cut at that instant",
                       std::to_string(r.totals.flowsCutAtInstant) + " (live connections the new table would drop)"});
    facts.push_back({"released at that instant",
                     std::to_string(r.totals.flowsReleasedAtInstant) + " (blocked flows the new table would accept)"});
    const ReplayStats::StreamSpan whole = r.stats.wholeSpan();
    if (whole.frames > 0 && (*r.atNs < whole.firstNs || *r.atNs > whole.lastNs))
      facts.push_back({"note", *r.atNs < whole.firstNs
                                   ? "before the first frame (--at-outside-capture): the change applies from the start"
                                   : "after the last frame (--at-outside-capture): the change applies to no packet"});
  }
  if (r.totals.unmatchedFragments > 0)
    facts.push_back({"unmatched fragments", std::to_string(r.totals.unmatchedFragments) +
                                                " without a first fragment in the capture: verdict none before and "
                                                "after, counted in no flow"});
  page.add(html::facts(facts));
  page.add(html::flowLogSection(r.stats, r.network));

  // The requests, as the text report lists them.
  page.add(html::heading("Requests"));
  std::string reqs = "<ol class=\"requests\">\n";
  for (const AppliedRequest& q : r.requests) {
    reqs += "<li data-request-id=\"" + htmlEscape(q.requestId) + "\"><strong>" + htmlEscape(q.action) + "</strong> " +
            htmlEscape(q.groupId) + " <span class=\"muted\">(RequestId " + htmlEscape(q.requestId) + ")</span><ul>";
    for (const Rule& x : q.removed)
      reqs += "<li class=\"mono\">removes " + htmlEscape(describeRule(x, q.product)) + "</li>";
    for (const Rule& x : q.added) reqs += "<li class=\"mono\">adds " + htmlEscape(describeRule(x, q.product)) + "</li>";
    if (q.removed.empty() && q.added.empty()) reqs += "<li>changes no rule</li>";
    for (const auto& n : q.notes) reqs += "<li class=\"note\">note: " + htmlEscape(n) + "</li>";
    reqs += "</ul></li>\n";
  }
  page.add(reqs + "</ol>\n");

  // When each changed flow changed: from its first changed packet (the dot) to its last.
  if (!r.flows.empty() && r.stats.frames > 0) {
    page.add(html::heading("Timeline of the changed flows"));
    page.add(
        "<p class=\"legend\"><span><i class=\"sw\" style=\"background:#c0392b\"></i>cut</span><span><i class=\"sw\" "
        "style=\"background:#27ae60\"></i>opened</span><span>dot: the first packet whose verdict changes; line: to "
        "the last</span>" +
        std::string(r.atNs ? "<span style=\"color:#8e44ad\">dashed: --at, when the change applies</span>" : "") +
        "</p>\n");
    html::Timeline t;
    t.startNs = std::min(r.stats.firstNs, r.atNs.value_or(r.stats.firstNs));
    t.endNs = std::max(r.stats.lastNs, r.atNs.value_or(r.stats.lastNs));
    t.originNs = r.originNs;
    t.atNs = r.atNs;
    if (r.atNs) t.atLabel = "--at " + relativeSeconds(*r.atNs, r.originNs);
    for (std::size_t i = 0; i < shown; ++i) {
      const ChangedFlow& f = r.flows[i];
      html::Span s;
      s.label = std::to_string(i + 1) + ". " + changeKind(f) + " " + flowText(f);
      s.cls = changeKind(f);
      s.firstNs = f.firstNs;
      s.lastNs = f.lastNs;
      s.attrs = " data-flow=\"" + std::to_string(i + 1) + "\"";
      t.spans.push_back(std::move(s));
    }
    t.more = r.flows.size() - shown;
    page.add(html::timelineSvg(t));
  }

  // The flows, ranked by impact.
  if (!r.flows.empty()) {
    page.add(html::heading("Changed flows, most bytes first"));
    std::uint64_t maxBytes = 0, maxPackets = 0;
    for (const ChangedFlow& f : r.flows)
      maxBytes = std::max(maxBytes, f.bytes), maxPackets = std::max(maxPackets, f.packets);
    std::string s =
        "<table class=\"flows\">\n<tr><th>#</th><th>change</th><th>flow</th><th>at</th><th>packets</th><th>bytes</th>"
        "<th>first .. last</th><th>before</th><th>after</th></tr>\n";
    for (std::size_t i = 0; i < shown; ++i) {
      const ChangedFlow& f = r.flows[i];
      const std::string kind = changeKind(f);
      const std::string eni = !f.before.eniId.empty() ? f.before.eniId : f.after.eniId;
      const char* dir = toString(f.before.eniId.empty() ? f.after.direction : f.before.direction);
      s += "<tr class=\"flow " + kind + "\" data-flow=\"" + std::to_string(i + 1) + "\" data-change=\"" + kind +
           "\" data-packets=\"" + std::to_string(f.packets) + "\" data-bytes=\"" + std::to_string(f.bytes) +
           "\" data-first-frame=\"" + std::to_string(f.firstFrame) + "\"><td class=\"n\">" + std::to_string(i + 1) +
           "</td><td class=\"pol-" +
           (kind == "cut"      ? "drop"
            : kind == "opened" ? "accept"
                               : "") +
           "\">" + kind + "</td><td class=\"mono\">" + htmlEscape(flowText(f)) + "</td><td class=\"mono\">" +
           htmlEscape(eni) + " " + dir + "</td><td class=\"b\">" + html::bar(f.packets, maxPackets, kind) +
           "</td><td class=\"b\">" + html::bar(f.bytes, maxBytes, kind) + " <span class=\"muted\">(" +
           humanBytes(f.bytes) + ")</span></td><td class=\"mono\">" + relativeSeconds(f.firstNs, r.originNs) + " .. " +
           relativeSeconds(f.lastNs, r.originNs) + "<br><span class=\"note\">first frame " +
           std::to_string(f.firstFrame) + (r.captures.size() > 1 ? " of " + htmlEscape(r.captures[f.firstFile]) : "") +
           "</span></td><td class=\"mono\">" + htmlEscape(sideText(f.before)) + "</td><td class=\"mono\">" +
           htmlEscape(sideText(f.after)) + "</td></tr>\n";
    }
    s += "</table>\n";
    if (shown < r.flows.size())
      s += html::para("… and " + std::to_string(r.flows.size() - shown) +
                          " more (--limit 0 shows all; the JSON block lists them all)",
                      "muted");
    std::string fb = "After the change, decided by:";
    const auto fallback = fallbackOf(r.flows);
    for (std::size_t i = 0; i < fallback.size(); ++i) {
      const Fallback& f = fallback[i];
      std::string t = std::string(toString(f.verdict)) + " " + toString(f.reason);
      if (!f.ruleId.empty()) t += " " + f.ruleId;
      if (f.reason == Reason::IntraGroup && !f.groupId.empty()) t += " " + f.groupId;
      fb += (i ? "; " : " ") + t + " (" + std::to_string(f.flows) + (f.flows == 1 ? " flow)" : " flows)");
    }
    page.add(s + html::para(fb));
  }

  // The tables the change touches: the interfaces of the requests' groups and of the changed flows.
  std::set<std::pair<std::size_t, Direction>> touched;
  auto touch = [&](const std::string& eniId, Direction d) {
    const std::int32_t e = after.eniById(eniId);
    if (e >= 0) touched.insert({static_cast<std::size_t>(e), d});
  };
  for (const AppliedRequest& q : r.requests)
    for (const auto* rules : {&q.removed, &q.added})
      for (const Rule& x : *rules)
        for (const Eni* m : after.model().membersOf(q.groupId)) touch(m->id, x.direction);
  for (const ChangedFlow& f : r.flows) {
    if (!f.before.eniId.empty()) touch(f.before.eniId, f.before.direction);
    if (!f.after.eniId.empty()) touch(f.after.eniId, f.after.direction);
  }
  if (!touched.empty()) {
    page.add(html::heading("Rule tables the change touches, in evaluation order"));
    page.add(html::para(
        "Each interface's entries as they are evaluated: intra-group accept, the custom rules (priority ascending, "
        "drop before accept at equal priority, then group and rule order), the implicit default. Struck through: "
        "removed by the requests (in their former place); green: added. The bars count the changed flows whose "
        "first changed packet the entry decided before the change and after it. Grey: shadowed (the entries named "
        "decide every packet it matches, in the table after the change).",
        "muted"));
    std::vector<Table> list;
    for (const auto& [eni, d] : touched) {
      Table t = mergedTable(before, after, eni, d, html::findAnalysis(analyses, eni, d));
      std::map<std::string, std::uint64_t> was, now;
      std::uint64_t byState = 0;
      for (const ChangedFlow& f : r.flows) {
        if (f.before.eniId == t.eni && f.before.direction == d) {
          const std::string k = entryKey(f.before);
          if (k.empty())
            ++byState;
          else
            ++was[k];
        }
        if (f.after.eniId == t.eni && f.after.direction == d) {
          const std::string k = entryKey(f.after);
          if (k.empty())
            ++byState;
          else
            ++now[k];
        }
      }
      for (Entry& e : t.entries) {
        const std::string k = entryKey(e);
        e.values = {e.change == "added" ? std::nullopt : std::optional<std::uint64_t>(was[k]),
                    e.change == "removed" ? std::nullopt : std::optional<std::uint64_t>(now[k])};
      }
      if (byState > 0)
        t.notes.push_back(std::to_string(byState) +
                          " decisions of changed flows here were made by connection state (established or blocked), "
                          "not by an entry of the table");
      list.push_back(std::move(t));
    }
    page.add(html::tables({{"before-flows", "changed flows decided before", "cut"},
                           {"after-flows", "changed flows decided after", "after"}},
                          list));
  }

  // Beyond the capture.
  if (r.space && r.space->diff) {
    const WhatIfSpace& sp = *r.space;
    const HsSpaceDiff& d = *sp.diff;
    page.add(html::heading("Beyond the capture"));
    if (d.regions.empty() && d.notProven.empty()) {
      page.add(html::para("No possible header changes verdict at any interface."));
    } else {
      std::size_t seen = 0;
      for (char c : sp.touched) seen += c ? 1 : 0;
      if (!d.regions.empty())
        page.add(html::para("The change flips the verdict of " + std::to_string(d.regions.size()) +
                            (d.regions.size() == 1 ? " region" : " regions") + " of headers" +
                            (sp.touched.empty() ? "" : " (" + std::to_string(seen) + " seen in the capture)") +
                            (d.truncated ? " (the list is cut short: too many regions)" : "") + "."));
      const std::size_t n = r.limit ? std::min(r.limit, d.regions.size()) : d.regions.size();
      std::string s =
          "<table class=\"regions\">\n<tr><th>#</th><th>where</th><th>headers</th><th>before</th>"
          "<th>after</th><th>in the capture</th><th>example</th></tr>\n";
      for (std::size_t i = 0; i < n; ++i) {
        const HsFlipRegion& g = d.regions[i];
        const std::string seenText = sp.touched.empty() ? "not marked" : sp.touched[i] ? "seen" : "not seen";
        s += "<tr data-region=\"" + std::to_string(i + 1) + "\"><td class=\"n\">" + std::to_string(i + 1) +
             "</td><td class=\"mono\">" + htmlEscape(sp.before->eni(g.eni).id) + " " + toString(g.direction) +
             "</td><td class=\"mono\">" + htmlEscape(toString(g.region)) + "</td><td class=\"mono\">" +
             htmlEscape(deciderText(*sp.before, g.eni, g.direction, g.before)) + "</td><td class=\"mono\">" +
             htmlEscape(deciderText(*sp.after, g.eni, g.direction, g.after)) + "</td><td>" + seenText +
             "</td><td class=\"mono\">" + htmlEscape(g.example.toString()) + "</td></tr>\n";
      }
      s += "</table>\n";
      if (n < d.regions.size())
        s += html::para("… and " + std::to_string(d.regions.size() - n) + " more (--limit 0 shows all)", "muted");
      for (const HsTableStatus& t : d.notProven)
        s += html::para("Not proven at " + sp.before->eni(t.eni).id + " " + toString(t.direction) + ": " + t.notProven,
                        "note");
      page.add(s);
    }
  }
  return page.finish(boost::json::serialize(boost::json::parse(renderWhatIfJson(r))));
}

}  // namespace sgsim
