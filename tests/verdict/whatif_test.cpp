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

// ---- reports that read the right way round (issue 10) ----------------------------------------------------------

// eni-web's table with an egress drop towards 203.0.113.0/24, or without it; with DNS open to all, or not.
std::shared_ptr<const Network> netEgress(bool withDrop, bool withDns = true) {
  Model m;
  std::vector<Rule> rules{rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "203.0.113.0/24")};
  if (withDns) rules.push_back(rule("sgr-dns", Direction::Ingress, Protocol::Udp, "53/53", "0.0.0.0/0"));
  if (withDrop)
    rules.push_back(rule("sgr-deny-out", Direction::Egress, Protocol::All, "-1/-1", "203.0.113.0/24", Policy::Drop));
  m.groups.push_back(group("sg-web", rules));
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, {"sg-web"}));
  return std::make_shared<Network>(std::move(m));
}

void expectFlow(const ChangedFlow& f, const std::string& src, std::uint16_t sport, const std::string& dst,
                std::uint16_t dport, bool openerSeen, Direction d) {
  EXPECT_EQ(f.src, *IpAddr::parse(src));
  EXPECT_EQ(f.sport, sport);
  EXPECT_EQ(f.dst, *IpAddr::parse(dst));
  EXPECT_EQ(f.dport, dport);
  EXPECT_EQ(f.openerSeen, openerSeen);
  EXPECT_EQ(f.direction, d);
}

// The change applies in the middle of a download: the first packet it drops is the server's, but the flow is the
// client's, shown from the client (before, it was shown from the server, as its first changed packet went).
TEST(WhatIfOrientation, ACutInTheMiddleOfTheReplyStreamIsShownFromTheOpener) {
  const auto syn = pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn);
  const auto data = reversed(pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kAck));
  WhatIfOptions o;
  o.atNs = sec(10);
  WhatIf w(net(true), net(false), o);
  EXPECT_FALSE(w.process(frame(1, 0), syn));
  EXPECT_FALSE(w.process(frame(2, 0.01), reversed(pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn | kAck))));
  EXPECT_FALSE(w.process(frame(3, 5), data));
  EXPECT_TRUE(w.process(frame(4, 11, 1500), data));  // cut at +10: the reply stream is dropped
  EXPECT_TRUE(w.process(frame(5, 11.1, 60), pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kAck)));
  auto flows = w.ranked();
  ASSERT_EQ(flows.size(), 1u);
  expectFlow(flows[0], "203.0.113.7", 51514, "10.0.0.5", 22, true, Direction::Ingress);
  EXPECT_EQ(flows[0].firstFrame, 4u);
  EXPECT_EQ(flows[0].packets, 2u);
  // The decisions are those of the first changed packet, at its own check (the server's egress).
  EXPECT_EQ(flows[0].before.reason, Reason::Established);
  EXPECT_EQ(flows[0].before.direction, Direction::Egress);
  EXPECT_EQ(flows[0].after.reason, Reason::Blocked);
}

// A capture that starts in the middle of a TCP connection holds no SYN: the flow's opener is unknown, and the flow
// is shown as its first packet went, whichever side that is.
TEST(WhatIfOrientation, TcpWithoutItsSynHasItsOpenerUnknown) {
  {  // the first packet seen is the client's: shown from the client, opener unknown
    WhatIf w(net(true), net(false), {});
    EXPECT_TRUE(w.process(frame(1, 0), pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kAck)));
    EXPECT_TRUE(w.process(frame(2, 0.1), reversed(pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kAck))));
    auto flows = w.ranked();
    ASSERT_EQ(flows.size(), 1u);
    expectFlow(flows[0], "203.0.113.7", 51514, "10.0.0.5", 22, false, Direction::Ingress);
    EXPECT_EQ(flows[0].packets, 2u);
  }
  {  // the first packet seen is the server's (a download under way): shown from the server, opener unknown
    WhatIf w(netEgress(false), netEgress(true), {});
    EXPECT_TRUE(w.process(frame(1, 0), reversed(pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kAck))));
    EXPECT_TRUE(w.process(frame(2, 0.1), pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kAck)));
    auto flows = w.ranked();
    ASSERT_EQ(flows.size(), 1u);
    expectFlow(flows[0], "10.0.0.5", 22, "203.0.113.7", 51514, false, Direction::Egress);
    EXPECT_EQ(flows[0].after.ruleId, "sgr-deny-out");
  }
  {  // a SYN-ACK is an answer, not an opening
    WhatIf w(netEgress(false), netEgress(true), {});
    EXPECT_TRUE(w.process(frame(1, 0), reversed(pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn | kAck))));
    ASSERT_EQ(w.ranked().size(), 1u);
    EXPECT_FALSE(w.ranked()[0].openerSeen);
  }
}

// UDP has no SYN: a packet from a well-known port to a higher one is a service answering, so a capture that starts
// with it has the flow's opener unknown; any other first packet is taken as the opening (a rule of thumb, written
// down in the README: a reply between two high ports cannot be told from a request).
TEST(WhatIfOrientation, UdpStartingWithAServiceAnswerHasItsOpenerUnknown) {
  {  // the capture starts with a DNS answer from eni-web to the client
    WhatIf w(netEgress(false), netEgress(true), {});
    EXPECT_TRUE(w.process(frame(1, 0), pkt("10.0.0.5", 53, "203.0.113.7", 40000, 17)));
    EXPECT_TRUE(w.process(frame(2, 0.5), pkt("203.0.113.7", 40000, "10.0.0.5", 53, 17)));
    auto flows = w.ranked();
    ASSERT_EQ(flows.size(), 1u);
    expectFlow(flows[0], "10.0.0.5", 53, "203.0.113.7", 40000, false, Direction::Egress);
    EXPECT_EQ(flows[0].packets, 2u);
  }
  {  // the query first: opened by the client, also when the answer is what the change drops (DNS closed at +5 ms)
    WhatIfOptions o;
    o.atNs = sec(0.005);
    WhatIf w(netEgress(false), netEgress(false, false), o);
    EXPECT_FALSE(w.process(frame(1, 0), pkt("203.0.113.7", 40000, "10.0.0.5", 53, 17)));
    EXPECT_TRUE(w.process(frame(2, 0.01), pkt("10.0.0.5", 53, "203.0.113.7", 40000, 17)));
    auto flows = w.ranked();
    ASSERT_EQ(flows.size(), 1u);
    expectFlow(flows[0], "203.0.113.7", 40000, "10.0.0.5", 53, true, Direction::Ingress);
  }
  {  // between two high ports the first packet seen is taken as the opening: the documented limit
    WhatIf w(netEgress(false), netEgress(true), {});
    EXPECT_TRUE(w.process(frame(1, 0), pkt("10.0.0.5", 5000, "203.0.113.7", 40000, 17)));
    auto flows = w.ranked();
    ASSERT_EQ(flows.size(), 1u);
    expectFlow(flows[0], "10.0.0.5", 5000, "203.0.113.7", 40000, true, Direction::Egress);
  }
}

// An ICMP echo reply answers a request: a capture that starts with it has the opener unknown.
TEST(WhatIfOrientation, IcmpEchoReplyFirstHasItsOpenerUnknown) {
  PacketKey reply = pkt("10.0.0.5", 7, "203.0.113.7", 7, 1);
  reply.icmpType = 0;
  PacketKey request = reply;
  request.icmpType = 8;
  {
    WhatIf w(netEgress(false), netEgress(true), {});
    EXPECT_TRUE(w.process(frame(1, 0), reply));
    ASSERT_EQ(w.ranked().size(), 1u);
    expectFlow(w.ranked()[0], "10.0.0.5", 7, "203.0.113.7", 7, false, Direction::Egress);
  }
  {  // the request first: eni-web opened it
    WhatIf w(netEgress(false), netEgress(true), {});
    EXPECT_TRUE(w.process(frame(1, 0), request));
    ASSERT_EQ(w.ranked().size(), 1u);
    expectFlow(w.ranked()[0], "10.0.0.5", 7, "203.0.113.7", 7, true, Direction::Egress);
  }
}

// A flow idle past its timeout is made again by its next packet: when that does not open a connection, the
// opener is unknown from then on, even though the capture saw it open earlier (the tracker forgot it).
TEST(WhatIfOrientation, AFlowRemadeAfterItsTimeoutByANonOpeningPacketHasItsOpenerUnknown) {
  WhatIf w(netEgress(false), netEgress(true), {});
  // The SYN is admitted by sgr-ssh under both tables: no change.
  EXPECT_FALSE(w.process(frame(1, 0), pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn)));
  // 1,200 s later (TCP's timeout is 910 s) the server speaks first: its packet makes the entries again, and the
  // egress drop stops it.
  EXPECT_TRUE(w.process(frame(2, 1200), reversed(pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kAck))));
  auto flows = w.ranked();
  ASSERT_EQ(flows.size(), 1u);
  expectFlow(flows[0], "10.0.0.5", 22, "203.0.113.7", 51514, false, Direction::Egress);
}

// With several captures, a flow names the capture of its first changed frame.
TEST(WhatIfOrientation, SeveralCapturesNameEachFlowsCapture) {
  WhatIf w(net(true), net(false), {});
  Frame a = frame(7, 0);
  a.fileIndex = 1;
  Frame b = frame(3, 1);
  b.fileIndex = 0;
  EXPECT_TRUE(w.process(a, pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn)));
  EXPECT_TRUE(w.process(b, pkt("203.0.113.8", 51514, "10.0.0.5", 22, 6, kSyn)));
  EXPECT_TRUE(w.process(frame(9, 2), pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kAck)));
  auto flows = w.ranked();
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(flows[0].src, *IpAddr::parse("203.0.113.7"));
  EXPECT_EQ(flows[0].firstFile, 1u);
  EXPECT_EQ(flows[0].firstFrame, 7u);
  EXPECT_EQ(flows[1].firstFile, 0u);
  EXPECT_EQ(flows[1].firstFrame, 3u);
}

}  // namespace
}  // namespace sgsim
