// The generators behind every end-to-end figure in docs/PERFORMANCE.md: these tests check the properties the
// figures rely on (live-flow count, new flows, rule coverage, well-formed and reproducible frames).

#include "traffic_mix.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "model_mix.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/model/model_json.h"
#include "sgsim/verdict/evaluator.h"

namespace sgsim {
namespace {

const IpAddr kHost = IpAddr::v4(0x0a000001);

Model model1k() {
  auto m = parseModel(boost::json::serialize(benchModel(1000, kHost, 1)), std::nullopt, "test");
  EXPECT_TRUE(static_cast<bool>(m));
  return *m;
}

using Tuple = std::tuple<std::uint8_t, IpAddr, std::uint16_t, IpAddr, std::uint16_t>;
Tuple canonical(const PacketKey& k) {
  if (std::tie(k.src, k.sport) <= std::tie(k.dst, k.dport)) return {k.proto, k.src, k.sport, k.dst, k.dport};
  return {k.proto, k.dst, k.dport, k.src, k.sport};
}

TEST(TrafficMix, FramesAreWellFormedOrderedAndCutAtTheSnapLength) {
  TrafficOptions o;
  o.flows = 1000;
  o.snaplen = 96;
  TrafficMix mix(o, trafficTargets(model1k(), kHost));
  GenFrame f;
  std::int64_t last = 0;
  for (int i = 0; i < 50'000; ++i) {
    mix.next(f);
    ASSERT_GT(f.tsNs, last);
    last = f.tsNs;
    ASSERT_GE(f.wireLen, 60u);
    ASSERT_LE(f.wireLen, 1514u);
    ASSERT_EQ(f.capLen, std::min(f.wireLen, 96u));
    const PacketKey k = decodeFrame(1, f.data, f.capLen);
    ASSERT_EQ(k.status, DecodeStatus::Ok) << k.detail;
    ASSERT_TRUE(k.proto == 6 || k.proto == 17);
    ASSERT_TRUE(k.src == kHost || k.dst == kHost);
    ASSERT_EQ(k.ipLength + 14 <= f.wireLen, true);
  }
}

TEST(TrafficMix, SameSeedSameFramesOtherSeedOtherFrames) {
  TrafficOptions o;
  o.flows = 500;
  const TrafficTargets t = trafficTargets(model1k(), kHost);
  TrafficMix a(o, t), b(o, t);
  o.seed = 2;
  TrafficMix c(o, t);
  GenFrame fa, fb, fc;
  int differ = 0;
  for (int i = 0; i < 5'000; ++i) {
    a.next(fa);
    b.next(fb);
    c.next(fc);
    ASSERT_EQ(fa.tsNs, fb.tsNs);
    ASSERT_EQ(fa.capLen, fb.capLen);
    ASSERT_EQ(0, std::memcmp(fa.data, fb.data, fa.capLen));
    differ += fa.capLen != fc.capLen || std::memcmp(fa.data, fc.data, std::min(fa.capLen, fc.capLen)) != 0;
  }
  EXPECT_GT(differ, 4'000);
}

// About `flows` conversations are in progress at any instant, whatever the capture's length.
TEST(TrafficMix, LiveConversationsStayNearTheFlowCount) {
  constexpr std::uint32_t kFlows = 2'000;
  TrafficOptions o;
  o.flows = kFlows;
  TrafficMix mix(o, trafficTargets(model1k(), kHost));
  std::map<Tuple, std::pair<int, int>> span;  // first and last frame index
  GenFrame f;
  constexpr int kFrames = 400'000;
  for (int i = 0; i < kFrames; ++i) {
    mix.next(f);
    auto [it, fresh] = span.try_emplace(canonical(decodeFrame(1, f.data, f.capLen)), i, i);
    it->second.second = i;
  }
  EXPECT_GT(mix.conversations(), 5u * kFlows);  // the capture outlasts many generations of conversations
  for (int at : {kFrames / 4, kFrames / 2, 3 * kFrames / 4}) {
    std::uint32_t live = 0;
    for (const auto& [t, s] : span) live += s.first <= at && at <= s.second;
    EXPECT_GT(live, kFlows * 85 / 100) << "at frame " << at;
    EXPECT_LE(live, kFlows * 102 / 100) << "at frame " << at;
  }
}

TEST(TrafficMix, NewFlowEveryPacketNeverRepeatsAFiveTuple) {
  TrafficOptions o;
  o.newFlowEveryPacket = true;
  TrafficMix mix(o, trafficTargets(model1k(), kHost));
  std::set<Tuple> seen;
  GenFrame f;
  for (int i = 0; i < 200'000; ++i) {
    mix.next(f);
    ASSERT_TRUE(seen.insert(canonical(decodeFrame(1, f.data, f.capLen))).second) << "frame " << i;
  }
  EXPECT_EQ(mix.conversations(), 200'000u);
}

// --request-reply: every conversation is one request and, later, its reply from the other end; 5-tuples never
// repeat; interleaved, replies start long before the last request, and with repliesLast none comes before it.
TEST(TrafficMix, RequestReplyOpensEveryFlowOnceAndAnswersItOnce) {
  for (const bool last : {false, true}) {
    SCOPED_TRACE(last ? "replies last" : "interleaved");
    TrafficOptions o;
    o.requestReply = true;
    o.repliesLast = last;
    o.flows = 20'000;
    TrafficMix mix(o, trafficTargets(model1k(), kHost));
    std::map<Tuple, std::pair<PacketKey, int>> request;  // the request and its frame index
    std::set<Tuple> answered;
    int lastRequest = -1, firstReply = -1;
    GenFrame f;
    int i = 0;
    for (; mix.framesLeft() > 0; ++i) {
      ASSERT_EQ(mix.framesLeft(), 40'000u - static_cast<unsigned>(i));
      mix.next(f);
      const PacketKey k = decodeFrame(1, f.data, f.capLen);
      ASSERT_EQ(k.status, DecodeStatus::Ok);
      const Tuple t = canonical(k);
      auto it = request.find(t);
      if (it == request.end()) {
        request.emplace(t, std::pair{k, i});
        lastRequest = i;
        if (k.proto == 6) {
          ASSERT_EQ(k.tcpFlags, 0x02) << "a request is a SYN";
        }
        continue;
      }
      ASSERT_TRUE(answered.insert(t).second) << "a second reply, frame " << i;
      const PacketKey& q = it->second.first;
      ASSERT_EQ(k.src, q.dst);  // from the other end
      ASSERT_EQ(k.sport, q.dport);
      if (k.proto == 6) {
        ASSERT_EQ(k.tcpFlags, 0x12) << "a reply is a SYN-ACK";
      }
      if (firstReply < 0) firstReply = i;
    }
    EXPECT_EQ(i, 40'000);
    EXPECT_EQ(request.size(), 20'000u);
    EXPECT_EQ(answered.size(), 20'000u);
    EXPECT_EQ(mix.conversations(), 20'000u);
    if (last) {
      EXPECT_EQ(firstReply, 20'000);
    } else {
      EXPECT_LT(firstReply, 2'000);  // replies begin among the first requests (at ~200 with this seed)
    }
    EXPECT_GT(lastRequest, last ? 0 : 30'000);
  }
}

// The traffic exercises the table: many different rules decide flows, some accept and some drop, and the
// defaults decide others.
TEST(TrafficMix, FlowsHitManyRulesBothPoliciesAndTheDefaults) {
  const Model m = model1k();
  const auto network = std::make_shared<const Network>(m);
  Evaluator ev(network, EvalOptions{});
  TrafficOptions o;
  o.flows = 5'000;
  TrafficMix mix(o, trafficTargets(m, kHost));
  std::set<std::int32_t> rules;
  std::map<std::pair<Verdict, Reason>, int> firsts;
  GenFrame f;
  int decided = 0;
  for (int i = 0; i < 200'000; ++i) {
    mix.next(f);
    const PacketVerdict v = ev.evaluate(decodeFrame(1, f.data, f.capLen), f.tsNs);
    if (v.reason != Reason::Rule && v.reason != Reason::Default) continue;
    ++decided;
    ++firsts[{v.verdict, v.reason}];
    if (v.reason == Reason::Rule) rules.insert(v.checks[v.deciding].ruleRef);
  }
  EXPECT_GT(rules.size(), 300u);
  const int byRule = firsts[{Verdict::Accept, Reason::Rule}] + firsts[{Verdict::Drop, Reason::Rule}];
  EXPECT_GT(byRule * 2, decided);  // most first packets are decided by a rule, not by a default
  const int dropRule = firsts[{Verdict::Drop, Reason::Rule}];
  const int dropDefault = firsts[{Verdict::Drop, Reason::Default}];
  const int acceptDefault = firsts[{Verdict::Accept, Reason::Default}];
  EXPECT_GT(dropRule * 10, decided);
  EXPECT_GT(dropDefault * 20, decided);
  EXPECT_GT(acceptDefault * 20, decided);
}

// --burst: frames come in trains from one conversation; the default sends each frame to a random one.
TEST(TrafficMix, BurstSendsTrainsFromOneConversation) {
  auto sameAsPrevious = [](std::uint32_t burst) {
    TrafficOptions o;
    o.flows = 10'000;
    o.burst = burst;
    TrafficMix mix(o, TrafficTargets{});
    GenFrame f;
    Tuple previous{};
    int same = 0;
    for (int i = 0; i < 100'000; ++i) {
      mix.next(f);
      const Tuple t = canonical(decodeFrame(1, f.data, f.capLen));
      same += t == previous;
      previous = t;
    }
    return same / 100'000.0;
  };
  EXPECT_LT(sameAsPrevious(1), 0.01);
  EXPECT_GT(sameAsPrevious(4), 0.6);
}

}  // namespace
}  // namespace sgsim
