#include "sgsim/verdict/explain.h"

#include <algorithm>
#include <sstream>

#include "sgsim/core/proto_text.h"
#include "sgsim/core/text.h"
#include "sgsim/core/time_spec.h"
#include "sgsim/model/assumptions.h"
#include "sgsim/model/describe.h"

namespace sgsim {

namespace {

struct FieldCheck {
  bool ok;
  std::string text;  // plain words: "source 1.2.3.4 is not in 198.51.100.0/24"
};

const char* inOrNot(bool ok) { return ok ? " is in " : " is not in "; }

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

bool isEcho(const PacketKey& p) {
  return p.proto == 1 ? (p.icmpType == 8 || p.icmpType == 0) : (p.icmpType == 128 || p.icmpType == 129);
}

// "ICMP echo request (type 8, code 0), id 7", "ICMPv6 type 1, code 4", "ICMP (type not given)".
std::string icmpText(const PacketKey& p, bool typeKnown) {
  const std::string name = p.proto == 1 ? "ICMP" : "ICMPv6";
  if (!typeKnown)
    return name + (p.sport != 0 ? " echo, id " + std::to_string(p.sport) : std::string(" (type not given)"));
  std::string kind;
  if (p.proto == 1) {
    kind = p.icmpType == 8 ? "echo request " : p.icmpType == 0 ? "echo reply " : p.icmpType == 3 ? "unreachable " : "";
  } else {
    kind = p.icmpType == 128   ? "echo request "
           : p.icmpType == 129 ? "echo reply "
           : p.icmpType == 1   ? "unreachable "
                               : "";
  }
  std::string s =
      name + " " + kind + "(type " + std::to_string(p.icmpType) + ", code " + std::to_string(p.icmpCode) + ")";
  if (isEcho(p)) s += ", id " + std::to_string(p.sport);
  return s;
}

bool isIcmp(const PacketKey& p) { return p.proto == 1 || p.proto == 58; }

std::vector<FieldCheck> fieldChecks(const Model& m, const Rule& r, const PacketKey& p, bool icmpTypeKnown) {
  std::vector<FieldCheck> out;
  const int proto = protocolNumber(r.protocol);
  bool protoOk = proto < 0 || proto == p.proto;
  if (r.protocol == Protocol::Icmp && !p.src.isV4()) protoOk = false;
  if (r.protocol == Protocol::Icmpv6 && p.src.isV4()) protoOk = false;
  const std::string pname = protoName(p.proto);
  if (proto < 0)
    out.push_back({protoOk, "any protocol (ALL)"});
  else
    out.push_back({protoOk, (protoFromName(pname) ? pname : "protocol " + pname) + (protoOk ? " is " : " is not ") +
                                toString(r.protocol)});

  const bool in = r.direction == Direction::Ingress;
  const IpAddr& remote = in ? p.src : p.dst;
  const IpAddr& local = in ? p.dst : p.src;
  const std::string side = in ? "source " : "destination ";
  switch (r.peer.kind) {
    case Peer::Kind::Cidr: {
      const bool ok = r.peer.cidr.contains(remote);
      std::string t = side + remote.toString() + inOrNot(ok) + r.peer.cidr.toString();
      if (r.peer.cidr.family() != remote.family)
        t += r.peer.cidr.family() == Family::V6 ? " (an IPv6 rule never matches IPv4)"
                                                : " (an IPv4 rule never matches IPv6)";
      out.push_back({ok, t});
      break;
    }
    case Peer::Kind::Group: {
      if (m.findGroup(r.peer.groupId) == nullptr) {
        out.push_back(
            {false, "group " + r.peer.groupId + " is not in the model, so it matches no " + side + "address"});
        break;
      }
      const auto members = m.membersOf(r.peer.groupId);
      bool ok = false;
      for (const Eni* e : members)
        for (const IpAddr& a : e->addresses) ok = ok || a == remote;
      if (members.empty()) {
        out.push_back({false, "group " + r.peer.groupId + " has no member interface in the model: it matches no " +
                                  side + "address"});
        break;
      }
      std::string names;
      for (const Eni* e : members) names += (names.empty() ? "" : ", ") + e->id;
      out.push_back({ok, side + remote.toString() + (ok ? " is an address of group " : " is not an address of group ") +
                             r.peer.groupId + " (" + plural(members.size(), "member:", "members:") + " " + names +
                             ")"});
      break;
    }
    case Peer::Kind::PrefixList: {
      const PrefixList* pl = m.findPrefixList(r.peer.prefixListId);
      if (pl == nullptr) {
        out.push_back({false, "prefix list " + r.peer.prefixListId + " is not in the model, so it matches no " + side +
                                  "address"});
        break;
      }
      bool ok = false;
      for (const Cidr& c : pl->entries) ok = ok || c.contains(remote);
      out.push_back({ok, side + remote.toString() + inOrNot(ok) + "prefix list " + pl->id + " (" +
                             plural(pl->entries.size(), "entry", "entries") + ")"});
      break;
    }
  }
  if (r.local) {
    const bool ok = r.local->contains(local);
    out.push_back({ok, std::string(in ? "destination " : "source ") + local.toString() + inOrNot(ok) +
                           r.local->toString() + " (the rule's narrowing of its own side)"});
  }

  // An ICMP packet against a rule of another protocol: its ports say nothing (ICMP has none), the protocol decides.
  if (!protoOk && isIcmp(p) && proto != 1 && proto != 58) return out;
  // Destination ports; ICMP has none: its type and code are shown, and an echo's identifier stands for the port.
  auto portPhrase = [&](bool ok, const std::string& range) -> std::string {
    if (isIcmp(p)) {
      const std::string what = icmpText(p, icmpTypeKnown);
      if (range == "-1/-1") return what + ": -1/-1 takes every ICMP message";
      if (isEcho(p) || p.sport != 0)
        return what + ": its identifier stands for the port, and " + std::to_string(p.dport) + inOrNot(ok) + range;
      return what + " carries no port (0" + inOrNot(ok) + range + ")";
    }
    if (!hasPorts(p.proto)) {
      if (range == "-1/-1") return "any port (-1/-1)";
      return protoName(p.proto) + " carries no port (0" + inOrNot(ok) + range + ")";
    }
    if (range == "-1/-1") return std::string("any port (-1/-1)");
    return "port " + std::to_string(p.dport) + inOrNot(ok) + range;
  };
  if (r.portRange) {
    const bool ok = r.portRange->matches(p.dport);
    out.push_back({ok, portPhrase(ok, r.portRange->toString())});
  } else {
    const PortRangeList* pl = m.findPortRangeList(r.portRangeListId);
    if (pl == nullptr) {
      out.push_back({false, "port list " + r.portRangeListId + " is not in the model, so it matches no port"});
    } else {
      bool ok = false;
      std::string ranges;
      for (const PortRange& x : pl->entries) {
        ok = ok || x.matches(p.dport);
        ranges += (ranges.empty() ? "" : ", ") + x.toString();
      }
      out.push_back({ok, portPhrase(ok, "port list " + pl->id + " (" + ranges + ")")});
    }
  }
  if (r.sourcePortRange && !r.sourcePortRange->isAny()) {
    const bool ok = r.sourcePortRange->matches(p.sport);
    out.push_back({ok, hasPorts(p.proto)
                           ? "source port " + std::to_string(p.sport) + inOrNot(ok) + r.sourcePortRange->toString()
                           : protoName(p.proto) + " carries no source port (" + std::to_string(p.sport) + inOrNot(ok) +
                                 r.sourcePortRange->toString() + ")"});
  }
  return out;
}

std::string ruleName(const RuleRef& ref, std::size_t index) {
  return ref.ruleId + " (#" + std::to_string(index + 1) + ")";
}

// The notes of one check: what the model left sgsim to assume about the groups and rules this walk looked at.
std::vector<std::string> checkNotes(const Model& m, const Eni& e, const std::vector<RuleRef>& refs) {
  std::vector<std::string> notes;
  const auto assumed = modelAssumptions(m);
  for (const ModelAssumption& a : assumed)
    if (a.groupId.empty() || std::find(e.groupIds.begin(), e.groupIds.end(), a.groupId) != e.groupIds.end())
      notes.push_back((a.groupId.empty() ? "" : a.groupId + ": ") + a.text);
  for (const RuleRef& r : refs) {
    if (r.rule->peer.kind == Peer::Kind::Group && m.findGroup(r.rule->peer.groupId) == nullptr)
      notes.push_back(r.ruleId + " names group " + r.rule->peer.groupId +
                      ", which the model lacks: it matches no address here, which the cloud would not do (add the "
                      "group's DescribeSecurityGroupAttribute under SecurityGroups and its members under "
                      "NetworkInterfaces)");
    if (r.rule->peer.kind == Peer::Kind::PrefixList && m.findPrefixList(r.rule->peer.prefixListId) == nullptr)
      notes.push_back(r.ruleId + " names prefix list " + r.rule->peer.prefixListId +
                      ", which the model lacks: it matches no address here (add its entries under PrefixLists)");
    if (!r.rule->portRangeListId.empty() && m.findPortRangeList(r.rule->portRangeListId) == nullptr)
      notes.push_back(r.ruleId + " names port list " + r.rule->portRangeListId +
                      ", which the model lacks: it matches no port here (add its entries under PortRangeLists)");
  }
  return notes;
}

std::string defaultWhy(Verdict def, Direction d) {
  return def == Verdict::Accept    ? "basic groups allow all outbound traffic"
         : d == Direction::Ingress ? "inbound traffic is denied unless a rule allows it"
                                   : "enterprise groups deny outbound traffic unless a rule allows it";
}

// The rule walk of one check: intra-group, each rule (consulted or not), a tie, the default, the notes. Returns
// what the rules decide (Network::decide).
Decision walkCheck(std::ostringstream& o, const Network& net, std::size_t eni, Direction d, const PacketKey& p,
                   std::int32_t peer, bool icmpTypeKnown, const std::string& indent) {
  const Model& m = net.model();
  const Eni& e = net.eni(eni);
  const PacketFields fields{p.proto, p.src, p.dst, p.sport, p.dport};
  const Decision dec = net.decide(eni, d, fields, peer);
  if (peer >= 0 && static_cast<std::size_t>(peer) == eni) {
    o << indent << "intra-group: does not apply to an interface's traffic to itself: the custom rules decide\n";
  } else if (peer >= 0) {
    const std::int32_t g = net.sharedAcceptGroup(eni, static_cast<std::size_t>(peer));
    if (g >= 0)
      o << indent << "intra-group: " << net.eni(static_cast<std::size_t>(peer)).id << " and " << e.id
        << " share basic group " << m.groups[static_cast<std::size_t>(g)].id
        << " (InnerAccessPolicy Accept): accepted before any custom rule is looked at\n";
    else
      o << indent << "intra-group: " << net.eni(static_cast<std::size_t>(peer)).id
        << " shares no basic group with InnerAccessPolicy Accept with " << e.id << ": the custom rules decide\n";
  }
  const auto& refs = net.rules(eni, d);
  if (refs.empty()) o << indent << "(no " << toString(d) << " rules)\n";
  const std::int32_t winner = dec.reason == Reason::Rule ? dec.ruleRef : -1;
  std::vector<std::size_t> tiedAfter;  // later matching rules at the winner's priority
  bool headed = false;                 // the "not consulted" line has been printed
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const Rule& r = *refs[i].rule;
    const SecurityGroup* g = m.findGroup(refs[i].groupId);
    const auto checks = fieldChecks(m, r, p, icmpTypeKnown);
    const bool all = std::all_of(checks.begin(), checks.end(), [](const FieldCheck& c) { return c.ok; });
    const bool isWinner = static_cast<std::int32_t>(i) == winner;
    const bool decidedBefore =
        dec.reason == Reason::IntraGroup || (winner >= 0 && static_cast<std::int32_t>(i) > winner);
    const std::string name = "#" + std::to_string(i + 1) + " " + describeRule(r, g ? g->product : Product::Ecs) +
                             "  [" + refs[i].groupId + "]";
    if (decidedBefore) {
      // After the decision nothing is compared: the rules are listed for reference, with the ones that would also
      // match marked (a tie, or a rule that never decides while the one above it is there).
      if (!headed)
        o << indent << "not consulted ("
          << (dec.reason == Reason::IntraGroup
                  ? std::string("the intra-group accept decided first")
                  : ruleName(refs[static_cast<std::size_t>(winner)], static_cast<std::size_t>(winner)) +
                        " decided first")
          << "):\n";
      headed = true;
      o << indent << "   " << name << (all ? "  (it would match too)" : "") << '\n';
      if (all && winner >= 0 && r.priority == refs[static_cast<std::size_t>(winner)].rule->priority)
        tiedAfter.push_back(i);
      continue;
    }
    o << indent << (isWinner ? "=> " : "   ") << name << '\n';
    const std::string detail = indent + "      ";
    for (std::size_t k = 0; k < checks.size(); ++k) o << (k ? "; " : detail) << checks[k].text;
    o << '\n'
      << detail
      << (all ? (isWinner ? std::string("matches: it decides (") + toString(r.policy) + ")" : "matches") : "no match")
      << '\n';
  }
  if (winner >= 0 && !tiedAfter.empty()) {
    const RuleRef& w = refs[static_cast<std::size_t>(winner)];
    for (std::size_t i : tiedAfter) {
      const RuleRef& t = refs[i];
      if (t.policy != w.policy)
        o << indent << "tie: drop beats accept at the same priority: " << ruleName(w, static_cast<std::size_t>(winner))
          << " and " << ruleName(t, i) << " both match at priority " << w.rule->priority << "; the drop decides\n";
      else
        o << indent << "tie: " << ruleName(w, static_cast<std::size_t>(winner)) << " and " << ruleName(t, i)
          << " both match at priority " << w.rule->priority << " with the same policy (" << toString(w.policy)
          << "): " << w.ruleId
          << (w.groupId == t.groupId ? " comes earlier in group " + w.groupId
                                     : "'s group " + w.groupId + " comes before " + t.groupId + " on " + e.id)
          << ", so it is the one reported\n";
    }
  }
  const Verdict def = net.defaultVerdict(eni, d);
  if (dec.reason == Reason::Default)
    o << indent << "=> no rule matches: the implicit default of " << e.id << " for " << toString(d) << " is "
      << toString(def) << " (" << defaultWhy(def, d) << ")\n";
  for (const std::string& n : checkNotes(m, e, refs)) o << indent << "note: " << n << '\n';
  return dec;
}

std::string packetText(const PacketKey& p) {
  const std::string name = protoName(p.proto);
  return (protoFromName(name) ? name : "proto " + name) + " " + endpoint(p.src, p.sport, p.proto) + " > " +
         endpoint(p.dst, p.dport, p.proto) + (isIcmp(p) && isEcho(p) ? " id " + std::to_string(p.sport) : "");
}

std::string flagsText(std::uint8_t f) {
  std::string s;
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x04) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x10) s += '.';
  return s.empty() ? "none" : s;
}

constexpr const char* kOrder =
    "Order: intra-group first; then rules by priority 1..100 ascending, drop before accept at equal priority,\n"
    "then group order on the ENI, then rule order in the group; no match: the implicit default.\n";

struct Ends {
  std::int32_t src = -1, dst = -1;
  bool checkSrc = false, checkDst = false;
};

Ends endsOf(const Network& net, const PacketKey& p, const ExplainOptions& opt) {
  // As in the evaluator: src/dst identify both ends (peers for the intra-group policy), checkSrc/checkDst say
  // which checks are made.
  Ends x;
  x.src = net.eniOf(p.src);
  x.dst = net.eniOf(p.dst);
  x.checkSrc = x.src >= 0 && (opt.eni < 0 || x.src == opt.eni);
  x.checkDst = x.dst >= 0 && (opt.eni < 0 || x.dst == opt.eni);
  if (opt.forced) {
    x.checkSrc = *opt.forced == Direction::Egress;
    x.checkDst = *opt.forced == Direction::Ingress;
    (x.checkSrc ? x.src : x.dst) = opt.eni;
  }
  return x;
}

void endsLine(std::ostringstream& o, const Ends& x) {
  if (x.checkSrc && x.checkDst && x.src == x.dst)
    o << "Source and destination are the same ENI: one flow, its egress rules then its ingress rules.\n";
  else if (x.checkSrc && x.checkDst)
    o << "Both ends are modeled: egress at the sender, then ingress at the receiver.\n";
}

std::string header(const Network& net, std::size_t eni, Direction d) {
  const Eni& e = net.eni(eni);
  std::string s = "== " + std::string(toString(d)) + " at " + e.id + " (groups:";
  for (const auto& g : e.groupIds) s += " " + g;
  return s + ")\n";
}

std::string checkName(const Network& net, const Check& c) {
  return net.eni(static_cast<std::size_t>(c.eni)).id + " " + toString(c.direction);
}

// "accepted at eni-web ingress by rule sgr-ssh"
std::string decisionText(const Network& net, const Check& c) {
  std::string s = std::string(c.verdict == Verdict::Accept ? "accepted" : "dropped") + " at " + checkName(net, c);
  switch (c.reason) {
    case Reason::Rule:
      return s + " by rule " +
             net.rules(static_cast<std::size_t>(c.eni), c.direction)[static_cast<std::size_t>(c.ruleRef)].ruleId;
    case Reason::Default:
      return s + " by the implicit default";
    case Reason::IntraGroup:
      return s + " by the intra-group accept" +
             (c.intraGroup >= 0 ? " of " + net.model().groups[static_cast<std::size_t>(c.intraGroup)].id : "");
    default:
      return s + " (" + toString(c.reason) + ")";
  }
}

std::string seconds(std::int64_t ns) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string frameAt(std::uint64_t frame, std::int64_t ns, std::int64_t originNs) {
  return "frame " + std::to_string(frame) + " (" + formatOffset(ns, originNs) + ")";
}

// The state line of one check of a frame.
std::string stateText(const CheckHistory& h, const FrameFacts& f) {
  using S = CheckHistory::State;
  const std::string since = frameAt(h.sinceFrame, h.sinceNs, f.originNs);
  switch (h.state) {
    case S::New:
      return "new flow: no live entry for it here, so the rules decide (and the decision starts an entry)";
    case S::Established:
      return "established since " + since + ", whose packet was " + h.startedBy +
             "; last packet before this one: " + frameAt(h.lastFrame, h.lastNs, f.originNs);
    case S::Blocked:
      return "blocked since " + since + ", whose packet was " + h.startedBy +
             ": the flow's later packets, both ways, are dropped with it until the entry times out";
    case S::Expired:
      return "new flow again: the entry that " + since + " started (" + h.startedBy + ") expired after " +
             seconds(f.tsNs - h.lastNs) + " of silence since " + frameAt(h.lastFrame, h.lastNs, f.originNs) + " (" +
             (h.closing ? "the TCP connection had closed, by a RST or a FIN from each side: its entry then lasts " +
                              std::to_string(h.timeoutS) + " s"
                        : "entries of this protocol last " + std::to_string(h.timeoutS) + " s") +
             "), so the rules decide again";
    case S::Cut:
      return "cut by the change at --at: the connection was established since " + since + " (" + h.startedBy +
             "), and the new table would drop its first packet, so it is blocked from the change on";
    case S::Released:
      return "released by the change at --at: the flow was blocked since " + since + " (" + h.startedBy +
             "), and the new table would accept its first packet, so this packet is decided as a first packet";
    case S::Untracked:
      return "the flow table was full (--max-flows): decided by the rules, and no state is kept";
    case S::Fragment:
      return "a later IP fragment of frame " + std::to_string(h.sinceFrame) +
             ": it carries no transport header and takes the fate that fragment got";
  }
  return {};
}

}  // namespace

Result<std::string> explainPacket(const Network& net, const PacketFields& p, const ExplainOptions& opt) {
  PacketKey k;
  k.status = DecodeStatus::Ok;
  k.family = p.src.family;
  k.src = p.src;
  k.dst = p.dst;
  k.proto = p.proto;
  k.sport = p.sport;
  k.dport = p.dport;
  ExplainOptions o = opt;
  o.icmpTypeKnown = false;
  return explainPacket(net, k, o);
}

Result<std::string> explainPacket(const Network& net, const PacketKey& p, const ExplainOptions& opt) {
  std::ostringstream o;
  const Ends x = endsOf(net, p, opt);
  if (!x.checkSrc && !x.checkDst)
    return Error{"packet", p.src.toString() + " and " + p.dst.toString() +
                               " belong to no modeled ENI (use --direction with --host to evaluate it anyway)"};
  o << "Packet: " << packetText(p) << " (taken as the first packet of a new flow)\n";
  if (isIcmp(p)) o << "  " << icmpText(p, opt.icmpTypeKnown) << '\n';
  for (const std::string& n : opt.notes) o << "  note: " << n << '\n';
  if (p.proto == 6 && p.tcpFlags != 0 && (p.tcpFlags & 0x02) == 0)
    o << "  note: its TCP flags [" << flagsText(p.tcpFlags)
      << "] say it is not the first packet of its connection; it is walked as one all the same (for the state a real "
         "packet meets, explain it in its capture: --capture FILE --frame N)\n";
  o << kOrder;
  endsLine(o, x);
  o << '\n';
  bool ok = true;
  if (x.checkSrc) {
    o << header(net, static_cast<std::size_t>(x.src), Direction::Egress);
    const Decision d =
        walkCheck(o, net, static_cast<std::size_t>(x.src), Direction::Egress, p, x.dst, opt.icmpTypeKnown, "  ");
    o << "  verdict: " << toString(d.verdict) << " (" << toString(d.reason) << ")\n";
    ok = d.verdict == Verdict::Accept;
    if (!ok && x.checkDst) o << "\n(dropped at the sender: the receiver never sees it, so no ingress check)\n";
  }
  if (ok && x.checkDst) {
    if (x.checkSrc) o << '\n';
    o << header(net, static_cast<std::size_t>(x.dst), Direction::Ingress);
    const Decision d =
        walkCheck(o, net, static_cast<std::size_t>(x.dst), Direction::Ingress, p, x.src, opt.icmpTypeKnown, "  ");
    o << "  verdict: " << toString(d.verdict) << " (" << toString(d.reason) << ")\n";
    ok = d.verdict == Verdict::Accept;
  }
  o << "\nResult: " << (ok ? "ACCEPT" : "DROP")
    << (ok ? " — replies of this flow are then accepted as established (security groups are stateful)\n"
           : " — later packets of this flow, both ways, are dropped with it until the entry times out\n");
  return o.str();
}

Result<std::string> explainFrame(const Network& net, const FrameFacts& f, const ExplainOptions& opt) {
  const std::string where = f.capture + ": frame " + std::to_string(f.frame);
  const PacketKey& k = f.key;
  const PacketVerdict& v = f.verdict;
  if (k.status == DecodeStatus::NotIp)
    return Error{where, std::string("not an IP packet (") + k.detail + "): explain walks IPv4 and IPv6 packets"};
  if (k.status != DecodeStatus::Ok)
    return Error{where, std::string("sgsim cannot decode this frame (") + k.detail + "): there is no packet to walk"};
  if (v.reason == Reason::Unmodeled) {
    // UDP to the VXLAN port between unmodeled addresses, read without --decap: most likely a mirror session's copy.
    const bool mirrorLike = k.vni < 0 && k.proto == 17 && k.dport == 4789 && !k.isFragment;
    return Error{where, k.src.toString() + " > " + k.dst.toString() +
                            " touches no modeled interface (use --direction with --host to evaluate it at one)" +
                            (mirrorLike ? "; it is UDP to port 4789, as traffic-mirror sessions send their copies: "
                                          "add --decap vxlan to explain the frame inside it"
                                        : "")};
  }
  std::ostringstream o;
  o << "Frame " << f.frame << " of " << f.capture << " (" << formatOffset(f.tsNs, f.originNs) << ", "
    << formatRfc3339(f.tsNs) << "): ";
  const bool laterFragment = k.isFragment && !k.firstFragment;
  PacketKey walked = k;  // a later fragment is walked with its first fragment's transport and ports
  if (laterFragment && f.fragmentFlow) {
    walked.proto = f.fragmentFlow->proto;
    walked.sport = f.fragmentFlow->sport;
    walked.dport = f.fragmentFlow->dport;
  }
  if (laterFragment) {
    o << "proto " << static_cast<int>(k.proto) << " " << k.src.toString() << " > " << k.dst.toString()
      << ", a later IP fragment (id " << k.fragId << ")\n";
  } else {
    o << packetText(k);
    if (k.proto == 6) o << " [" << flagsText(k.tcpFlags) << "]";
    o << '\n';
    if (isIcmp(k)) o << "  " << icmpText(k, true) << '\n';
  }
  if (k.vni >= 0)
    o << "  inside a VXLAN packet (VNI " << k.vni << "): --decap explains the frame it carries, as a mirror session "
      << "copied it\n";
  for (const std::string& n : f.tableNotes) o << "  table: " << n << '\n';
  if (v.reason == Reason::UnmatchedFragment) {
    o << "\nState: a later IP fragment whose first fragment is not among the frames before it (within 30 s): it "
         "carries no transport header, so no rule can be matched and no flow knows it.\n\nResult: NONE — verdict "
         "none (unmatched-fragment)\n";
    return o.str();
  }
  if (laterFragment && f.fragmentFlow)
    o << "  fragment: " << stateText(f.history[0], f) << "; walked below as that fragment: " << packetText(walked)
      << '\n';
  o << kOrder;
  ExplainOptions eo = opt;
  const Ends x = endsOf(net, walked, eo);
  endsLine(o, x);
  for (std::uint8_t i = 0; i < v.checkCount; ++i) {
    const Check& c = v.checks[i];
    const CheckHistory& h = f.history[i];
    const bool hairpin = v.checkCount == 2 && v.checks[0].eni == v.checks[1].eni;
    o << '\n' << header(net, static_cast<std::size_t>(c.eni), c.direction);
    if (!laterFragment && !(hairpin && i == 1)) o << "  state: " << stateText(h, f) << '\n';
    const std::int32_t peer = c.direction == Direction::Egress ? x.dst : x.src;
    const bool byState = c.reason == Reason::Established || c.reason == Reason::Blocked;
    if (byState) {
      o << "  => " << (c.reason == Reason::Established ? "accepted as established" : "dropped as blocked")
        << ": the rules are not consulted for this packet. Had it been the first packet of a flow, they would "
           "say:\n";
      const Decision d = walkCheck(o, net, static_cast<std::size_t>(c.eni), c.direction, walked, peer, true, "    ");
      o << "    rules alone: " << toString(d.verdict) << " (" << toString(d.reason) << ")"
        << (d.verdict != c.verdict ? c.reason == Reason::Established
                                         ? " — the connection's state accepts what the rules alone would drop"
                                         : " — the flow's state drops what the rules alone would accept"
                                   : "")
        << '\n';
    } else {
      walkCheck(o, net, static_cast<std::size_t>(c.eni), c.direction, walked, peer, true, "  ");
    }
    o << "  verdict: " << toString(c.verdict) << " (" << toString(c.reason) << ")\n";
    if (c.verdict == Verdict::Drop && i + 1 == v.checkCount && x.checkDst && c.direction == Direction::Egress &&
        !hairpin)
      o << "\n(dropped at the sender: the receiver never sees it, so no ingress check)\n";
  }
  const bool ok = v.verdict == Verdict::Accept;
  o << "\nResult: " << (ok ? "ACCEPT" : "DROP") << " (" << toString(v.reason) << ")";
  if (laterFragment)
    o << " — the fate of its first fragment, frame " << f.history[0].sinceFrame << "\n";
  else if (v.reason == Reason::Established)
    o << " — part of a connection accepted earlier (security groups are stateful)\n";
  else if (v.reason == Reason::Blocked)
    o << " — part of a flow whose first packet was dropped\n";
  else if (v.untracked)
    o << " — decided without state (the flow table was full)\n";
  else
    o << (ok ? " — the flow's later packets, both ways, are accepted as established\n"
             : " — the flow's later packets, both ways, are dropped with it until the entry times out\n");
  return o.str();
}

// ---- a flow-log record ------------------------------------------------------------------------------------------

namespace {

// "the record at line 7", or "the record at b.csv line 7" when several flow logs are read.
std::string recordAt(const FrameFacts& f, std::uint16_t file, std::uint64_t line) {
  std::string s = "the record at ";
  if (f.files.size() > 1 && file < f.files.size()) s += f.files[file] + " ";
  return s + "line " + std::to_string(line);
}

// The state line of one check of a record: the conversation's entry at that ENI.
std::string recordStateText(const CheckHistory& h, const FrameFacts& f, const std::string& eni) {
  using S = CheckHistory::State;
  const std::string since =
      recordAt(f, h.sinceFile, h.sinceFrame) + " (starting " + formatOffset(h.sinceNs, f.originNs) + ")";
  const std::string last =
      recordAt(f, h.lastFile, h.lastFrame) + ", which ended at " + formatOffset(h.lastNs, f.originNs);
  switch (h.state) {
    case S::New:
      return "new conversation: no live entry for it at " + eni +
             ", so the rules decide, as for its first packet (and the decision starts an entry)";
    case S::Established: {
      std::string s = "part of the conversation opened by " + since + ", whose packets were " + h.startedBy;
      if (h.lastFrame != h.sinceFrame || h.lastFile != h.sinceFile) s += "; its latest record before this one: " + last;
      return s;
    }
    case S::Blocked:
      return "blocked since " + since + ", whose packets were " + h.startedBy +
             ": the conversation's later records, both ways, are dropped with it until the entry times out";
    case S::Expired:
      return "new conversation again: the entry started by " + since + ", whose packets were " + h.startedBy +
             ", expired after " + seconds(f.tsNs - h.lastNs) + " of silence since its latest record, " + last + " (" +
             (h.closing ? "the TCP connection had closed, by a RST or a FIN from each side: its entry then lasts " +
                              std::to_string(h.timeoutS) + " s"
                        : "entries of this protocol last " + std::to_string(h.timeoutS) + " s") +
             "), so the rules decide again";
    case S::Cut:
      return "cut by the change at --at: the conversation was opened by " + since + ", whose packets were " +
             h.startedBy + "; the new table would drop its first packet, so it is blocked from the change on";
    case S::Released:
      return "released by the change at --at: the conversation was blocked since " + since + ", whose packets were " +
             h.startedBy + "; the new table would accept its first packet, so this record is decided as a first packet";
    case S::Untracked:
      return "the flow table was full (--max-flows): decided by the rules, and no state is kept";
    case S::Fragment:
      break;
  }
  return {};
}

}  // namespace

Result<std::string> explainRecord(const Network& net, const FrameFacts& f, const ExplainOptions& opt) {
  if (!f.record) return explainFrame(net, f, opt);
  const FlowRecord& r = *f.record;
  const std::string file = f.file < f.files.size() ? f.files[f.file] : f.capture;
  const std::string where = file + ": line " + std::to_string(f.frame);
  const PacketKey& k = f.key;
  const PacketVerdict& v = f.verdict;
  if (v.reason == Reason::Unmodeled || v.checkCount == 0)
    return Error{where, "the record " + k.src.toString() + " > " + k.dst.toString() + " (eni-id " +
                            std::string(r.eni.view()) +
                            ") touches no modeled interface: add that ENI to the model to check its records"};
  std::ostringstream o;
  o << "Record at line " << f.frame << " of " << file << " (" << formatOffset(r.startNs, f.originNs) << " .. "
    << formatOffset(r.endNs, f.originNs) << "): ";
  // A record of ICMP gives no type, code or identifier: the addresses are the conversation.
  if (isIcmp(k))
    o << protoName(k.proto) << " " << k.src.toString() << " > " << k.dst.toString();
  else
    o << packetText(k);
  if (k.proto == 6 && r.hasTcpFlags) o << " [" << flagsText(r.tcpFlags) << "]";
  o << '\n';
  if (isIcmp(k))
    o << "  a flow-log record of ICMP gives no type, code or identifier: all ICMP between the two addresses at the "
         "interface is one conversation\n";
  o << "  logged at " << r.eni.view() << ", direction " << (r.inbound ? "in" : "out") << " ("
    << (r.inbound ? "ingress" : "egress") << " there); window " << formatRfc3339(r.startNs) << " .. "
    << formatRfc3339(r.endNs) << " (" << seconds(r.endNs - r.startNs) << ")\n";
  o << "  " << r.packets << (r.packets == 1 ? " packet, " : " packets, ") << r.bytes
    << (r.bytes == 1 ? " byte" : " bytes");
  if (r.proto == 6)
    o << (r.hasTcpFlags ? ", tcp-flags " + std::to_string(r.tcpFlags) + " [" + flagsText(r.tcpFlags) +
                              "] (the OR of the window's packets' flags)"
                        : std::string(", no tcp-flags (an older export)"));
  o << ", log-status OK, action " << (r.accept ? "ACCEPT" : "REJECT") << '\n';
  std::string ids;
  auto id = [&](const char* name, const FlowText& t) {
    if (t.size() > 0 && t.view() != "-")
      ids += (ids.empty() ? "" : ", ") + std::string(name) + " " + std::string(t.view());
  };
  id("vm-id", r.vm);
  id("vswitch-id", r.vswitch);
  id("vpc-id", r.vpc);
  id("account-id", r.account);
  id("region", r.region);
  if (!ids.empty()) o << "  " << ids << '\n';
  for (const std::string& n : f.tableNotes) o << "  table: " << n << '\n';
  o << "  A record stands for a whole window of packets of one conversation at one interface: it is checked once, "
       "with the state the conversation has at the window's start, so its verdict is the conversation's, not each "
       "packet's (the order of the packets inside the window is unknown).\n";
  o << kOrder;
  const Ends x = endsOf(net, k, opt);
  if (v.checkCount == 2) endsLine(o, x);
  for (std::uint8_t i = 0; i < v.checkCount; ++i) {
    const Check& c = v.checks[i];
    const CheckHistory& h = f.history[i];
    const std::string eni = net.eni(static_cast<std::size_t>(c.eni)).id;
    o << '\n' << header(net, static_cast<std::size_t>(c.eni), c.direction);
    o << "  state: " << recordStateText(h, f, eni) << '\n';
    const std::int32_t peer = c.direction == Direction::Egress ? x.dst : x.src;
    const bool byState = c.reason == Reason::Established || c.reason == Reason::Blocked;
    if (byState) {
      o << "  => " << (c.reason == Reason::Established ? "accepted as established" : "dropped as blocked")
        << ": the rules are not consulted for this record. Had it opened the conversation, they would say:\n";
      const Decision d = walkCheck(o, net, static_cast<std::size_t>(c.eni), c.direction, k, peer, false, "    ");
      o << "    rules alone: " << toString(d.verdict) << " (" << toString(d.reason) << ")"
        << (d.verdict != c.verdict ? c.reason == Reason::Established
                                         ? " — the conversation's state accepts what the rules alone would drop"
                                         : " — the conversation's state drops what the rules alone would accept"
                                   : "")
        << '\n';
    } else {
      walkCheck(o, net, static_cast<std::size_t>(c.eni), c.direction, k, peer, false, "  ");
    }
    o << "  verdict: " << toString(c.verdict) << " (" << toString(c.reason) << ")\n";
  }
  const bool ok = v.verdict == Verdict::Accept;
  o << "\nResult: " << (ok ? "ACCEPT" : "DROP") << " (" << toString(v.reason) << ")";
  if (v.reason == Reason::Established)
    o << " — part of a conversation accepted earlier (security groups are stateful)\n";
  else if (v.reason == Reason::Blocked)
    o << " — part of a conversation whose first record was dropped\n";
  else if (v.untracked)
    o << " — decided without state (the flow table was full)\n";
  else
    o << (ok ? " — the conversation's later records, both ways, are accepted as established\n"
             : " — the conversation's later records, both ways, are dropped with it until the entry times out\n");
  const char* logged = r.accept ? "ACCEPT" : "REJECT";
  if (f.changedTable) {
    o << "Logged: " << logged << " — made by the rules as they were; the verdict above is the changed table's, so a "
      << "difference here is the change's effect, not drift (explain it without the requests to compare)\n";
  } else if (ok == r.accept) {
    o << "Logged: " << logged << " — the model agrees with the flow log (no drift)\n";
  } else if (ok) {
    o << "Logged: REJECT — DRIFT: the model accepts what the cloud rejected. The model may be out of date (a rule "
         "the cloud no longer has), a network ACL may have rejected it (flow-log actions cover both), or the cloud "
         "applies a rule differently\n";
  } else {
    o << "Logged: ACCEPT — DRIFT: the model drops what the cloud accepted. The model is likely out of date (a rule "
         "it lacks, or a group membership it does not know), or the cloud applies a rule differently (a network ACL "
         "cannot make a dropped packet accepted)\n";
  }
  return o.str();
}

// ---- FlowHistory -----------------------------------------------------------------------------------------------

std::size_t FlowHistory::FragKeyHash::operator()(const FragKey& k) const noexcept {
  return IpAddrHash{}(k.src) * 31 ^ IpAddrHash {}(k.dst) ^ (static_cast<std::size_t>(k.id) << 8) ^ k.proto;
}

FlowHistory::FragKey FlowHistory::fragKeyOf(const PacketKey& k) {
  // As the evaluator matches fragments: IPv6 on source, destination and identification; IPv4 also on protocol.
  return FragKey{k.src, k.dst, k.fragId, k.family == Family::V4 ? k.proto : std::uint8_t{0}};
}

void FlowHistory::record(std::uint64_t number, const PacketKey& key, std::int64_t tsNs, const PacketVerdict& v,
                         const Network& net, std::uint16_t file, std::int64_t endNs) {
  if (key.status != DecodeStatus::Ok || v.checkCount == 0) return;
  if (key.isFragment && !key.firstFragment) return;  // decided by its first fragment; touches no flow entry
  if (key.isFragment && key.firstFragment) fragments_[fragKeyOf(key)] = number;
  if (v.untracked) return;
  const bool hairpin = v.checkCount == 2 && v.checks[0].eni == v.checks[1].eni;
  for (std::uint8_t i = 0; i < v.checkCount; ++i) {
    if (hairpin && i == 1) break;  // one entry at that ENI
    const Check& c = v.checks[i];
    bool srcIsA = true;
    const FlowKey fk =
        FlowKey::make(static_cast<std::uint32_t>(c.eni), key.proto, key.src, key.sport, key.dst, key.dport, srcIsA);
    Entry& e = entries_[fk];
    if (c.reason == Reason::Established || c.reason == Reason::Blocked) {
      if (e.firstFrame == 0) {  // not seen before (cannot happen: the tracker saw its first packet)
        e.firstFrame = number;
        e.firstNs = tsNs;
        e.firstFile = file;
      }
    } else {
      e = Entry{};
      e.firstFrame = number;
      e.firstNs = tsNs;
      e.firstFile = file;
      e.accepted = hairpin ? v.verdict == Verdict::Accept : c.verdict == Verdict::Accept;
      e.net = &net;
      e.decided = hairpin && v.checks[0].verdict == Verdict::Accept ? v.checks[1] : c;
    }
    e.lastFrame = number;
    e.lastFile = file;
    // A record's entry lasts to the end of the latest window seen (records come in order of their start).
    e.lastNs = endNs != 0 ? std::max(e.lastNs, std::max(tsNs, endNs)) : tsNs;
    if (key.proto == 6 && (key.tcpFlags & 0x04)) e.rst = true;
    if (key.proto == 6 && (key.tcpFlags & 0x01)) e.fin = true;
  }
}

CheckHistory FlowHistory::lookup(const PacketKey& key, std::int64_t tsNs, const PacketVerdict& v, std::size_t i,
                                 std::optional<std::int64_t> atNs) const {
  using S = CheckHistory::State;
  CheckHistory h;
  if (key.isFragment && !key.firstFragment) {
    h.state = S::Fragment;
    if (auto it = fragments_.find(fragKeyOf(key)); it != fragments_.end()) h.sinceFrame = it->second;
    return h;
  }
  if (i >= v.checkCount) return h;
  const bool hairpin = v.checkCount == 2 && v.checks[0].eni == v.checks[1].eni;
  const Check& c = v.checks[hairpin ? 0 : i];
  bool srcIsA = true;
  const FlowKey fk =
      FlowKey::make(static_cast<std::uint32_t>(c.eni), key.proto, key.src, key.sport, key.dst, key.dport, srcIsA);
  const auto it = entries_.find(fk);
  const Entry* e = it == entries_.end() ? nullptr : &it->second;
  if (e != nullptr) {
    h.sinceFrame = e->firstFrame;
    h.sinceNs = e->firstNs;
    h.lastFrame = e->lastFrame;
    h.lastNs = e->lastNs;
    h.sinceFile = e->firstFile;
    h.lastFile = e->lastFile;
    if (e->net != nullptr) h.startedBy = decisionText(*e->net, e->decided);
  }
  const Check& here = v.checks[i];
  if (here.reason == Reason::Established) {
    h.state = S::Established;
  } else if (here.reason == Reason::Blocked) {
    h.state = e != nullptr && e->accepted ? S::Cut : S::Blocked;
  } else if (v.untracked) {
    h.state = S::Untracked;
  } else if (e == nullptr) {
    h.state = S::New;
  } else {
    const Timeouts& t = timeouts_[static_cast<std::size_t>(c.eni)];
    std::uint32_t timeout = key.proto == 6 ? t.tcpEstablished : key.proto == 17 ? t.udp : t.other;
    if (key.proto == 6 && (e->rst || e->fin)) {
      // The tracker shortens a TCP entry after a RST or a FIN from each side; a gap shorter than the long
      // timeout can only have expired that way.
      if (tsNs - e->lastNs <= static_cast<std::int64_t>(t.tcpEstablished) * 1'000'000'000) {
        timeout = t.tcpClosing;
        h.closing = true;
      }
    }
    h.timeoutS = timeout;
    const bool withinTimeout = tsNs - e->lastNs <= static_cast<std::int64_t>(timeout) * 1'000'000'000;
    if (!e->accepted && atNs && e->lastNs < *atNs && *atNs <= tsNs && withinTimeout && !h.closing)
      h.state = S::Released;
    else
      h.state = S::Expired;
  }
  return h;
}

std::optional<std::uint64_t> FlowHistory::firstFragmentFrame(const PacketKey& key) const {
  auto it = fragments_.find(fragKeyOf(key));
  if (it == fragments_.end()) return std::nullopt;
  return it->second;
}

}  // namespace sgsim
