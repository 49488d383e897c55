#include "sgsim/verdict/evaluator.h"

#include <gtest/gtest.h>

#include "test_model.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

std::shared_ptr<const Network> webNetwork(std::vector<Rule> rules, GroupType t = GroupType::Normal) {
  Model m;
  m.groups.push_back(group("sg-web", std::move(rules), t));
  m.enis.push_back(eni("eni-web", {"10.0.0.5", "2001:db8::5"}, {"sg-web"}));
  return std::make_shared<Network>(std::move(m));
}

std::string ruleOf(const Evaluator& ev, const PacketVerdict& v) {
  const Check* c = v.decidingCheck();
  if (c == nullptr || c->ruleRef < 0) return "";
  return ev.network().rules(c->eni, c->direction)[c->ruleRef].ruleId;
}

TEST(Evaluator, BasicGroupDefaultsIngressDropEgressAccept) {
  Evaluator ev(webNetwork({}), {});
  auto in = ev.evaluate(pkt("198.51.100.1", 4000, "10.0.0.5", 22, 6, kSyn), sec(0));
  EXPECT_EQ(in.verdict, Verdict::Drop);
  EXPECT_EQ(in.reason, Reason::Default);
  auto out = ev.evaluate(pkt("10.0.0.5", 5000, "192.0.2.9", 443, 6, kSyn), sec(0));
  EXPECT_EQ(out.verdict, Verdict::Accept);
  EXPECT_EQ(out.reason, Reason::Default);
  ASSERT_EQ(out.checkCount, 1);
  EXPECT_EQ(out.checks[0].direction, Direction::Egress);
}

TEST(Evaluator, EnterpriseDefaultsDropBothWays) {
  Evaluator ev(webNetwork({}, GroupType::Enterprise), {});
  EXPECT_EQ(ev.evaluate(pkt("10.0.0.5", 5000, "192.0.2.9", 443), sec(0)).verdict, Verdict::Drop);
}

TEST(Evaluator, LowerPriorityNumberWinsAndDropBeatsAcceptAtEqualPriority) {
  Evaluator ev(
      webNetwork({
          rule("sgr-allow-all", Direction::Ingress, Protocol::Tcp, "1/65535", "0.0.0.0/0", Policy::Accept, 2),
          rule("sgr-deny-net", Direction::Ingress, Protocol::Tcp, "22/22", "198.51.100.0/24", Policy::Drop, 1),
          rule("sgr-accept-host", Direction::Ingress, Protocol::Tcp, "22/22", "198.51.100.7/32", Policy::Accept, 1),
      }),
      {});
  auto v = ev.evaluate(pkt("198.51.100.7", 4000, "10.0.0.5", 22, 6, kSyn), sec(0));
  EXPECT_EQ(v.verdict, Verdict::Drop);
  EXPECT_EQ(ruleOf(ev, v), "sgr-deny-net");
  v = ev.evaluate(pkt("203.0.113.1", 4000, "10.0.0.5", 22, 6, kSyn), sec(0));
  EXPECT_EQ(v.verdict, Verdict::Accept);
  EXPECT_EQ(ruleOf(ev, v), "sgr-allow-all");
}

TEST(Evaluator, RepliesOfAnAcceptedFlowAreEstablished) {
  Evaluator ev(webNetwork({rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "203.0.113.0/24")}), {});
  auto syn = pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn);
  EXPECT_EQ(ev.evaluate(syn, sec(0)).reason, Reason::Rule);
  auto reply = ev.evaluate(reversed(syn), sec(0.1));
  EXPECT_EQ(reply.verdict, Verdict::Accept);
  EXPECT_EQ(reply.reason, Reason::Established);
  EXPECT_EQ(ev.evaluate(syn, sec(0.2)).reason, Reason::Established);
}

TEST(Evaluator, ADroppedFlowStaysBlockedInBothDirectionsUntilItTimesOut) {
  Evaluator ev(webNetwork({}), {});
  auto syn = pkt("198.51.100.1", 4000, "10.0.0.5", 22, 6, kSyn);
  EXPECT_EQ(ev.evaluate(syn, sec(0)).reason, Reason::Default);
  auto back = ev.evaluate(reversed(syn), sec(1));  // egress would be allowed by default, but the flow is blocked
  EXPECT_EQ(back.verdict, Verdict::Drop);
  EXPECT_EQ(back.reason, Reason::Blocked);
  EXPECT_EQ(ev.evaluate(syn, sec(1 + 910)).reason, Reason::Blocked);      // refreshed at 1 s: alive at 911
  EXPECT_EQ(ev.evaluate(syn, sec(911 + 910.5)).reason, Reason::Default);  // expired: decided afresh
}

TEST(Evaluator, UdpLivesThirtySecondsSinceTheLastPacket) {
  Evaluator ev(webNetwork({rule("sgr-dns", Direction::Ingress, Protocol::Udp, "53/53", "0.0.0.0/0")}), {});
  auto q = pkt("192.0.2.1", 3333, "10.0.0.5", 53, 17);
  ev.evaluate(q, sec(0));
  EXPECT_EQ(ev.evaluate(reversed(q), sec(30)).reason, Reason::Established);  // exactly 30 s: alive
  EXPECT_EQ(ev.evaluate(reversed(q), sec(60.001)).reason, Reason::Default);  // 30.001 s idle: new flow
}

TEST(Evaluator, TcpAfterFinFromEachSideLivesThreeSeconds) {
  Evaluator ev(webNetwork({rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "0.0.0.0/0")}), {});
  auto c = pkt("192.0.2.1", 40000, "10.0.0.5", 22, 6, kSyn);
  ev.evaluate(c, sec(0));
  auto fin = c;
  fin.tcpFlags = kFin | kAck;
  ev.evaluate(fin, sec(10));
  EXPECT_EQ(ev.evaluate(reversed(c), sec(100)).reason, Reason::Established);  // one FIN: still 910 s
  ev.evaluate(reversed(fin), sec(100));
  EXPECT_EQ(ev.evaluate(c, sec(103)).reason, Reason::Established);
  EXPECT_EQ(ev.evaluate(c, sec(106.5)).reason, Reason::Rule);  // > 3 s after the last packet
}

TEST(Evaluator, TcpAfterRstLivesThreeSecondsEvenWhenBlocked) {
  Evaluator ev(webNetwork({}), {});
  auto c = pkt("192.0.2.1", 40000, "10.0.0.5", 80, 6, kSyn);
  ev.evaluate(c, sec(0));
  auto rst = reversed(c);
  rst.tcpFlags = kRst;
  EXPECT_EQ(ev.evaluate(rst, sec(1)).reason, Reason::Blocked);
  EXPECT_EQ(ev.evaluate(c, sec(3.5)).reason, Reason::Blocked);
  EXPECT_EQ(ev.evaluate(c, sec(7)).reason, Reason::Default);
}

TEST(Evaluator, Ipv4RuleNeverMatchesIpv6) {
  Evaluator ev(webNetwork({rule("sgr-all4", Direction::Ingress, Protocol::All, "-1/-1", "0.0.0.0/0")}), {});
  EXPECT_EQ(ev.evaluate(pkt("192.0.2.1", 1, "10.0.0.5", 80), sec(0)).verdict, Verdict::Accept);
  EXPECT_EQ(ev.evaluate(pkt("2001:db8::9", 1, "2001:db8::5", 80), sec(0)).verdict, Verdict::Drop);
}

TEST(Evaluator, IcmpEchoRepliesReverseOntoTheRequest) {
  Evaluator ev(webNetwork({rule("sgr-icmp", Direction::Ingress, Protocol::Icmp, "-1/-1", "192.0.2.10/32")}), {});
  auto echo = pkt("192.0.2.10", 77, "10.0.0.5", 77, 1);
  EXPECT_EQ(ev.evaluate(echo, sec(0)).reason, Reason::Rule);
  EXPECT_EQ(ev.evaluate(reversed(echo), sec(0.001)).reason, Reason::Established);
  EXPECT_EQ(ev.evaluate(pkt("192.0.2.11", 77, "10.0.0.5", 77, 1), sec(0)).verdict, Verdict::Drop);
}

TEST(Evaluator, UnmodeledNotIpAndUndecodableAreCountedNotDecided) {
  Evaluator ev(webNetwork({}), {});
  EXPECT_EQ(ev.evaluate(pkt("192.0.2.1", 1, "192.0.2.2", 2), sec(0)).reason, Reason::Unmodeled);
  PacketKey arp;
  arp.status = DecodeStatus::NotIp;
  EXPECT_EQ(ev.evaluate(arp, sec(0)).reason, Reason::NotIp);
  PacketKey bad;
  bad.status = DecodeStatus::Undecodable;
  auto v = ev.evaluate(bad, sec(0));
  EXPECT_EQ(v.reason, Reason::Undecodable);
  EXPECT_EQ(v.verdict, Verdict::None);
}

TEST(Evaluator, LaterFragmentsTakeTheFateOfTheirFirst) {
  Evaluator ev(webNetwork({rule("sgr-dns", Direction::Ingress, Protocol::Udp, "53/53", "0.0.0.0/0")}), {});
  auto first = pkt("192.0.2.1", 3333, "10.0.0.5", 53, 17);
  first.isFragment = first.firstFragment = true;
  first.fragId = 99;
  EXPECT_EQ(ev.evaluate(first, sec(0)).verdict, Verdict::Accept);
  auto later = pkt("192.0.2.1", 0, "10.0.0.5", 0, 17);
  later.isFragment = true;
  later.fragId = 99;
  auto v = ev.evaluate(later, sec(0.01));
  EXPECT_EQ(v.verdict, Verdict::Accept);
  EXPECT_EQ(v.reason, Reason::Rule);
  later.fragId = 100;
  v = ev.evaluate(later, sec(0.02));
  EXPECT_EQ(v.verdict, Verdict::None);
  EXPECT_EQ(v.reason, Reason::UnmatchedFragment);
  // A dropped first fragment drops the rest.
  auto firstDrop = pkt("192.0.2.1", 3333, "10.0.0.5", 54, 17);
  firstDrop.isFragment = firstDrop.firstFragment = true;
  firstDrop.fragId = 7;
  ev.evaluate(firstDrop, sec(1));
  later.fragId = 7;
  EXPECT_EQ(ev.evaluate(later, sec(1.01)).verdict, Verdict::Drop);
}

// Two modeled ENIs: web (sg-web) → db (sg-db).
std::shared_ptr<const Network> twoTier(Policy dbEgressPolicy = Policy::Accept, bool shareGroup = false,
                                       Policy innerPolicy = Policy::Accept) {
  Model m;
  m.groups.push_back(group("sg-web", {rule("sgr-web-out", Direction::Egress, Protocol::Tcp, "3306/3306", "10.0.1.0/24",
                                           dbEgressPolicy, 1)}));
  m.groups.push_back(
      group("sg-db", {groupRule("sgr-db-in", Direction::Ingress, Protocol::Tcp, "3306/3306", "sg-web")}));
  m.groups.push_back(group("sg-shared", {}, GroupType::Normal, innerPolicy));
  std::vector<std::string> webGroups{"sg-web"}, dbGroups{"sg-db"};
  if (shareGroup) {
    webGroups.push_back("sg-shared");
    dbGroups.push_back("sg-shared");
  }
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, webGroups));
  m.enis.push_back(eni("eni-db", {"10.0.1.7"}, dbGroups));
  return std::make_shared<Network>(std::move(m));
}

TEST(Evaluator, TrafficBetweenModeledEnisIsCheckedAtBoth) {
  Evaluator ev(twoTier(), {});
  auto v = ev.evaluate(pkt("10.0.0.5", 40000, "10.0.1.7", 3306, 6, kSyn), sec(0));
  ASSERT_EQ(v.checkCount, 2);
  EXPECT_EQ(v.checks[0].direction, Direction::Egress);
  EXPECT_EQ(v.checks[1].direction, Direction::Ingress);
  EXPECT_EQ(v.verdict, Verdict::Accept);
  EXPECT_EQ(ruleOf(ev, v), "sgr-db-in");  // accepted: the last check decides
  auto reply = ev.evaluate(pkt("10.0.1.7", 3306, "10.0.0.5", 40000), sec(0.1));
  ASSERT_EQ(reply.checkCount, 2);
  EXPECT_EQ(reply.checks[0].reason, Reason::Established);
  EXPECT_EQ(reply.checks[1].reason, Reason::Established);
  // db → web on another port: db egress default accept, web ingress default drop.
  auto other = ev.evaluate(pkt("10.0.1.7", 5000, "10.0.0.5", 8080, 6, kSyn), sec(1));
  EXPECT_EQ(other.verdict, Verdict::Drop);
  EXPECT_EQ(other.deciding, 1);
}

TEST(Evaluator, DropAtTheSendersEgressNeverReachesTheReceiver) {
  Evaluator ev(twoTier(Policy::Drop), {});
  auto syn = pkt("10.0.0.5", 40000, "10.0.1.7", 3306, 6, kSyn);
  auto v = ev.evaluate(syn, sec(0));
  ASSERT_EQ(v.checkCount, 1);
  EXPECT_EQ(v.verdict, Verdict::Drop);
  EXPECT_EQ(ruleOf(ev, v), "sgr-web-out");
  // The receiver's state was untouched: the reply, as db's first packet of the flow, is decided by db's
  // egress (default accept) and blocked at web, whose state blocked the flow.
  auto reply = ev.evaluate(reversed(syn), sec(0.1));
  ASSERT_EQ(reply.checkCount, 2);
  EXPECT_EQ(reply.checks[0].reason, Reason::Default);
  EXPECT_EQ(reply.checks[1].reason, Reason::Blocked);
}

TEST(Evaluator, IntraGroupAcceptComesBeforeCustomRules) {
  Evaluator ev(twoTier(Policy::Drop, /*shareGroup=*/true), {});
  auto v = ev.evaluate(pkt("10.0.0.5", 40000, "10.0.1.7", 3306, 6, kSyn), sec(0));
  EXPECT_EQ(v.verdict, Verdict::Accept);
  EXPECT_EQ(v.reason, Reason::IntraGroup);
  ASSERT_EQ(v.checkCount, 2);
  EXPECT_EQ(v.checks[0].reason, Reason::IntraGroup);
}

TEST(Evaluator, RestrictingToOneEniKeepsTheOtherEndAsIntraGroupPeer) {
  EvalOptions o;
  o.eni = 1;  // --host 10.0.1.7: only eni-db is checked
  Evaluator ev(twoTier(Policy::Drop, /*shareGroup=*/true), o);
  auto v = ev.evaluate(pkt("10.0.0.5", 40000, "10.0.1.7", 22, 6, kSyn), sec(0));
  ASSERT_EQ(v.checkCount, 1);
  EXPECT_EQ(v.checks[0].direction, Direction::Ingress);
  EXPECT_EQ(v.reason, Reason::IntraGroup);
}

TEST(Evaluator, DropInnerPolicyTreatsMembersAsStrangers) {
  Evaluator ev(twoTier(Policy::Accept, /*shareGroup=*/true, Policy::Drop), {});
  auto v = ev.evaluate(pkt("10.0.0.5", 40000, "10.0.1.7", 3306, 6, kSyn), sec(0));
  EXPECT_EQ(v.reason, Reason::Rule);
  EXPECT_EQ(v.verdict, Verdict::Accept);
  auto other = ev.evaluate(pkt("10.0.0.5", 40000, "10.0.1.7", 22, 6, kSyn), sec(0));
  EXPECT_EQ(other.verdict, Verdict::Drop);
  EXPECT_EQ(other.reason, Reason::Default);
}

TEST(Evaluator, ForcedDirectionEvaluatesEveryPacketAtTheOneEni) {
  EvalOptions o;
  o.mode = DirectionMode::Ingress;
  o.eni = 0;
  Evaluator ev(webNetwork({rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")}), o);
  auto v = ev.evaluate(pkt("192.0.2.1", 1234, "192.0.2.2", 80, 6, kSyn), sec(0));  // addresses not modeled
  EXPECT_EQ(v.verdict, Verdict::Accept);
  EXPECT_EQ(v.checks[0].direction, Direction::Ingress);
}

TEST(Evaluator, LoopbackHairpinPassesEgressThenIngressOnce) {
  Model m;
  m.groups.push_back(group("sg-lo", {rule("sgr-http", Direction::Ingress, Protocol::Tcp, "8080/8080", "127.0.0.1")}));
  m.enis.push_back(eni("eni-lo", {"127.0.0.1"}, {"sg-lo"}));
  Evaluator ev(std::make_shared<Network>(std::move(m)), {});
  auto syn = pkt("127.0.0.1", 50000, "127.0.0.1", 8080, 6, kSyn);
  auto v = ev.evaluate(syn, sec(0));
  ASSERT_EQ(v.checkCount, 2);
  EXPECT_EQ(v.verdict, Verdict::Accept);
  EXPECT_EQ(v.reason, Reason::Rule);
  EXPECT_EQ(ev.evaluate(reversed(syn), sec(0.1)).reason, Reason::Established);
  EXPECT_EQ(ev.evaluate(pkt("127.0.0.1", 50001, "127.0.0.1", 9090, 6, kSyn), sec(0.2)).verdict, Verdict::Drop);
}

TEST(Evaluator, ReplacingTheTableCutsLiveConnectionsItWouldNowDrop) {
  auto before = webNetwork({rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "0.0.0.0/0"),
                            rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")});
  auto after = webNetwork({rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")});
  for (bool keep : {false, true}) {
    Evaluator ev(before, {});
    auto ssh = pkt("192.0.2.1", 40000, "10.0.0.5", 22, 6, kSyn);
    auto http = pkt("192.0.2.1", 40001, "10.0.0.5", 80, 6, kSyn);
    ev.evaluate(ssh, sec(0));
    ev.evaluate(http, sec(0));
    EXPECT_EQ(ev.replaceNetwork(after, sec(5), keep), (InstantChange{keep ? 0u : 1u, 0u}));
    EXPECT_EQ(ev.evaluate(reversed(ssh), sec(6)).verdict, keep ? Verdict::Accept : Verdict::Drop);
    EXPECT_EQ(ev.evaluate(reversed(http), sec(6)).verdict, Verdict::Accept);
  }
}

// SEMANTICS §6: the mirror of a cut. A dropped first packet made no session, so once the new table accepts it the
// flow's next packet is a first packet again, whichever way it goes; kept connections or not.
TEST(Evaluator, ReplacingTheTableReleasesBlockedFlowsItWouldNowAccept) {
  auto before = webNetwork({rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")});
  auto after = webNetwork({rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0"),
                           rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "192.0.2.0/24")});
  for (bool keep : {false, true}) {
    Evaluator ev(before, {});
    auto ssh = pkt("192.0.2.1", 40000, "10.0.0.5", 22, 6, kSyn);    // the new table accepts it
    auto rdp = pkt("192.0.2.1", 40001, "10.0.0.5", 3389, 6, kSyn);  // the new table still drops it
    auto late = pkt("192.0.2.1", 40002, "10.0.0.5", 22, 6, kSyn);   // blocked, but expired by the instant
    ev.evaluate(late, sec(0));
    EXPECT_EQ(ev.evaluate(ssh, sec(2000)).reason, Reason::Default);
    EXPECT_EQ(ev.evaluate(ssh, sec(2001)).reason, Reason::Blocked);  // the retransmission: blocked
    ev.evaluate(rdp, sec(2001));
    EXPECT_EQ(ev.replaceNetwork(after, sec(2005), keep), (InstantChange{0u, 1u}));
    // The server's answer is the released flow's next packet: a first packet, egress, allowed by default.
    const PacketVerdict answer = ev.evaluate(reversed(ssh), sec(2006));
    EXPECT_EQ(answer.verdict, Verdict::Accept);
    EXPECT_EQ(answer.reason, Reason::Default);
    EXPECT_EQ(ev.evaluate(ssh, sec(2006.1)).reason, Reason::Established);
    EXPECT_EQ(ev.evaluate(rdp, sec(2006)).reason, Reason::Blocked);
  }
  // Released with the client speaking first: the new rule decides, then the flow is established.
  Evaluator ev(before, {});
  auto ssh = pkt("192.0.2.1", 40000, "10.0.0.5", 22, 6, kSyn);
  ev.evaluate(ssh, sec(0));
  ev.replaceNetwork(after, sec(1), false);
  const PacketVerdict again = ev.evaluate(ssh, sec(2));
  EXPECT_EQ(again.reason, Reason::Rule);
  EXPECT_EQ(ruleOf(ev, again), "sgr-ssh");
  EXPECT_EQ(ev.evaluate(reversed(ssh), sec(2.1)).reason, Reason::Established);
}

// A release frees the entry before its timeout: at the flow cap, a new flow must find that room (a sweep) rather
// than be refused because no entry could have expired yet.
TEST(Evaluator, AReleaseMakesRoomAtTheFlowCap) {
  auto before = webNetwork({rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")});
  auto after = webNetwork({rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0"),
                           rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "192.0.2.0/24")});
  EvalOptions o;
  o.maxFlows = 1;
  Evaluator ev(before, o);
  ev.evaluate(pkt("192.0.2.1", 40000, "10.0.0.5", 22, 6, kSyn), sec(0));
  EXPECT_TRUE(ev.evaluate(pkt("192.0.2.1", 40001, "10.0.0.5", 80, 6, kSyn), sec(1)).untracked);
  EXPECT_EQ(ev.replaceNetwork(after, sec(2), false).released, 1u);
  EXPECT_FALSE(ev.evaluate(pkt("192.0.2.1", 40001, "10.0.0.5", 80, 6, kSyn), sec(2.5)).untracked);
}

TEST(Evaluator, FlowCapDecidesStatelesslyAndSaysSo) {
  EvalOptions o;
  o.maxFlows = 2;
  Evaluator ev(webNetwork({rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")}), o);
  ev.evaluate(pkt("192.0.2.1", 1, "10.0.0.5", 80, 6, kSyn), sec(0));
  ev.evaluate(pkt("192.0.2.1", 2, "10.0.0.5", 80, 6, kSyn), sec(0));
  auto v = ev.evaluate(pkt("192.0.2.1", 3, "10.0.0.5", 80, 6, kSyn), sec(0));
  EXPECT_TRUE(v.untracked);
  EXPECT_EQ(v.verdict, Verdict::Accept);
  EXPECT_EQ(ev.tracker().capHits(), 1u);
  // Expired flows make room again.
  v = ev.evaluate(pkt("192.0.2.1", 4, "10.0.0.5", 80, 6, kSyn), sec(2000));
  EXPECT_FALSE(v.untracked);
}

}  // namespace
}  // namespace sgsim
