#include "sgsim/api/rule_identity.h"

#include "sgsim/core/text.h"

namespace sgsim {

namespace {

std::string text(const std::optional<PortRange>& r) { return r ? r->toString() : ""; }
std::string text(const std::optional<Cidr>& c) { return c ? c->toString() : ""; }

// The peer as one comparable value: kind and the value that identifies it (owner fields are informational).
std::string peerValue(const Peer& p) {
  switch (p.kind) {
    case Peer::Kind::Cidr: return p.cidr.toString();
    case Peer::Kind::Group: return p.groupId;
    case Peer::Kind::PrefixList: return p.prefixListId;
  }
  return "";
}

// VPC groups only know intranet; Describe writes it or leaves it empty, and internet is read as intranet.
std::string normalNicType(const std::string& n) {
  const auto l = toLower(n);
  return l.empty() || l == "internet" ? "intranet" : l;
}

std::string localFieldName(const Rule& r) {
  const bool v6 = r.local && !r.local->base.isV4();
  if (r.direction == Direction::Ingress) return v6 ? "Ipv6DestCidrIp" : "DestCidrIp";
  return v6 ? "Ipv6SourceCidrIp" : "SourceCidrIp";
}

}  // namespace

std::string peerFieldName(const Rule& r) {
  const std::string side = r.direction == Direction::Ingress ? "Source" : "Dest";
  switch (r.peer.kind) {
    case Peer::Kind::Cidr: return r.peer.cidr.base.isV4() ? side + "CidrIp" : "Ipv6" + side + "CidrIp";
    case Peer::Kind::Group: return side + "GroupId";
    case Peer::Kind::PrefixList: return side + "PrefixListId";
  }
  return side;
}

std::vector<FieldDiff> ruleDifferences(const Rule& d, const Rule& e, Product product) {
  std::vector<FieldDiff> out;
  auto cmp = [&](const char* field, const std::string& a, const std::string& b) {
    if (a != b) out.push_back({field, a, b});
  };
  cmp("Direction", toString(d.direction), toString(e.direction));
  // Case only matters on ENS, where the validator already insists on lowercase; the enum compares exactly.
  cmp("IpProtocol", toString(d.protocol, product), toString(e.protocol, product));
  cmp("PortRange", text(d.portRange), text(e.portRange));
  cmp("PortRangeListId", d.portRangeListId, e.portRangeListId);
  cmp("SourcePortRange", text(d.sourcePortRange), text(e.sourcePortRange));
  if (peerFieldName(d) != peerFieldName(e)) {
    // A different kind of peer: name both, since the field itself differs.
    out.push_back({"peer", peerFieldName(d) + " " + peerValue(d.peer), peerFieldName(e) + " " + peerValue(e.peer)});
  } else {
    cmp(peerFieldName(d).c_str(), peerValue(d.peer), peerValue(e.peer));
  }
  if (d.local != e.local) out.push_back({d.local ? localFieldName(d) : localFieldName(e), text(d.local), text(e.local)});
  cmp("Policy", toString(d.policy), toString(e.policy));
  cmp("Priority", std::to_string(d.priority), std::to_string(e.priority));
  cmp("NicType", normalNicType(d.nicType), normalNicType(e.nicType));
  return out;
}

std::string describeDiff(const FieldDiff& d) {
  if (d.field == "peer") return d.existing + ", not " + d.wanted;
  auto shown = [](const std::string& v) { return v.empty() ? std::string("unset") : v; };
  return d.field + " " + shown(d.existing) + ", not " + shown(d.wanted);
}

bool sameRule(const Rule& description, const Rule& existing, Product product) {
  return ruleDifferences(description, existing, product).empty();
}

}  // namespace sgsim
