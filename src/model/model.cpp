#include "sgsim/model/model.h"

#include <algorithm>

#include "sgsim/core/text.h"

namespace sgsim {

const char* toString(Direction d) { return d == Direction::Ingress ? "ingress" : "egress"; }
const char* toString(Policy p) { return p == Policy::Accept ? "accept" : "drop"; }
const char* toString(GroupType t) { return t == GroupType::Normal ? "normal" : "enterprise"; }

const char* toString(Protocol p, Product product) {
  const bool ens = product == Product::Ens;
  switch (p) {
    case Protocol::Tcp:
      return ens ? "tcp" : "TCP";
    case Protocol::Udp:
      return ens ? "udp" : "UDP";
    case Protocol::Icmp:
      return ens ? "icmp" : "ICMP";
    case Protocol::Icmpv6:
      return ens ? "icmpv6" : "ICMPv6";
    case Protocol::Gre:
      return ens ? "gre" : "GRE";
    case Protocol::All:
      return ens ? "all" : "ALL";
  }
  return "?";
}

std::optional<Protocol> protocolFromName(std::string_view name) {
  static constexpr std::pair<const char*, Protocol> kNames[] = {{"tcp", Protocol::Tcp},   {"udp", Protocol::Udp},
                                                                {"icmp", Protocol::Icmp}, {"icmpv6", Protocol::Icmpv6},
                                                                {"gre", Protocol::Gre},   {"all", Protocol::All}};
  for (const auto& [n, p] : kNames)
    if (iequals(name, n)) return p;
  return std::nullopt;
}

int protocolNumber(Protocol p) {
  switch (p) {
    case Protocol::Tcp:
      return 6;
    case Protocol::Udp:
      return 17;
    case Protocol::Icmp:
      return 1;
    case Protocol::Icmpv6:
      return 58;
    case Protocol::Gre:
      return 47;
    case Protocol::All:
      return -1;
  }
  return -1;
}

namespace {
template <class V, class T>
auto findById(V& v, std::string_view id) -> decltype(&v[0]) {
  auto it = std::find_if(v.begin(), v.end(), [&](const T& x) { return x.id == id; });
  return it == v.end() ? nullptr : &*it;
}
}  // namespace

SecurityGroup* Model::findGroup(std::string_view id) { return findById<decltype(groups), SecurityGroup>(groups, id); }
const SecurityGroup* Model::findGroup(std::string_view id) const {
  return findById<const decltype(groups), SecurityGroup>(groups, id);
}
const Eni* Model::findEni(std::string_view id) const { return findById<const decltype(enis), Eni>(enis, id); }
const PrefixList* Model::findPrefixList(std::string_view id) const {
  return findById<const decltype(prefixLists), PrefixList>(prefixLists, id);
}
const PortRangeList* Model::findPortRangeList(std::string_view id) const {
  return findById<const decltype(portRangeLists), PortRangeList>(portRangeLists, id);
}

namespace {
template <class Pred>
bool anyRule(const Model& m, Pred pred) {
  for (const auto& g : m.groups)
    for (const auto& r : g.rules)
      if (pred(r)) return true;
  return false;
}
}  // namespace

bool Model::isReferencedGroup(std::string_view id) const {
  return anyRule(*this, [&](const Rule& r) { return r.peer.kind == Peer::Kind::Group && r.peer.groupId == id; });
}
bool Model::isReferencedPrefixList(std::string_view id) const {
  return anyRule(*this,
                 [&](const Rule& r) { return r.peer.kind == Peer::Kind::PrefixList && r.peer.prefixListId == id; });
}
bool Model::isReferencedPortRangeList(std::string_view id) const {
  return anyRule(*this, [&](const Rule& r) { return !r.portRangeListId.empty() && r.portRangeListId == id; });
}

std::vector<DanglingReference> danglingReferences(const Model& m) {
  std::vector<DanglingReference> out;
  for (std::size_t gi = 0; gi < m.groups.size(); ++gi) {
    const auto& rules = m.groups[gi].rules;
    for (std::size_t ri = 0; ri < rules.size(); ++ri) {
      const Rule& r = rules[ri];
      const bool in = r.direction == Direction::Ingress;
      if (r.peer.kind == Peer::Kind::Group && m.findGroup(r.peer.groupId) == nullptr)
        out.push_back({gi, ri, in ? "SourceGroupId" : "DestGroupId", r.peer.groupId,
                       "group " + r.peer.groupId + " is not in the model, so this rule matches no traffic " +
                           (in ? "from" : "to") +
                           " its members (add its DescribeSecurityGroupAttribute under SecurityGroups and its "
                           "members under NetworkInterfaces)"});
      if (r.peer.kind == Peer::Kind::PrefixList && m.findPrefixList(r.peer.prefixListId) == nullptr)
        out.push_back({gi, ri, in ? "SourcePrefixListId" : "DestPrefixListId", r.peer.prefixListId,
                       "prefix list " + r.peer.prefixListId +
                           " is not in the model, so this rule matches no traffic (add its entries under "
                           "PrefixLists)"});
      if (!r.portRangeListId.empty() && m.findPortRangeList(r.portRangeListId) == nullptr)
        out.push_back({gi, ri, "PortRangeListId", r.portRangeListId,
                       "port range list " + r.portRangeListId +
                           " is not in the model, so this rule matches no traffic (add its entries under "
                           "PortRangeLists)"});
    }
  }
  return out;
}

std::vector<const Eni*> Model::membersOf(std::string_view groupId) const {
  std::vector<const Eni*> out;
  for (const auto& e : enis)
    if (std::find(e.groupIds.begin(), e.groupIds.end(), groupId) != e.groupIds.end()) out.push_back(&e);
  return out;
}

}  // namespace sgsim
