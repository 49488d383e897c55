#include "sgsim/report/whatif_report.h"

#include <boost/json.hpp>
#include <cstdio>
#include <sstream>

#include "sgsim/model/describe.h"
#include "sgsim/model/model_json.h"
#include "sgsim/report/format.h"
#include "sgsim/report/issues.h"

namespace sgsim {

std::string sideText(const SideDecision& s) {
  std::string t = std::string(toString(s.verdict)) + " " + toString(s.reason);
  if (!s.ruleId.empty()) t += " " + s.ruleId;
  if (s.reason == Reason::IntraGroup && !s.groupId.empty()) t += " " + s.groupId;
  return t;
}

std::string flowText(const ChangedFlow& f) {
  return protoName(f.proto) + " " + endpoint(f.src, f.sport, f.proto) + " > " + endpoint(f.dst, f.dport, f.proto);
}

std::string changeKind(const ChangedFlow& f) {
  if (f.before.verdict == Verdict::Accept && f.after.verdict == Verdict::Drop) return "cut";
  if (f.before.verdict == Verdict::Drop && f.after.verdict == Verdict::Accept) return "opened";
  return "changed";
}

namespace {

// The ENI a flow is shown at (that of its first changed packet's deciding check before the change) and the direction
// of the opener's packets there.
const std::string& flowEni(const ChangedFlow& f) { return !f.before.eniId.empty() ? f.before.eniId : f.after.eniId; }
Direction flowDirection(const ChangedFlow& f) { return !f.before.eniId.empty() ? f.direction : f.after.direction; }

std::size_t openerUnknownCount(const std::vector<ChangedFlow>& flows) {
  std::size_t n = 0;
  for (const ChangedFlow& f : flows) n += f.openerSeen ? 0 : 1;
  return n;
}

std::string fallbackText(const Fallback& f) {
  std::string t = std::string(toString(f.verdict)) + " " + toString(f.reason);
  if (!f.ruleId.empty()) t += " " + f.ruleId;
  if (f.reason == Reason::IntraGroup && !f.groupId.empty()) t += " " + f.groupId;
  return t;
}

// "accept rule sgr-ssh", "drop default", "accept intra-group sg-web": as the flows' before/after lines read.
std::string deciderText(const Network& net, std::size_t eni, Direction d, const HsDecider& who) {
  std::string t = toString(who.verdict);
  switch (who.kind) {
    case HsDecider::Kind::Rule:
      return t + " rule " + net.rules(eni, d)[static_cast<std::size_t>(who.ruleRef)].ruleId;
    case HsDecider::Kind::IntraGroup:
      return t + " intra-group " + net.model().groups[static_cast<std::size_t>(who.group)].id;
    case HsDecider::Kind::Default:
      break;
  }
  return t + " default";
}

std::string touchedText(const WhatIfSpace& s, std::size_t i) {
  if (s.touched.empty()) return "";
  return s.touched[i] ? " (seen in the capture)" : " (not in the capture)";
}

std::string spaceText(const WhatIfReport& r) {
  if (!r.space || !r.space->diff) return "";
  const WhatIfSpace& s = *r.space;
  const HsSpaceDiff& d = *s.diff;
  std::ostringstream o;
  o << '\n';
  if (d.regions.empty() && d.notProven.empty()) {
    o << "Beyond the capture: no possible header changes verdict at any interface.\n";
    return o.str();
  }
  if (!d.regions.empty()) {
    std::size_t seen = 0;
    for (char t : s.touched) seen += t ? 1 : 0;
    o << "Beyond the capture: the change flips the verdict of " << d.regions.size()
      << (d.regions.size() == 1 ? " region" : " regions") << " of headers";
    if (!s.touched.empty()) o << " (" << seen << " seen in the capture)";
    if (d.truncated) o << " (the list is cut short: too many regions)";
    o << ":\n";
  }
  const std::size_t shown = r.limit ? std::min(r.limit, d.regions.size()) : d.regions.size();
  for (std::size_t i = 0; i < shown; ++i) {
    const HsFlipRegion& g = d.regions[i];
    const std::string rank = std::to_string(i + 1);
    o << std::string(rank.size() < 3 ? 3 - rank.size() : 0, ' ') << rank << ". " << s.before->eni(g.eni).id << ' '
      << toString(g.direction) << ": " << toString(g.region) << '\n'
      << "     before: " << deciderText(*s.before, g.eni, g.direction, g.before)
      << "; after: " << deciderText(*s.after, g.eni, g.direction, g.after) << touchedText(s, i) << '\n'
      << "     e.g. " << g.example.toString() << '\n';
  }
  if (shown < d.regions.size()) o << "… and " << d.regions.size() - shown << " more (--limit 0 shows all)\n";
  for (const HsTableStatus& t : d.notProven)
    o << "Beyond the capture, not proven at " << s.before->eni(t.eni).id << ' ' << toString(t.direction) << ": "
      << t.notProven << '\n';
  return o.str();
}

boost::json::value deciderJson(const Network& net, std::size_t eni, Direction d, const HsDecider& who) {
  boost::json::object o;
  o["verdict"] = toString(who.verdict);
  switch (who.kind) {
    case HsDecider::Kind::Rule: {
      const RuleRef& ref = net.rules(eni, d)[static_cast<std::size_t>(who.ruleRef)];
      o["reason"] = "rule";
      o["rule"] = ref.ruleId;
      o["group"] = ref.groupId;
      break;
    }
    case HsDecider::Kind::IntraGroup:
      o["reason"] = "intra-group";
      o["rule"] = nullptr;
      o["group"] = net.model().groups[static_cast<std::size_t>(who.group)].id;
      break;
    case HsDecider::Kind::Default:
      o["reason"] = "default";
      o["rule"] = nullptr;
      o["group"] = nullptr;
      break;
  }
  return o;
}

boost::json::array intervalsJson(const HsSet& set) {
  boost::json::array a;
  for (const HsInterval& i : set)
    a.push_back(boost::json::array{static_cast<std::uint64_t>(i.lo), static_cast<std::uint64_t>(i.hi)});
  return a;
}

boost::json::value spaceJson(const WhatIfReport& r) {
  if (!r.space || !r.space->diff) return nullptr;
  const WhatIfSpace& s = *r.space;
  const HsSpaceDiff& d = *s.diff;
  boost::json::array regions;
  for (std::size_t i = 0; i < d.regions.size(); ++i) {
    const HsFlipRegion& g = d.regions[i];
    boost::json::object o;
    o["eni"] = s.before->eni(g.eni).id;
    o["direction"] = toString(g.direction);
    o["family"] = g.region.family == Family::V4 ? "ipv4" : "ipv6";
    o["proto"] = intervalsJson(g.region.proto);
    boost::json::array peers, locals;
    for (const Cidr& c : g.region.peerCidrs()) peers.push_back(boost::json::string(c.toString()));
    for (const IpAddr& a : g.region.local) locals.push_back(boost::json::string(a.toString()));
    o["peer"] = std::move(peers);
    o["local"] = std::move(locals);
    o["sport"] = intervalsJson(g.region.sport);
    o["dport"] = intervalsJson(g.region.dport);
    o["text"] = toString(g.region);
    o["before"] = deciderJson(*s.before, g.eni, g.direction, g.before);
    o["after"] = deciderJson(*s.after, g.eni, g.direction, g.after);
    o["example"] = g.example.toString();
    o["touched"] = s.touched.empty() ? boost::json::value(nullptr) : boost::json::value(s.touched[i] != 0);
    regions.push_back(std::move(o));
  }
  boost::json::array notProven;
  for (const HsTableStatus& t : d.notProven)
    notProven.push_back(boost::json::object{
        {"eni", s.before->eni(t.eni).id}, {"direction", toString(t.direction)}, {"reason", t.notProven}});
  return boost::json::object{
      {"regions", std::move(regions)}, {"notProven", std::move(notProven)}, {"truncated", d.truncated}};
}

}  // namespace

std::string renderWhatIfText(const WhatIfReport& r) {
  std::ostringstream o;
  char line[512];
  if (r.stats.perCapture.size() > 1) {
    // Each capture's own span: one from the oldest frame to the newest would hide the gaps between them.
    o << "What-if over " << r.stats.perCapture.size() << " captures: " << r.totals.frames << " frames\n";
    for (const CaptureSpan& c : r.stats.perCapture) o << "  " << describeCaptureSpan(c, r.originNs) << '\n';
  } else {
    o << "What-if over";
    for (const auto& c : r.captures) o << ' ' << c;
    std::snprintf(line, sizeof line,
                  r.stats.flowLog ? ": %llu records, %.3f s of flow log\n" : ": %llu frames, %.3f s of capture\n",
                  static_cast<unsigned long long>(r.totals.frames),
                  r.stats.frames ? static_cast<double>(r.stats.lastNs - r.stats.firstNs) / 1e9 : 0.0);
    o << line;
  }
  if (r.atNs) {
    if (r.stats.frames > 0)
      o << "Change applied at " << relativeSeconds(*r.atNs, r.originNs) << " (" << isoTime(*r.atNs) << ")";
    else
      o << "Change applied at " << isoTime(*r.atNs);
    // Counted per flow entry at each ENI (SEMANTICS §6).
    if (r.keepEstablished)
      o << ": established connections kept";
    else
      o << ": " << r.totals.flowsCutAtInstant << " cut (live connections the new table would drop)";
    o << ", " << r.totals.flowsReleasedAtInstant << " released (blocked flows the new table would accept)\n";
    const ReplayStats::StreamSpan whole = r.stats.wholeSpan();
    if (whole.frames > 0 && *r.atNs < whole.firstNs)
      o << "  That is before the first frame (--at-outside-capture): the change applies from the start.\n";
    if (whole.frames > 0 && *r.atNs > whole.lastNs)
      o << "  That is after the last frame (--at-outside-capture): the change applies to no packet.\n";
  }
  if (r.stats.flowCapHits > 0)
    o << "Warning: the flow table was full (--max-flows " << r.stats.maxFlows << "): " << r.stats.flowCapHits
      << " packets were decided without connection state\n";
  for (const auto& e : r.stats.captureErrors)
    o << "Capture error: " << e.toString() << " (the report covers the frames before it)\n";
  for (const auto& w : r.stats.warnings) o << "Warning: " << w.toString() << '\n';
  if (r.stats.flowLog && r.network != nullptr) {
    // Drift: the logged action against the table before the change (a stale model says so here).
    o << "Flow logs:\n" << renderFlowLogCounts(r.stats) << renderDriftText(r.stats, *r.network, r.limit);
  }
  if (r.totals.unmatchedFragments > 0)
    o << r.totals.unmatchedFragments << " fragment" << (r.totals.unmatchedFragments == 1 ? "" : "s")
      << " without a first fragment in the capture: verdict none before and after, counted in no flow\n";
  for (std::size_t i = 0; i < r.requests.size(); ++i) {
    const AppliedRequest& q = r.requests[i];
    o << "Request " << i + 1 << ": " << q.action << " " << q.groupId << " (RequestId " << q.requestId << ")\n";
    for (const Rule& x : q.removed) o << "  removes " << describeRule(x, q.product) << '\n';
    for (const Rule& x : q.added) o << "  adds    " << describeRule(x, q.product) << '\n';
    if (q.removed.empty() && q.added.empty()) o << "  changes no rule\n";
    for (const auto& n : q.notes) o << "  note: " << n << '\n';
  }
  o << '\n';
  if (r.flows.empty()) {
    o << "No traffic in the capture changes fate: every packet gets the same verdict before and after.\n";
  } else {
    std::snprintf(line, sizeof line, "%zu flow%s fate (%llu cut, %llu opened): %llu packets, %s\n", r.flows.size(),
                  r.flows.size() == 1 ? " changes" : "s change", static_cast<unsigned long long>(r.totals.cut),
                  static_cast<unsigned long long>(r.totals.opened),
                  static_cast<unsigned long long>(r.totals.changedPackets), humanBytes(r.totals.changedBytes).c_str());
    o << line;
    o << "After the change, decided by:";
    const auto fallback = fallbackOf(r.flows);
    for (std::size_t i = 0; i < fallback.size(); ++i)
      o << (i ? ";" : "") << " " << fallbackText(fallback[i]) << " (" << fallback[i].flows
        << (fallback[i].flows == 1 ? " flow)" : " flows)");
    o << '\n';
    if (const std::size_t unknown = openerUnknownCount(r.flows); unknown > 0)
      o << (unknown == 1 ? "1 flow has" : std::to_string(unknown) + " flows have")
        << (r.stats.flowLog
                ? " no record that shows its opening in the flow log (TCP: no SYN in the tcp-flags of its first "
                  "record, as when the log starts mid-connection or the flow was idle past its timeout; ICMP records "
                  "carry no type): its opener is unknown, and it is shown as first seen, marked (opener unknown)\n"
                : " no packet that opens it in the capture (it starts mid-connection, or the flow was idle past its "
                  "timeout): its opener is unknown, and it is shown as first seen, marked (opener unknown)\n");
    o << '\n';
    std::size_t shown = r.limit ? std::min(r.limit, r.flows.size()) : r.flows.size();
    const bool several = r.captures.size() > 1;  // frame numbers count within each file
    for (std::size_t i = 0; i < shown; ++i) {
      const ChangedFlow& f = r.flows[i];
      std::snprintf(line, sizeof line, "%3zu. %-6s %s%s\n", i + 1, changeKind(f).c_str(), flowText(f).c_str(),
                    f.openerSeen ? "" : " (opener unknown)");
      o << line;
      std::snprintf(line, sizeof line,
                    r.stats.flowLog ? "     %s %s, %llu packets, %s, %s .. %s (first record %llu"
                                    : "     %s %s, %llu packets, %s, %s .. %s (first frame %llu",
                    flowEni(f).c_str(), toString(flowDirection(f)), static_cast<unsigned long long>(f.packets),
                    humanBytes(f.bytes).c_str(), relativeSeconds(f.firstNs, r.originNs).c_str(),
                    relativeSeconds(f.lastNs, r.originNs).c_str(), static_cast<unsigned long long>(f.firstFrame));
      o << line;
      if (several) o << " of " << r.captures[f.firstFile];
      o << ")\n";
      o << "     before: " << sideText(f.before) << "\n     after:  " << sideText(f.after) << '\n';
    }
    if (shown < r.flows.size()) o << "… and " << r.flows.size() - shown << " more (--limit 0 shows all)\n";
  }
  o << spaceText(r);
  return o.str();
}

std::string renderWhatIfJson(const WhatIfReport& r) {
  std::ostringstream os;
  writeWhatIfJson(r, os);
  return std::move(os).str();
}

void writeWhatIfJson(const WhatIfReport& r, std::ostream& os) {
  boost::json::object root;
  boost::json::array caps;
  for (const auto& c : r.captures) caps.emplace_back(c);
  root["captures"] = caps;
  root["captureSpans"] = captureSpansJson(r.stats);
  // Right after what was read, so that a reader meets them before the figures they qualify.
  std::vector<Error> warnings = allWarnings(r.stats);
  root["warnings"] = issuesJson(warnings);
  root["errors"] = issuesJson(r.stats.captureErrors);
  boost::json::array reqs;
  for (const AppliedRequest& q : r.requests) {
    boost::json::object o;
    o["source"] = q.source;
    o["action"] = q.action;
    o["securityGroupId"] = q.groupId;
    o["requestId"] = q.requestId;
    boost::json::array rem, add;
    for (const Rule& x : q.removed) rem.emplace_back(x.id);
    for (const Rule& x : q.added) add.emplace_back(x.id);
    o["removedRules"] = rem;
    o["addedRules"] = add;
    boost::json::array notes;
    for (const auto& n : q.notes) notes.emplace_back(n);
    o["notes"] = notes;
    reqs.push_back(o);
  }
  root["requests"] = reqs;
  if (r.atNs) {
    root["at"] = isoTime(*r.atNs);
    root["keepEstablished"] = r.keepEstablished;
    root["atOutsideCapture"] = r.stats.wholeSpan().frames > 0 &&
                               (*r.atNs < r.stats.wholeSpan().firstNs || *r.atNs > r.stats.wholeSpan().lastNs);
  }
  boost::json::object t;
  t["frames"] = r.totals.frames;
  t["changedFlows"] = r.flows.size();
  t["cutFlows"] = r.totals.cut;
  t["openedFlows"] = r.totals.opened;
  t["changedPackets"] = r.totals.changedPackets;
  t["changedBytes"] = r.totals.changedBytes;
  t["flowsCutAtInstant"] = r.totals.flowsCutAtInstant;
  t["flowsReleasedAtInstant"] = r.totals.flowsReleasedAtInstant;
  t["unmatchedFragments"] = r.totals.unmatchedFragments;
  t["openerUnknownFlows"] = openerUnknownCount(r.flows);
  if (r.stats.flowLog) {
    const boost::json::object counts = boost::json::parse("{" + flowLogCountsJson(r.stats) + "}").as_object();
    for (const auto& kv : counts) t[kv.key()] = kv.value();
  }
  root["totals"] = t;
  // The drift rows and the flows (100,000 of each over a day's flow log) are written one row at a time below, not
  // built into the tree: the tree of them cost more than the pass over ten million records (docs/PERFORMANCE.md).
  if (r.stats.flowLog && r.network != nullptr) root["drift"] = boost::json::array();
  boost::json::array fallback;
  for (const Fallback& f : fallbackOf(r.flows))
    fallback.push_back(
        boost::json::object{{"verdict", toString(f.verdict)},
                            {"reason", toString(f.reason)},
                            {"rule", f.ruleId.empty() ? boost::json::value(nullptr) : boost::json::value(f.ruleId)},
                            {"group", f.groupId.empty() ? boost::json::value(nullptr) : boost::json::value(f.groupId)},
                            {"flows", f.flows}});
  root["fallback"] = fallback;
  auto side = [](std::string& out, PrettyJsonObject& o, const char* key, const SideDecision& d) {  // sideJson
    o.key(key);
    PrettyJsonObject x(out, o.indent() + 2);
    x.text("verdict", toString(d.verdict)).text("reason", toString(d.reason));
    x.textOrNull("rule", d.ruleId).textOrNull("group", d.groupId).textOrNull("eni", d.eniId);
    x.text("direction", toString(d.direction)).end();
  };
  auto flowJson = [&](std::string& out, const ChangedFlow& f, int indent) {
    PrettyJsonObject o(out, indent);
    o.text("change", changeKind(f)).text("proto", protoName(f.proto));
    o.text("src", f.src.toString()).number("sport", f.sport).text("dst", f.dst.toString()).number("dport", f.dport);
    o.text("opener", f.openerSeen ? "seen" : "unknown").textOrNull("eni", flowEni(f));
    o.text("direction", toString(flowDirection(f))).number("packets", f.packets).number("bytes", f.bytes);
    o.text("first", isoTime(f.firstNs)).text("last", isoTime(f.lastNs)).number("firstFrame", f.firstFrame);
    if (r.captures.size() > 1) o.text("capture", r.captures[f.firstFile]);
    side(out, o, "before", f.before);
    side(out, o, "after", f.after);
    o.end();
  };
  root["flows"] = boost::json::array();
  root["space"] = spaceJson(r);
  addShardJson(root, r.shard);
  std::vector<PrettyRows> rows;
  if (root.contains("drift")) rows.push_back(driftPrettyRows(r.stats, *r.network));
  rows.push_back(
      {"flows", r.flows.size(), [&](std::string& o, std::size_t i, int indent) { flowJson(o, r.flows[i], indent); }});
  writePrettyJson(os, root, rows);
}

std::string renderWhatIfCsv(const WhatIfReport& r) {
  std::ostringstream o;
  o << "rank,change,proto,src,sport,dst,dport,packets,bytes,first,last,first_frame,before_verdict,before_reason,"
       "before_rule,before_eni,after_verdict,after_reason,after_rule,after_eni,eni,direction,opener,capture\n";
  for (std::size_t i = 0; i < r.flows.size(); ++i) {
    const ChangedFlow& f = r.flows[i];
    o << i + 1 << ',' << changeKind(f) << ',' << protoName(f.proto) << ',' << f.src.toString() << ',' << f.sport << ','
      << f.dst.toString() << ',' << f.dport << ',' << f.packets << ',' << f.bytes << ',' << epochSeconds(f.firstNs)
      << ',' << epochSeconds(f.lastNs) << ',' << f.firstFrame << ',' << toString(f.before.verdict) << ','
      << toString(f.before.reason) << ',' << csvField(f.before.ruleId) << ',' << csvField(f.before.eniId) << ','
      << toString(f.after.verdict) << ',' << toString(f.after.reason) << ',' << csvField(f.after.ruleId) << ','
      << csvField(f.after.eniId) << ',' << csvField(flowEni(f)) << ',' << toString(flowDirection(f)) << ','
      << (f.openerSeen ? "seen" : "unknown") << ','
      << csvField(f.firstFile < r.captures.size() ? r.captures[f.firstFile] : std::string()) << '\n';
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
