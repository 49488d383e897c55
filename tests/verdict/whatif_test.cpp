#include "sgsim/verdict/whatif.h"

#include <gtest/gtest.h>

#include "test_model.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

std::shared_ptr<const Network> net(bool withSsh) {
  Model m;
  std::vector<Rule> rules{rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")};
  if (withSsh) rules.push_back(rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "203.0.113.0/24"));
  m.groups.push_back(group("sg-web", rules));
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, {"sg-web"}));
  return std::make_shared<Network>(std::move(m));
}

Frame frame(std::uint64_t n, double t, std::uint32_t len = 100) {
  Frame f;
  f.number = n;
  f.tsNs = sec(t);
  f.wireLen = len;
  return f;
}

TEST(WhatIf, RevokingSshCutsOnlyTheSshFlowWithItsPacketsAndBytes) {
  WhatIf w(net(true), net(false), {});
  auto ssh = pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn);
  auto http = pkt("192.0.2.1", 40000, "10.0.0.5", 80, 6, kSyn);
  EXPECT_TRUE(w.process(frame(1, 0), ssh));
  EXPECT_FALSE(w.process(frame(2, 0.5), http));
  EXPECT_TRUE(w.process(frame(3, 1, 60), reversed(ssh)));
  EXPECT_TRUE(w.process(frame(4, 2, 1500), ssh));
  EXPECT_FALSE(w.process(frame(5, 3), reversed(http)));
  auto flows = w.ranked();
  ASSERT_EQ(flows.size(), 1u);
  const ChangedFlow& f = flows[0];
  EXPECT_EQ(f.packets, 3u);
  EXPECT_EQ(f.bytes, 1660u);
  EXPECT_EQ(f.firstNs, sec(0));
  EXPECT_EQ(f.lastNs, sec(2));
  EXPECT_EQ(f.firstFrame, 1u);
  EXPECT_EQ(f.before.verdict, Verdict::Accept);
  EXPECT_EQ(f.before.ruleId, "sgr-ssh");
  EXPECT_EQ(f.after.verdict, Verdict::Drop);
  EXPECT_EQ(f.after.reason, Reason::Default);
  EXPECT_EQ(w.totals().cut, 1u);
  EXPECT_EQ(w.totals().changedPackets, 3u);
}

TEST(WhatIf, NoChangeWhenTheTablesDecideAlike) {
  WhatIf w(net(true), net(true), {});
  EXPECT_FALSE(w.process(frame(1, 0), pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn)));
  EXPECT_TRUE(w.ranked().empty());
}

TEST(WhatIf, AuthorizingOpensAFlow) {
  WhatIf w(net(false), net(true), {});
  EXPECT_TRUE(w.process(frame(1, 0), pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn)));
  EXPECT_EQ(w.totals().opened, 1u);
}

TEST(WhatIf, AtAnInstantCutsLiveConnectionsUnlessKept) {
  auto ssh = pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn);
  for (bool keep : {false, true}) {
    WhatIfOptions o;
    o.atNs = sec(10);
    o.keepEstablished = keep;
    WhatIf w(net(true), net(false), o);
    EXPECT_FALSE(w.process(frame(1, 0), ssh));  // before the change: same table
    EXPECT_FALSE(w.process(frame(2, 5), reversed(ssh)));
    EXPECT_EQ(w.process(frame(3, 12), ssh), !keep);  // after: cut unless kept
    EXPECT_EQ(w.totals().flowsCutAtInstant, keep ? 0u : 1u);
    // A new SSH connection after the instant is dropped either way.
    EXPECT_TRUE(w.process(frame(4, 13), pkt("203.0.113.7", 51515, "10.0.0.5", 22, 6, kSyn)));
  }
}

// SEMANTICS §6: at the instant, a blocked flow that the new table would accept is released, so a client retrying
// is let in (the mirror of a cut). Without it the retries stayed blocked to the 910 s timeout and the what-if
// missed that the change opens the flow.
TEST(WhatIf, AtAnInstantReleasesBlockedFlowsTheChangeWouldAccept) {
  auto ssh = pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn);
  for (bool keep : {false, true}) {
    WhatIfOptions o;
    o.atNs = sec(10);
    o.keepEstablished = keep;  // no connection to keep: released either way
    WhatIf w(net(false), net(true), o);
    EXPECT_FALSE(w.process(frame(1, 0), ssh));  // before the change: same table, blocked on both sides
    EXPECT_FALSE(w.process(frame(2, 3), ssh));
    EXPECT_FALSE(w.process(frame(3, 9), ssh));
    EXPECT_TRUE(w.process(frame(4, 12), ssh));  // released: the new table decides it as a first packet
    EXPECT_TRUE(w.process(frame(5, 12.1), reversed(ssh)));
    EXPECT_EQ(w.totals().flowsReleasedAtInstant, 1u);
    EXPECT_EQ(w.totals().flowsCutAtInstant, 0u);
    EXPECT_EQ(w.totals().opened, 1u);
    auto flows = w.ranked();
    ASSERT_EQ(flows.size(), 1u);
    EXPECT_EQ(flows[0].packets, 2u);
    EXPECT_EQ(flows[0].firstFrame, 4u);
    EXPECT_EQ(flows[0].before.reason, Reason::Blocked);
    EXPECT_EQ(flows[0].after.reason, Reason::Rule);
    EXPECT_EQ(flows[0].after.ruleId, "sgr-ssh");
  }
}

// SEMANTICS §6: a later fragment (no ports of its own) counts in its first fragment's flow; one whose first
// fragment was never seen is `none` on both sides, counted apart, never a flow of its own.
TEST(WhatIf, LaterFragmentsCountInTheirFirstFragmentsFlow) {
  PacketKey first = pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn);
  first.isFragment = first.firstFragment = true;
  first.fragId = 7;
  PacketKey later = pkt("203.0.113.7", 0, "10.0.0.5", 0, 6, 0);
  later.isFragment = true;
  later.fragId = 7;
  PacketKey orphan = later;
  orphan.fragId = 8;
  WhatIf w(net(true), net(false), {});
  EXPECT_TRUE(w.process(frame(1, 0, 1500), first));
  EXPECT_TRUE(w.process(frame(2, 0.001, 1500), later));
  EXPECT_TRUE(w.process(frame(3, 0.002, 700), later));
  EXPECT_FALSE(w.process(frame(4, 0.003, 600), orphan));
  EXPECT_EQ(w.lastBefore().reason, Reason::UnmatchedFragment);
  EXPECT_EQ(w.lastAfter().verdict, Verdict::None);
  auto flows = w.ranked();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].sport, 51514);
  EXPECT_EQ(flows[0].dport, 22);
  EXPECT_EQ(flows[0].packets, 3u);
  EXPECT_EQ(flows[0].bytes, 3700u);
  EXPECT_EQ(w.totals().changedPackets, 3u);
  EXPECT_EQ(w.totals().unmatchedFragments, 1u);
  EXPECT_EQ(w.totals().cut, 1u);
}

}  // namespace
}  // namespace sgsim
