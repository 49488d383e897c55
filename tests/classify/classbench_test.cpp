// The ClassBench loader reads the public filter sets correctly, and the fast classifier agrees with the
// linear first-match scan on their header traces. The corpus lives outside the project
// ($SGSIM_SHARED_DIR/corpus/classbench); without it these tests skip, and fail under CI (tests/shared_corpus.h).
#include "sgsim/classify/classbench.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <span>
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

// Which table agreeOnTrace builds: the set as it is, mapped into IPv6 (classbench.h), or both families in one
// table (each rule's IPv4 box and its Spread48 IPv6 box, one rank; every header asked in both families).
enum class Family6 { V4, Fixed64, Spread48, Mixed };

// Compares fast with linear on the trace's headers; `sample` > 0 checks a seeded random subset of that
// size (the linear oracle costs ~n rule checks per header, too slow for 10k × 90k in a debug build).
void agreeOnTrace(const std::string& rules, const std::string& trace, std::size_t sample,
                  Family6 family = Family6::V4) {
  SGSIM_NEED_CORPUS("classbench/" + rules);
  SGSIM_NEED_CORPUS("classbench/" + trace);
  const fs::path dir = corpus();
  auto boxes = loadClassBenchRules((dir / rules).string());
  ASSERT_TRUE(boxes.ok()) << boxes.error().toString();
  auto keys = loadClassBenchTrace((dir / trace).string());
  ASSERT_TRUE(keys.ok()) << keys.error().toString();
  ASSERT_FALSE(keys->empty());
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
  // The headers to ask, in the table's family (both, for the mixed table).
  std::vector<ClassifyKey> asked;
  if (family == Family6::Fixed64 || family == Family6::Spread48) {
    const auto mapping = family == Family6::Fixed64 ? ClassBenchV6::Fixed64 : ClassBenchV6::Spread48;
    for (RuleBox& b : *boxes) b = toIpv6(b, mapping);
    for (std::size_t i : picks) asked.push_back(toIpv6((*keys)[i], mapping));
  } else {
    for (std::size_t i : picks) asked.push_back((*keys)[i]);
    if (family == Family6::Mixed) {
      const std::size_t n = boxes->size();
      for (std::size_t i = 0; i < n; ++i) boxes->push_back(toIpv6((*boxes)[i], ClassBenchV6::Spread48));
      for (std::size_t i : picks) asked.push_back(toIpv6((*keys)[i], ClassBenchV6::Spread48));
    }
  }
  LinearClassifier linear(*boxes);
  FastClassifier fast(*boxes);
  // The batch classify too, in bursts of 256 (dpdk-test-acl's default, as in bench/classify_bench).
  std::vector<std::uint32_t> batched(asked.size());
  for (std::size_t i = 0; i < asked.size(); i += 256) {
    const std::size_t m = std::min<std::size_t>(256, asked.size() - i);
    fast.classify(std::span<const ClassifyKey>(asked.data() + i, m), std::span<std::uint32_t>(batched.data() + i, m));
  }
  std::size_t unmatched = 0;
  for (std::size_t j = 0; j < asked.size(); ++j) {
    const auto want = linear.classify(asked[j]);
    unmatched += want == kNoMatch;
    ASSERT_EQ(fast.classify(asked[j]), want)
        << trace << " header " << picks[j % picks.size()] + 1 << " family " << int(asked[j].family);
    ASSERT_EQ(batched[j], want) << "batch: " << trace << " header " << picks[j % picks.size()] + 1 << " family "
                                << int(asked[j].family);
    if (want != kNoMatch) {
      ASSERT_EQ(linear.boxes()[want].family, asked[j].family);
    }
  }
  // Every trace header was generated from some rule, so a miss means the loader (or the mapping) misread a field.
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

// The sets mapped into IPv6 (both mappings of classbench.h) and both families in one table: the IPv6 tables
// give the linear scan's answer on every distinct header.
TEST(ClassBench, FastIpv6AgreesWithLinearOnEveryHeader) {
  for (const char* set : {"1k/acl1_1k", "1k/fw1_1k", "1k/ipc1_1k", "10k/fw1_10k", "10k/acl2_10k", "10k/ipc1_10k"})
    for (Family6 f : {Family6::Fixed64, Family6::Spread48}) {
      SCOPED_TRACE(std::string(set) + (f == Family6::Fixed64 ? " Fixed64" : " Spread48"));
      agreeOnTrace(set, std::string(set) + "_trace", 0, f);
    }
}

TEST(ClassBench, FastMixedFamiliesAgreeWithLinearOnEveryHeader) {
  for (const char* set : {"1k/acl1_1k", "1k/fw1_1k", "1k/ipc1_1k", "10k/fw1_10k", "10k/acl2_10k", "10k/ipc1_10k"})
    agreeOnTrace(set, std::string(set) + "_trace", 0, Family6::Mixed);
}

// The mappings keep containment: a few prefixes and addresses written out.
TEST(ClassBench, Ipv6MappingsKeepContainment) {
  RuleBox b;
  b.src = *Cidr::parse("10.1.2.0/24");
  b.dst = *Cidr::parse("0.0.0.0/0");
  const RuleBox f = toIpv6(b, ClassBenchV6::Fixed64);
  EXPECT_EQ(f.family, Family::V6);
  EXPECT_EQ(f.src.toString(), "2001:db8::a01:200:0:0/88");
  EXPECT_EQ(f.dst.toString(), "2001:db8::/64");
  const RuleBox s = toIpv6(b, ClassBenchV6::Spread48);
  EXPECT_EQ(s.src.toString(), "2001:db8:a01:0:200::/72");
  EXPECT_EQ(s.dst.toString(), "2001:db8::/32");
  b.src = *Cidr::parse("10.0.0.0/8");
  EXPECT_EQ(toIpv6(b, ClassBenchV6::Spread48).src.toString(), "2001:db8:a00::/40");
  // Every address of a few v4 prefixes' edges (and one past them) keeps its side of each prefix.
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    const auto p = Cidr::of(IpAddr::v4(static_cast<std::uint32_t>(rng())), static_cast<int>(rng() % 33));
    for (IpAddr a : {p.base, p.last(), IpAddr::v4(p.base.v4Value() - 1), IpAddr::v4(p.last().v4Value() + 1),
                     IpAddr::v4(static_cast<std::uint32_t>(rng()))})
      for (ClassBenchV6 m : {ClassBenchV6::Fixed64, ClassBenchV6::Spread48}) {
        RuleBox r;
        r.src = r.dst = p;
        const RuleBox r6 = toIpv6(r, m);
        ClassifyKey k;
        k.src = k.dst = a;
        EXPECT_EQ(r6.src.contains(toIpv6(k, m).src), p.contains(a)) << p.toString() << " " << a.toString();
      }
  }
}

}  // namespace
}  // namespace sgsim
