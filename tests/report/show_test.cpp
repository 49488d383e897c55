#include "sgsim/report/show.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sgsim/model/model_json.h"

namespace sgsim {
namespace {

namespace json = boost::json;

// Two basic groups on eni-a (sg-a first), so that ties between the groups are decided by group order.
const char* kModel = R"({
  "SecurityGroups": [
    {"SecurityGroupId": "sg-a", "InnerAccessPolicy": "Accept", "Permissions": [
      {"SecurityGroupRuleId": "a-accept-5", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "80/80",
       "SourceCidrIp": "0.0.0.0/0", "Policy": "Accept", "Priority": 5},
      {"SecurityGroupRuleId": "a-accept-1", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22",
       "SourceCidrIp": "10.0.0.0/8", "Policy": "Accept", "Priority": 1},
      {"SecurityGroupRuleId": "a-drop-1", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "1/65535",
       "SourceCidrIp": "192.0.2.0/24", "Policy": "Drop", "Priority": 1},
      {"SecurityGroupRuleId": "a-egress", "Direction": "egress", "IpProtocol": "UDP", "PortRange": "53/53",
       "DestCidrIp": "8.8.8.8", "Priority": 3}
    ]},
    {"SecurityGroupId": "sg-b", "InnerAccessPolicy": "Drop", "Permissions": [
      {"SecurityGroupRuleId": "b-accept-5", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "443/443",
       "SourceCidrIp": "0.0.0.0/0", "Policy": "Accept", "Priority": 5},
      {"SecurityGroupRuleId": "b-group", "Direction": "ingress", "IpProtocol": "ALL", "PortRange": "-1/-1",
       "SourceGroupId": "sg-a", "Policy": "Accept", "Priority": 5}
    ]},
    {"SecurityGroupId": "sg-ent", "SecurityGroupType": "enterprise", "Permissions": [
      {"SecurityGroupRuleId": "e-wide", "Direction": "ingress", "IpProtocol": "ALL", "PortRange": "-1/-1",
       "SourceCidrIp": "10.0.0.0/8", "Policy": "Drop", "Priority": 10},
      {"SecurityGroupRuleId": "e-narrow", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22",
       "SourceCidrIp": "10.1.0.0/16", "Policy": "Accept", "Priority": 20},
      {"SecurityGroupRuleId": "e-wider-ports", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "1/65535",
       "SourceCidrIp": "172.16.0.0/12", "Policy": "Accept", "Priority": 20},
      {"SecurityGroupRuleId": "e-group", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22",
       "SourceGroupId": "sg-ent", "Policy": "Accept", "Priority": 30},
      {"SecurityGroupRuleId": "e-elsewhere", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "80/80",
       "SourceCidrIp": "172.16.0.0/12", "DestCidrIp": "10.9.9.9", "Policy": "Accept", "Priority": 40}
    ]},
    {"SecurityGroupId": "sg-loose", "Permissions": []}
  ],
  "NetworkInterfaces": [
    {"NetworkInterfaceId": "eni-a", "PrivateIpAddress": "10.0.0.1", "SecurityGroupIds": ["sg-a", "sg-b"]},
    {"NetworkInterfaceId": "eni-b", "PrivateIpAddress": "10.0.0.2", "SecurityGroupIds": ["sg-b", "sg-a"]},
    {"NetworkInterfaceId": "eni-ent", "PrivateIpAddress": "10.0.0.3", "SecurityGroupIds": ["sg-ent"]}
  ]
})";

Model model() {
  auto m = parseModel(kModel, std::nullopt, "show_test");
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().toString());
  return m.ok() ? *m : Model{};
}

// The entries of one ENI and direction from the JSON view.
json::array entries(const Model& m, const std::string& eni, const char* direction) {
  auto text = renderShowJson(m, eni);
  EXPECT_TRUE(text.ok());
  if (!text.ok()) return {};
  const json::value v = json::parse(*text);
  const auto& enis = v.at("enis").as_array();
  EXPECT_EQ(enis.size(), 1u);
  for (const auto& d : enis[0].at("directions").as_array())
    if (d.at("direction") == direction) return d.at("entries").as_array();
  ADD_FAILURE() << "no direction " << direction;
  return {};
}

// Rule ids (or "<intra-group sg-x>" / "<default drop>") in rank order.
std::vector<std::string> sequence(const json::array& es) {
  std::vector<std::string> out;
  int expectedRank = 1;
  for (const auto& e : es) {
    EXPECT_EQ(e.at("rank").as_int64(), expectedRank++);
    const auto& kind = e.at("kind").as_string();
    if (kind == "rule") {
      out.emplace_back(e.at("ruleId").as_string());
    } else if (kind == "intra-group") {
      out.push_back("<intra-group " + std::string(e.at("group").as_string()) + ">");
    } else {
      out.push_back("<default " + std::string(e.at("policy").as_string()) + ">");
    }
  }
  return out;
}

TEST(Show, OrderIsPriorityThenDropThenGroupThenRule) {
  const Model m = model();
  // Priority 1 before 5; at priority 1 the drop wins over the earlier-listed accept; at priority 5 the tie
  // goes to sg-a (first on eni-a), then the rule order inside sg-b.
  EXPECT_EQ(sequence(entries(m, "eni-a", "ingress")),
            (std::vector<std::string>{"<intra-group sg-a>", "a-drop-1", "a-accept-1", "a-accept-5", "b-accept-5",
                                      "b-group", "<default drop>"}));
  // eni-b lists sg-b first: the same rules tie the other way.
  EXPECT_EQ(sequence(entries(m, "eni-b", "ingress")),
            (std::vector<std::string>{"<intra-group sg-a>", "a-drop-1", "a-accept-1", "b-accept-5", "b-group",
                                      "a-accept-5", "<default drop>"}));
}

TEST(Show, BasicGroupsImplicitEntries) {
  const Model m = model();
  const auto egress = entries(m, "eni-a", "egress");
  EXPECT_EQ(sequence(egress), (std::vector<std::string>{"<intra-group sg-a>", "a-egress", "<default accept>"}));
  EXPECT_EQ(egress[0].at("members"), (json::array{"eni-a", "eni-b"}));
  // sg-b has InnerAccessPolicy Drop: no intra-group accept, a note instead.
  auto text = renderShowText(m, std::string("eni-a"));
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("members of sg-b are treated as strangers"), std::string::npos) << *text;
  EXPECT_NE(text->find("intra-group, evaluated before custom rules"), std::string::npos);
  EXPECT_NE(text->find("implicit default: basic groups deny ingress by default"), std::string::npos);
  EXPECT_NE(text->find("implicit default: basic groups allow egress by default"), std::string::npos);
}

TEST(Show, EnterpriseGroupsDenyBothWaysWithoutIntraGroup) {
  const Model m = model();
  const auto ingress = sequence(entries(m, "eni-ent", "ingress"));
  EXPECT_EQ(ingress.front(), "e-wide");
  EXPECT_EQ(ingress.back(), "<default drop>");
  EXPECT_EQ(sequence(entries(m, "eni-ent", "egress")), std::vector<std::string>{"<default drop>"});
  auto text = renderShowText(m, std::string("eni-ent"));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("intra-group,"), std::string::npos);
  EXPECT_NE(text->find("enterprise groups deny egress by default"), std::string::npos);
}

TEST(Show, MarksRulesAnEarlierRuleCovers) {
  const Model m = model();
  const auto es = entries(m, "eni-ent", "ingress");
  auto find = [&](const char* id) -> const json::object& {
    for (const auto& e : es)
      if (e.as_object().contains("ruleId") && e.at("ruleId") == id) return e.as_object();
    ADD_FAILURE() << id;
    return es[0].as_object();
  };
  // ALL from 10.0.0.0/8 covers TCP 22 from 10.1.0.0/16: the accept can never decide.
  EXPECT_EQ(find("e-narrow").at("shadowedBy"), find("e-wide").at("rank"));
  EXPECT_TRUE(find("e-wide").at("shadowedBy").is_null());
  EXPECT_TRUE(find("e-wider-ports").at("shadowedBy").is_null());  // a peer outside 10/8
  EXPECT_TRUE(find("e-group").at("shadowedBy").is_null());        // group peers are not judged
  EXPECT_TRUE(find("e-elsewhere").at("narrowingMissesEni").as_bool());
  // A rule without narrowing covers one with narrowing: same peer, TCP, and 1-65535 contains 80.
  EXPECT_EQ(find("e-elsewhere").at("shadowedBy"), find("e-wider-ports").at("rank"));

  auto text = renderShowText(m, std::string("eni-ent"));
  ASSERT_TRUE(text.ok());
  const std::string wideRank = std::to_string(find("e-wide").at("rank").as_int64());
  const auto line = text->find("e-narrow");
  ASSERT_NE(line, std::string::npos);
  const std::string rest = text->substr(line, text->find('\n', line) - line);
  EXPECT_EQ(rest.substr(rest.rfind("  ") + 2), "shadowed by #" + wideRank) << rest;
}

TEST(Show, TextLinesFollowTheOrderAndExplainIt) {
  const Model m = model();
  auto text = renderShowText(m, std::nullopt);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("priority 1..100 ascending, drop before accept at equal priority, then group order on the "
                       "ENI, then rule order"),
            std::string::npos);
  // Every ENI is shown when none is asked for, and groups that no ENI uses are named.
  for (const char* eni : {"ENI eni-a", "ENI eni-b", "ENI eni-ent"}) EXPECT_NE(text->find(eni), std::string::npos);
  EXPECT_NE(text->find("Groups on no ENI (their rules are never evaluated): sg-loose"), std::string::npos);
  // Within eni-a's ingress table, the drop comes before the accept listed before it in sg-a.
  const auto eniA = text->find("ENI eni-a");
  const auto drop = text->find("a-drop-1", eniA);
  const auto accept = text->find("a-accept-1", eniA);
  EXPECT_LT(drop, accept);
  // One line carries the columns: rank, priority, policy, protocol, ports, peer, narrowing, group, rule id.
  const auto start = text->rfind('\n', drop) + 1;
  std::string line = text->substr(start, text->find('\n', drop) - start);
  std::vector<std::string> cols;
  for (std::size_t i = 0; i < line.size();) {
    while (i < line.size() && line[i] == ' ') ++i;
    const auto j = line.find(' ', i);
    cols.push_back(line.substr(i, j == std::string::npos ? std::string::npos : j - i));
    i = j == std::string::npos ? line.size() : j;
  }
  EXPECT_EQ(cols,
            (std::vector<std::string>{"#2", "1", "drop", "TCP", "1/65535", "192.0.2.0/24", "-", "sg-a", "a-drop-1"}));
}

TEST(Show, SaysWhatReferencedIdsStandFor) {
  Model m = model();
  m.portRangeLists.push_back(PortRangeList{"prl-web", "web", {PortRange{80, 80}, PortRange{8080, 8081}}});
  Rule viaList = m.groups[0].rules[0];
  viaList.id = "a-list";
  viaList.portRange.reset();
  viaList.portRangeListId = "prl-web";
  m.groups[0].rules.push_back(viaList);
  Rule viaPrefix = m.groups[0].rules[0];
  viaPrefix.id = "a-prefix";
  viaPrefix.peer = Peer{Peer::Kind::PrefixList, {}, {}, {}, {}, "pl-missing"};
  m.groups[0].rules.push_back(viaPrefix);

  auto text = renderShowText(m, std::string("eni-a"));
  ASSERT_TRUE(text.ok());
  const auto where = text->find("\n  where\n");
  ASSERT_NE(where, std::string::npos) << *text;
  const std::string tail = text->substr(where);
  // Members of a group peer (and of the intra-group accept) with their addresses, list entries, missing lists.
  EXPECT_NE(tail.find("group sg-a: eni-a (10.0.0.1), eni-b (10.0.0.2)"), std::string::npos) << tail;
  EXPECT_NE(tail.find("port list prl-web: 80/80, 8080/8081"), std::string::npos) << tail;
  EXPECT_NE(tail.find("prefix list pl-missing: not in the model, matches no address"), std::string::npos) << tail;

  auto js = renderShowJson(m, std::string("eni-a"));
  ASSERT_TRUE(js.ok());
  const json::value v = json::parse(*js);
  const auto& refs = v.at("enis").as_array()[0].at("references").as_array();
  bool sawList = false;
  for (const auto& r : refs)
    if (r.at("id") == "prl-web") {
      sawList = true;
      EXPECT_EQ(r.at("kind"), "port-range-list");
      EXPECT_EQ(r.at("entries"), (json::array{"80/80", "8080/8081"}));
    }
  EXPECT_TRUE(sawList);
}

TEST(Show, UnknownEniListsTheKnownOnes) {
  const Model m = model();
  for (auto render : {renderShowText, renderShowJson}) {
    auto r = render(m, std::string("eni-zz"), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().where, "eni-zz");
    EXPECT_NE(r.error().message.find("eni-a, eni-b, eni-ent"), std::string::npos) << r.error().toString();
  }
  auto one = renderShowText(m, std::string("eni-b"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->find("ENI eni-a"), std::string::npos);
  EXPECT_NE(one->find("ENI eni-b"), std::string::npos);
}

// What the document left to a default is said (issue 12), and a group peer the model lacks is flagged.
TEST(Show, SaysWhatWasAssumedAndFlagsAMissingPeerGroup) {
  const char* doc = R"({
    "SecurityGroups": [
      {"SecurityGroupId": "sg-x", "SecurityGroupType": "", "Permissions": [
        {"SecurityGroupRuleId": "x-batch", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "3306/3306",
         "SourceGroupId": "sg-gone"},
        {"SecurityGroupRuleId": "x-web", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "80/80",
         "SourceCidrIp": "0.0.0.0/0", "NicType": "internet"}]},
      {"SecurityGroupId": "sg-y", "SecurityGroupType": "normal", "InnerAccessPolicy": "Drop", "Permissions": []}
    ],
    "NetworkInterfaces": [{"NetworkInterfaceId": "eni-x", "PrivateIpAddress": "10.0.0.5",
                           "SecurityGroupIds": {"SecurityGroupId": ["sg-x", "sg-y"]}}]
  })";
  auto m = parseModel(doc, LoadOptions{}, "m.json");
  ASSERT_TRUE(m.ok()) << m.error().toString();
  auto text = renderShowText(*m, std::nullopt);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("Assumed: sg-x: SecurityGroupType is not given: taken as basic"), std::string::npos) << *text;
  EXPECT_NE(text->find("Assumed: sg-x: InnerAccessPolicy is not given: Accept"), std::string::npos) << *text;
  EXPECT_NE(text->find("Assumed: sg-x: 1 rule gives NicType internet: read as intranet"), std::string::npos) << *text;
  EXPECT_EQ(text->find("Assumed: sg-y"), std::string::npos) << "sg-y says both its type and its policy";
  EXPECT_NE(text->find("x-batch  peer group not in the model: matches nothing"), std::string::npos) << *text;
  EXPECT_NE(text->find("group sg-gone: missing from the model"), std::string::npos) << *text;
  auto js = renderShowJson(*m, std::nullopt);
  ASSERT_TRUE(js.ok());
  const json::value v = json::parse(*js);
  EXPECT_EQ(v.at("assumptions").as_array().size(), 3u);
  EXPECT_EQ(v.at("assumptions").at(0).at("group"), "sg-x");
  const auto& entries = v.at("enis").at(0).at("directions").at(0).at("entries").as_array();
  bool flagged = false;
  for (const auto& e : entries)
    if (e.as_object().contains("ruleId") && e.at("ruleId") == "x-batch") flagged = e.at("peerMissing").as_bool();
  EXPECT_TRUE(flagged);
  // A model built in code has no document: nothing is assumed, nothing is said.
  Model built = *m;
  built.source = ModelSource{};
  auto plain = renderShowText(built, std::nullopt);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->find("Assumed:"), std::string::npos);
}

namespace ties {

const std::vector<std::string> kCidrs{"0.0.0.0/0",    "10.0.0.0/8", "10.1.0.0/16",  "10.1.2.0/24",
                                      "192.0.2.0/24", "::/0",       "2001:db8::/32"};
// One address in every non-empty intersection of the CIDRs above.
const std::vector<std::string> kAddresses{"10.1.2.3",     "10.1.9.9",    "10.9.9.9",   "192.0.2.5",
                                          "198.51.100.1", "2001:db8::1", "2001:db9::1"};

struct GenRule {
  std::string id, protocol, cidr;
  int low = -1, high = -1;  // -1/-1: any port
  bool drop = false;
  int priority = 1;
};

bool matches(const GenRule& r, const std::string& proto, int port, const std::string& addr) {
  if (r.protocol != "ALL" && r.protocol != proto) return false;
  if (r.low != -1 && (port < r.low || port > r.high)) return false;
  const auto c = Cidr::parse(r.cidr);
  const auto a = IpAddr::parse(addr);
  return c && a && c->contains(*a);
}

// Whether some packet matches both rules, by trying every distinct packet of the small space the rules live in.
bool bothMatchSome(const GenRule& a, const GenRule& b) {
  for (const char* proto : {"TCP", "UDP"})
    for (int port = 1; port <= 31; ++port)
      for (const auto& addr : kAddresses)
        if (matches(a, proto, port, addr) && matches(b, proto, port, addr)) return true;
  return false;
}

}  // namespace ties

TEST(Show, MarksEveryTieOfDropAndAcceptAtOnePriorityWhoseMatchesOverlap) {
  // Random tables of 8 ingress rules over a small space (2 priorities, TCP/UDP/ALL, ports 1-30, nested CIDRs of
  // both families): an accept rule is marked with the first unshadowed drop rule of its priority that matches a
  // packet it matches too (found by trying every packet of the space), and that drop rule lists it; nothing else is
  // marked.
  using namespace ties;
  std::mt19937 rng(20261206);
  int marked = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<GenRule> rules;
    std::string perms;
    for (int i = 0; i < 8; ++i) {
      GenRule r;
      r.id = "r" + std::to_string(i);
      r.protocol = std::vector<std::string>{"TCP", "UDP", "ALL"}[rng() % 3];
      if (r.protocol != "ALL") {
        r.low = 1 + static_cast<int>(rng() % 30);
        r.high = r.low + static_cast<int>(rng() % (31 - r.low));
      }
      r.cidr = kCidrs[rng() % kCidrs.size()];
      r.drop = rng() % 2 == 0;
      r.priority = 1 + static_cast<int>(rng() % 2);
      const bool v6 = r.cidr.find(':') != std::string::npos;
      perms += std::string(perms.empty() ? "" : ",") + R"({"SecurityGroupRuleId": ")" + r.id +
               R"(", "Direction": "ingress", "IpProtocol": ")" + r.protocol + R"(", "PortRange": ")" +
               std::to_string(r.low) + "/" + std::to_string(r.high) + R"(", ")" +
               (v6 ? "Ipv6SourceCidrIp" : "SourceCidrIp") + R"(": ")" + r.cidr + R"(", "Policy": ")" +
               (r.drop ? "Drop" : "Accept") + R"(", "Priority": )" + std::to_string(r.priority) + "}";
      rules.push_back(r);
    }
    const std::string doc = R"({"SecurityGroups": [{"SecurityGroupId": "sg-t", "Permissions": [)" + perms +
                            R"(]}], "NetworkInterfaces": [{"NetworkInterfaceId": "eni-t", "PrivateIpAddress": )"
                            R"("10.0.0.1", "SecurityGroupIds": ["sg-t"]}]})";
    auto m = parseModel(doc, std::nullopt, "ties");
    ASSERT_TRUE(m.ok()) << m.error().toString() << "\n" << doc;
    const auto es = entries(*m, "eni-t", "ingress");
    std::map<std::string, const json::object*> byId;
    std::map<std::int64_t, std::string> idOfRank;
    for (const auto& e : es)
      if (e.as_object().contains("ruleId")) {
        byId[std::string(e.at("ruleId").as_string())] = &e.as_object();
        idOfRank[e.at("rank").as_int64()] = std::string(e.at("ruleId").as_string());
      }
    auto rank = [&](const GenRule& r) { return byId.at(r.id)->at("rank").as_int64(); };
    auto shadowed = [&](const GenRule& r) { return !byId.at(r.id)->at("shadowedBy").is_null(); };
    std::map<std::string, std::vector<std::int64_t>> expectedBeats;
    for (const GenRule& a : rules) {
      if (a.drop) continue;
      std::optional<std::int64_t> expected;
      if (!shadowed(a)) {
        std::vector<std::pair<std::int64_t, const GenRule*>> drops;
        for (const GenRule& d : rules)
          if (d.drop && d.priority == a.priority && !shadowed(d) && bothMatchSome(a, d)) drops.push_back({rank(d), &d});
        std::sort(drops.begin(), drops.end());
        if (!drops.empty()) {
          expected = drops.front().first;
          expectedBeats[drops.front().second->id].push_back(rank(a));
        }
      }
      const json::object& e = *byId.at(a.id);
      if (expected) {
        ++marked;
        ASSERT_TRUE(e.contains("tieLosesTo")) << a.id << " in\n" << doc;
        EXPECT_EQ(e.at("tieLosesTo").as_int64(), *expected) << a.id << " in\n" << doc;
      } else {
        EXPECT_FALSE(e.contains("tieLosesTo")) << a.id << " in\n" << doc;
      }
    }
    for (const GenRule& d : rules) {
      if (!d.drop) continue;
      const json::object& e = *byId.at(d.id);
      std::vector<std::int64_t> got;
      if (e.contains("tieBeats"))
        for (const auto& r : e.at("tieBeats").as_array()) got.push_back(r.as_int64());
      auto want = expectedBeats[d.id];
      std::sort(want.begin(), want.end());
      EXPECT_EQ(got, want) << d.id << " in\n" << doc;
    }
  }
  EXPECT_GT(marked, 100);  // the random tables do hold ties
}

}  // namespace
}  // namespace sgsim
