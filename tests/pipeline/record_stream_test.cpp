// Flow-log records through the stage (pipeline/record_stream.h): the session mapping of issue 10, rule by rule
// (earliest start opens; a SYN-without-ACK record settles a tie; else the well-known port is the server; a gap longer
// than the protocol's timeout starts a new connection, measured from a record's end; a record is checked at its own
// ENI only), the counts in records, packets and bytes, and drift.

#include "sgsim/pipeline/record_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../verdict/test_model.h"
#include "sgsim/pipeline/replay_evaluation.h"
#include "sgsim/pipeline/whatif_evaluation.h"

namespace sgsim {
namespace {

const char* kHeader =
    "eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,packets,bytes,start,end,log-status,action,tcp-flags\n";

// eni-web 10.0.0.5: ingress TCP 22 from the office and TCP 80 from anywhere; egress allowed (basic default).
// eni-db 10.0.0.9: ingress TCP 3306 from 10.0.0.5.
std::shared_ptr<const Network> net(bool withSsh = true) {
  using namespace testing;
  std::vector<Rule> web{rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")};
  if (withSsh) web.push_back(rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "203.0.113.0/24"));
  Model m;
  m.groups.push_back(group("sg-web", web));
  m.groups.push_back(group("sg-db", {rule("sgr-mysql", Direction::Ingress, Protocol::Tcp, "3306/3306", "10.0.0.5")}));
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, {"sg-web"}));
  m.enis.push_back(eni("eni-db", {"10.0.0.9"}, {"sg-db"}));
  return std::make_shared<Network>(std::move(m));
}

struct Line {
  std::uint64_t line;
  std::string verdict;  // "accept rule", "drop default", "accept established", …
  std::string check;    // "eni-web ingress"
};

struct Recorder : ReplayWriter {
  const Network* n = nullptr;
  std::vector<Line> lines;
  void frame(const Frame& f, const PacketKey&, const PacketVerdict& v) override {
    const Check* d = v.decidingCheck();
    std::string check;
    for (std::uint8_t i = 0; i < v.checkCount; ++i)
      check +=
          (i ? "," : "") + n->eni(static_cast<std::size_t>(v.checks[i].eni)).id + " " + toString(v.checks[i].direction);
    (void)d;
    lines.push_back({f.number, std::string(toString(v.verdict)) + " " + toString(v.reason), check});
  }
  void finish(const ReplayStats&) override {}
};

struct Outcome {
  std::vector<Line> lines;
  ReplayStats stats;
};

Outcome replay(const std::string& csv, bool thread = false, std::shared_ptr<const Network> network = net()) {
  auto r = FlowLogReader::fromText(std::string(kHeader) + csv, "t.csv");
  EXPECT_TRUE(r) << r.error().toString();
  std::vector<std::unique_ptr<FlowLogReader>> readers;
  readers.push_back(std::move(*r));
  MergedFlowLog logs(std::move(readers));
  Recorder w;
  w.n = network.get();
  ReplayContext context;
  context.network = network.get();
  ReplayEvaluation ev(network, {}, w, context);
  RecordStream<1> stream(logs, *network, ev.planner(), thread);
  Pass pass(stream, ev);
  for (;;) {
    auto more = pass.step();
    EXPECT_TRUE(more);
    if (!more || !*more) break;
  }
  EXPECT_FALSE(pass.finish());
  return {w.lines, pass.stats()};
}

TEST(RecordStream, EarliestStartOpensAndTheOtherSideFollows) {
  // The server's reply window is listed first but starts later: the client's record opens.
  const Outcome run = replay(
      "eni-web,10.0.0.5,22,203.0.113.10,40000,6,out,10,5000,101,160,OK,ACCEPT,27\n"
      "eni-web,203.0.113.10,40000,10.0.0.5,22,6,in,12,1500,100,160,OK,ACCEPT,27\n");
  ASSERT_EQ(run.lines.size(), 2u);
  EXPECT_EQ(run.lines[0].line, 3u);
  EXPECT_EQ(run.lines[0].verdict, "accept rule");
  EXPECT_EQ(run.lines[0].check, "eni-web ingress");
  EXPECT_EQ(run.lines[1].verdict, "accept established");
  EXPECT_EQ(run.lines[1].check, "eni-web egress");
}

TEST(RecordStream, SynWithoutAckSettlesATieAgainstThePortRule) {
  // Equal starts. The port rule alone would make 203.0.113.9:5000 the server (the lower port) and the out record the
  // opener, accepted by the egress default; but the in record holds a lone SYN: it opened. No rule accepts TCP
  // 8000 at eni-web, so the opener is dropped and the reply (RST+ACK) is blocked with it.
  const Outcome run = replay(
      "eni-web,10.0.0.5,8000,203.0.113.9,5000,6,out,1,60,100,100,OK,REJECT,20\n"
      "eni-web,203.0.113.9,5000,10.0.0.5,8000,6,in,2,120,100,101,OK,REJECT,2\n");
  ASSERT_EQ(run.lines.size(), 2u);
  EXPECT_EQ(run.lines[0].line, 3u);
  EXPECT_EQ(run.lines[0].verdict, "drop default");
  EXPECT_EQ(run.lines[1].verdict, "drop blocked");
  EXPECT_EQ(run.stats.flowLogCounts.driftRecords, 0u);
}

TEST(RecordStream, TiedStartsWithoutFlagsMakeTheWellKnownPortTheServer) {
  // No tcp-flags: the record to port 80 opens (accepted by sgr-http), whichever comes first in the file.
  const Outcome run = replay(
      "eni-web,10.0.0.5,80,198.18.0.7,50123,6,out,9,9000,100,110,OK,ACCEPT,\n"
      "eni-web,198.18.0.7,50123,10.0.0.5,80,6,in,7,700,100,110,OK,ACCEPT,\n");
  ASSERT_EQ(run.lines.size(), 2u);
  EXPECT_EQ(run.lines[0].line, 3u);
  EXPECT_EQ(run.lines[0].verdict, "accept rule");
  EXPECT_EQ(run.lines[1].verdict, "accept established");
}

TEST(RecordStream, AGapLongerThanTheTimeoutFromTheLastEndStartsANewConnection) {
  // UDP (30 s): a record ending at 200 keeps the entry alive for one starting at 225 (25 s after its end, though
  // 125 s after its start); one starting 31 s after that one's end is a new connection, decided by the rules again.
  const Outcome run = replay(
      "eni-web,10.0.0.5,5353,100.100.2.136,53,17,out,4,400,100,200,OK,ACCEPT,\n"
      "eni-web,100.100.2.136,53,10.0.0.5,5353,17,in,4,400,225,230,OK,ACCEPT,\n"
      "eni-web,100.100.2.136,53,10.0.0.5,5353,17,in,1,100,261,261,OK,ACCEPT,\n");
  ASSERT_EQ(run.lines.size(), 3u);
  EXPECT_EQ(run.lines[0].verdict, "accept default");  // egress: the basic group's default
  EXPECT_EQ(run.lines[1].verdict, "accept established");
  EXPECT_EQ(run.lines[2].verdict, "drop default") << "a new connection, inbound from the resolver: no rule";
  EXPECT_EQ(run.stats.flowLogCounts.driftRecords, 1u) << "the log says ACCEPT";
}

TEST(RecordStream, ARecordIsCheckedAtItsOwnEniOnly) {
  // 10.0.0.5 → 10.0.0.9:3306, logged at both ENIs: egress at eni-web (its record, out) and ingress at eni-db
  // (its record, in), one check each: the packets are not counted twice.
  const Outcome run = replay(
      "eni-web,10.0.0.5,41000,10.0.0.9,3306,6,out,5,500,100,110,OK,ACCEPT,27\n"
      "eni-db,10.0.0.5,41000,10.0.0.9,3306,6,in,5,500,100,110,OK,ACCEPT,27\n");
  ASSERT_EQ(run.lines.size(), 2u);
  EXPECT_EQ(run.lines[0].check, "eni-web egress");
  EXPECT_EQ(run.lines[0].verdict, "accept default");
  EXPECT_EQ(run.lines[1].check, "eni-db ingress");
  EXPECT_EQ(run.lines[1].verdict, "accept rule");
  EXPECT_TRUE(run.stats.warnings.empty());
}

TEST(RecordStream, ARecordAtAnUnknownEniIsCheckedByItsAddressesAndWarned) {
  const Outcome run = replay("eni-other,10.0.0.5,41000,10.0.0.9,3306,6,out,5,500,100,110,OK,ACCEPT,27\n");
  ASSERT_EQ(run.lines.size(), 1u);
  EXPECT_EQ(run.lines[0].check, "eni-web egress,eni-db ingress");
  ASSERT_EQ(run.stats.warnings.size(), 1u);
  EXPECT_EQ(run.stats.warnings[0].where, "t.csv: line 2");
  EXPECT_NE(run.stats.warnings[0].message.find("eni-id eni-other"), std::string::npos);
}

TEST(RecordStream, CountsRecordsPacketsBytesAndDriftTheSameOnOneThreadOrTwo) {
  std::string csv;
  for (int i = 0; i < 1000; ++i) {
    const std::string port = std::to_string(20000 + i);
    // Every tenth connection's opener is logged REJECT though sgr-http accepts it: drift.
    csv += "eni-web,198.18.0.7," + port + ",10.0.0.5,80,6,in,3,300," + std::to_string(100 + i) + "," +
           std::to_string(100 + i) + ",OK," + (i % 10 == 0 ? "REJECT" : "ACCEPT") + ",2\n";
    csv += "eni-web,10.0.0.5,80,198.18.0.7," + port + ",6,out,2,2000," + std::to_string(100 + i) + "," +
           std::to_string(101 + i) + ",OK,ACCEPT,18\n";
  }
  csv += "eni-web,-,-,-,-,-,-,-,-,100,160,NODATA,-,-\n";
  for (bool thread : {false, true}) {
    const Outcome run = replay(csv, thread);
    EXPECT_EQ(run.stats.frames, 2000u);
    EXPECT_EQ(run.stats.flowLogCounts.records, 2000u);
    EXPECT_EQ(run.stats.flowLogCounts.packets, 5000u);
    EXPECT_EQ(run.stats.bytes, 2'300'000u);
    EXPECT_EQ(run.stats.flowLogCounts.noData, 1u);
    EXPECT_EQ(run.stats.flowLogCounts.compared, 2000u);
    EXPECT_EQ(run.stats.flowLogCounts.driftRecords, 100u);
    EXPECT_EQ(run.stats.flowLogCounts.driftPackets, 300u);
    const auto rows = driftRanked(run.stats);
    ASSERT_EQ(rows.size(), 1u) << "one row: same ENI, rule, logged action, addresses and server port";
    EXPECT_EQ(rows[0].records, 100u);
    EXPECT_EQ(rows[0].firstLine, 2u);
    EXPECT_FALSE(rows[0].loggedAccept);
    EXPECT_EQ(rows[0].verdict, Verdict::Accept);
  }
}

// The records are handed to the evaluation where they lie in the reordering window (not copied into the ring):
// with more records than the ring holds, and the window's slots reused as it moves, every record is still seen with
// its own fields, in the same order, with one thread or two.
TEST(RecordStream, RecordsHandedOnInPlaceStayIntactOnOneThreadOrTwo) {
  std::string csv;
  const int kRecords = 12000;  // about three times what the ring holds
  for (int i = 0; i < kRecords; ++i) {
    const std::string start = std::to_string(1000 + i * 7);  // the window moves: slots are freed and reused
    const std::string eni = i % 97 == 0 ? "eni-other" : "eni-web";
    const std::string port = std::to_string(1024 + i % 50000);
    csv += eni + ",198.18." + std::to_string(i % 250) + ".7," + port + ",10.0.0.5," + (i % 3 == 0 ? "22" : "80") +
           ",6,in," + std::to_string(1 + i % 5) + ",100," + start + "," + start + ",OK,ACCEPT,2\n";
  }
  const Outcome one = replay(csv, false), two = replay(csv, true);
  ASSERT_EQ(one.lines.size(), static_cast<std::size_t>(kRecords));
  ASSERT_EQ(two.lines.size(), one.lines.size());
  for (std::size_t i = 0; i < one.lines.size(); ++i) {
    EXPECT_EQ(one.lines[i].line, i + 2) << "records keep their order (starts ascending)";
    ASSERT_EQ(two.lines[i].line, one.lines[i].line) << i;
    ASSERT_EQ(two.lines[i].verdict, one.lines[i].verdict) << i;
    ASSERT_EQ(two.lines[i].check, one.lines[i].check) << i;
  }
  std::uint64_t packets = 0;
  for (int i = 0; i < kRecords; ++i) packets += 1 + i % 5;
  for (const Outcome* o : {&one, &two}) {
    EXPECT_EQ(o->stats.flowLogCounts.records, static_cast<std::uint64_t>(kRecords));
    EXPECT_EQ(o->stats.flowLogCounts.packets, packets);
    ASSERT_EQ(o->stats.warnings.size(), 1u);  // the records at eni-other, first at line 2
    EXPECT_NE(o->stats.warnings[0].message.find(std::to_string((kRecords + 96) / 97) + " records were"),
              std::string::npos)
        << o->stats.warnings[0].message;
  }
}

TEST(RecordStream, WhatIfCountsTheRecordsPacketsAndBytes) {
  const std::string csv =
      "eni-web,203.0.113.10,40000,10.0.0.5,22,6,in,12,1500,100,160,OK,ACCEPT,27\n"
      "eni-web,10.0.0.5,22,203.0.113.10,40000,6,out,10,5000,100,160,OK,ACCEPT,27\n"
      "eni-web,198.18.0.7,50123,10.0.0.5,80,6,in,7,700,100,110,OK,ACCEPT,27\n";
  auto r = FlowLogReader::fromText(std::string(kHeader) + csv, "t.csv");
  ASSERT_TRUE(r);
  std::vector<std::unique_ptr<FlowLogReader>> readers;
  readers.push_back(std::move(*r));
  MergedFlowLog logs(std::move(readers));
  auto before = net(true), after = net(false);
  WhatIfEvaluation ev(before, after, WhatIfRunOptions{});
  RecordStream<2> stream(logs, *before, ev.planner(), true);
  Pass pass(stream, ev);
  while (true) {
    auto more = pass.step();
    ASSERT_TRUE(more);
    if (!*more) break;
  }
  ASSERT_FALSE(pass.finish());
  const auto flows = ev.ranked();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].dport, 22);
  EXPECT_EQ(flows[0].packets, 22u);
  EXPECT_EQ(flows[0].bytes, 6500u);
  EXPECT_EQ(flows[0].lastNs, 160LL * 1'000'000'000) << "the last record's end";
  EXPECT_EQ(ev.totals().changedPackets, 22u);
}

}  // namespace
}  // namespace sgsim
