#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api_fixture.h"

namespace sgsim {
namespace {

using test::findRule;
using test::makeModel;

using test::run;

TEST(Ens, PriorityAndPolicyDefaultsTakePartInIdentity) {
  Model m = makeModel();
  const Model before = m;
  auto out = run(m,
                 "aliyun ens RevokeSecurityGroupEgress --SecurityGroupId sg-ens --IpProtocol tcp "
                 "--PortRange 22/22 --DestCidrIp 10.0.0.0/8 --Priority 2");
  EXPECT_EQ(out.code, "SecurityGroupRule.NotFound");
  EXPECT_TRUE(m == before);
}

TEST(Ens, AuthorizeCreatesAndThenRefusesTheDuplicate) {
  Model m = makeModel();
  const std::string req =
      "aliyun ens AuthorizeSecurityGroup --SecurityGroupId sg-ens --IpProtocol udp "
      "--PortRange 53/53 --SourceCidrIp 192.168.0.0/16 --Policy drop --Priority 3";
  auto first = run(m, req);
  ASSERT_TRUE(first.ok()) << first.code << " " << first.message;
  ASSERT_EQ(first.addedRuleIds.size(), 1u);
  const Rule* r = findRule(m, first.addedRuleIds[0]);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->policy, Policy::Drop);
  EXPECT_EQ(r->priority, 3);
  auto again = run(m, req);
  EXPECT_EQ(again.code, "SecurityGroupRuleConflict.Duplicated");
}

TEST(Ens, ClientTokenIsNotAnEnsParameter) {
  Model m = makeModel();
  auto out = run(m,
                 "aliyun ens RevokeSecurityGroupEgress --SecurityGroupId sg-ens --IpProtocol tcp "
                 "--PortRange 22/22 --DestCidrIp 10.0.0.0/8 --ClientToken abc");
  EXPECT_EQ(out.code, "InvalidParameter");
  EXPECT_TRUE(m.clientTokens.empty());
}

TEST(Ens, QuotaOnAuthorize) {
  Model m = makeModel();
  Eni e;
  e.id = "eni-ens";
  e.groupIds = {"sg-ens"};
  m.enis.push_back(e);
  m.quotas.rulesPerEni = 2;
  auto out = run(m,
                 "aliyun ens AuthorizeSecurityGroup --SecurityGroupId sg-ens --IpProtocol all "
                 "--PortRange -1/-1 --SourceCidrIp 0.0.0.0/0");
  EXPECT_EQ(out.code, "AuthorizationLimitExceed");
}

}  // namespace
}  // namespace sgsim
