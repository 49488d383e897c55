#pragma once
// Small builders for models and packets used by the verdict tests.

#include <string>

#include "sgsim/decode/packet_key.h"
#include "sgsim/model/model.h"

namespace sgsim::testing {

inline Rule rule(const std::string& id, Direction d, Protocol p, const std::string& ports, const std::string& peer,
                 Policy pol = Policy::Accept, int prio = 1) {
  Rule r;
  r.id = id;
  r.direction = d;
  r.protocol = p;
  r.portRange = *PortRange::parse(ports);
  r.peer.kind = Peer::Kind::Cidr;
  r.peer.cidr = *Cidr::parse(peer);
  r.policy = pol;
  r.priority = prio;
  return r;
}

inline Rule groupRule(const std::string& id, Direction d, Protocol p, const std::string& ports,
                      const std::string& groupId, Policy pol = Policy::Accept, int prio = 1) {
  Rule r = rule(id, d, p, ports, "0.0.0.0/0", pol, prio);
  r.peer = Peer{};
  r.peer.kind = Peer::Kind::Group;
  r.peer.groupId = groupId;
  return r;
}

inline SecurityGroup group(const std::string& id, std::vector<Rule> rules, GroupType t = GroupType::Normal,
                           Policy inner = Policy::Accept) {
  SecurityGroup g;
  g.id = id;
  g.type = t;
  g.innerAccessPolicy = inner;
  g.rules = std::move(rules);
  return g;
}

inline Eni eni(const std::string& id, std::vector<std::string> addrs, std::vector<std::string> groups) {
  Eni e;
  e.id = id;
  for (auto& a : addrs) e.addresses.push_back(*IpAddr::parse(a));
  e.groupIds = std::move(groups);
  return e;
}

constexpr std::uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kRst = 0x04;

inline PacketKey pkt(const std::string& src, std::uint16_t sport, const std::string& dst, std::uint16_t dport,
                     std::uint8_t proto = 6, std::uint8_t flags = kAck) {
  PacketKey k;
  k.status = DecodeStatus::Ok;
  k.src = *IpAddr::parse(src);
  k.dst = *IpAddr::parse(dst);
  k.family = k.src.family;
  k.proto = proto;
  k.sport = sport;
  k.dport = dport;
  k.tcpFlags = proto == 6 ? flags : 0;
  return k;
}

inline PacketKey reversed(PacketKey k) {
  std::swap(k.src, k.dst);
  std::swap(k.sport, k.dport);
  return k;
}

constexpr std::int64_t sec(double s) { return static_cast<std::int64_t>(s * 1e9); }

}  // namespace sgsim::testing
