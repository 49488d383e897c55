#pragma once
// Brute-force oracles for the header-space tests: packets sampled from the model's own boundaries (every CIDR and
// port range end, ±1, the ENIs' addresses) and at random, decided by Network::decide; a direct rule matcher; a
// model with one rule taken out.

#include <random>
#include <string>
#include <vector>

#include "sgsim/model/order.h"
#include "sgsim/verdict/header_space.h"
#include "sgsim/verdict/network.h"

namespace sgsim::testing {

// SEMANTICS §2, field by field, independent of ruleBoxes.
inline bool peerHolds(const Model& m, const Rule& r, const IpAddr& a) {
  switch (r.peer.kind) {
    case Peer::Kind::Cidr:
      return r.peer.cidr.contains(a);
    case Peer::Kind::Group:
      for (const Eni* e : m.membersOf(r.peer.groupId))
        for (const IpAddr& x : e->addresses)
          if (x == a) return true;
      return false;
    case Peer::Kind::PrefixList:
      if (const PrefixList* pl = m.findPrefixList(r.peer.prefixListId))
        for (const Cidr& c : pl->entries)
          if (c.contains(a)) return true;
      return false;
  }
  return false;
}

inline bool ruleMatches(const Model& m, const Rule& r, Direction d, const PacketFields& p) {
  const int proto = protocolNumber(r.protocol);
  if (proto >= 0 && proto != p.proto) return false;
  if (r.protocol == Protocol::Icmp && !p.src.isV4()) return false;
  if (r.protocol == Protocol::Icmpv6 && p.src.isV4()) return false;
  const IpAddr& remote = d == Direction::Ingress ? p.src : p.dst;
  const IpAddr& local = d == Direction::Ingress ? p.dst : p.src;
  if (!peerHolds(m, r, remote)) return false;
  if (r.local && !r.local->contains(local)) return false;
  if (r.sourcePortRange && !r.sourcePortRange->matches(p.sport)) return false;
  if (r.portRange) return r.portRange->matches(p.dport);
  const PortRangeList* pl = m.findPortRangeList(r.portRangeListId);
  if (pl == nullptr) return false;
  for (const PortRange& pr : pl->entries)
    if (pr.matches(p.dport)) return true;
  return false;
}

inline Decision decideAt(const Network& net, std::size_t eni, Direction d, const PacketFields& p) {
  return net.decide(eni, d, p, net.eniOf(d == Direction::Ingress ? p.src : p.dst));
}

inline bool sameDecider(const HsDecider& h, const Decision& dec) {
  if (h.verdict != dec.verdict) return false;
  switch (h.kind) {
    case HsDecider::Kind::Rule:
      return dec.reason == Reason::Rule && dec.ruleRef == h.ruleRef;
    case HsDecider::Kind::IntraGroup:
      return dec.reason == Reason::IntraGroup && dec.intraGroup == h.group;
    case HsDecider::Kind::Default:
      return dec.reason == Reason::Default;
  }
  return false;
}

// A decider's name that survives taking a rule out (rule indexes shift).
inline std::string nameOf(const Network& net, std::size_t eni, Direction d, const Decision& dec) {
  switch (dec.reason) {
    case Reason::Rule: {
      const RuleRef& r = net.rules(eni, d)[static_cast<std::size_t>(dec.ruleRef)];
      return "rule " + r.groupId + "/" + r.ruleId;
    }
    case Reason::IntraGroup:
      return "intra " + net.model().groups[static_cast<std::size_t>(dec.intraGroup)].id;
    default:
      return std::string("default ") + toString(dec.verdict);
  }
}
inline std::string nameOf(const Network& net, std::size_t eni, Direction d, const HsDecider& h) {
  switch (h.kind) {
    case HsDecider::Kind::Rule: {
      const RuleRef& r = net.rules(eni, d)[static_cast<std::size_t>(h.ruleRef)];
      return "rule " + r.groupId + "/" + r.ruleId;
    }
    case HsDecider::Kind::IntraGroup:
      return "intra " + net.model().groups[static_cast<std::size_t>(h.group)].id;
    default:
      return std::string("default ") + toString(h.verdict);
  }
}

// The model of `net` without rule `ruleRef` of (eni, d).
inline Model withoutRule(const Network& net, std::size_t eni, Direction d, std::size_t ruleRef) {
  const Rule* target = net.rules(eni, d)[ruleRef].rule;
  Model m = net.model();
  for (std::size_t g = 0; g < net.model().groups.size(); ++g) {
    const auto& rules = net.model().groups[g].rules;
    for (std::size_t r = 0; r < rules.size(); ++r)
      if (&rules[r] == target) {
        m.groups[g].rules.erase(m.groups[g].rules.begin() + static_cast<std::ptrdiff_t>(r));
        return m;
      }
  }
  return m;
}

// Packets at (eni, d) of one family: boundary values of every CIDR, port range and ENI address of the model
// (±1), values inside every rule box, and uniform random values.
class Sampler {
 public:
  Sampler(const Model& m, std::uint32_t seed) : rng_(seed) {
    auto addCidr = [&](const Cidr& c) {
      const HsValue lo = hsValueOf(c.base), hi = hsValueOf(c.last());
      auto& v = c.family() == Family::V4 ? v4_ : v6_;
      for (HsValue x : {lo, hi}) v.push_back(x);
      if (lo > 0) v.push_back(lo - 1);
      if (hi + 1 != 0 && (c.family() == Family::V6 || hi < 0xFFFFFFFFu)) v.push_back(hi + 1);
      if (hi > lo) v.push_back(lo + 1);
    };
    auto addPorts = [&](const PortRange& r) {
      for (int x : {static_cast<int>(r.low()) - 1, static_cast<int>(r.low()), static_cast<int>(r.high()),
                    static_cast<int>(r.high()) + 1})
        if (x >= 0 && x <= 65535) ports_.push_back(static_cast<std::uint16_t>(x));
    };
    for (const SecurityGroup& g : m.groups)
      for (const Rule& r : g.rules) {
        if (r.peer.kind == Peer::Kind::Cidr) addCidr(r.peer.cidr);
        if (r.local) addCidr(*r.local);
        if (r.portRange) addPorts(*r.portRange);
        if (r.sourcePortRange) addPorts(*r.sourcePortRange);
      }
    for (const PrefixList& pl : m.prefixLists)
      for (const Cidr& c : pl.entries) addCidr(c);
    for (const PortRangeList& pl : m.portRangeLists)
      for (const PortRange& r : pl.entries) addPorts(r);
    for (const Eni& e : m.enis)
      for (const IpAddr& a : e.addresses) addCidr(Cidr::of(a, a.bits()));
    ports_.insert(ports_.end(), {0, 1, 22, 80, 443, 3389, 40000, 65535});
    v4_.insert(v4_.end(), {0, 0xFFFFFFFFu});
    v6_.insert(v6_.end(), {0, ~static_cast<HsValue>(0)});
  }

  PacketFields packet(const std::vector<IpAddr>& local, Direction d, Family f) {
    PacketFields p;
    static const std::uint8_t protos[] = {0, 1, 6, 17, 47, 58, 132, 255};
    p.proto = coin(5) ? static_cast<std::uint8_t>(rng_()) : protos[rng_() % 8];
    const auto& cand = f == Family::V4 ? v4_ : v6_;
    HsValue peer;
    if (coin(5)) {
      peer = f == Family::V4 ? static_cast<HsValue>(rng_()) : (static_cast<HsValue>(wide()) << 64 | wide());
    } else {
      peer = cand[rng_() % cand.size()];
    }
    const IpAddr pa = hsAddrOf(f, peer);
    const IpAddr la = local[rng_() % local.size()];
    p.src = d == Direction::Ingress ? pa : la;
    p.dst = d == Direction::Ingress ? la : pa;
    p.sport = port();
    p.dport = port();
    return p;
  }
  std::mt19937& rng() { return rng_; }

 private:
  bool coin(unsigned oneIn) { return rng_() % oneIn == 0; }
  std::uint64_t wide() { return static_cast<std::uint64_t>(rng_()) << 32 | rng_(); }
  std::uint16_t port() { return coin(4) ? static_cast<std::uint16_t>(rng_()) : ports_[rng_() % ports_.size()]; }
  std::mt19937 rng_;
  std::vector<HsValue> v4_, v6_;
  std::vector<std::uint16_t> ports_;
};

inline std::vector<IpAddr> localOf(const Network& net, std::size_t eni, Family f) {
  std::vector<IpAddr> out;
  for (const IpAddr& a : net.eni(eni).addresses)
    if (a.family == f) out.push_back(a);
  return out;
}

// A point inside a region (a corner when `corner` holds bits: each coordinate its set's low or high end).
inline PacketFields pointIn(const HeaderRegion& r, Direction d, std::mt19937& rng, int corner = -1) {
  auto value = [&](const HsSet& s, int bit) -> HsValue {
    const HsInterval& i = s[rng() % s.size()];
    if (corner >= 0) return (corner >> bit & 1) ? i.hi : i.lo;
    if (i.hi == i.lo) return i.lo;
    const HsValue span = i.hi - i.lo;
    const HsValue x = static_cast<HsValue>(rng()) << 96 | static_cast<HsValue>(rng()) << 64 |
                      static_cast<HsValue>(rng()) << 32 | rng();
    return i.lo + (span == ~static_cast<HsValue>(0) ? x : x % (span + 1));
  };
  PacketFields p;
  p.proto = static_cast<std::uint8_t>(value(r.proto, 0));
  const IpAddr peer = hsAddrOf(r.family, value(r.peer, 1));
  const IpAddr local = r.local[corner >= 0 ? ((corner >> 2 & 1) ? r.local.size() - 1 : 0) : rng() % r.local.size()];
  p.src = d == Direction::Ingress ? peer : local;
  p.dst = d == Direction::Ingress ? local : peer;
  p.sport = static_cast<std::uint16_t>(value(r.sport, 3));
  p.dport = static_cast<std::uint16_t>(value(r.dport, 4));
  return p;
}

}  // namespace sgsim::testing
