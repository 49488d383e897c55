// One rule grammar, checked from the outside (issue 8): random rule descriptions, each given both as an
// AuthorizeSecurityGroup[Egress] request and as a Permission object of a model file.
//   - whatever the loader refuses, authorize refuses, with the API's code for that problem (the table below is
//     the seed's error table, written out independently of src/api/validate.cpp);
//   - whatever authorize accepts, the written model reloads to the same model (same table), and the same
//     description in a model file loads to the same rule.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "api_fixture.h"
#include "sgsim/api/rule_identity.h"
#include "sgsim/core/text.h"
#include "sgsim/model/model_json.h"
#include "sgsim/model/rule_grammar.h"

namespace sgsim::test {
namespace {

namespace json = boost::json;

// Values a user could type for each field: valid ones, near misses and garbage. "" = leave the field out.
const std::map<std::string, std::vector<std::string>> kPool = {
    {"IpProtocol", {"TCP", "tcp", "UDP", "ICMP", "ICMPv6", "icmpv6", "GRE", "ALL", "all", "SCTP", "", " udp "}},
    {"PortRange", {"22/22", "1/65535", "-1/-1", "80/22", "0/22", "22-80", "x", "65536/65536", "", "", "443/443"}},
    {"PortRangeListId", {"", "", "", "prl-web"}},
    {"SourcePortRange", {"", "", "", "1024/65535", "-1/-1", "7", "0/5"}},
    {"SourceCidrIp", {"", "10.0.0.0/8", "0.0.0.0/0", "10.0.0.300/24", "2001:db8::/32", "192.0.2.7"}},
    {"Ipv6SourceCidrIp", {"", "", "::/0", "2001:db8::/32", "10.0.0.0/8", "zz::/5"}},
    {"SourceGroupId", {"", "", "sg-app", "sg-web", "sg-other"}},
    {"SourcePrefixListId", {"", "", "pl-office"}},
    {"DestCidrIp", {"", "", "10.0.0.5/32", "2001:db8::1", "10.0.0.0/33"}},
    {"Ipv6DestCidrIp", {"", "", "2001:db8:10::/64", "10.0.0.5", "::1/129"}},
    {"DestGroupId", {"", "", "sg-app"}},
    {"DestPrefixListId", {"", "", "pl-office"}},
    {"Policy", {"", "accept", "Drop", "drop", "allow"}},
    {"Priority", {"", "1", "100", "0", "101", "high", "50", " 7 "}},
    {"NicType", {"", "", "intranet", "internet", "wifi"}},
    {"Description", {"", "", "web", std::string(513, 'x')}},
};
const std::vector<std::string> kEnsFields = {"IpProtocol", "PortRange", "SourcePortRange", "Policy", "Priority"};

// The seed's error table, per grammar problem (ECS).
std::string ecsCode(const RuleProblem& p, Direction dir) {
  using F = RuleFault;
  const bool in = dir == Direction::Ingress;
  switch (p.fault) {
    case F::ProtocolMissing:
    case F::ProtocolUnknown:
      return "InvalidIpProtocol.ValueNotSupported";
    case F::PolicyInvalid:
      return "InvalidPolicy.Malformed";
    case F::PriorityNotInteger:
      return "InvalidPriority.Malformed";
    case F::PriorityOutOfRange:
      return "InvalidPriority.ValueNotSupported";
    case F::NicTypeInvalid:
      return "InvalidNicType.ValueNotSupported";
    case F::DescriptionTooLong:
      return "InvalidSecurityGroupDiscription.Malformed";
    case F::PortRangeMissing:
      return "InvalidPortRange.Malformed";
    case F::PortRangeSyntax:
      return "InvalidParam.PortRange";
    case F::PortRangeForProtocol:
      return "InvalidIpPortRange.Malformed";
    case F::PortListForProtocol:
      return "InvalidParam.ProtocolNotSupportPortRangeList";
    case F::SourcePortRangeInvalid:
      return "InvalidSourcePortRange.Malformed";
    case F::CidrMalformed: {
      const std::map<std::string, std::string> codes{{"SourceCidrIp", "InvalidSourceCidrIp.Malformed"},
                                                     {"DestCidrIp", "InvalidDestCidrIp.Malformed"},
                                                     {"Ipv6SourceCidrIp", "InvalidParam.Ipv6SourceCidrIp"},
                                                     {"Ipv6DestCidrIp", "InvalidParam.Ipv6DestCidrIp"}};
      return codes.at(p.field);
    }
    case F::CidrWrongFamily:
    case F::NarrowingFamily: {
      const std::map<std::string, std::string> codes{{"SourceCidrIp", "InvalidParam.SourceCidrIp"},
                                                     {"DestCidrIp", "InvalidParam.DestCidrIp"},
                                                     {"Ipv6SourceCidrIp", "InvalidParameter.Ipv6CidrIp"},
                                                     {"Ipv6DestCidrIp", "InvalidParameter.Ipv6CidrIp"}};
      return codes.at(p.field);
    }
    case F::BothFamilies:
      return p.field == "Ipv6SourceCidrIp" ? "InvalidParam.SourceIp" : "InvalidParam.DestIp";
    case F::PeerMissing:
      return in ? "MissingParameter.Source" : "MissingParameter.Dest";
    case F::IcmpWithIpv6:
      return "InvalidParam.Ipv4ProtocolConflictWithIpv6Address";
    case F::Icmpv6WithIpv4:
      return "InvalidParam.Ipv6ProtocolConflictWithIpv4Address";
    case F::EnsIpv6:
      break;
  }
  return "?";
}

struct Sample {
  Product product = Product::Ecs;
  Direction direction = Direction::Ingress;
  RuleFieldMap fields;  // only the fields given
};

// A coherent description (protocol, ports and peer that go together), then 0–2 fields replaced by anything
// from the pool, so that accepted, refused-by-the-grammar and refused-otherwise requests are all frequent.
Sample randomSample(std::mt19937& rng) {
  Sample s;
  auto one = [&](std::initializer_list<const char*> values) {
    return std::string(*(values.begin() + static_cast<std::ptrdiff_t>(rng() % values.size())));
  };
  s.product = rng() % 4 == 0 ? Product::Ens : Product::Ecs;
  s.direction = rng() % 2 ? Direction::Ingress : Direction::Egress;
  const bool in = s.direction == Direction::Ingress;
  const bool ens = s.product == Product::Ens;
  const bool v6 = !ens && rng() % 3 == 0;
  std::string proto = ens ? one({"tcp", "udp", "icmp", "gre", "all"})
                          : (v6 ? one({"TCP", "udp", "ICMPv6", "ALL"}) : one({"TCP", "udp", "ICMP", "GRE", "all"}));
  s.fields["IpProtocol"] = proto;
  const bool ported = iequals(proto, "tcp") || iequals(proto, "udp");
  if (ported && !ens && rng() % 5 == 0)
    s.fields["PortRangeListId"] = "prl-web";
  else
    s.fields["PortRange"] = ported ? one({"22/22", "80/80", "1024/65535", "443/443"}) : "-1/-1";
  if (ported && rng() % 4 == 0) s.fields["SourcePortRange"] = one({"1024/65535", "53/53"});
  const RuleWireNames& k = ruleWireNames(s.direction);
  const unsigned peerKind = ens ? 0 : rng() % 4;
  if (peerKind == 0 || peerKind == 1)
    s.fields[v6 ? k.peerV6 : k.peerV4] = v6 ? one({"::/0", "2001:db8::/32"}) : one({"10.0.0.0/8", "192.0.2.7"});
  else if (peerKind == 2)
    s.fields[k.group] = "sg-app";
  else
    s.fields[k.prefixList] = "pl-office";
  if (!ens && rng() % 4 == 0) s.fields[v6 ? k.localV6 : k.localV4] = v6 ? "2001:db8:10::/64" : "10.0.0.5/32";
  if (rng() % 2) s.fields["Policy"] = ens ? "accept" : one({"accept", "Drop"});
  if (rng() % 2) s.fields["Priority"] = one({"1", "2", "100", "50"});
  if (!ens && rng() % 3 == 0) s.fields["NicType"] = one({"intranet", "internet"});
  if (!ens && rng() % 3 == 0) s.fields["Description"] = "from the property test";

  const unsigned mutations = rng() % 5 < 2 ? 0 : 1 + rng() % 2;
  for (unsigned m = 0; m < mutations; ++m) {
    std::vector<std::string> names;
    for (const auto& [field, values] : kPool)
      if (!ens || std::find(kEnsFields.begin(), kEnsFields.end(), field) != kEnsFields.end() ||
          field == (in ? "SourceCidrIp" : "DestCidrIp"))
        names.push_back(field);
    const std::string& field = names[rng() % names.size()];
    const auto& values = kPool.at(field);
    const std::string& v = values[rng() % values.size()];
    if (v.empty())
      s.fields.erase(field);
    else
      s.fields[field] = v;
  }
  return s;
}

ApiRequest authorizeRequest(const Sample& s) {
  const bool in = s.direction == Direction::Ingress;
  ApiRequest r;
  r.product = s.product;
  r.action = in ? "AuthorizeSecurityGroup" : "AuthorizeSecurityGroupEgress";
  r.params.emplace_back("SecurityGroupId", s.product == Product::Ens ? "sg-ens" : "sg-web");
  const std::string prefix = s.product == Product::Ens ? "" : "Permissions.1.";
  for (const auto& [k, v] : s.fields) r.params.emplace_back(prefix + k, v);
  return r;
}

// The model file with the sample appended to its group as a Permission object.
std::string documentWith(const Model& base, const Sample& s) {
  json::value doc = json::parse(serializeModel(base));
  for (auto& g : doc.as_object()["SecurityGroups"].as_array()) {
    auto& group = g.as_object();
    if (group["SecurityGroupId"].as_string() != (s.product == Product::Ens ? "sg-ens" : "sg-web")) continue;
    json::object rule;
    if (s.product == Product::Ecs) rule["SecurityGroupRuleId"] = "sgr-sample";
    rule["Direction"] = s.direction == Direction::Ingress ? "ingress" : "egress";
    for (const auto& [k, v] : s.fields) rule[k] = v;
    group["Permissions"].as_object()["Permission"].as_array().push_back(std::move(rule));
  }
  return json::serialize(doc);
}

std::string describe(const Sample& s) {
  std::string out = std::string(s.product == Product::Ens ? "ens " : "ecs ") + toString(s.direction) + ":";
  for (const auto& [k, v] : s.fields) out += " " + k + "=" + v;
  return out;
}

const std::set<std::string>& grammarCodes() {
  static const std::set<std::string> codes = [] {
    std::set<std::string> c;
    for (int f = 0; f <= static_cast<int>(RuleFault::Icmpv6WithIpv4); ++f)
      for (const char* field : {"SourceCidrIp", "DestCidrIp", "Ipv6SourceCidrIp", "Ipv6DestCidrIp"})
        for (Direction d : {Direction::Ingress, Direction::Egress})
          c.insert(ecsCode(RuleProblem{static_cast<RuleFault>(f), field, ""}, d));
    c.erase("?");
    return c;
  }();
  return codes;
}

TEST(RuleGrammarProperty, LoaderAndAuthorizeAgreeOnRandomRules) {
  std::mt19937 rng(20261206);
  const Model base = makeModel();
  int accepted = 0, refusedByGrammar = 0, refusedOtherwise = 0;
  for (int i = 0; i < 2000; ++i) {
    const Sample s = randomSample(rng);
    SCOPED_TRACE(describe(s));
    Model after = base;
    const ApiOutcome o = applyRequest(after, authorizeRequest(s));
    const auto loaded = parseModel(documentWith(base, s), std::nullopt, "m.json");
    const auto asRequest = readRule(s.fields, RuleDialect{s.product, s.direction, RuleSource::Request});

    // The grammar's answer is the API's answer.
    if (!asRequest) {
      ASSERT_FALSE(o.ok());
      ++refusedByGrammar;
      if (s.product == Product::Ecs) {
        EXPECT_EQ(o.code, ecsCode(asRequest.error(), s.direction)) << asRequest.error().message;
      } else {
        const std::string peer = s.direction == Direction::Ingress ? "SourceCidrIp" : "DestCidrIp";
        const bool missing = !s.fields.count("IpProtocol") || !s.fields.count("PortRange") || !s.fields.count(peer);
        EXPECT_EQ(o.code, missing ? "MissingParameter" : "InvalidParameter." + asRequest.error().field);
      }
    } else if (!o.ok()) {
      ++refusedOtherwise;  // a conflict, a missing reference, a duplicate: not the grammar's business
      EXPECT_EQ(grammarCodes().count(o.code), 0u) << o.code;
    }

    // Whatever the loader refuses, authorize refuses.
    if (!loaded) {
      EXPECT_FALSE(o.ok()) << "the loader refused (" << loaded.error().toString() << ") but authorize created "
                           << (o.addedRuleIds.empty() ? "nothing" : o.addedRuleIds.front());
    }

    // Whatever authorize accepts reloads to the same model, and reads the same from a model file.
    if (o.ok() && !o.addedRuleIds.empty()) {
      ++accepted;
      const auto back = parseModel(serializeModel(after), std::nullopt, "after.json");
      ASSERT_TRUE(back.ok()) << back.error().toString();
      EXPECT_TRUE(*back == after);
      ASSERT_TRUE(loaded.ok()) << loaded.error().toString();
      const Rule* created = findRule(after, o.addedRuleIds.front());
      ASSERT_NE(created, nullptr);
      const Rule* fromFile = findRule(*loaded, s.product == Product::Ens ? "" : "sgr-sample");
      if (s.product == Product::Ens) {
        // ENS rules get generated ids: the appended rule is the group's last.
        for (const auto& g : loaded->groups)
          if (g.id == "sg-ens") fromFile = &g.rules.back();
      }
      ASSERT_NE(fromFile, nullptr);
      EXPECT_TRUE(sameRule(*created, *fromFile, s.product));
      EXPECT_EQ(created->description, fromFile->description);
    }
  }
  // The pools must reach all three outcomes often, or the property says little.
  EXPECT_GT(accepted, 400);
  EXPECT_GT(refusedByGrammar, 400);
  EXPECT_GT(refusedOtherwise, 25);
}

// The drift the issue found: an IPv4 peer with an IPv6 narrowing was created by authorize and refused by the
// loader. Both now refuse it, the API with the narrowing field's wrong-family code.
TEST(RuleGrammarProperty, MixedFamilyNarrowingIsRefusedByBoth) {
  Model m = makeModel();
  const ApiOutcome o = run(m,
                           "Action=AuthorizeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP&"
                           "Permissions.1.PortRange=22/22&Permissions.1.SourceCidrIp=10.0.0.0/8&"
                           "Permissions.1.Ipv6DestCidrIp=2001:db8:10::/64");
  EXPECT_EQ(o.code, "InvalidParameter.Ipv6CidrIp");
  EXPECT_EQ(o.httpStatus, 400);
  EXPECT_TRUE(m == makeModel());
}

}  // namespace
}  // namespace sgsim::test
