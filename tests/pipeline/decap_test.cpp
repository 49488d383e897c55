// --decap vxlan on the stream (pipeline/capture_stream.h, DecapOptions): a traffic-mirror capture is judged as the
// interface's own capture would be, and what was not decapsulated (or should have been) is said.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "sample_net.h"
#include "sgsim/api/engine.h"
#include "sgsim/api/request.h"
#include "sgsim/model/model_json.h"
#include "sgsim/pipeline/capture_stream.h"
#include "sgsim/pipeline/replay_evaluation.h"
#include "sgsim/pipeline/stage.h"
#include "sgsim/pipeline/whatif_evaluation.h"
#include "sgsim/report/pcap_writer.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;

using test::source;

using test::sampleNet;
std::shared_ptr<const Network> network(const std::string& model, const char* revoke = nullptr) {
  return sampleNet(model, revoke);
}

template <class P>
void drain(P& pass) {
  for (;;) {
    auto more = pass.step();
    ASSERT_TRUE(more) << more.error().toString();
    if (!*more) return;
  }
}

struct WhatIfResult {
  WhatIfTotals totals;
  std::vector<ChangedFlow> flows;
  ReplayStats stats;
};

WhatIfResult whatIf(const std::string& capture, DecapOptions decap, bool thread = true) {
  auto captures = openCaptures({capture});
  EXPECT_TRUE(captures);
  WhatIfEvaluation whatif(network("examples/web.json"),
                          network("examples/web.json", "examples/requests/revoke_ssh.json"), WhatIfRunOptions{});
  CaptureStream<2> stream(**captures, whatif.planner(),
                          {thread, false, std::move(decap), std::nullopt, std::nullopt, {}});
  Pass pass(stream, whatif);
  drain(pass);
  EXPECT_FALSE(pass.finish());
  return {whatif.totals(), whatif.ranked(), pass.stats()};
}

// What a flow is, without where in which file it was first seen (the frame numbers of the two captures differ).
auto flowFacts(const ChangedFlow& f) {
  return std::make_tuple(f.proto, f.src.toString(), f.sport, f.dst.toString(), f.dport, f.packets, f.bytes, f.firstNs,
                         f.lastNs, f.before.eniId, f.before.ruleId, toString(f.before.reason), f.after.eniId,
                         f.after.ruleId, toString(f.after.reason));
}

class MirrorSample : public ::testing::Test {
 protected:
  // The frames of web_basic.pcap that pcaps/mirror_vxlan.pcap mirrors (its first 240 s), as a plain capture.
  void SetUp() override {
    auto web = openCaptures({source("pcaps/web_basic.pcap")});
    ASSERT_TRUE(web);
    auto out = PcapWriter::open(plain_, 1);
    ASSERT_TRUE(out);
    Frame f;
    const std::int64_t end = (1714554000LL + 240) * 1000000000LL;
    while ((*web)->next(f))
      if (f.tsNs < end) {
        ASSERT_TRUE((*out)->write(f));
        ++plainFrames_;
      }
    ASSERT_TRUE((*out)->close());
  }
  void TearDown() override { fs::remove(plain_); }

  std::string plain_ =
      (fs::temp_directory_path() / ("sgsim_decap_plain_" + std::to_string(::getpid()) + ".pcap")).string();
  std::string mirror_ = source("pcaps/mirror_vxlan.pcap");
  std::uint64_t plainFrames_ = 0;
};

TEST_F(MirrorSample, WhatIfOverTheDecapsulatedMirrorEqualsWhatIfOverThePlainCapture) {
  const WhatIfResult plain = whatIf(plain_, {});
  ASSERT_FALSE(plain.flows.empty()) << "the window holds the SSH session the revoke cuts";
  for (const bool thread : {true, false}) {
    for (const bool session : {false, true}) {
      DecapOptions decap{kVxlanPort, {}};
      if (session) decap.mirror.push_back(MirrorSession{100, 0, "eni-web"});
      const WhatIfResult mirrored = whatIf(mirror_, decap, thread);
      ASSERT_EQ(mirrored.flows.size(), plain.flows.size());
      for (std::size_t i = 0; i < plain.flows.size(); ++i)
        EXPECT_EQ(flowFacts(mirrored.flows[i]), flowFacts(plain.flows[i])) << i;
      EXPECT_EQ(mirrored.totals.changedPackets, plain.totals.changedPackets);
      EXPECT_EQ(mirrored.totals.changedBytes, plain.totals.changedBytes);
      EXPECT_EQ(mirrored.totals.cut, plain.totals.cut);
      EXPECT_EQ(mirrored.totals.opened, plain.totals.opened);
      // Every mirrored frame, and the collector's two ARP frames evaluated as themselves (and said so).
      EXPECT_EQ(mirrored.stats.frames, plainFrames_ + 2);
      EXPECT_EQ(mirrored.stats.bytes - plain.stats.bytes, 60u + 60u) << "inner frames count their own length";
      EXPECT_EQ(mirrored.stats.notIp.at("ARP"), 2u);
      ASSERT_EQ(mirrored.stats.warnings.size(), 1u);
      EXPECT_EQ(mirrored.stats.warnings[0].where, "--decap vxlan");
      EXPECT_EQ(mirrored.stats.warnings[0].message,
                "2 frames were not VXLAN to port 4789 and were evaluated as themselves: 2 not UDP to the VXLAN port "
                "(first: frame 1)");
    }
  }
}

TEST_F(MirrorSample, WithoutDecapTheMirrorIsNoticedAndTheFlagNamed) {
  const WhatIfResult asIs = whatIf(mirror_, {});
  EXPECT_TRUE(asIs.flows.empty());
  EXPECT_EQ(asIs.stats.byOutcome.at({Verdict::None, Reason::Unmodeled}), plainFrames_);
  ASSERT_EQ(asIs.stats.warnings.size(), 1u);
  EXPECT_EQ(asIs.stats.warnings[0].where, mirror_);
  EXPECT_NE(asIs.stats.warnings[0].message.find("Add --decap vxlan"), std::string::npos)
      << asIs.stats.warnings[0].message;
  EXPECT_EQ(asIs.stats.warnings[0].message.rfind(std::to_string(plainFrames_) + " frames of " +
                                                     std::to_string(plainFrames_ + 2) + " look like traffic-mirror",
                                                 0),
            0u);
  // The plain capture, with no VXLAN in it, gets no such warning.
  EXPECT_TRUE(whatIf(plain_, {}).stats.warnings.empty());
}

TEST_F(MirrorSample, AnotherPortDecapsulatesNothingAndSaysWhichPortToGive) {
  const WhatIfResult wrongPort = whatIf(mirror_, DecapOptions{8472, {}});
  EXPECT_TRUE(wrongPort.flows.empty());
  ASSERT_EQ(wrongPort.stats.warnings.size(), 1u);
  EXPECT_EQ(wrongPort.stats.warnings[0].where, "--decap vxlan:8472");
  EXPECT_NE(wrongPort.stats.warnings[0].message.find("give it as --decap vxlan:PORT"), std::string::npos);
}

// A VNI no --mirror names is planned by its inner addresses, as without sessions, and named in a warning.
TEST_F(MirrorSample, AnUnmappedVniIsCheckedByItsAddressesAndNamed) {
  const WhatIfResult plain = whatIf(plain_, {});
  const WhatIfResult other = whatIf(mirror_, DecapOptions{kVxlanPort, {{7, 0, "eni-web"}}});
  ASSERT_EQ(other.flows.size(), plain.flows.size());
  for (std::size_t i = 0; i < plain.flows.size(); ++i) EXPECT_EQ(flowFacts(other.flows[i]), flowFacts(plain.flows[i]));
  ASSERT_EQ(other.stats.warnings.size(), 2u);
  EXPECT_EQ(other.stats.warnings[1].where, "--mirror");
  EXPECT_EQ(other.stats.warnings[1].message.rfind(
                "VNI 100 (" + std::to_string(plainFrames_) + " frames, first: frame 3) has no --mirror mapping", 0),
            0u)
      << other.stats.warnings[1].message;
}

// A session mapped to an interface whose addresses its inner packets do not hold: checked nowhere, and counted.
TEST_F(MirrorSample, ASessionOfAnotherInterfaceChecksNothingAndSaysSo) {
  auto captures = openCaptures({mirror_});
  ASSERT_TRUE(captures);
  auto net = network("examples/two_tier.json");
  std::int32_t db = -1;
  for (std::size_t i = 0; i < net->eniCount(); ++i)
    if (net->eni(i).id == "eni-db") db = static_cast<std::int32_t>(i);
  ASSERT_GE(db, 0);
  struct NullWriter : ReplayWriter {
    void frame(const Frame&, const PacketKey&, const PacketVerdict&) override {}
    void finish(const ReplayStats&) override {}
  } writer;
  ReplayEvaluation replay(net, EvalOptions{}, writer, ReplayContext{});
  CaptureStream<1> stream(
      **captures, replay.planner(),
      {true, false, DecapOptions{kVxlanPort, {{100, db, "eni-db"}}}, std::nullopt, std::nullopt, {}});
  Pass pass(stream, replay);
  drain(pass);
  EXPECT_FALSE(pass.finish());
  const ReplayStats& s = pass.stats();
  EXPECT_EQ(s.byOutcome.at({Verdict::None, Reason::Unmodeled}), plainFrames_);
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_EQ(s.warnings[1].where, "--mirror 100=eni-db");
  EXPECT_EQ(s.warnings[1].message.rfind(std::to_string(plainFrames_) + " inner packets of VNI 100 have neither address "
                                                                       "of eni-db (first: frame 3)",
                                        0),
            0u)
      << s.warnings[1].message;
}

}  // namespace
}  // namespace sgsim
