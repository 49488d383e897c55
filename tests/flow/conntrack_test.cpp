#include "sgsim/flow/conntrack.h"

#include <gtest/gtest.h>

namespace sgsim {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

// Starts a flow as the evaluator does: acquire a slot, fill it in.
FlowEntry* start(ConnTracker& ct, const FlowKey& k, std::int64_t now) {
  FlowSlot<1>* s = ct.acquire(k, now);
  if (s == nullptr) return nullptr;
  EXPECT_FALSE(ct.live(s->side[0], k, now));
  s->side[0] = FlowEntry{};
  s->side[0].present = true;
  s->side[0].lastNs = now;
  return &s->side[0];
}

FlowKey key(std::uint8_t proto, const char* a, std::uint16_t pa, const char* b, std::uint16_t pb, bool& srcIsA) {
  return FlowKey::make(0, proto, *IpAddr::parse(a), pa, *IpAddr::parse(b), pb, srcIsA);
}

TEST(FlowKey, BothDirectionsGiveTheSameKey) {
  bool ab = false, ba = false;
  auto k1 = key(6, "10.0.0.5", 22, "203.0.113.7", 51514, ab);
  auto k2 = key(6, "203.0.113.7", 51514, "10.0.0.5", 22, ba);
  EXPECT_EQ(k1, k2);
  EXPECT_NE(ab, ba);
  EXPECT_EQ(FlowKeyHash{}(k1), FlowKeyHash{}(k2));
  bool x = false;
  EXPECT_NE(k1, key(17, "10.0.0.5", 22, "203.0.113.7", 51514, x));  // protocol is part of the key
  auto other = FlowKey::make(1, 6, *IpAddr::parse("10.0.0.5"), 22, *IpAddr::parse("203.0.113.7"), 51514, x);
  EXPECT_NE(k1, other);  // so is the ENI
}

TEST(ConnTracker, TimeoutsComeFromTheEniConfiguration) {
  Timeouts t;
  t.tcpEstablished = 100;
  t.udp = 7;
  t.other = 9;
  t.tcpClosing = 2;
  ConnTracker ct({t}, 100);
  bool a = false;
  for (auto [proto, timeout] : {std::pair<std::uint8_t, int>{6, 100}, {17, 7}, {1, 9}, {47, 9}}) {
    auto k = key(proto, "10.0.0.5", 1, "192.0.2.1", 2, a);
    ASSERT_NE(start(ct, k, 0), nullptr);
    EXPECT_NE(ct.findLive(k, timeout * kSec), nullptr) << int(proto);  // exactly the timeout: alive
    EXPECT_EQ(ct.findLive(k, timeout * kSec + 1), nullptr) << int(proto);
  }
}

TEST(ConnTracker, FinFromBothSidesOrRstShortensTcp) {
  ConnTracker ct({Timeouts{}}, 100);
  bool srcIsA = false;
  auto k = key(6, "10.0.0.5", 1, "192.0.2.1", 2, srcIsA);
  FlowEntry* e = start(ct, k, 0);
  ASSERT_NE(e, nullptr);
  ct.update(*e, k, srcIsA, 0x01, 10 * kSec);  // FIN from one side only
  EXPECT_NE(ct.findLive(k, 500 * kSec), nullptr);
  e = ct.findLive(k, 500 * kSec);
  ct.update(*e, k, !srcIsA, 0x11, 500 * kSec);  // FIN+ACK from the other
  EXPECT_NE(ct.findLive(k, 503 * kSec), nullptr);
  EXPECT_EQ(ct.findLive(k, 503 * kSec + 1), nullptr);

  auto k2 = key(6, "10.0.0.5", 3, "192.0.2.1", 4, srcIsA);
  e = start(ct, k2, 0);
  ct.update(*e, k2, srcIsA, 0x04, 0);  // RST
  EXPECT_EQ(ct.findLive(k2, 4 * kSec), nullptr);
}

TEST(ConnTracker, MemoryFollowsLiveFlowsNotCaptureLength) {
  ConnTracker ct({Timeouts{}}, 1'000'000);
  bool a = false;
  // 200,000 UDP flows, each alive for 30 s, started one per millisecond: at most ~30,000 live at once.
  std::size_t peak = 0;
  for (std::uint32_t i = 0; i < 200'000; ++i) {
    const std::int64_t now = static_cast<std::int64_t>(i) * 1'000'000;
    auto k = FlowKey::make(0, 17, IpAddr::v4(0x0A000005), 53, IpAddr::v4(0xC0000000 + i), 4000, a);
    ASSERT_NE(start(ct, k, now), nullptr);
    peak = std::max(peak, ct.size());
  }
  EXPECT_LT(peak, 2 * 31'000u);
  EXPECT_EQ(ct.capHits(), 0u);
}

TEST(ConnTracker, AcquireFindsTheSlotAndLivenessIsPerSide) {
  BasicConnTracker<2> ct({Timeouts{}}, 100);
  bool a = false;
  auto k = key(17, "10.0.0.5", 1, "192.0.2.1", 2, a);
  FlowSlot<2>* s = ct.acquire(k, 0);
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(ct.live(s->side[0], k, 0));  // a new slot has no side present
  EXPECT_FALSE(ct.live(s->side[1], k, 0));
  s->side[1].present = true;
  s->side[1].lastNs = 0;
  s->side[1].fate = FlowFate::Blocked;
  s = ct.acquire(k, 30 * kSec);
  EXPECT_FALSE(ct.live(s->side[0], k, 30 * kSec));
  EXPECT_TRUE(ct.live(s->side[1], k, 30 * kSec));  // exactly the 30 s UDP timeout
  EXPECT_EQ(s->side[1].fate, FlowFate::Blocked);
  EXPECT_FALSE(ct.live(ct.acquire(k, 31 * kSec)->side[1], k, 31 * kSec));
  EXPECT_EQ(ct.size(), 1u);
  EXPECT_EQ(ct.findLive(k, 10 * kSec, 1), &ct.acquire(k, 10 * kSec)->side[1]);
  EXPECT_EQ(ct.findLive(k, 10 * kSec, 0), nullptr);
}

TEST(FlowKey, EndpointsRoundTrip) {
  bool srcIsA = false;
  auto k = key(6, "2001:db8::9", 443, "2001:db8::1", 5000, srcIsA);
  EXPECT_FALSE(srcIsA);
  EXPECT_EQ(k.a().toString(), "2001:db8::1");
  EXPECT_EQ(k.b().toString(), "2001:db8::9");
  EXPECT_EQ(k.pa, 5000);
  EXPECT_EQ(k.pb, 443);
  EXPECT_EQ(sizeof(FlowKey), 48u);
  EXPECT_EQ(sizeof(FlowEntry), 24u);
}

TEST(ConnTracker, CapRefusesNewFlowsOnlyWhileAllAreAlive) {
  ConnTracker ct({Timeouts{}}, 2);
  bool a = false;
  auto k1 = key(17, "10.0.0.5", 1, "192.0.2.1", 1, a);
  auto k2 = key(17, "10.0.0.5", 2, "192.0.2.1", 2, a);
  auto k3 = key(17, "10.0.0.5", 3, "192.0.2.1", 3, a);
  ASSERT_NE(start(ct, k1, 0), nullptr);
  ASSERT_NE(start(ct, k2, 0), nullptr);
  EXPECT_EQ(start(ct, k3, kSec), nullptr);
  EXPECT_EQ(ct.capHits(), 1u);
  EXPECT_TRUE(ct.live(ct.acquire(k1, 2 * kSec)->side[0], k1, 2 * kSec));  // existing flows still found when full
  EXPECT_NE(start(ct, k3, 60 * kSec), nullptr);                           // the first two expired and were swept
}

}  // namespace
}  // namespace sgsim
