#include "sgsim/classify/linear_classifier.h"

#include <gtest/gtest.h>

#include "box_helpers.h"

namespace sgsim {
namespace {

using test_util::box;

TEST(LinearClassifier, LowestRankWinsRegardlessOfInsertionOrder) {
  LinearClassifier c({box("0.0.0.0/0", "0.0.0.0/0", 6, 22, 22, 5), box("10.0.0.0/8", "0.0.0.0/0", 6, 0, 65535, 2)});
  ClassifyKey k{Family::V4, 6, *IpAddr::parse("10.1.1.1"), *IpAddr::parse("192.0.2.1"), 5555, 22};
  auto i = c.classify(k);
  ASSERT_NE(i, kNoMatch);
  EXPECT_EQ(c.boxes()[i].rank, 2u);
  k.src = *IpAddr::parse("11.1.1.1");
  i = c.classify(k);
  ASSERT_NE(i, kNoMatch);
  EXPECT_EQ(c.boxes()[i].rank, 5u);
  k.dport = 23;
  EXPECT_EQ(c.classify(k), kNoMatch);
}

TEST(LinearClassifier, FamilyAndProtocolMustMatch) {
  LinearClassifier c({box("::/0", "::/0", -1, 0, 65535, 1)});
  ClassifyKey k{Family::V4, 17, *IpAddr::parse("10.1.1.1"), *IpAddr::parse("192.0.2.1"), 1, 2};
  EXPECT_EQ(c.classify(k), kNoMatch);
  k = ClassifyKey{Family::V6, 17, *IpAddr::parse("2001:db8::1"), *IpAddr::parse("2001:db8::2"), 1, 2};
  EXPECT_EQ(c.classify(k), 0u);
}

}  // namespace
}  // namespace sgsim
