#include "sgsim/api/rule_identity.h"

#include "sgsim/core/text.h"

namespace sgsim {

namespace {

std::string text(const std::optional<PortRange>& r) { return r ? r->toString() : ""; }
std::string text(const std::optional<Cidr>& c) { return c ? c->toString() : ""; }

// The peer as one comparable value: kind and the value that identifies it (owner fields are informational).
std::string peerValue(const Peer& p) {
  switch (p.kind) {
    case Peer::Kind::Cidr:
      return p.cidr.toString();
    case Peer::Kind::Group:
      return p.groupId;
    case Peer::Kind::PrefixList:
      return p.prefixListId;
  }
  return "";
}

// VPC groups only know intranet; Describe writes it or leaves it empty, and internet is read as intranet.
std::string_view normalNicTypeView(std::string_view n) {
  return n.empty() || iequals(n, "internet") ? std::string_view("intranet") : n;
}
std::string normalNicType(const std::string& n) { return toLower(normalNicTypeView(n)); }

std::string localFieldName(const Rule& r) {
  const bool v6 = r.local && !r.local->base.isV4();
  if (r.direction == Direction::Ingress) return v6 ? "Ipv6DestCidrIp" : "DestCidrIp";
  return v6 ? "Ipv6SourceCidrIp" : "SourceCidrIp";
}

// peerFieldName(d) == peerFieldName(e) without building the names: same side, same kind, same CIDR family.
bool samePeerField(const Rule& d, const Rule& e) {
  if (d.direction != e.direction || d.peer.kind != e.peer.kind) return false;
  return d.peer.kind != Peer::Kind::Cidr || d.peer.cidr.base.isV4() == e.peer.cidr.base.isV4();
}

// peerValue(d) == peerValue(e), for peers of the same kind.
bool samePeerValue(const Peer& d, const Peer& e) {
  switch (d.kind) {
    case Peer::Kind::Cidr:
      return d.cidr == e.cidr;
    case Peer::Kind::Group:
      return d.groupId == e.groupId;
    case Peer::Kind::PrefixList:
      return d.prefixListId == e.prefixListId;
  }
  return true;
}

// THE definition of rule identity: walks the identity fields once, in the order they are reported, comparing
// the typed values. For each field that differs it calls differs(describe), where describe() formats the
// FieldDiff on demand; differs returns false to stop the walk. Comparing typed values is equivalent to
// comparing the formatted text because every formatting below is injective on normalised values, which the
// randomized test in tests/api/rule_identity_test.cpp checks.
template <class Differs>
void walkIdentity(const Rule& d, const Rule& e, Product product, Differs&& differs) {
  auto field = [&](bool same, auto&& describe) { return same || differs(describe); };
  if (!field(d.direction == e.direction, [&] {
        return FieldDiff{"Direction", toString(d.direction), toString(e.direction)};
      }))
    return;
  // Case only matters on ENS, where the validator already insists on lowercase; the enum compares exactly.
  if (!field(d.protocol == e.protocol, [&] {
        return FieldDiff{"IpProtocol", toString(d.protocol, product), toString(e.protocol, product)};
      }))
    return;
  if (!field(d.portRange == e.portRange, [&] { return FieldDiff{"PortRange", text(d.portRange), text(e.portRange)}; }))
    return;
  if (!field(d.portRangeListId == e.portRangeListId, [&] {
        return FieldDiff{"PortRangeListId", d.portRangeListId, e.portRangeListId};
      }))
    return;
  if (!field(d.sourcePortRange == e.sourcePortRange, [&] {
        return FieldDiff{"SourcePortRange", text(d.sourcePortRange), text(e.sourcePortRange)};
      }))
    return;
  const bool samePeerKind = samePeerField(d, e);
  if (!field(samePeerKind && samePeerValue(d.peer, e.peer), [&] {
        // A different kind of peer: name both, since the field itself differs.
        if (!samePeerKind)
          return FieldDiff{"peer", peerFieldName(d) + " " + peerValue(d.peer),
                           peerFieldName(e) + " " + peerValue(e.peer)};
        return FieldDiff{peerFieldName(d), peerValue(d.peer), peerValue(e.peer)};
      }))
    return;
  if (!field(d.local == e.local, [&] {
        return FieldDiff{d.local ? localFieldName(d) : localFieldName(e), text(d.local), text(e.local)};
      }))
    return;
  if (!field(d.policy == e.policy, [&] { return FieldDiff{"Policy", toString(d.policy), toString(e.policy)}; })) return;
  if (!field(d.priority == e.priority, [&] {
        return FieldDiff{"Priority", std::to_string(d.priority), std::to_string(e.priority)};
      }))
    return;
  field(iequals(normalNicTypeView(d.nicType), normalNicTypeView(e.nicType)), [&] {
    return FieldDiff{"NicType", normalNicType(d.nicType), normalNicType(e.nicType)};
  });
}

}  // namespace

std::string peerFieldName(const Rule& r) {
  std::string side = r.direction == Direction::Ingress ? "Source" : "Dest";
  switch (r.peer.kind) {
    case Peer::Kind::Cidr:
      return r.peer.cidr.base.isV4() ? side + "CidrIp" : "Ipv6" + side + "CidrIp";
    case Peer::Kind::Group:
      return side + "GroupId";
    case Peer::Kind::PrefixList:
      return side + "PrefixListId";
  }
  return side;
}

std::vector<FieldDiff> ruleDifferences(const Rule& d, const Rule& e, Product product) {
  std::vector<FieldDiff> out;
  walkIdentity(d, e, product, [&](auto&& describe) {
    out.push_back(describe());
    return true;
  });
  return out;
}

int countRuleDifferences(const Rule& d, const Rule& e, Product product, int limit) {
  int n = 0;
  if (limit <= 0) return 0;
  walkIdentity(d, e, product, [&](auto&&) { return ++n < limit; });
  return n;
}

std::string describeDiff(const FieldDiff& d) {
  if (d.field == "peer") return d.existing + ", not " + d.wanted;
  auto shown = [](const std::string& v) { return v.empty() ? std::string("unset") : v; };
  return d.field + " " + shown(d.existing) + ", not " + shown(d.wanted);
}

bool sameRule(const Rule& description, const Rule& existing, Product product) {
  return countRuleDifferences(description, existing, product, 1) == 0;
}

}  // namespace sgsim
