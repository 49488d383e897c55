// Header-space analysis against brute force: on seeded random models (IPv4 and IPv6, group peers, prefix lists,
// port range lists, five-tuple narrowing, intra-group policies, a dangling reference), every decision map, every
// audit finding and every space diff is checked by deciding sampled packets with Network::decide — packets at the
// model's own boundaries, inside every region (corners included) and at random — and every witness is decided to
// see that it shows what it claims.
#include "sgsim/verdict/header_space.h"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "hs_check.h"
#include "test_model.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

Model randomHsModel(std::mt19937& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* cidrs4[] = {"0.0.0.0/0",    "10.0.0.0/8",   "10.0.0.0/24",     "10.0.0.4/30",
                          "192.0.2.0/25", "192.0.2.1/32", "198.51.100.0/24", "10.0.0.6/32"};
  const char* cidrs6[] = {"::/0", "2001:db8::/32", "2001:db8::/64", "2001:db8:ff::1/128", "2001:db8::6/127"};
  const char* ports[] = {"22/22", "80/80", "1/1024", "1000/2000", "443/443", "1/65535", "3306/3306"};
  const bool enterprise = pick(6) == 0;
  Model m;
  m.prefixLists.push_back(
      PrefixList{"pl-4", "", Family::V4, {*Cidr::parse("192.0.2.0/24"), *Cidr::parse("10.0.1.0/24")}});
  m.prefixLists.push_back(
      PrefixList{"pl-6", "", Family::V6, {*Cidr::parse("2001:db8:1::/48"), *Cidr::parse("2001:db8::5/128")}});
  m.prefixLists.push_back(PrefixList{"pl-any", "", Family::V4, {*Cidr::parse("0.0.0.0/0")}});
  m.portRangeLists.push_back(PortRangeList{"prl-1", "", {*PortRange::parse("80/80"), *PortRange::parse("1500/1600")}});
  for (int gi = 0; gi < 3; ++gi) {
    SecurityGroup g = group("sg-" + std::to_string(gi), {}, enterprise ? GroupType::Enterprise : GroupType::Normal,
                            pick(3) == 0 ? Policy::Drop : Policy::Accept);
    const int n = 1 + pick(9);
    for (int ri = 0; ri < n; ++ri) {
      const bool v6 = pick(3) == 0;
      Protocol pr;
      switch (pick(7)) {
        case 0:
        case 1:
          pr = Protocol::Tcp;
          break;
        case 2:
          pr = Protocol::Udp;
          break;
        case 3:
          pr = v6 ? Protocol::Icmpv6 : Protocol::Icmp;
          break;
        case 4:
          pr = Protocol::Gre;
          break;
        default:
          pr = Protocol::All;
      }
      const bool portless = pr != Protocol::Tcp && pr != Protocol::Udp;
      Rule r = rule("sgr-" + std::to_string(gi) + "-" + std::to_string(ri),
                    pick(2) ? Direction::Ingress : Direction::Egress, pr, portless ? "-1/-1" : ports[pick(7)],
                    v6 ? cidrs6[pick(5)] : cidrs4[pick(8)], pick(3) == 0 ? Policy::Drop : Policy::Accept, 1 + pick(4));
      const int peerKind = pick(10);
      if (peerKind <= 1 && !portless) {
        r.peer = Peer{};
        r.peer.kind = Peer::Kind::Group;
        r.peer.groupId = "sg-" + std::to_string(pick(3));
      } else if (peerKind == 2) {
        r.peer = Peer{};
        r.peer.kind = Peer::Kind::PrefixList;
        r.peer.prefixListId = v6 ? "pl-6" : (pick(3) == 0 ? "pl-any" : "pl-4");
        if (pr == Protocol::Icmpv6 || pr == Protocol::Icmp) r.protocol = v6 ? Protocol::Icmpv6 : Protocol::Icmp;
      } else if (peerKind == 3 && pick(3) == 0) {
        r.peer = Peer{};
        r.peer.kind = Peer::Kind::PrefixList;
        r.peer.prefixListId = "pl-missing";
      }
      if (!portless && pick(5) == 0) {
        r.portRange.reset();
        r.portRangeListId = "prl-1";
      }
      if (!portless && pick(6) == 0) r.sourcePortRange = *PortRange::parse("1000/60000");
      if (pick(6) == 0 && r.peer.kind == Peer::Kind::Cidr)
        r.local = *Cidr::parse(v6 ? "2001:db8::/127" : (pick(2) ? "10.0.0.0/29" : "10.0.1.0/24"));
      g.rules.push_back(r);
    }
    m.groups.push_back(g);
  }
  m.enis.push_back(eni("eni-a", {"10.0.0.5", "2001:db8::5"}, {"sg-0", "sg-1"}));
  m.enis.push_back(eni("eni-b", {"10.0.0.6", "10.0.0.9", "2001:db8::6"}, {"sg-1"}));
  m.enis.push_back(eni("eni-c", {"10.0.1.7"}, {"sg-2"}));
  m.enis.push_back(eni("eni-d", {"2001:db8:1::7"}, {"sg-2", "sg-0"}));
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// The decision map.

void checkMap(const Network& net, std::size_t e, Direction d, Sampler& sampler, const HsOptions& opt) {
  const HsDecisionMap map = decisionMap(net, e, d, opt);
  ASSERT_EQ(map.status, HsStatus::Exact);
  ASSERT_FALSE(map.truncated);
  auto check = [&](const PacketFields& p, const char* what) {
    const Decision dec = decideAt(net, e, d, p);
    int in = 0;
    for (const HsMapEntry& m : map.entries) {
      if (!contains(m.region, d, p)) continue;
      ++in;
      EXPECT_TRUE(sameDecider(m.decider, dec))
          << what << " " << HsPacket{p, -1}.toString() << " at " << net.eni(e).id << " " << toString(d) << ": map says "
          << describe(net, e, d, m.decider) << " in " << toString(m.region) << ", decide says "
          << nameOf(net, e, d, dec);
    }
    EXPECT_EQ(in, 1) << what << " " << HsPacket{p, -1}.toString() << " lies in " << in << " regions";
  };
  for (const HsMapEntry& m : map.entries) {
    EXPECT_TRUE(contains(m.region, d, m.example.fields));
    EXPECT_TRUE(sameDecider(m.decider, decideAt(net, e, d, m.example.fields))) << m.example.toString();
    for (int c = 0; c < 32; ++c) check(pointIn(m.region, d, sampler.rng(), c), "corner");
    for (int i = 0; i < 4; ++i) check(pointIn(m.region, d, sampler.rng()), "inside");
  }
  for (Family f : {Family::V4, Family::V6}) {
    const auto local = localOf(net, e, f);
    if (local.empty()) continue;
    for (int i = 0; i < 300; ++i) check(sampler.packet(local, d, f), "sampled");
  }
}

TEST(HeaderSpace, DecisionMapAgreesWithDecideOnRandomModels) {
  std::mt19937 rng(90001);
  for (int round = 0; round < 60; ++round) {
    const Network net(randomHsModel(rng));
    Sampler sampler(net.model(), 7000 + round);
    for (std::size_t e = 0; e < net.eniCount(); ++e)
      for (Direction d : {Direction::Ingress, Direction::Egress}) {
        SCOPED_TRACE("round " + std::to_string(round) + " " + net.eni(e).id + " " + toString(d));
        checkMap(net, e, d, sampler, {});
        if (::testing::Test::HasFailure()) return;
      }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Audit findings.

void checkFindings(const Network& net, std::size_t e, Direction d, Sampler& sampler, const HsOptions& opt) {
  const HsTableAnalysis a = analyzeTable(net, e, d, opt);
  ASSERT_EQ(a.status, HsStatus::Exact) << a.notProven;
  const auto& refs = net.rules(e, d);
  ASSERT_EQ(a.rules.size(), refs.size());
  const Model& model = net.model();

  // Sampled packets: the model's boundaries, random ones, and points inside every region of the decision map (so
  // that every decided part of the space is visited).
  std::vector<PacketFields> packets;
  for (Family f : {Family::V4, Family::V6}) {
    const auto local = localOf(net, e, f);
    if (local.empty()) continue;
    for (int i = 0; i < 400; ++i) packets.push_back(sampler.packet(local, d, f));
  }
  for (const HsMapEntry& m : decisionMap(net, e, d, opt).entries) {
    for (int c = 0; c < 32; c += 7) packets.push_back(pointIn(m.region, d, sampler.rng(), c));
    packets.push_back(pointIn(m.region, d, sampler.rng()));
  }
  std::vector<Decision> decided;
  for (const PacketFields& p : packets) decided.push_back(decideAt(net, e, d, p));

  for (std::size_t k = 0; k < refs.size(); ++k) {
    const HsRuleFindings& f = a.rules[k];
    const Rule& r = *refs[k].rule;
    SCOPED_TRACE("rule " + refs[k].ruleId);
    const Verdict mine = r.policy == Policy::Drop ? Verdict::Drop : Verdict::Accept;
    EXPECT_EQ(f.ruleRef, static_cast<std::int32_t>(k));
    bool matchedAny = false, wonAny = false;
    for (std::size_t i = 0; i < packets.size(); ++i) {
      const bool m = ruleMatches(model, r, d, packets[i]);
      matchedAny = matchedAny || m;
      const bool won = decided[i].reason == Reason::Rule && decided[i].ruleRef == static_cast<std::int32_t>(k);
      wonAny = wonAny || won;
      if (m && f.shadowed) {
        bool listed = false;
        for (const HsDecider& s : f.shadowedBy) listed = listed || sameDecider(s, decided[i]);
        EXPECT_TRUE(listed) << HsPacket{packets[i], -1}.toString() << " is matched by the shadowed rule and decided by "
                            << nameOf(net, e, d, decided[i]) << ", not listed in shadowedBy";
      }
    }
    EXPECT_FALSE(f.matchesNothing && matchedAny) << "reported matching nothing";
    EXPECT_FALSE(f.shadowed && wonAny) << "reported shadowed, yet it decides a sampled packet";
    EXPECT_FALSE(f.matchesNothing && f.shadowed);
    EXPECT_EQ(f.decides, !f.matchesNothing && !f.shadowed);
    if (wonAny) {
      EXPECT_TRUE(f.decides);
    }
    if (f.matchesNothing) {
      EXPECT_FALSE(f.nothingReason.empty());
    }
    if (f.decides) {
      ASSERT_TRUE(f.decidesWitness);
      const Decision w = decideAt(net, e, d, f.decidesWitness->fields);
      EXPECT_TRUE(w.reason == Reason::Rule && w.ruleRef == static_cast<std::int32_t>(k))
          << f.decidesWitness->toString();
      EXPECT_EQ(f.decidesWitness->peerEni,
                net.eniOf(d == Direction::Ingress ? f.decidesWitness->fields.src : f.decidesWitness->fields.dst));
    }
    if (f.shadowed) {
      ASSERT_TRUE(f.shadowWitness);
      EXPECT_FALSE(f.shadowedBy.empty());
      EXPECT_TRUE(ruleMatches(model, r, d, f.shadowWitness->fields)) << f.shadowWitness->toString();
      const Decision w = decideAt(net, e, d, f.shadowWitness->fields);
      bool listed = false;
      for (const HsDecider& s : f.shadowedBy) listed = listed || sameDecider(s, w);
      EXPECT_TRUE(listed) << f.shadowWitness->toString();
      for (const HsDecider& s : f.shadowedBy)
        if (s.kind == HsDecider::Kind::Rule) {
          EXPECT_LT(s.ruleRef, static_cast<std::int32_t>(k));
        }
    }

    // Fallbacks and redundancy against a network without the rule.
    if (f.decides) {
      const Network without(withoutRule(net, e, d, k));
      std::set<std::string> fallbackNames;
      for (const HsFallback& fb : f.fallbacks) {
        fallbackNames.insert(nameOf(net, e, d, fb.decider));
        EXPECT_NE(fb.decider.kind, HsDecider::Kind::IntraGroup);
        EXPECT_EQ(fb.flips, fb.decider.verdict != mine);
        const Decision now = decideAt(net, e, d, fb.witness.fields);
        EXPECT_TRUE(now.reason == Reason::Rule && now.ruleRef == static_cast<std::int32_t>(k)) << fb.witness.toString();
        const Decision then = decideAt(without, e, d, fb.witness.fields);
        EXPECT_EQ(nameOf(without, e, d, then), nameOf(net, e, d, fb.decider)) << fb.witness.toString();
      }
      EXPECT_FALSE(f.fallbacks.empty());
      EXPECT_EQ(f.redundant, std::none_of(f.fallbacks.begin(), f.fallbacks.end(), [](auto& x) { return x.flips; }));
      for (std::size_t i = 0; i < packets.size(); ++i) {
        const Decision then = decideAt(without, e, d, packets[i]);
        if (f.redundant) {
          EXPECT_EQ(then.verdict, decided[i].verdict) << HsPacket{packets[i], -1}.toString();
        }
        if (decided[i].reason == Reason::Rule && decided[i].ruleRef == static_cast<std::int32_t>(k)) {
          EXPECT_TRUE(fallbackNames.contains(nameOf(without, e, d, then)))
              << HsPacket{packets[i], -1}.toString() << " falls to " << nameOf(without, e, d, then);
        }
      }
    } else {
      EXPECT_TRUE(f.fallbacks.empty());
      EXPECT_FALSE(f.redundant);
    }

    // Conflicts: the witness is matched by both, decided by the winner.
    for (const HsConflict& c : f.conflicts) {
      EXPECT_NE(c.other.verdict, mine);
      const Decision w = decideAt(net, e, d, c.witness.fields);
      EXPECT_TRUE(ruleMatches(model, r, d, c.witness.fields)) << c.witness.toString();
      if (c.other.kind == HsDecider::Kind::Rule) {
        EXPECT_TRUE(ruleMatches(model, *refs[static_cast<std::size_t>(c.other.ruleRef)].rule, d, c.witness.fields));
        EXPECT_EQ(c.thisWins, static_cast<std::int32_t>(k) < c.other.ruleRef);
      } else {
        EXPECT_FALSE(c.thisWins);
      }
      if (c.thisWins) {
        EXPECT_TRUE(w.reason == Reason::Rule && w.ruleRef == static_cast<std::int32_t>(k)) << c.witness.toString();
      } else {
        EXPECT_TRUE(sameDecider(c.other, w)) << c.witness.toString();
      }
    }
    // Completeness: a sampled packet decided by this rule that another rule of the other verdict also matches
    // shows a conflict that must be listed.
    for (std::size_t i = 0; i < packets.size(); ++i) {
      if (!(decided[i].reason == Reason::Rule && decided[i].ruleRef == static_cast<std::int32_t>(k))) continue;
      for (std::size_t o = k + 1; o < refs.size(); ++o) {
        if (refs[o].policy == r.policy || !ruleMatches(model, *refs[o].rule, d, packets[i])) continue;
        const bool listed = std::any_of(f.conflicts.begin(), f.conflicts.end(), [&](const HsConflict& c) {
          return c.other.kind == HsDecider::Kind::Rule && c.other.ruleRef == static_cast<std::int32_t>(o) && c.thisWins;
        });
        EXPECT_TRUE(listed) << refs[o].ruleId << " overlaps at " << HsPacket{packets[i], -1}.toString();
      }
    }

    // The same for the intra-group accept, which always wins over a drop rule.
    if (r.policy == Policy::Drop)
      for (std::size_t i = 0; i < packets.size(); ++i) {
        if (decided[i].reason != Reason::IntraGroup || !ruleMatches(model, r, d, packets[i])) continue;
        const bool listed = std::any_of(f.conflicts.begin(), f.conflicts.end(), [&](const HsConflict& c) {
          return c.other.kind == HsDecider::Kind::IntraGroup && c.other.group == decided[i].intraGroup;
        });
        EXPECT_TRUE(listed) << "intra-group overlaps at " << HsPacket{packets[i], -1}.toString();
      }

    if (f.broad) {
      EXPECT_EQ(r.direction, Direction::Ingress);
      EXPECT_EQ(r.policy, Policy::Accept);
      ASSERT_TRUE(f.broad->decides.has_value());
      const PacketFields& w = f.broad->witness.fields;
      EXPECT_TRUE(ruleMatches(model, r, d, w)) << f.broad->witness.toString();
      EXPECT_TRUE(std::find(f.broad->ports.begin(), f.broad->ports.end(), w.dport) != f.broad->ports.end());
      const Decision dw = decideAt(net, e, d, w);
      EXPECT_EQ(*f.broad->decides, dw.reason == Reason::Rule && dw.ruleRef == static_cast<std::int32_t>(k))
          << f.broad->witness.toString();
    }
  }
}

TEST(HeaderSpace, AuditFindingsAgreeWithDecideOnRandomModels) {
  std::mt19937 rng(424242);
  int shadowed = 0, redundant = 0, conflicts = 0, nothing = 0, broad = 0, flipping = 0;
  for (int round = 0; round < 60; ++round) {
    const Network net(randomHsModel(rng));
    Sampler sampler(net.model(), 100 + round);
    for (std::size_t e = 0; e < net.eniCount(); ++e)
      for (Direction d : {Direction::Ingress, Direction::Egress}) {
        SCOPED_TRACE("round " + std::to_string(round) + " " + net.eni(e).id + " " + toString(d));
        checkFindings(net, e, d, sampler, {});
        if (::testing::Test::HasFailure()) return;
        for (const HsRuleFindings& f : analyzeTable(net, e, d).rules) {
          shadowed += f.shadowed;
          redundant += f.redundant;
          conflicts += !f.conflicts.empty();
          nothing += f.matchesNothing;
          broad += f.broad.has_value();
          flipping += f.decides && !f.redundant;
        }
      }
  }
  // The generator exercises every kind of finding (otherwise this test would prove little).
  EXPECT_GT(shadowed, 10);
  EXPECT_GT(redundant, 10);
  EXPECT_GT(conflicts, 10);
  EXPECT_GT(nothing, 5);
  EXPECT_GT(broad, 5);
  EXPECT_GT(flipping, 10);
  std::cout << shadowed << " shadowed, " << redundant << " redundant, " << flipping << " deciding with a flip, "
            << conflicts << " with conflicts, " << nothing << " matching nothing, " << broad << " broad\n";
}

// Over the whole network: a rule the summary calls redundant can be taken out of its group with no sampled packet
// changing verdict at any ENI; one it calls never-deciding is the winner of no sampled packet anywhere.
TEST(HeaderSpace, SummaryByRuleAgreesWithRemovingTheRule) {
  std::mt19937 rng(31337);
  int redundant = 0, never = 0;
  for (int round = 0; round < 50; ++round) {
    const Network net(randomHsModel(rng));
    const auto tables = analyzeNetwork(net);
    const auto summary = summarizeByRule(net, tables);
    Sampler sampler(net.model(), 900 + round);
    std::vector<std::tuple<std::size_t, Direction, PacketFields>> packets;
    for (std::size_t e = 0; e < net.eniCount(); ++e)
      for (Direction d : {Direction::Ingress, Direction::Egress})
        for (Family f : {Family::V4, Family::V6}) {
          const auto local = localOf(net, e, f);
          if (local.empty()) continue;
          for (int i = 0; i < 200; ++i) packets.emplace_back(e, d, sampler.packet(local, d, f));
        }
    for (const HsRuleSummary& s : summary) {
      ASSERT_TRUE(s.proven);
      const Rule& rule = net.model().groups[s.group].rules[s.rule];
      if (s.neverDecides) {
        ++never;
        for (const auto& [e, d, p] : packets) {
          const Decision dec = decideAt(net, e, d, p);
          if (dec.reason == Reason::Rule) {
            EXPECT_NE(net.rules(e, d)[static_cast<std::size_t>(dec.ruleRef)].rule, &rule);
          }
        }
      }
      if (!s.redundant) continue;
      ++redundant;
      Model m = net.model();
      m.groups[s.group].rules.erase(m.groups[s.group].rules.begin() + static_cast<std::ptrdiff_t>(s.rule));
      const Network without(std::move(m));
      for (const auto& [e, d, p] : packets)
        EXPECT_EQ(decideAt(without, e, d, p).verdict, decideAt(net, e, d, p).verdict)
            << rule.id << " at " << net.eni(e).id << " " << toString(d) << ": " << HsPacket{p, -1}.toString();
    }
  }
  EXPECT_GT(redundant, 20);
  EXPECT_GT(never, 20);
}

// The coordinate order changes the diagram, never an answer.
TEST(HeaderSpace, FindingsDoNotDependOnTheCoordinateOrder) {
  std::mt19937 rng(5150);
  const std::array<HsDim, 5> orders[] = {
      {HsDim::Proto, HsDim::Dport, HsDim::Sport, HsDim::Local, HsDim::Peer},
      {HsDim::Peer, HsDim::Local, HsDim::Dport, HsDim::Sport, HsDim::Proto},
      {HsDim::Sport, HsDim::Peer, HsDim::Proto, HsDim::Dport, HsDim::Local},
  };
  auto summary = [](const HsTableAnalysis& a) {
    std::vector<std::string> out;
    for (const HsRuleFindings& f : a.rules) {
      std::string s = std::to_string(f.matchesNothing) + std::to_string(f.decides) + std::to_string(f.shadowed) +
                      std::to_string(f.redundant) + (f.broad ? std::to_string(*f.broad->decides) : "-");
      std::vector<std::string> parts;
      for (const HsDecider& x : f.shadowedBy)
        parts.push_back("s" + std::to_string(x.ruleRef) + "/" + std::to_string(x.group));
      for (const HsFallback& x : f.fallbacks)
        parts.push_back("f" + std::to_string(x.decider.ruleRef) + std::to_string(x.flips));
      for (const HsConflict& x : f.conflicts)
        parts.push_back("c" + std::to_string(x.other.ruleRef) + "/" + std::to_string(x.other.group) +
                        std::to_string(x.thisWins));
      std::sort(parts.begin(), parts.end());
      for (const auto& p : parts) s += " " + p;
      out.push_back(s);
    }
    return out;
  };
  for (int round = 0; round < 20; ++round) {
    const Network net(randomHsModel(rng));
    for (std::size_t e = 0; e < net.eniCount(); ++e)
      for (Direction d : {Direction::Ingress, Direction::Egress}) {
        HsOptions o;
        o.order = orders[0];
        const auto first = summary(analyzeTable(net, e, d, o));
        for (const auto& order : orders) {
          o.order = order;
          EXPECT_EQ(summary(analyzeTable(net, e, d, o)), first) << "round " << round << " " << net.eni(e).id;
        }
      }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The space diff.

Model randomChange(const Model& m, std::mt19937& rng) {
  Model out = m;
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const int changes = 1 + pick(3);
  for (int c = 0; c < changes; ++c) {
    SecurityGroup& g = out.groups[static_cast<std::size_t>(pick(static_cast<int>(out.groups.size())))];
    const int kind = pick(3);
    if (kind == 0 && !g.rules.empty()) {
      g.rules.erase(g.rules.begin() + pick(static_cast<int>(g.rules.size())));  // revoke
    } else if (kind == 1 && !g.rules.empty()) {
      Rule& r = g.rules[static_cast<std::size_t>(pick(static_cast<int>(g.rules.size())))];
      r.priority = 1 + pick(4);  // revoke and authorize at another priority
      r.id += "-moved";
    } else {
      std::mt19937 sub(rng());
      Model donor = randomHsModel(sub);  // authorize a rule of another random table
      const auto& rules = donor.groups[0].rules;
      Rule r = rules[static_cast<std::size_t>(pick(static_cast<int>(rules.size())))];
      r.id = "sgr-new-" + std::to_string(c);
      g.rules.insert(g.rules.begin() + pick(static_cast<int>(g.rules.size()) + 1), r);
    }
  }
  return out;
}

TEST(HeaderSpace, SpaceDiffAgreesWithDecideOnRandomChanges) {
  std::mt19937 rng(777);
  std::size_t regions = 0, changedRounds = 0;
  for (int round = 0; round < 120; ++round) {
    const Model m = randomHsModel(rng);
    const Network before(m);
    const Network after(randomChange(m, rng));
    const HsSpaceDiff diff = diffSpace(before, after);
    ASSERT_TRUE(diff.notProven.empty());
    ASSERT_FALSE(diff.truncated);
    regions += diff.regions.size();
    changedRounds += !diff.regions.empty();
    Sampler sampler(before.model(), 300 + round);
    Sampler samplerAfter(after.model(), 600 + round);
    for (std::size_t e = 0; e < before.eniCount(); ++e)
      for (Direction d : {Direction::Ingress, Direction::Egress}) {
        SCOPED_TRACE("round " + std::to_string(round) + " " + before.eni(e).id + " " + toString(d));
        std::vector<const HsFlipRegion*> mine;
        for (const HsFlipRegion& r : diff.regions)
          if (r.eni == e && r.direction == d) mine.push_back(&r);
        auto check = [&](const PacketFields& p) {
          const Decision b = decideAt(before, e, d, p), a = decideAt(after, e, d, p);
          int in = 0;
          for (const HsFlipRegion* r : mine) {
            if (!contains(r->region, d, p)) continue;
            ++in;
            EXPECT_TRUE(sameDecider(r->before, b)) << HsPacket{p, -1}.toString();
            EXPECT_TRUE(sameDecider(r->after, a)) << HsPacket{p, -1}.toString();
          }
          EXPECT_EQ(in, b.verdict != a.verdict ? 1 : 0)
              << HsPacket{p, -1}.toString() << ": " << toString(b.verdict) << " before, " << toString(a.verdict)
              << " after, in " << in << " flipped regions";
        };
        for (const HsFlipRegion* r : mine) {
          EXPECT_NE(r->before.verdict, r->after.verdict);
          EXPECT_TRUE(contains(r->region, d, r->example.fields));
          EXPECT_TRUE(sameDecider(r->before, decideAt(before, e, d, r->example.fields))) << r->example.toString();
          EXPECT_TRUE(sameDecider(r->after, decideAt(after, e, d, r->example.fields))) << r->example.toString();
          for (int c = 0; c < 32; ++c) check(pointIn(r->region, d, sampler.rng(), c));
          for (int i = 0; i < 4; ++i) check(pointIn(r->region, d, sampler.rng()));
        }
        for (Family f : {Family::V4, Family::V6}) {
          const auto local = localOf(before, e, f);
          if (local.empty()) continue;
          for (int i = 0; i < 300; ++i) check(sampler.packet(local, d, f));
          for (int i = 0; i < 300; ++i) check(samplerAfter.packet(local, d, f));
        }
        if (::testing::Test::HasFailure()) return;
      }
  }
  // Most random changes flip some part of the space (otherwise this test would prove little).
  EXPECT_GT(changedRounds, 50u);
  EXPECT_GT(regions, 100u);
  std::cout << regions << " flipped regions in " << changedRounds << " of 120 changes\n";
}

}  // namespace
}  // namespace sgsim
