// JSON requests are read strictly: a key given twice is refused naming the key and both places (a JSON reader
// would keep one of the two silently), and nothing may follow the JSON value.

#include <gtest/gtest.h>

#include "sgsim/api/request.h"

namespace sgsim {
namespace {

std::string errorOf(std::string_view text) {
  auto r = parseRequest(text);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  return r.ok() ? std::string() : r.error().toString();
}

TEST(RequestJsonStrict, ADuplicateParameterIsRefused) {
  EXPECT_EQ(errorOf(R"({"Action": "RevokeSecurityGroup", "SecurityGroupId": "sg-nope", "SecurityGroupId": "sg-web",
    "SecurityGroupRuleId": ["sgr-1"]})"),
            "request: line 1, column 65: duplicate key \"SecurityGroupId\" (first at line 1, column 35); give each "
            "parameter once");
}

TEST(RequestJsonStrict, ADuplicateInAPageStyleRequestPointsIntoTheUsersText) {
  // No outer braces, as the API pages print their examples: lines and columns are the user's own.
  EXPECT_EQ(errorOf("\"SecurityGroupId\": \"sg-1\",\n  \"SecurityGroupId\": \"sg-2\""),
            "request: line 2, column 3: duplicate key \"SecurityGroupId\" (first at line 1, column 1); give each "
            "parameter once");
}

TEST(RequestJsonStrict, ADuplicateInsideARuleDescriptionNamesIt) {
  EXPECT_EQ(errorOf("{\"SecurityGroupId\": \"sg-1\", \"Permissions\": [{\"IpProtocol\": \"TCP\",\n"
                    "  \"PortRange\": \"22/22\", \"PortRange\": \"23/23\"}]}"),
            "request: line 2, column 25: duplicate key \"PortRange\" in Permissions[0] (first at line 2, column 3); "
            "give each parameter once");
  EXPECT_EQ(errorOf("aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-1 --Permissions "
                    "'[{\"IpProtocol\":\"TCP\"},{\"IpProtocol\":\"TCP\",\"IpProtocol\":\"UDP\"}]'"),
            "request: --Permissions: line 1, column 43: duplicate key \"IpProtocol\" in Permissions[1] (first at line "
            "1, column 24); give each parameter once");
}

TEST(RequestJsonStrict, TheSameKeyInTwoRulesIsFine) {
  EXPECT_TRUE(parseRequest(R"({"SecurityGroupId": "sg-1", "Permissions": [{"PortRange": "22/22"},
    {"PortRange": "80/80"}]})")
                  .ok());
}

TEST(RequestJsonStrict, NothingMayFollowTheRequest) {
  EXPECT_EQ(errorOf(R"({"SecurityGroupId": "sg-1"} {"SecurityGroupId": "sg-2"})"),
            "request: line 1, column 29: JSON syntax error: extra data");
}

}  // namespace
}  // namespace sgsim
