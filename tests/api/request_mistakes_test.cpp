// Mistakes users make in requests (issue 8): a typo in a parameter name must be named, with the parameter it
// most likely meant, also when the request then fails; a parameter given twice, or a request file that is not
// there, is refused before any API check; a request that changes no rule is visible to --fail-on-noop.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "api_fixture.h"

namespace sgsim {
namespace {

using test::makeModel;
using test::run;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// ---- notes on failure, with "did you mean" ------------------------------------------------------------------

// The issue's case: `SecurityGroupRuleIds` is ignored, so the request is read as a flat rule description
// without IpProtocol. The API's answer is kept exactly; the typo is named beside it.
TEST(NotesOnFailure, RuleIdsTypoIsNamedWhenTheRequestFails) {
  Model m = makeModel();
  const Model before = m;
  auto out = run(m, "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleIds=sgr-ssh");
  EXPECT_EQ(out.code, "InvalidIpProtocol.ValueNotSupported");
  EXPECT_THAT(out.notes, ElementsAre("SecurityGroupRuleIds is not a parameter of RevokeSecurityGroup; ignored "
                                     "(did you mean SecurityGroupRuleId?)"));
  // stdout stays the API's body; the note is in the human report.
  EXPECT_THAT(out.bodyJson(), Not(HasSubstr("SecurityGroupRuleIds")));
  EXPECT_THAT(out.bodyJson(), HasSubstr("\"Code\":\"InvalidIpProtocol.ValueNotSupported\""));
  EXPECT_THAT(renderOutcomeText(out, m), HasSubstr("note: SecurityGroupRuleIds is not a parameter of "
                                                   "RevokeSecurityGroup; ignored (did you mean SecurityGroupRuleId?)"));
  EXPECT_TRUE(m == before);
}

// The JSON list form flattens to RPC names: the suggestion keeps the index.
TEST(NotesOnFailure, JsonListTypoKeepsTheIndex) {
  Model m = makeModel();
  auto out = run(m, R"({"SecurityGroupId":"sg-web","SecurityGroupRuleIds":["sgr-ssh","sgr-http"]})");
  EXPECT_EQ(out.code, "InvalidIpProtocol.ValueNotSupported");
  EXPECT_THAT(out.notes, ElementsAre(HasSubstr("SecurityGroupRuleIds.1 is not a parameter of RevokeSecurityGroup; "
                                               "ignored (did you mean SecurityGroupRuleId.1?)"),
                                     HasSubstr("(did you mean SecurityGroupRuleId.2?)")));
}

// Notes made while reading descriptions (precedence decisions) survive a failure at a later check.
TEST(NotesOnFailure, PrecedenceNotesSurviveALaterFailure) {
  Model m = makeModel();
  auto out = run(m,
                 "Action=RevokeSecurityGroup&SecurityGroupId=sg-nowhere&Permissions.1.IpProtocol=TCP"
                 "&Permissions.1.PortRange=22/22&Permissions.1.PortRangeListId=prl-web"
                 "&Permissions.1.SourceCidrIp=10.0.0.0/8&Permissions.1.Colour=red");
  EXPECT_EQ(out.code, "InvalidSecurityGroupId.NotFound");
  EXPECT_THAT(out.notes, ElementsAre("Permissions.1.Colour is not a parameter of RevokeSecurityGroup; ignored",
                                     "Permissions.1.PortRangeListId ignored: PortRange takes precedence"));
}

struct TypoCase {
  const char* name;
  const char* request;
  const char* note;
};

const TypoCase kTypos[] = {
    {"PermissionsFieldInJson",
     R"({"SecurityGroupId":"sg-web","Permissions":[{"IpProtocol":"TCP","PortRange":"443/443",
         "SourceCidrIp":"10.0.0.0/8","Priorty":"2"}]})",
     "Permissions.1.Priorty is not a parameter of RevokeSecurityGroup; ignored (did you mean Permissions.1.Priority?)"},
    {"ListNameOnCommandLine",
     "aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-web --Permission.1.IpProtocol TCP "
     "--Permissions.2.IpProtocol TCP --Permissions.2.PortRange 22/22 --Permissions.2.SourceCidrIp 10.0.0.0/8",
     "Permission.1.IpProtocol is not a parameter of RevokeSecurityGroup; ignored (did you mean "
     "Permissions.1.IpProtocol?)"},
    {"FlatFieldLetterCase",
     "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&IpProtocol=TCP&PortRange=22/22&SourceCidrIP=10.0.0.0/8",
     "SourceCidrIP is not a parameter of RevokeSecurityGroup; ignored (did you mean SourceCidrIp?)"},
    {"TopLevelName", "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh&ClientTokn=abc",
     "ClientTokn is not a parameter of RevokeSecurityGroup; ignored (did you mean ClientToken?)"},
    {"NothingCloseNoHint", "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh&Zone=x",
     "Zone is not a parameter of RevokeSecurityGroup; ignored"},
    // Authorize has no rule ids: SecurityGroupRuleId is not suggested to it.
    {"AuthorizeIsNotOfferedRuleIds",
     "Action=AuthorizeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP"
     "&Permissions.1.PortRange=22/22&Permissions.1.SourceCidrIp=10.0.0.0/8&SecurityGroupRuleIds=x",
     "SecurityGroupRuleIds is not a parameter of AuthorizeSecurityGroup; ignored"},
    {"EnsField",
     "aliyun ens RevokeSecurityGroupEgress --SecurityGroupId sg-ens --IpProtocl tcp --PortRange 22/22 "
     "--DestCidrIp 10.0.0.0/8",
     "IpProtocl is not a parameter of ENS RevokeSecurityGroupEgress (did you mean IpProtocol?)"},
    // The other direction's peer is the likely mistake, though too many letters away for an edit distance.
    {"EnsPeerOfTheOtherDirection",
     "aliyun ens RevokeSecurityGroupEgress --SecurityGroupId sg-ens --IpProtocol tcp --PortRange 22/22 "
     "--SourceCidrIp 10.0.0.0/8",
     "SourceCidrIp is not a parameter of ENS RevokeSecurityGroupEgress (did you mean DestCidrIp?)"},
};

class Typos : public ::testing::TestWithParam<TypoCase> {};

TEST_P(Typos, NoteNamesTheParameterAndItsNearestName) {
  Model m = makeModel();
  auto out = run(m, GetParam().request);
  EXPECT_THAT(out.notes, Contains(std::string(GetParam().note))) << out.code;
}

INSTANTIATE_TEST_SUITE_P(Requests, Typos, ::testing::ValuesIn(kTypos),
                         [](const auto& info) { return std::string(info.param.name); });

// ENS refuses unknown parameters (the first one answers, as before); every one of them gets a note.
TEST(NotesOnFailure, EnsNotesEveryUnsupportedParameter) {
  Model m = makeModel();
  auto out = run(m,
                 "aliyun ens RevokeSecurityGroup --SecurityGroupId sg-ens --IpProtocol tcp --PortRange 22/22 "
                 "--SourceCidrIp 10.0.0.0/8 --Priorty 1 --ClientToken t");
  EXPECT_EQ(out.code, "InvalidParameter");
  EXPECT_EQ(out.message,
            "The errorMessage is parameter Priorty is not supported by ENS RevokeSecurityGroup. Please "
            "check it again.");
  EXPECT_THAT(out.notes, ElementsAre("Priorty is not a parameter of ENS RevokeSecurityGroup (did you mean Priority?)",
                                     "ClientToken is not a parameter of ENS RevokeSecurityGroup"));
}

// ---- no-ops, for --fail-on-noop ------------------------------------------------------------------------------

TEST(Noop, RevokeThatMatchesNothingIsANoop) {
  Model m = makeModel();
  // The issue's case: the Priority typo makes the description default to Priority 1, which matches nothing.
  auto out = run(m, R"({"SecurityGroupId":"sg-web","Permissions":[{"IpProtocol":"TCP","PortRange":"443/443",
      "SourceCidrIp":"10.0.0.0/8","Priorty":"2"}]})");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(noopReason(out), "changed no rule");
  EXPECT_THAT(out.unchangedDescriptions, ElementsAre("Permissions.1"));
  // Spelled right it removes sgr-tls2 and is no no-op.
  auto fixed = run(m, R"({"SecurityGroupId":"sg-web","Permissions":[{"IpProtocol":"TCP","PortRange":"443/443",
      "SourceCidrIp":"10.0.0.0/8","Priority":"2"}]})");
  ASSERT_TRUE(fixed.ok());
  EXPECT_THAT(fixed.removedRuleIds, ElementsAre("sgr-tls2"));
  EXPECT_EQ(noopReason(fixed), "");
}

TEST(Noop, OneDescriptionOfSeveralThatChangesNothingIsNamed) {
  Model m = makeModel();
  auto out = run(m,
                 "Action=RevokeSecurityGroup&SecurityGroupId=sg-web"
                 "&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange=22/22&Permissions.1.SourceCidrIp=10.0.0.0/8"
                 "&Permissions.2.IpProtocol=TCP&Permissions.2.PortRange=81/81&Permissions.2.SourceCidrIp=10.0.0.0/8"
                 "&Permissions.3.IpProtocol=TCP&Permissions.3.PortRange=82/82&Permissions.3.SourceCidrIp=10.0.0.0/8");
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(out.removedRuleIds, ElementsAre("sgr-ssh"));
  EXPECT_EQ(noopReason(out), "changed no rule in Permissions.2, Permissions.3");
}

TEST(Noop, FlatFormThatMatchesNothingIsTheRequest) {
  Model m = makeModel();
  auto out = run(m,
                 "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&IpProtocol=TCP&PortRange=23/23"
                 "&SourceCidrIp=10.0.0.0/8");
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(out.unchangedDescriptions, ElementsAre("the request"));
  EXPECT_EQ(noopReason(out), "changed no rule");
}

TEST(Noop, AuthorizeOfAnExistingRuleAndClientTokenRetry) {
  Model m = makeModel();
  const std::string exists =
      "Action=AuthorizeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP"
      "&Permissions.1.PortRange=22/22&Permissions.1.SourceCidrIp=10.0.0.0/8";
  EXPECT_EQ(noopReason(run(m, exists)), "changed no rule");
  const std::string fresh =
      "Action=AuthorizeSecurityGroup&SecurityGroupId=sg-web&Permissions.1.IpProtocol=TCP"
      "&Permissions.1.PortRange=2222/2222&Permissions.1.SourceCidrIp=10.0.0.0/8&ClientToken=tok";
  auto first = run(m, fresh);
  ASSERT_EQ(first.addedRuleIds.size(), 1u);
  EXPECT_EQ(noopReason(first), "");
  auto retry = run(m, fresh);
  ASSERT_TRUE(retry.replayed);
  EXPECT_EQ(noopReason(retry), "is a ClientToken retry: nothing was done");
}

// A failed request is an error (exit 1), not a no-op; a revoke by id always removes what it names.
TEST(Noop, FailuresAndRuleIdsAreNotNoops) {
  Model m = makeModel();
  auto failed = run(m, "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-nope");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(noopReason(failed), "");
  EXPECT_TRUE(failed.unchangedDescriptions.empty());
  EXPECT_EQ(noopReason(run(m, "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh")), "");
}

// ---- parameters given twice ----------------------------------------------------------------------------------

struct DuplicateCase {
  const char* name;
  const char* request;
  const char* message;
};

const DuplicateCase kDuplicates[] = {
    {"QueryGroupId",
     "Action=RevokeSecurityGroup&SecurityGroupId=sg-nope&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh",
     "SecurityGroupId is given twice ('sg-nope', then 'sg-web'): give each parameter once"},
    {"QuerySameValueTwice",
     "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=a&SecurityGroupRuleId.1=a",
     "SecurityGroupRuleId.1 is given twice ('a', then 'a'): give each parameter once"},
    {"QueryAction", "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&Action=AuthorizeSecurityGroup",
     "Action is given twice ('RevokeSecurityGroup', then 'AuthorizeSecurityGroup'): give each parameter once"},
    {"QueryFlatRuleId", "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId=a&SecurityGroupRuleId=b",
     "SecurityGroupRuleId is given twice ('a', then 'b'): give each parameter once (list values as "
     "SecurityGroupRuleId.1, SecurityGroupRuleId.2, …)"},
    {"CliGroupId",
     "aliyun ecs RevokeSecurityGroup --SecurityGroupId a --SecurityGroupId b --SecurityGroupRuleId.1 sgr-ssh",
     "SecurityGroupId is given twice ('a', then 'b'): give each parameter once"},
    {"CliEqualsForm",
     "aliyun ecs RevokeSecurityGroup --SecurityGroupId=sg-web --Permissions.1.PortRange=22/22 "
     "--Permissions.1.PortRange 23/23",
     "Permissions.1.PortRange is given twice ('22/22', then '23/23'): give each parameter once"},
    // A JSON list value and a name of the same entry, on the command line and in JSON.
    {"CliJsonListAndName",
     "aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-web --Permissions '[{\"IpProtocol\":\"TCP\"}]' "
     "--Permissions.1.IpProtocol UDP",
     "Permissions.1.IpProtocol is given twice ('TCP', then 'UDP'): give each parameter once"},
    {"JsonListAndName",
     R"({"SecurityGroupId":"sg-web","Permissions":[{"IpProtocol":"TCP"}],"Permissions.1.IpProtocol":"UDP"})",
     "Permissions.1.IpProtocol is given twice ('TCP', then 'UDP'): give each parameter once"},
    {"EnsQuery", "Product=ens&Action=RevokeSecurityGroup&SecurityGroupId=sg-ens&IpProtocol=tcp&IpProtocol=udp",
     "IpProtocol is given twice ('tcp', then 'udp'): give each parameter once"},
};

class Duplicates : public ::testing::TestWithParam<DuplicateCase> {};

TEST_P(Duplicates, AreRefusedAtParseNamingTheParameter) {
  auto r = parseRequest(GetParam().request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where, "request");
  EXPECT_EQ(r.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(Requests, Duplicates, ::testing::ValuesIn(kDuplicates),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Duplicates, ListEntriesAndCommonParametersAreNotDuplicates) {
  auto ids = parseRequest(
      "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=a&SecurityGroupRuleId.2=b"
      "&RegionId=cn-hangzhou");
  ASSERT_TRUE(ids.ok()) << ids.error().toString();
  EXPECT_EQ(ids->params.size(), 3u);
  // The aliyun CLI's own options are not API parameters.
  auto cli = parseRequest(
      "aliyun ecs RevokeSecurityGroup --profile a --profile b --SecurityGroupId sg-web --SecurityGroupRuleId.1 x");
  ASSERT_TRUE(cli.ok()) << cli.error().toString();
}

// ---- request file or text ------------------------------------------------------------------------------------

class RequestFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("sgsim_request_files_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(RequestFiles, MissingFileSaysSo) {
  const std::string path = (dir_ / "nope.json").string();
  auto r = loadRequestArg(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().toString(), path + ": no such file");
  // A bare word with no file-like suffix is no request text either.
  auto word = loadRequestArg("revoke_ssh");
  ASSERT_FALSE(word.ok());
  EXPECT_EQ(word.error().toString(), "revoke_ssh: no such file");
}

TEST_F(RequestFiles, DirectoryAndPathThroughAFileAreErrors) {
  auto d = loadRequestArg(dir_.string());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().toString(), dir_.string() + ": is a directory, not a request file");
  const auto file = dir_ / "plain.txt";
  std::ofstream(file) << "x";
  const std::string through = (file / "req.json").string();
  auto t = loadRequestArg(through);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().where, through);
  EXPECT_THAT(t.error().message, HasSubstr("cannot read the request file"));
}

// Process substitution (`--revoke <(…)`) hands over a pipe, not a regular file.
TEST_F(RequestFiles, PipeIsRead) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string text = "Action=RevokeSecurityGroup&SecurityGroupId=sg-web&SecurityGroupRuleId.1=sgr-ssh";
  ASSERT_EQ(write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fds[1]);
  auto r = loadRequestArg("/dev/fd/" + std::to_string(fds[0]));
  close(fds[0]);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(*r->find("SecurityGroupRuleId.1"), "sgr-ssh");
}

// The text forms hold '/' (CIDRs, port ranges), spaces and '=': they are still read as text.
TEST_F(RequestFiles, TextFormsAreNotPaths) {
  EXPECT_TRUE(loadRequestArg("Action=RevokeSecurityGroup&SecurityGroupId=sg-1&SecurityGroupRuleId.1=a").ok());
  EXPECT_TRUE(loadRequestArg("aliyun ecs RevokeSecurityGroup --SecurityGroupId sg-1 --Permissions.1.IpProtocol TCP "
                             "--Permissions.1.PortRange 22/22 --Permissions.1.SourceCidrIp 10.0.0.0/8")
                  .ok());
  EXPECT_TRUE(loadRequestArg(R"({"SecurityGroupId":"sg-1","SecurityGroupRuleId":["a"]})").ok());
  EXPECT_TRUE(loadRequestArg(R"("SecurityGroupId":"sg-1")").ok());
  // Broken text is a syntax error about the text, not "no such file".
  auto broken = loadRequestArg("aliyun ecs RevokeSecurityGroup --SecurityGroupId 'sg-1");
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.error().message, HasSubstr("unterminated"));
  // Text of no form with a space: no path by the one-word rule, so both readings are named.
  auto spaced = loadRequestArg((dir_ / "my request.json").string());
  ASSERT_FALSE(spaced.ok());
  EXPECT_EQ(spaced.error().toString(),
            "request: not a JSON request, a query string (Action=…&…) or an aliyun command line, nor a file");
  auto half = loadRequestArg("SecurityGroupId=sg-1/2");
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.error().message, HasSubstr("no Action"));
}

// A long query string is no path even where it is longer than a file name may be.
TEST_F(RequestFiles, LongTextIsNotAPath) {
  std::string q = "Action=RevokeSecurityGroup&SecurityGroupId=sg-web";
  for (int i = 1; i <= 30; ++i) q += "&SecurityGroupRuleId." + std::to_string(i) + "=sgr-" + std::to_string(i);
  ASSERT_GT(q.size(), 255u);
  auto r = loadRequestArg(q);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(r->params.size(), 31u);
}

}  // namespace
}  // namespace sgsim
