// Network::decide (rules flattened into classifier boxes) against a plain reference that walks the model's
// rules in evaluation order and matches each field of the rule directly (SEMANTICS §2, §3).
#include "sgsim/verdict/network.h"

#include <gtest/gtest.h>

#include <random>

#include "sgsim/model/order.h"
#include "test_model.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

bool peerContains(const Model& m, const Rule& r, const IpAddr& a) {
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

bool referenceMatches(const Model& m, const Rule& r, const PacketFields& p) {
  const int proto = protocolNumber(r.protocol);
  if (proto >= 0 && proto != p.proto) return false;
  if (r.protocol == Protocol::Icmp && !p.src.isV4()) return false;
  if (r.protocol == Protocol::Icmpv6 && p.src.isV4()) return false;
  const bool in = r.direction == Direction::Ingress;
  const IpAddr& remote = in ? p.src : p.dst;
  const IpAddr& local = in ? p.dst : p.src;
  if (!peerContains(m, r, remote)) return false;
  if (r.local && !r.local->contains(local)) return false;
  if (r.sourcePortRange && !r.sourcePortRange->matches(p.sport)) return false;
  if (r.portRange) return r.portRange->matches(p.dport);
  const PortRangeList* pl = m.findPortRangeList(r.portRangeListId);
  if (pl == nullptr) return false;
  for (const PortRange& pr : pl->entries)
    if (pr.matches(p.dport)) return true;
  return false;
}

// Returns the winning rule id, "" for the default, "intra" for the intra-group accept.
std::string reference(const Model& m, std::size_t eni, Direction d, const PacketFields& p, std::int32_t peer) {
  if (peer >= 0 && static_cast<std::size_t>(peer) != eni) {
    for (const auto& g1 : m.enis[eni].groupIds)
      for (const auto& g2 : m.enis[peer].groupIds) {
        const SecurityGroup* g = m.findGroup(g1);
        if (g1 == g2 && g && g->type == GroupType::Normal && g->innerAccessPolicy == Policy::Accept) return "intra";
      }
  }
  for (const OrderedRule& o : evaluationOrder(m, m.enis[eni], d))
    if (referenceMatches(m, *o.rule, p)) return o.rule->id;
  return "";
}

TEST(Network, AgreesWithDirectRuleMatchingOnRandomTables) {
  std::mt19937 rng(20261123);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* addrs4[] = {"10.0.0.5", "10.0.0.6", "10.0.1.7", "192.0.2.1", "192.0.2.200", "198.51.100.9"};
  const char* addrs6[] = {"2001:db8::5", "2001:db8::6", "2001:db8:1::7", "2001:db8:ff::1"};
  const char* cidrs4[] = {"0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/24", "192.0.2.0/25", "192.0.2.1/32", "198.51.100.0/24"};
  const char* cidrs6[] = {"::/0", "2001:db8::/32", "2001:db8::/64", "2001:db8:ff::1/128"};
  const char* ports[] = {"22/22", "80/80", "1/1024", "1000/2000", "-1/-1", "443/443"};
  const Protocol protos[] = {Protocol::Tcp,    Protocol::Udp, Protocol::Icmp,
                             Protocol::Icmpv6, Protocol::Gre, Protocol::All};
  const std::uint8_t protoNums[] = {6, 17, 1, 58, 47, 132};
  const std::uint16_t portSamples[] = {0, 1, 22, 80, 443, 1000, 1500, 2000, 2001, 65535};

  for (int round = 0; round < 60; ++round) {
    Model m;
    m.prefixLists.push_back(
        PrefixList{"pl-1", "", Family::V4, {*Cidr::parse("192.0.2.0/24"), *Cidr::parse("10.0.1.0/24")}});
    m.portRangeLists.push_back(
        PortRangeList{"prl-1", "", {*PortRange::parse("80/80"), *PortRange::parse("1500/1600")}});
    for (int gi = 0; gi < 3; ++gi) {
      SecurityGroup g =
          group("sg-" + std::to_string(gi), {}, GroupType::Normal, pick(3) == 0 ? Policy::Drop : Policy::Accept);
      const int n = 1 + pick(12);
      for (int ri = 0; ri < n; ++ri) {
        const bool v6 = pick(4) == 0;
        const Protocol pr = protos[pick(6)];
        const bool portless = pr != Protocol::Tcp && pr != Protocol::Udp;
        Rule r =
            rule("sgr-" + std::to_string(gi) + "-" + std::to_string(ri),
                 pick(2) ? Direction::Ingress : Direction::Egress, pr, portless ? "-1/-1" : ports[pick(6)],
                 v6 ? cidrs6[pick(4)] : cidrs4[pick(6)], pick(3) == 0 ? Policy::Drop : Policy::Accept, 1 + pick(4));
        const int peerKind = pick(6);
        if (peerKind == 0) {
          r.peer = Peer{};
          r.peer.kind = Peer::Kind::Group;
          r.peer.groupId = "sg-" + std::to_string(pick(3));
        } else if (peerKind == 1) {
          r.peer = Peer{};
          r.peer.kind = Peer::Kind::PrefixList;
          r.peer.prefixListId = "pl-1";
        }
        if (!portless && pick(5) == 0) {
          r.portRange.reset();
          r.portRangeListId = "prl-1";
        }
        if (!portless && pick(5) == 0) r.sourcePortRange = *PortRange::parse("1000/60000");
        if (pick(6) == 0) r.local = *Cidr::parse(v6 ? "2001:db8::/64" : "10.0.0.0/24");
        g.rules.push_back(r);
      }
      m.groups.push_back(g);
    }
    m.enis.push_back(eni("eni-a", {"10.0.0.5", "2001:db8::5"}, {"sg-0", "sg-1"}));
    m.enis.push_back(eni("eni-b", {"10.0.0.6", "2001:db8::6"}, {"sg-1"}));
    m.enis.push_back(eni("eni-c", {"10.0.1.7", "2001:db8:1::7"}, {"sg-2", "sg-0"}));
    Network net(m);

    for (int k = 0; k < 400; ++k) {
      const bool v6 = pick(3) == 0;
      PacketFields p;
      p.proto = protoNums[pick(6)];
      p.src = *IpAddr::parse(v6 ? addrs6[pick(4)] : addrs4[pick(6)]);
      p.dst = *IpAddr::parse(v6 ? addrs6[pick(4)] : addrs4[pick(6)]);
      p.sport = portSamples[pick(10)];
      p.dport = portSamples[pick(10)];
      const std::size_t e = static_cast<std::size_t>(pick(3));
      const Direction d = pick(2) ? Direction::Ingress : Direction::Egress;
      const std::int32_t peer = net.eniOf(d == Direction::Ingress ? p.src : p.dst);
      const Decision got = net.decide(e, d, p, peer);
      const std::string want = reference(m, e, d, p, peer);
      std::string gotId;
      if (got.reason == Reason::IntraGroup) gotId = "intra";
      if (got.reason == Reason::Rule) gotId = net.rules(e, d)[got.ruleRef].ruleId;
      ASSERT_EQ(gotId, want) << "round " << round << " packet " << k;
      if (got.reason == Reason::Default) {
        EXPECT_EQ(got.verdict, net.defaultVerdict(e, d));
      }
    }
  }
}

TEST(Network, GroupPeerMatchesEveryAddressOfEveryMember) {
  Model m;
  m.groups.push_back(group("sg-db", {groupRule("sgr-db", Direction::Ingress, Protocol::Tcp, "3306/3306", "sg-app")}));
  m.groups.push_back(group("sg-app", {}));
  m.enis.push_back(eni("eni-db", {"10.0.1.7", "2001:db8:1::7"}, {"sg-db"}));
  m.enis.push_back(eni("eni-app1", {"10.0.0.6", "2001:db8::6"}, {"sg-app"}));
  m.enis.push_back(eni("eni-app2", {"10.0.0.8"}, {"sg-app"}));
  Network net(m);
  for (const char* a : {"10.0.0.6", "2001:db8::6", "10.0.0.8"}) {
    const IpAddr src = *IpAddr::parse(a);
    PacketFields p{6, src, *IpAddr::parse(src.isV4() ? "10.0.1.7" : "2001:db8:1::7"), 5000, 3306};
    EXPECT_EQ(net.decide(0, Direction::Ingress, p, -1).reason, Reason::Rule) << a;
  }
  PacketFields stranger{6, *IpAddr::parse("10.0.0.9"), *IpAddr::parse("10.0.1.7"), 5000, 3306};
  EXPECT_EQ(net.decide(0, Direction::Ingress, stranger, -1).reason, Reason::Default);
}

}  // namespace
}  // namespace sgsim
