#include "sgsim/verdict/network.h"

#include <algorithm>

#include "sgsim/model/order.h"

namespace sgsim {

const char* toString(Reason r) {
  switch (r) {
    case Reason::Rule:
      return "rule";
    case Reason::Default:
      return "default";
    case Reason::IntraGroup:
      return "intra-group";
    case Reason::Established:
      return "established";
    case Reason::Blocked:
      return "blocked";
    case Reason::Unmodeled:
      return "unmodeled";
    case Reason::NotIp:
      return "not-ip";
    case Reason::UnmatchedFragment:
      return "unmatched-fragment";
    case Reason::Undecodable:
      return "undecodable";
  }
  return "?";
}

const char* toString(Verdict v) {
  switch (v) {
    case Verdict::Accept:
      return "accept";
    case Verdict::Drop:
      return "drop";
    case Verdict::None:
      return "none";
  }
  return "?";
}

std::vector<RuleBox> ruleBoxes(const Model& model, const Rule& rule, std::uint32_t rank, std::uint32_t ruleIndex) {
  std::vector<Cidr> remote;
  switch (rule.peer.kind) {
    case Peer::Kind::Cidr:
      remote.push_back(rule.peer.cidr);
      break;
    case Peer::Kind::Group:
      // SEMANTICS §2: every address, IPv4 and IPv6, of the member ENIs.
      for (const Eni* e : model.membersOf(rule.peer.groupId))
        for (const IpAddr& a : e->addresses) remote.push_back(Cidr::of(a, a.bits()));
      break;
    case Peer::Kind::PrefixList:
      if (const PrefixList* pl = model.findPrefixList(rule.peer.prefixListId)) remote = pl->entries;
      break;
  }
  std::vector<PortRange> dports;
  if (rule.portRange) {
    dports.push_back(*rule.portRange);
  } else if (const PortRangeList* pl = model.findPortRangeList(rule.portRangeListId)) {
    dports = pl->entries;
  }
  const PortRange sport = rule.sourcePortRange.value_or(PortRange::anyPort());
  const int proto = protocolNumber(rule.protocol);

  std::vector<RuleBox> out;
  for (const Cidr& r : remote) {
    const Family f = r.family();
    // ICMP is IPv4 only, ICMPv6 IPv6 only; an IPv4 rule never matches an IPv6 packet (SEMANTICS §2).
    if ((rule.protocol == Protocol::Icmp && f != Family::V4) || (rule.protocol == Protocol::Icmpv6 && f != Family::V6))
      continue;
    if (rule.local && rule.local->family() != f) continue;
    const Cidr local = rule.local.value_or(Cidr::any(f));
    for (const PortRange& dp : dports) {
      RuleBox b;
      b.family = f;
      b.proto = static_cast<std::int16_t>(proto);
      b.src = rule.direction == Direction::Ingress ? r : local;
      b.dst = rule.direction == Direction::Ingress ? local : r;
      b.sportLo = sport.low();
      b.sportHi = sport.high();
      b.dportLo = dp.low();
      b.dportHi = dp.high();
      b.rank = rank;
      b.ruleIndex = ruleIndex;
      out.push_back(b);
    }
  }
  return out;
}

Network::Network(Model model) : model_(std::move(model)) {
  tables_.resize(model_.enis.size());
  for (std::size_t i = 0; i < model_.enis.size(); ++i) {
    const Eni& eni = model_.enis[i];
    for (const IpAddr& a : eni.addresses) {
      if (a.isV4())
        v4ToEni_.emplace(a.v4Value(), static_cast<std::int32_t>(i));
      else
        v6ToEni_.emplace(a, static_cast<std::int32_t>(i));
    }
    EniTable& t = tables_[i];
    for (Direction d : {Direction::Ingress, Direction::Egress}) {
      DirTable& dt = t.dir[dirIndex(d)];
      std::vector<RuleBox> boxes;
      const auto order = evaluationOrder(model_, eni, d);
      for (std::uint32_t k = 0; k < order.size(); ++k) {
        const OrderedRule& o = order[k];
        dt.refs.push_back(RuleRef{o.rule->id, o.group->id, o.rule->policy, o.rule});
        auto b = ruleBoxes(model_, *o.rule, k, k);
        boxes.insert(boxes.end(), b.begin(), b.end());
      }
      dt.classifier = std::make_unique<FastClassifier>(std::move(boxes));
      dt.hitInfo.reserve(dt.classifier->boxes().size());
      for (const RuleBox& b : dt.classifier->boxes())
        dt.hitInfo.push_back(b.ruleIndex << 1 | (dt.refs[b.ruleIndex].policy == Policy::Drop ? 1u : 0u));
    }
    for (const std::string& gid : eni.groupIds) {
      const SecurityGroup* g = model_.findGroup(gid);
      if (g == nullptr) continue;
      if (g->type == GroupType::Enterprise) {
        t.enterprise = true;
      } else if (g->innerAccessPolicy == Policy::Accept) {
        t.acceptGroups.push_back(static_cast<std::int32_t>(g - model_.groups.data()));
      }
    }
  }
}

std::int32_t Network::eniOf(const IpAddr& a) const {
  if (a.isV4()) {
    auto it = v4ToEni_.find(a.v4Value());
    return it == v4ToEni_.end() ? -1 : it->second;
  }
  auto it = v6ToEni_.find(a);
  return it == v6ToEni_.end() ? -1 : it->second;
}

std::int32_t Network::eniById(std::string_view id) const {
  for (std::size_t i = 0; i < model_.enis.size(); ++i)
    if (model_.enis[i].id == id) return static_cast<std::int32_t>(i);
  return -1;
}

Verdict Network::defaultVerdict(std::size_t eni, Direction d) const {
  if (tables_[eni].enterprise || d == Direction::Ingress) return Verdict::Drop;
  return Verdict::Accept;
}

std::int32_t Network::sharedAcceptGroup(std::size_t eniA, std::size_t eniB) const {
  // DECISION (README): an ENI's traffic to itself is not "between members"; only two different ENIs.
  if (eniA == eniB) return -1;
  for (std::int32_t g : tables_[eniA].acceptGroups) {
    const auto& other = tables_[eniB].acceptGroups;
    if (std::find(other.begin(), other.end(), g) != other.end()) return g;
  }
  return -1;
}

Decision Network::decide(std::size_t eni, Direction d, const PacketFields& p, std::int32_t peerEni) const {
  Decision out;
  if (peerEni >= 0) {
    std::int32_t g = sharedAcceptGroup(eni, static_cast<std::size_t>(peerEni));
    if (g >= 0) {
      out.verdict = Verdict::Accept;
      out.reason = Reason::IntraGroup;
      out.intraGroup = g;
      return out;
    }
  }
  const DirTable& dt = tables_[eni].dir[dirIndex(d)];
  std::uint32_t hit = dt.classifier->classify(p.key());
  if (hit != kNoMatch) {
    const std::uint32_t info = dt.hitInfo[hit];
    out.ruleRef = static_cast<std::int32_t>(info >> 1);
    out.verdict = (info & 1) ? Verdict::Drop : Verdict::Accept;
    out.reason = Reason::Rule;
    return out;
  }
  out.verdict = defaultVerdict(eni, d);
  out.reason = Reason::Default;
  return out;
}

}  // namespace sgsim
