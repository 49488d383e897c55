#include "sgsim/report/html.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <sstream>

#include "sgsim/model/model_json.h"
#include "sgsim/report/show.h"
#include "sgsim/verdict/network.h"

namespace sgsim {
namespace {

namespace json = boost::json;

// A description that would run as a script, break an attribute or start an entity if it were not escaped.
const char* kNasty = R"(<script>alert("x")</script> & 'quotes' <!-- </script>)";

std::string modelJson() {
  return std::string(R"({
  "SecurityGroups": [
    {"SecurityGroupId": "sg-web", "InnerAccessPolicy": "Accept", "Permissions": [
      {"SecurityGroupRuleId": "sgr-ssh", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22",
       "SourceCidrIp": "203.0.113.0/24", "Policy": "Accept", "Priority": 1, "Description": )") +
         json::serialize(json::value(kNasty)) + R"(},
      {"SecurityGroupRuleId": "sgr-http", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "80/80",
       "SourceCidrIp": "0.0.0.0/0", "Policy": "Accept", "Priority": 1},
      {"SecurityGroupRuleId": "sgr-http-office", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "80/80",
       "SourceCidrIp": "203.0.113.0/24", "Policy": "Accept", "Priority": 2}
    ]}
  ],
  "NetworkInterfaces": [
    {"NetworkInterfaceId": "eni-web", "PrivateIpAddress": "10.0.0.5", "SecurityGroupIds": ["sg-web"]}
  ]
})";
}

Model model() {
  auto m = parseModel(modelJson(), std::nullopt, "html_test");
  EXPECT_TRUE(m) << (m ? "" : m.error().toString());
  return std::move(*m);
}

Model without(Model m, const std::string& ruleId) {
  for (auto& g : m.groups) std::erase_if(g.rules, [&](const Rule& r) { return r.id == ruleId; });
  return m;
}

// The <script type="application/json" id="sgsim-report"> block, parsed.
json::value embedded(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"sgsim-report\">";
  const auto a = page.find(open);
  EXPECT_NE(a, std::string::npos);
  const auto b = page.find("</script>", a);
  EXPECT_NE(b, std::string::npos);
  return json::parse(page.substr(a + open.size(), b - a - open.size()));
}

// The opening tag of the first element with `attr`.
std::string tagWith(const std::string& page, const std::string& attr) {
  const auto at = page.find(attr);
  if (at == std::string::npos) return "";
  const auto start = page.rfind('<', at);
  return page.substr(start, page.find('>', at) - start + 1);
}

// What every page must be: self-contained, no fetch, no script that runs, user text escaped.
void expectSafe(const std::string& page) {
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_EQ(page.find("alert(\"x\")"), std::string::npos);
  EXPECT_EQ(page.find("<!-- </script>"), std::string::npos);
  // One script element, the inert data block.
  std::size_t scripts = 0;
  for (auto p = page.find("<script"); p != std::string::npos; p = page.find("<script", p + 1)) ++scripts;
  EXPECT_EQ(scripts, 1u);
  // Nothing fetched: no src or href attributes, no @import or url() in the style sheet.
  EXPECT_FALSE(std::regex_search(page, std::regex(R"(\s(src|href)\s*=)", std::regex::icase)));
  EXPECT_EQ(page.find("@import"), std::string::npos);
  EXPECT_EQ(page.find("url("), std::string::npos);
  EXPECT_NE(page.find("Content-Security-Policy"), std::string::npos);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
}

TEST(Html, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(htmlEscape(kNasty),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39; &lt;!-- "
            "&lt;/script&gt;");
  EXPECT_EQ(scriptSafeJson(R"({"a":"</script><!--&"})"), R"({"a":"\u003c/script\u003e\u003c!--\u0026"})");
  EXPECT_EQ(json::parse(scriptSafeJson(R"({"a":"</script>&"})")).at("a").as_string(), "</script>&");
}

TEST(Html, ShowCarriesShowsJsonAndMarksShadowedRules) {
  const Model m = model();
  auto page = renderShowHtml(m, std::nullopt, {Error{"model <x>", "a warning & its <fix>"}});
  ASSERT_TRUE(page);
  expectSafe(*page);
  EXPECT_EQ(embedded(*page),
            json::parse(*renderShowJson(m, std::nullopt, {Error{"model <x>", "a warning & its <fix>"}})));
  EXPECT_NE(page->find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;"), std::string::npos);
  EXPECT_NE(page->find("model &lt;x&gt;: a warning &amp; its &lt;fix&gt;"), std::string::npos);
  // sgr-http (0.0.0.0/0, port 80, priority 1) covers sgr-http-office: greyed, naming the rule that shadows it.
  const std::string row = tagWith(*page, "data-rule=\"sgr-http-office\"");
  EXPECT_NE(row.find("shadowed"), std::string::npos) << row;
  EXPECT_NE(row.find("data-shadowed-by=\"sgr-http\""), std::string::npos) << row;
  EXPECT_EQ(tagWith(*page, "data-rule=\"sgr-http\"").find("shadowed"), std::string::npos);
  // Evaluation order: intra-group accept, the rules, the default.
  EXPECT_LT(page->find("data-kind=\"intra-group\""), page->find("data-rule=\"sgr-ssh\""));
  EXPECT_LT(page->find("data-rule=\"sgr-http-office\""), page->find("data-kind=\"default\""));
}

TEST(Html, WhatIfAgreesWithItsJsonReport) {
  const Network before(model());
  const Network after(without(model(), "sgr-ssh"));
  WhatIfReport r;
  r.captures = {"day<1>&.pcap"};
  r.stats.frames = 10;
  r.stats.firstNs = 1'000'000'000'000;
  r.stats.lastNs = r.stats.firstNs + 60'000'000'000;
  r.stats.perCapture = {CaptureSpan{"day<1>&.pcap", 10, r.stats.firstNs, r.stats.lastNs}};
  r.stats.warnings = {Error{"capture <1>", "went on & on"}};
  r.originNs = r.stats.firstNs;
  r.atNs = r.stats.firstNs + 30'000'000'000;
  r.totals.frames = 10;
  r.totals.cut = 1;
  r.totals.changedPackets = 7;
  r.totals.changedBytes = 700;
  AppliedRequest q;
  q.source = "<revoke>";
  q.action = "RevokeSecurityGroup";
  q.groupId = "sg-web";
  q.requestId = "R1";
  q.removed = {before.model().groups[0].rules[0]};
  r.requests = {q};
  ChangedFlow f;
  f.proto = 6;
  f.src = *IpAddr::parse("203.0.113.10");
  f.dst = *IpAddr::parse("10.0.0.5");
  f.sport = 40000;
  f.dport = 22;
  f.packets = 7;
  f.bytes = 700;
  f.firstNs = r.stats.firstNs + 31'000'000'000;
  f.lastNs = r.stats.firstNs + 50'000'000'000;
  f.firstFrame = 3;
  f.before = SideDecision{Verdict::Accept, Reason::Rule, "eni-web", Direction::Ingress, "sgr-ssh", "sg-web"};
  f.after = SideDecision{Verdict::Drop, Reason::Default, "eni-web", Direction::Ingress, "", ""};
  r.flows = {f};
  const std::string page = renderWhatIfHtml(r, before, after, analyzeNetwork(after));
  expectSafe(page);
  EXPECT_EQ(embedded(page), json::parse(renderWhatIfJson(r)));
  EXPECT_NE(page.find("capture &lt;1&gt;: went on &amp; on"), std::string::npos);
  EXPECT_NE(page.find("day&lt;1&gt;&amp;.pcap"), std::string::npos);
  // The flow: its row and its line on the timeline, and --at marked.
  const std::string flow = tagWith(page, "<tr class=\"flow cut\"");
  EXPECT_NE(flow.find("data-packets=\"7\""), std::string::npos) << flow;
  EXPECT_NE(flow.find("data-bytes=\"700\""), std::string::npos) << flow;
  EXPECT_NE(page.find("<g class=\"cut\" data-flow=\"1\">"), std::string::npos);
  EXPECT_NE(page.find("id=\"at-mark\""), std::string::npos);
  EXPECT_NE(page.find("--at +30.000s"), std::string::npos);
  // The merged table: the revoked rule in its former place, struck through, with the flow it decided before; the
  // default decides it after.
  const std::string ssh = tagWith(page, "data-rule=\"sgr-ssh\"");
  EXPECT_NE(ssh.find("data-change=\"removed\""), std::string::npos) << ssh;
  EXPECT_NE(ssh.find("data-before-flows=\"1\""), std::string::npos) << ssh;
  EXPECT_EQ(ssh.find("data-after-flows"), std::string::npos) << ssh;
  const std::string def = tagWith(page, "data-kind=\"default\"");
  EXPECT_NE(def.find("data-after-flows=\"1\""), std::string::npos) << def;
  EXPECT_NE(tagWith(page, "data-rule=\"sgr-http-office\"").find("data-shadowed-by=\"sgr-http\""), std::string::npos);
  EXPECT_LT(page.find("data-kind=\"intra-group\""), page.find("data-rule=\"sgr-ssh\""));
  EXPECT_LT(page.find("data-rule=\"sgr-ssh\""), page.find("data-rule=\"sgr-http\""));
}

TEST(Html, AuditAgreesWithItsJsonReport) {
  auto net = std::make_shared<const Network>(model());
  std::vector<AuditedRule> traffic;
  const auto& g = net->model().groups[0];
  for (std::size_t i = 0; i < g.rules.size(); ++i) {
    AuditedRule a;
    a.group = 0;
    a.rule = i;
    a.ruleId = g.rules[i].id;
    a.groupId = g.id;
    a.direction = g.rules[i].direction;
    a.priority = g.rules[i].priority;
    a.policy = g.rules[i].policy;
    a.enis = {"eni-web"};
    traffic.push_back(a);
  }
  traffic[0].hits = RuleHits{3, 3, 180, 1'000'000'000, 9'000'000'000};
  traffic[0].ifRevoked = RevokeImpact{2, 2, 0, 0, 40, 4000};
  traffic[0].fallback = {Fallback{Verdict::Drop, Reason::Default, "", "", 2}};
  AuditReport r;
  r.captures = {"a.pcap"};
  r.stats.frames = 50;
  r.stats.firstNs = 1'000'000'000;
  r.stats.lastNs = 10'000'000'000;
  r.stats.perCapture = {CaptureSpan{"a.pcap", 50, r.stats.firstNs, r.stats.lastNs}};
  r.originNs = r.stats.firstNs;
  r.rules = auditRows(*net, traffic, analyzeNetwork(*net));
  sortAuditRows(r.rules, AuditSort::Impact);
  r.enis = 1;
  const std::string page = renderAuditHtml(r, *net);
  expectSafe(page);
  EXPECT_EQ(embedded(page), json::parse(renderAuditJson(r)));
  const std::string ssh =
      tagWith(page, "<tr class=\"kind-rule\" data-kind=\"rule\" data-rank=\"2\" data-rule=\"sgr-ssh\"");
  EXPECT_NE(ssh.find("data-hits-flows=\"3\""), std::string::npos) << ssh;
  EXPECT_NE(ssh.find("data-changed-flows=\"2\""), std::string::npos) << ssh;
  EXPECT_NE(ssh.find("data-changed-bytes=\"4000\""), std::string::npos) << ssh;
  EXPECT_NE(ssh.find("data-verdict=\"in-use\""), std::string::npos) << ssh;
  const std::string office = tagWith(page, "data-kind=\"rule\" data-rank=\"4\"");
  EXPECT_NE(office.find("shadowed"), std::string::npos) << office;
  EXPECT_NE(office.find("data-shadowed-by=\"sgr-http\""), std::string::npos) << office;
  EXPECT_NE(page.find("&lt;script&gt;alert"), std::string::npos);  // the ranked list's description
  EXPECT_NE(page.find("<g class=\"hits\" data-rule=\"sgr-ssh\">"), std::string::npos);
}

TEST(Html, ReplaySummaryCountsEveryFrameAndEachEntrysDecisions) {
  auto net = std::make_shared<const Network>(model());
  std::ostringstream out;
  auto writer = makeReplayHtmlWriter(out, analyzeNetwork(*net));
  ReplayContext ctx;
  ctx.network = net.get();
  ctx.captureNames = {"x<y>.pcap"};
  writer->begin(ctx);
  ReplayStats stats;
  stats.setCaptures({"x<y>.pcap"});
  PacketKey key;
  for (int i = 0; i < 5; ++i) {
    Frame f;
    f.tsNs = 1'000'000'000LL * (i + 1);
    f.wireLen = 100;
    PacketVerdict v;
    v.checkCount = 1;
    v.deciding = 0;
    v.checks[0].eni = 0;
    v.checks[0].direction = Direction::Ingress;
    if (i < 3) {  // sgr-http decides three, the default drops two
      v.verdict = v.checks[0].verdict = Verdict::Accept;
      v.reason = v.checks[0].reason = Reason::Rule;
      v.checks[0].ruleRef = 1;
    } else {
      v.verdict = v.checks[0].verdict = Verdict::Drop;
      v.reason = v.checks[0].reason = Reason::Default;
    }
    writer->frame(f, key, v);
    stats.add(f, key, v);
  }
  writer->finish(stats);
  const std::string page = out.str();
  expectSafe(page);
  const json::object doc = embedded(page).as_object();
  EXPECT_EQ(doc.at("frames").to_number<std::uint64_t>(), 5u);
  std::uint64_t sum = 0;
  for (const auto& o : doc.at("outcomes").as_array()) sum += o.at("frames").to_number<std::uint64_t>();
  EXPECT_EQ(sum, 5u);
  const auto& ingress = doc.at("tables").as_array()[0].as_object();
  EXPECT_EQ(ingress.at("direction").as_string(), "ingress");
  const auto& entries = ingress.at("entries").as_array();
  EXPECT_EQ(entries[2].at("rule").as_string(), net->rules(0, Direction::Ingress)[1].ruleId);
  EXPECT_EQ(entries[2].at("decisions").to_number<std::uint64_t>(), 3u);
  EXPECT_EQ(entries.back().at("kind").as_string(), "default");
  EXPECT_EQ(entries.back().at("decisions").to_number<std::uint64_t>(), 2u);
  const std::string row = tagWith(page, "data-rule=\"" + net->rules(0, Direction::Ingress)[1].ruleId + "\"");
  EXPECT_NE(row.find("data-decisions=\"3\""), std::string::npos) << row;
  EXPECT_NE(page.find("x&lt;y&gt;.pcap"), std::string::npos);
  std::uint64_t buckets = 0;
  for (const auto& b : doc.at("timeline").at("buckets").as_array())
    for (const auto& n : b.as_array()) buckets += n.to_number<std::uint64_t>();
  EXPECT_EQ(buckets, 5u);
}

}  // namespace
}  // namespace sgsim
