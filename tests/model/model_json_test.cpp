#include "sgsim/model/model_json.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "model_test_util.h"
#include "sgsim/model/describe.h"

namespace sgsim {
namespace {

using testing::editedModel;
using testing::kBaseModel;
using testing::ruleOf;
namespace json = boost::json;

Model mustParse(std::string_view text, std::optional<IpAddr> host = std::nullopt) {
  auto m = parseModel(text, host, "t.json");
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().toString());
  return m.ok() ? *m : Model{};
}

// The error for a base model with one edit: its full "file: path: message" text.
std::string errorFor(const std::function<void(json::object&)>& edit) {
  auto m = parseModel(editedModel(edit), std::nullopt, "t.json");
  EXPECT_FALSE(m.ok()) << "the edited model was accepted";
  return m.ok() ? std::string() : m.error().toString();
}

TEST(ModelJson, LoadsTheDocumentedShape) {
  Model m = mustParse(kBaseModel);
  ASSERT_EQ(m.groups.size(), 2u);
  const SecurityGroup& g = m.groups[0];
  EXPECT_EQ(g.id, "sg-web");
  EXPECT_EQ(g.product, Product::Ecs);
  ASSERT_EQ(g.rules.size(), 2u);
  const Rule& ssh = g.rules[0];
  EXPECT_EQ(ssh.direction, Direction::Ingress);
  EXPECT_EQ(ssh.protocol, Protocol::Tcp);
  EXPECT_EQ(ssh.portRange, (PortRange{22, 22}));
  EXPECT_EQ(ssh.peer.kind, Peer::Kind::Cidr);
  EXPECT_EQ(ssh.peer.cidr, *Cidr::parse("203.0.113.0/24"));
  EXPECT_FALSE(ssh.local);
  EXPECT_EQ(g.rules[1].priority, 100);
  EXPECT_EQ(g.rules[1].direction, Direction::Egress);
  EXPECT_EQ(m.groups[1].type, GroupType::Enterprise);
  ASSERT_EQ(m.enis.size(), 1u);
  EXPECT_EQ(m.enis[0].addresses, (std::vector<IpAddr>{*IpAddr::parse("10.0.0.5"), *IpAddr::parse("2001:db8::5")}));
  EXPECT_EQ(m.enis[0].groupIds, std::vector<std::string>{"sg-web"});
}

TEST(ModelJson, RoundTripsEverything) {
  const std::string text = editedModel([](json::object& root) {
    auto& groups = root["SecurityGroups"].as_array();
    auto& rules = groups[0].as_object()["Permissions"].as_object()["Permission"].as_array();
    rules.push_back(json::parse(R"({"SecurityGroupRuleId": "sgr-grp", "Direction": "ingress", "IpProtocol": "udp",
      "PortRangeListId": "prl-web", "SourcePortRange": "1024/65535", "SourceGroupId": "sg-ent",
      "SourceGroupOwnerId": 1234, "DestCidrIp": "10.0.0.5", "Policy": "drop", "Priority": 7})"));
    rules.push_back(json::parse(R"({"SecurityGroupRuleId": "sgr-pl", "Direction": "egress", "IpProtocol": "ICMPv6",
      "DestPrefixListId": "pl-v6", "SourceCidrIp": "", "Ipv6SourceCidrIp": "2001:db8::/64"})"));
    groups.push_back(json::parse(R"({"SecurityGroupId": "sg-ens", "Product": "ens", "Permissions": {"Permission": [
      {"Direction": "egress", "IpProtocol": "tcp", "PortRange": "80/80", "DestCidrIp": "1.2.3.0/24",
       "Priority": 2, "CreationTime": "2024-01-01T00:00:00Z"}]}})"));
    root["NetworkInterfaces"].as_array()[0].as_object()["ConnectionTrackingConfiguration"] =
        json::parse(R"({"TcpEstablishedTimeout": 300, "UdpTimeout": "20"})");
    root["PrefixLists"] = json::parse(R"([{"PrefixListId": "pl-v6", "AddressFamily": "IPv6",
      "Entries": {"Entry": [{"Cidr": "2001:db8:1::/48"}]}}])");
    root["PortRangeLists"] = json::parse(R"([{"PortRangeListId": "prl-web", "PortRangeListName": "web",
      "Entries": [{"PortRange": "80/80"}, {"PortRange": "443/443"}]}])");
    root["Quotas"] = json::parse(R"({"GroupsPerEni": 5})");
    root["ClientTokens"] = json::parse(R"({"ecs|RevokeSecurityGroup|tok": {"ParamsDigest": "a=1",
      "Response": "{\"RequestId\":\"x\"}", "HttpStatus": 200}})");
    root["RequestCounter"] = 42;
  });
  const Model m = mustParse(text);
  ASSERT_EQ(m.groups.size(), 3u);
  EXPECT_EQ(m.enis[0].timeouts.tcpEstablished, 300u);
  EXPECT_EQ(m.enis[0].timeouts.udp, 20u);
  EXPECT_EQ(m.quotas.groupsPerEni, 5);
  EXPECT_EQ(m.requestCounter, 42u);

  const std::string written = serializeModel(m);
  const Model back = mustParse(written);
  EXPECT_EQ(back, m);
  EXPECT_EQ(serializeModel(back), written);
  EXPECT_NE(written.find("\"ClientTokens\""), std::string::npos);
  EXPECT_NE(written.find("\"Quotas\""), std::string::npos);
  EXPECT_NE(written.find("\"RequestCounter\": 42"), std::string::npos);
}

TEST(ModelJson, RoundTripsRandomModels) {
  std::mt19937 rng(20240501);  // seeded: a failure is reproducible
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (int iter = 0; iter < 50; ++iter) {
    Model m;
    const int groups = 1 + pick(3);
    for (int gi = 0; gi < groups; ++gi) {
      SecurityGroup g;
      g.id = "sg-" + std::to_string(gi);
      g.innerAccessPolicy = pick(2) ? Policy::Accept : Policy::Drop;
      const int rules = pick(6);
      for (int ri = 0; ri < rules; ++ri) {
        Rule r;
        r.id = "sgr-" + std::to_string(gi) + "-" + std::to_string(ri);
        r.direction = pick(2) ? Direction::Ingress : Direction::Egress;
        r.protocol = pick(2) ? Protocol::Tcp : Protocol::All;
        const int lo = 1 + pick(60000);
        r.portRange = r.protocol == Protocol::Tcp ? PortRange{lo, lo + pick(100)} : PortRange::anyPort();
        r.peer.cidr = Cidr::of(IpAddr::v4(static_cast<std::uint32_t>(rng())), pick(33));
        if (pick(3) == 0) r.local = Cidr::of(IpAddr::v4(static_cast<std::uint32_t>(rng())), 24 + pick(9));
        r.policy = pick(2) ? Policy::Accept : Policy::Drop;
        r.priority = 1 + pick(100);
        r.description = pick(2) ? "note \"quoted\" \\ " + std::to_string(ri) : "";
        g.rules.push_back(r);
      }
      m.groups.push_back(g);
    }
    m.enis.push_back(Eni{"eni-0", {IpAddr::v4(0x0a000001)}, {"sg-0"}, Timeouts{}});
    m.requestCounter = rng();
    const Model back = mustParse(serializeModel(m));
    ASSERT_EQ(back, m) << serializeModel(m);
  }
}

TEST(ModelJson, DamagedDocumentsAreRefusedOrRoundTrip) {
  // Whatever the damage, the loader answers with a model or an Error, never a crash or an exception, and any
  // model it accepts survives a write and a reload unchanged.
  std::mt19937 rng(7);
  const std::string base = kBaseModel;
  const std::string alphabet = "{}[]\":,0123456789-/. aA";
  for (int iter = 0; iter < 2000; ++iter) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !text.empty(); ++k) {
      const std::size_t at = rng() % text.size();
      if (rng() % 2 == 0) {
        text.erase(at, 1);
      } else {
        text[at] = alphabet[rng() % alphabet.size()];
      }
    }
    Result<Model> m = Error{};
    ASSERT_NO_THROW(m = parseModel(text, std::nullopt, "fuzz")) << text;
    if (!m.ok()) {
      EXPECT_FALSE(m.error().message.empty());
      continue;
    }
    auto back = parseModel(serializeModel(*m), std::nullopt, "again");
    ASSERT_TRUE(back.ok()) << back.error().toString() << "\n" << text;
    EXPECT_EQ(*back, *m) << text;
  }
}

TEST(ModelJson, ErrorNamesThePathAndTheProblem) {
  EXPECT_EQ(
      errorFor([](json::object& root) {
        root["SecurityGroups"].as_array()[0].as_object()["Permissions"].as_object()["Permission"].as_array().push_back(
            json::parse(R"({"SecurityGroupRuleId": "a", "Direction": "ingress", "IpProtocol": "TCP",
                                  "SourceCidrIp": "0.0.0.0/0"})"));
        root["SecurityGroups"].as_array()[0].as_object()["Permissions"].as_object()["Permission"].as_array().push_back(
            json::parse(R"({"SecurityGroupRuleId": "b", "Direction": "ingress", "IpProtocol": "TCP",
                                  "PortRange": "22-80", "SourceCidrIp": "0.0.0.0/0"})"));
      }),
      // rule [2] lacks a PortRange, which is reported before rule [3]
      "t.json: SecurityGroups[0].Permissions.Permission[2].PortRange: missing (required for TCP, e.g. "
      "\"22/22\", unless PortRangeListId is given)");
  EXPECT_EQ(errorFor([](json::object& root) { ruleOf(root, 0, 0)["PortRange"] = "22-80"; }),
            "t.json: SecurityGroups[0].Permissions.Permission[0].PortRange: \"22-80\" is not a port range "
            "(expected \"from/to\")");
}

struct BadCase {
  const char* name;
  std::function<void(json::object&)> edit;
  std::string path;     // expected JSON path (after "t.json: ")
  std::string message;  // expected part of the message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ModelJsonRefuses : public ::testing::TestWithParam<BadCase> {};

TEST_P(ModelJsonRefuses, WithPathAndReason) {
  const BadCase& c = GetParam();
  auto m = parseModel(editedModel(c.edit), std::nullopt, "t.json");
  ASSERT_FALSE(m.ok()) << c.name;
  EXPECT_EQ(m.error().where, "t.json: " + c.path) << m.error().toString();
  EXPECT_NE(m.error().message.find(c.message), std::string::npos) << m.error().toString();
}

const std::string kRule0 = "SecurityGroups[0].Permissions.Permission[0]";

json::object& eni0(json::object& root) { return root["NetworkInterfaces"].as_array()[0].as_object(); }

std::vector<BadCase> badCases() {
  const std::string r = kRule0;
  const std::string dir = r + ".Direction", proto = r + ".IpProtocol", ports = r + ".PortRange",
                    cidr = r + ".SourceCidrIp", v6 = r + ".Ipv6SourceCidrIp", prio = r + ".Priority",
                    id = "SecurityGroups[0].Permissions.Permission[1].SecurityGroupRuleId", dest = r + ".DestCidrIp",
                    policy = r + ".Policy";
  return {
      {"missing direction", [](json::object& o) { ruleOf(o, 0, 0).erase("Direction"); }, dir, "missing"},
      {"bad direction", [](json::object& o) { ruleOf(o, 0, 0)["Direction"] = "inbound"; }, dir,
       "\"inbound\" is not a direction"},
      {"missing protocol", [](json::object& o) { ruleOf(o, 0, 0)["IpProtocol"] = ""; }, proto, "missing"},
      {"unknown protocol", [](json::object& o) { ruleOf(o, 0, 0)["IpProtocol"] = "SCTP"; }, proto,
       "\"SCTP\" is not a protocol"},
      {"port range syntax", [](json::object& o) { ruleOf(o, 0, 0)["PortRange"] = "22-80"; }, ports,
       "is not a port range (expected \"from/to\")"},
      {"port range order", [](json::object& o) { ruleOf(o, 0, 0)["PortRange"] = "80/22"; }, ports,
       "1 <= from <= to <= 65535"},
      {"port zero", [](json::object& o) { ruleOf(o, 0, 0)["PortRange"] = "0/22"; }, ports, "1 <= from <= to <= 65535"},
      {"any port on TCP", [](json::object& o) { ruleOf(o, 0, 0)["PortRange"] = "-1/-1"; }, ports, "not valid for TCP"},
      {"ports on ICMP", [](json::object& o) { ruleOf(o, 0, 0)["IpProtocol"] = "ICMP"; }, ports,
       "only TCP and UDP have ports"},
      {"bad source port range", [](json::object& o) { ruleOf(o, 0, 0)["SourcePortRange"] = "x"; },
       r + ".SourcePortRange", "is not a port range"},
      {"bad cidr", [](json::object& o) { ruleOf(o, 0, 0)["SourceCidrIp"] = "10.0.0.300/24"; }, cidr,
       "\"10.0.0.300/24\" is not an IPv4 CIDR block"},
      {"v6 in v4 field", [](json::object& o) { ruleOf(o, 0, 0)["SourceCidrIp"] = "2001:db8::/32"; }, cidr,
       "wrong address family"},
      {"both v4 and v6 peers", [](json::object& o) { ruleOf(o, 0, 0)["Ipv6SourceCidrIp"] = "::/0"; }, v6,
       "both SourceCidrIp and Ipv6SourceCidrIp"},
      {"ingress without peer", [](json::object& o) { ruleOf(o, 0, 0)["SourceCidrIp"] = ""; }, r,
       "ingress rule has no peer"},
      {"egress without peer", [](json::object& o) { ruleOf(o, 0, 1).erase("DestCidrIp"); },
       "SecurityGroups[0].Permissions.Permission[1]", "egress rule has no peer"},
      {"narrowing of the other family", [](json::object& o) { ruleOf(o, 0, 0)["Ipv6DestCidrIp"] = "2001:db8::/64"; },
       r + ".Ipv6DestCidrIp", "different address families"},
      {"priority zero", [](json::object& o) { ruleOf(o, 0, 0)["Priority"] = 0; }, prio,
       "0 is not a priority (expected 1..100)"},
      {"priority 101", [](json::object& o) { ruleOf(o, 0, 0)["Priority"] = "101"; }, prio, "101 is not a priority"},
      {"priority word", [](json::object& o) { ruleOf(o, 0, 0)["Priority"] = "high"; }, prio, "is not an integer"},
      {"bad policy", [](json::object& o) { ruleOf(o, 0, 0)["Policy"] = "allow"; }, policy, "\"allow\" is not a policy"},
      {"ECS rule without id", [](json::object& o) { ruleOf(o, 0, 0).erase("SecurityGroupRuleId"); },
       r + ".SecurityGroupRuleId", "missing"},
      {"duplicate rule id", [](json::object& o) { ruleOf(o, 0, 1)["SecurityGroupRuleId"] = "sgr-ssh"; }, id,
       "duplicate id \"sgr-ssh\""},
      {"duplicate group id",
       [](json::object& o) { o["SecurityGroups"].as_array()[1].as_object()["SecurityGroupId"] = "sg-web"; },
       "SecurityGroups[1].SecurityGroupId", "duplicate id \"sg-web\" (also at SecurityGroups[0])"},
      {"missing group id",
       [](json::object& o) { o["SecurityGroups"].as_array()[1].as_object().erase("SecurityGroupId"); },
       "SecurityGroups[1].SecurityGroupId", "missing"},
      {"duplicate ENI id",
       [](json::object& o) {
         json::value copy = eni0(o);
         copy.as_object()["PrivateIpAddress"] = "10.0.0.6";
         copy.as_object().erase("Ipv6Sets");
         o["NetworkInterfaces"].as_array().push_back(copy);
       },
       "NetworkInterfaces[1].NetworkInterfaceId", "duplicate id \"eni-web\""},
      {"address on two ENIs",
       [](json::object& o) {
         json::value copy = eni0(o);
         copy.as_object()["NetworkInterfaceId"] = "eni-2";
         o["NetworkInterfaces"].as_array().push_back(copy);
       },
       "NetworkInterfaces[1]", "address 10.0.0.5 is also on eni-web"},
      {"ENI without address",
       [](json::object& o) {
         eni0(o)["PrivateIpAddress"] = "";
         eni0(o).erase("Ipv6Sets");
       },
       "NetworkInterfaces[0]", "has no address"},
      {"ENI with a bad address", [](json::object& o) { eni0(o)["PrivateIpAddress"] = "10.0.0"; },
       "NetworkInterfaces[0].PrivateIpAddress", "\"10.0.0\" is not an IPv4 address"},
      {"ENI without groups", [](json::object& o) { eni0(o)["SecurityGroupIds"] = json::array(); },
       "NetworkInterfaces[0].SecurityGroupIds", "at least one security group"},
      {"ENI with an unknown group", [](json::object& o) { eni0(o)["SecurityGroupIds"] = json::array{"sg-nope"}; },
       "NetworkInterfaces[0].SecurityGroupIds[0]", "sg-nope is not in SecurityGroups"},
      {"ENI with mixed group types",
       [](json::object& o) {
         eni0(o)["SecurityGroupIds"] = json::object{{"SecurityGroupId", {"sg-web", "sg-ent"}}};
       },
       "NetworkInterfaces[0].SecurityGroupIds.SecurityGroupId[1]", "all of one type"},
      {"ENI with 11 groups",
       [](json::object& o) {
         json::array ids;
         for (int i = 0; i < 11; ++i) {
           const std::string id = "sg-" + std::to_string(i);
           o["SecurityGroups"].as_array().push_back(json::object{{"SecurityGroupId", id}});
           ids.push_back(json::string(id));
         }
         eni0(o)["SecurityGroupIds"] = ids;
       },
       "NetworkInterfaces[0].SecurityGroupIds", "11 groups, more than Quotas.GroupsPerEni (10)"},
      {"bad narrowing", [](json::object& o) { ruleOf(o, 0, 0)["DestCidrIp"] = "10.0.0.5/40"; }, dest,
       "is not an IPv4 CIDR block"},
      {"ICMP with IPv6 addresses",
       [](json::object& o) {
         ruleOf(o, 0, 0)["IpProtocol"] = "ICMP";
         ruleOf(o, 0, 0)["PortRange"] = "-1/-1";
         ruleOf(o, 0, 0)["SourceCidrIp"] = "";
         ruleOf(o, 0, 0)["Ipv6SourceCidrIp"] = "::/0";
       },
       proto, "ICMP is IPv4 only"},
      {"zero timeout",
       [](json::object& o) {
         eni0(o)["ConnectionTrackingConfiguration"] = json::object{{"UdpTimeout", 0}};
       },
       "NetworkInterfaces[0].ConnectionTrackingConfiguration.UdpTimeout", "0 is not a positive integer"},
      {"bad quota",
       [](json::object& o) {
         o["Quotas"] = json::object{{"GroupsPerEni", "many"}};
       },
       "Quotas.GroupsPerEni", "is not an integer"},
      {"prefix list entry of the other family",
       [](json::object& o) {
         o["PrefixLists"] = json::parse(R"([{"PrefixListId": "pl-1", "AddressFamily": "IPv6",
                                            "Entries": {"Entry": [{"Cidr": "10.0.0.0/8"}]}}])");
       },
       "PrefixLists[0].Entries.Entry[0].Cidr", "is not an IPv6 CIDR block"},
      {"duplicate prefix list id",
       [](json::object& o) {
         o["PrefixLists"] = json::parse(R"([{"PrefixListId": "pl-1"}, {"PrefixListId": "pl-1"}])");
       },
       "PrefixLists[1].PrefixListId", "duplicate id \"pl-1\""},
      {"bad port range list entry",
       [](json::object& o) {
         o["PortRangeLists"] = json::parse(R"([{"PortRangeListId": "prl-1", "Entries": [{"PortRange": "80"}]}])");
       },
       "PortRangeLists[0].Entries[0].PortRange", "is not a port range"},
      {"port range list on ICMP",
       [](json::object& o) {
         ruleOf(o, 0, 0)["IpProtocol"] = "ICMP";
         ruleOf(o, 0, 0)["PortRange"] = "";
         ruleOf(o, 0, 0)["PortRangeListId"] = "prl-1";
       },
       r + ".PortRangeListId", "needs TCP or UDP"},
      {"ENI in groups of two VPCs",
       [](json::object& o) {
         o["SecurityGroups"].as_array().emplace_back(json::parse(
             R"({"SecurityGroupId": "sg-b", "VpcId": "vpc-2", "SecurityGroupType": "normal", "Permissions": []})"));
         eni0(o)["SecurityGroupIds"] = json::parse(R"({"SecurityGroupId": ["sg-web", "sg-b"]})");
       },
       "NetworkInterfaces[0].SecurityGroupIds.SecurityGroupId[1]",
       "sg-b is in vpc-2 but sg-web is in vpc-1; an ENI and all its security groups are in one VPC"},
      {"ENI VpcId against its group", [](json::object& o) { eni0(o)["VpcId"] = "vpc-9"; },
       "NetworkInterfaces[0].SecurityGroupIds.SecurityGroupId[0]",
       "sg-web is in vpc-1 but the ENI's VpcId is in vpc-9"},
      {"group peer in another VPC",
       [](json::object& o) {
         o["SecurityGroups"].as_array().emplace_back(json::parse(
             R"({"SecurityGroupId": "sg-b", "VpcId": "vpc-2", "SecurityGroupType": "normal", "Permissions": []})"));
         ruleOf(o, 0, 0).erase("SourceCidrIp");
         ruleOf(o, 0, 0)["SourceGroupId"] = "sg-b";
       },
       r + ".SourceGroupId",
       "sg-b is in vpc-2 but this rule's group sg-web is in vpc-1; a group peer matches members of the same VPC only"},
      {"description too long", [](json::object& o) { ruleOf(o, 0, 0)["Description"] = std::string(513, 'd'); },
       r + ".Description", "is 513 characters long (at most 512)"},
      {"permissions of the wrong shape",
       [](json::object& o) { o["SecurityGroups"].as_array()[0].as_object()["Permissions"] = 3; },
       "SecurityGroups[0].Permissions", "expected an array or {\"Permission\": [...]}"},
  };
}

INSTANTIATE_TEST_SUITE_P(All, ModelJsonRefuses, ::testing::ValuesIn(badCases()),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           std::string n = info.param.name;
                           for (auto& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// A rule naming what the model lacks matches nothing: the model loads, with one warning per such field, each
// with its JSON path (issue 8).
TEST(ModelJson, DanglingReferencesAreWarningsWithTheirPaths) {
  const Model m = mustParse(editedModel([](json::object& o) {
    auto& rule = ruleOf(o, 0, 0);
    rule.erase("SourceCidrIp");
    rule["SourcePrefixListId"] = "pl-gone";
    rule["PortRange"] = "";
    rule["PortRangeListId"] = "prl-gone";
    auto& out = ruleOf(o, 0, 1);
    out.erase("DestCidrIp");
    out["DestGroupId"] = "sg-gone";
  }));
  ASSERT_EQ(m.source.warnings.size(), 3u);
  const std::string r0 = "t.json: SecurityGroups[0].Permissions.Permission[0].";
  EXPECT_EQ(m.source.warnings[0].where, r0 + "SourcePrefixListId");
  EXPECT_EQ(m.source.warnings[0].message,
            "prefix list pl-gone is not in the model, so this rule matches no traffic (add its entries under "
            "PrefixLists)");
  EXPECT_EQ(m.source.warnings[1].where, r0 + "PortRangeListId");
  EXPECT_EQ(m.source.warnings[2].where, "t.json: SecurityGroups[0].Permissions.Permission[1].DestGroupId");
  EXPECT_NE(m.source.warnings[2].message.find("group sg-gone is not in the model"), std::string::npos);
  // The same references, present in the model: no warning.
  EXPECT_TRUE(mustParse(kBaseModel).source.warnings.empty());
  // A bare Describe document names peers outside it: each is a warning, with the document's short paths.
  auto bare = parseModel(R"({"SecurityGroupId": "sg-1", "Permissions": {"Permission": [
      {"SecurityGroupRuleId": "sgr-1", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "80/80",
       "SourceGroupId": "sg-lb"}]}})",
                         IpAddr::parse("10.0.0.5"), "d.json");
  ASSERT_TRUE(bare.ok()) << bare.error().toString();
  ASSERT_EQ(bare->source.warnings.size(), 1u);
  EXPECT_EQ(bare->source.warnings[0].where, "d.json: Permissions.Permission[0].SourceGroupId");
}

TEST(ModelJson, QuotaRaisesTheGroupLimit) {
  const std::string text = editedModel([](json::object& o) {
    o["Quotas"] = json::object{{"GroupsPerEni", 11}};
    json::array ids;
    for (int i = 0; i < 11; ++i) {
      const std::string id = "sg-" + std::to_string(i);
      o["SecurityGroups"].as_array().push_back(json::object{{"SecurityGroupId", id}});
      ids.push_back(json::string(id));
    }
    eni0(o)["SecurityGroupIds"] = ids;
  });
  EXPECT_EQ(mustParse(text).enis[0].groupIds.size(), 11u);
}

TEST(ModelJson, InvalidJsonSaysWhere) {
  auto m = parseModel("{\n  \"SecurityGroups\": [\n    {,\n", std::nullopt, "bad.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().where, "bad.json:3:6");
  EXPECT_NE(m.error().message.find("invalid JSON"), std::string::npos);
}

TEST(ModelJson, AcceptsCommentsAsInTheFormatDocument) {
  const std::string text = std::string("// a hand-written teaching model\n") + kBaseModel;
  EXPECT_EQ(mustParse(text), mustParse(kBaseModel));
}

TEST(ModelJson, IcmpWithoutPortRangeMeansEveryPacket) {
  const Model m = mustParse(editedModel([](json::object& o) {
    ruleOf(o, 0, 0)["IpProtocol"] = "icmp";
    ruleOf(o, 0, 0).erase("PortRange");
  }));
  EXPECT_EQ(m.groups[0].rules[0].portRange, PortRange::anyPort());
}

TEST(ModelJson, EmptyStringIsAbsent) {
  const Model plain = mustParse(kBaseModel);
  const Model padded = mustParse(editedModel([](json::object& o) {
    for (const char* k :
         {"SourcePortRange", "PortRangeListId", "Ipv6SourceCidrIp", "SourceGroupId", "SourceGroupOwnerAccount",
          "SourcePrefixListId", "DestCidrIp", "Ipv6DestCidrIp", "DestGroupId", "DestPrefixListId"})
      ruleOf(o, 0, 0)[k] = "";
    ruleOf(o, 0, 1)["SourceCidrIp"] = "";
    ruleOf(o, 0, 1)["Ipv6SourceCidrIp"] = "";
    o["SecurityGroups"].as_array()[0].as_object()["SecurityGroupName"] = "";
    o["SecurityGroups"].as_array()[1].as_object()["InnerAccessPolicy"] = "";
  }));
  EXPECT_EQ(padded, plain);
  // Absent Policy, Priority and NicType take their defaults.
  const Model bare = mustParse(editedModel([](json::object& o) {
    ruleOf(o, 0, 0)["Policy"] = "";
    ruleOf(o, 0, 0)["Priority"] = "";
    ruleOf(o, 0, 0).erase("NicType");
  }));
  EXPECT_EQ(bare.groups[0].rules[0], plain.groups[0].rules[0]);
}

TEST(ModelJson, ValuesInAnyCase) {
  const Model plain = mustParse(kBaseModel);
  const Model shouted = mustParse(editedModel([](json::object& o) {
    ruleOf(o, 0, 0)["Direction"] = "Ingress";
    ruleOf(o, 0, 0)["IpProtocol"] = "tcp";
    ruleOf(o, 0, 0)["Policy"] = "ACCEPT";
    ruleOf(o, 0, 1)["IpProtocol"] = "all";
    ruleOf(o, 0, 1)["Direction"] = "EGRESS";
    o["SecurityGroups"].as_array()[0].as_object()["InnerAccessPolicy"] = "accept";
    o["SecurityGroups"].as_array()[1].as_object()["SecurityGroupType"] = "Enterprise";
  }));
  EXPECT_EQ(shouted, plain);
  const Model dropped = mustParse(editedModel([](json::object& o) { ruleOf(o, 0, 0)["Policy"] = "drop"; }));
  EXPECT_EQ(dropped.groups[0].rules[0].policy, Policy::Drop);
}

TEST(ModelJson, PriorityAsStringOrNumber) {
  const Model asString = mustParse(editedModel([](json::object& o) { ruleOf(o, 0, 0)["Priority"] = "5"; }));
  const Model asNumber = mustParse(editedModel([](json::object& o) { ruleOf(o, 0, 0)["Priority"] = 5; }));
  EXPECT_EQ(asString.groups[0].rules[0].priority, 5);
  EXPECT_EQ(asString, asNumber);
}

TEST(ModelJson, PlainArrayShapes) {
  const Model wrapped = mustParse(kBaseModel);
  const Model plain = mustParse(editedModel([](json::object& o) {
    auto& g = o["SecurityGroups"].as_array()[0].as_object();
    json::value list = g["Permissions"].as_object()["Permission"];
    g["Permissions"] = list;
    eni0(o)["SecurityGroupIds"] = json::array{"sg-web"};
    eni0(o)["Ipv6Sets"] = json::array{json::object{{"Ipv6Address", "2001:db8::5"}}};
  }));
  EXPECT_EQ(plain, wrapped);
  // Paths follow the shape the user wrote.
  auto m = parseModel(editedModel([](json::object& o) {
                        auto& g = o["SecurityGroups"].as_array()[0].as_object();
                        json::value list = g["Permissions"].as_object()["Permission"];
                        g["Permissions"] = list;
                        ruleOf(o, 0, 1)["Priority"] = 0;
                      }),
                      std::nullopt, "t.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().where, "t.json: SecurityGroups[0].Permissions[1].Priority");
}

TEST(ModelJson, PeerPrecedence) {
  // A CIDR wins over a group, which wins over a prefix list.
  const Model both = mustParse(editedModel([](json::object& o) {
    ruleOf(o, 0, 0)["SourceGroupId"] = "sg-other";
    ruleOf(o, 0, 0)["SourcePrefixListId"] = "pl-x";
  }));
  EXPECT_EQ(both.groups[0].rules[0].peer.kind, Peer::Kind::Cidr);
  const Model group = mustParse(editedModel([](json::object& o) {
    ruleOf(o, 0, 0)["SourceCidrIp"] = "";
    ruleOf(o, 0, 0)["SourceGroupId"] = "sg-other";
    ruleOf(o, 0, 0)["SourcePrefixListId"] = "pl-x";
  }));
  EXPECT_EQ(group.groups[0].rules[0].peer.kind, Peer::Kind::Group);
  EXPECT_EQ(group.groups[0].rules[0].peer.groupId, "sg-other");
  const Model prefix = mustParse(editedModel([](json::object& o) {
    ruleOf(o, 0, 0)["SourceCidrIp"] = "";
    ruleOf(o, 0, 0)["SourcePrefixListId"] = "pl-x";
  }));
  EXPECT_EQ(prefix.groups[0].rules[0].peer.kind, Peer::Kind::PrefixList);
  EXPECT_EQ(prefix.groups[0].rules[0].peer.prefixListId, "pl-x");
}

TEST(ModelJson, DirectionDecidesPeerAndNarrowing) {
  // Ingress: DestCidrIp narrows our side. Egress: DestCidrIp is the peer, SourceCidrIp narrows.
  const Model m = mustParse(editedModel([](json::object& o) {
    ruleOf(o, 0, 0)["DestCidrIp"] = "10.0.0.5";
    ruleOf(o, 0, 1)["SourceCidrIp"] = "10.0.0.0/24";
  }));
  const Rule& in = m.groups[0].rules[0];
  const Rule& out = m.groups[0].rules[1];
  EXPECT_EQ(in.peer.cidr, *Cidr::parse("203.0.113.0/24"));
  EXPECT_EQ(in.local, Cidr::parse("10.0.0.5/32"));
  EXPECT_EQ(out.peer.cidr, *Cidr::parse("0.0.0.0/0"));
  EXPECT_EQ(out.local, Cidr::parse("10.0.0.0/24"));
}

const char* kEnsDoc = R"({"SecurityGroups": [{"SecurityGroupId": "sg-ens1", "Permissions": {"Permission": [
  {"Direction": "ingress", "IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "0.0.0.0/0",
   "Policy": "accept", "Priority": 1, "CreationTime": "2024-01-01T00:00:00Z", "Description": "a"},
  {"Direction": "ingress", "IpProtocol": "tcp", "PortRange": "80/80", "SourceCidrIp": "0.0.0.0/0",
   "Policy": "accept", "Priority": 1, "CreationTime": "2024-01-01T00:00:00Z"},
  {"Direction": "ingress", "IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "0.0.0.0/0",
   "Policy": "accept", "Priority": 1, "CreationTime": "2024-02-01T00:00:00Z", "Description": "b"}
]}}]})";

TEST(ModelJson, EnsGroupsGetStableIds) {
  const Model a = mustParse(kEnsDoc);
  ASSERT_EQ(a.groups.size(), 1u);
  const SecurityGroup& g = a.groups[0];
  EXPECT_EQ(g.product, Product::Ens);  // recognised by shape: no rule ids, CreationTime, integer Priority
  ASSERT_EQ(g.rules.size(), 3u);
  EXPECT_TRUE(std::regex_match(g.rules[0].id, std::regex("ensr-[0-9a-f]{8}"))) << g.rules[0].id;
  EXPECT_NE(g.rules[0].id, g.rules[1].id);
  // Rules 0 and 2 differ only in CreateTime and Description, which are not identity: a duplicate.
  EXPECT_EQ(g.rules[2].id, g.rules[0].id + "-2");
  EXPECT_EQ(g.rules[0].id, ensRuleBaseId("sg-ens1", g.rules[0]));

  // Same ids on every load, and a rule keeps its id when others are added before it.
  EXPECT_EQ(mustParse(kEnsDoc), a);
  json::value v = json::parse(kEnsDoc);
  auto& perms = v.as_object()["SecurityGroups"].as_array()[0].as_object()["Permissions"].as_object()["Permission"];
  perms.as_array().insert(perms.as_array().begin(),
                          json::parse(R"({"Direction": "egress", "IpProtocol": "udp", "PortRange": "53/53",
                                          "DestCidrIp": "8.8.8.8", "Priority": 3})"));
  const Model b = mustParse(json::serialize(v));
  EXPECT_EQ(b.groups[0].rules[2].id, g.rules[1].id);
  // Another group id gives other ids.
  EXPECT_NE(ensRuleBaseId("sg-ens2", g.rules[0]), g.rules[0].id);
}

TEST(ModelJson, EnsIdsSurviveAWriteAndReload) {
  Model m = mustParse(kEnsDoc);
  // After revoking the first of two duplicates, the survivor keeps its "-2" id through a save and load.
  m.groups[0].rules.erase(m.groups[0].rules.begin());
  const Model back = mustParse(serializeModel(m));
  EXPECT_EQ(back, m);
  EXPECT_EQ(back.groups[0].product, Product::Ens);
}

TEST(ModelJson, EnsIsIpv4Only) {
  auto m = parseModel(R"({"SecurityGroups": [{"SecurityGroupId": "sg-e", "Product": "ens", "Permissions": [
    {"Direction": "ingress", "IpProtocol": "tcp", "PortRange": "22/22", "Ipv6SourceCidrIp": "::/0"}]}]})",
                      std::nullopt, "t.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().where, "t.json: SecurityGroups[0].Permissions[0].Ipv6SourceCidrIp");
}

const char* kBareDoc = R"({"RequestId": "X", "SecurityGroupId": "sg-bare", "VpcId": "vpc-1", "RegionId": "cn-hangzhou",
  "InnerAccessPolicy": "Accept", "Permissions": {"Permission": [
    {"SecurityGroupRuleId": "sgr-1", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "443/443",
     "SourceCidrIp": "0.0.0.0/0", "SourceGroupId": "", "Policy": "Accept", "Priority": "1", "NicType": "intranet"}]}})";

TEST(ModelJson, BareDocumentWithHostBecomesOneEni) {
  const Model m = mustParse(kBareDoc, IpAddr::parse("192.168.1.10"));
  ASSERT_EQ(m.groups.size(), 1u);
  EXPECT_EQ(m.groups[0].id, "sg-bare");
  EXPECT_EQ(m.groups[0].rules.size(), 1u);
  ASSERT_EQ(m.enis.size(), 1u);
  EXPECT_EQ(m.enis[0].id, "eni-host");
  EXPECT_EQ(m.enis[0].addresses, std::vector<IpAddr>{*IpAddr::parse("192.168.1.10")});
  EXPECT_EQ(m.enis[0].groupIds, std::vector<std::string>{"sg-bare"});
  // Written out it is a full model that loads without --host.
  EXPECT_EQ(mustParse(serializeModel(m)), m);
}

TEST(ModelJson, BareDocumentNeedsHost) {
  auto m = parseModel(kBareDoc, std::nullopt, "t.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().where, "t.json");  // the whole document is the problem
  EXPECT_NE(m.error().message.find("--host"), std::string::npos) << m.error().toString();
}

TEST(ModelJson, BareDocumentErrorsHaveShortPaths) {
  json::value v = json::parse(kBareDoc);
  v.as_object()["Permissions"].as_object()["Permission"].as_array()[0].as_object()["IpProtocol"] = "SCTP";
  auto m = parseModel(json::serialize(v), IpAddr::parse("10.0.0.1"), "g.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().where, "g.json: Permissions.Permission[0].IpProtocol");
}

TEST(ModelJson, NotAModelAtAll) {
  EXPECT_FALSE(parseModel("[1, 2]", std::nullopt, "t.json").ok());
  auto m = parseModel(R"({"SecurityGroup": []})", std::nullopt, "t.json");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("SecurityGroups"), std::string::npos);
}

TEST(Describe, OneLineSummary) {
  const Model m = mustParse(editedModel([](json::object& o) {
    ruleOf(o, 0, 1)["SourceCidrIp"] = "10.0.0.5";
    ruleOf(o, 0, 1)["SourcePortRange"] = "";
  }));
  EXPECT_EQ(describeRule(m.groups[0].rules[0], Product::Ecs),
            "sgr-ssh ingress TCP 22/22 from 203.0.113.0/24 accept prio 1");
  EXPECT_EQ(describeRule(m.groups[0].rules[1], Product::Ecs),
            "sgr-out egress ALL -1/-1 to 0.0.0.0/0 at 10.0.0.5/32 accept prio 100");
  Rule r = m.groups[0].rules[0];
  r.portRange.reset();
  r.portRangeListId = "prl-web";
  r.sourcePortRange = PortRange{1024, 65535};
  r.peer = Peer{Peer::Kind::Group, {}, "sg-db", {}, {}, {}};
  r.policy = Policy::Drop;
  EXPECT_EQ(describeRule(r, Product::Ens),
            "sgr-ssh ingress tcp ports prl-web sport 1024/65535 from group sg-db drop prio 1");
  r.peer = Peer{Peer::Kind::PrefixList, {}, {}, {}, {}, "pl-office"};
  EXPECT_NE(describeRule(r, Product::Ecs).find("from prefix list pl-office"), std::string::npos);
}

}  // namespace
}  // namespace sgsim
