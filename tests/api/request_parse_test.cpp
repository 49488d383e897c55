#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "api_fixture.h"

namespace sgsim {
namespace {

using test::Params;
using ::testing::HasSubstr;

Params paramsOf(const ApiRequest& r) { return r.params; }

// The seed page's examples, pasted verbatim (comments, no outer braces).
constexpr const char* kSeedRuleIds = R"("SecurityGroupId":"sg-bp67acfmxazb4p****", //设置安全组 ID
"SecurityGroupRuleId":["sgr-bpdfmk****","sgr-bpdfmg****"] //设置安全组规则 ID)";

constexpr const char* kSeedIpRange = R"("SecurityGroupId":"sg-bp67acfmxazb4p****",
"Permissions":[
  {
    "SourceCidrIp":"10.0.0.0/8", //设置源端 IP 地址段
    "IpProtocol":"TCP", //设置协议类型
    "PortRange":"80/80", //设置目的端口范围
    "Policy":"accept" //设置访问策略
  }
])";

// The seed's group example: a comma inside the quotes of "TCP," and `]` closing an object.
constexpr const char* kSeedGroupTypo = R"("SecurityGroupId":"sg-bp67acfmxazb4p****",
"Permissions":[
  {
    "SourceGroupId":"sg-bp67acfmxa123b****", //设置源端安全组 ID
    "IpProtocol":"TCP,"
    "PortRange":"80/80",
    "Policy":"accept"
  ]
})";

// The seed's prefix-list example: the opening quote of the value is missing.
constexpr const char* kSeedPrefixTypo = R"("SecurityGroupId":"sg-bp67acfmxazb4p****",
"Permissions":[
  {
    "SourcePrefixListId":pl-x1j1k5ykzqlixdcy****", //设置源端前缀列表 ID
    "IpProtocol":"TCP",
    "PortRange":"80/80",
    "Policy":"accept"
  }
])";

TEST(RequestJson, SeedRuleIdExampleVerbatim) {
  auto r = parseRequest(kSeedRuleIds);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(r->product, Product::Ecs);
  EXPECT_EQ(r->action, "RevokeSecurityGroup");  // the page's examples carry no Action
  EXPECT_EQ(paramsOf(*r), (Params{{"SecurityGroupId", "sg-bp67acfmxazb4p****"},
                                  {"SecurityGroupRuleId.1", "sgr-bpdfmk****"},
                                  {"SecurityGroupRuleId.2", "sgr-bpdfmg****"}}));
}

TEST(RequestJson, SeedIpRangeExampleVerbatim) {
  auto r = parseRequest(kSeedIpRange);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(paramsOf(*r), (Params{{"SecurityGroupId", "sg-bp67acfmxazb4p****"},
                                  {"Permissions.1.SourceCidrIp", "10.0.0.0/8"},
                                  {"Permissions.1.IpProtocol", "TCP"},
                                  {"Permissions.1.PortRange", "80/80"},
                                  {"Permissions.1.Policy", "accept"}}));
}

// A careful user wants the typo pointed at, not guessed around: the error names the line after "TCP,".
TEST(RequestJson, SeedGroupExampleTypoNamesTheLine) {
  auto r = parseRequest(kSeedGroupTypo);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where, "request: line 6, column 5");
  EXPECT_THAT(r.error().message, HasSubstr("JSON syntax error"));
}

// With the punctuation repaired, the value itself is still "TCP," — the API would reject it, so do we.
TEST(RequestJson, SeedGroupExampleRepairedStillRejectsTcpComma) {
  std::string fixed = kSeedGroupTypo;
  fixed.replace(fixed.find("\"TCP,\""), 6, "\"TCP,\",");
  fixed.replace(fixed.find("  ]\n}"), 5, "  }\n]");
  auto r = parseRequest(fixed);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  Model m = test::makeModel();
  auto out = applyRequest(m, *r);
  EXPECT_EQ(out.code, "InvalidIpProtocol.ValueNotSupported");
}

TEST(RequestJson, SeedPrefixListExampleTypoNamesTheLine) {
  auto r = parseRequest(kSeedPrefixTypo);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().where, HasSubstr("line 4, column"));
}

TEST(RequestJson, FullObjectWithActionProductNumbersAndTrailingCommas) {
  auto r = parseRequest(R"({
    /* block comments too */
    "Action": "AuthorizeSecurityGroupEgress", "Product": "ens", "RegionId": "cn-x",
    "SecurityGroupId": "sg-1", "Priority": 7, "IpProtocol": "tcp",
  })");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(r->action, "AuthorizeSecurityGroupEgress");
  EXPECT_EQ(r->product, Product::Ens);
  EXPECT_EQ(paramsOf(*r), (Params{{"SecurityGroupId", "sg-1"}, {"Priority", "7"}, {"IpProtocol", "tcp"}}));
}

TEST(RequestJson, ErrorsAreParseErrorsNotApiErrors) {
  auto unknown = parseRequest(R"({"Action":"DeleteSecurityGroup","SecurityGroupId":"sg-1"})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("DeleteSecurityGroup"));
  auto broken = parseRequest("{\"SecurityGroupId\":\n  \"sg-1\" \"x\"}");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().where, "request: line 2, column 10");
}

TEST(RequestQuery, PercentDecodingPlusAndEnsVersion) {
  auto r = parseRequest(
      "https://ecs.aliyuncs.com/?Action=RevokeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-1"
      "&Permissions.1.SourceCidrIp=10.0.0.0%2F8&Permissions.1.Description=office+ssh%21");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(r->product, Product::Ecs);
  EXPECT_EQ(paramsOf(*r), (Params{{"SecurityGroupId", "sg-1"},
                                  {"Permissions.1.SourceCidrIp", "10.0.0.0/8"},
                                  {"Permissions.1.Description", "office ssh!"}}));
  auto ens = parseRequest("Action=RevokeSecurityGroupEgress&Version=2017-11-10&SecurityGroupId=sg-1");
  ASSERT_TRUE(ens.ok());
  EXPECT_EQ(ens->product, Product::Ens);
  auto ens2 = parseRequest("Product=ens&Action=RevokeSecurityGroup&SecurityGroupId=sg-1");
  ASSERT_TRUE(ens2.ok());
  EXPECT_EQ(ens2->product, Product::Ens);
  EXPECT_FALSE(parseRequest("SecurityGroupId=sg-1&IpProtocol=TCP").ok());  // no Action
}

TEST(RequestCli, QuotingContinuationsAndCliOptions) {
  auto r = parseRequest(
      "aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --profile prod \\\n"
      "  --SecurityGroupId 'sg-1' --Permissions.1.IpProtocol=TCP \\\n"
      "  --Permissions.1.PortRange \"22/22\" --Permissions.1.Description \"it's \\\"quoted\\\"\" \\\n"
      "  --Permissions.1.SourceCidrIp 10.0.0.0/8 --force --endpoint ecs.example.com\n");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(r->action, "RevokeSecurityGroup");
  EXPECT_EQ(paramsOf(*r), (Params{{"SecurityGroupId", "sg-1"},
                                  {"Permissions.1.IpProtocol", "TCP"},
                                  {"Permissions.1.PortRange", "22/22"},
                                  {"Permissions.1.Description", "it's \"quoted\""},
                                  {"Permissions.1.SourceCidrIp", "10.0.0.0/8"}}));
}

TEST(RequestCli, EnsFlatRepeatedListAndJsonList) {
  auto ens = parseRequest(
      "aliyun ens RevokeSecurityGroupEgress --SecurityGroupId sg-1 --IpProtocol tcp --PortRange 22/22 "
      "--DestCidrIp 10.0.0.0/8");
  ASSERT_TRUE(ens.ok()) << ens.error().toString();
  EXPECT_EQ(ens->product, Product::Ens);
  EXPECT_EQ(ens->action, "RevokeSecurityGroupEgress");
  EXPECT_EQ(ens->params.size(), 4u);

  auto ids = parseRequest(
      "aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-1 --SecurityGroupRuleId.1 sgr-a "
      "--SecurityGroupRuleId.2 sgr-b");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(
      paramsOf(*ids),
      (Params{{"SecurityGroupId", "sg-1"}, {"SecurityGroupRuleId.1", "sgr-a"}, {"SecurityGroupRuleId.2", "sgr-b"}}));

  auto json =
      parseRequest("aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-1 --Permissions '[{\"IpProtocol\":\"TCP\"}]'");
  ASSERT_TRUE(json.ok()) << json.error().toString();
  EXPECT_EQ(paramsOf(*json), (Params{{"SecurityGroupId", "sg-1"}, {"Permissions.1.IpProtocol", "TCP"}}));
}

// aliyun 3.3+'s plugin form: kebab-case operation and flags, --biz-region-id, its own global flags skipped.
TEST(RequestCli, PluginFormMapsKebabCaseOntoTheApiNames) {
  auto r = parseRequest(
      "aliyun ecs revoke-security-group --biz-region-id cn-hangzhou --region cn-hangzhou --security-group-id sg-1 \\\n"
      "  --permissions.1.ip-protocol TCP --permissions.1.port-range 22/22 --permissions.1.source-cidr-ip 10.0.0.0/8 "
      "\\\n"
      "  --permissions.1.ipv6-dest-cidr-ip=::/0 --cli-dry-run --log-level WARN -q --profile prod");
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(r->action, "RevokeSecurityGroup");
  EXPECT_EQ(r->product, Product::Ecs);
  EXPECT_EQ(paramsOf(*r), (Params{{"SecurityGroupId", "sg-1"},
                                  {"Permissions.1.IpProtocol", "TCP"},
                                  {"Permissions.1.PortRange", "22/22"},
                                  {"Permissions.1.SourceCidrIp", "10.0.0.0/8"},
                                  {"Permissions.1.Ipv6DestCidrIp", "::/0"}}));
  // The same request in the classic form means the same thing.
  auto classic = parseRequest(
      "aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-1 --Permissions.1.IpProtocol TCP "
      "--Permissions.1.PortRange 22/22 --Permissions.1.SourceCidrIp 10.0.0.0/8 --Permissions.1.Ipv6DestCidrIp ::/0");
  ASSERT_TRUE(classic.ok());
  EXPECT_EQ(r->canonical(), classic->canonical());

  auto egress = parseRequest(
      "aliyun ecs revoke-security-group-egress --security-group-id sg-1 --security-group-rule-id.1 sgr-a "
      "--security-group-rule-id.2 sgr-b");
  ASSERT_TRUE(egress.ok()) << egress.error().toString();
  EXPECT_EQ(egress->action, "RevokeSecurityGroupEgress");
  EXPECT_EQ(
      paramsOf(*egress),
      (Params{{"SecurityGroupId", "sg-1"}, {"SecurityGroupRuleId.1", "sgr-a"}, {"SecurityGroupRuleId.2", "sgr-b"}}));

  auto json = parseRequest(
      "aliyun ecs authorize-security-group --security-group-id sg-1 --permissions '[{\"IpProtocol\":\"TCP\"}]'");
  ASSERT_TRUE(json.ok()) << json.error().toString();
  EXPECT_EQ(json->action, "AuthorizeSecurityGroup");
  EXPECT_EQ(paramsOf(*json), (Params{{"SecurityGroupId", "sg-1"}, {"Permissions.1.IpProtocol", "TCP"}}));

  auto ens = parseRequest("aliyun ens authorize-security-group-egress --security-group-id sg-1 --ip-protocol tcp");
  ASSERT_TRUE(ens.ok()) << ens.error().toString();
  EXPECT_EQ(ens->product, Product::Ens);
  EXPECT_EQ(ens->action, "AuthorizeSecurityGroupEgress");
}

TEST(RequestCli, PluginAndClassicSpellingsAreNotMixed) {
  auto pascalFlag = parseRequest("aliyun ecs revoke-security-group --SecurityGroupId sg-1");
  ASSERT_FALSE(pascalFlag.ok());
  EXPECT_THAT(pascalFlag.error().message, HasSubstr("--security-group-id"));
  auto kebabFlag = parseRequest("aliyun ecs RevokeSecurityGroup --security-group-id sg-1");
  ASSERT_FALSE(kebabFlag.ok());
  EXPECT_THAT(kebabFlag.error().message, HasSubstr("--SecurityGroupId"));
  // An unknown operation in kebab-case is named as the API name it maps to.
  auto unknown = parseRequest("aliyun ecs delete-security-group --security-group-id sg-1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("DeleteSecurityGroup"));
}

TEST(RequestCli, Errors) {
  EXPECT_FALSE(parseRequest("aliyun ecs RevokeSecurityGroup --SecurityGroupId 'sg-1").ok());  // unterminated
  EXPECT_FALSE(parseRequest("aliyun vpc RevokeSecurityGroup --SecurityGroupId sg-1").ok());
  EXPECT_FALSE(parseRequest("aliyun ecs RevokeSecurityGroup --SecurityGroupId").ok());
  auto stray = parseRequest("aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-1 --SecurityGroupRuleId sgr-a sgr-b");
  ASSERT_FALSE(stray.ok());
  EXPECT_THAT(stray.error().message, HasSubstr("sgr-b"));
}

TEST(RequestLoad, FileOrText) {
  const std::string path = ::testing::TempDir() + "sgsim_api_request.json";
  {
    std::ofstream out(path);
    out << kSeedIpRange;
  }
  auto fromFile = loadRequestArg(path);
  ASSERT_TRUE(fromFile.ok()) << fromFile.error().toString();
  EXPECT_EQ(fromFile->params.size(), 5u);
  std::remove(path.c_str());
  auto fromText = loadRequestArg("Action=RevokeSecurityGroup&SecurityGroupId=sg-1&SecurityGroupRuleId.1=sgr-a");
  ASSERT_TRUE(fromText.ok());
  EXPECT_EQ(fromText->params.size(), 2u);
}

TEST(RequestCanonical, OrderAndClientTokenDoNotMatter) {
  auto a = parseRequest("Action=RevokeSecurityGroup&SecurityGroupId=sg-1&ClientToken=t1&SecurityGroupRuleId.1=x");
  auto b = parseRequest("Action=RevokeSecurityGroup&SecurityGroupRuleId.1=x&SecurityGroupId=sg-1&ClientToken=t2");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->canonical(), b->canonical());
  EXPECT_EQ(a->canonical(true), b->canonical(true));
}

// request_fuzz: a raw byte 0x91 in a parameter name reached the error response, which was then not JSON;
// a value with such bytes would have been written into the model file, which would then not load.
TEST(RequestParse, InvalidUtf8IsRefusedAtParse) {
  auto name = parseRequest(
      "Product=ens&Action=RevokeSecurityGroup&SecurityGroupId=sg-ens-web&IpProtocol=tcp&PortRange=22/22"
      "&S\x91\x8drce=CidrIp=0.0.0.0/0");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().where, "request");
  EXPECT_THAT(name.error().message, HasSubstr("UTF-8"));
  auto value = parseRequest("Action=AuthorizeSecurityGroup&SecurityGroupId=sg-1&Permissions.1.Description=%C3%28");
  ASSERT_FALSE(value.ok());
  EXPECT_THAT(value.error().message, HasSubstr("Permissions.1.Description"));
  EXPECT_FALSE(parseRequest("aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-\xed\xa0\x80").ok());  // surrogate
  auto ok = parseRequest("Action=AuthorizeSecurityGroup&SecurityGroupId=sg-1&Permissions.1.Description=caf%C3%A9");
  ASSERT_TRUE(ok.ok()) << ok.error().toString();
  EXPECT_EQ(*ok->find("Permissions.1.Description"), "caf\xc3\xa9");
}

}  // namespace
}  // namespace sgsim
