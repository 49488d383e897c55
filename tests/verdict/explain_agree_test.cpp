// `sgsim explain` shows, rule by rule, which fields of the packet match (its own per-field comparison, written
// for display), while the winner it names comes from Network::decide (the classifier boxes). The two must agree:
// no consulted rule above the winner may be shown as matching, the winner must be shown as matching (and as the
// one deciding), rules after it are "not consulted", and when the implicit default decides every rule was
// consulted and none is shown as matching.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "sgsim/verdict/explain.h"
#include "test_model.h"

namespace sgsim {
namespace {

using namespace sgsim::testing;

TEST(Explain, PerFieldMatchesAgreeWithTheClassifiersWinner) {
  std::mt19937 rng(77);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* addrs[] = {"10.0.0.5", "10.0.0.6", "10.0.1.7", "192.0.2.1", "192.0.2.200", "198.51.100.9", "10.9.9.9"};
  const std::uint16_t ports[] = {22, 80, 443, 1500, 40000, 7};
  int winners = 0, defaults = 0, shownMatching = 0;
  for (int round = 0; round < 60; ++round) {
    const Network net(randomModel(rng));
    for (int k = 0; k < 200; ++k) {
      PacketFields p;
      p.proto = pick(4) == 0 ? 17 : (pick(5) == 0 ? 1 : 6);
      p.src = *IpAddr::parse(addrs[pick(7)]);
      p.dst = *IpAddr::parse(addrs[pick(7)]);
      p.sport = ports[pick(6)];
      p.dport = p.proto == 1 ? p.sport : ports[pick(6)];
      auto text = explainPacket(net, p, {});
      if (!text) continue;  // touches no modeled ENI
      std::istringstream in(*text);
      std::string line, previous;
      bool winnerSeen = false, notConsulted = false;
      while (std::getline(in, line)) {
        SCOPED_TRACE(*text);
        const auto at = line.find_first_not_of(' ');
        const std::string t = at == std::string::npos ? "" : line.substr(at);
        if (t.rfind("matches: it decides", 0) == 0) {
          ASSERT_EQ(previous.rfind("=> #", 0), 0u) << "a rule that is not the classifier's winner is shown deciding";
          ASSERT_FALSE(winnerSeen);
          winnerSeen = true;
          ++winners;
        } else if (t == "matches") {
          FAIL() << "a consulted rule above the winner is shown as matching: the classifier missed it";
        } else if (t == "no match") {
          ASSERT_NE(previous.rfind("=> #", 0), 0u) << "the classifier's winner is shown as not matching";
        } else if (t.rfind("not consulted (", 0) == 0) {
          notConsulted = true;
          ASSERT_TRUE(winnerSeen || t.find("intra-group") != std::string::npos)
              << "rules are not consulted, yet neither a rule nor the intra-group accept decided";
        } else if (t.rfind("#", 0) == 0 && t.find("(it would match too)") != std::string::npos) {
          ASSERT_TRUE(notConsulted);
          ++shownMatching;
        } else if (t.rfind("verdict: ", 0) == 0) {
          if (t.find("(default)") != std::string::npos) {
            ASSERT_FALSE(winnerSeen || notConsulted) << "the default decided, yet a rule is shown deciding first";
            ++defaults;
          }
          if (t.find("(rule)") != std::string::npos) {
            ASSERT_TRUE(winnerSeen) << "a rule decided, yet no rule is shown deciding";
          }
          winnerSeen = notConsulted = false;
        }
        if (t.rfind("=> #", 0) == 0 || t.rfind("#", 0) == 0) previous = t;
      }
    }
  }
  EXPECT_GT(winners, 1000);
  EXPECT_GT(defaults, 300);
  EXPECT_GT(shownMatching, 300);
}

}  // namespace
}  // namespace sgsim
