// `explain --capture F --frame N` (pipeline/explain_evaluation.h): frames 1..N-1 replayed through the evaluator, then
// frame N explained with the state it meets, over a capture written here byte by byte: established since frame K,
// blocked since frame K, a flow whose entry expired, a later fragment of frame K, and a change at --at that cuts.

#include "sgsim/pipeline/explain_evaluation.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../decode/frame_builder.h"
#include "../temp_files.h"
#include "../verdict/test_model.h"
#include "sgsim/pipeline/capture_stream.h"
#include "sgsim/pipeline/record_stream.h"
#include "web_net.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;
using test::Bytes;
using testing::sec;

void writePcap(const std::string& path, const std::vector<test::PcapRecord>& records) {
  test::writeFile(path, test::pcapFile(records));
}

constexpr std::uint32_t kClient = 0xcb007107;   // 203.0.113.7
constexpr std::uint32_t kScanner = 0xc6336409;  // 198.51.100.9
constexpr std::uint32_t kServer = 0x0a000005;   // 10.0.0.5
constexpr std::uint32_t kDns = 0xc0000201;      // 192.0.2.1
constexpr std::int64_t kT0 = 1714554000LL * 1000000000;

Bytes tcp(std::uint32_t src, std::uint16_t sport, std::uint32_t dst, std::uint16_t dport, std::uint8_t flags) {
  test::Ipv4 h;
  h.src = src;
  h.dst = dst;
  return test::ethernet(0x0800, test::ipv4(h, test::tcpHeader(sport, dport, flags)));
}

Bytes udp(std::uint32_t src, std::uint16_t sport, std::uint32_t dst, std::uint16_t dport) {
  test::Ipv4 h;
  h.src = src;
  h.dst = dst;
  h.proto = 17;
  return test::ethernet(0x0800, test::ipv4(h, test::udpHeader(sport, dport, 8)));
}

Bytes fragment(bool first) {
  test::Ipv4 h;
  h.src = kClient;
  h.dst = kServer;
  h.id = 0x55;
  h.moreFragments = first;
  h.fragOffset = first ? 0 : 100;
  return test::ethernet(0x0800, test::ipv4(h, first ? test::tcpHeader(40002, 80, testing::kSyn) : Bytes(64, 0xab)));
}

using test::webNet;

class ExplainCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("crafted.pcap");
    writePcap(path_, {
                         {kT0, tcp(kClient, 40000, kServer, 22, testing::kSyn)},                           // 1
                         {kT0 + sec(1), tcp(kServer, 22, kClient, 40000, testing::kSyn | testing::kAck)},  // 2
                         {kT0 + sec(2), tcp(kScanner, 40001, kServer, 3389, testing::kSyn)},               // 3
                         {kT0 + sec(3), tcp(kScanner, 40001, kServer, 3389, testing::kSyn)},               // 4
                         {kT0 + sec(4), udp(kServer, 5000, kDns, 53)},                                     // 5
                         {kT0 + sec(40), udp(kServer, 5000, kDns, 53)},                                    // 6
                         {kT0 + sec(41), fragment(true)},                                                  // 7
                         {kT0 + sec(41.001), fragment(false)},                                             // 8
                     });
  }

  // Runs the evaluation to frame N, as the command line does; the text of explainFrame.
  std::string explain(std::uint64_t frame, std::shared_ptr<const Network> after = nullptr,
                      std::optional<std::string> at = std::nullopt, FrameFacts* factsOut = nullptr) {
    auto cap = openCaptures({path_});
    EXPECT_TRUE(cap.ok());
    ExplainRunOptions run;
    run.frame = frame;
    if (at) run.at = *parseTimeSpec(*at);
    ExplainEvaluation ev(webNet(true), std::move(after), run);
    CaptureStream<1> stream(**cap, ev.planner(),
                            {.thread = false,
                             .copyBytes = false,
                             .decap = {},
                             .shard = std::nullopt,
                             .indexedWhole = std::nullopt,
                             .readWhole = {}});
    Pass pass(stream, ev);
    while (!ev.done()) {
      auto more = pass.step();
      EXPECT_TRUE(more.ok());
      if (!more || !*more) break;
    }
    EXPECT_TRUE(ev.done());
    FrameFacts f = ev.facts();
    f.capture = "crafted.pcap";
    if (factsOut) *factsOut = f;
    auto text = explainFrame(ev.network(), f, {});
    EXPECT_TRUE(text.ok()) << (text ? "" : text.error().toString());
    return text ? *text : "";
  }

  test::TempDir dir_{"sgsim-explain"};
  std::string path_;
};

TEST_F(ExplainCapture, NewFlowIsDecidedByTheRules) {
  FrameFacts f;
  const std::string t = explain(1, nullptr, std::nullopt, &f);
  EXPECT_EQ(f.history[0].state, CheckHistory::State::New);
  EXPECT_NE(t.find("Frame 1 of crafted.pcap (+0.000s"), std::string::npos) << t;
  EXPECT_NE(t.find("state: new flow"), std::string::npos) << t;
  EXPECT_NE(t.find("=> #2 sgr-ssh"), std::string::npos) << t;
  EXPECT_NE(t.find("Result: ACCEPT (rule)"), std::string::npos) << t;
}

TEST_F(ExplainCapture, AReplyIsEstablishedSinceTheFrameThatOpenedIt) {
  FrameFacts f;
  const std::string t = explain(2, nullptr, std::nullopt, &f);
  EXPECT_EQ(f.history[0].state, CheckHistory::State::Established);
  EXPECT_EQ(f.history[0].sinceFrame, 1u);
  EXPECT_NE(t.find("state: established since frame 1 (+0.000s), whose packet was accepted at eni-web ingress by "
                   "rule sgr-ssh"),
            std::string::npos)
      << t;
  // The egress rules alone would accept it too (the basic default): the walk is shown, not used.
  EXPECT_NE(t.find("the rules are not consulted for this packet"), std::string::npos) << t;
  EXPECT_NE(t.find("Result: ACCEPT (established)"), std::string::npos) << t;
}

TEST_F(ExplainCapture, ARetryIsBlockedSinceTheFirstDroppedPacket) {
  FrameFacts f;
  const std::string t = explain(4, nullptr, std::nullopt, &f);
  EXPECT_EQ(f.history[0].state, CheckHistory::State::Blocked);
  EXPECT_EQ(f.history[0].sinceFrame, 3u);
  EXPECT_NE(t.find("state: blocked since frame 3 (+2.000s), whose packet was dropped at eni-web ingress by the "
                   "implicit default"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("Result: DROP (blocked)"), std::string::npos) << t;
}

TEST_F(ExplainCapture, AnEntryThatTimedOutIsSaidToHaveExpired) {
  FrameFacts f;
  const std::string t = explain(6, nullptr, std::nullopt, &f);
  EXPECT_EQ(f.history[0].state, CheckHistory::State::Expired);
  EXPECT_EQ(f.history[0].sinceFrame, 5u);
  EXPECT_EQ(f.history[0].timeoutS, 30u);
  EXPECT_NE(t.find("expired after 36.000 s of silence since frame 5 (+4.000s) (entries of this protocol last 30 s)"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("Result: ACCEPT (default)"), std::string::npos) << t;
}

TEST_F(ExplainCapture, ALaterFragmentTakesItsFirstFragmentsFate) {
  FrameFacts f;
  const std::string t = explain(8, nullptr, std::nullopt, &f);
  EXPECT_EQ(f.history[0].state, CheckHistory::State::Fragment);
  EXPECT_EQ(f.history[0].sinceFrame, 7u);
  EXPECT_NE(t.find("a later IP fragment (id 85)"), std::string::npos) << t;
  EXPECT_NE(t.find("a later IP fragment of frame 7"), std::string::npos) << t;
  EXPECT_NE(t.find("walked below as that fragment: tcp 203.0.113.7:40002 > 10.0.0.5:80"), std::string::npos) << t;
  EXPECT_NE(t.find("=> #1 sgr-http"), std::string::npos) << t;
}

TEST_F(ExplainCapture, AChangeAtAnInstantCutsTheConnection) {
  FrameFacts f;
  const std::string t = explain(2, webNet(false), "+0.5", &f);
  EXPECT_EQ(f.history[0].state, CheckHistory::State::Cut);
  EXPECT_EQ(f.history[0].sinceFrame, 1u);
  EXPECT_NE(t.find("cut by the change at --at"), std::string::npos) << t;
  EXPECT_NE(t.find("table: the model after the requests, applied at +0.500s"), std::string::npos) << t;
  EXPECT_NE(t.find("Result: DROP (blocked)"), std::string::npos) << t;
  // Before the instant, the table as it is decides, and says so.
  const std::string early = explain(1, webNet(false), "+0.5");
  EXPECT_NE(early.find("table: the model as it is: the requests apply at +0.500s"), std::string::npos) << early;
  EXPECT_NE(early.find("Result: ACCEPT (rule)"), std::string::npos) << early;
}

// ---- explain --flow-log F --record N ----------------------------------------------------------------------------

// A crafted flow log at eni-web (t = 1714554000 + s). Line 1 is the header.
const char* kLogHeader =
    "eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,packets,bytes,start,end,log-status,action,tcp-flags\n";
const char* kLog =
    "eni-web,203.0.113.7,40000,10.0.0.5,22,6,in,10,1000,1714554000,1714554010,OK,ACCEPT,2\n"    // 2 opens SSH
    "eni-web,10.0.0.5,22,203.0.113.7,40000,6,out,8,4000,1714554000,1714554010,OK,ACCEPT,18\n"   // 3 its reply
    "eni-web,198.51.100.9,40001,10.0.0.5,3389,6,in,2,120,1714554002,1714554003,OK,REJECT,2\n"   // 4 dropped
    "eni-web,10.0.0.5,3389,198.51.100.9,40001,6,out,1,60,1714554002,1714554003,OK,REJECT,20\n"  // 5 blocked
    "eni-web,10.0.0.5,5000,192.0.2.1,53,17,out,1,80,1714554004,1714554005,OK,ACCEPT,\n"         // 6 DNS
    "eni-web,-,-,-,-,-,-,-,-,1714554006,1714554060,NODATA,-,-\n"                                // 7 NODATA
    "eni-web,10.0.0.5,5000,192.0.2.1,53,17,out,1,80,1714554060,1714554061,OK,ACCEPT,\n"         // 8 expired
    "eni-web,203.0.113.7,40000,10.0.0.5,22,6,in,5,500,1714554020,1714554030,OK,REJECT,16\n";    // 9 drift

class ExplainRecord : public ::testing::Test {
 protected:
  Result<std::string> explain(std::uint64_t line, FrameFacts* factsOut = nullptr,
                              std::shared_ptr<const Network> after = nullptr) {
    auto r = FlowLogReader::fromText(std::string(kLogHeader) + kLog, "crafted.csv");
    EXPECT_TRUE(r);
    std::vector<std::unique_ptr<FlowLogReader>> readers;
    readers.push_back(std::move(*r));
    MergedFlowLog logs(std::move(readers));
    auto before = webNet(true);
    ExplainRunOptions run;
    run.frame = line;
    ExplainEvaluation ev(before, std::move(after), run);
    RecordStream<1> stream(logs, *before, ev.planner(), false);
    Pass pass(stream, ev);
    while (!ev.done()) {
      auto more = pass.step();
      EXPECT_TRUE(more.ok());
      if (!more || !*more) break;
    }
    if (!ev.done()) return Error{"crafted.csv", "record not delivered"};
    FrameFacts f = ev.facts();
    f.capture = "crafted.csv";
    f.files = {"crafted.csv"};
    if (factsOut) *factsOut = f;
    return explainRecord(ev.network(), f, {});
  }
  static bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
};

TEST_F(ExplainRecord, TheOpenerIsANewConversationDecidedByTheRules) {
  FrameFacts f;
  auto t = explain(2, &f);
  ASSERT_TRUE(t) << t.error().toString();
  EXPECT_EQ(f.history[0].state, CheckHistory::State::New);
  EXPECT_EQ(f.verdict.checkCount, 1);  // at its own ENI only
  EXPECT_TRUE(has(*t, "Record at line 2 of crafted.csv (+0.000s .. +10.000s): tcp 203.0.113.7:40000 > 10.0.0.5:22 [S]"))
      << *t;
  EXPECT_TRUE(has(*t, "logged at eni-web, direction in (ingress there)")) << *t;
  EXPECT_TRUE(has(*t, "10 packets, 1000 bytes, tcp-flags 2 [S]")) << *t;
  EXPECT_TRUE(has(*t, "state: new conversation")) << *t;
  EXPECT_TRUE(has(*t, "=> #2 sgr-ssh")) << *t;
  EXPECT_TRUE(has(*t, "Result: ACCEPT (rule)")) << *t;
  EXPECT_TRUE(has(*t, "Logged: ACCEPT — the model agrees with the flow log (no drift)")) << *t;
  EXPECT_TRUE(has(*t, "its verdict is the conversation's, not each packet's")) << *t;
}

TEST_F(ExplainRecord, TheReplyIsPartOfTheConversationOpenedByAnEarlierRecord) {
  FrameFacts f;
  auto t = explain(3, &f);
  ASSERT_TRUE(t) << t.error().toString();
  EXPECT_EQ(f.history[0].state, CheckHistory::State::Established);
  EXPECT_EQ(f.history[0].sinceFrame, 2u);
  EXPECT_TRUE(has(*t,
                  "state: part of the conversation opened by the record at line 2 (starting +0.000s), whose "
                  "packets were accepted at eni-web ingress by rule sgr-ssh"))
      << *t;
  EXPECT_TRUE(has(*t, "== egress at eni-web")) << *t;
  EXPECT_TRUE(has(*t, "Result: ACCEPT (established)")) << *t;
}

TEST_F(ExplainRecord, TheReplyOfADroppedRecordIsBlocked) {
  FrameFacts f;
  auto t = explain(5, &f);
  ASSERT_TRUE(t) << t.error().toString();
  EXPECT_EQ(f.history[0].state, CheckHistory::State::Blocked);
  EXPECT_EQ(f.history[0].sinceFrame, 4u);
  EXPECT_TRUE(has(*t,
                  "state: blocked since the record at line 4 (starting +2.000s), whose packets were dropped at "
                  "eni-web ingress by the implicit default"))
      << *t;
  EXPECT_TRUE(has(*t, "Result: DROP (blocked)")) << *t;
  // Logged REJECT: the model agrees.
  EXPECT_TRUE(has(*t, "Logged: REJECT — the model agrees")) << *t;
}

TEST_F(ExplainRecord, AGapLongerThanTheTimeoutFromTheEndOfTheLastRecordExpires) {
  FrameFacts f;
  auto t = explain(8, &f);
  ASSERT_TRUE(t) << t.error().toString();
  EXPECT_EQ(f.history[0].state, CheckHistory::State::Expired);
  EXPECT_EQ(f.history[0].sinceFrame, 6u);
  EXPECT_EQ(f.history[0].timeoutS, 30u);
  // Measured from the end of record 6 (+5 s) to the start of record 8 (+60 s).
  EXPECT_TRUE(has(*t,
                  "expired after 55.000 s of silence since its latest record, the record at line 6, which ended "
                  "at +5.000s (entries of this protocol last 30 s)"))
      << *t;
}

TEST_F(ExplainRecord, ALoggedRejectTheModelAcceptsIsDrift) {
  FrameFacts f;
  auto t = explain(9, &f);
  ASSERT_TRUE(t) << t.error().toString();
  // Still within the SSH conversation's entry (refreshed to +10 s; +20 s is within TCP's timeout).
  EXPECT_EQ(f.history[0].state, CheckHistory::State::Established);
  EXPECT_TRUE(has(*t, "Logged: REJECT — DRIFT: the model accepts what the cloud rejected")) << *t;
  EXPECT_TRUE(has(*t, "its latest record before this one: the record at line 3, which ended at +10.000s")) << *t;
}

TEST_F(ExplainRecord, WithAChangedTableADifferenceIsNotCalledDrift) {
  auto t = explain(2, nullptr, webNet(false));
  ASSERT_TRUE(t) << t.error().toString();
  EXPECT_TRUE(has(*t, "table: the model after the requests (--revoke/--authorize), from the first record on")) << *t;
  EXPECT_TRUE(has(*t, "Result: DROP (default)")) << *t;
  EXPECT_TRUE(has(*t, "not drift")) << *t;
  EXPECT_FALSE(has(*t, "DRIFT")) << *t;
}

TEST_F(ExplainRecord, ANoDataRecordIsNotDeliveredAndIsReadOnItsOwn) {
  EXPECT_FALSE(explain(7));  // the stream delivers no NODATA record
  test::TempDir dir{"sgsim-explain"};
  const std::string path = dir.file("log.csv");
  std::ofstream(path) << kLogHeader << kLog << "\n";
  auto l = readFlowLogLine(path, 7);
  ASSERT_TRUE(l) << l.error().toString();
  EXPECT_EQ(l->kind, FlowLogLine::Kind::NoData);
  const std::string t = explainNoVerdictLine(path, 7, *l);
  EXPECT_TRUE(has(t, "log-status NODATA")) << t;
  EXPECT_TRUE(has(t, "no verdict is made")) << t;
  EXPECT_EQ(readFlowLogLine(path, 1)->kind, FlowLogLine::Kind::Header);
  EXPECT_EQ(readFlowLogLine(path, 2)->kind, FlowLogLine::Kind::Record);
  EXPECT_EQ(readFlowLogLine(path, 10)->kind, FlowLogLine::Kind::Blank);
  auto beyond = readFlowLogLine(path, 11);
  EXPECT_EQ(beyond->kind, FlowLogLine::Kind::Beyond);
  EXPECT_EQ(beyond->lines, 10u);
}

TEST_F(ExplainRecord, ABadRecordSaysWhatIsWrong) {
  test::TempDir dir{"sgsim-explain"};
  const std::string path = dir.file("bad.csv");
  std::ofstream(path) << kLogHeader << "eni-web,203.0.113.7,40000,10.0.0.5,70000,6,in,1,60,1,2,OK,ACCEPT,2\n";
  auto l = readFlowLogLine(path, 2);
  ASSERT_TRUE(l) << l.error().toString();
  EXPECT_EQ(l->kind, FlowLogLine::Kind::Bad);
  EXPECT_TRUE(has(l->why, "dstport \"70000\" is not a port 0-65535")) << l->why;
}

TEST(RecordTarget, NamesARecordByItsLineAsTheReportsDo) {
  EXPECT_EQ(parseRecordTarget("7", {"a.csv"})->line, 7u);
  EXPECT_FALSE(parseRecordTarget("7", {"a.csv", "b.csv"}));  // ambiguous: the file must be named
  auto t = parseRecordTarget("dir/b.csv: line 12", {"dir/a.csv", "dir/b.csv"});
  ASSERT_TRUE(t) << t.error().toString();
  EXPECT_EQ(t->file, 1u);
  EXPECT_EQ(t->line, 12u);
  t = parseRecordTarget("b.csv:3", {"dir/a.csv", "dir/b.csv"});  // the base name, when unique
  ASSERT_TRUE(t);
  EXPECT_EQ(t->file, 1u);
  auto unknown = parseRecordTarget("c.csv:3", {"a.csv", "b.csv"});
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().toString().find("a.csv, b.csv") != std::string::npos) << unknown.error().toString();
  EXPECT_FALSE(parseRecordTarget("-1", {"a.csv"}));
  EXPECT_FALSE(parseRecordTarget("seven", {"a.csv"}));
}

}  // namespace
}  // namespace sgsim
