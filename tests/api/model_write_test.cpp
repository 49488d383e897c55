// revoke/authorize --write through the engine: the written model is the user's document with only the affected
// rule objects changed (and sgsim's RequestCounter / ClientTokens), and it reads back as the changed model.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api_fixture.h"
#include "sgsim/model/json_doc.h"
#include "sgsim/model/model_json.h"

namespace sgsim {
namespace {

using test::run;
namespace json = boost::json;

// A model as a user assembles it from aliyun output: fields sgsim never reads, in aliyun's order, and one key
// sgsim does not know (loaded with --allow-unknown-fields).
const char* kUserModel = R"({
  "SecurityGroups": [
    {"SecurityGroupId": "sg-web", "SecurityGroupName": "web", "VpcId": "vpc-1", "RegionId": "cn-hangzhou",
     "ResourceGroupId": "rg-1", "Tags": {"Tag": [{"TagKey": "team", "TagValue": "web"}]},
     "InnerAccessPolicy": "Accept",
     "Permissions": {"Permission": [
       {"Direction": "ingress", "SourceGroupId": "", "SourceCidrIp": "0.0.0.0/0", "IpProtocol": "TCP",
        "PortRange": "443/443", "Priority": "1", "Policy": "Accept", "NicType": "intranet",
        "SecurityGroupRuleId": "sgr-https", "SourceGroupName": "", "Description": "public HTTPS",
        "CreateTime": "2024-04-01T08:00:00Z"},
       {"Direction": "ingress", "SourceGroupId": "", "SourceCidrIp": "203.0.113.0/24", "IpProtocol": "TCP",
        "PortRange": "22/22", "Priority": "1", "Policy": "Accept", "NicType": "intranet",
        "SecurityGroupRuleId": "sgr-ssh", "SourceGroupName": "", "Description": "office SSH", "Reviewed": true},
       {"Direction": "egress", "DestCidrIp": "0.0.0.0/0", "IpProtocol": "TCP", "PortRange": "25/25",
        "Priority": "1", "Policy": "Drop", "NicType": "intranet", "SecurityGroupRuleId": "sgr-smtp"}
     ]}}
  ],
  "NetworkInterfaces": [
    {"NetworkInterfaceId": "eni-web", "VpcId": "vpc-1", "MacAddress": "00:16:3e:00:00:01", "Status": "InUse",
     "PrivateIpAddress": "10.0.0.5", "SecurityGroupIds": {"SecurityGroupId": ["sg-web"]}}
  ]
})";

const LoadOptions kAllow{std::nullopt, true};

Model load(const std::string& text, LoadOptions options = kAllow) {
  auto m = parseModel(text, options, "user.json");
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().toString());
  return m.ok() ? *m : Model{};
}

std::string writtenValue(const Model& m) {
  auto v = readJsonStrict(serializeModel(m), {});
  EXPECT_TRUE(v.ok());
  return v.ok() ? json::serialize(*v) : std::string();
}

json::array& webRules(json::value& doc) {
  return doc.at("SecurityGroups").as_array()[0].at("Permissions").at("Permission").as_array();
}

TEST(ModelWrite, ARevokeChangesOnlyTheRevokedRule) {
  Model m = load(kUserModel);
  auto out = run(m,
                 "aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-web --Permissions.1.IpProtocol TCP "
                 "--Permissions.1.PortRange 22/22 --Permissions.1.SourceCidrIp 203.0.113.0/24");
  ASSERT_TRUE(out.ok()) << out.code;
  ASSERT_EQ(out.removedRuleIds, std::vector<std::string>{"sgr-ssh"});
  json::value expected = json::parse(kUserModel);
  webRules(expected).erase(webRules(expected).begin() + 1);
  expected.as_object()["RequestCounter"] = 1;
  EXPECT_EQ(writtenValue(m), json::serialize(expected));
  EXPECT_EQ(load(serializeModel(m)), m);
}

TEST(ModelWrite, AnAuthorizeAppendsOneRuleInTheDocumentsShape) {
  Model m = load(kUserModel);
  auto out = run(m, R"({"Action": "AuthorizeSecurityGroup", "SecurityGroupId": "sg-web", "ClientToken": "tok-1",
    "Permissions": [{"IpProtocol": "TCP", "PortRange": "8443/8443", "SourceCidrIp": "198.51.100.0/24"}]})");
  ASSERT_TRUE(out.ok()) << out.code;
  ASSERT_EQ(out.addedRuleIds.size(), 1u);
  json::value expected = json::parse(kUserModel);
  json::object added{{"SecurityGroupRuleId", out.addedRuleIds[0]},
                     {"Direction", "ingress"},
                     {"IpProtocol", "TCP"},
                     {"PortRange", "8443/8443"},
                     {"SourceCidrIp", "198.51.100.0/24"},
                     {"Policy", "Accept"},
                     {"Priority", "1"},  // as the group's own rules write it
                     {"NicType", "intranet"}};
  webRules(expected).push_back(added);
  const auto& token = m.clientTokens.at("ecs:AuthorizeSecurityGroup:tok-1");
  expected.as_object()["ClientTokens"] = json::object{
      {"ecs:AuthorizeSecurityGroup:tok-1",
       json::object{{"ParamsDigest", token.paramsDigest}, {"Response", token.responseJson}, {"HttpStatus", 200}}}};
  expected.as_object()["RequestCounter"] = 1;
  EXPECT_EQ(writtenValue(m), json::serialize(expected));
  // The written model is the changed model, and the same request on it is a retry that changes nothing.
  Model again = load(serializeModel(m));
  EXPECT_EQ(again, m);
  auto retry = run(again, R"({"Action": "AuthorizeSecurityGroup", "SecurityGroupId": "sg-web", "ClientToken": "tok-1",
    "Permissions": [{"IpProtocol": "TCP", "PortRange": "8443/8443", "SourceCidrIp": "198.51.100.0/24"}]})");
  EXPECT_TRUE(retry.replayed);
}

TEST(ModelWrite, ABareDocumentIsWrittenBackBare) {
  const char* bare = R"({"RequestId": "R", "SecurityGroupId": "sg-web", "VpcId": "vpc-1",
    "InnerAccessControlPolicy": "Accept", "InnerAccessPolicy": "Accept", "Permissions": {"Permission": [
      {"SecurityGroupRuleId": "sgr-ssh", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22",
       "SourceCidrIp": "203.0.113.0/24", "DestCidrIp": "", "Policy": "Accept", "Priority": "1"},
      {"SecurityGroupRuleId": "sgr-web", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "80/80",
       "SourceCidrIp": "0.0.0.0/0", "DestCidrIp": "", "Policy": "Accept", "Priority": "1"}]}})";
  const LoadOptions host{IpAddr::parse("10.0.0.5"), false};
  Model m = load(bare, host);
  auto out = run(m, "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh");
  ASSERT_TRUE(out.ok()) << out.code;
  json::value expected = json::parse(bare);
  expected.at("Permissions")
      .at("Permission")
      .as_array()
      .erase(expected.at("Permissions").at("Permission").as_array().begin());
  expected.as_object()["RequestCounter"] = 1;
  EXPECT_EQ(writtenValue(m), json::serialize(expected));  // no NetworkInterfaces: the ENI came from --host
  EXPECT_EQ(load(serializeModel(m), host), m);
}

// ENS Describe output has no rule ids: sgsim's ids are derived from the rules' identity, and a revoke removes
// the rule objects whose identity matched, without writing ids into the others.
const char* kEnsModel = R"({"SecurityGroups": [{"SecurityGroupId": "sg-ens", "Permissions": {"Permission": [
  {"Direction": "ingress", "IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "0.0.0.0/0",
   "Policy": "accept", "Priority": 1, "CreationTime": "2024-01-01T00:00:00Z"},
  {"Direction": "egress", "IpProtocol": "tcp", "PortRange": "25/25", "DestCidrIp": "0.0.0.0/0",
   "Policy": "drop", "Priority": 1, "CreationTime": "2024-01-01T00:00:00Z"},
  {"Direction": "ingress", "IpProtocol": "tcp", "PortRange": "80/80", "SourceCidrIp": "0.0.0.0/0",
   "Policy": "accept", "Priority": 1, "CreationTime": "2024-01-01T00:00:00Z"}]}}],
  "NetworkInterfaces": [{"NetworkInterfaceId": "eni-ens", "PrivateIpAddress": "10.0.0.5",
    "SecurityGroupIds": {"SecurityGroup": ["sg-ens"]}}]})";

TEST(ModelWrite, AnEnsRevokeRemovesTheMatchedObjectOnly) {
  Model m = load(kEnsModel);
  ASSERT_EQ(m.groups[0].product, Product::Ens);
  auto out = run(m,
                 "aliyun ens RevokeSecurityGroupEgress --SecurityGroupId sg-ens --IpProtocol tcp --PortRange 25/25 "
                 "--DestCidrIp 0.0.0.0/0 --Policy drop");
  ASSERT_TRUE(out.ok()) << out.code;
  json::value expected = json::parse(kEnsModel);
  webRules(expected).erase(webRules(expected).begin() + 1);
  expected.as_object()["RequestCounter"] = 1;
  EXPECT_EQ(writtenValue(m), json::serialize(expected));
  EXPECT_EQ(load(serializeModel(m)), m);
}

// A new ENS rule gets the id the loader derives from its identity (ENS Describe output has none), so its object
// is written as ENS writes rules, without an id, and reloads to the same id.
TEST(ModelWrite, AnEnsAuthorizeWritesTheNewRuleWithoutAnIdAndReloadsItsId) {
  Model m = load(kEnsModel);
  auto out = run(m,
                 "aliyun ens AuthorizeSecurityGroup --SecurityGroupId sg-ens --IpProtocol udp --PortRange 53/53 "
                 "--SourceCidrIp 10.0.0.0/8 --Priority 2");
  ASSERT_TRUE(out.ok()) << out.code;
  const json::value v = json::parse(serializeModel(m));
  const auto& g = v.at("SecurityGroups").at(0);
  const auto& rules = g.at("Permissions").at("Permission").as_array();
  ASSERT_EQ(rules.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_FALSE(rules[i].as_object().contains("SecurityGroupRuleId")) << i;
  EXPECT_EQ(rules[3].at("IpProtocol"), "udp");
  EXPECT_TRUE(out.addedRuleIds[0].starts_with("ensr-")) << out.addedRuleIds[0];
  EXPECT_FALSE(g.as_object().contains("Product"));  // the rules still look like ENS output
  EXPECT_EQ(load(serializeModel(m)), m);
}

}  // namespace
}  // namespace sgsim
