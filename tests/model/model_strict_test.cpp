// Strict models: every key of the document is a documented Describe* field or one of sgsim's own, an unknown key
// is an error naming its JSON path and the nearest known name (a warning under allowUnknownFields), and a
// duplicate key is an error naming both places.

#include <gtest/gtest.h>

#include "model_test_util.h"
#include "sgsim/model/model_json.h"

namespace sgsim {
namespace {

using testing::editedModel;
using testing::kBaseModel;
using testing::ruleOf;
namespace json = boost::json;

json::object& group0(json::object& root) { return root["SecurityGroups"].as_array()[0].as_object(); }
json::object& eni0(json::object& root) { return root["NetworkInterfaces"].as_array()[0].as_object(); }

std::string errorOf(const std::string& text, bool allowUnknown = false) {
  auto m = parseModel(text, LoadOptions{std::nullopt, allowUnknown}, "model.json");
  EXPECT_FALSE(m.ok()) << "accepted";
  return m.ok() ? std::string() : m.error().toString();
}

Model mustLoad(const std::string& text, LoadOptions options = {}) {
  auto m = parseModel(text, options, "model.json");
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().toString());
  return m.ok() ? *m : Model{};
}

// The four typos of issue 8, each of which used to become a default silently.
TEST(ModelStrict, TyposOfTheIssueAreRefusedWithTheNearestName) {
  EXPECT_EQ(errorOf(editedModel([](json::object& o) {
              auto& r = ruleOf(o, 0, 0);
              r.erase("Policy");
              r["Polcy"] = "Drop";
            })),
            "model.json: SecurityGroups[0].Permissions.Permission[0].Polcy: unknown field (did you mean \"Policy\"?)");
  EXPECT_EQ(errorOf(editedModel([](json::object& o) { ruleOf(o, 0, 1)["Priorty"] = 50; })),
            "model.json: SecurityGroups[0].Permissions.Permission[1].Priorty: unknown field (did you mean "
            "\"Priority\"?)");
  EXPECT_EQ(errorOf(editedModel([](json::object& o) {
              auto& g = o["SecurityGroups"].as_array()[1].as_object();
              g.erase("SecurityGroupType");
              g["SecurityGroupTpye"] = "enterprise";
            })),
            "model.json: SecurityGroups[1].SecurityGroupTpye: unknown field (did you mean \"SecurityGroupType\"?)");
  EXPECT_EQ(errorOf(editedModel([](json::object& o) { group0(o)["InnerAccesPolicy"] = "Drop"; })),
            "model.json: SecurityGroups[0].InnerAccesPolicy: unknown field (did you mean \"InnerAccessPolicy\"?)");
}

struct UnknownCase {
  const char* name;
  std::function<void(json::object&)> edit;
  std::string where;                                   // after "model.json: "
  std::string message;                                 // the whole message
  std::function<void(json::object&)> clean = nullptr;  // the same document without the unknown key (default: base)
};

void PrintTo(const UnknownCase& c, std::ostream* os) { *os << c.name; }

class ModelUnknownKey : public ::testing::TestWithParam<UnknownCase> {};

TEST_P(ModelUnknownKey, IsAnErrorOrWithTheOptionAWarning) {
  const UnknownCase& c = GetParam();
  const std::string text = editedModel(c.edit);
  EXPECT_EQ(errorOf(text), "model.json: " + c.where + ": " + c.message);
  const Model m = mustLoad(text, LoadOptions{std::nullopt, true});
  ASSERT_EQ(m.source.warnings.size(), 1u);
  EXPECT_EQ(m.source.warnings[0].where, "model.json: " + c.where);
  EXPECT_NE(m.source.warnings[0].message.find("ignored"), std::string::npos) << m.source.warnings[0].message;
  // Ignored means ignored: the model is the one without the key.
  EXPECT_EQ(m, mustLoad(c.clean ? editedModel(c.clean) : std::string(kBaseModel)));
}

const std::string kNoHint = "; --allow-unknown-fields reads the model without it";

std::vector<UnknownCase> unknownCases() {
  return {
      {"top level", [](json::object& o) { o["NetworkInterface"] = json::array(); }, "NetworkInterface",
       "unknown field (did you mean \"NetworkInterfaces\"?)"},
      {"top level, far from any name", [](json::object& o) { o["Comment"] = "mine"; }, "Comment",
       "unknown field of the model (expected SecurityGroups, NetworkInterfaces, PrefixLists, PortRangeLists, Quotas, "
       "ClientTokens or RequestCounter)" +
           kNoHint},
      {"group", [](json::object& o) { group0(o)["VpcID"] = "vpc-2"; }, "SecurityGroups[0].VpcID",
       "unknown field (did you mean \"VpcId\"?)"},
      {"rule", [](json::object& o) { ruleOf(o, 0, 0)["SourceCidr"] = "10.0.0.0/8"; },
       "SecurityGroups[0].Permissions.Permission[0].SourceCidr", "unknown field (did you mean \"SourceCidrIp\"?)"},
      {"rule, far from any name", [](json::object& o) { ruleOf(o, 0, 0)["Owner"] = "me"; },
       "SecurityGroups[0].Permissions.Permission[0].Owner",
       "unknown field of a security group rule (docs/MODEL_FORMAT.md lists the fields sgsim knows)" + kNoHint},
      {"rules wrapper", [](json::object& o) { group0(o)["Permissions"].as_object()["Permisson"] = json::array(); },
       "SecurityGroups[0].Permissions.Permisson", "unknown field (did you mean \"Permission\"?)"},
      {"ENI", [](json::object& o) { eni0(o)["SecurityGroupId"] = "sg-web"; }, "NetworkInterfaces[0].SecurityGroupId",
       "unknown field (did you mean \"SecurityGroupIds\"?)"},
      {"ENI private IP set",
       [](json::object& o) {
         eni0(o)["PrivateIpSets"] =
             json::parse(R"({"PrivateIpSet": [{"PrivateIpAddress": "10.0.0.5", "Primary": true, "Primery": 1}]})");
       },
       "NetworkInterfaces[0].PrivateIpSets.PrivateIpSet[0].Primery", "unknown field (did you mean \"Primary\"?)"},
      {"ENI IPv6 set",
       [](json::object& o) { eni0(o)["Ipv6Sets"].as_object()["Ipv6Set"].as_array()[0].as_object()["Ipv6Adress"] = ""; },
       "NetworkInterfaces[0].Ipv6Sets.Ipv6Set[0].Ipv6Adress", "unknown field (did you mean \"Ipv6Address\"?)"},
      {"ENI groups wrapper",
       [](json::object& o) { eni0(o)["SecurityGroupIds"].as_object()["SecurityGroupIDs"] = json::array(); },
       "NetworkInterfaces[0].SecurityGroupIds.SecurityGroupIDs", "unknown field (did you mean \"SecurityGroupId\"?)"},
      {"connection tracking",
       [](json::object& o) {
         eni0(o)["ConnectionTrackingConfiguration"] = json::parse(R"({"UdpTimeout": 30, "Mode": 1})");
       },
       "NetworkInterfaces[0].ConnectionTrackingConfiguration.Mode",
       "unknown field of ConnectionTrackingConfiguration (expected TcpEstablishedTimeout, "
       "TcpClosedAndTimeWaitTimeout, UdpTimeout or OtherTimeout)" +
           kNoHint},
      {"prefix list",
       [](json::object& o) {
         o["PrefixLists"] = json::parse(R"([{"PrefixListId": "pl-1", "AdressFamily": "IPv6", "Entries": []}])");
       },
       "PrefixLists[0].AdressFamily", "unknown field (did you mean \"AddressFamily\"?)",
       [](json::object& o) { o["PrefixLists"] = json::parse(R"([{"PrefixListId": "pl-1", "Entries": []}])"); }},
      {"prefix list entry",
       [](json::object& o) {
         o["PrefixLists"] = json::parse(
             R"([{"PrefixListId": "pl-1", "Entries": {"Entry": [{"Cidr": "10.0.0.0/8", "Descripton": "x"}]}}])");
       },
       "PrefixLists[0].Entries.Entry[0].Descripton", "unknown field (did you mean \"Description\"?)",
       [](json::object& o) {
         o["PrefixLists"] =
             json::parse(R"([{"PrefixListId": "pl-1", "Entries": {"Entry": [{"Cidr": "10.0.0.0/8"}]}}])");
       }},
      {"prefix list entries wrapper",
       [](json::object& o) {
         o["PrefixLists"] = json::parse(R"([{"PrefixListId": "pl-1", "Entries": {"Entrys": []}}])");
       },
       "PrefixLists[0].Entries.Entrys", "unknown field (did you mean \"Entry\"?)",
       [](json::object& o) { o["PrefixLists"] = json::parse(R"([{"PrefixListId": "pl-1"}])"); }},
      {"port range list",
       [](json::object& o) {
         o["PortRangeLists"] = json::parse(R"([{"PortRangeListId": "prl-1", "PortRangeListNmae": "web"}])");
       },
       "PortRangeLists[0].PortRangeListNmae", "unknown field (did you mean \"PortRangeListName\"?)",
       [](json::object& o) { o["PortRangeLists"] = json::parse(R"([{"PortRangeListId": "prl-1"}])"); }},
      {"port range list entry",
       [](json::object& o) {
         o["PortRangeLists"] =
             json::parse(R"([{"PortRangeListId": "prl-1", "Entries": [{"PortRange": "80/80", "Note": "x"}]}])");
       },
       "PortRangeLists[0].Entries[0].Note",
       "unknown field of a port range list entry (expected PortRange or Description)" + kNoHint,
       [](json::object& o) {
         o["PortRangeLists"] = json::parse(R"([{"PortRangeListId": "prl-1", "Entries": [{"PortRange": "80/80"}]}])");
       }},
      {"quotas", [](json::object& o) { o["Quotas"] = json::parse(R"({"RulesPerENI": 2000})"); }, "Quotas.RulesPerENI",
       "unknown field (did you mean \"RulesPerEni\"?)"},
      {"client token record",
       [](json::object& o) {
         o["ClientTokens"] = json::parse(R"({"ecs:RevokeSecurityGroup:t": {"ParamsDigest": "x", "Respons": "{}"}})");
       },
       "ClientTokens.ecs:RevokeSecurityGroup:t.Respons", "unknown field (did you mean \"Response\"?)",
       [](json::object& o) {
         o["ClientTokens"] = json::parse(R"({"ecs:RevokeSecurityGroup:t": {"ParamsDigest": "x"}})");
       }},
  };
}

INSTANTIATE_TEST_SUITE_P(EveryKindOfObject, ModelUnknownKey, ::testing::ValuesIn(unknownCases()),
                         [](const ::testing::TestParamInfo<UnknownCase>& info) {
                           std::string n = info.param.name;
                           for (auto& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(ModelStrict, TheFirstUnknownKeyIsTheErrorAndEveryOneAWarning) {
  const std::string text = editedModel([](json::object& o) {
    ruleOf(o, 0, 0)["Polcy"] = "Drop";
    ruleOf(o, 0, 1)["Priorty"] = 50;
    o["Extra"] = 1;
  });
  EXPECT_EQ(errorOf(text),
            "model.json: SecurityGroups[0].Permissions.Permission[0].Polcy: unknown field (did you mean \"Policy\"?)");
  const Model m = mustLoad(text, LoadOptions{std::nullopt, true});
  ASSERT_EQ(m.source.warnings.size(), 3u);
  EXPECT_EQ(m.source.warnings[0].toString(),
            "model.json: SecurityGroups[0].Permissions.Permission[0].Polcy: unknown field (did you mean "
            "\"Policy\"?); ignored (--allow-unknown-fields)");
  EXPECT_EQ(m.source.warnings[1].where, "model.json: SecurityGroups[0].Permissions.Permission[1].Priorty");
  EXPECT_EQ(m.source.warnings[2].where, "model.json: Extra");
  EXPECT_TRUE(mustLoad(kBaseModel).source.warnings.empty());
}

TEST(ModelStrict, DocumentedFieldsSgsimDoesNotUseAreAcceptedSilently) {
  const std::string text = editedModel([](json::object& o) {
    auto& g = group0(o);
    g["ResourceGroupId"] = "rg-1";
    g["Tags"] = json::parse(R"({"Tag": [{"TagKey": "team", "TagValue": "web"}]})");
    g["CreationTime"] = "2024-01-01T00:00:00Z";
    g["RequestId"] = "X";
    g["SnapshotPolicyIds"] = json::parse(R"({"SnapshotPolicyId": []})");
    g["ServiceManaged"] = false;
    g["RuleCount"] = 2;
    auto& r = ruleOf(o, 0, 0);
    r["SourceGroupName"] = "";
    r["PortRangeListName"] = "";
    r["SourcePrefixListName"] = "";
    auto& e = eni0(o);
    for (const char* k : {"VpcId", "MacAddress", "Status", "Type", "VSwitchId", "ZoneId", "InstanceId",
                          "NetworkInterfaceName", "ResourceGroupId", "CreationTime", "Description"})
      e[k] = "x";
    e["VpcId"] = "vpc-1";  // the ENI's groups are in its VPC (another VPC is refused)
    e["Tags"] = json::parse(R"({"Tag": []})");
    e["Attachment"] = json::parse(R"({"DeviceIndex": 1})");
    e["QueueNumber"] = 8;
    e["SourceDestCheck"] = true;
    e["PrivateIpSets"] = json::parse(
        R"({"PrivateIpSet": [{"PrivateIpAddress": "10.0.0.5", "Primary": true, "PrivateDnsName": "h",
            "AssociatedPublicIp": {"PublicIpAddress": "", "AllocationId": ""}}]})");
    o["PrefixLists"] = json::parse(R"([{"PrefixListId": "pl-1", "MaxEntries": 10, "AssociationCount": 0,
      "CreationTime": "", "Description": "", "ResourceGroupId": "", "Tags": {"Tag": []},
      "Entries": {"Entry": [{"Cidr": "10.0.0.0/8", "Description": "lan"}]}}])");
    o["PortRangeLists"] = json::parse(R"([{"PortRangeListId": "prl-1", "MaxEntries": 20, "Tags": [],
      "Entries": [{"PortRange": "80/80", "Description": "web"}]}])");
  });
  const Model m = mustLoad(text);
  EXPECT_TRUE(m.source.warnings.empty()) << m.source.warnings[0].toString();
  EXPECT_EQ(m.groups, mustLoad(kBaseModel).groups);
}

TEST(ModelStrict, DelegatedPrefixesAreSaidNotModeled) {
  const Model m = mustLoad(editedModel([](json::object& o) {
    eni0(o)["Ipv4PrefixSets"] = json::parse(R"({"Ipv4PrefixSet": [{"Ipv4Prefix": "10.0.0.96/28"}]})");
    eni0(o)["Ipv6PrefixSets"] = json::parse(R"({"Ipv6PrefixSet": []})");
  }));
  ASSERT_EQ(m.source.warnings.size(), 1u);
  EXPECT_EQ(m.source.warnings[0].where, "model.json: NetworkInterfaces[0].Ipv4PrefixSets");
  EXPECT_NE(m.source.warnings[0].message.find("not taken as this interface's"), std::string::npos);
}

TEST(ModelStrict, DuplicateKeysAreRefusedAtEveryDepth) {
  // Written by hand: a JSON library cannot build a document with a duplicate key.
  EXPECT_EQ(errorOf("{\n  \"SecurityGroups\": [],\n  \"SecurityGroups\": []\n}"),
            "model.json: SecurityGroups: duplicate key at line 3, column 3 (first at line 2, column 3): JSON keeps "
            "only one of the two values; remove the other");
  const std::string rule = R"({"SecurityGroups": [{"SecurityGroupId": "sg-1", "Permissions": {"Permission": [
{"SecurityGroupRuleId": "r1", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22",
 "SourceCidrIp": "10.0.0.0/8", "Policy": "Drop",
 "Policy": "Accept"}]}}]})";
  EXPECT_EQ(errorOf(rule),
            "model.json: SecurityGroups[0].Permissions.Permission[0].Policy: duplicate key at line 4, column 2 (first "
            "at line 3, column 32): JSON keeps only one of the two values; remove the other");
  EXPECT_EQ(errorOf(R"({"SecurityGroups": [], "NetworkInterfaces": [{"NetworkInterfaceId": "e",
    "SecurityGroupIds": {"SecurityGroupId": ["a"], "SecurityGroupId": ["b"]}}]})"),
            "model.json: NetworkInterfaces[0].SecurityGroupIds.SecurityGroupId: duplicate key at line 2, column 52 "
            "(first at line 2, column 26): JSON keeps only one of the two values; remove the other");
  // --allow-unknown-fields does not make a duplicate acceptable.
  EXPECT_NE(errorOf("{\"SecurityGroups\": [], \"Quotas\": {\"GroupsPerEni\": 2, \"GroupsPerEni\": 3}}", true)
                .find("model.json: Quotas.GroupsPerEni: duplicate key"),
            std::string::npos);
}

TEST(ModelStrict, BareDocumentKeysAreAGroupsAndSgsimsOwn) {
  const char* bare = R"({"RequestId": "X", "SecurityGroupId": "sg-bare", "InnerAccessControlPolicy": "Accept",
    "NextToken": "", "RegionId": "cn-hangzhou", "VpcId": "vpc-1", "Description": "", "SecurityGroupName": "b",
    "Permissions": {"Permission": []}, "Quotas": {"RulesPerEni": 5}, "RequestCounter": 3,
    "ClientTokens": {"ecs:RevokeSecurityGroup:t": {"ParamsDigest": "d", "Response": "{}", "HttpStatus": 200}}})";
  const Model m = mustLoad(bare, LoadOptions{IpAddr::parse("10.0.0.1"), false});
  EXPECT_TRUE(m.source.bare);
  EXPECT_EQ(m.requestCounter, 3u);
  EXPECT_EQ(m.clientTokens.size(), 1u);
  EXPECT_EQ(m.quotas.rulesPerEni, 5);
  json::value v = json::parse(bare);
  v.as_object()["NetworkInterfaces"] = json::array();  // ignored by a bare document before: now refused
  auto e = parseModel(json::serialize(v), IpAddr::parse("10.0.0.1"), "g.json");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().where, "g.json: NetworkInterfaces");
}

TEST(ModelStrict, ABareDocumentsTypoIsAnErrorOrWithTheOptionAWarning) {
  const char* bare = R"({"SecurityGroupId": "sg-bare", "Permissions": {"Permision": [
    {"SecurityGroupRuleId": "sgr-1", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "443/443",
     "SourceCidrIp": "0.0.0.0/0"}]}})";
  auto e = parseModel(bare, LoadOptions{IpAddr::parse("10.0.0.1"), false}, "g.json");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().toString(), "g.json: Permissions.Permision: unknown field (did you mean \"Permission\"?)");
  const Model m = mustLoad(bare, LoadOptions{IpAddr::parse("10.0.0.1"), true});
  ASSERT_EQ(m.source.warnings.size(), 1u);
  EXPECT_EQ(m.source.warnings[0].where, "model.json: Permissions.Permision");
  EXPECT_TRUE(m.groups[0].rules.empty());  // what the warning says: the misspelled list is not read
}

TEST(ModelStrict, OlderInnerAccessControlPolicyIsRead) {
  const Model m = mustLoad(editedModel([](json::object& o) {
    group0(o).erase("InnerAccessPolicy");
    group0(o)["InnerAccessControlPolicy"] = "Drop";
  }));
  EXPECT_EQ(m.groups[0].innerAccessPolicy, Policy::Drop);
  EXPECT_EQ(errorOf(editedModel([](json::object& o) { group0(o)["InnerAccessControlPolicy"] = "Drop"; })),
            "model.json: SecurityGroups[0].InnerAccessControlPolicy: \"Drop\" disagrees with InnerAccessPolicy "
            "\"Accept\" (the older name of the same field; keep one of the two)");
}

// ENS documents as the ENS API prints them: DescribeSecurityGroupAttribute and DescribeNetworkInterfaces.
TEST(ModelStrict, EnsDocumentsLoadWithTheirOwnFields) {
  const char* ens = R"({"SecurityGroups": [{"RequestId": "R", "SecurityGroupId": "sg-ens", "SecurityGroupName": "n",
    "Description": "d", "CreationTime": "2024-01-01T00:00:00Z", "InstanceCount": 1, "InstanceIds": {"InstanceId": []},
    "NetworkInterfaceIds": {"NetworkInterfaceId": []},
    "Permissions": {"Permission": [{"Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22",
      "SourceCidrIp": "0.0.0.0/0", "DestCidrIp": "", "SourcePortRange": "", "Ipv6SourceCidrIp": "",
      "Ipv6DestCidrIp": "", "Policy": "Accept", "Priority": 1, "Description": "", "CreationTime": "t"}]}}],
    "NetworkInterfaces": [{"NetworkInterfaceId": "eni-e", "CreationTime": "", "Description": "", "EnsRegionId": "r",
      "InstanceId": "i", "MacAddress": "m", "NetworkId": "n", "NetworkInterfaceName": "", "PrimaryIp": "10.0.0.9",
      "PrimaryIpType": "Private", "Status": "InUse", "Type": "Primary", "VSwitchId": "v",
      "Ipv6Sets": {"Ipv6Set": []},
      "PrivateIpSets": {"PrivateIpSet": [{"PrivateIpAddress": "10.0.0.9", "Primary": true}]},
      "SecurityGroupIds": {"SecurityGroup": ["sg-ens"]}}]})";
  const Model m = mustLoad(ens);
  EXPECT_TRUE(m.source.warnings.empty());
  ASSERT_EQ(m.groups.size(), 1u);
  EXPECT_EQ(m.groups[0].product, Product::Ens);
  ASSERT_EQ(m.enis.size(), 1u);
  EXPECT_EQ(m.enis[0].groupIds, std::vector<std::string>{"sg-ens"});
  json::value v = json::parse(ens);
  v.at("NetworkInterfaces").as_array()[0].as_object()["SecurityGroupIds"] =
      json::parse(R"({"SecurityGroup": ["sg-ens"], "SecurityGroupId": ["sg-ens"]})");
  EXPECT_EQ(errorOf(json::serialize(v)),
            "model.json: NetworkInterfaces[0].SecurityGroupIds.SecurityGroup: both SecurityGroupId (ECS) and "
            "SecurityGroup (ENS) are given; keep one");
  v = json::parse(ens);
  v.at("SecurityGroups").as_array()[0].at("Permissions").at("Permission").as_array()[0].as_object()["Prority"] = 2;
  EXPECT_EQ(errorOf(json::serialize(v)),
            "model.json: SecurityGroups[0].Permissions.Permission[0].Prority: unknown field (did you mean "
            "\"Priority\"?)");
}

TEST(ModelStrict, TheModelKeepsItsDocument) {
  const Model m = mustLoad(kBaseModel);
  ASSERT_TRUE(m.source.document);
  EXPECT_EQ(json::serialize(*m.source.document), json::serialize(json::parse(kBaseModel)));
  EXPECT_EQ(m.source.name, "model.json");
  EXPECT_FALSE(m.source.bare);
}

}  // namespace
}  // namespace sgsim
