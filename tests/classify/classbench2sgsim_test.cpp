// classbench2sgsim: a converted ClassBench set must decide packets in sgsim the way the ClassBench first
// match does (with the documented policy mapping), and its frames must decode back to the trace headers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "../../tools/classbench2sgsim_convert.h"
#include "../shared_corpus.h"
#include "sgsim/classify/classbench.h"
#include "sgsim/classify/linear_classifier.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/model/model_json.h"
#include "sgsim/verdict/network.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;

TEST(ClassBench2Sgsim, PriorityBandsAndPoliciesKeepFileOrder) {
  // sgsim sorts by (priority, drop before accept, rule order); that order must be the ClassBench line order.
  for (std::size_t n : {1u, 2u, 7u, 99u, 100u, 101u, 250u, 9999u}) {
    std::size_t drops = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const int p = classBenchPriority(i, n), q = classBenchPriority(i + 1, n);
      const bool a = classBenchIsDrop(i, n, ConvertPolicy::Mixed), b = classBenchIsDrop(i + 1, n, ConvertPolicy::Mixed);
      ASSERT_GE(p, 1);
      ASSERT_LE(q, 100);
      ASSERT_TRUE(p < q || (p == q && (a == b || (a && !b)))) << "n " << n << " rule " << i;
    }
    for (std::size_t i = 0; i < n; ++i) drops += classBenchIsDrop(i, n, ConvertPolicy::Mixed);
    if (n >= 2) {  // mixed really mixes
      EXPECT_GT(drops, 0u) << n;
      EXPECT_LT(drops, n) << n;
    }
  }
  EXPECT_FALSE(classBenchIsDrop(3, 10, ConvertPolicy::Accept));
  EXPECT_TRUE(classBenchIsDrop(3, 10, ConvertPolicy::Drop));
}

TEST(ClassBench2Sgsim, ProtocolsThatSgsimCannotNameAreCounted) {
  auto box = [](int proto, std::uint16_t dlo, std::uint16_t dhi) {
    RuleBox b;
    b.src = *Cidr::parse("10.0.0.0/8");
    b.dst = *Cidr::parse("0.0.0.0/0");
    b.proto = static_cast<std::int16_t>(proto);
    b.dportLo = dlo;
    b.dportHi = dhi;
    return b;
  };
  // any+ports → TCP and UDP; ESP → skipped; ICMP with ports → ports dropped; any without ports → ALL.
  std::vector<RuleBox> rules = {box(-1, 0, 1023), box(50, 0, 65535), box(1, 8, 8), box(-1, 0, 65535)};
  ConvertStats stats;
  auto doc = classBenchModel(rules, {IpAddr::v4(0x0a000001)}, ConvertOptions{}, stats);
  EXPECT_EQ(stats.written, 4u);
  EXPECT_EQ(stats.split, 1u);
  EXPECT_EQ(stats.skippedProtocol, 1u);
  EXPECT_EQ(stats.droppedPorts, 1u);
  auto model = parseModel(boost::json::serialize(doc), std::nullopt, "converted");
  ASSERT_TRUE(model.ok()) << model.error().toString();
  const auto& group = model->groups.at(0);
  ASSERT_EQ(group.rules.size(), 4u);
  EXPECT_EQ(group.rules[0].protocol, Protocol::Tcp);
  EXPECT_EQ(group.rules[0].portRange, (PortRange{1, 1023}));
  EXPECT_EQ(group.rules[1].protocol, Protocol::Udp);
  EXPECT_EQ(group.rules[2].protocol, Protocol::Icmp);
  EXPECT_EQ(group.rules[3].protocol, Protocol::All);
  EXPECT_GE(model->quotas.rulesPerEni, 4);
}

// Converts a ClassBench set, loads it as an sgsim model, decodes every trace frame and asks the network for
// the deciding rule. Exact agreement is required for TCP/UDP headers with both ports >= 2: port 0 is not an
// sgsim TCP/UDP port (0 becomes 1 in rules and packets), and ports on other protocols do not exist in sgsim.
void convertedModelDecidesLikeClassBench(const std::string& set, bool ingress) {
  SGSIM_NEED_CORPUS("classbench/1k/" + set);
  SGSIM_NEED_CORPUS("classbench/1k/" + set + "_trace");
  const fs::path dir = test::corpusPath("classbench/1k");
  auto rules = loadClassBenchRules((dir / set).string());
  auto trace = loadClassBenchTrace((dir / (set + "_trace")).string());
  ASSERT_TRUE(rules.ok() && trace.ok());
  ConvertOptions options;
  options.ingress = ingress;
  ConvertStats stats;
  auto doc = classBenchModel(*rules, classBenchEniAddresses(*trace, ingress), options, stats);
  auto model = parseModel(boost::json::serialize(doc), std::nullopt, set);
  ASSERT_TRUE(model.ok()) << model.error().toString();
  const Network network(std::move(*model));
  ASSERT_EQ(network.eniCount(), 1u);
  const Direction direction = ingress ? Direction::Ingress : Direction::Egress;
  const LinearClassifier oracle(*rules);

  std::size_t compared = 0;
  for (std::size_t i = 0; i < trace->size(); ++i) {
    const ClassifyKey& h = (*trace)[i];
    const auto frame = classBenchFrame(h, static_cast<std::uint16_t>(i));
    const PacketKey key = decodeFrame(1, frame.data(), static_cast<std::uint32_t>(frame.size()));
    ASSERT_EQ(key.status, DecodeStatus::Ok) << key.detail;
    ASSERT_EQ(key.src, h.src);
    ASSERT_EQ(key.dst, h.dst);
    ASSERT_EQ(key.proto, h.proto);
    if ((h.proto != 6 && h.proto != 17) || h.sport < 2 || h.dport < 2) continue;
    ASSERT_EQ(key.sport, h.sport);
    ASSERT_EQ(key.dport, h.dport);
    const IpAddr& self = ingress ? key.dst : key.src;
    const IpAddr& peer = ingress ? key.src : key.dst;
    ASSERT_EQ(network.eniOf(self), 0);
    const Decision d = network.decide(0, direction, PacketFields{key.proto, key.src, key.dst, key.sport, key.dport},
                                      network.eniOf(peer));
    const std::uint32_t first = oracle.classify(h);
    ++compared;
    if (first == kNoMatch) {
      ASSERT_EQ(d.reason, Reason::Default) << set << " header " << i + 1;
      continue;
    }
    const std::size_t line = oracle.boxes()[first].ruleIndex;
    ASSERT_EQ(d.reason, Reason::Rule) << set << " header " << i + 1;
    const std::string& id = network.rules(0, direction).at(static_cast<std::size_t>(d.ruleRef)).ruleId;
    const std::string want = classBenchRuleId(line);
    ASSERT_TRUE(id == want || id == want + "-tcp" || id == want + "-udp")
        << set << " header " << i + 1 << ": sgsim chose " << id << ", ClassBench " << want;
    ASSERT_EQ(d.verdict, classBenchIsDrop(line, rules->size(), ConvertPolicy::Mixed) ? Verdict::Drop : Verdict::Accept);
  }
  EXPECT_GT(compared, trace->size() / 4) << set;  // the exclusions must leave most of the trace
}

TEST(ClassBench2Sgsim, ConvertedModelDecidesLikeClassBench) {
  for (const char* set : {"acl1_1k", "fw1_1k", "ipc1_1k"}) convertedModelDecidesLikeClassBench(set, true);
  convertedModelDecidesLikeClassBench("fw1_1k", false);
}

}  // namespace
}  // namespace sgsim
