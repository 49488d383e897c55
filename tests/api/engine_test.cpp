#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "api_fixture.h"

namespace sgsim {
namespace {

using test::findRule;
using test::makeModel;
using test::Params;
using test::request;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using test::run;

// Requests that each remove exactly the listed rules, and nothing else, from the fixture.
struct RevokeCase {
  const char* name;
  const char* text;
  std::vector<std::string> removed;
};

const RevokeCase kRevokes[] = {
    {"EgressIds",
     "aliyun ecs RevokeSecurityGroupEgress --SecurityGroupId sg-web --SecurityGroupRuleId.1 sgr-dns",
     {"sgr-dns"}},
    {"BareHostAddressEqualsSlash32",
     "Action=RevokeSecurityGroupEgress&SecurityGroupId=sg-web&Permissions.1.IpProtocol=UDP"
     "&Permissions.1.PortRange=53/53&Permissions.1.DestCidrIp=10.0.0.2",
     {"sgr-dns"}},
    {"DeprecatedFlatForm",
     "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&IpProtocol=TCP&PortRange=80/80&SourceCidrIp=10.0.0.0/8",
     {"sgr-http"}},
    {"Ipv6RuleMatchesNonCanonicalText",
     "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP"
     "&Permissions.1.PortRange=22/22&Permissions.1.Ipv6SourceCidrIp=2001:0DB8:0:0::/32",
     {"sgr-v6"}},
    {"NormalisesCaseCidrsAndDefaults",  // NicType internet is read as intranet; Description takes no part
     "aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-web --Permissions.1.IpProtocol tcp "
     "--Permissions.1.PortRange 22/22 --Permissions.1.SourceCidrIp 10.1.2.3/8 --Permissions.1.Policy ACCEPT "
     "--Permissions.1.Priority 1 --Permissions.1.NicType internet --Permissions.1.Description anything",
     {"sgr-ssh"}},
    {"EnsEgressAsTheSeedDescribes",
     "aliyun ens RevokeSecurityGroupEgress --SecurityGroupId sg-ens --IpProtocol tcp --PortRange 22/22 "
     "--DestCidrIp 10.0.0.0/8",
     {"sgr-ens-out"}},
    {"EnsIngressUsesSourceCidrIp",
     "Action=RevokeSecurityGroup&Version=2017-11-10&SecurityGroupId=sg-ens&IpProtocol=tcp&PortRange=22/22"
     "&SourceCidrIp=10.0.0.0/8",
     {"sgr-ens-in"}},
};

class Revokes : public ::testing::TestWithParam<RevokeCase> {};

TEST_P(Revokes, RemoveExactlyTheMatchingRules) {
  Model m = makeModel();
  const std::size_t before = m.groups[0].rules.size() + m.groups[4].rules.size();
  const auto out = run(m, GetParam().text);
  ASSERT_TRUE(out.ok()) << out.code << " " << out.message;
  EXPECT_EQ(out.removedRuleIds, GetParam().removed);
  for (const auto& id : GetParam().removed) EXPECT_EQ(findRule(m, id), nullptr);
  EXPECT_EQ(m.groups[0].rules.size() + m.groups[4].rules.size(), before - GetParam().removed.size());
}

INSTANTIATE_TEST_SUITE_P(Api, Revokes, ::testing::ValuesIn(kRevokes),
                         [](const ::testing::TestParamInfo<RevokeCase>& i) { return std::string(i.param.name); });

TEST(RevokeByIds, RemovesExactlyThoseRules) {
  Model m = makeModel();
  auto out = run(m,
                 "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-http"
                 "&SecurityGroupRuleId.2=sgr-ssh");
  ASSERT_TRUE(out.ok()) << out.code;
  EXPECT_EQ(out.httpStatus, 200);
  EXPECT_THAT(out.removedRuleIds, ElementsAre("sgr-http", "sgr-ssh"));
  EXPECT_EQ(findRule(m, "sgr-ssh"), nullptr);
  EXPECT_EQ(findRule(m, "sgr-http"), nullptr);
  EXPECT_NE(findRule(m, "sgr-tls2"), nullptr);
  EXPECT_EQ(out.bodyJson(), "{\"RequestId\":\"" + out.requestId + "\"}");
}

TEST(RevokeByPermissions, SeedIpRangeExampleAgainstAMatchingGroup) {
  Model m = makeModel();
  m.groups[0].id = "sg-bp67acfmxazb4p****";  // the seed's own group id
  auto out = run(m, R"("SecurityGroupId":"sg-bp67acfmxazb4p****",
"Permissions":[
  {
    "SourceCidrIp":"10.0.0.0/8", //设置源端 IP 地址段
    "IpProtocol":"TCP", //设置协议类型
    "PortRange":"80/80", //设置目的端口范围
    "Policy":"accept" //设置访问策略
  }
])");
  ASSERT_TRUE(out.ok()) << out.code << " " << out.message;
  EXPECT_THAT(out.removedRuleIds, ElementsAre("sgr-http"));
}

TEST(RevokeByPermissions, NoMatchSucceedsAndNamesTheNearestRule) {
  Model m = makeModel();
  const Model before = m;
  // sgr-tls2 has Priority 2; the user forgot it. sgr-ssh and sgr-http differ only in their port: named after it.
  auto out = run(m,
                 "aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-web --Permissions.1.IpProtocol TCP "
                 "--Permissions.1.PortRange 443/443 --Permissions.1.SourceCidrIp 10.0.0.0/8");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out.removedRuleIds.empty());
  ASSERT_EQ(out.nearMisses.size(), 3u);
  EXPECT_EQ(out.nearMisses[0].ruleId, "sgr-tls2");
  EXPECT_EQ(out.nearMisses[0].diff.field, "Priority");
  EXPECT_EQ(out.nearMisses[0].diff.existing, "2");
  EXPECT_EQ(out.nearMisses[0].diff.wanted, "1");
  EXPECT_THAT(out.notes,
              ElementsAre("Permissions.1 matched 0 rules; nearest: sgr-tls2 (Priority 2, not 1), "
                          "sgr-ssh (PortRange 22/22, not 443/443), sgr-http (PortRange 80/80, not 443/443)"));
  EXPECT_THAT(renderOutcomeText(out, m), HasSubstr("nearest: sgr-tls2 (Priority 2, not 1)"));
  // The model only moves its request counter.
  Model expected = before;
  expected.requestCounter = 1;
  EXPECT_TRUE(m == expected);
}

TEST(RevokeByPermissions, NearMissOnPeerKindAndPort) {
  Model m = makeModel();
  auto out = run(m,
                 "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP"
                 "&Permissions.1.PortRange=23/23&Permissions.1.SourceCidrIp=10.0.0.0/8");
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out.nearMisses.size(), 2u);  // sgr-ssh (22/22) and sgr-http (80/80)
  EXPECT_EQ(describeDiff(out.nearMisses[0].diff), "PortRange 22/22, not 23/23");
  auto kind = run(m,
                  "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=ALL"
                  "&Permissions.1.PortRange=-1/-1&Permissions.1.SourceCidrIp=10.0.0.0/8");
  ASSERT_EQ(kind.nearMisses.size(), 1u);
  EXPECT_EQ(describeDiff(kind.nearMisses[0].diff), "SourceGroupId sg-app, not SourceCidrIp 10.0.0.0/8");
}

TEST(RevokeByPermissions, GroupPrefixListAndPortListReferences) {
  Model m = makeModel();
  auto out = applyRequest(
      m, request("RevokeSecurityGroup", {{"SecurityGroupId", "sg-web"},
                                         {"Permissions.1.IpProtocol", "ALL"},
                                         {"Permissions.1.PortRange", "-1/-1"},
                                         {"Permissions.1.SourceGroupId", "sg-app"},
                                         {"Permissions.2.IpProtocol", "TCP"},
                                         {"Permissions.2.PortRange", "8080/8080"},
                                         {"Permissions.2.SourcePrefixListId", "pl-office"},
                                         {"Permissions.3.IpProtocol", "TCP"},
                                         {"Permissions.3.PortRangeListId", "prl-web"},
                                         {"Permissions.3.SourceCidrIp", "192.168.0.0/16"},
                                         // named by a rule but not in the model: exists for "not found" purposes
                                         {"Permissions.4.IpProtocol", "TCP"},
                                         {"Permissions.4.PortRange", "5432/5432"},
                                         {"Permissions.4.SourceGroupId", "sg-elsewhere"}}));
  ASSERT_TRUE(out.ok()) << out.code << " " << out.message;
  EXPECT_THAT(out.removedRuleIds, ElementsAre("sgr-grp", "sgr-pl", "sgr-prl", "sgr-ext"));
}

TEST(RevokeByPermissions, PeerPrecedenceFollowsTheSeed) {
  Model m = makeModel();
  // SourceCidrIp wins over SourceGroupId; PortRange wins over PortRangeListId; both are reported.
  auto out = applyRequest(m, request("RevokeSecurityGroup", {{"SecurityGroupId", "sg-web"},
                                                             {"Permissions.1.IpProtocol", "TCP"},
                                                             {"Permissions.1.PortRange", "22/22"},
                                                             {"Permissions.1.PortRangeListId", "prl-web"},
                                                             {"Permissions.1.SourceCidrIp", "10.0.0.0/8"},
                                                             {"Permissions.1.SourceGroupId", "sg-nope"}}));
  ASSERT_TRUE(out.ok()) << out.code;
  EXPECT_THAT(out.removedRuleIds, ElementsAre("sgr-ssh"));
  EXPECT_THAT(out.notes, ElementsAre(HasSubstr("PortRangeListId ignored"), HasSubstr("SourceGroupId ignored")));
}

TEST(Atomicity, HundredPermissionsWithOneBadChangeNothing) {
  Model m = makeModel();
  // 99 descriptions that would each remove or match nothing, and one bad one in the middle, in shuffled order.
  Params p{{"SecurityGroupId", "sg-web"}};
  std::vector<int> ports(100);
  for (int i = 0; i < 100; ++i) ports[i] = 1000 + i;
  ports[0] = 22;  // would remove sgr-ssh
  ports[1] = 80;  // would remove sgr-http
  std::mt19937 rng(42);
  std::shuffle(ports.begin(), ports.end(), rng);
  for (int i = 0; i < 100; ++i) {
    const std::string pre = "Permissions." + std::to_string(i + 1) + ".";
    p.emplace_back(pre + "IpProtocol", "TCP");
    p.emplace_back(pre + "PortRange",
                   ports[i] == 1050 ? "1050/1049" : std::to_string(ports[i]) + "/" + std::to_string(ports[i]));
    p.emplace_back(pre + "SourceCidrIp", "10.0.0.0/8");
  }
  const Model before = m;
  auto bad = applyRequest(m, request("RevokeSecurityGroup", p));
  EXPECT_EQ(bad.code, "InvalidIpPortRange.Malformed");
  EXPECT_TRUE(m == before);

  for (auto& [k, v] : p)
    if (v == "1050/1049") v = "1050/1050";
  auto good = applyRequest(m, request("RevokeSecurityGroup", p));
  ASSERT_TRUE(good.ok()) << good.code;
  EXPECT_EQ(good.removedRuleIds.size(), 2u);

  p.emplace_back("Permissions.101.IpProtocol", "TCP");
  Model fresh = makeModel();
  EXPECT_EQ(applyRequest(fresh, request("RevokeSecurityGroup", p)).code, "InvalidParam.Permissions");
}

TEST(Atomicity, MoreThanHundredRuleIds) {
  Params p{{"SecurityGroupId", "sg-web"}};
  for (int i = 1; i <= 101; ++i) p.emplace_back("SecurityGroupRuleId." + std::to_string(i), "sgr-" + std::to_string(i));
  Model m = makeModel();
  EXPECT_EQ(applyRequest(m, request("RevokeSecurityGroup", p)).code, "InvalidParam.SecurityGroupRuleId");
}

TEST(ClientToken, RetryReturnsTheFirstResponseAndActsOnce) {
  Model m = makeModel();
  const std::string req =
      "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh"
      "&ClientToken=123e4567-e89b-12d3-a456-426655440000";
  auto first = run(m, req);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(m.clientTokens.size(), 1u);  // persisted in the model, so a written model remembers it
  const Model afterFirst = m;
  // The rule is gone now; without the token this retry would fail with InvalidParam.SecurityGroupRuleId.
  auto retry = run(m, req);
  EXPECT_TRUE(retry.ok());
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.requestId, first.requestId);
  EXPECT_EQ(retry.bodyJson(), first.bodyJson());
  EXPECT_TRUE(m == afterFirst);

  auto other = run(m,
                   "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-http"
                   "&ClientToken=123e4567-e89b-12d3-a456-426655440000");
  EXPECT_EQ(other.code, "IdempotentParameterMismatch");
  EXPECT_EQ(other.httpStatus, 400);
  EXPECT_EQ(other.message, "The request uses the same client token as a previous, but non-identical request.");
  EXPECT_TRUE(m == afterFirst);
}

TEST(ClientToken, FailedRequestsAreNotRemembered) {
  Model m = makeModel();
  const std::string bad =
      "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-none"
      "&ClientToken=t-1";
  EXPECT_FALSE(run(m, bad).ok());
  EXPECT_TRUE(m.clientTokens.empty());
}

TEST(RequestId, UuidShapedDeterministicAndFreshPerRequest) {
  Model a = makeModel(), b = makeModel();
  const std::string req = "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh";
  auto x = run(a, req), y = run(b, req);
  EXPECT_EQ(x.requestId, y.requestId);
  EXPECT_TRUE(std::regex_match(x.requestId, std::regex("[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")))
      << x.requestId;
  EXPECT_EQ(a.requestCounter, 1u);
  auto z = run(a, "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-http");
  EXPECT_NE(z.requestId, x.requestId);
}

TEST(Authorize, CreatesRuleWithFreshDeterministicId) {
  Model a = makeModel(), b = makeModel();
  const std::string req =
      "aliyun ecs AuthorizeSecurityGroup --SecurityGroupId sg-web --Permissions.1.IpProtocol TCP "
      "--Permissions.1.PortRange 3306/3306 --Permissions.1.SourceGroupId sg-app "
      "--Permissions.1.Priority 5 --Permissions.1.Description 'db from app'";
  auto out = run(a, req);
  ASSERT_TRUE(out.ok()) << out.code << " " << out.message;
  ASSERT_EQ(out.addedRuleIds.size(), 1u);
  EXPECT_TRUE(std::regex_match(out.addedRuleIds[0], std::regex("sgr-[0-9a-z]{20}")));
  EXPECT_EQ(run(b, req).addedRuleIds, out.addedRuleIds);
  const Rule* r = findRule(a, out.addedRuleIds[0]);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->direction, Direction::Ingress);
  EXPECT_EQ(r->peer.kind, Peer::Kind::Group);
  EXPECT_EQ(r->peer.groupId, "sg-app");
  EXPECT_EQ(r->priority, 5);
  EXPECT_EQ(r->description, "db from app");
  EXPECT_THAT(renderOutcomeText(out, a),
              HasSubstr("added " + out.addedRuleIds[0] + " ingress TCP 3306/3306 from group sg-app accept prio 5"));
}

TEST(Authorize, ExistingRuleSucceedsAndCreatesNothing) {
  Model m = makeModel();
  auto out = run(m,
                 "Action=AuthorizeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP"
                 "&Permissions.1.PortRange=22/22&Permissions.1.SourceCidrIp=10.0.0.0/8"
                 "&Permissions.1.Description=different+text");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out.addedRuleIds.empty());
  EXPECT_THAT(out.notes, ElementsAre("Permissions.1 already exists as sgr-ssh; nothing created"));
  EXPECT_EQ(m.groups[0].rules.size(), makeModel().groups[0].rules.size());
}

TEST(Authorize, EgressIpv6WithFiveTupleNarrowing) {
  Model m = makeModel();
  auto out = run(m,
                 "Action=AuthorizeSecurityGroupEgress&SecurityGroupId=sg-web&Permissions.1.IpProtocol=ICMPv6"
                 "&Permissions.1.PortRange=-1/-1&Permissions.1.Ipv6DestCidrIp=2001:db8:1::/48"
                 "&Permissions.1.Ipv6SourceCidrIp=2001:db8:2::5");
  ASSERT_TRUE(out.ok()) << out.code << " " << out.message;
  const Rule* r = findRule(m, out.addedRuleIds.at(0));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->peer.cidr.toString(), "2001:db8:1::/48");
  ASSERT_TRUE(r->local.has_value());
  EXPECT_EQ(r->local->toString(), "2001:db8:2::5/128");
}

TEST(Quotas, RulesPerEniAndReferencedGroups) {
  Model m = makeModel();
  m.quotas.rulesPerEni = static_cast<int>(m.groups[0].rules.size());  // eni-web is full
  const std::string add =
      "Action=AuthorizeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP"
      "&Permissions.1.PortRange=9/9&Permissions.1.SourceCidrIp=10.0.0.0/8";
  const Model before = m;
  auto out = run(m, add);
  EXPECT_EQ(out.code, "AuthorizationLimitExceed");
  EXPECT_EQ(out.message, "The limit of authorization records in the security group reaches.");
  EXPECT_EQ(out.httpStatus, 400);
  EXPECT_TRUE(m == before);
  // A revoke still works on a full ENI.
  EXPECT_TRUE(run(m, "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh").ok());
  EXPECT_TRUE(run(m, add).ok());

  Model g = makeModel();
  g.quotas.referencedGroupsPerGroup = 2;  // sg-web references sg-app and sg-elsewhere already
  g.groups.push_back(test::group("sg-third", "vpc-1"));
  auto third = run(g,
                   "Action=AuthorizeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP"
                   "&Permissions.1.PortRange=9/9&Permissions.1.SourceGroupId=sg-third");
  EXPECT_EQ(third.code, "AuthorizationLimitExceed");
}

// The engine changes the group in place: rules an authorize already appended are taken back when a later
// check fails, and the request counter (hence the next RequestId and rule ids) does not move.
TEST(Atomicity, AuthorizeOverQuotaTakesBackEveryRuleItAdded) {
  Model m = makeModel();
  m.quotas.rulesPerEni = static_cast<int>(m.groups[0].rules.size()) + 2;  // room for two of three
  std::string add = "Action=AuthorizeSecurityGroup&SecurityGroupId=sg-web";
  for (int i = 1; i <= 3; ++i)
    add += "&Permissions." + std::to_string(i) + ".IpProtocol=TCP&Permissions." + std::to_string(i) +
           ".PortRange=" + std::to_string(900 + i) + "/" + std::to_string(900 + i) + "&Permissions." +
           std::to_string(i) + ".SourceCidrIp=10.0.0.0/8";
  const Model before = m;
  const auto out = run(m, add);
  EXPECT_EQ(out.code, "AuthorizationLimitExceed");
  EXPECT_TRUE(out.addedRuleIds.empty());
  EXPECT_TRUE(m == before);
  m.quotas.rulesPerEni += 1;
  const auto ok = run(m, add);
  ASSERT_TRUE(ok.ok()) << ok.code;
  EXPECT_EQ(ok.addedRuleIds.size(), 3u);
  EXPECT_EQ(m.groups[0].rules.size(), before.groups[0].rules.size() + 3);
}

TEST(Render, RemovedRulesAreDescribed) {
  Model m = makeModel();
  auto out = run(m, "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh");
  const std::string text = renderOutcomeText(out, m);
  EXPECT_THAT(text, HasSubstr("HTTP 200"));
  EXPECT_THAT(text, HasSubstr("removed sgr-ssh ingress TCP 22/22 from 10.0.0.0/8 accept prio 1"));
  auto err = run(m, "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh");
  EXPECT_THAT(renderOutcomeText(err, m), HasSubstr("HTTP 400"));
  EXPECT_THAT(renderOutcomeText(err, m), HasSubstr("InvalidParam.SecurityGroupRuleId"));
}

TEST(RuleIdentity, DescriptionAndCreateTimeDoNotTakePart) {
  Rule a = test::cidrRule("a", Direction::Ingress, Protocol::Tcp, "22/22", "10.0.0.0/8");
  Rule b = a;
  b.id = "b";
  b.description = "x";
  b.createTime = "2024-01-01T00:00:00Z";
  b.nicType = "";
  EXPECT_TRUE(sameRule(a, b, Product::Ecs));
  b.sourcePortRange = PortRange{1000, 2000};
  EXPECT_FALSE(sameRule(a, b, Product::Ecs));
  b.sourcePortRange.reset();
  b.direction = Direction::Egress;
  EXPECT_FALSE(sameRule(a, b, Product::Ecs));
}

}  // namespace
}  // namespace sgsim
