// The traffic audit (verdict/audit.h) must give, for every audited rule, exactly what a separate WhatIf with the
// table without that rule reports (totals, every changed flow, the fallback), and hits equal to a direct count
// over the evaluator's verdicts: on random models and streams, and on the bundled samples.
#include "sgsim/verdict/audit.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "sgsim/capture/capture_reader.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/model/model_json.h"
#include "test_model.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

struct Capture {
  std::vector<Frame> frames;
  std::vector<PacketKey> keys;
};

// What the streams exercised, counted on WhatIf's side (independent of the audit), so that a test that passes
// also says it compared something.
struct Coverage {
  std::size_t rules = 0, rulesChanged = 0, changedFlows = 0, cut = 0, opened = 0;
  std::size_t afterByState = 0;     // changed flows whose first changed packet the revoke left to state
  std::size_t beforeByState = 0;    // … that the table itself decided by state (established / blocked)
  std::size_t twoCheckChanges = 0;  // first changed packet checked at two ENIs on one side
  std::size_t v6Changes = 0, ruleFallbacks = 0, defaultFallbacks = 0;
  std::size_t fragmentChanges = 0;  // changed packets that are later fragments (their first fragment's fate)
  std::size_t hitPackets = 0;
  std::size_t openerUnknown = 0;      // changed flows whose entry no opening packet made (issue 10)
  std::size_t reversedFromFirst = 0;  // changed flows shown the other way than their first changed packet went
};

void expectSameVerdict(const PacketVerdict& got, const PacketVerdict& want, std::size_t frame) {
  ASSERT_EQ(got.verdict, want.verdict) << "frame " << frame;
  ASSERT_EQ(got.reason, want.reason) << "frame " << frame;
  ASSERT_EQ(got.checkCount, want.checkCount) << "frame " << frame;
  ASSERT_EQ(got.deciding, want.deciding) << "frame " << frame;
  ASSERT_EQ(got.untracked, want.untracked) << "frame " << frame;
  for (int i = 0; i < got.checkCount; ++i) {
    ASSERT_EQ(got.checks[i].eni, want.checks[i].eni) << "frame " << frame;
    ASSERT_EQ(got.checks[i].direction, want.checks[i].direction) << "frame " << frame;
    ASSERT_EQ(got.checks[i].verdict, want.checks[i].verdict) << "frame " << frame;
    ASSERT_EQ(got.checks[i].reason, want.checks[i].reason) << "frame " << frame;
    ASSERT_EQ(got.checks[i].ruleRef, want.checks[i].ruleRef) << "frame " << frame;
    ASSERT_EQ(got.checks[i].intraGroup, want.checks[i].intraGroup) << "frame " << frame;
  }
}

using DecisionKey = std::tuple<int, int, std::string, int, std::string, std::string>;
DecisionKey keyOf(const SideDecision& s) {
  return {static_cast<int>(s.verdict),
          static_cast<int>(s.reason),
          s.eniId,
          static_cast<int>(s.direction),
          s.ruleId,
          s.groupId};
}

void expectSameSide(const SideDecision& got, const SideDecision& want, const std::string& what) {
  EXPECT_EQ(keyOf(got), keyOf(want)) << what;
}

// The same entries in the same order (whatif's `fallback`).
void expectSameFallback(const std::vector<Fallback>& got, const std::vector<Fallback>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k].verdict, want[k].verdict) << what << ", fallback " << k;
    EXPECT_EQ(got[k].reason, want[k].reason) << what << ", fallback " << k;
    EXPECT_EQ(got[k].ruleId, want[k].ruleId) << what << ", fallback " << k;
    EXPECT_EQ(got[k].groupId, want[k].groupId) << what << ", fallback " << k;
    EXPECT_EQ(got[k].flows, want[k].flows) << what << ", fallback " << k;
  }
}

// The rule a check names, as (group, rule) indexes into the network's model.
std::pair<std::size_t, std::size_t> ruleAt(const Network& net, const Check& c) {
  const RuleRef& r = net.rules(static_cast<std::size_t>(c.eni), c.direction)[static_cast<std::size_t>(c.ruleRef)];
  const Model& m = net.model();
  for (std::size_t g = 0; g < m.groups.size(); ++g) {
    const auto& rules = m.groups[g].rules;
    if (!rules.empty() && r.rule >= rules.data() && r.rule < rules.data() + rules.size())
      return {g, static_cast<std::size_t>(r.rule - rules.data())};
  }
  ADD_FAILURE() << "rule " << r.ruleId << " is in no group of the model";
  return {0, 0};
}

// Runs the audit over the capture and compares every audited rule with a direct count (hits) and a WhatIf of the
// table without it (ifRevoked, fallback, changed flows).
void compareWithWhatIf(const Model& model, const AuditOptions& options, const Capture& cap, Coverage& cov,
                       const std::string& label) {
  SCOPED_TRACE(label);
  auto net = std::make_shared<const Network>(model);
  TrafficAudit audit(net, options);
  // The same fed with plans made ahead (as the reading thread makes them), the table's decisions included for a
  // seeded random half of the packets.
  TrafficAudit planned(net, options);
  const BasicPlanner<1> planner = TrafficAudit::planner(net, options.eval);
  std::mt19937 coin(static_cast<unsigned>(cap.frames.size()));
  Evaluator ev(net, options.eval);
  std::map<std::pair<std::size_t, std::size_t>, RuleHits> hits;
  std::map<std::pair<std::size_t, std::size_t>, boost::unordered_flat_set<FlowKey, FlowKeyHash>> hitFlows;
  for (std::size_t n = 0; n < cap.frames.size(); ++n) {
    const Frame& f = cap.frames[n];
    const PacketKey& k = cap.keys[n];
    audit.process(f, k);
    BasicPacketPlan<1> plan;
    planner.plan(k, plan, coin() % 2 == 0);
    planned.prefetch(plan);
    planned.process(f, k, plan);
    const PacketVerdict v = ev.evaluate(k, f.tsNs);
    expectSameVerdict(audit.lastVerdict(), v, f.number);
    expectSameVerdict(planned.lastVerdict(), v, f.number);
    if (::testing::Test::HasFatalFailure()) return;
    std::uint8_t proto = k.proto;
    std::uint16_t sport = k.sport, dport = k.dport;
    if (k.isFragment && !k.firstFragment) {
      const auto first = ev.firstFragmentOf(k, f.tsNs);
      if (!first) continue;
      proto = first->proto;
      sport = first->sport;
      dport = first->dport;
    }
    bool srcIsA = true;
    const FlowKey conv = FlowKey::make(0, proto, k.src, sport, k.dst, dport, srcIsA);
    for (int j = 0; j < v.checkCount; ++j) {
      if (v.checks[j].reason != Reason::Rule) continue;
      const auto id = ruleAt(*net, v.checks[j]);
      RuleHits& h = hits[id];
      if (h.packets == 0) h.firstNs = f.tsNs;
      ++h.packets;
      h.bytes += f.wireLen;
      h.lastNs = f.tsNs;
      hitFlows[id].insert(conv);
    }
  }
  EXPECT_EQ(audit.frames(), cap.frames.size());
  EXPECT_TRUE(audit.warnings().empty());

  const std::vector<AuditedRule> results = audit.results();
  const std::vector<AuditedRule> viaPlans = planned.results();
  ASSERT_EQ(viaPlans.size(), results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const AuditedRule &a = results[i], &b = viaPlans[i];
    EXPECT_EQ(std::tie(a.hits.flows, a.hits.packets, a.hits.bytes, a.hits.firstNs, a.hits.lastNs),
              std::tie(b.hits.flows, b.hits.packets, b.hits.bytes, b.hits.firstNs, b.hits.lastNs));
    EXPECT_EQ(std::tie(a.ifRevoked.changedFlows, a.ifRevoked.cutFlows, a.ifRevoked.openedFlows,
                       a.ifRevoked.changedPackets, a.ifRevoked.changedBytes),
              std::tie(b.ifRevoked.changedFlows, b.ifRevoked.cutFlows, b.ifRevoked.openedFlows,
                       b.ifRevoked.changedPackets, b.ifRevoked.changedBytes));
    expectSameFallback(a.fallback, b.fallback, "via plans");
  }
  std::size_t expectedRules = 0;
  for (std::size_t g : options.groups) expectedRules += model.groups[g].rules.size();
  ASSERT_EQ(results.size(), expectedRules);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const AuditedRule& r = results[i];
    SCOPED_TRACE("rule " + r.ruleId + " of " + r.groupId);
    ++cov.rules;
    EXPECT_EQ(r.ruleId, model.groups[r.group].rules[r.rule].id);
    const std::pair<std::size_t, std::size_t> id{r.group, r.rule};
    const RuleHits want = hits[id];
    EXPECT_EQ(r.hits.packets, want.packets);
    EXPECT_EQ(r.hits.bytes, want.bytes);
    EXPECT_EQ(r.hits.firstNs, want.firstNs);
    EXPECT_EQ(r.hits.lastNs, want.lastNs);
    EXPECT_EQ(r.hits.flows, hitFlows[id].size());
    cov.hitPackets += want.packets;

    Model without = model;
    auto& rules = without.groups[r.group].rules;
    rules.erase(rules.begin() + static_cast<std::ptrdiff_t>(r.rule));
    WhatIfOptions wo;
    wo.eval = options.eval;
    WhatIf w(net, std::make_shared<const Network>(std::move(without)), wo);
    std::size_t twoChecks = 0, laterFragments = 0;
    for (std::size_t n = 0; n < cap.frames.size(); ++n) {
      if (!w.process(cap.frames[n], cap.keys[n])) continue;
      twoChecks += w.lastBefore().checkCount == 2 || w.lastAfter().checkCount == 2;
      laterFragments += cap.keys[n].isFragment && !cap.keys[n].firstFragment;
    }
    const std::vector<ChangedFlow> want2 = w.ranked();
    const WhatIfTotals& t = w.totals();
    EXPECT_EQ(r.ifRevoked.changedFlows, want2.size());
    EXPECT_EQ(r.ifRevoked.cutFlows, t.cut);
    EXPECT_EQ(r.ifRevoked.openedFlows, t.opened);
    EXPECT_EQ(r.ifRevoked.otherFlows, t.other);
    EXPECT_EQ(r.ifRevoked.changedPackets, t.changedPackets);
    EXPECT_EQ(r.ifRevoked.changedBytes, t.changedBytes);

    expectSameFallback(r.fallback, fallbackOf(want2), "against whatif");

    const std::vector<ChangedFlow> got2 = audit.changedFlows(i);
    ASSERT_EQ(got2.size(), want2.size());
    for (std::size_t k = 0; k < got2.size(); ++k) {
      const ChangedFlow& a = got2[k];
      const ChangedFlow& b = want2[k];
      const std::string what =
          "changed flow " + std::to_string(k) + " (first frame " + std::to_string(b.firstFrame) + ")";
      EXPECT_EQ(a.proto, b.proto) << what;
      EXPECT_EQ(a.src, b.src) << what;
      EXPECT_EQ(a.dst, b.dst) << what;
      EXPECT_EQ(a.sport, b.sport) << what;
      EXPECT_EQ(a.dport, b.dport) << what;
      EXPECT_EQ(a.openerSeen, b.openerSeen) << what;
      EXPECT_EQ(a.direction, b.direction) << what;
      EXPECT_EQ(a.packets, b.packets) << what;
      EXPECT_EQ(a.bytes, b.bytes) << what;
      EXPECT_EQ(a.firstNs, b.firstNs) << what;
      EXPECT_EQ(a.lastNs, b.lastNs) << what;
      EXPECT_EQ(a.firstFrame, b.firstFrame) << what;
      EXPECT_EQ(a.firstFile, b.firstFile) << what;
      expectSameSide(a.before, b.before, what + " before");
      expectSameSide(a.after, b.after, what + " after");
    }
    if (::testing::Test::HasFailure()) return;

    cov.rulesChanged += !want2.empty();
    cov.changedFlows += want2.size();
    cov.cut += t.cut;
    cov.opened += t.opened;
    cov.twoCheckChanges += twoChecks;
    cov.fragmentChanges += laterFragments;
    for (const ChangedFlow& f : want2) {
      const auto byState = [](Reason x) { return x == Reason::Established || x == Reason::Blocked; };
      cov.afterByState += byState(f.after.reason);
      cov.beforeByState += byState(f.before.reason);
      cov.v6Changes += !f.src.isV4();
      cov.ruleFallbacks += f.after.reason == Reason::Rule;
      cov.defaultFallbacks += f.after.reason == Reason::Default;
      cov.openerUnknown += !f.openerSeen;
      // Shown the other way than its first changed packet went (that packet's check is before's).
      cov.reversedFromFirst += f.direction != f.before.direction;
    }
  }
}

// ---- random models and streams ---------------------------------------------------------------------------------

// Four groups of 1-9 random rules (IPv4 and IPv6 CIDR peers, group peers, every protocol, both policies, three
// priorities, a few five-tuple narrowings and source ports), one sometimes enterprise, inner policies Accept or
// Drop, on three ENIs that share groups (sg-1 on eni-a and eni-b, sg-0 on eni-a and eni-c), with short
// connection-tracking timeouts on some so that entries expire and flows are re-decided.
Model randomAuditModel(std::mt19937& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* v4[] = {"0.0.0.0/0",    "10.0.0.0/8",  "10.0.0.0/24",     "10.0.0.5/32", "192.0.2.0/25",
                      "192.0.2.1/32", "10.0.1.0/24", "198.51.100.0/24", "10.0.0.0/16"};
  const char* v6[] = {"::/0", "2001:db8::/32", "2001:db8::5/128", "2001:db8:1::/48", "2001:db8::/64"};
  const char* ports[] = {"22/22", "80/80", "1/1024", "1000/2000", "443/443", "53/53"};
  const Protocol protos[] = {Protocol::Tcp,  Protocol::Tcp,    Protocol::Udp,
                             Protocol::Icmp, Protocol::Icmpv6, Protocol::All};
  Model m;
  for (int gi = 0; gi < 4; ++gi) {
    SecurityGroup g = group("sg-" + std::to_string(gi), {}, pick(4) == 0 ? GroupType::Enterprise : GroupType::Normal,
                            pick(3) == 0 ? Policy::Drop : Policy::Accept);
    const int n = 1 + pick(9);
    for (int ri = 0; ri < n; ++ri) {
      const Protocol pr = protos[pick(6)];
      const bool portless = pr == Protocol::Icmp || pr == Protocol::Icmpv6 || pr == Protocol::All;
      const bool six = pr == Protocol::Icmpv6 || (pr != Protocol::Icmp && pick(3) == 0);
      Rule r = rule("sgr-" + std::to_string(gi) + "-" + std::to_string(ri),
                    pick(2) ? Direction::Ingress : Direction::Egress, pr, portless ? "-1/-1" : ports[pick(6)],
                    six ? v6[pick(5)] : v4[pick(9)], pick(3) == 0 ? Policy::Drop : Policy::Accept, 1 + pick(3));
      if (pick(6) == 0) {
        r.peer = Peer{};
        r.peer.kind = Peer::Kind::Group;
        r.peer.groupId = "sg-" + std::to_string(pick(4));
      }
      if (pick(8) == 0) r.local = *Cidr::parse(six ? "2001:db8::5/128" : "10.0.0.5/32");
      if (pick(10) == 0 && !portless) r.sourcePortRange = *PortRange::parse("40000/40010");
      g.rules.push_back(r);
    }
    m.groups.push_back(g);
  }
  m.enis.push_back(eni("eni-a", {"10.0.0.5", "2001:db8::5"}, {"sg-0", "sg-1"}));
  m.enis.push_back(eni("eni-b", {"10.0.0.6", "2001:db8::6"},
                       pick(2) ? std::vector<std::string>{"sg-1", "sg-3"} : std::vector<std::string>{"sg-1"}));
  m.enis.push_back(eni("eni-c", {"10.0.1.7"}, {"sg-2", "sg-0"}));
  for (Eni& e : m.enis)
    if (pick(3) != 0)
      e.timeouts = Timeouts{static_cast<std::uint32_t>(4 + pick(20)), 2, static_cast<std::uint32_t>(2 + pick(8)), 5};
  return m;
}

// internal: only the ENIs' own addresses (every packet checked at two ENIs, or at one ENI to itself).
Capture randomStream(std::mt19937& rng, int count, bool internal) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  // Mostly the ENIs' own addresses, so that many packets are checked at two ENIs (egress, then ingress).
  const char* v4[] = {"10.0.0.5", "10.0.0.6",  "10.0.1.7",    "10.0.1.7",
                      "10.0.0.5", "192.0.2.1", "192.0.2.200", "198.51.100.9"};
  const char* v6[] = {"2001:db8::5", "2001:db8::6", "2001:db8:1::9", "2001:db8::5", "2001:db9::1"};
  const std::uint16_t ports[] = {22, 80, 443, 1500, 53, 40000, 40005};
  const std::uint8_t flagsPool[] = {kSyn, kAck, kAck, kAck, kFin | kAck, kRst};
  Capture c;
  std::vector<PacketKey> sent, firsts;
  std::int64_t now = sec(1000);
  for (int n = 0; n < count; ++n) {
    now += sec(pick(5) == 0 ? pick(40) : 0.01 * pick(100));
    PacketKey p;
    if (!firsts.empty() && pick(8) == 0) {
      // The rest of a recent fragmented packet: same addresses, protocol and id, no ports.
      const PacketKey& f =
          firsts[firsts.size() - 1 - static_cast<std::size_t>(pick(std::min<int>(3, static_cast<int>(firsts.size()))))];
      p = pkt(f.src.toString(), 0, f.dst.toString(), 0, f.proto, 0);
      p.isFragment = true;
      p.fragId = f.fragId;
    } else if (!sent.empty() && pick(3) != 0) {
      p = sent[static_cast<std::size_t>(pick(static_cast<int>(sent.size())))];
      if (pick(2)) p = reversed(p);
      p.tcpFlags = p.proto == 6 ? flagsPool[pick(6)] : 0;
    } else {
      const bool six = pick(4) == 0;
      std::uint8_t proto = pick(4) == 0 ? 17 : (pick(5) == 0 ? (six ? 58 : 1) : 6);
      if (pick(30) == 0) proto = 47;
      const int n4 = internal ? 5 : 8, n6 = internal ? 2 : 5;
      p = six ? pkt(v6[pick(n6)], ports[pick(7)], v6[pick(n6)], ports[pick(7)], proto, flagsPool[pick(6)])
              : pkt(v4[pick(n4)], ports[pick(7)], v4[pick(n4)], ports[pick(7)], proto, flagsPool[pick(6)]);
      if (proto == 1 || proto == 58) p.sport = p.dport = static_cast<std::uint16_t>(7 + pick(2));
      if (proto == 47) p.sport = p.dport = 0;
      if (pick(6) == 0) {
        p.isFragment = true;
        p.firstFragment = pick(2) == 0;
        p.fragId = static_cast<std::uint32_t>(pick(4));
        if (p.firstFragment) {
          firsts.push_back(p);
        } else if (!firsts.empty() && pick(4) != 0) {
          // The rest of an earlier fragmented packet: same addresses, protocol and id, no ports.
          const PacketKey& f = firsts[static_cast<std::size_t>(pick(static_cast<int>(firsts.size())))];
          p = pkt(f.src.toString(), 0, f.dst.toString(), 0, f.proto, 0);
          p.isFragment = true;
          p.fragId = f.fragId;
        }
      }
      sent.push_back(p);
      if (p.isFragment && !p.firstFragment) sent.pop_back();
    }
    if (pick(200) == 0) {
      p = PacketKey{};
      p.status = DecodeStatus::NotIp;
    }
    Frame f;
    f.number = static_cast<std::uint64_t>(n + 1);
    f.tsNs = now;
    f.wireLen = static_cast<std::uint32_t>(60 + pick(1440));
    c.frames.push_back(f);
    c.keys.push_back(p);
  }
  return c;
}

TEST(TrafficAudit, EveryRuleMatchesAWhatIfWithoutItOnRandomModelsAndStreams) {
  std::mt19937 rng(20261124);
  Coverage cov;
  for (int round = 0; round < 400; ++round) {
    const Model model = randomAuditModel(rng);
    AuditOptions o;
    if (round % 5 == 3) o.eval.eni = round % 3;  // --host on a full model: one ENI checked
    if (round % 7 == 6) {                        // --direction ingress|egress at one ENI
      o.eval.mode = round % 2 ? DirectionMode::Ingress : DirectionMode::Egress;
      o.eval.eni = round % 3;
    }
    // Mostly every group; sometimes a scope (the other rules still decide, they are only not audited).
    const auto groups = round % 6 == 5 ? auditedGroups(model, {"eni-b"}, {}) : auditedGroups(model, {}, {});
    ASSERT_TRUE(groups.ok());
    o.groups = *groups;
    if (round % 2 == 1) o.sweepShadowsFrom = round % 4 == 1 ? 0 : 2;  // sweep all the time: no figure may change
    const Capture cap = randomStream(rng, 400 + static_cast<int>(rng() % 300), round % 4 == 0);
    compareWithWhatIf(model, o, cap, cov, "round " + std::to_string(round));
    if (::testing::Test::HasFailure()) return;
  }
  // The streams must exercise what makes the figures hard: flows cut and opened, changes decided by state on
  // either side (blocked or established entries, forked and followed), first changed packets checked at two ENIs,
  // IPv6, fallbacks to a rule and to a default.
  EXPECT_GT(cov.rules, 2000u);
  EXPECT_GT(cov.rulesChanged, 500u);
  EXPECT_GT(cov.cut, 1000u);
  EXPECT_GT(cov.opened, 300u);
  EXPECT_GT(cov.afterByState, 30u);  // rare by nature: the shadow's state diverged at a packet that did not change
  EXPECT_GT(cov.beforeByState, 30u);
  EXPECT_GT(cov.twoCheckChanges, 300u);
  EXPECT_GT(cov.v6Changes, 100u);
  EXPECT_GT(cov.fragmentChanges, 100u);
  EXPECT_GT(cov.ruleFallbacks, 200u);
  EXPECT_GT(cov.defaultFallbacks, 500u);
  EXPECT_GT(cov.hitPackets, 10000u);
  EXPECT_GT(cov.openerUnknown, 100u);
  EXPECT_GT(cov.reversedFromFirst, 30u);  // rare by nature: a reply whose own check changes before its request's
  std::printf(
      "[ coverage ] rules %zu (%zu with changes), changed flows %zu: cut %zu, opened %zu; after by state %zu, "
      "before by state %zu; two-check changed packets %zu; IPv6 %zu; later fragments %zu; fallback rule %zu / default "
      "%zu; hit "
      "packets %zu; opener unknown %zu, shown reversed %zu\n",
      cov.rules, cov.rulesChanged, cov.changedFlows, cov.cut, cov.opened, cov.afterByState, cov.beforeByState,
      cov.twoCheckChanges, cov.v6Changes, cov.fragmentChanges, cov.ruleFallbacks, cov.defaultFallbacks, cov.hitPackets,
      cov.openerUnknown, cov.reversedFromFirst);
}

// ---- the bundled samples ---------------------------------------------------------------------------------------

std::string sourceDir() {
  const char* d = std::getenv("SGSIM_SOURCE_DIR");
  return d != nullptr ? d : ".";
}

Capture readCapture(const std::string& path) {
  Capture c;
  auto r = CaptureReader::open(path, 0);
  EXPECT_TRUE(r.ok()) << path;
  if (!r.ok()) return c;
  Frame f;
  while ((*r)->next(f)) {
    c.keys.push_back(decodeFrame(f.linkType, f.data, f.capLen));
    f.data = nullptr;
    c.frames.push_back(f);
  }
  EXPECT_FALSE((*r)->error().has_value()) << path;
  return c;
}

TEST(TrafficAudit, EveryRuleMatchesAWhatIfWithoutItOnTheSamples) {
  const std::string dir = sourceDir();
  const std::pair<const char*, std::vector<const char*>> samples[] = {
      {"examples/web.json", {"pcaps/web_basic.pcap", "pcaps/tcp_close_timeouts.pcap", "pcaps/fragments_v4v6.pcap"}},
      {"examples/two_tier.json", {"pcaps/two_tier_internal.pcap"}},
      {"examples/loopback.json", {"pcaps/loopback_curl_ping.pcap", "pcaps/loopback_http_tshark.pcapng"}},
      {"examples/ens.json", {"pcaps/web_basic.pcap"}},
  };
  Coverage cov;
  for (const auto& [modelPath, captures] : samples) {
    auto model = loadModel(dir + "/" + modelPath, std::nullopt);
    ASSERT_TRUE(model.ok()) << model.error().toString();
    const auto groups = auditedGroups(*model, {}, {});
    ASSERT_TRUE(groups.ok());
    for (const char* capPath : captures) {
      const Capture cap = readCapture(dir + "/" + capPath);
      ASSERT_FALSE(cap.frames.empty()) << capPath;
      AuditOptions o;
      o.groups = *groups;
      compareWithWhatIf(*model, o, cap, cov, std::string(modelPath) + " over " + capPath);
      if (::testing::Test::HasFailure()) return;
      // The server's view only, as `--direction ingress --host 10.0.0.5` would give (one-ENI models).
      if (model->enis.size() == 1) {
        o.eval.mode = DirectionMode::Ingress;
        o.eval.eni = 0;
        compareWithWhatIf(*model, o, cap, cov, std::string(modelPath) + " over " + capPath + ", ingress");
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
  // sgr-ssh's two admin sessions (the README's quick start) and sg-db's MySQL flows are among what was compared.
  EXPECT_GT(cov.cut, 10u);
  EXPECT_GT(cov.hitPackets, 100u);
}

// ---- behaviour a reader relies on ------------------------------------------------------------------------------

Frame frame(std::uint64_t n, double t, std::uint32_t len = 100) {
  Frame f;
  f.number = n;
  f.tsNs = sec(t);
  f.wireLen = len;
  return f;
}

const AuditedRule& find(const std::vector<AuditedRule>& rs, const std::string& id) {
  for (const AuditedRule& r : rs)
    if (r.ruleId == id) return r;
  throw std::runtime_error("no rule " + id);
}

Model webModel() {
  Model m;
  m.groups.push_back(group(
      "sg-web", {
                    rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0"),
                    rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "203.0.113.0/24"),
                    rule("sgr-ssh-all", Direction::Ingress, Protocol::Tcp, "22/22", "0.0.0.0/0", Policy::Accept, 2),
                    rule("sgr-never", Direction::Ingress, Protocol::Udp, "9/9", "192.0.2.0/24"),
                }));
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, {"sg-web"}));
  return m;
}

TEST(TrafficAudit, HitsCountDecisionsAndIfRevokedFollowsTheFlowsState) {
  auto net = std::make_shared<const Network>(webModel());
  TrafficAudit a(net, {{}, {0}});
  auto http = pkt("192.0.2.1", 40000, "10.0.0.5", 80, 6, kSyn);
  auto http2 = pkt("192.0.2.2", 40000, "10.0.0.5", 80, 6, kSyn);
  a.process(frame(1, 0), http);
  a.process(frame(2, 0.1), reversed(http));
  a.process(frame(3, 0.2, 1500), http);
  a.process(frame(4, 5, 60), http2);
  const auto rs = a.results();
  const AuditedRule& h = find(rs, "sgr-http");
  // Two flows decided by the rule (their first packets); the replies and later packets pass as established.
  EXPECT_EQ(h.hits.flows, 2u);
  EXPECT_EQ(h.hits.packets, 2u);
  EXPECT_EQ(h.hits.bytes, 160u);
  EXPECT_EQ(h.hits.firstNs, sec(0));
  EXPECT_EQ(h.hits.lastNs, sec(5));
  // Revoked, every packet of both flows is dropped (the first by the default, the rest as blocked).
  EXPECT_EQ(h.ifRevoked.changedFlows, 2u);
  EXPECT_EQ(h.ifRevoked.cutFlows, 2u);
  EXPECT_EQ(h.ifRevoked.changedPackets, 4u);
  EXPECT_EQ(h.ifRevoked.changedBytes, 1760u);
  ASSERT_EQ(h.fallback.size(), 1u);
  EXPECT_EQ(h.fallback[0].reason, Reason::Default);
  EXPECT_EQ(h.fallback[0].verdict, Verdict::Drop);
  EXPECT_EQ(h.fallback[0].flows, 2u);
  EXPECT_EQ(find(rs, "sgr-never").hits.packets, 0u);
  EXPECT_EQ(find(rs, "sgr-never").ifRevoked.changedFlows, 0u);
  // A group given twice is audited once; an index the model lacks is ignored.
  TrafficAudit twice(net, {{}, {0, 0, 7}});
  EXPECT_EQ(twice.results().size(), 4u);
}

TEST(TrafficAudit, ARuleBackedByAnotherAcceptChangesNothingAndNamesNoFallback) {
  auto net = std::make_shared<const Network>(webModel());
  TrafficAudit a(net, {{}, {0}});
  auto ssh = pkt("203.0.113.7", 51514, "10.0.0.5", 22, 6, kSyn);
  a.process(frame(1, 0), ssh);
  a.process(frame(2, 0.1), reversed(ssh));
  const auto rs = a.results();
  const AuditedRule& s = find(rs, "sgr-ssh");
  EXPECT_EQ(s.hits.packets, 1u);
  EXPECT_EQ(s.ifRevoked.changedFlows, 0u);  // sgr-ssh-all would accept it: safe to revoke, seen traffic unchanged
  EXPECT_TRUE(s.fallback.empty());
  EXPECT_EQ(a.shadowCount(), 0u);  // nothing to follow
  EXPECT_EQ(find(rs, "sgr-ssh-all").hits.packets, 0u);
}

// Two modeled ENIs: the sender's egress drop rule, revoked, lets the packet reach the receiver, whose ingress then
// decides (and whose state the base never touched).
TEST(TrafficAudit, ARevokedEgressDropReachesTheReceiversIngress) {
  Model m;
  m.groups.push_back(
      group("sg-app", {rule("sgr-no-db", Direction::Egress, Protocol::Tcp, "3306/3306", "10.0.1.0/24", Policy::Drop)}));
  m.groups.push_back(
      group("sg-db", {rule("sgr-mysql", Direction::Ingress, Protocol::Tcp, "3306/3306", "10.0.0.0/24")}));
  m.enis.push_back(eni("eni-app", {"10.0.0.6"}, {"sg-app"}));
  m.enis.push_back(eni("eni-db", {"10.0.1.7"}, {"sg-db"}));
  auto net = std::make_shared<const Network>(m);
  TrafficAudit a(net, {{}, {0, 1}});
  auto q = pkt("10.0.0.6", 40000, "10.0.1.7", 3306, 6, kSyn);
  a.process(frame(1, 0), q);
  EXPECT_EQ(a.lastVerdict().verdict, Verdict::Drop);
  a.process(frame(2, 1), q);  // blocked at the sender
  a.process(frame(3, 2), reversed(q));
  const auto rs = a.results();
  const AuditedRule& d = find(rs, "sgr-no-db");
  EXPECT_EQ(d.ifRevoked.openedFlows, 1u);
  EXPECT_EQ(d.ifRevoked.changedPackets, 3u);
  ASSERT_EQ(d.fallback.size(), 1u);
  EXPECT_EQ(d.fallback[0].ruleId, "sgr-mysql");  // the receiver's rule decides once the drop is gone
  EXPECT_EQ(d.fallback[0].groupId, "sg-db");
  const auto flows = a.changedFlows(0);
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].after.eniId, "eni-db");
  EXPECT_EQ(find(rs, "sgr-mysql").hits.packets, 0u);  // never reached it with the table as it is
}

// The flow's first packet fares the same without the rule (dropped either way), but the state it leaves differs:
// the sender's entry is accepted with the rule and blocked without. When the receiver's short-lived entry has
// expired, a reply passes the sender's accepted entry with the rule and hits the blocked one without: the first
// changed packet is decided by state on both sides.
TEST(TrafficAudit, ARevokeCanFirstChangeAFlowThroughTheStateItLeft) {
  Model m;
  m.groups.push_back(group("sg-app", {rule("sgr-to-db", Direction::Egress, Protocol::Tcp, "3306/3306", "10.0.1.0/24")},
                           GroupType::Enterprise));
  m.groups.push_back(group(
      "sg-db", {rule("sgr-no-app", Direction::Ingress, Protocol::Tcp, "3306/3306", "10.0.0.6/32", Policy::Drop)}));
  m.enis.push_back(eni("eni-app", {"10.0.0.6"}, {"sg-app"}));
  m.enis.push_back(eni("eni-db", {"10.0.1.7"}, {"sg-db"}));
  m.enis[1].timeouts.tcpEstablished = 5;
  auto q = pkt("10.0.0.6", 40000, "10.0.1.7", 3306, 6, kSyn);
  Capture cap;
  for (const auto& [t, k] : {std::pair{0.0, q}, std::pair{10.0, reversed(q)}, std::pair{10.5, q}}) {
    cap.frames.push_back(frame(cap.frames.size() + 1, t));
    cap.keys.push_back(k);
  }
  Coverage cov;
  compareWithWhatIf(m, {{}, {0, 1}}, cap, cov, "app to db");
  EXPECT_EQ(cov.afterByState, 1u);
  EXPECT_EQ(cov.beforeByState, 1u);
  TrafficAudit a(std::make_shared<const Network>(m), {{}, {0, 1}});
  for (std::size_t i = 0; i < cap.frames.size(); ++i) a.process(cap.frames[i], cap.keys[i]);
  const auto rs = a.results();
  const AuditedRule& r = find(rs, "sgr-to-db");
  EXPECT_EQ(r.ifRevoked.cutFlows, 1u);
  // The reply at 10 s, and the query after it: with the rule the reply also opened a new entry at the receiver
  // (its egress default accepts), so the query passes as established; without it, the sender's blocked entry drops it.
  EXPECT_EQ(r.ifRevoked.changedPackets, 2u);
  ASSERT_EQ(r.fallback.size(), 1u);
  EXPECT_EQ(r.fallback[0].reason, Reason::Blocked);
  const auto flows = a.changedFlows(0);
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].before.reason, Reason::Established);
  EXPECT_EQ(flows[0].after.eniId, "eni-app");  // the sender's blocked entry
  EXPECT_EQ(flows[0].firstFrame, 2u);
}

// A shadow whose own entries have all expired is still needed while the base holds a live entry it does not: here
// the receiver's blocked entry (made by a reply the base dropped at its egress). Swept every packet, the shadow
// must survive, so that the retry at 6 s is opened without the rule (the sender's egress drop gone, the receiver's
// ingress rule accepts a fresh flow), not blocked by the base's entry.
TEST(TrafficAudit, ASweptShadowKeepsWhatTheBaseStillHolds) {
  Model m;
  m.groups.push_back(
      group("sg-web", {rule("sgr-no-db", Direction::Egress, Protocol::Tcp, "80/80", "10.0.1.7/32", Policy::Drop)}));
  m.groups.push_back(group("sg-db", {rule("sgr-web-in", Direction::Ingress, Protocol::Tcp, "80/80", "10.0.0.0/24")},
                           GroupType::Enterprise));
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, {"sg-web"}));
  m.enis.push_back(eni("eni-db", {"10.0.1.7"}, {"sg-db"}));
  auto syn = pkt("10.0.0.5", 40000, "10.0.1.7", 80, 6, kSyn);
  auto rst = pkt("10.0.0.5", 40000, "10.0.1.7", 80, 6, kRst);
  auto other = pkt("192.0.2.9", 1234, "10.0.0.5", 22, 6, kSyn);  // another flow, so that a sweep runs at 5 s
  Capture cap;
  for (const auto& [t, k] : {std::pair{0.0, syn}, std::pair{1.0, rst}, std::pair{1.5, reversed(syn)},
                             std::pair{5.0, other}, std::pair{6.0, syn}}) {
    cap.frames.push_back(frame(cap.frames.size() + 1, t));
    cap.keys.push_back(k);
  }
  AuditOptions o{{}, {0, 1}};
  o.sweepShadowsFrom = 0;
  Coverage cov;
  compareWithWhatIf(m, o, cap, cov, "swept every packet");
  TrafficAudit a(std::make_shared<const Network>(m), o);
  for (std::size_t i = 0; i < cap.frames.size(); ++i) a.process(cap.frames[i], cap.keys[i]);
  const auto rs = a.results();
  const AuditedRule& r = find(rs, "sgr-no-db");
  EXPECT_EQ(r.ifRevoked.openedFlows, 1u);
  EXPECT_EQ(r.ifRevoked.changedPackets, 4u);  // the SYN, the RST, the reply, the retry
}

// Without the winner, the next rule that matches the packet decides, not the next that overlaps the winner: a
// narrower later rule that the packet misses is passed over (and does not hide the rules after it).
TEST(TrafficAudit, TheFallbackIsTheNextRuleThatMatchesThePacket) {
  Model m;
  m.groups.push_back(
      group("sg-web", {
                          rule("sgr-corp", Direction::Ingress, Protocol::Tcp, "22/22", "10.0.0.0/8"),
                          rule("sgr-lan", Direction::Ingress, Protocol::Tcp, "22/22", "10.0.0.0/24", Policy::Accept, 2),
                          rule("sgr-deny", Direction::Ingress, Protocol::Tcp, "1/1024", "0.0.0.0/0", Policy::Drop, 3),
                      }));
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, {"sg-web"}));
  Capture cap;
  cap.frames = {frame(1, 0), frame(2, 1)};
  cap.keys = {pkt("10.0.1.7", 40000, "10.0.0.5", 22, 6, kSyn), pkt("10.0.0.9", 40000, "10.0.0.5", 22, 6, kSyn)};
  Coverage cov;
  compareWithWhatIf(m, {{}, {0}}, cap, cov, "nested peers");
  TrafficAudit a(std::make_shared<const Network>(m), {{}, {0}});
  for (std::size_t i = 0; i < cap.frames.size(); ++i) a.process(cap.frames[i], cap.keys[i]);
  const auto rs = a.results();
  const AuditedRule& r = find(rs, "sgr-corp");
  EXPECT_EQ(r.hits.flows, 2u);
  EXPECT_EQ(r.ifRevoked.cutFlows, 1u);  // 10.0.1.7 falls to sgr-deny; 10.0.0.9 to sgr-lan (unchanged)
  ASSERT_EQ(r.fallback.size(), 1u);
  EXPECT_EQ(r.fallback[0].ruleId, "sgr-deny");
}

TEST(TrafficAudit, AuditedGroupsTakesEnisAndGroupsAndNamesWhatItDoesNotKnow) {
  Model m = webModel();
  m.groups.push_back(group("sg-spare", {}));
  m.groups.push_back(group("sg-db", {}));
  m.enis.push_back(eni("eni-db", {"10.0.1.7"}, {"sg-db"}));
  EXPECT_EQ(*auditedGroups(m, {}, {}), (std::vector<std::size_t>{0, 2}));  // groups some ENI holds
  EXPECT_EQ(*auditedGroups(m, {"eni-db"}, {}), (std::vector<std::size_t>{2}));
  EXPECT_EQ(*auditedGroups(m, {"eni-db"}, {"sg-spare"}), (std::vector<std::size_t>{1, 2}));
  const auto bad = auditedGroups(m, {"eni-wbe"}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().where, "--eni eni-wbe");
  EXPECT_NE(bad.error().message.find("did you mean `eni-web`?"), std::string::npos) << bad.error().message;
  const auto bad2 = auditedGroups(m, {}, {"sg-wbe"});
  ASSERT_FALSE(bad2.ok());
  EXPECT_EQ(bad2.error().where, "--group sg-wbe");
  EXPECT_NE(bad2.error().message.find("did you mean `sg-web`?"), std::string::npos) << bad2.error().message;
}

TEST(TrafficAudit, WarnsWhenTheFlowTableCouldHaveReachedItsCap) {
  auto net = std::make_shared<const Network>(webModel());
  AuditOptions o{{}, {0}};
  o.eval.maxFlows = 4;
  TrafficAudit a(net, o);
  for (int i = 0; i < 8; ++i)
    a.process(frame(static_cast<std::uint64_t>(i + 1), 0.1 * i),
              pkt("192.0.2." + std::to_string(i + 1), 40000, "10.0.0.5", 80, 6, kSyn));
  const auto w = a.warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].where, "--max-flows 4");
  EXPECT_NE(w[0].message.find("whatif --revoke"), std::string::npos);
}

}  // namespace
}  // namespace sgsim
