// Rule identity is compared on typed values (sameRule, countRuleDifferences) and described as text
// (ruleDifferences, what the near-miss report shows). These tests pin the typed walk to the text comparison
// the API documents: two rules are the same exactly when every identity field prints the same.

#include "sgsim/api/rule_identity.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "sgsim/core/text.h"

namespace sgsim {
namespace {

// The reference: each identity field as the text the API compares (SEMANTICS §5), built independently of
// rule_identity.cpp so that a typed comparison that drifts from the text shows up here.
std::vector<FieldDiff> textDifferences(const Rule& d, const Rule& e, Product p) {
  auto ports = [](const std::optional<PortRange>& r) { return r ? r->toString() : std::string(); };
  auto peer = [](const Peer& x) {
    return x.kind == Peer::Kind::Cidr ? x.cidr.toString() : x.kind == Peer::Kind::Group ? x.groupId : x.prefixListId;
  };
  auto local = [](const Rule& r) {
    const std::string v6 = r.local && !r.local->base.isV4() ? "Ipv6" : "";
    return v6 + (r.direction == Direction::Ingress ? "DestCidrIp" : "SourceCidrIp");
  };
  auto nic = [](const std::string& n) {
    const auto l = toLower(n);
    return l.empty() || l == "internet" ? std::string("intranet") : l;
  };
  std::vector<FieldDiff> out;
  auto cmp = [&](const std::string& field, const std::string& a, const std::string& b) {
    if (a != b) out.push_back({field, a, b});
  };
  cmp("Direction", toString(d.direction), toString(e.direction));
  cmp("IpProtocol", toString(d.protocol, p), toString(e.protocol, p));
  cmp("PortRange", ports(d.portRange), ports(e.portRange));
  cmp("PortRangeListId", d.portRangeListId, e.portRangeListId);
  cmp("SourcePortRange", ports(d.sourcePortRange), ports(e.sourcePortRange));
  if (peerFieldName(d) != peerFieldName(e))
    out.push_back({"peer", peerFieldName(d) + " " + peer(d.peer), peerFieldName(e) + " " + peer(e.peer)});
  else
    cmp(peerFieldName(d), peer(d.peer), peer(e.peer));
  const auto cidr = [](const std::optional<Cidr>& c) { return c ? c->toString() : std::string(); };
  if (cidr(d.local) != cidr(e.local)) out.push_back({d.local ? local(d) : local(e), cidr(d.local), cidr(e.local)});
  cmp("Policy", toString(d.policy), toString(e.policy));
  cmp("Priority", std::to_string(d.priority), std::to_string(e.priority));
  cmp("NicType", nic(d.nicType), nic(e.nicType));
  return out;
}

class RuleGen {
 public:
  explicit RuleGen(std::uint32_t seed) : rng_(seed) {}

  template <class T, std::size_t N>
  const T& pick(const std::array<T, N>& xs) {
    return xs[std::uniform_int_distribution<std::size_t>(0, N - 1)(rng_)];
  }
  bool coin() { return std::uniform_int_distribution<int>(0, 1)(rng_) == 1; }
  int upTo(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // Small pools so that random pairs often agree on most fields.
  PortRange ports() { return *PortRange::parse(pick(kPorts)); }
  Cidr cidr() { return *Cidr::parse(pick(kCidrs)); }
  std::string nicType() { return pick(kNicTypes); }

  Rule rule() {
    Rule r;
    r.id = "sgr-" + std::to_string(upTo(1000));
    r.direction = coin() ? Direction::Ingress : Direction::Egress;
    r.protocol = static_cast<Protocol>(upTo(6));
    if (upTo(4) == 0)
      r.portRangeListId = pick(kPortLists);
    else
      r.portRange = ports();
    if (coin()) r.sourcePortRange = ports();
    setPeer(r, upTo(3));
    if (upTo(3) == 0) r.local = cidr();
    r.policy = coin() ? Policy::Accept : Policy::Drop;
    r.priority = pick(kPriorities);
    r.nicType = nicType();
    r.description = coin() ? "" : "d" + std::to_string(upTo(9));
    r.createTime = coin() ? "" : "2024-01-0" + std::to_string(1 + upTo(9)) + "T00:00:00Z";
    return r;
  }

  void setPeer(Rule& r, int kind) {
    r.peer = Peer{};
    r.peer.kind = static_cast<Peer::Kind>(kind);
    // Fields of the other kinds are filled too: only the kind's own value may take part.
    r.peer.cidr = cidr();
    r.peer.groupId = pick(kGroups);
    r.peer.prefixListId = pick(kPrefixLists);
    r.peer.groupOwnerAccount = coin() ? "" : "acct" + std::to_string(upTo(3));
    r.peer.groupOwnerId = coin() ? "" : std::to_string(upTo(3));
  }

  // Changes one field, identity or not (ids, Description, CreateTime, owner fields, NicType spelling).
  void mutate(Rule& r) {
    switch (upTo(17)) {
      case 0:
        r.direction = r.direction == Direction::Ingress ? Direction::Egress : Direction::Ingress;
        break;
      case 1:
        r.protocol = static_cast<Protocol>(upTo(6));
        break;
      case 2:
        r.portRange = ports();
        break;
      case 3:
        r.portRange.reset();
        r.portRangeListId = pick(kPortLists);
        break;
      case 4:
        r.portRangeListId = coin() ? "" : pick(kPortLists);
        break;
      case 5:
        r.sourcePortRange = coin() ? std::optional<PortRange>() : ports();
        break;
      case 6:
        setPeer(r, upTo(3));
        break;
      case 7:
        r.peer.cidr = cidr();
        break;
      case 8:
        r.peer.groupId = pick(kGroups);
        break;
      case 9:
        r.peer.prefixListId = pick(kPrefixLists);
        break;
      case 10:
        r.peer.groupOwnerAccount = "acct-other";
        r.peer.groupOwnerId = "9";
        break;
      case 11:
        r.local = coin() ? std::optional<Cidr>() : cidr();
        break;
      case 12:
        r.policy = r.policy == Policy::Accept ? Policy::Drop : Policy::Accept;
        break;
      case 13:
        r.priority = pick(kPriorities);
        break;
      case 14:
        r.nicType = nicType();
        break;
      case 15:
        r.description = "changed";
        r.createTime = "2025-01-01T00:00:00Z";
        break;
      default:
        r.id = "sgr-other";
        break;
    }
  }

 private:
  static constexpr std::array<const char*, 6> kPorts = {"-1/-1", "22/22", "80/80", "1/65535", "22/23", "23/23"};
  static constexpr std::array<const char*, 9> kCidrs = {
      "0.0.0.0/0",     "10.0.0.0/8",    "10.0.0.0/16",     "10.0.0.5/32",        "::/0",
      "2001:db8::/32", "2001:db8::/48", "2001:db8::1/128", "::ffff:10.0.0.0/104"};
  static constexpr std::array<const char*, 3> kGroups = {"sg-a", "sg-b", "sg-A"};
  static constexpr std::array<const char*, 2> kPrefixLists = {"pl-a", "pl-b"};
  static constexpr std::array<const char*, 2> kPortLists = {"prl-a", "prl-b"};
  static constexpr std::array<int, 4> kPriorities = {1, 2, 10, 100};
  static constexpr std::array<const char*, 7> kNicTypes = {"",         "intranet", "Intranet", "internet",
                                                           "INTERNET", "other",    "OTHER"};
  std::mt19937 rng_;
};

void expectSameDiffs(const std::vector<FieldDiff>& got, const std::vector<FieldDiff>& want, const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].field, want[i].field) << where;
    EXPECT_EQ(got[i].wanted, want[i].wanted) << where;
    EXPECT_EQ(got[i].existing, want[i].existing) << where;
  }
}

// One pair: the fast answers (sameRule, countRuleDifferences at every limit) agree with the described
// differences, and those are the text comparison's, field by field and value by value.
void checkPair(const Rule& d, const Rule& e, Product p, std::array<int, 3>& seen) {
  const auto want = textDifferences(d, e, p);
  const auto got = ruleDifferences(d, e, p);
  const std::string where = describeRule(d, p) + " | " + describeRule(e, p);
  expectSameDiffs(got, want, where);
  EXPECT_EQ(sameRule(d, e, p), got.empty()) << where;
  for (int limit = 1; limit <= 3; ++limit)
    EXPECT_EQ(countRuleDifferences(d, e, p, limit), std::min<int>(limit, static_cast<int>(got.size()))) << where;
  ++seen[std::min<std::size_t>(got.size(), 2)];
}

TEST(RuleIdentity, TypedComparisonAgreesWithTheTextComparisonOnRandomPairs) {
  RuleGen gen(20240611);
  std::array<int, 3> seen{};  // pairs with 0, 1, 2+ differences
  for (int i = 0; i < 20000; ++i) {
    const Product p = gen.coin() ? Product::Ecs : Product::Ens;
    const Rule a = gen.rule();
    Rule b = a;
    switch (i % 3) {
      case 0:
        b = gen.rule();
        break;  // unrelated
      case 1:
        gen.mutate(b);
        break;  // one field changed (or re-spelt)
      default:
        gen.mutate(b);
        gen.mutate(b);
        break;
    }
    checkPair(a, b, p, seen);
    checkPair(b, a, p, seen);
  }
  // Every outcome the revoke path distinguishes (match, near miss, other rule) is exercised often.
  for (int n : seen) EXPECT_GT(n, 2000);
}

TEST(RuleIdentity, NormalisedSpellingsAreTheSameRule) {
  RuleGen gen(7);
  Rule a = gen.rule();
  a.peer.kind = Peer::Kind::Group;
  Rule b = a;
  b.peer.cidr = *Cidr::parse("192.0.2.0/24");  // not the peer of a group rule
  b.peer.groupOwnerAccount = "someone-else";
  for (const char* n : {"", "intranet", "INTRANET", "internet", "Internet"}) {
    a.nicType = "";
    b.nicType = n;
    EXPECT_TRUE(sameRule(a, b, Product::Ecs)) << n;
    EXPECT_EQ(countRuleDifferences(a, b, Product::Ens, 2), 0) << n;
  }
  b.nicType = "other";
  EXPECT_FALSE(sameRule(a, b, Product::Ecs));
  const auto diffs = ruleDifferences(a, b, Product::Ecs);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(describeDiff(diffs[0]), "NicType other, not intranet");
}

TEST(RuleIdentity, ProtocolIsReportedInTheProductsSpelling) {
  Rule a;
  a.portRange = PortRange{22, 22};
  a.peer.cidr = *Cidr::parse("10.0.0.0/8");
  Rule b = a;
  a.protocol = Protocol::Tcp;
  b.protocol = Protocol::Udp;
  EXPECT_EQ(describeDiff(ruleDifferences(a, b, Product::Ecs).at(0)), "IpProtocol UDP, not TCP");
  EXPECT_EQ(describeDiff(ruleDifferences(a, b, Product::Ens).at(0)), "IpProtocol udp, not tcp");
  EXPECT_EQ(countRuleDifferences(a, b, Product::Ens, 5), 1);
}

TEST(RuleIdentity, PeersOfAnotherFamilyOrKindAreOneDiffNamingBothFields) {
  Rule a;
  a.protocol = Protocol::Tcp;
  a.portRange = PortRange{22, 22};
  a.peer.cidr = *Cidr::parse("0.0.0.0/0");
  Rule b = a;
  b.peer.cidr = *Cidr::parse("::/0");
  auto diffs = ruleDifferences(a, b, Product::Ecs);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(describeDiff(diffs[0]), "Ipv6SourceCidrIp ::/0, not SourceCidrIp 0.0.0.0/0");
  b.peer = Peer{};
  b.peer.kind = Peer::Kind::PrefixList;
  b.peer.prefixListId = "pl-a";
  diffs = ruleDifferences(a, b, Product::Ecs);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(describeDiff(diffs[0]), "SourcePrefixListId pl-a, not SourceCidrIp 0.0.0.0/0");
  // Another direction names the other side's fields: never a near miss on Direction alone.
  b = a;
  b.direction = Direction::Egress;
  EXPECT_EQ(countRuleDifferences(a, b, Product::Ecs, 3), 2);
}

}  // namespace
}  // namespace sgsim
