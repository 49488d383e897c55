#pragma once
// Small builders for models and packets used by the verdict tests.

#include <random>
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

// Three groups of 2-11 random rules (CIDR and group peers, every protocol, both policies, a few priorities) on
// three ENIs (10.0.0.5 in sg-0 and sg-1, 10.0.0.6 in sg-1, 10.0.1.7 in sg-2).
inline Model randomModel(std::mt19937& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* cidrs[] = {"0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/24", "192.0.2.0/25", "192.0.2.1/32", "198.51.100.0/24"};
  const char* ports[] = {"22/22", "80/80", "1/1024", "1000/2000", "443/443"};
  const Protocol protos[] = {Protocol::Tcp, Protocol::Udp, Protocol::Icmp, Protocol::All};
  Model m;
  for (int gi = 0; gi < 3; ++gi) {
    SecurityGroup g =
        group("sg-" + std::to_string(gi), {}, GroupType::Normal, pick(3) == 0 ? Policy::Drop : Policy::Accept);
    const int n = 2 + pick(10);
    for (int ri = 0; ri < n; ++ri) {
      const Protocol pr = protos[pick(4)];
      const bool portless = pr == Protocol::Icmp || pr == Protocol::All;
      Rule r = rule("sgr-" + std::to_string(gi) + "-" + std::to_string(ri),
                    pick(2) ? Direction::Ingress : Direction::Egress, pr, portless ? "-1/-1" : ports[pick(5)],
                    cidrs[pick(6)], pick(3) == 0 ? Policy::Drop : Policy::Accept, 1 + pick(3));
      if (pick(6) == 0) {
        r.peer = Peer{};
        r.peer.kind = Peer::Kind::Group;
        r.peer.groupId = "sg-" + std::to_string(pick(3));
      }
      g.rules.push_back(r);
    }
    m.groups.push_back(g);
  }
  m.enis.push_back(eni("eni-a", {"10.0.0.5"}, {"sg-0", "sg-1"}));
  m.enis.push_back(eni("eni-b", {"10.0.0.6"}, {"sg-1"}));
  m.enis.push_back(eni("eni-c", {"10.0.1.7"}, {"sg-2"}));
  return m;
}

}  // namespace sgsim::testing
