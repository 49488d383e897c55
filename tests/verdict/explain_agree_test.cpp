// `sgsim explain` shows, rule by rule, which fields of the packet match (its own per-field comparison, written
// for display), while the winner it names comes from Network::decide (the classifier boxes). The two must agree:
// no rule above the winner may be shown as matching, the winner must be shown as matching, and when the
// implicit default decides, no rule may be shown as matching.
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
      bool winnerSeen = false, matchShown = false, intraGroup = false;
      while (std::getline(in, line)) {
        SCOPED_TRACE(*text);
        const auto at = line.find_first_not_of(' ');
        const std::string t = at == std::string::npos ? "" : line.substr(at);
        if (t.rfind("intra-group:", 0) == 0 && t.find("accepted before any custom rule") != std::string::npos) {
          intraGroup = true;  // every rule is then "above" nothing: matching rules are shown as already decided
        } else if (t == "matches: WINS") {
          ASSERT_FALSE(matchShown) << "a rule above the winner is shown as matching";
          winnerSeen = true;
          ++winners;
        } else if (t == "matches, but a rule above already decided") {
          matchShown = true;
          ++shownMatching;
          ASSERT_TRUE(winnerSeen || intraGroup)
              << "a rule is shown as matching but the classifier found no winner above it";
        } else if (t == "no match") {
          ASSERT_EQ(previous.find("=> #"), std::string::npos) << "the classifier's winner is shown as not matching";
        } else if (t.rfind("verdict: ", 0) == 0) {
          if (t.find("(default)") != std::string::npos) {
            ASSERT_FALSE(winnerSeen || matchShown);
            ++defaults;
          }
          winnerSeen = matchShown = intraGroup = false;
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
