// The evaluation stage (pipeline/stage.h) on its own: when an evaluation begins and with which observation (the
// time origin), what is accounted and under which verdict, each source's span, how source errors and the
// evaluations' refusals end a pass; then the capture stream and the two evaluations of today (replay, whatif)
// over captures written here byte by byte.

#include "sgsim/pipeline/stage.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "../decode/frame_builder.h"
#include "../temp_files.h"
#include "../verdict/test_model.h"
#include "sgsim/capture/capture_reader.h"
#include "sgsim/pipeline/capture_stream.h"
#include "sgsim/pipeline/replay_evaluation.h"
#include "sgsim/pipeline/whatif_evaluation.h"
#include "web_net.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;
using test::Bytes;
using testing::sec;

// ---- the Pass alone, over a stream held in memory ----------------------------------------------------------

struct FakeItem {
  Frame frame;
  PacketKey key;
  BasicPacketPlan<1> plan;
};

// Hands out its items in batches of `batchSize`, counting the calls.
struct FakeStream {
  using Item = FakeItem;
  std::vector<FakeItem> items;
  std::size_t batchSize = 4;
  std::vector<std::string> sources{"a.pcap", "b.pcap"};
  std::vector<Error> sourceErrors;
  std::vector<Error> sourceWarnings;
  std::size_t nextCalls = 0;
  std::size_t at = 0;

  std::span<const Item> next() {
    ++nextCalls;
    const std::size_t n = std::min(batchSize, items.size() - at);
    std::span<const Item> out(items.data() + at, n);
    at += n;
    return out;
  }
  static Observation<1> observation(const Item& item) { return {item.frame, item.key, item.plan}; }
  std::vector<std::string> names() const { return sources; }
  const std::vector<Error>& errors() const { return sourceErrors; }
  void account(ReplayStats& stats) const {
    stats.warnings.insert(stats.warnings.end(), sourceWarnings.begin(), sourceWarnings.end());
  }
};

FakeItem item(std::uint16_t file, std::uint64_t number, std::int64_t tsNs, std::uint32_t wireLen = 100) {
  FakeItem it;
  it.frame.fileIndex = file;
  it.frame.number = number;
  it.frame.tsNs = tsNs;
  it.frame.wireLen = wireLen;
  it.key.status = DecodeStatus::Ok;
  it.plan.flowHash[0] = number;  // tells the prefetches apart
  return it;
}

// Records what the Pass asks of it; accepts frames of even number, drops the others.
struct RecordingEvaluation {
  static constexpr int kSides = 1;
  BasicPlanner<1> planner_{nullptr, {nullptr}, {}};
  std::vector<std::string> calls;
  mutable std::vector<std::uint64_t> prefetched;
  std::optional<Error> refuseBegin, refuseFinish;
  std::size_t failAfter = 0;  // fail once this many observations were made (0: never)
  std::size_t observed = 0;
  PacketVerdict verdict;

  const BasicPlanner<1>& planner() const { return planner_; }
  bool wantsFrameBytes() const { return false; }
  std::optional<Error> begin(const Observation<1>* first, const ReplayStats& stats) {
    calls.push_back(first ? "begin " + std::to_string(first->frame.tsNs) : "begin none");
    EXPECT_EQ(stats.frames, 0u) << "begin() comes before any observation is accounted";
    return refuseBegin;
  }
  void prefetch(const BasicPacketPlan<1>& plan) const { prefetched.push_back(plan.flowHash[0]); }
  const PacketVerdict& observe(const Observation<1>& o) {
    calls.push_back("observe " + std::to_string(o.frame.number));
    ++observed;
    verdict.verdict = o.frame.number % 2 == 0 ? Verdict::Accept : Verdict::Drop;
    verdict.reason = Reason::Rule;
    return verdict;
  }
  std::optional<Error> failure() const {
    if (failAfter > 0 && observed >= failAfter) return Error{"out.pcap", "write failed"};
    return std::nullopt;
  }
  std::optional<Error> finish(ReplayStats& stats) {
    calls.push_back("finish " + std::to_string(stats.frames));
    stats.flowCapHits = 7;
    return refuseFinish;
  }
};
static_assert(StreamEvaluation<RecordingEvaluation>);

// Steps a pass to its end; the error of a step that failed, if one did.
template <class P>
std::optional<Error> drain(P& pass) {
  for (;;) {
    auto more = pass.step();
    if (!more) return more.error();
    if (!*more) return std::nullopt;
  }
}

TEST(Pass, TheFirstObservationInStreamOrderIsTheTimeOriginEvenWhenALaterOneIsOlder) {
  FakeStream stream;
  stream.items = {item(0, 1, sec(10)), item(0, 2, sec(5)), item(0, 3, sec(12))};
  RecordingEvaluation ev;
  Pass pass(stream, ev);
  EXPECT_FALSE(drain(pass));
  EXPECT_FALSE(pass.finish());
  EXPECT_EQ(ev.calls, (std::vector<std::string>{"begin " + std::to_string(sec(10)), "observe 1", "observe 2",
                                                "observe 3", "finish 3"}));
  EXPECT_EQ(pass.stats().firstNs, sec(10));  // the first read, not the oldest
  EXPECT_EQ(pass.stats().lastNs, sec(12));   // the latest
}

TEST(Pass, AStreamOfNothingBeginsOnceAtFinishWithNoObservation) {
  FakeStream stream;
  RecordingEvaluation ev;
  Pass pass(stream, ev);
  auto more = pass.step();
  ASSERT_TRUE(more);
  EXPECT_FALSE(*more);
  EXPECT_FALSE(pass.finish());
  EXPECT_EQ(ev.calls, (std::vector<std::string>{"begin none", "finish 0"}));
  ASSERT_EQ(pass.stats().perCapture.size(), 2u);  // the sources are named even when they held nothing
  EXPECT_EQ(pass.stats().perCapture[1].file, "b.pcap");
  EXPECT_EQ(pass.stats().perCapture[1].frames, 0u);
}

TEST(Pass, EveryObservationIsAccountedOnceUnderTheVerdictObserveReturnsWithEachSourcesSpan) {
  FakeStream stream;
  stream.batchSize = 2;
  stream.items = {item(0, 1, sec(1), 60), item(1, 1, sec(2), 70), item(0, 2, sec(3), 80), item(1, 2, sec(9), 90),
                  item(0, 3, sec(4), 100)};
  RecordingEvaluation ev;
  Pass pass(stream, ev);
  EXPECT_FALSE(drain(pass));
  EXPECT_FALSE(pass.finish());
  const ReplayStats& s = pass.stats();
  EXPECT_EQ(s.frames, 5u);
  EXPECT_EQ(s.bytes, 400u);
  // Frame numbers 1, 1, 3 are dropped, 2, 2 accepted (RecordingEvaluation).
  EXPECT_EQ(s.byOutcome.at({Verdict::Drop, Reason::Rule}), 3u);
  EXPECT_EQ(s.byOutcome.at({Verdict::Accept, Reason::Rule}), 2u);
  ASSERT_EQ(s.perCapture.size(), 2u);
  EXPECT_EQ(s.perCapture[0].file, "a.pcap");
  EXPECT_EQ(s.perCapture[0].frames, 3u);
  EXPECT_EQ(s.perCapture[0].firstNs, sec(1));
  EXPECT_EQ(s.perCapture[0].lastNs, sec(4));
  EXPECT_EQ(s.perCapture[1].frames, 2u);
  EXPECT_EQ(s.perCapture[1].firstNs, sec(2));
  EXPECT_EQ(s.perCapture[1].lastNs, sec(9));
  EXPECT_EQ(s.flowCapHits, 7u);  // the evaluation's finish() completes the accounting
}

TEST(Pass, SourceErrorsReachTheAccountingAtFinishAfterEverythingReadBeforeThem) {
  FakeStream stream;
  stream.items = {item(0, 1, sec(1)), item(0, 2, sec(2))};
  stream.sourceErrors = {Error{"a.pcap: frame 3", "truncated record (…)"}};
  stream.sourceWarnings = {Error{"b.pcap: frame 1", "a Simple Packet Block has no timestamp"}};
  RecordingEvaluation ev;
  Pass pass(stream, ev);
  EXPECT_FALSE(drain(pass));
  EXPECT_TRUE(pass.stats().captureErrors.empty());  // only once the stream has ended and finish() took them
  EXPECT_TRUE(pass.stats().warnings.empty());
  EXPECT_FALSE(pass.finish());
  ASSERT_EQ(pass.stats().captureErrors.size(), 1u);
  EXPECT_EQ(pass.stats().captureErrors[0].where, "a.pcap: frame 3");
  ASSERT_EQ(pass.stats().warnings.size(), 1u);  // the sources' warnings join the run's
  EXPECT_EQ(pass.stats().warnings[0].where, "b.pcap: frame 1");
  EXPECT_EQ(pass.stats().frames, 2u);
}

TEST(Pass, AnEvaluationThatRefusesToBeginSeesNoObservationAndNothingMoreIsRead) {
  FakeStream stream;
  stream.items = {item(0, 1, sec(1)), item(0, 2, sec(2)), item(0, 3, sec(3)), item(0, 4, sec(4)), item(0, 5, sec(5))};
  RecordingEvaluation ev;
  ev.refuseBegin = Error{"--at", "before the first frame"};
  Pass pass(stream, ev);
  auto first = pass.step();
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().toString(), "--at: before the first frame");
  auto again = pass.step();
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(stream.nextCalls, 1u);
  EXPECT_EQ(ev.calls, (std::vector<std::string>{"begin " + std::to_string(sec(1))}));
  EXPECT_EQ(pass.stats().frames, 0u);
}

TEST(Pass, AFailureMidStreamStopsThePassAtTheEndOfItsBatch) {
  FakeStream stream;
  stream.batchSize = 4;
  for (std::uint64_t n = 1; n <= 12; ++n) stream.items.push_back(item(0, n, sec(static_cast<double>(n))));
  RecordingEvaluation ev;
  ev.failAfter = 6;  // in the second batch
  Pass pass(stream, ev);
  const auto err = drain(pass);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->toString(), "out.pcap: write failed");
  EXPECT_EQ(ev.observed, 8u);  // the second batch is finished, the third is not read
  EXPECT_EQ(stream.nextCalls, 2u);
  EXPECT_EQ(pass.stats().frames, 8u);
  // A stream not read to its end has no complete list of errors (a reading thread may still be at work on it).
  stream.sourceErrors = {Error{"a.pcap: frame 13", "corrupt record (…)"}};
  pass.finish();
  EXPECT_TRUE(pass.stats().captureErrors.empty());
}

TEST(Pass, AFinishThatRefusesIsReturnedWithTheAccountingComplete) {
  FakeStream stream;
  stream.items = {item(0, 1, sec(1))};
  stream.sourceErrors = {Error{"b.pcap: frame 1", "corrupt record (…)"}};
  RecordingEvaluation ev;
  ev.refuseFinish = Error{"--at", "after the last frame"};
  Pass pass(stream, ev);
  EXPECT_FALSE(drain(pass));
  const auto refused = pass.finish();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->message, "after the last frame");
  EXPECT_EQ(pass.stats().captureErrors.size(), 1u);  // the caller still reports the bad input first
  EXPECT_EQ(pass.stats().frames, 1u);
}

TEST(Pass, PrefetchesThePlanOfTheObservationEightAheadWithinABatch) {
  FakeStream stream;
  stream.batchSize = 20;
  for (std::uint64_t n = 1; n <= 30; ++n) stream.items.push_back(item(0, n, sec(static_cast<double>(n))));
  RecordingEvaluation ev;
  Pass pass(stream, ev);
  EXPECT_FALSE(drain(pass));
  // Batch 1 holds 1..20: items 9..20 are prefetched (while 1..12 are observed); batch 2 holds 21..30: 29 and 30.
  std::vector<std::uint64_t> expected;
  for (std::uint64_t n = 9; n <= 20; ++n) expected.push_back(n);
  expected.push_back(29);
  expected.push_back(30);
  EXPECT_EQ(ev.prefetched, expected);
}

// ---- the capture stream, over files written here -----------------------------------------------------------

constexpr std::uint32_t kClient = 0xcb007107;  // 203.0.113.7
constexpr std::uint32_t kServer = 0x0a000005;  // 10.0.0.5
constexpr std::int64_t kT0 = 1714554000LL * 1000000000;

// TCP from 203.0.113.7:sport to 10.0.0.5:dport.
Bytes tcpIn(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags = testing::kSyn) {
  test::Ipv4 h;
  h.src = kClient;
  h.dst = kServer;
  return test::ethernet(0x0800, test::ipv4(h, test::tcpHeader(sport, dport, flags)));
}

using test::webNet;

TEST(CaptureStream, OpenCapturesNeedsAFileAndNamesTheOneThatCannotBeOpened) {
  auto none = openCaptures({});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().toString(), "no capture file given");
  test::TempDir dir{"sgsim-pipeline"};
  auto missing = openCaptures({dir.file("missing.pcap")});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().where, dir.file("missing.pcap"));
}

// Replay over two captures merged in time order, one of them cut short, on one thread and on two.
TEST(CaptureStream, MergedCapturesGiveOneOriginPerCaptureSpansAndTheCutCapturesErrorWithEitherThreading) {
  test::TempDir dir{"sgsim-pipeline"};
  const std::string a = dir.file("a.pcap"), b = dir.file("b.pcap");
  test::writeFile(a, test::pcapFile({{kT0 + sec(2), tcpIn(40000, 80)}, {kT0 + sec(4), tcpIn(40001, 80)}}));
  Bytes cut = test::pcapFile({{kT0 + sec(1), tcpIn(50000, 22)}, {kT0 + sec(3), tcpIn(50001, 23)}});
  cut.resize(cut.size() - 5);  // the second record is cut
  test::writeFile(b, cut);

  struct Recorder : ReplayWriter {
    std::int64_t originNs = -1;
    std::vector<std::string> frames;
    void begin(const ReplayContext& ctx) override { originNs = ctx.originNs; }
    void frame(const Frame& f, const PacketKey& k, const PacketVerdict& v) override {
      frames.push_back(std::to_string(f.fileIndex) + ":" + std::to_string(f.number) + " " + std::to_string(k.dport) +
                       " " + toString(v.verdict));
    }
    void finish(const ReplayStats&) override {}
  };
  std::vector<std::string> seen[2];
  for (bool thread : {false, true}) {
    auto captures = openCaptures({a, b});
    ASSERT_TRUE(captures);
    Recorder writer;
    ReplayEvaluation replay(webNet(true), {}, writer, ReplayContext{});
    CaptureStream<1> stream(**captures, replay.planner(), {thread, false, {}, std::nullopt, std::nullopt, {}});
    Pass pass(stream, replay);
    EXPECT_FALSE(drain(pass));
    EXPECT_FALSE(pass.finish());
    const ReplayStats& s = pass.stats();
    EXPECT_EQ(writer.originNs, kT0 + sec(1)) << "the earliest first frame of all captures";
    EXPECT_EQ(s.frames, 3u);
    ASSERT_EQ(s.perCapture.size(), 2u);
    EXPECT_EQ(s.perCapture[0].file, a);
    EXPECT_EQ(s.perCapture[0].frames, 2u);
    EXPECT_EQ(s.perCapture[0].firstNs, kT0 + sec(2));
    EXPECT_EQ(s.perCapture[1].frames, 1u);
    EXPECT_EQ(s.perCapture[1].lastNs, kT0 + sec(1));
    ASSERT_EQ(s.captureErrors.size(), 1u);
    EXPECT_EQ(s.captureErrors[0].where, b + ": frame 2");
    EXPECT_EQ(s.byOutcome.at({Verdict::Accept, Reason::Rule}), 3u);
    seen[thread ? 1 : 0] = writer.frames;
  }
  EXPECT_EQ(seen[0], (std::vector<std::string>{"1:1 22 accept", "0:1 80 accept", "0:2 80 accept"}));
  EXPECT_EQ(seen[1], seen[0]);
}

// ---- the what-if evaluation: the instant of --at against the stream ----------------------------------------

struct WhatIfRun {
  std::optional<Error> stepError, finishError;
  ReplayStats stats;
  std::optional<std::int64_t> atNs;
  std::int64_t originNs = 0;
  WhatIfTotals totals;
  std::vector<std::string> affectedFiles;
  std::uint64_t affectedFrames = 0;
};

WhatIfRun runWhatIf(const std::vector<std::string>& captures, WhatIfRunOptions options) {
  auto merged = openCaptures(captures);
  EXPECT_TRUE(merged);
  WhatIfEvaluation whatif(webNet(true), webNet(false), std::move(options));
  CaptureStream<2> stream(**merged, whatif.planner(),
                          {true, whatif.wantsFrameBytes(), {}, std::nullopt, std::nullopt, {}});
  Pass pass(stream, whatif);
  WhatIfRun run;
  run.stepError = drain(pass);
  if (run.stepError) return run;
  run.finishError = pass.finish();
  run.stats = pass.stats();
  if (run.finishError) return run;
  run.atNs = whatif.atNs();
  run.originNs = whatif.originNs();
  run.totals = whatif.totals();
  run.affectedFiles = whatif.affectedFiles();
  run.affectedFrames = whatif.affectedFrames();
  return run;
}

TimeSpec at(const std::string& text) { return *parseTimeSpec(text, "--at"); }

class WhatIfStream : public ::testing::Test {
 protected:
  void SetUp() override {
    // SSH (revoked) at +0 and +10 s, HTTP at +5 s: the capture spans kT0 .. kT0 + 10 s.
    test::writeFile(
        path_,
        test::pcapFile({{kT0, tcpIn(50000, 22)}, {kT0 + sec(5), tcpIn(40000, 80)}, {kT0 + sec(10), tcpIn(50001, 22)}}));
    test::writeFile(empty_, test::pcapFile({}));
  }
  test::TempDir dir_{"sgsim-pipeline"};
  std::string path_ = dir_.file("web.pcap");
  std::string empty_ = dir_.file("empty.pcap");
};

TEST_F(WhatIfStream, AnOffsetCountsFromTheFirstFrameAndTheChangeAppliesFromThere) {
  WhatIfRunOptions o;
  o.at = at("+6");
  const WhatIfRun run = runWhatIf({path_}, o);
  ASSERT_FALSE(run.stepError);
  ASSERT_FALSE(run.finishError);
  EXPECT_EQ(run.originNs, kT0);
  EXPECT_EQ(run.atNs, kT0 + sec(6));
  EXPECT_EQ(run.totals.changedPackets, 1u);  // only the SSH packet after +6 s
}

TEST_F(WhatIfStream, AnInstantBeforeTheFirstFrameIsRefusedBeforeAnyFrameIsEvaluated) {
  WhatIfRunOptions o;
  o.at = at("@1714553999");
  const WhatIfRun run = runWhatIf({path_}, o);
  ASSERT_TRUE(run.stepError);
  EXPECT_EQ(run.stepError->where, "--at");
  EXPECT_NE(run.stepError->message.find("before the first frame"), std::string::npos) << run.stepError->message;
  EXPECT_NE(run.stepError->message.find("--at-outside-capture"), std::string::npos);

  o.atOutsideCapture = true;
  const WhatIfRun allowed = runWhatIf({path_}, o);
  ASSERT_FALSE(allowed.stepError);
  ASSERT_FALSE(allowed.finishError);
  EXPECT_EQ(allowed.atNs, kT0 - sec(1));
  EXPECT_EQ(allowed.totals.changedPackets, 2u);  // from the start
}

TEST_F(WhatIfStream, AnInstantAfterTheLastFrameIsRefusedOnceTheStreamHasEnded) {
  WhatIfRunOptions o;
  o.at = at("+10.5");
  const WhatIfRun run = runWhatIf({path_}, o);
  ASSERT_FALSE(run.stepError);
  ASSERT_TRUE(run.finishError);
  EXPECT_EQ(run.finishError->where, "--at");
  EXPECT_NE(run.finishError->message.find("after the last frame"), std::string::npos) << run.finishError->message;
  EXPECT_EQ(run.stats.frames, 3u);

  o.at = at("+10");  // the last frame itself is inside
  EXPECT_FALSE(runWhatIf({path_}, o).finishError);
}

TEST_F(WhatIfStream, AnyInstantOverAStreamOfNothingIsRefusedUnlessAllowedThenAnEpochOneIsStillNamed) {
  WhatIfRunOptions o;
  o.at = at("@1714554000");
  const WhatIfRun run = runWhatIf({empty_}, o);
  ASSERT_TRUE(run.finishError);
  EXPECT_EQ(run.finishError->toString(), "--at: \"@1714554000\" names no instant of the capture (" + empty_ +
                                             "), which holds no frame. Add --at-outside-capture if that is meant");
  o.atOutsideCapture = true;
  const WhatIfRun allowed = runWhatIf({empty_}, o);
  ASSERT_FALSE(allowed.finishError);
  EXPECT_EQ(allowed.atNs, kT0);
  o.at = at("+5");  // an offset from a first frame that does not exist names nothing
  EXPECT_EQ(runWhatIf({empty_}, o).atNs, std::nullopt);
}

TEST_F(WhatIfStream, TheAffectedFramesAreWrittenAndCommittedOnlyWhenTheRunIsNotRefused) {
  WhatIfRunOptions o;
  o.writeAffected = dir_.file("affected.pcap");
  const WhatIfRun run = runWhatIf({path_}, o);
  ASSERT_FALSE(run.finishError);
  EXPECT_EQ(run.affectedFrames, 2u);
  EXPECT_EQ(run.affectedFiles, std::vector<std::string>{*o.writeAffected});
  auto reread = openCaptures({*o.writeAffected});
  ASSERT_TRUE(reread);
  Frame f;
  std::vector<std::int64_t> times;
  while ((*reread)->next(f)) times.push_back(f.tsNs);
  EXPECT_EQ(times, (std::vector<std::int64_t>{kT0, kT0 + sec(10)}));

  fs::remove(*o.writeAffected);
  o.at = at("+11");  // after the last frame: refused, nothing written
  EXPECT_TRUE(runWhatIf({path_}, o).finishError);
  EXPECT_FALSE(fs::exists(*o.writeAffected));
}

}  // namespace
}  // namespace sgsim
