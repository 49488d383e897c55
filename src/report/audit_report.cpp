#include "sgsim/report/audit_report.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <sstream>

#include "sgsim/model/describe.h"
#include "sgsim/model/model_json.h"
#include "sgsim/report/format.h"
#include "sgsim/report/issues.h"

namespace sgsim {

namespace json = boost::json;

const char* toString(AuditVerdict v) {
  switch (v) {
    case AuditVerdict::InUse:
      return "in-use";
    case AuditVerdict::SafeToRevoke:
      return "safe-to-revoke";
    case AuditVerdict::NeverMatches:
      return "never-matches";
  }
  return "?";
}

const char* toString(AuditFinding f) {
  switch (f) {
    case AuditFinding::Unused:
      return "unused";
    case AuditFinding::Shadowed:
      return "shadowed";
    case AuditFinding::Redundant:
      return "redundant";
    case AuditFinding::Broad:
      return "broad";
    case AuditFinding::Conflict:
      return "conflict";
  }
  return "?";
}

std::string entryText(const AuditEntry& e) {
  switch (e.kind) {
    case HsDecider::Kind::Rule:
      return e.id;
    case HsDecider::Kind::IntraGroup:
      return "intra-group " + e.id;
    case HsDecider::Kind::Default:
      break;
  }
  return "default " + e.id;
}

namespace {

AuditEntry entryOf(const Network& net, std::size_t eni, Direction d, const HsDecider& who) {
  switch (who.kind) {
    case HsDecider::Kind::Rule:
      return {who.kind, net.rules(eni, d)[static_cast<std::size_t>(who.ruleRef)].ruleId};
    case HsDecider::Kind::IntraGroup:
      return {who.kind, net.model().groups[static_cast<std::size_t>(who.group)].id};
    case HsDecider::Kind::Default:
      break;
  }
  return {who.kind, toString(who.verdict)};
}

json::value entryJson(const AuditEntry& e) {
  switch (e.kind) {
    case HsDecider::Kind::Rule:
      return json::object{{"rule", e.id}};
    case HsDecider::Kind::IntraGroup:
      return json::object{{"intraGroup", e.id}};
    case HsDecider::Kind::Default:
      break;
  }
  return json::object{{"default", e.id}};
}

void addUnique(std::vector<AuditEntry>& into, const AuditEntry& e) {
  if (std::find(into.begin(), into.end(), e) == into.end()) into.push_back(e);
}

std::string joined(const std::vector<AuditEntry>& entries) {
  std::string out;
  for (const auto& e : entries) out += (out.empty() ? "" : ", ") + entryText(e);
  return out;
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string fallbackText(const Fallback& f) {
  std::string t = std::string(toString(f.verdict)) + " " + toString(f.reason);
  if (!f.ruleId.empty()) t += " " + f.ruleId;
  if (f.reason == Reason::IntraGroup && !f.groupId.empty()) t += " " + f.groupId;
  return t;
}

AuditStatic staticsOf(const Network& net, const HsRuleSummary& summary, const std::vector<HsTableAnalysis>& analyses) {
  AuditStatic st;
  st.analysed = !summary.tables.empty();
  st.proven = summary.proven;
  st.matchesNothing = summary.matchesNothing;
  st.neverDecides = summary.neverDecides;
  st.redundant = summary.redundant;
  for (const auto& [ai, ri] : summary.tables) {
    const HsTableAnalysis& a = analyses[ai];
    const std::string table = net.eni(a.eni).id + " " + toString(a.direction);
    if (a.status != HsStatus::Exact) st.notProven.push_back(table + ": " + a.notProven);
    const HsRuleFindings& f = a.rules[ri];
    if (f.matchesNothing && st.nothingReason.empty()) st.nothingReason = f.nothingReason;
    if (f.decidesWitness && !st.decidesWitness) st.decidesWitness = f.decidesWitness->toString();
    if (f.shadowed) {
      for (const HsDecider& d : f.shadowedBy) addUnique(st.shadowedBy, entryOf(net, a.eni, a.direction, d));
      if (st.shadowWitness.empty() && f.shadowWitness) st.shadowWitness = f.shadowWitness->toString();
    }
    for (const HsFallback& fb : f.fallbacks) {
      const AuditEntry e = entryOf(net, a.eni, a.direction, fb.decider);
      if (!fb.flips) {
        if (summary.redundant) addUnique(st.redundantWith, e);
        if (summary.redundant && st.redundantWitness.empty()) st.redundantWitness = fb.witness.toString();
      } else if (!st.flipTo) {
        st.flipTo = e;
        st.flipWitness = fb.witness.toString();
      }
    }
    for (const HsConflict& c : f.conflicts) {
      const AuditEntry e = entryOf(net, a.eni, a.direction, c.other);
      if (std::none_of(st.conflicts.begin(), st.conflicts.end(),
                       [&](const AuditStatic::Conflict& x) { return x.with == e; }))
        st.conflicts.push_back({e, c.thisWins, c.witness.toString()});
    }
    if (f.broad) {
      if (!st.broad) {
        st.broad = AuditStatic::Broad{f.broad->ports, f.broad->allPorts, f.broad->decides, f.broad->witness.toString()};
      } else if (f.broad->decides && *f.broad->decides) {
        st.broad->decides = true;
        st.broad->witness = f.broad->witness.toString();
      }
    }
  }
  return st;
}

}  // namespace

std::string inUseWhy(const AuditedRule& t) {
  std::string why;
  const RevokeImpact& c = t.ifRevoked;
  why = "revoking it ";
  if (c.cutFlows) why += "cuts " + plural(c.cutFlows, "flow", "flows");
  if (c.openedFlows) why += std::string(c.cutFlows ? " and " : "") + "opens " + plural(c.openedFlows, "flow", "flows");
  if (c.otherFlows)
    why += std::string(c.cutFlows || c.openedFlows ? " and " : "") + "changes " +
           plural(c.otherFlows, "other flow", "other flows");
  why += " (" + plural(c.changedPackets, "packet", "packets") + ", " + humanBytes(c.changedBytes) + ")";
  if (!t.fallback.empty()) {
    why += c.changedFlows == 1 ? "; it would fall to " : "; they would fall to ";
    for (std::size_t i = 0; i < t.fallback.size() && i < 2; ++i)
      why += std::string(i ? ", " : "") + fallbackText(t.fallback[i]) + " (" +
             plural(t.fallback[i].flows, "flow", "flows") + ")";
    if (t.fallback.size() > 2) why += ", …";
  }
  return why;
}

std::string safeToRevokeLead(std::uint64_t hitFlows) {
  if (hitFlows == 0) return "it decided no traffic in the capture";
  return "it decided " + plural(hitFlows, "flow", "flows") + " in the capture, and without it they would fare the same";
}

namespace {

std::string whyLine(const AuditRuleRow& row) {
  const AuditedRule& t = row.traffic;
  const AuditStatic& st = row.statics;
  std::string why;
  switch (row.verdict) {
    case AuditVerdict::NeverMatches:
      if (st.matchesNothing) return "it matches no packet: " + st.nothingReason;
      why = "shadowed by " + joined(st.shadowedBy) + ": every packet it matches is decided before it";
      if (!st.shadowWitness.empty()) why += " (e.g. " + st.shadowWitness + ")";
      return why;
    case AuditVerdict::InUse:
      return inUseWhy(t);
    case AuditVerdict::SafeToRevoke:
      why = safeToRevokeLead(t.hits.flows);
      if (!st.analysed) return why;
      if (!st.proven) return why + "; the static analysis was not proven for its table";
      if (st.redundant)
        why += "; statically redundant: without it " + joined(st.redundantWith) +
               " would give every packet it decides the same verdict";
      else if (st.flipTo)
        why += "; but other headers would change: e.g. " + st.flipWitness + " would fall to " + entryText(*st.flipTo);
      return why;
  }
  return why;
}

std::string ruleText(const Network& net, const AuditedRule& t) {
  const SecurityGroup& g = net.model().groups[t.group];
  return describeRule(g.rules[t.rule], g.product);
}

std::vector<std::string> findingWords(const AuditRuleRow& row) {
  std::vector<std::string> out;
  const AuditStatic& st = row.statics;
  if (!st.conflicts.empty()) {
    std::string c = "conflicts with ";
    for (std::size_t i = 0; i < st.conflicts.size(); ++i)
      c += (i ? ", " : "") + entryText(st.conflicts[i].with) + " (" +
           (st.conflicts[i].thisWins ? std::string("this rule") : entryText(st.conflicts[i].with)) +
           " wins where they overlap)";
    out.push_back(c);
  }
  if (st.broad) {
    std::string b = "broad: accepts from anywhere to ";
    if (st.broad->allPorts) {
      b += "every port";
    } else {
      for (std::size_t i = 0; i < st.broad->ports.size(); ++i)
        b += (i ? "," : "port ") + std::to_string(st.broad->ports[i]);
    }
    if (st.broad->decides && !*st.broad->decides) b += " (masked: rules above it decide those packets)";
    out.push_back(b);
  }
  if (!st.proven) out.push_back("static analysis not proven");
  return out;
}

}  // namespace

std::vector<AuditRuleRow> auditRows(const Network& net, std::vector<AuditedRule> traffic,
                                    const std::vector<HsTableAnalysis>& analyses) {
  const std::vector<HsRuleSummary> summaries = summarizeByRule(net, analyses);
  std::map<std::pair<std::size_t, std::size_t>, const HsRuleSummary*> byRule;
  for (const HsRuleSummary& s : summaries) byRule[{s.group, s.rule}] = &s;
  std::vector<AuditRuleRow> rows;
  for (AuditedRule& t : traffic) {
    AuditRuleRow row;
    if (auto it = byRule.find({t.group, t.rule}); it != byRule.end())
      row.statics = staticsOf(net, *it->second, analyses);
    row.description = ruleText(net, t);
    row.traffic = std::move(t);
    const AuditStatic& st = row.statics;
    // The traffic is evidence: a rule that decided a packet matches something, whatever a bounded analysis says.
    const bool never =
        row.traffic.hits.packets == 0 && st.analysed && (st.matchesNothing || (st.proven && st.neverDecides));
    if (never)
      row.verdict = AuditVerdict::NeverMatches;
    else if (row.traffic.ifRevoked.changedFlows > 0)
      row.verdict = AuditVerdict::InUse;
    else
      row.verdict = AuditVerdict::SafeToRevoke;
    row.why = whyLine(row);
    row.findings = findingWords(row);
    rows.push_back(std::move(row));
  }
  return rows;
}

void sortAuditRows(std::vector<AuditRuleRow>& rows, AuditSort sort) {
  auto modelOrder = [](const AuditRuleRow& a, const AuditRuleRow& b) {
    return std::tie(a.traffic.group, a.traffic.rule) < std::tie(b.traffic.group, b.traffic.rule);
  };
  // Ties of the figures go by what the report shows (group id, then rule id), not by model order, which the JSON
  // does not carry: merged shards (sgsim merge) then rank exactly as one run does.
  auto byIdentity = [&](const AuditRuleRow& a, const AuditRuleRow& b) {
    if (a.traffic.groupId != b.traffic.groupId) return a.traffic.groupId < b.traffic.groupId;
    if (a.traffic.ruleId != b.traffic.ruleId) return a.traffic.ruleId < b.traffic.ruleId;
    return modelOrder(a, b);
  };
  if (sort == AuditSort::Rule) {
    std::stable_sort(rows.begin(), rows.end(), modelOrder);
  } else if (sort == AuditSort::Hits) {
    std::stable_sort(rows.begin(), rows.end(), [&](const AuditRuleRow& a, const AuditRuleRow& b) {
      if (a.traffic.hits.flows != b.traffic.hits.flows) return a.traffic.hits.flows > b.traffic.hits.flows;
      if (a.traffic.hits.bytes != b.traffic.hits.bytes) return a.traffic.hits.bytes > b.traffic.hits.bytes;
      return byIdentity(a, b);
    });
  } else {
    std::stable_sort(rows.begin(), rows.end(), [&](const AuditRuleRow& a, const AuditRuleRow& b) {
      if (a.verdict != b.verdict) return a.verdict < b.verdict;
      const RevokeImpact &x = a.traffic.ifRevoked, &y = b.traffic.ifRevoked;
      if (x.changedFlows != y.changedFlows) return x.changedFlows > y.changedFlows;
      if (x.changedBytes != y.changedBytes) return x.changedBytes > y.changedBytes;
      if (a.traffic.hits.flows != b.traffic.hits.flows) return a.traffic.hits.flows > b.traffic.hits.flows;
      return byIdentity(a, b);
    });
  }
}

bool hasFinding(const AuditRuleRow& row, AuditFinding f) {
  const AuditStatic& st = row.statics;
  switch (f) {
    case AuditFinding::Unused:
      return row.traffic.hits.packets == 0;
    case AuditFinding::Shadowed:
      return row.verdict == AuditVerdict::NeverMatches;
    case AuditFinding::Redundant:
      return st.redundant;
    case AuditFinding::Broad:
      return st.broad.has_value();
    case AuditFinding::Conflict:
      return !st.conflicts.empty();
  }
  return false;
}

namespace {

std::string timeSpan(std::int64_t firstNs, std::int64_t lastNs, std::int64_t originNs) {
  return relativeSeconds(firstNs, originNs) + " .. " + relativeSeconds(lastNs, originNs);
}

json::value timeOrNull(std::uint64_t packets, std::int64_t ns) {
  return packets ? json::value(isoTime(ns)) : json::value(nullptr);
}

json::array sideFallbackJson(const std::vector<Fallback>& fallback) {
  json::array a;
  for (const Fallback& f : fallback)
    a.push_back(json::object{{"verdict", toString(f.verdict)},
                             {"reason", toString(f.reason)},
                             {"rule", f.ruleId.empty() ? json::value(nullptr) : json::value(f.ruleId)},
                             {"group", f.groupId.empty() ? json::value(nullptr) : json::value(f.groupId)},
                             {"flows", f.flows}});
  return a;
}

json::object staticJson(const AuditStatic& st) {
  json::object o;
  o["analysed"] = st.analysed;
  o["proven"] = st.proven;
  json::array notProven;
  for (const auto& n : st.notProven) notProven.push_back(json::string(n));
  o["notProven"] = std::move(notProven);
  o["matchesNothing"] = st.matchesNothing;
  o["matchesNothingReason"] = st.matchesNothing ? json::value(st.nothingReason) : json::value(nullptr);
  auto entries = [](const std::vector<AuditEntry>& v) {
    json::array a;
    for (const auto& e : v) a.push_back(entryJson(e));
    return a;
  };
  o["shadowedBy"] = entries(st.shadowedBy);
  o["shadowWitness"] = st.shadowWitness.empty() ? json::value(nullptr) : json::value(st.shadowWitness);
  o["redundant"] = st.redundant;
  o["redundantWith"] = entries(st.redundantWith);
  o["redundantWitness"] = st.redundantWitness.empty() ? json::value(nullptr) : json::value(st.redundantWitness);
  o["decidesWitness"] = st.decidesWitness ? json::value(*st.decidesWitness) : json::value(nullptr);
  json::array conflicts;
  for (const auto& c : st.conflicts)
    conflicts.push_back(
        json::object{{"with", entryJson(c.with)}, {"winner", c.thisWins ? "this" : "other"}, {"witness", c.witness}});
  o["conflictsWith"] = std::move(conflicts);
  if (st.broad) {
    json::array ports;
    for (auto p : st.broad->ports) ports.push_back(p);
    o["broad"] = json::object{{"ports", std::move(ports)},
                              {"allPorts", st.broad->allPorts},
                              {"decides", st.broad->decides ? json::value(*st.broad->decides) : json::value(nullptr)},
                              {"witness", st.broad->witness}};
  } else {
    o["broad"] = nullptr;
  }
  return o;
}

}  // namespace

std::string renderAuditText(const AuditReport& r) {
  std::ostringstream o;
  char line[256];
  o << "Audit of " << plural(r.rules.size(), "rule", "rules") << " on " << plural(r.enis, "interface", "interfaces")
    << " over";
  if (r.stats.perCapture.size() > 1) {
    // Each capture's own span, as whatif gives them: one from the oldest frame to the newest would hide the gaps.
    o << ' ' << r.stats.perCapture.size() << (r.stats.flowLog ? " flow logs: " : " captures: ") << r.stats.frames
      << (r.stats.flowLog ? " records\n" : " frames\n");
    for (const CaptureSpan& c : r.stats.perCapture) o << "  " << describeCaptureSpan(c, r.originNs) << '\n';
  } else {
    for (const auto& c : r.captures) o << ' ' << c;
    std::snprintf(line, sizeof line,
                  r.stats.flowLog ? ": %llu records, %.3f s of flow log\n" : ": %llu frames, %.3f s of capture\n",
                  static_cast<unsigned long long>(r.stats.frames),
                  r.stats.frames ? static_cast<double>(r.stats.lastNs - r.stats.firstNs) / 1e9 : 0.0);
    o << line;
  }
  for (const auto& e : r.stats.captureErrors)
    o << "Capture error: " << e.toString() << " (the figures cover the frames before it)\n";
  for (const auto& w : allWarnings(r.stats)) o << "Warning: " << w.toString() << '\n';
  if (r.stats.flowLog && r.network != nullptr)
    o << "Flow logs (hits count the records' packets and bytes):\n"
      << renderFlowLogCounts(r.stats) << renderDriftText(r.stats, *r.network, 50);
  std::size_t counts[3] = {0, 0, 0};
  for (const auto& row : r.rules) ++counts[static_cast<int>(row.verdict)];
  o << counts[0] << " in use, " << counts[1] << " safe to revoke, " << counts[2]
    << (counts[2] == 1 ? " never matches" : " never match") << '\n';
  static const char* kHeading[] = {"In use: revoking one of these alone changes traffic the capture holds",
                                   "Safe to revoke: revoking one of these alone changes no traffic the capture holds",
                                   "Never match: no packet can be decided by these"};
  std::size_t rank = 0;
  for (int v = 0; v < 3; ++v) {
    if (counts[v] == 0) continue;
    o << '\n' << kHeading[v] << '\n';
    for (const auto& row : r.rules) {
      if (static_cast<int>(row.verdict) != v) continue;
      const AuditedRule& t = row.traffic;
      std::string enis;
      for (const auto& e : t.enis) enis += (enis.empty() ? "" : ",") + e;
      std::snprintf(line, sizeof line, "%3zu. ", ++rank);
      o << line << row.description << "  [" << t.groupId << (enis.empty() ? "" : " on " + enis) << "]\n";
      o << "     decided: ";
      if (t.hits.packets == 0)
        o << "nothing in the capture";
      else
        o << plural(t.hits.flows, "flow", "flows") << " (" << plural(t.hits.packets, "packet", "packets") << ", "
          << humanBytes(t.hits.bytes) << "), " << timeSpan(t.hits.firstNs, t.hits.lastNs, r.originNs);
      o << "\n     why:     " << row.why << '\n';
      for (const auto& f : row.findings) o << "     also:    " << f << '\n';
    }
  }
  return o.str();
}

std::string renderAuditJson(const AuditReport& r) {
  std::ostringstream os;
  writeAuditJson(os, r);
  return std::move(os).str();
}

void writeAuditJson(std::ostream& os, const AuditReport& r) {
  json::object root;
  json::array caps;
  for (const auto& c : r.captures) caps.emplace_back(c);
  root["captures"] = caps;
  root["captureSpans"] = captureSpansJson(r.stats);
  root["frames"] = r.stats.frames;
  std::vector<Error> warnings = allWarnings(r.stats);
  root["warnings"] = issuesJson(warnings);
  root["errors"] = issuesJson(r.stats.captureErrors);
  if (r.stats.flowLog) {
    root["totals"] = json::parse("{" + flowLogCountsJson(r.stats) + "}");
    if (r.network != nullptr) root["drift"] = json::array();
  }
  json::array rules;
  for (const auto& row : r.rules) {
    const AuditedRule& t = row.traffic;
    json::object o;
    o["rule"] = t.ruleId;
    o["group"] = t.groupId;
    o["direction"] = toString(t.direction);
    o["priority"] = t.priority;
    o["policy"] = toString(t.policy);
    o["description"] = row.description;
    json::array enis;
    for (const auto& e : t.enis) enis.push_back(json::string(e));
    o["enis"] = std::move(enis);
    o["hits"] = json::object{{"flows", t.hits.flows},
                             {"packets", t.hits.packets},
                             {"bytes", t.hits.bytes},
                             {"first", timeOrNull(t.hits.packets, t.hits.firstNs)},
                             {"last", timeOrNull(t.hits.packets, t.hits.lastNs)}};
    o["ifRevoked"] = json::object{{"changedFlows", t.ifRevoked.changedFlows},
                                  {"cutFlows", t.ifRevoked.cutFlows},
                                  {"openedFlows", t.ifRevoked.openedFlows},
                                  {"changedPackets", t.ifRevoked.changedPackets},
                                  {"changedBytes", t.ifRevoked.changedBytes}};
    o["fallback"] = sideFallbackJson(t.fallback);
    o["static"] = staticJson(row.statics);
    o["verdict"] = toString(row.verdict);
    o["why"] = row.why;
    rules.push_back(std::move(o));
  }
  root["rules"] = std::move(rules);
  addShardJson(root, r.shard);
  std::vector<PrettyRows> rows;
  if (root.contains("drift")) rows.push_back(driftPrettyRows(r.stats, *r.network));
  writePrettyJson(os, root, rows);
}

std::string renderAuditCsv(const AuditReport& r) {
  std::ostringstream o;
  o << "rank,rule,group,direction,priority,policy,enis,hits_flows,hits_packets,hits_bytes,first,last,changed_flows,"
       "cut_flows,opened_flows,changed_packets,changed_bytes,fallback,verdict,shadowed_by,redundant_with,"
       "conflicts_with,broad,why\n";
  std::size_t rank = 0;
  for (const auto& row : r.rules) {
    const AuditedRule& t = row.traffic;
    std::string enis, fallback, conflicts;
    for (const auto& e : t.enis) enis += (enis.empty() ? "" : ";") + e;
    for (const auto& f : t.fallback)
      fallback += (fallback.empty() ? "" : ";") + fallbackText(f) + ":" + std::to_string(f.flows);
    for (const auto& c : row.statics.conflicts)
      conflicts += (conflicts.empty() ? "" : ";") + entryText(c.with) + (c.thisWins ? ":this" : ":other");
    auto list = [](const std::vector<AuditEntry>& v) {
      std::string s;
      for (const auto& e : v) s += (s.empty() ? "" : ";") + entryText(e);
      return s;
    };
    std::string broad;
    if (row.statics.broad) {
      if (row.statics.broad->allPorts) {
        broad = "all";
      } else {
        for (auto p : row.statics.broad->ports) broad += (broad.empty() ? "" : ";") + std::to_string(p);
      }
    }
    o << ++rank << ',' << csvField(t.ruleId) << ',' << csvField(t.groupId) << ',' << toString(t.direction) << ','
      << t.priority << ',' << toString(t.policy) << ',' << csvField(enis) << ',' << t.hits.flows << ','
      << t.hits.packets << ',' << t.hits.bytes << ',' << (t.hits.packets ? epochSeconds(t.hits.firstNs) : "") << ','
      << (t.hits.packets ? epochSeconds(t.hits.lastNs) : "") << ',' << t.ifRevoked.changedFlows << ','
      << t.ifRevoked.cutFlows << ',' << t.ifRevoked.openedFlows << ',' << t.ifRevoked.changedPackets << ','
      << t.ifRevoked.changedBytes << ',' << csvField(fallback) << ',' << toString(row.verdict) << ','
      << csvField(list(row.statics.shadowedBy)) << ',' << csvField(list(row.statics.redundantWith)) << ','
      << csvField(conflicts) << ',' << csvField(broad) << ',' << csvField(row.why) << '\n';
  }
  std::vector<Error> warnings = allWarnings(r.stats);
  o << issuesCsv(IssueKind::Warning, warnings) << issuesCsv(IssueKind::Error, r.stats.captureErrors);
  if (r.stats.flowLog && r.network != nullptr) {
    std::istringstream lines(renderFlowLogCounts(r.stats) + renderDriftText(r.stats, *r.network, 0));
    for (std::string l; std::getline(lines, l);) o << "# flow-log:" << l << '\n';
  }
  return o.str();
}

}  // namespace sgsim
