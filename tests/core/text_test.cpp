#include "sgsim/core/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sgsim {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutionsIgnoringCase) {
  EXPECT_EQ(editDistance("Policy", "Policy"), 0u);
  EXPECT_EQ(editDistance("Polcy", "Policy"), 1u);
  EXPECT_EQ(editDistance("policy", "Policy"), 0u);
  EXPECT_EQ(editDistance("Priorty", "Priority"), 1u);
  EXPECT_EQ(editDistance("SecurityGroupTpye", "SecurityGroupType"), 2u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("abc", ""), 3u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
}

TEST(NearestName, SuggestsOnlyLikelyTypos) {
  const std::vector<std::string> keys{"Policy", "Priority", "PortRange", "SecurityGroupType", "InnerAccessPolicy"};
  EXPECT_EQ(nearestName("Polcy", keys), "Policy");
  EXPECT_EQ(nearestName("Priorty", keys), "Priority");
  EXPECT_EQ(nearestName("SecurityGroupTpye", keys), "SecurityGroupType");
  EXPECT_EQ(nearestName("InnerAccesPolicy", keys), "InnerAccessPolicy");
  EXPECT_EQ(nearestName("Tags", keys), "");          // nothing close: no suggestion
  EXPECT_EQ(nearestName("Zz", {"Ab", "Zy"}), "Zy");  // short words: one edit
  EXPECT_EQ(nearestName("Xyz", {"Abc"}), "");
  // Ties go to the earliest candidate.
  EXPECT_EQ(nearestName("Cat", {"Bat", "Hat"}), "Bat");
}

}  // namespace
}  // namespace sgsim
