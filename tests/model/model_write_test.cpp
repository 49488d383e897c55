// Writing a model back into the user's own document: every field sgsim does not change stays as the user wrote
// it, in the same order; only what the model changed is written (and parseModel(serializeModel(m)) == m).

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "model_test_util.h"
#include "sgsim/core/atomic_file.h"
#include "sgsim/model/json_doc.h"
#include "sgsim/model/model_json.h"

namespace sgsim {
namespace {

using testing::editedModel;
using testing::kBaseModel;
using testing::ruleOf;
namespace json = boost::json;

Model mustLoad(const std::string& text, LoadOptions options = {}) {
  auto m = parseModel(text, options, "t.json");
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().toString());
  return m.ok() ? *m : Model{};
}

// The written text as a JSON value; json::serialize keeps key order, so comparing serializations compares
// values with their order.
std::string written(const Model& m) {
  const std::string text = serializeModel(m);
  auto v = readJsonStrict(text, {});
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? json::serialize(*v) : std::string();
}

std::string ordered(const json::value& v) { return json::serialize(v); }

json::array& rulesOf(json::object& root, std::size_t group) {
  auto& perms = root["SecurityGroups"].as_array()[group].as_object()["Permissions"];
  return perms.is_object() ? perms.as_object()["Permission"].as_array() : perms.as_array();
}

Rule& ruleById(Model& m, const std::string& id) {
  for (auto& g : m.groups)
    for (auto& r : g.rules)
      if (r.id == id) return r;
  ADD_FAILURE() << "no rule " << id;
  static Rule none;
  return none;
}

void eraseRule(Model& m, const std::string& id) {
  for (auto& g : m.groups) std::erase_if(g.rules, [&](const Rule& r) { return r.id == id; });
}

std::string sourceDir() {
  const char* dir = std::getenv("SGSIM_SOURCE_DIR");
  return dir == nullptr ? std::string(SGSIM_TEST_SOURCE_DIR) : std::string(dir);
}

// Load, then write with no change: every example comes back field for field, in its own order.
TEST(ModelWrite, EveryExampleComesBackAsItWasWritten) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(sourceDir() + "/examples"))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 5u) << "examples/ not found under " << sourceDir();
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const std::optional<IpAddr> host =
        path.filename() == "describe_only.json" ? IpAddr::parse("10.0.0.5") : std::optional<IpAddr>{};
    auto text = readWholeFile(path.string());
    ASSERT_TRUE(text.ok());
    const Model m = mustLoad(*text, LoadOptions{host, false});
    auto original = readJsonStrict(*text, {.allowComments = true});
    ASSERT_TRUE(original.ok());
    EXPECT_EQ(written(m), ordered(*original));
    EXPECT_EQ(mustLoad(serializeModel(m), LoadOptions{host, false}), m);
  }
}

// A document carrying fields sgsim never reads, documented or (with --allow-unknown-fields) not.
const std::string kRichModel = editedModel([](json::object& o) {
  auto& g = o["SecurityGroups"].as_array()[0].as_object();
  g["ResourceGroupId"] = "rg-7";
  g["Tags"] = json::parse(R"({"Tag": [{"TagKey": "team", "TagValue": "web"}]})");
  ruleOf(o, 0, 0)["SourceGroupName"] = "";
  ruleOf(o, 0, 0)["MyNote"] = "kept, though sgsim does not know it";
  auto& e = o["NetworkInterfaces"].as_array()[0].as_object();
  e["VpcId"] = "vpc-1";
  e["MacAddress"] = "00:16:3e:12:34:56";
  e["Status"] = "InUse";
  e["Weight"] = 1.5;
  e["Ratio"] = 100.0;
  o["Comment"] = json::parse(R"({"by": "ops", "values": [1, 2.25, "x", null, true]})");
});
const LoadOptions kAllowUnknown{std::nullopt, true};

TEST(ModelWrite, FieldsSgsimDoesNotReadAreKept) {
  const Model m = mustLoad(kRichModel, kAllowUnknown);
  EXPECT_EQ(m.source.warnings.size(), 4u);  // MyNote, Weight, Ratio, Comment
  EXPECT_EQ(written(m), ordered(json::parse(kRichModel)));
  // Numbers keep their kind: 1.5 is not written 1.5E0, 100.0 stays a double.
  const std::string text = serializeModel(m);
  EXPECT_NE(text.find("\"Weight\": 1.5,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"Ratio\": 100.0"), std::string::npos) << text;
}

TEST(ModelWrite, ARemovedRuleIsTheOnlyChange) {
  Model m = mustLoad(kRichModel, kAllowUnknown);
  eraseRule(m, "sgr-ssh");
  json::value expected = json::parse(kRichModel);
  auto& rules = rulesOf(expected.as_object(), 0);
  rules.erase(rules.begin());
  EXPECT_EQ(written(m), ordered(expected));
  EXPECT_EQ(mustLoad(serializeModel(m), kAllowUnknown), m);
}

TEST(ModelWrite, AnAddedRuleIsAppendedInTheGroupsOwnSpelling) {
  Model m = mustLoad(kRichModel, kAllowUnknown);
  Rule r = m.groups[0].rules[0];
  r.id = "sgr-new";
  r.portRange = PortRange{443, 443};
  r.description = "";
  r.createTime = "";
  m.groups[0].rules.push_back(r);
  json::value expected = json::parse(kRichModel);
  // The group's first rule writes Priority as a string and Policy as "Accept": the new rule does too.
  rulesOf(expected.as_object(), 0)
      .push_back(json::parse(R"({"SecurityGroupRuleId": "sgr-new", "Direction": "ingress", "IpProtocol": "TCP",
        "PortRange": "443/443", "SourceCidrIp": "203.0.113.0/24", "Policy": "Accept", "Priority": "1",
        "NicType": "intranet"})"));
  EXPECT_EQ(written(m), ordered(expected));
  EXPECT_EQ(mustLoad(serializeModel(m), kAllowUnknown), m);
}

TEST(ModelWrite, AnAddedRuleKeepsThePlainArrayShape) {
  Model m = mustLoad(kBaseModel);
  Rule r = m.groups[0].rules[0];
  r.id = "sgr-ent";
  m.groups[1].rules.push_back(r);  // sg-ent writes "Permissions": []
  const std::string text = serializeModel(m);
  const json::value v = json::parse(text);
  ASSERT_TRUE(v.at("SecurityGroups").at(1).at("Permissions").is_array()) << text;
  EXPECT_EQ(v.at("SecurityGroups").at(1).at("Permissions").as_array().size(), 1u);
  EXPECT_EQ(mustLoad(text), m);
}

TEST(ModelWrite, AGroupWithoutRulesGetsTheAliyunShape) {
  Model m = mustLoad(
      editedModel([](json::object& o) { o["SecurityGroups"].as_array()[1].as_object().erase("Permissions"); }));
  Rule r = m.groups[0].rules[1];
  r.id = "sgr-ent-out";
  m.groups[1].rules.push_back(r);
  const json::value v = json::parse(serializeModel(m));
  EXPECT_EQ(v.at("SecurityGroups").at(1).at("Permissions").at("Permission").as_array().size(), 1u);
  EXPECT_EQ(mustLoad(serializeModel(m)), m);
}

TEST(ModelWrite, ARuleChangedInCodeIsWrittenAnewInItsPlace) {
  Model m = mustLoad(kBaseModel);
  ruleById(m, "sgr-ssh").priority = 7;
  const json::value v = json::parse(serializeModel(m));
  const auto& rules = v.at("SecurityGroups").at(0).at("Permissions").at("Permission").as_array();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].at("SecurityGroupRuleId"), "sgr-ssh");
  EXPECT_EQ(rules[0].at("Priority"), "7");
  EXPECT_EQ(mustLoad(serializeModel(m)), m);
}

TEST(ModelWrite, RequestCounterAndClientTokensAreUpdatedOrAdded) {
  Model m = mustLoad(kBaseModel);
  m.requestCounter = 3;
  m.clientTokens["ecs:RevokeSecurityGroup:t1"] = TokenRecord{"d1", "{\"RequestId\":\"A\"}", 200};
  json::value expected = json::parse(kBaseModel);
  expected.as_object()["ClientTokens"] =
      json::parse(R"({"ecs:RevokeSecurityGroup:t1": {"ParamsDigest": "d1", "Response": "{\"RequestId\":\"A\"}",
                      "HttpStatus": 200}})");
  expected.as_object()["RequestCounter"] = 3;
  EXPECT_EQ(written(m), ordered(expected));
  // Written again with one more token: the first record stays the user's object, the counter is updated in place.
  Model again = mustLoad(serializeModel(m));
  again.requestCounter = 4;
  again.clientTokens["ecs:AuthorizeSecurityGroup:t0"] = TokenRecord{"d0", "{}", 400};
  const json::value v = json::parse(serializeModel(again));
  const auto& tokens = v.at("ClientTokens").as_object();
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens.begin()->key(), "ecs:RevokeSecurityGroup:t1");  // kept first, where it was
  EXPECT_EQ(v.at("RequestCounter").to_number<std::uint64_t>(), 4u);
  EXPECT_EQ(mustLoad(serializeModel(again)), again);
}

const char* kBareDoc = R"({"RequestId": "X", "SecurityGroupId": "sg-bare", "VpcId": "vpc-1",
  "InnerAccessControlPolicy": "Accept", "Permissions": {"Permission": [
    {"SecurityGroupRuleId": "sgr-1", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "443/443",
     "SourceCidrIp": "0.0.0.0/0", "SourceGroupId": "", "Policy": "Accept", "Priority": "1", "NicType": "intranet"},
    {"SecurityGroupRuleId": "sgr-2", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22",
     "SourceCidrIp": "10.0.0.0/8", "SourceGroupId": "", "Policy": "Accept", "Priority": "1", "NicType": "intranet"}]}})";

TEST(ModelWrite, ABareDocumentStaysBare) {
  const LoadOptions host{IpAddr::parse("10.0.0.1"), false};
  Model m = mustLoad(kBareDoc, host);
  eraseRule(m, "sgr-2");
  m.requestCounter = 1;
  json::value expected = json::parse(kBareDoc);
  expected.as_object()["Permissions"].as_object()["Permission"].as_array().pop_back();
  expected.as_object()["RequestCounter"] = 1;
  EXPECT_EQ(written(m), ordered(expected));  // no NetworkInterfaces: the ENI came from --host
  EXPECT_EQ(mustLoad(serializeModel(m), host), m);
}

TEST(ModelWrite, ABareModelThatNoLongerFitsABareDocumentIsWrittenInFull) {
  const LoadOptions host{IpAddr::parse("10.0.0.1"), false};
  Model m = mustLoad(kBareDoc, host);
  SecurityGroup extra;
  extra.id = "sg-extra";
  m.groups.push_back(extra);  // only a model changed in code gets here
  const std::string text = serializeModel(m);
  EXPECT_NE(text.find("\"NetworkInterfaces\""), std::string::npos);
  EXPECT_EQ(mustLoad(text), m);
}

const char* kEnsByShape = R"({"SecurityGroups": [{"SecurityGroupId": "sg-ens1", "Permissions": {"Permission": [
  {"Direction": "ingress", "IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "0.0.0.0/0",
   "Policy": "accept", "Priority": 1, "CreationTime": "2024-01-01T00:00:00Z"},
  {"Direction": "ingress", "IpProtocol": "tcp", "PortRange": "80/80", "SourceCidrIp": "0.0.0.0/0",
   "Policy": "accept", "Priority": 1, "CreationTime": "2024-01-01T00:00:00Z"}
]}}]})";

TEST(ModelWrite, EnsRulesAreMatchedByIdentityAndWrittenWithoutIds) {
  Model m = mustLoad(kEnsByShape);
  ASSERT_EQ(m.groups[0].product, Product::Ens);
  m.groups[0].rules.erase(m.groups[0].rules.begin());
  json::value expected = json::parse(kEnsByShape);
  auto& rules = rulesOf(expected.as_object(), 0);
  rules.erase(rules.begin());
  EXPECT_EQ(written(m), ordered(expected));  // no generated id, no "Product" added
  EXPECT_EQ(mustLoad(serializeModel(m)), m);
}

TEST(ModelWrite, AnEnsGroupLeftWithoutRulesSaysItIsEns) {
  Model m = mustLoad(kEnsByShape);
  m.groups[0].rules.clear();
  const json::value v = json::parse(serializeModel(m));
  EXPECT_EQ(v.at("SecurityGroups").at(0).at("Product"), "ens");  // the shape can no longer say it
  EXPECT_EQ(mustLoad(serializeModel(m)), m);
}

TEST(ModelWrite, AnAddedEnsRuleWhoseIdAReloadWouldNotDeriveKeepsIt) {
  Model m = mustLoad(kEnsByShape);
  Rule r = m.groups[0].rules[0];
  r.id = "sgr-made-by-the-api";
  r.portRange = PortRange{443, 443};
  r.createTime = "";
  m.groups[0].rules.push_back(r);
  const json::value v = json::parse(serializeModel(m));
  const auto& g = v.at("SecurityGroups").at(0);
  const auto& rules = g.at("Permissions").at("Permission").as_array();
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_FALSE(rules[0].as_object().contains("SecurityGroupRuleId"));  // the user's objects are untouched
  EXPECT_EQ(rules[2].at("SecurityGroupRuleId"), "sgr-made-by-the-api");
  EXPECT_EQ(rules[2].at("Policy"), "accept");  // the group's own spelling
  EXPECT_EQ(rules[2].at("Priority"), 1);
  EXPECT_EQ(g.at("Product"), "ens");  // a rule id would otherwise make it read as ECS
  EXPECT_EQ(mustLoad(serializeModel(m)), m);
}

TEST(ModelWrite, AModelBuiltInCodeIsWrittenCanonically) {
  Model m = mustLoad(kBaseModel);
  m.source = ModelSource{};
  const std::string text = serializeModel(m);
  EXPECT_NE(text.find("\"Quotas\""), std::string::npos);
  EXPECT_NE(text.find("\"Product\": \"ecs\""), std::string::npos);
  EXPECT_EQ(mustLoad(text), m);
}

// Whatever a model built from a document goes through (rules removed, added, changed, reordered; groups, ENIs,
// lists, quotas, tokens changed in code), the written document reads back as the same model, and writing that
// again gives the same text.
TEST(ModelWrite, RandomChangesToDocumentModelsReadBackEqual) {
  std::mt19937 rng(20240508);  // seeded: a failure is reproducible
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::string bases[] = {kRichModel, kBaseModel, kEnsByShape, std::string(kBareDoc)};
  for (int iter = 0; iter < 300; ++iter) {
    const int which = pick(4);
    const LoadOptions options{which == 3 ? IpAddr::parse("10.0.0.1") : std::nullopt, true};
    Model m = mustLoad(bases[which], options);
    const int changes = 1 + pick(4);
    for (int c = 0; c < changes; ++c) {
      SecurityGroup& g = m.groups[static_cast<std::size_t>(pick(static_cast<int>(m.groups.size())))];
      switch (pick(8)) {
        case 0:
        case 1:
          if (!g.rules.empty()) g.rules.erase(g.rules.begin() + pick(static_cast<int>(g.rules.size())));
          break;
        case 2:
        case 3: {
          Rule r;
          r.id = (g.product == Product::Ens && pick(2) ? "ensr-x" : "sgr-r") + std::to_string(iter) + "-" +
                 std::to_string(c);
          r.direction = pick(2) ? Direction::Ingress : Direction::Egress;
          r.protocol = pick(2) ? Protocol::Tcp : Protocol::Icmp;
          const int lo = 1 + pick(60000);
          r.portRange = r.protocol == Protocol::Tcp ? PortRange{lo, lo + pick(100)} : PortRange::anyPort();
          r.peer.cidr = Cidr::of(IpAddr::v4(static_cast<std::uint32_t>(rng())), pick(33));
          r.policy = pick(2) ? Policy::Accept : Policy::Drop;
          r.priority = 1 + pick(100);
          r.description = pick(2) ? "d" + std::to_string(c) : "";
          g.rules.insert(g.rules.begin() + pick(static_cast<int>(g.rules.size()) + 1), r);
          break;
        }
        case 4:
          if (!g.rules.empty())
            g.rules[static_cast<std::size_t>(pick(static_cast<int>(g.rules.size())))].priority = 1 + pick(100);
          break;
        case 5:
          if (g.rules.size() > 1) std::swap(g.rules.front(), g.rules.back());
          break;
        case 6:
          m.requestCounter += static_cast<std::uint64_t>(pick(3));
          if (pick(2))
            m.clientTokens["ecs:RevokeSecurityGroup:" + std::to_string(pick(3))] = TokenRecord{"p", "{}", 200};
          break;
        case 7:
          if (which != 3 && pick(2)) {
            g.name = "renamed";
          } else if (which != 3) {
            m.quotas.rulesPerEni = 500 + pick(10);
          }
          break;
      }
    }
    // A changed rule keeps an id a reload can tell from the others (the loader refuses duplicate ids).
    const std::string text = serializeModel(m);
    auto back = parseModel(text, options, "again");
    ASSERT_TRUE(back.ok()) << back.error().toString() << "\n" << text;
    ASSERT_EQ(*back, m) << "iteration " << iter << "\n" << text;
    EXPECT_EQ(serializeModel(*back), text);
  }
}

}  // namespace
}  // namespace sgsim
