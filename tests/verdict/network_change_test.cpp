// The after table's decisions derived from the before table's (verdict/network_change.h) against the after table
// deciding in full, on random dual-stack models and random changes: revokes, authorizes, modified rules, in groups
// that share ENIs, with ties of priority between accept and drop rules and rules whose peer is a group. Then the
// same through the what-if evaluator against two independent evaluators. Seeded: every run checks the same cases.
#include "sgsim/verdict/network_change.h"

#include <gtest/gtest.h>

#include <random>

#include "sgsim/verdict/evaluator.h"
#include "test_model.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

const char* const kEniAddrs[4][2] = {
    {"10.0.0.5", "2001:db8::5"}, {"10.0.0.6", "2001:db8::6"}, {"10.0.1.7", "2001:db8:1::7"}, {"10.0.2.8", "fd00::8"}};
const char* const kOtherAddrs[] = {"192.0.2.1",     "192.0.2.200",      "198.51.100.9",
                                   "2001:db8:2::1", "2001:db8:ffff::9", "fd00::1"};
const char* const kCidrs[] = {"0.0.0.0/0",           "10.0.0.0/8", "10.0.0.0/24",   "192.0.2.0/25",  "192.0.2.1/32",
                              "198.51.100.0/24",     "::/0",       "2001:db8::/32", "2001:db8::/64", "2001:db8:2::/48",
                              "2001:db8:ffff::9/128"};
const char* const kPorts[] = {"22/22", "80/80", "1/1024", "1000/2000", "443/443", "1/65535"};
const Protocol kProtos[] = {Protocol::Tcp, Protocol::Udp, Protocol::Icmp, Protocol::Icmpv6, Protocol::All};

struct Rng {
  std::mt19937 gen;
  int pick(int n) { return static_cast<int>(gen() % static_cast<unsigned>(n)); }
};

Rule randomRule(Rng& r, const std::string& id, int groups) {
  const Protocol pr = kProtos[r.pick(5)];
  const bool portless = pr == Protocol::Icmp || pr == Protocol::Icmpv6 || pr == Protocol::All;
  // Priorities 1-3 only: many ties, where drop must beat accept.
  Rule x = rule(id, r.pick(2) ? Direction::Ingress : Direction::Egress, pr, portless ? "-1/-1" : kPorts[r.pick(6)],
                kCidrs[r.pick(11)], r.pick(2) ? Policy::Drop : Policy::Accept, 1 + r.pick(3));
  if (r.pick(5) == 0) {
    x.peer = Peer{};
    x.peer.kind = Peer::Kind::Group;
    x.peer.groupId = "sg-" + std::to_string(r.pick(groups));
  }
  return x;
}

// Four groups on four dual-stack ENIs, each ENI in one to three of them (so a table mixes several groups' rules).
Model randomDualStackModel(Rng& r) {
  Model m;
  for (int gi = 0; gi < 4; ++gi) {
    SecurityGroup g = group("sg-" + std::to_string(gi), {}, r.pick(6) == 0 ? GroupType::Enterprise : GroupType::Normal,
                            r.pick(3) == 0 ? Policy::Drop : Policy::Accept);
    const int n = 3 + r.pick(12);
    for (int ri = 0; ri < n; ++ri)
      g.rules.push_back(randomRule(r, "sgr-" + std::to_string(gi) + "-" + std::to_string(ri), 4));
    m.groups.push_back(g);
  }
  m.enis.push_back(eni("eni-a", {kEniAddrs[0][0], kEniAddrs[0][1]}, {"sg-0", "sg-1", "sg-2"}));
  m.enis.push_back(eni("eni-b", {kEniAddrs[1][0], kEniAddrs[1][1]}, {"sg-1"}));
  m.enis.push_back(eni("eni-c", {kEniAddrs[2][0], kEniAddrs[2][1]}, {"sg-2", "sg-3"}));
  m.enis.push_back(eni("eni-d", {kEniAddrs[3][0], kEniAddrs[3][1]}, {"sg-3", "sg-0"}));
  return m;
}

// A request's effect on the rules: kind 0 revokes some, 1 authorizes some (appended, as AuthorizeSecurityGroup
// does, or anywhere), 2 does both and modifies some (policy, priority: a rule removed and another added).
Model randomChange(Model m, Rng& r, int kind, int& serial) {
  for (SecurityGroup& g : m.groups) {
    if (kind != 1) {
      std::vector<Rule> kept;
      for (Rule& x : g.rules) {
        const int roll = r.pick(6);
        if (roll == 0) continue;
        if (kind == 2 && roll == 1) x.policy = x.policy == Policy::Accept ? Policy::Drop : Policy::Accept;
        if (kind == 2 && roll == 2) x.priority = 1 + r.pick(3);
        kept.push_back(x);
      }
      g.rules = kept;
    }
    if (kind != 0) {
      const int n = r.pick(4);
      for (int i = 0; i < n; ++i) {
        Rule x = randomRule(r, "sgr-new-" + std::to_string(serial++), 4);
        const auto at =
            r.pick(2) ? g.rules.size() : static_cast<std::size_t>(r.pick(static_cast<int>(g.rules.size()) + 1));
        g.rules.insert(g.rules.begin() + static_cast<std::ptrdiff_t>(at), x);
      }
    }
  }
  return m;
}

PacketFields randomPacket(Rng& r) {
  const bool v6 = r.pick(2) == 0;
  auto addr = [&]() -> IpAddr {
    if (r.pick(3) == 0) {
      const char* a = kOtherAddrs[r.pick(6)];
      while (IpAddr::parse(a)->isV4() == v6) a = kOtherAddrs[r.pick(6)];
      return *IpAddr::parse(a);
    }
    return *IpAddr::parse(kEniAddrs[r.pick(4)][v6 ? 1 : 0]);
  };
  const std::uint8_t protos[] = {6, 6, 17, static_cast<std::uint8_t>(v6 ? 58 : 1), 47};
  const std::uint16_t ports[] = {22, 80, 443, 1500, 40000, 7};
  PacketFields p;
  p.proto = protos[r.pick(5)];
  p.src = addr();
  p.dst = addr();
  p.sport = ports[r.pick(6)];
  p.dport = ports[r.pick(6)];
  return p;
}

void expectSameDecision(const Decision& got, const Decision& want, int round, int packet) {
  ASSERT_EQ(got.verdict, want.verdict) << "round " << round << " packet " << packet;
  ASSERT_EQ(got.reason, want.reason) << "round " << round << " packet " << packet;
  ASSERT_EQ(got.ruleRef, want.ruleRef) << "round " << round << " packet " << packet;
  ASSERT_EQ(got.intraGroup, want.intraGroup) << "round " << round << " packet " << packet;
}

TEST(NetworkChange, DerivesEveryDecisionOfTheTableAfterExactly) {
  Rng r{std::mt19937(110711)};
  int serial = 0;
  // What the stream must exercise: each way a decision after can come about from one before.
  int kept = 0, addedWins = 0, defaultToAdded = 0, removed = 0, intraGroup = 0, derived = 0, checks = 0;
  for (int round = 0; round < 300; ++round) {
    const Model before = randomDualStackModel(r);
    const Model after = randomChange(before, r, round % 3, serial);
    const Network nb(before), na(after);
    const NetworkChange change(nb, na);
    for (std::size_t e = 0; e < na.eniCount(); ++e)
      for (Direction d : {Direction::Ingress, Direction::Egress}) derived += change.derives(e, d);
    for (int k = 0; k < 400; ++k) {
      const PacketFields p = randomPacket(r);
      const std::int32_t src = nb.eniOf(p.src), dst = nb.eniOf(p.dst);
      for (int at = 0; at < 2; ++at) {
        const std::int32_t eni = at == 0 ? src : dst;
        if (eni < 0) continue;
        const Direction d = at == 0 ? Direction::Egress : Direction::Ingress;
        const std::int32_t peer = at == 0 ? dst : src;
        const auto u = static_cast<std::size_t>(eni);
        const Decision was = nb.decide(u, d, p, peer);
        const Decision want = na.decide(u, d, p, peer);
        expectSameDecision(change.decide(u, d, p, peer, was), want, round, k);
        if (::testing::Test::HasFatalFailure()) return;
        ++checks;
        if (was.reason == Reason::IntraGroup) {
          ++intraGroup;
        } else if (was.reason == Reason::Rule) {
          const RuleRef& w = nb.rules(u, d)[static_cast<std::size_t>(was.ruleRef)];
          bool stays = false;
          for (const RuleRef& x : na.rules(u, d)) stays = stays || (x.ruleId == w.ruleId && *x.rule == *w.rule);
          if (!stays)
            ++removed;
          else if (want.reason == Reason::Rule &&
                   na.rules(u, d)[static_cast<std::size_t>(want.ruleRef)].ruleId != w.ruleId)
            ++addedWins;
          else
            ++kept;
        } else if (want.reason == Reason::Rule) {
          ++defaultToAdded;
        }
      }
    }
  }
  EXPECT_EQ(derived, 300 * 4 * 2);  // the models differ in rules only: every check is derived
  EXPECT_GT(checks, 100000);
  EXPECT_GT(kept, 20000);
  EXPECT_GT(addedWins, 500);
  EXPECT_GT(defaultToAdded, 500);
  EXPECT_GT(removed, 2000);
  EXPECT_GT(intraGroup, 2000);
}

TEST(NetworkChange, DecidesInFullWhenTheModelsDifferBeyondRules) {
  Rng r{std::mt19937(20261207)};
  int serial = 0;
  for (int round = 0; round < 60; ++round) {
    const Model before = randomDualStackModel(r);
    Model after = randomChange(before, r, round % 3, serial);
    switch (round % 3) {
      case 0:  // a group's inner policy: intra-group accepts come and go
        after.groups[1].innerAccessPolicy =
            after.groups[1].innerAccessPolicy == Policy::Accept ? Policy::Drop : Policy::Accept;
        break;
      case 1:  // an ENI's groups in another order: ties between groups resolve the other way
        std::swap(after.enis[0].groupIds[0], after.enis[0].groupIds[2]);
        break;
      default:  // a member more: rules whose peer is that group match it
        after.enis[1].groupIds.push_back("sg-3");
        break;
    }
    const Network nb(before), na(after);
    const NetworkChange change(nb, na);
    for (int k = 0; k < 300; ++k) {
      const PacketFields p = randomPacket(r);
      const std::int32_t eni = nb.eniOf(p.dst);
      if (eni < 0) continue;
      const auto u = static_cast<std::size_t>(eni);
      EXPECT_FALSE(change.derives(u, Direction::Ingress));
      const std::int32_t peer = nb.eniOf(p.src);
      expectSameDecision(change.decide(u, Direction::Ingress, p, peer, nb.decide(u, Direction::Ingress, p, peer)),
                         na.decide(u, Direction::Ingress, p, peer), round, k);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(NetworkChange, ADuplicateRuleIdIsNotPairedButStillDecidedExactly) {
  Model before;
  before.groups.push_back(
      group("sg-0", {rule("sgr-x", Direction::Ingress, Protocol::Tcp, "22/22", "0.0.0.0/0"),
                     rule("sgr-x", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0", Policy::Drop)}));
  before.enis.push_back(eni("eni-a", {"10.0.0.5"}, {"sg-0"}));
  Model after = before;
  after.groups[0].rules.erase(after.groups[0].rules.begin());
  const Network nb(before), na(after);
  const NetworkChange change(nb, na);
  EXPECT_FALSE(change.derives(0, Direction::Ingress));
  EXPECT_TRUE(change.derives(0, Direction::Egress));
  const PacketFields p{6, *IpAddr::parse("192.0.2.1"), *IpAddr::parse("10.0.0.5"), 40000, 80};
  expectSameDecision(change.decide(0, Direction::Ingress, p, -1, nb.decide(0, Direction::Ingress, p, -1)),
                     na.decide(0, Direction::Ingress, p, -1), 0, 0);
}

// The what-if evaluator with derived decisions (with and without plans made ahead, with the change from the start
// or at an instant) against two independent evaluators, on dual-stack traffic between the ENIs and outside.
TEST(NetworkChange, WhatIfEvaluatorDecidesLikeTwoIndependentEvaluators) {
  Rng r{std::mt19937(7031)};
  int serial = 0;
  int differ = 0, stateful = 0;
  for (int round = 0; round < 60; ++round) {
    const Model before = randomDualStackModel(r);
    const Model after = randomChange(before, r, round % 3, serial);
    auto nb = std::make_shared<const Network>(before);
    auto na = std::make_shared<const Network>(after);
    const bool at = round % 4 == 3;
    BasicEvaluator<2> paired({nb, at ? nb : na}, {});
    BasicEvaluator<2> planned({nb, at ? nb : na}, {});
    const BasicPlanner<2> planner = planned.planner();
    Evaluator one(nb, {});
    Evaluator two(at ? nb : na, {});
    std::vector<PacketKey> sent;
    std::int64_t now = 0;
    bool switched = false;
    for (int k = 0; k < 500; ++k) {
      now += sec(0.01 * r.pick(100));
      if (at && !switched && now >= sec(100)) {
        EXPECT_EQ(paired.replaceNetwork(1, na, now, false), two.replaceNetwork(na, now, false));
        planned.replaceNetwork(1, na, now, false);
        switched = true;
      }
      PacketKey p;
      if (!sent.empty() && r.pick(2) == 0) {
        p = sent[static_cast<std::size_t>(r.pick(static_cast<int>(sent.size())))];
        if (r.pick(2)) p = reversed(p);
        p.tcpFlags = p.proto == 6 ? (r.pick(8) == 0 ? kFin | kAck : kAck) : 0;
      } else {
        const PacketFields f = randomPacket(r);
        p = pkt(f.src.toString(), f.sport, f.dst.toString(), f.dport, f.proto, kSyn);
        sent.push_back(p);
      }
      BasicEvaluator<2>::Verdicts got, viaPlan;
      paired.evaluate(p, now, got);
      BasicPacketPlan<2> plan;
      planner.plan(p, plan, r.pick(2) == 0);
      planned.evaluate(p, plan, now, viaPlan);
      const PacketVerdict want[2] = {one.evaluate(p, now), two.evaluate(p, now)};
      for (int s = 0; s < 2; ++s)
        for (const PacketVerdict* v : {&got[s], &viaPlan[s]}) {
          ASSERT_EQ(v->verdict, want[s].verdict) << "round " << round << " packet " << k << " side " << s;
          ASSERT_EQ(v->reason, want[s].reason) << "round " << round << " packet " << k << " side " << s;
          ASSERT_EQ(v->checkCount, want[s].checkCount) << "round " << round << " packet " << k;
          for (int i = 0; i < v->checkCount; ++i) {
            ASSERT_EQ(v->checks[i].ruleRef, want[s].checks[i].ruleRef) << "round " << round << " packet " << k;
            ASSERT_EQ(v->checks[i].reason, want[s].checks[i].reason) << "round " << round << " packet " << k;
            ASSERT_EQ(v->checks[i].intraGroup, want[s].checks[i].intraGroup) << "round " << round << " packet " << k;
          }
        }
      differ += got[0].verdict != got[1].verdict;
      stateful += got[1].reason == Reason::Established || got[1].reason == Reason::Blocked;
    }
  }
  EXPECT_GT(differ, 500);
  EXPECT_GT(stateful, 5000);
}

}  // namespace
}  // namespace sgsim
