// The what-if engine evaluates both tables in one pass with one flow table holding both sides' state
// (BasicEvaluator<2>). It must decide every packet exactly as two independent evaluators would.
#include <gtest/gtest.h>

#include <random>

#include "sgsim/verdict/evaluator.h"
#include "test_model.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

// The "after" table: some rules removed, some policies flipped.
Model changed(Model m, std::mt19937& rng) {
  for (auto& g : m.groups) {
    std::vector<Rule> kept;
    for (auto& r : g.rules) {
      const unsigned roll = rng() % 5;
      if (roll == 0) continue;
      if (roll == 1) r.policy = r.policy == Policy::Accept ? Policy::Drop : Policy::Accept;
      kept.push_back(r);
    }
    g.rules = kept;
  }
  return m;
}

void expectSame(const PacketVerdict& got, const PacketVerdict& want, int side, int packet) {
  ASSERT_EQ(got.verdict, want.verdict) << "side " << side << " packet " << packet;
  ASSERT_EQ(got.reason, want.reason) << "side " << side << " packet " << packet;
  ASSERT_EQ(got.checkCount, want.checkCount) << "side " << side << " packet " << packet;
  ASSERT_EQ(got.deciding, want.deciding) << "side " << side << " packet " << packet;
  ASSERT_EQ(got.untracked, want.untracked) << "side " << side << " packet " << packet;
  for (int i = 0; i < got.checkCount; ++i) {
    ASSERT_EQ(got.checks[i].eni, want.checks[i].eni);
    ASSERT_EQ(got.checks[i].direction, want.checks[i].direction);
    ASSERT_EQ(got.checks[i].verdict, want.checks[i].verdict);
    ASSERT_EQ(got.checks[i].reason, want.checks[i].reason);
    ASSERT_EQ(got.checks[i].ruleRef, want.checks[i].ruleRef);
    ASSERT_EQ(got.checks[i].intraGroup, want.checks[i].intraGroup);
  }
}

TEST(PairedEvaluator, DecidesLikeTwoIndependentEvaluators) {
  std::mt19937 rng(424242);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  // Mostly the ENIs' own addresses, so that many packets are checked at two ENIs (egress, then ingress).
  const char* addrs[] = {"10.0.0.5", "10.0.0.6",  "10.0.1.7",    "10.0.1.7",
                         "10.0.0.5", "192.0.2.1", "192.0.2.200", "198.51.100.9"};
  const std::uint16_t ports[] = {22, 80, 443, 1500, 40000, 40001};
  const std::uint8_t flagsPool[] = {kSyn, kAck, kAck, kAck, kFin | kAck, kRst};
  int twoChecks = 0, sidesDiffer = 0, stateful = 0;
  std::size_t cuts = 0, releases = 0, laterFragments = 0;
  for (int round = 0; round < 80; ++round) {
    const Model before = randomModel(rng);
    const Model after = changed(before, rng);
    auto nb = std::make_shared<const Network>(before);
    auto na = std::make_shared<const Network>(after);
    const bool at = round % 3 != 1;  // --at: side 1 starts with the old table and switches mid-stream
    const bool keep = round % 4 == 0;
    EvalOptions opt;
    if (round % 5 == 4) opt.eni = 1;  // --host restricting to one ENI
    if (round % 7 == 6) {             // --direction ingress|egress at one ENI
      opt.mode = round % 2 ? DirectionMode::Ingress : DirectionMode::Egress;
      opt.eni = round % 3;
    }
    BasicEvaluator<2> paired({nb, at ? nb : na}, opt);
    // The same, fed with plans made ahead (as the reading thread makes them), the rules' decisions included for
    // a random half of the packets. Its planner takes side 1 as fixed even with --at: after the switch the
    // evaluator must notice that side 1's table is no longer the one the plan was made with.
    BasicEvaluator<2> planned({nb, at ? nb : na}, opt);
    const BasicPlanner<2> planner = planned.planner();
    Evaluator one(nb, opt);
    Evaluator two(at ? nb : na, opt);
    std::vector<PacketKey> sent;
    std::vector<PacketKey> firsts;  // first fragments sent
    std::int64_t now = 0;
    const std::int64_t switchAt = sec(200);
    bool switched = false;
    for (int k = 0; k < 600; ++k) {
      now += sec(pick(4) == 0 ? pick(40) : 0.01 * pick(100));
      if (at && !switched && now >= switchAt) {
        // Cuts and releases (SEMANTICS §6) alike in the shared table and in an independent one.
        const InstantChange change = paired.replaceNetwork(1, na, switchAt, keep);
        EXPECT_EQ(change, two.replaceNetwork(na, switchAt, keep));
        EXPECT_EQ(planned.replaceNetwork(1, na, switchAt, keep), change);
        cuts += change.cut;
        releases += change.released;
        switched = true;
      }
      PacketKey p;
      if (!sent.empty() && pick(2) == 0) {
        p = sent[static_cast<std::size_t>(pick(static_cast<int>(sent.size())))];
        if (pick(2)) p = reversed(p);
        p.tcpFlags = p.proto == 6 ? flagsPool[pick(6)] : 0;
      } else {
        const std::uint8_t proto = pick(4) == 0 ? 17 : (pick(5) == 0 ? 1 : 6);
        p = pkt(addrs[pick(8)], ports[pick(6)], addrs[pick(8)], ports[pick(6)], proto, flagsPool[pick(6)]);
        if (proto == 1) p.sport = p.dport = 7;
        if (pick(8) == 0) {
          p.isFragment = true;
          p.firstFragment = pick(2) == 0;
          p.fragId = static_cast<std::uint32_t>(pick(4));
          if (p.firstFragment) {
            firsts.push_back(p);
          } else if (!firsts.empty() && pick(2) == 0) {
            // The rest of an earlier fragmented packet: same addresses, protocol and id, no ports.
            const PacketKey& f = firsts[static_cast<std::size_t>(pick(static_cast<int>(firsts.size())))];
            p = pkt(f.src.toString(), 0, f.dst.toString(), 0, f.proto, 0);
            p.isFragment = true;
            p.fragId = f.fragId;
          }
        }
        sent.push_back(p);
      }
      BasicEvaluator<2>::Verdicts got;
      paired.evaluate(p, now, got);
      twoChecks += got[0].checkCount == 2 && got[1].checkCount == 1;
      sidesDiffer += got[0].verdict != got[1].verdict;
      stateful += got[1].reason == Reason::Established || got[1].reason == Reason::Blocked;
      if (p.isFragment && !p.firstFragment) {
        // A later fragment belongs to a flow exactly when it was matched to its first fragment.
        const auto first = paired.firstFragmentOf(p, now);
        EXPECT_EQ(first.has_value(), got[0].reason != Reason::UnmatchedFragment) << "packet " << k;
        laterFragments += first.has_value();
      }
      expectSame(got[0], one.evaluate(p, now), 0, k);
      expectSame(got[1], two.evaluate(p, now), 1, k);
      BasicPacketPlan<2> plan;
      planner.plan(p, plan, pick(2) == 0);
      BasicEvaluator<2>::Verdicts viaPlan;
      planned.evaluate(p, plan, now, viaPlan);
      expectSame(viaPlan[0], got[0], 0, k);
      expectSame(viaPlan[1], got[1], 1, k);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  // The stream must exercise what differs between the sides: a sender's egress that drops on one side only
  // (so the receiver is checked on the other side only), different verdicts, and state.
  EXPECT_GT(twoChecks, 50);
  EXPECT_GT(sidesDiffer, 500);
  EXPECT_GT(stateful, 2000);
  // --at must both cut and release in this stream (with and without --keep-established).
  EXPECT_GT(cuts, 5u);
  EXPECT_GT(releases, 5u);
  EXPECT_GT(laterFragments, 20u);
}

}  // namespace
}  // namespace sgsim
