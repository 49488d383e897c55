#include "sgsim/model/describe.h"

namespace sgsim {

std::string describePeer(const Peer& peer) {
  switch (peer.kind) {
    case Peer::Kind::Cidr:
      return peer.cidr.toString();
    case Peer::Kind::Group:
      return "group " + peer.groupId;
    case Peer::Kind::PrefixList:
      return "prefix list " + peer.prefixListId;
  }
  return "?";
}

std::string describePorts(const Rule& rule) {
  if (rule.portRange) return rule.portRange->toString();
  if (!rule.portRangeListId.empty()) return "ports " + rule.portRangeListId;
  return "-1/-1";
}

std::string describeRule(const Rule& rule, Product product) {
  std::string s = rule.id.empty() ? std::string("(no id)") : rule.id;
  s += ' ';
  s += toString(rule.direction);
  s += ' ';
  s += toString(rule.protocol, product);
  s += ' ';
  s += describePorts(rule);
  if (rule.sourcePortRange) s += " sport " + rule.sourcePortRange->toString();
  s += rule.direction == Direction::Ingress ? " from " : " to ";
  s += describePeer(rule.peer);
  if (rule.local) s += " at " + rule.local->toString();
  s += ' ';
  s += toString(rule.policy);
  s += " prio " + std::to_string(rule.priority);
  return s;
}

}  // namespace sgsim
