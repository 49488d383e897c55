// Golden cases of the header-space analysis on small hand-written tables: one per kind of finding (shadowed, shadowed
// by the intra-group accept, references nothing, matches nothing here, redundant, conflicts, broad), the decision
// map of a small table, and the space diff of a revoke. Every expected line was checked by hand against SEMANTICS §3;
// the brute-force tests (header_space_test.cpp) check the same functions on random tables.
#include <gtest/gtest.h>

#include <sstream>

#include "hs_check.h"
#include "sgsim/verdict/header_space.h"
#include "test_model.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

std::string render(const Network& net, const HsTableAnalysis& a) {
  std::ostringstream o;
  const auto name = [&](const HsDecider& h) { return describe(net, a.eni, a.direction, h); };
  for (const HsRuleFindings& f : a.rules) {
    o << net.rules(a.eni, a.direction)[static_cast<std::size_t>(f.ruleRef)].ruleId << ":";
    if (f.matchesNothing) o << " never-matches (" << f.nothingReason << ")";
    if (f.shadowed) {
      o << " never-matches, shadowed by";
      for (const HsDecider& s : f.shadowedBy) o << " [" << name(s) << "]";
      o << " e.g. " << f.shadowWitness->toString();
    }
    if (f.decides) o << " decides e.g. " << f.decidesWitness->toString();
    if (f.redundant) o << "; redundant";
    o << "\n";
    for (const HsFallback& fb : f.fallbacks)
      o << "  revoked: " << name(fb.decider) << (fb.flips ? " flips" : " same") << " e.g. " << fb.witness.toString()
        << "\n";
    for (const HsConflict& c : f.conflicts)
      o << "  conflict: " << name(c.other) << (c.thisWins ? " (this wins)" : " (it wins)") << " e.g. "
        << c.witness.toString() << "\n";
    if (f.broad) {
      o << "  broad:" << (f.broad->allPorts ? " all ports," : "");
      for (std::uint16_t p : f.broad->ports) o << " " << p;
      o << (*f.broad->decides ? " (decided by it)" : " (masked)") << " e.g. " << f.broad->witness.toString() << "\n";
    }
  }
  return o.str();
}

// eni-web (10.0.0.5) and eni-app (10.0.0.6) share the basic group sg-web (InnerAccessPolicy Accept).
Model webModel() {
  Model m;
  Rule pl = rule("sgr-pl", Direction::Ingress, Protocol::Tcp, "443/443", "0.0.0.0/0");
  pl.peer = Peer{};
  pl.peer.kind = Peer::Kind::PrefixList;
  pl.peer.prefixListId = "pl-missing";
  Rule narrow = rule("sgr-narrow", Direction::Ingress, Protocol::Tcp, "8080/8080", "0.0.0.0/0");
  narrow.local = *Cidr::parse("10.9.0.0/16");
  m.groups.push_back(
      group("sg-web",
            {
                rule("sgr-deny-scan", Direction::Ingress, Protocol::All, "-1/-1", "198.51.100.0/24", Policy::Drop, 50),
                rule("sgr-ssh-office", Direction::Ingress, Protocol::Tcp, "22/22", "203.0.113.0/24"),
                rule("sgr-ssh-host", Direction::Ingress, Protocol::Tcp, "22/22", "203.0.113.10/32", Policy::Accept, 2),
                rule("sgr-ssh-any", Direction::Ingress, Protocol::Tcp, "22/22", "0.0.0.0/0", Policy::Accept, 10),
                rule("sgr-web-lan", Direction::Ingress, Protocol::Tcp, "80/80", "10.0.0.0/8"),
                rule("sgr-web-all", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0", Policy::Accept, 5),
                pl,
                narrow,
                rule("sgr-drop-app", Direction::Ingress, Protocol::All, "-1/-1", "10.0.0.6/32", Policy::Drop),
                rule("sgr-v6", Direction::Ingress, Protocol::Tcp, "443/443", "::/0"),
                groupRule("sgr-members", Direction::Ingress, Protocol::All, "-1/-1", "sg-web", Policy::Accept, 3),
            }));
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, {"sg-web"}));
  m.enis.push_back(eni("eni-app", {"10.0.0.6"}, {"sg-web"}));
  return m;
}

TEST(HeaderSpaceGolden, EveryKindOfFinding) {
  const Network net(webModel());
  const HsTableAnalysis a = analyzeTable(net, 0, Direction::Ingress);
  ASSERT_EQ(a.status, HsStatus::Exact);
  // Evaluation order: sgr-drop-app (1, drop), then the accepts of priority 1 in list order (sgr-ssh-office,
  // sgr-web-lan, sgr-pl, sgr-narrow, sgr-v6), sgr-ssh-host (2), sgr-members (3), sgr-web-all (5), sgr-ssh-any
  // (10), sgr-deny-scan (50).
  EXPECT_EQ(render(net, a),
            "sgr-drop-app: never-matches, shadowed by [intra-group sg-web] e.g. tcp 10.0.0.6:40000 > 10.0.0.5:1\n"
            "  conflict: intra-group sg-web (it wins) e.g. tcp 10.0.0.6:40000 > 10.0.0.5:1\n"
            // Revoked, 203.0.113.10 falls to sgr-ssh-host and the rest of the /24 to sgr-ssh-any: all still accepted.
            "sgr-ssh-office: decides e.g. tcp 203.0.113.7:40000 > 10.0.0.5:22; redundant\n"
            "  revoked: rule sgr-ssh-host same e.g. tcp 203.0.113.10:40000 > 10.0.0.5:22\n"
            "  revoked: rule sgr-ssh-any same e.g. tcp 203.0.113.7:40000 > 10.0.0.5:22\n"
            "sgr-web-lan: decides e.g. tcp 10.0.0.1:40000 > 10.0.0.5:80; redundant\n"
            "  revoked: rule sgr-members same e.g. tcp 10.0.0.5:40000 > 10.0.0.5:80\n"
            "  revoked: rule sgr-web-all same e.g. tcp 10.0.0.1:40000 > 10.0.0.5:80\n"
            "sgr-pl: never-matches (references nothing: prefix list pl-missing is not in the model)\n"
            "sgr-narrow: never-matches (matches no packet at eni-web: its five-tuple narrowing 10.9.0.0/16 holds none "
            "of the ENI's addresses)\n"
            "sgr-v6: never-matches (matches no packet at eni-web: its peers are IPv6 and the ENI has no IPv6 address)\n"
            "sgr-ssh-host: never-matches, shadowed by [rule sgr-ssh-office] e.g. tcp 203.0.113.10:40000 > 10.0.0.5:22\n"
            // Its group's members: eni-app is accepted as intra-group first; eni-web's own address is no member
            // "between" ENIs, so the rule decides the ENI's traffic to itself (but TCP 80, taken by sgr-web-lan).
            "sgr-members: decides e.g. tcp 10.0.0.5:40000 > 10.0.0.5:1\n"
            "  revoked: rule sgr-ssh-any same e.g. tcp 10.0.0.5:40000 > 10.0.0.5:22\n"
            "  revoked: default drop flips e.g. tcp 10.0.0.5:40000 > 10.0.0.5:1\n"
            "sgr-web-all: decides e.g. tcp 203.0.113.7:40000 > 10.0.0.5:80\n"
            "  revoked: rule sgr-deny-scan flips e.g. tcp 198.51.100.1:40000 > 10.0.0.5:80\n"
            "  revoked: default drop flips e.g. tcp 203.0.113.7:40000 > 10.0.0.5:80\n"
            "  conflict: rule sgr-deny-scan (this wins) e.g. tcp 198.51.100.1:40000 > 10.0.0.5:80\n"
            "sgr-ssh-any: decides e.g. tcp 0.0.0.1:40000 > 10.0.0.5:22\n"
            "  revoked: rule sgr-deny-scan flips e.g. tcp 198.51.100.1:40000 > 10.0.0.5:22\n"
            "  revoked: default drop flips e.g. tcp 0.0.0.1:40000 > 10.0.0.5:22\n"
            "  conflict: rule sgr-deny-scan (this wins) e.g. tcp 198.51.100.1:40000 > 10.0.0.5:22\n"
            "  broad: 22 (decided by it) e.g. tcp 0.0.0.1:40000 > 10.0.0.5:22\n"
            // A drop rule at the bottom of an ingress table whose default is drop.
            "sgr-deny-scan: decides e.g. tcp 198.51.100.1:40000 > 10.0.0.5:1; redundant\n"
            "  revoked: default drop same e.g. tcp 198.51.100.1:40000 > 10.0.0.5:1\n"
            "  conflict: rule sgr-web-all (it wins) e.g. tcp 198.51.100.1:40000 > 10.0.0.5:80\n"
            "  conflict: rule sgr-ssh-any (it wins) e.g. tcp 198.51.100.1:40000 > 10.0.0.5:22\n");
}

// Broad rules: one to every port over IPv6, and one to 3000-3400 (3306 and 3389) whose 3306 a drop rule above
// masks: it still decides 3389; one to 6379 that a drop rule above masks entirely (reported, marked masked).
TEST(HeaderSpaceGolden, BroadRules) {
  Model m;
  m.groups.push_back(group(
      "sg-db", {
                   rule("sgr-block", Direction::Ingress, Protocol::Tcp, "3306/3306", "0.0.0.0/0", Policy::Drop),
                   rule("sgr-all", Direction::Ingress, Protocol::All, "-1/-1", "::/0"),
                   rule("sgr-mysql", Direction::Ingress, Protocol::Tcp, "3000/3400", "0.0.0.0/0", Policy::Accept, 2),
                   rule("sgr-redis", Direction::Ingress, Protocol::Tcp, "6379/6379", "0.0.0.0/0", Policy::Accept, 3),
                   rule("sgr-block-high", Direction::Ingress, Protocol::Tcp, "5000/7000", "0.0.0.0/0", Policy::Drop, 2),
               }));
  m.enis.push_back(eni("eni-db", {"10.0.1.7", "2001:db8:1::7"}, {"sg-db"}));
  const Network net(std::move(m));
  const HsTableAnalysis a = analyzeTable(net, 0, Direction::Ingress);
  EXPECT_EQ(render(net, a),
            "sgr-block: decides e.g. tcp 203.0.113.7:40000 > 10.0.1.7:3306\n"
            "  revoked: rule sgr-mysql flips e.g. tcp 203.0.113.7:40000 > 10.0.1.7:3306\n"
            "  conflict: rule sgr-mysql (this wins) e.g. tcp 203.0.113.7:40000 > 10.0.1.7:3306\n"
            "sgr-all: decides e.g. tcp [2001:db8:ffff::7]:40000 > [2001:db8:1::7]:1\n"
            "  revoked: default drop flips e.g. tcp [2001:db8:ffff::7]:40000 > [2001:db8:1::7]:1\n"
            "  broad: all ports, 22 3389 3306 1433 5432 6379 27017 9200 (decided by it) e.g. tcp "
            "[2001:db8:ffff::7]:40000 > [2001:db8:1::7]:22\n"
            "sgr-block-high: decides e.g. tcp 203.0.113.7:40000 > 10.0.1.7:5000\n"
            "  revoked: rule sgr-redis flips e.g. tcp 203.0.113.7:40000 > 10.0.1.7:6379\n"
            "  revoked: default drop same e.g. tcp 203.0.113.7:40000 > 10.0.1.7:5000\n"
            "  conflict: rule sgr-redis (this wins) e.g. tcp 203.0.113.7:40000 > 10.0.1.7:6379\n"
            "sgr-mysql: decides e.g. tcp 203.0.113.7:40000 > 10.0.1.7:3000\n"
            "  revoked: default drop flips e.g. tcp 203.0.113.7:40000 > 10.0.1.7:3000\n"
            "  conflict: rule sgr-block (it wins) e.g. tcp 203.0.113.7:40000 > 10.0.1.7:3306\n"
            "  broad: 3389 3306 (decided by it) e.g. tcp 203.0.113.7:40000 > 10.0.1.7:3389\n"
            "sgr-redis: never-matches, shadowed by [rule sgr-block-high] e.g. tcp 203.0.113.7:40000 > 10.0.1.7:6379\n"
            "  conflict: rule sgr-block-high (it wins) e.g. tcp 203.0.113.7:40000 > 10.0.1.7:6379\n"
            "  broad: 6379 (masked) e.g. tcp 203.0.113.7:40000 > 10.0.1.7:6379\n");
}

std::string render(const Network& net, std::size_t eni, Direction d, const HsDecisionMap& map) {
  std::ostringstream o;
  for (const HsMapEntry& e : map.entries)
    o << describe(net, eni, d, e.decider) << ": " << toString(e.region) << " e.g. " << e.example.toString() << "\n";
  return o.str();
}

TEST(HeaderSpaceGolden, DecisionMapOfASmallTable) {
  Model m;
  m.groups.push_back(group(
      "sg-web", {
                    rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0"),
                    rule("sgr-deny", Direction::Ingress, Protocol::All, "-1/-1", "192.0.2.0/24", Policy::Drop, 2),
                    rule("sgr-ping", Direction::Ingress, Protocol::Icmp, "-1/-1", "192.0.2.0/23", Policy::Accept, 3),
                }));
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, {"sg-web"}));
  const Network net(std::move(m));
  const HsDecisionMap map = decisionMap(net, 0, Direction::Ingress);
  ASSERT_EQ(map.status, HsStatus::Exact);
  EXPECT_EQ(render(net, 0, Direction::Ingress, map),
            "default drop: proto not icmp,tcp peer not 192.0.2.0/24 local any sport any dport any e.g. "
            "udp 203.0.113.7:40000 > 10.0.0.5:1\n"
            "rule sgr-deny: proto not tcp peer 192.0.2.0/24 local any sport any dport any e.g. "
            "udp 192.0.2.1:40000 > 10.0.0.5:1\n"
            "default drop: proto icmp peer not 192.0.2.0/23 local any sport any dport any e.g. "
            "icmp 203.0.113.7 > 10.0.0.5\n"
            "rule sgr-ping: proto icmp peer 192.0.3.0/24 local any sport any dport any e.g. icmp 192.0.3.1 > 10.0.0.5\n"
            "default drop: proto tcp peer not 192.0.2.0/24 local any sport any dport not 80 e.g. "
            "tcp 203.0.113.7:40000 > 10.0.0.5:1\n"
            "rule sgr-http: proto tcp peer any local any sport any dport 80 e.g. tcp 203.0.113.7:40000 > 10.0.0.5:80\n"
            "rule sgr-deny: proto tcp peer 192.0.2.0/24 local any sport any dport not 80 e.g. "
            "tcp 192.0.2.1:40000 > 10.0.0.5:1\n");
}

TEST(HeaderSpaceGolden, SpaceDiffOfARevoke) {
  Model m;
  m.groups.push_back(
      group("sg-web", {
                          rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0"),
                          rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "203.0.113.0/24"),
                          rule("sgr-ssh6", Direction::Ingress, Protocol::Tcp, "22/22", "2001:db8:aa::/48"),
                      }));
  m.enis.push_back(eni("eni-web", {"10.0.0.5", "2001:db8:10::5"}, {"sg-web"}));
  const Network before(m);
  m.groups[0].rules.erase(m.groups[0].rules.begin() + 1);
  const Network after(m);
  const HsSpaceDiff diff = diffSpace(before, after);
  ASSERT_TRUE(diff.notProven.empty());
  std::ostringstream o;
  for (const HsFlipRegion& r : diff.regions)
    o << before.eni(r.eni).id << " " << toString(r.direction) << ": " << toString(r.region) << ": "
      << describe(before, r.eni, r.direction, r.before) << " -> " << describe(after, r.eni, r.direction, r.after)
      << " e.g. " << r.example.toString() << "\n";
  EXPECT_EQ(
      o.str(),
      "eni-web ingress: proto tcp peer 203.0.113.0/24 local any sport any dport 22: rule sgr-ssh -> default drop e.g. "
      "tcp 203.0.113.7:40000 > 10.0.0.5:22\n");
  // contains(): the example and the region's corners, nothing beside.
  const HsFlipRegion& r = diff.regions[0];
  EXPECT_TRUE(contains(r.region, Direction::Ingress, r.example.fields));
  EXPECT_TRUE(contains(r.region, Direction::Ingress,
                       PacketFields{6, *IpAddr::parse("203.0.113.255"), *IpAddr::parse("10.0.0.5"), 65535, 22}));
  EXPECT_FALSE(contains(r.region, Direction::Ingress,
                        PacketFields{6, *IpAddr::parse("203.0.114.0"), *IpAddr::parse("10.0.0.5"), 1, 22}));
  EXPECT_FALSE(contains(r.region, Direction::Ingress,
                        PacketFields{6, *IpAddr::parse("203.0.113.9"), *IpAddr::parse("10.0.0.5"), 1, 23}));
  EXPECT_FALSE(contains(r.region, Direction::Ingress,
                        PacketFields{17, *IpAddr::parse("203.0.113.9"), *IpAddr::parse("10.0.0.5"), 1, 22}));
  EXPECT_FALSE(contains(r.region, Direction::Egress,
                        PacketFields{6, *IpAddr::parse("203.0.113.9"), *IpAddr::parse("10.0.0.5"), 1, 22}));
}

// A rule of a group on two ENIs: redundant at one, deciding with a flip at the other: revoking it (from the group, so
// from both) changes traffic, so it is not redundant; one shadowed at one ENI but deciding at the other still matches.
TEST(HeaderSpaceGolden, SummaryOverTheEnisOfAGroup) {
  Model m;
  m.groups.push_back(
      group("sg-shared", {
                             rule("sgr-ssh-lan", Direction::Ingress, Protocol::Tcp, "22/22", "10.0.0.0/8"),
                             rule("sgr-dns", Direction::Ingress, Protocol::Udp, "53/53", "10.0.0.0/8"),
                             rule("sgr-https", Direction::Ingress, Protocol::Tcp, "443/443", "0.0.0.0/0"),
                         }));
  m.groups.push_back(group(
      "sg-admin", {
                      rule("sgr-ssh-any", Direction::Ingress, Protocol::Tcp, "22/22", "0.0.0.0/0"),
                      rule("sgr-dns-block", Direction::Ingress, Protocol::Udp, "53/53", "0.0.0.0/0", Policy::Drop),
                  }));
  m.groups.push_back(group("sg-unused", {rule("sgr-lonely", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")}));
  // InnerAccessPolicy Drop: the two ENIs are strangers to each other, so only the rules decide.
  m.groups[0].innerAccessPolicy = Policy::Drop;
  m.groups[1].innerAccessPolicy = Policy::Drop;
  m.enis.push_back(eni("eni-a", {"10.0.0.5"}, {"sg-shared", "sg-admin"}));
  m.enis.push_back(eni("eni-b", {"10.0.0.6"}, {"sg-shared"}));
  const Network net(std::move(m));
  const auto tables = analyzeNetwork(net);
  ASSERT_EQ(tables.size(), 4u);  // eni-a ingress, egress, eni-b ingress, egress
  const auto summary = summarizeByRule(net, tables);
  ASSERT_EQ(summary.size(), 6u);
  auto text = [&](const HsRuleSummary& s) {
    std::string out = net.model().groups[s.group].rules[s.rule].id + ":";
    for (const auto& [t, k] : s.tables) out += " " + net.eni(tables[t].eni).id;
    if (s.redundant) out += " redundant";
    if (s.neverDecides) out += " never-decides";
    if (s.matchesNothing) out += " matches-nothing";
    if (s.broad) out += " broad";
    if (s.conflicts) out += " conflicts";
    if (!s.proven) out += " not-proven";
    return out;
  };
  std::string all;
  for (const auto& s : summary) all += text(s) + "\n";
  // At eni-a sgr-ssh-lan is redundant with sgr-ssh-any, at eni-b the default drop would take 10/8 on 22: not
  // redundant. sgr-dns is shadowed by sgr-dns-block at eni-a (drop first at equal priority) but decides at eni-b.
  // sgr-ssh-any is broad; sgr-lonely's group is on no ENI.
  EXPECT_EQ(all,
            "sgr-ssh-lan: eni-a eni-b\n"
            "sgr-dns: eni-a eni-b conflicts\n"
            "sgr-https: eni-a eni-b\n"
            "sgr-ssh-any: eni-a broad\n"
            "sgr-dns-block: eni-a conflicts\n"
            "sgr-lonely:\n");
  // The per-table facts behind it. eni-a ingress order: sgr-dns-block (drop first), sgr-ssh-lan, sgr-dns,
  // sgr-https (group sg-shared first), sgr-ssh-any; eni-b ingress: sgr-ssh-lan, sgr-dns, sgr-https.
  ASSERT_EQ(net.rules(0, Direction::Ingress)[1].ruleId, "sgr-ssh-lan");
  EXPECT_TRUE(tables[0].rules[1].redundant);
  EXPECT_TRUE(tables[0].rules[2].shadowed);
  ASSERT_EQ(net.rules(1, Direction::Ingress)[0].ruleId, "sgr-ssh-lan");
  EXPECT_TRUE(tables[2].rules[0].decides);
  EXPECT_FALSE(tables[2].rules[0].redundant);
  EXPECT_TRUE(tables[2].rules[1].decides);
}

// Past the work budget nothing is guessed: the table says NotProven, and only what needs no analysis remains
// (matches nothing; broad, without saying whether it is masked). The same for the decision map and the space diff.
TEST(HeaderSpaceGolden, OverTheBudgetNothingIsGuessed) {
  const Network net(webModel());
  HsOptions tiny;
  tiny.maxWork = 5;
  const HsTableAnalysis a = analyzeTable(net, 0, Direction::Ingress, tiny);
  EXPECT_EQ(a.status, HsStatus::NotProven);
  EXPECT_NE(a.notProven.find("needs more than 5 units of work"), std::string::npos) << a.notProven;
  std::string text;
  for (const HsRuleFindings& f : a.rules) {
    EXPECT_FALSE(f.decides || f.shadowed || f.redundant || f.decidesWitness || !f.fallbacks.empty() ||
                 !f.conflicts.empty() || !f.shadowedBy.empty());
    if (f.matchesNothing) text += net.rules(0, Direction::Ingress)[static_cast<std::size_t>(f.ruleRef)].ruleId + " ";
    if (f.broad) {
      EXPECT_FALSE(f.broad->decides.has_value());
      EXPECT_TRUE(ruleMatches(net.model(), *net.rules(0, Direction::Ingress)[static_cast<std::size_t>(f.ruleRef)].rule,
                              Direction::Ingress, f.broad->witness.fields));
      text += "broad:" + net.rules(0, Direction::Ingress)[static_cast<std::size_t>(f.ruleRef)].ruleId + " ";
    }
  }
  EXPECT_EQ(text, "sgr-pl sgr-narrow sgr-v6 broad:sgr-ssh-any ");
  const auto summary = summarizeByRule(net, {a});
  for (const HsRuleSummary& s : summary) {
    EXPECT_FALSE(s.proven);
    EXPECT_FALSE(s.redundant || s.neverDecides);
  }

  const HsDecisionMap map = decisionMap(net, 0, Direction::Ingress, tiny);
  EXPECT_EQ(map.status, HsStatus::NotProven);
  EXPECT_TRUE(map.entries.empty());

  Model m = webModel();
  m.groups[0].rules.pop_back();
  const Network after(std::move(m));
  const HsSpaceDiff diff = diffSpace(net, after, tiny);
  EXPECT_TRUE(diff.regions.empty());
  ASSERT_EQ(diff.notProven.size(), 2u);  // eni-web ingress, eni-app ingress (egress tables are equal and tiny)
  EXPECT_EQ(diff.notProven[0].status, HsStatus::NotProven);
}

// Without the conflict search the other findings are the same.
TEST(HeaderSpaceGolden, ConflictsCanBeLeftOut) {
  const Network net(webModel());
  HsOptions noConflicts;
  noConflicts.conflicts = false;
  const HsTableAnalysis a = analyzeTable(net, 0, Direction::Ingress);
  const HsTableAnalysis b = analyzeTable(net, 0, Direction::Ingress, noConflicts);
  ASSERT_EQ(a.rules.size(), b.rules.size());
  for (std::size_t k = 0; k < a.rules.size(); ++k) {
    EXPECT_TRUE(b.rules[k].conflicts.empty());
    EXPECT_EQ(a.rules[k].decides, b.rules[k].decides);
    EXPECT_EQ(a.rules[k].shadowed, b.rules[k].shadowed);
    EXPECT_EQ(a.rules[k].redundant, b.rules[k].redundant);
    EXPECT_EQ(a.rules[k].fallbacks.size(), b.rules[k].fallbacks.size());
  }
}

TEST(HeaderSpaceGolden, CidrsOfIntervals) {
  auto v = [](const char* a) { return hsValueOf(*IpAddr::parse(a)); };
  auto text = [](Family f, const HsSet& s) {
    std::string out;
    for (const Cidr& c : cidrsOf(f, s)) out += (out.empty() ? "" : " ") + c.toString();
    return out;
  };
  EXPECT_EQ(text(Family::V4, {{v("10.0.0.1"), v("10.0.0.6")}}), "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32");
  EXPECT_EQ(text(Family::V4, {{0, v("255.255.255.255")}}), "0.0.0.0/0");
  EXPECT_EQ(text(Family::V6, {{0, ~static_cast<HsValue>(0)}}), "::/0");
  EXPECT_EQ(text(Family::V6, {{v("2001:db8::"), v("2001:db8::ffff")}, {v("::ffff:0:0"), v("::ffff:0:0")}}),
            "2001:db8::/112 ::ffff:0.0.0.0/128");
  EXPECT_EQ(text(Family::V4, {{v("0.0.0.0"), v("9.255.255.255")}, {v("11.0.0.0"), v("255.255.255.255")}}),
            "0.0.0.0/5 8.0.0.0/7 11.0.0.0/8 12.0.0.0/6 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 128.0.0.0/1");
}

TEST(HeaderSpaceGolden, WitnessesReadAsExplainPackets) {
  HsPacket p;
  p.fields = PacketFields{1, *IpAddr::parse("192.0.2.1"), *IpAddr::parse("10.0.0.5"), 7, 7};
  EXPECT_EQ(p.toString(), "icmp 192.0.2.1 > 10.0.0.5 id 7");
  p.fields.sport = p.fields.dport = 0;
  EXPECT_EQ(p.toString(), "icmp 192.0.2.1 > 10.0.0.5");
  p.fields.proto = 132;
  EXPECT_EQ(p.toString(), "proto 132 192.0.2.1 > 10.0.0.5");
  p.fields.dport = 9;
  EXPECT_EQ(p.toString(), "proto 132 192.0.2.1:0 > 10.0.0.5:9");
  p.fields = PacketFields{17, *IpAddr::parse("2001:db8::1"), *IpAddr::parse("2001:db8::5"), 5353, 53};
  EXPECT_EQ(p.toString(), "udp [2001:db8::1]:5353 > [2001:db8::5]:53");
}

}  // namespace
}  // namespace sgsim
