// The ClassBench loader reads the public filter sets correctly, and the fast classifier agrees with the
// linear first-match scan on their header traces. The corpus lives outside the project
// ($SGSIM_SHARED_DIR/corpus/classbench); without it these tests skip, and fail under CI (tests/shared_corpus.h).
#include "sgsim/classify/classbench.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <tuple>

#include "../shared_corpus.h"
#include "sgsim/classify/fast_classifier.h"
#include "sgsim/classify/linear_classifier.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;

fs::path corpus() { return test::corpusPath("classbench"); }

fs::path writeTemp(const std::string& name, const std::string& text) {
  fs::path p = fs::temp_directory_path() / ("sgsim_classbench_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}

TEST(ClassBench, LoadsRulesWithRankProtocolAndPorts) {
  auto p = writeTemp("rules",
                     "@74.8.150.250/32\t222.92.65.0/24\t0 : 65535\t1540 : 1550\t0x06/0xFF\t0x1000/0x1000\t\n"
                     "\n"
                     "@0.0.0.0/0\t10.0.0.0/8\t53 : 53\t0 : 65535\t0x00/0x00\t0x0000/0x0000\t\n");
  auto r = loadClassBenchRules(p.string());
  fs::remove(p);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  ASSERT_EQ(r->size(), 2u);
  const RuleBox& a = (*r)[0];
  EXPECT_EQ(a.src, *Cidr::parse("74.8.150.250/32"));
  EXPECT_EQ(a.dst, *Cidr::parse("222.92.65.0/24"));
  EXPECT_EQ(a.proto, 6);
  EXPECT_EQ(a.dportLo, 1540);
  EXPECT_EQ(a.dportHi, 1550);
  EXPECT_EQ(a.rank, 0u);
  const RuleBox& b = (*r)[1];
  EXPECT_EQ(b.proto, -1);
  EXPECT_EQ(b.sportLo, 53);
  EXPECT_EQ(b.sportHi, 53);
  EXPECT_EQ(b.rank, 1u);
  EXPECT_EQ(b.ruleIndex, 1u);
}

TEST(ClassBench, RejectsPartialProtocolMaskNamingTheLine) {
  auto p = writeTemp("badproto",
                     "@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x06/0xFF\t0x0000/0x0000\t\n"
                     "@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x06/0xF0\t0x0000/0x0000\t\n");
  auto r = loadClassBenchRules(p.string());
  fs::remove(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().where.find(":2"), std::string::npos) << r.error().toString();
}

TEST(ClassBench, RejectsMalformedRulesAndTraces) {
  for (const char* bad : {"74.8.150.250/32\t0.0.0.0/0\t0 : 1\t0 : 1\t0x06/0xFF\t\n",     // no '@'
                          "@74.8.150.250/33\t0.0.0.0/0\t0 : 1\t0 : 1\t0x06/0xFF\t\n",    // prefix too long
                          "@1.2.3.4/32\t0.0.0.0/0\t9 : 1\t0 : 1\t0x06/0xFF\t\n",         // inverted range
                          "@1.2.3.4/32\t0.0.0.0/0\t0 : 1\t0 : 70000\t0x06/0xFF\t\n"}) {  // port overflow
    auto p = writeTemp("bad", bad);
    auto r = loadClassBenchRules(p.string());
    fs::remove(p);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto p = writeTemp("badtrace", "1 2 3 4 6 0 0\n1 2 3 70000 6 0 0\n");
  auto t = loadClassBenchTrace(p.string());
  fs::remove(p);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().where.find(":2"), std::string::npos);
  EXPECT_FALSE(loadClassBenchRules("/nonexistent/rules").ok());
}

TEST(ClassBench, LoadsTraceAsHostOrderKeys) {
  auto p = writeTemp("trace", "1923697128\t2273746465\t0\t1221\t6\t4294967295\t261\n");
  auto t = loadClassBenchTrace(p.string());
  fs::remove(p);
  ASSERT_TRUE(t.ok()) << t.error().toString();
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].src, IpAddr::v4(1923697128u));
  EXPECT_EQ((*t)[0].dst.toString(), "135.134.158.33");
  EXPECT_EQ((*t)[0].dport, 1221);
  EXPECT_EQ((*t)[0].proto, 6);
}

// Compares fast with linear on the trace's headers; `sample` > 0 checks a seeded random subset of that
// size (the linear oracle costs ~n rule checks per header, too slow for 10k × 90k in a debug build).
void agreeOnTrace(const std::string& rules, const std::string& trace, std::size_t sample) {
  SGSIM_NEED_CORPUS("classbench/" + rules);
  SGSIM_NEED_CORPUS("classbench/" + trace);
  const fs::path dir = corpus();
  auto boxes = loadClassBenchRules((dir / rules).string());
  ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
  auto keys = loadClassBenchTrace((dir / trace).string());
  ASSERT_TRUE(keys.ok()) << keys.error().toString();
  ASSERT_FALSE(keys->empty());
  LinearClassifier linear(*boxes);
  FastClassifier fast(*boxes);
  std::vector<std::size_t> picks;
  if (sample == 0 || sample >= keys->size()) {
    // Traces repeat headers (Pareto locality): checking each distinct header once covers every line.
    std::set<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>> seen;
    for (std::size_t i = 0; i < keys->size(); ++i) {
      const ClassifyKey& k = (*keys)[i];
      const std::uint64_t rest = std::uint64_t{k.sport} << 24 | std::uint64_t{k.dport} << 8 | k.proto;
      if (seen.emplace(k.src.lo, k.dst.lo, rest).second) picks.push_back(i);
    }
  } else {
    std::mt19937_64 rng(20261123);
    for (std::size_t i = 0; i < sample; ++i) picks.push_back(rng() % keys->size());
  }
  std::size_t unmatched = 0;
  for (std::size_t i : picks) {
    const auto want = linear.classify((*keys)[i]);
    unmatched += want == kNoMatch;
    ASSERT_EQ(fast.classify((*keys)[i]), want) << trace << " header " << i + 1;
  }
  // Every trace header was generated from some rule, so a miss means the loader misread a field.
  EXPECT_EQ(unmatched, 0u) << trace;
}

TEST(ClassBench, Fast1kAgreesWithLinearOnEveryHeader) {
  for (const char* set : {"acl1_1k", "fw1_1k", "ipc1_1k"})
    agreeOnTrace(std::string("1k/") + set, std::string("1k/") + set + "_trace", 0);
}

TEST(ClassBench, Fast10kAgreesWithLinearOnEveryHeader) {
  for (const char* set : {"fw1_10k", "acl2_10k", "ipc1_10k"})
    agreeOnTrace(std::string("10k/") + set, std::string("10k/") + set + "_trace", 0);
}

// These sets take the large-partition path (tuneFrom): its chosen configuration is checked here.
TEST(ClassBench, FastLargeSetsAgreeWithLinearOnSampledHeaders) {
  agreeOnTrace("100k/acl1_100k", "100k/acl1_100k_corner_trace", 1000);
  agreeOnTrace("100k/fw1_100k", "100k/fw1_100k_corner_trace", 1000);
  agreeOnTrace("100k/ipc1_50k", "100k/ipc1_50k_corner_trace", 1000);
}

}  // namespace
}  // namespace sgsim
