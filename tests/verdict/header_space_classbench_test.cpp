// The header-space analysis on real-size tables: the ClassBench 1k sets converted as tools/classbench2sgsim
// converts them (one ENI whose addresses are the trace's destinations), checked on the trace's headers, which sit on
// the rules' corners: every finding and the space diff of a revoke must agree with Network::decide on all of them.
#include <gtest/gtest.h>

#include <filesystem>

#include "../../tools/classbench2sgsim_convert.h"
#include "../shared_corpus.h"
#include "hs_check.h"
#include "sgsim/classify/classbench.h"
#include "sgsim/model/model_json.h"
#include "sgsim/verdict/header_space.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

struct Table {
  std::shared_ptr<const Network> net;
  std::vector<PacketFields> packets;  // the trace, as packets arriving at the ENI
};

Table load(const std::string& set) {
  const std::string rules = test::corpusPath("classbench/" + set).string();
  auto boxes = loadClassBenchRules(rules);
  auto trace = loadClassBenchTrace(rules + "_trace");
  EXPECT_TRUE(boxes && trace);
  if (!boxes || !trace) return {};
  ConvertStats stats;
  const auto doc = classBenchModel(*boxes, classBenchEniAddresses(*trace, true), ConvertOptions{}, stats);
  auto model = parseModel(boost::json::serialize(doc), LoadOptions{}, set);
  EXPECT_TRUE(model) << (model ? "" : model.error().toString());
  if (!model) return {};
  Table t;
  t.net = std::make_shared<const Network>(std::move(*model));
  for (const ClassifyKey& k : *trace) t.packets.push_back(PacketFields{k.proto, k.src, k.dst, k.sport, k.dport});
  return t;
}

void checkTable(const std::string& set) {
  const Table t = load(set);
  ASSERT_TRUE(t.net);
  const Network& net = *t.net;
  const Direction in = Direction::Ingress;
  const HsTableAnalysis a = analyzeTable(net, 0, in);
  ASSERT_EQ(a.status, HsStatus::Exact) << a.notProven;
  const auto& refs = net.rules(0, in);
  std::vector<Decision> decided;
  for (const PacketFields& p : t.packets) decided.push_back(decideAt(net, 0, in, p));

  std::size_t redundantChecked = 0, flippingChecked = 0;
  for (std::size_t k = 0; k < refs.size(); ++k) {
    const HsRuleFindings& f = a.rules[k];
    SCOPED_TRACE(set + " " + refs[k].ruleId);
    const bool won = std::any_of(decided.begin(), decided.end(), [&](const Decision& d) {
      return d.reason == Reason::Rule && d.ruleRef == static_cast<std::int32_t>(k);
    });
    if (won) {
      EXPECT_TRUE(f.decides);
    }
    if (f.decides) {
      const Decision w = decideAt(net, 0, in, f.decidesWitness->fields);
      EXPECT_TRUE(w.reason == Reason::Rule && w.ruleRef == static_cast<std::int32_t>(k));
    }
    if (f.shadowed) {
      EXPECT_TRUE(ruleMatches(net.model(), *refs[k].rule, in, f.shadowWitness->fields));
      const Decision w = decideAt(net, 0, in, f.shadowWitness->fields);
      EXPECT_TRUE(std::any_of(f.shadowedBy.begin(), f.shadowedBy.end(), [&](auto& s) { return sameDecider(s, w); }));
    }
    for (const HsConflict& c : f.conflicts) {
      const Decision w = decideAt(net, 0, in, c.witness.fields);
      EXPECT_TRUE(c.thisWins ? (w.reason == Reason::Rule && w.ruleRef == static_cast<std::int32_t>(k))
                             : sameDecider(c.other, w));
      EXPECT_TRUE(ruleMatches(net.model(), *refs[k].rule, in, c.witness.fields));
    }
    // Revoking: every redundant rule and every tenth deciding one, against the whole trace.
    const bool check = f.decides && (f.redundant ? redundantChecked++ < 60 : flippingChecked++ % 10 == 0);
    if (!check) continue;
    const Network without(withoutRule(net, 0, in, k));
    for (const HsFallback& fb : f.fallbacks)
      EXPECT_EQ(nameOf(without, 0, in, decideAt(without, 0, in, fb.witness.fields)), nameOf(net, 0, in, fb.decider));
    for (std::size_t i = 0; i < t.packets.size(); ++i) {
      if (f.redundant) {
        EXPECT_EQ(decideAt(without, 0, in, t.packets[i]).verdict, decided[i].verdict);
      }
    }
  }
  EXPECT_GT(redundantChecked, 0u);
  EXPECT_GT(flippingChecked, 0u);

  // The space diff of revoking the rule in the middle of the table, and of the first rule whose revoke flips
  // something (its diff cannot be empty).
  const auto flipping = static_cast<std::size_t>(
      std::find_if(a.rules.begin(), a.rules.end(), [](const HsRuleFindings& f) { return f.decides && !f.redundant; }) -
      a.rules.begin());
  ASSERT_LT(flipping, refs.size());
  for (std::size_t k : {refs.size() / 2, flipping}) {
    const Network after(withoutRule(net, 0, in, k));
    const HsSpaceDiff diff = diffSpace(net, after);
    ASSERT_TRUE(diff.notProven.empty());
    ASSERT_FALSE(diff.truncated);
    if (k == flipping) {
      EXPECT_FALSE(diff.regions.empty());
    }
    for (std::size_t i = 0; i < t.packets.size(); ++i) {
      const bool flips = decideAt(after, 0, in, t.packets[i]).verdict != decided[i].verdict;
      EXPECT_EQ(findRegion(diff, 0, in, t.packets[i]) >= 0, flips) << HsPacket{t.packets[i], -1}.toString();
    }
    for (const HsFlipRegion& r : diff.regions) {
      EXPECT_TRUE(sameDecider(r.before, decideAt(net, 0, in, r.example.fields)));
      EXPECT_TRUE(sameDecider(r.after, decideAt(after, 0, in, r.example.fields)));
    }
  }
}

TEST(HeaderSpaceClassBench, Acl1) {
  SGSIM_NEED_CORPUS("classbench/1k");
  checkTable("1k/acl1_1k");
}
TEST(HeaderSpaceClassBench, Fw1) {
  SGSIM_NEED_CORPUS("classbench/1k");
  checkTable("1k/fw1_1k");
}
TEST(HeaderSpaceClassBench, Ipc1) {
  SGSIM_NEED_CORPUS("classbench/1k");
  checkTable("1k/ipc1_1k");
}

}  // namespace
}  // namespace sgsim
