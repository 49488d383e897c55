#include "sgsim/verdict/explain.h"

#include <sstream>

#include "sgsim/core/proto_text.h"
#include "sgsim/core/text.h"
#include "sgsim/model/describe.h"

namespace sgsim {

namespace {

bool parseEndpoint(std::string_view s, IpAddr& addr, std::uint16_t& port, bool& hasPort) {
  hasPort = false;
  std::string_view a = s;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return false;
    a = s.substr(1, close - 1);
    auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      auto p = parseInt(rest.substr(1));
      if (!p || *p < 0 || *p > 65535) return false;
      port = static_cast<std::uint16_t>(*p);
      hasPort = true;
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    auto colon = s.find(':');
    a = s.substr(0, colon);
    auto p = parseInt(s.substr(colon + 1));
    if (!p || *p < 0 || *p > 65535) return false;
    port = static_cast<std::uint16_t>(*p);
    hasPort = true;
  }
  auto ip = IpAddr::parse(a);
  if (!ip) return false;
  addr = *ip;
  return true;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

struct FieldCheck {
  const char* name;
  bool ok;
  std::string detail;
};

std::vector<FieldCheck> fieldChecks(const Model& m, const Rule& r, const PacketFields& p) {
  std::vector<FieldCheck> out;
  const int proto = protocolNumber(r.protocol);
  bool protoOk = proto < 0 || proto == p.proto;
  if (r.protocol == Protocol::Icmp && !p.src.isV4()) protoOk = false;
  if (r.protocol == Protocol::Icmpv6 && p.src.isV4()) protoOk = false;
  out.push_back({"protocol", protoOk, toString(r.protocol)});

  const bool in = r.direction == Direction::Ingress;
  const IpAddr& remote = in ? p.src : p.dst;
  const IpAddr& local = in ? p.dst : p.src;
  bool peerOk = false;
  std::string peerText = describePeer(r.peer);
  switch (r.peer.kind) {
    case Peer::Kind::Cidr:
      peerOk = r.peer.cidr.contains(remote);
      break;
    case Peer::Kind::Group: {
      auto members = m.membersOf(r.peer.groupId);
      for (const Eni* e : members)
        for (const IpAddr& a : e->addresses) peerOk = peerOk || a == remote;
      peerText += " (" + std::to_string(members.size()) + " member ENI" + (members.size() == 1 ? "" : "s") + ")";
      break;
    }
    case Peer::Kind::PrefixList:
      if (const PrefixList* pl = m.findPrefixList(r.peer.prefixListId)) {
        for (const Cidr& c : pl->entries) peerOk = peerOk || c.contains(remote);
        peerText += " (" + std::to_string(pl->entries.size()) + (pl->entries.size() == 1 ? " entry)" : " entries)");
      } else {
        peerText += " (not in the model: matches nothing)";
      }
      break;
  }
  out.push_back({in ? "source" : "destination", peerOk, remote.toString() + " in " + peerText});
  if (r.local)
    out.push_back({in ? "destination (5-tuple)" : "source (5-tuple)", r.local->contains(local),
                   local.toString() + " in " + r.local->toString()});
  if (r.portRange) {
    out.push_back({"port", r.portRange->matches(p.dport), std::to_string(p.dport) + " in " + r.portRange->toString()});
  } else {
    bool ok = false;
    const PortRangeList* pl = m.findPortRangeList(r.portRangeListId);
    if (pl)
      for (const PortRange& x : pl->entries) ok = ok || x.matches(p.dport);
    out.push_back({"port", ok, std::to_string(p.dport) + " in port list " + r.portRangeListId});
  }
  if (r.sourcePortRange)
    out.push_back({"source port", r.sourcePortRange->matches(p.sport),
                   std::to_string(p.sport) + " in " + r.sourcePortRange->toString()});
  return out;
}

void explainCheck(std::ostringstream& o, const Network& net, std::size_t eni, Direction d, const PacketFields& p,
                  std::int32_t peer, bool& accepted) {
  const Model& m = net.model();
  const Eni& e = net.eni(eni);
  o << "== " << toString(d) << " at " << e.id << " (groups:";
  for (const auto& g : e.groupIds) o << ' ' << g;
  o << ")\n";
  const Decision dec = net.decide(eni, d, p, peer);
  if (peer >= 0 && static_cast<std::size_t>(peer) == eni) {
    o << "  intra-group: does not apply to an ENI's traffic to itself: custom rules decide\n";
  } else if (peer >= 0) {
    const std::int32_t g = net.sharedAcceptGroup(eni, static_cast<std::size_t>(peer));
    if (g >= 0)
      o << "  intra-group: " << net.eni(static_cast<std::size_t>(peer)).id << " and " << e.id << " share basic group "
        << m.groups[static_cast<std::size_t>(g)].id
        << " (InnerAccessPolicy Accept): accepted before any custom rule is looked at\n";
    else
      o << "  intra-group: " << net.eni(static_cast<std::size_t>(peer)).id
        << " shares no basic group with InnerAccessPolicy Accept: custom rules decide\n";
  }
  const auto& refs = net.rules(eni, d);
  if (refs.empty()) o << "  (no " << toString(d) << " rules)\n";
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const Rule& r = *refs[i].rule;
    const SecurityGroup* g = m.findGroup(refs[i].groupId);
    auto checks = fieldChecks(m, r, p);
    bool all = true;
    for (const auto& c : checks) all = all && c.ok;
    const bool winner = dec.reason == Reason::Rule && static_cast<std::size_t>(dec.ruleRef) == i;
    o << (winner ? "  => " : "     ") << "#" << i + 1 << " " << describeRule(r, g ? g->product : Product::Ecs) << "  ["
      << refs[i].groupId << "]\n";
    o << "        ";
    for (std::size_t k = 0; k < checks.size(); ++k)
      o << (k ? "; " : "") << checks[k].name << (checks[k].ok ? " ok" : " NO") << " (" << checks[k].detail << ")";
    o << "\n        " << (all ? (winner ? "matches: WINS" : "matches, but a rule above already decided") : "no match")
      << '\n';
  }
  const Verdict def = net.defaultVerdict(eni, d);
  if (dec.reason == Reason::Default) {
    o << "  => no rule matches: the implicit default of " << e.id << " for " << toString(d) << " is " << toString(def)
      << " ("
      << (def == Verdict::Accept    ? "basic groups allow all outbound traffic"
          : d == Direction::Ingress ? "inbound traffic is denied unless a rule allows it"
                                    : "enterprise groups deny outbound traffic unless a rule allows it")
      << ")\n";
  }
  o << "  verdict: " << toString(dec.verdict) << " (" << toString(dec.reason) << ")\n";
  accepted = dec.verdict == Verdict::Accept;
}

}  // namespace

Result<PacketFields> parsePacketSpec(std::string_view text) {
  auto w = words(text);
  Error bad{"packet", "expected \"PROTO SRC[:PORT] > DST[:PORT]\", e.g. \"tcp 203.0.113.7:51514 > 10.0.0.5:22\""};
  std::size_t i = 0;
  if (w.empty()) return bad;
  PacketFields p;
  const std::string proto = toLower(w[i++]);
  if (auto number = protoFromName(proto)) {
    p.proto = *number;
  } else if (proto == "proto" && i < w.size()) {
    auto n = parseInt(w[i++]);
    if (!n || *n < 0 || *n > 255) return bad;
    p.proto = static_cast<std::uint8_t>(*n);
  } else {
    return bad;
  }
  if (w.size() < i + 3 || w[i + 1] != ">") return bad;
  bool sp = false, dp = false;
  if (!parseEndpoint(w[i], p.src, p.sport, sp) || !parseEndpoint(w[i + 2], p.dst, p.dport, dp)) return bad;
  i += 3;
  if (p.src.family != p.dst.family) return Error{"packet", "source and destination are of different IP families"};
  if ((p.proto == 6 || p.proto == 17) && (!sp || !dp))
    return Error{"packet", "TCP and UDP need ports: \"tcp 203.0.113.7:51514 > 10.0.0.5:22\""};
  if (i + 1 < w.size() + 1 && i < w.size()) {
    if (w[i] == "id" && i + 1 < w.size()) {
      auto n = parseInt(w[i + 1]);
      if (!n || *n < 0 || *n > 65535) return bad;
      p.sport = p.dport = static_cast<std::uint16_t>(*n);
    } else {
      return bad;
    }
  }
  return p;
}

Result<std::string> explainPacket(const Network& net, const PacketFields& p, const ExplainOptions& opt) {
  std::ostringstream o;
  // As in the evaluator: src/dst identify both ends (peers for the intra-group policy), checkSrc/checkDst
  // say which checks are made.
  std::int32_t src = net.eniOf(p.src), dst = net.eniOf(p.dst);
  bool checkSrc = src >= 0 && (opt.eni < 0 || src == opt.eni);
  bool checkDst = dst >= 0 && (opt.eni < 0 || dst == opt.eni);
  if (opt.forced) {
    checkSrc = *opt.forced == Direction::Egress;
    checkDst = *opt.forced == Direction::Ingress;
    (checkSrc ? src : dst) = opt.eni;
  }
  if (!checkSrc && !checkDst)
    return Error{"packet", p.src.toString() + " and " + p.dst.toString() +
                               " belong to no modeled ENI (use --direction with --host to evaluate it anyway)"};
  const std::string name = protoName(p.proto);
  o << "Packet: " << (protoFromName(name) ? name : "proto " + name) << " " << endpoint(p.src, p.sport, p.proto) << " > "
    << endpoint(p.dst, p.dport, p.proto) << " (taken as the first packet of a new flow)\n";
  o << "Order: intra-group first; then rules by priority 1..100 ascending, drop before accept at equal priority,\n"
       "then group order on the ENI, then rule order in the group; no match: the implicit default.\n";
  if (checkSrc && checkDst && src == dst)
    o << "Source and destination are the same ENI: one flow, its egress rules then its ingress rules.\n";
  else if (checkSrc && checkDst)
    o << "Both ends are modeled: egress at the sender, then ingress at the receiver.\n";
  o << '\n';
  bool ok = true;
  if (checkSrc) {
    explainCheck(o, net, static_cast<std::size_t>(src), Direction::Egress, p, dst, ok);
    if (!ok && checkDst) o << "\n(dropped at the sender: the receiver never sees it, so no ingress check)\n";
  }
  if (ok && checkDst) {
    if (checkSrc) o << '\n';
    explainCheck(o, net, static_cast<std::size_t>(dst), Direction::Ingress, p, src, ok);
  }
  o << "\nResult: " << (ok ? "ACCEPT" : "DROP")
    << (ok ? " — replies of this flow are then accepted as established (security groups are stateful)\n"
           : " — later packets of this flow, both ways, are dropped with it until the entry times out\n");
  return o.str();
}

}  // namespace sgsim
