#include "sgsim/model/json_doc.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sgsim {
namespace {

namespace json = boost::json;

JsonReadError mustFail(std::string_view text, JsonReadOptions options = {}) {
  auto v = readJsonStrict(text, options);
  EXPECT_FALSE(v.ok()) << "accepted: " << text;
  return v.ok() ? JsonReadError{} : v.error();
}

TEST(JsonDoc, ReadsWhatBoostJsonReadsInTheSameOrder) {
  const std::string text =
      R"({"b": [1, -2, 18446744073709551615, 1.5, true, null, "x\u00e9"], "a": {"z": {}, "y": []}})";
  auto v = readJsonStrict(text, {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(json::serialize(*v), json::serialize(json::parse(text)));
  EXPECT_EQ(v->get_object().begin()->key(), "b");  // document order, not sorted
}

TEST(JsonDoc, DuplicateKeyAtTheTopNamesBothPlaces) {
  const JsonReadError e =
      mustFail("{\n  \"SecurityGroupId\": \"sg-1\",\n  \"x\": 1,\n    \"SecurityGroupId\": \"sg-2\"\n}");
  EXPECT_EQ(e.kind, JsonReadError::Kind::DuplicateKey);
  EXPECT_EQ(e.key, "SecurityGroupId");
  EXPECT_EQ(e.path, "SecurityGroupId");
  EXPECT_EQ(e.objectPath, "");
  EXPECT_EQ(e.at.line, 4u);
  EXPECT_EQ(e.at.column, 5u);
  EXPECT_EQ(e.first.line, 2u);
  EXPECT_EQ(e.first.column, 3u);
}

TEST(JsonDoc, DuplicateKeyDeepInArraysNamesItsPath) {
  const std::string text = R"({"SecurityGroups": [{"SecurityGroupId": "a"}, {"Permissions": {"Permission": [
    {"Policy": "Accept"}, {"Policy": "Drop", "Priority": 1, "Policy": "Accept"}]}}]})";
  const JsonReadError e = mustFail(text);
  EXPECT_EQ(e.path, "SecurityGroups[1].Permissions.Permission[1].Policy");
  EXPECT_EQ(e.objectPath, "SecurityGroups[1].Permissions.Permission[1]");
  // The first occurrence is the one in the same object, not the "Policy" of the rule before it.
  EXPECT_EQ(e.first.line, 2u);
  EXPECT_EQ(e.first.column, text.find("{\"Policy\": \"Drop\"") - text.find('\n') - 1 + 2);
  EXPECT_EQ(e.at.column, text.rfind("\"Policy\"") - text.find('\n'));
}

TEST(JsonDoc, EscapedSpellingsOfOneKeyAreTheSameKey) {
  const JsonReadError e = mustFail(R"({"Policy": 1, "Pol\u0069cy": 2})");
  EXPECT_EQ(e.key, "Policy");
  EXPECT_EQ(e.at.column, 15u);  // the opening quote of the escaped spelling
}

TEST(JsonDoc, KeyWithEscapedQuotesIsLocatedAtItsOpeningQuote) {
  const JsonReadError e = mustFail(R"({"a\"b\\": 1, "a\"b\\": 2})");
  EXPECT_EQ(e.key, "a\"b\\");
  EXPECT_EQ(e.first.column, 2u);
  EXPECT_EQ(e.at.column, 15u);
}

TEST(JsonDoc, SameKeyInDifferentObjectsIsFine) {
  EXPECT_TRUE(readJsonStrict(R"([{"a": 1}, {"a": 2}, {"b": {"a": 3}, "a": 4}])", {}).ok());
}

TEST(JsonDoc, ManyKeysInOneObject) {
  std::string text = "{";
  for (int i = 0; i < 2000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\": " + std::to_string(i);
  EXPECT_TRUE(readJsonStrict(text + "}", {}).ok());
  const JsonReadError e = mustFail(text + ", \"k1999\": 0}");
  EXPECT_EQ(e.key, "k1999");
}

TEST(JsonDoc, SyntaxErrorsSayWhere) {
  JsonReadError e = mustFail("{\n  \"a\": [1,\n  }");
  EXPECT_EQ(e.kind, JsonReadError::Kind::Syntax);
  EXPECT_EQ(e.at.line, 3u);
  EXPECT_FALSE(e.message.empty());
  e = mustFail("{\"a\": 1} {\"b\": 2}");
  EXPECT_EQ(e.at.column, 10u);  // the second document is extra data
  e = mustFail("{\"a\": 1");
  EXPECT_EQ(e.at.offset, 7u);
}

TEST(JsonDoc, CommentsAndTrailingCommasOnlyWhenAllowed) {
  const std::string text = "// note\n{\"a\": [1, 2,], /* x */ \"b\": 1,}\n// end\n";
  EXPECT_FALSE(readJsonStrict(text, {}).ok());
  EXPECT_FALSE(readJsonStrict(text, {.allowComments = true}).ok());
  auto v = readJsonStrict(text, {.allowComments = true, .allowTrailingCommas = true});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(json::serialize(*v), R"({"a":[1,2],"b":1})");
}

}  // namespace
}  // namespace sgsim
