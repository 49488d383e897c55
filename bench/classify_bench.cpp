// Classification speed on the ClassBench sets: linear scan vs the fast classifier (TupleMerge, and plain
// tuple-space search for comparison), ns per lookup over the trace headers with no flow cache, plus the
// time to build a table (a revoke rebuilds one). Sets missing from ../shared/corpus/classbench are skipped.
//
//   build-fast-rel/bench/classify_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// The linear scan runs over every header of the 1k and 10k sets, and over the first kLinearHeaders headers
// of the larger ones (a 50k-rule scan of 100k headers takes minutes); every run reports ns per header
// ("ns/lookup": thread CPU time of the timed loop over the lookups made in it; "wall ns/lookup": the same
// loop's wall time, which is what dpdk-test-acl reports). bench/classify_vs_dpdk_sets.sh alternates this
// program with dpdk-test-acl on every set.
//
// IPv6 (the 1k and 10k sets, mapped by classbench.h's toIpv6: "/fixed64" or "/spread48"): fast6/, linear6/,
// rebuild_after_revoke6/; v6_vs_v4/ runs the IPv4 set's trace and the mapped set's trace one after the other in
// every iteration and reports both and their ratio (v6/v4), so that load from other processes hits both alike;
// mixed/ is one table of both families (each rule's IPv4 box and its spread48 box) asked each header in both.
//
// batch/SET: the fast/ lookups through the batch API, classify(keys, out), in bursts of 256 keys (what
// dpdk-test-acl does: rte_acl_classify() on bursts of --tracestep keys, 256 by default); fast/SET stays the
// one-at-a-time figure. verify/: see registerVerify (SGSIM_CLASSIFY_VERIFY=1).
#include <benchmark/benchmark.h>
#include <time.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "sgsim/classify/classbench.h"
#include "sgsim/classify/fast_classifier.h"
#include "sgsim/classify/linear_classifier.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kLinearHeaders = 10000;
constexpr std::size_t kLinearAllHeadersUpTo = 20000;  // rules

struct Set {
  std::string name;
  std::vector<RuleBox> rules;
  std::vector<ClassifyKey> trace;
};

fs::path corpusDir() {
  const char* env = std::getenv("SGSIM_SHARED_DIR");
  return fs::path(env != nullptr ? env : SGSIM_DEFAULT_SHARED_DIR) / "corpus" / "classbench";
}

// acl1_10k ships without a trace: make one the way the corpus made its 100k traces (a random corner of a
// random rule, seed 1), so the set still gets a row.
std::vector<ClassifyKey> cornerTrace(const std::vector<RuleBox>& rules, std::size_t n) {
  std::mt19937_64 rng(1);
  std::vector<ClassifyKey> out;
  for (std::size_t i = 0; i < n; ++i) {
    const RuleBox& b = rules[rng() % rules.size()];
    ClassifyKey k;
    k.src = rng() & 1 ? b.src.base : b.src.last();
    k.dst = rng() & 1 ? b.dst.base : b.dst.last();
    k.sport = rng() & 1 ? b.sportLo : b.sportHi;
    k.dport = rng() & 1 ? b.dportLo : b.dportHi;
    k.proto = b.proto >= 0 ? static_cast<std::uint8_t>(b.proto) : static_cast<std::uint8_t>(rng() & 0xFF);
    out.push_back(k);
  }
  return out;
}

std::vector<Set> loadSets() {
  const fs::path dir = corpusDir();
  const std::pair<const char*, const char*> files[] = {
      {"1k/acl1_1k", "1k/acl1_1k_trace"},
      {"1k/fw1_1k", "1k/fw1_1k_trace"},
      {"1k/ipc1_1k", "1k/ipc1_1k_trace"},
      {"10k/acl1_10k", nullptr},
      {"10k/acl2_10k", "10k/acl2_10k_trace"},
      {"10k/fw1_10k", "10k/fw1_10k_trace"},
      {"10k/ipc1_10k", "10k/ipc1_10k_trace"},
      {"100k/acl1_100k", "100k/acl1_100k_corner_trace"},
      {"100k/fw1_100k", "100k/fw1_100k_corner_trace"},
      {"100k/ipc1_50k", "100k/ipc1_50k_corner_trace"},
  };
  std::vector<Set> sets;
  for (auto [rulesFile, traceFile] : files) {
    if (!fs::exists(dir / rulesFile)) continue;
    auto rules = loadClassBenchRules((dir / rulesFile).string());
    if (!rules.ok() || rules->empty()) continue;
    Set s{fs::path(rulesFile).filename().string(), std::move(*rules), {}};
    if (traceFile == nullptr) {
      s.trace = cornerTrace(s.rules, 100000);
    } else if (auto t = loadClassBenchTrace((dir / traceFile).string()); t.ok()) {
      s.trace = std::move(*t);
    }
    if (!s.trace.empty()) sets.push_back(std::move(s));
  }
  return sets;
}

double threadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// The counters of a loop over `headers` keys that started at thread CPU time `start` and wall time `wallStart`.
void setCounters(benchmark::State& state, double start, std::chrono::steady_clock::time_point wallStart,
                 std::size_t headers) {
  // A plain number (no rate flag: a kIsRate | kInvert counter prints as seconds, "ns/lookup=49.3s").
  const double lookupsMade = static_cast<double>(state.iterations()) * static_cast<double>(headers);
  state.counters["ns/lookup"] = (threadCpuNs() - start) / lookupsMade;
  // The same loop's wall time (what dpdk-test-acl reports): above ns/lookup when the machine is busy.
  state.counters["wall ns/lookup"] =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - wallStart).count() / lookupsMade;
  state.counters["headers"] = static_cast<double>(headers);
}

template <class Classifier>
void lookups(benchmark::State& state, const Classifier& c, const std::vector<ClassifyKey>& keys) {
  std::uint64_t sum = 0;
  const double start = threadCpuNs();
  const auto wallStart = std::chrono::steady_clock::now();
  for (auto _ : state) {
    for (const ClassifyKey& k : keys) sum += c.classify(k);
    benchmark::DoNotOptimize(sum);
  }
  setCounters(state, start, wallStart, keys.size());
}

// The batch API: the keys in bursts of kBurst (dpdk-test-acl's default --tracestep, TRACE_STEP_DEF 0x100 in
// app/test-acl/main.c), each burst one classify(keys, out) call; the same counters as lookups().
constexpr std::size_t kBurst = 256;

void batchLookups(benchmark::State& state, const FastClassifier& c, const std::vector<ClassifyKey>& keys) {
  std::uint64_t sum = 0;
  std::vector<std::uint32_t> out(kBurst);
  const double start = threadCpuNs();
  const auto wallStart = std::chrono::steady_clock::now();
  for (auto _ : state) {
    for (std::size_t i = 0; i < keys.size(); i += kBurst) {
      const std::size_t n = std::min(kBurst, keys.size() - i);
      c.classify(std::span<const ClassifyKey>(keys.data() + i, n), std::span<std::uint32_t>(out.data(), n));
      for (std::size_t j = 0; j < n; ++j) sum += out[j];
    }
    benchmark::DoNotOptimize(sum);
  }
  setCounters(state, start, wallStart, keys.size());
}

const std::pair<const char*, ClassBenchV6> kMappings[] = {{"fixed64", ClassBenchV6::Fixed64},
                                                          {"spread48", ClassBenchV6::Spread48}};

std::vector<RuleBox> mapRules(const std::vector<RuleBox>& rules, ClassBenchV6 m) {
  std::vector<RuleBox> out;
  out.reserve(rules.size());
  for (const RuleBox& b : rules) out.push_back(toIpv6(b, m));
  return out;
}

std::vector<ClassifyKey> mapTrace(const std::vector<ClassifyKey>& trace, ClassBenchV6 m) {
  std::vector<ClassifyKey> out;
  out.reserve(trace.size());
  for (const ClassifyKey& k : trace) out.push_back(toIpv6(k, m));
  return out;
}

// The IPv6 rows of one set (1k and 10k sets).
void registerIpv6(const Set& s) {
  for (auto [mname, mapping] : kMappings) {
    const std::string suffix = s.name + "/" + mname;
    const ClassBenchV6 m = mapping;
    benchmark::RegisterBenchmark(("fast6/" + suffix).c_str(), [&s, m](benchmark::State& state) {
      FastClassifier c(mapRules(s.rules, m));
      state.counters["tables"] = static_cast<double>(c.tableCountV6());
      lookups(state, c, mapTrace(s.trace, m));
    })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("linear6/" + suffix).c_str(), [&s, m](benchmark::State& state) {
      LinearClassifier c(mapRules(s.rules, m));
      lookups(state, c, mapTrace(s.trace, m));
    })->Unit(benchmark::kMillisecond);
    // Both families' lookups of the same set in every iteration; each pass timed on its own.
    benchmark::RegisterBenchmark(("v6_vs_v4/" + suffix).c_str(), [&s, m](benchmark::State& state) {
      const FastClassifier c4(s.rules);
      const FastClassifier c6(mapRules(s.rules, m));
      const std::vector<ClassifyKey> trace6 = mapTrace(s.trace, m);
      std::uint64_t sum = 0;
      double ns4 = 0, ns6 = 0;
      for (auto _ : state) {
        const double t0 = threadCpuNs();
        for (const ClassifyKey& k : s.trace) sum += c4.classify(k);
        const double t1 = threadCpuNs();
        for (const ClassifyKey& k : trace6) sum += c6.classify(k);
        ns4 += t1 - t0;
        ns6 += threadCpuNs() - t1;
        benchmark::DoNotOptimize(sum);
      }
      const double n = static_cast<double>(state.iterations()) * static_cast<double>(s.trace.size());
      state.counters["v4 ns/lookup"] = ns4 / n;
      state.counters["v6 ns/lookup"] = ns6 / n;
      state.counters["v6/v4"] = ns6 / ns4;
    })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("rebuild_after_revoke6/" + suffix).c_str(), [&s, m](benchmark::State& state) {
      const std::vector<RuleBox> rules = mapRules(s.rules, m);
      std::mt19937_64 rng(7);
      for (auto _ : state) {
        std::vector<RuleBox> boxes = rules;
        boxes.erase(boxes.begin() + static_cast<std::ptrdiff_t>(rng() % boxes.size()));
        FastClassifier c(std::move(boxes));
        benchmark::DoNotOptimize(c.tableCountV6());
      }
    })->Unit(benchmark::kMicrosecond);
  }
  // One dual-stack table: each rule's IPv4 box and its spread48 box (one rank); each header asked in both
  // families, alternately.
  benchmark::RegisterBenchmark(("mixed/" + s.name).c_str(), [&s](benchmark::State& state) {
    std::vector<RuleBox> rules = s.rules;
    for (const RuleBox& b : s.rules) rules.push_back(toIpv6(b, ClassBenchV6::Spread48));
    std::vector<ClassifyKey> keys;
    for (const ClassifyKey& k : s.trace) {
      keys.push_back(k);
      keys.push_back(toIpv6(k, ClassBenchV6::Spread48));
    }
    FastClassifier c(std::move(rules));
    state.counters["tables"] = static_cast<double>(c.tableCount() + c.tableCountV6());
    lookups(state, c, keys);
  })->Unit(benchmark::kMillisecond);
}

// SGSIM_CLASSIFY_VERIFY=1: verify/SET/FAMILY checks every trace header of the set, in IPv4 and in both IPv6
// mappings, one at a time and through the batch API (bursts of kBurst), against LinearClassifier, once (one
// iteration; minutes for the 100k sets' IPv6 linear scans). Counters: headers, mismatches (fails the run),
// unmatched headers (every ClassBench header was made from some rule) and tables that fell back to linear probing.
void registerVerify(const Set& s) {
  const std::pair<const char*, int> families[] = {{"ipv4", -1}, {"fixed64", 0}, {"spread48", 1}};
  for (auto [fname, mapping] : families) {
    benchmark::RegisterBenchmark(
        ("verify/" + s.name + "/" + fname).c_str(),
        [&s, mapping](benchmark::State& state) {
          const std::vector<RuleBox> rules = mapping < 0 ? s.rules : mapRules(s.rules, kMappings[mapping].second);
          const std::vector<ClassifyKey> trace = mapping < 0 ? s.trace : mapTrace(s.trace, kMappings[mapping].second);
          const FastClassifier fast(rules);
          const LinearClassifier linear(rules);
          std::uint64_t mismatches = 0, unmatched = 0;
          for (auto _ : state) {
            std::vector<std::uint32_t> batched(trace.size());
            for (std::size_t i = 0; i < trace.size(); i += kBurst) {
              const std::size_t n = std::min(kBurst, trace.size() - i);
              fast.classify(std::span<const ClassifyKey>(trace.data() + i, n),
                            std::span<std::uint32_t>(batched.data() + i, n));
            }
            for (std::size_t i = 0; i < trace.size(); ++i) {
              const std::uint32_t want = linear.classify(trace[i]);
              unmatched += want == kNoMatch;
              mismatches += (fast.classify(trace[i]) != want) + (batched[i] != want);
            }
          }
          state.counters["headers"] = static_cast<double>(trace.size());
          state.counters["mismatches"] = static_cast<double>(mismatches);
          state.counters["unmatched"] = static_cast<double>(unmatched);
          state.counters["linear-probed tables"] = static_cast<double>(fast.linearProbedTables());
          if (mismatches != 0) state.SkipWithError("the fast classifier disagrees with the linear scan");
        })
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
  }
}

void registerSet(const Set& s) {
  benchmark::RegisterBenchmark(("linear/" + s.name).c_str(), [&s](benchmark::State& state) {
    LinearClassifier c(s.rules);
    const std::size_t n =
        s.rules.size() <= kLinearAllHeadersUpTo ? s.trace.size() : std::min(kLinearHeaders, s.trace.size());
    std::vector<ClassifyKey> keys(s.trace.begin(), s.trace.begin() + static_cast<std::ptrdiff_t>(n));
    lookups(state, c, keys);
  })->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("fast/" + s.name).c_str(), [&s](benchmark::State& state) {
    FastClassifier c(s.rules);
    state.counters["tables"] = static_cast<double>(c.tableCount());
    lookups(state, c, s.trace);
  })->Unit(benchmark::kMillisecond);
  // The same lookups through the batch API (bursts of kBurst keys): what bench/classify_vs_dpdk_sets.sh compares
  // with dpdk-test-acl, which classifies bursts too.
  benchmark::RegisterBenchmark(("batch/" + s.name).c_str(), [&s](benchmark::State& state) {
    FastClassifier c(s.rules);
    state.counters["tables"] = static_cast<double>(c.tableCount());
    batchLookups(state, c, s.trace);
  })->Unit(benchmark::kMillisecond);
  // What the lookups of the trace touch in large partitions, per lookup (one iteration; no timing): tables probed,
  // GroupHeads and sub-bucket entries looked at, RuleBlocks read, slots looked at; and the classifier's size.
  benchmark::RegisterBenchmark(("counts/" + s.name).c_str(), [&s](benchmark::State& state) {
    const FastClassifier c(s.rules);
    FastClassifier::LookupCounts n;
    for (auto _ : state) n = c.countLookups(s.trace);
    const double lookups = static_cast<double>(std::max<std::uint64_t>(1, n.lookups));
    state.counters["large lookups"] = static_cast<double>(n.lookups);
    state.counters["probes"] = static_cast<double>(n.probes) / lookups;
    state.counters["heads"] = static_cast<double>(n.heads) / lookups;
    state.counters["blocks"] = static_cast<double>(n.blocks) / lookups;
    state.counters["slots"] = static_cast<double>(n.slots) / lookups;
    state.counters["split buckets"] = static_cast<double>(c.splitBuckets());
    state.counters["bytes"] = static_cast<double>(c.memoryBytes());
  })->Iterations(1);
  benchmark::RegisterBenchmark(("tss/" + s.name).c_str(), [&s](benchmark::State& state) {
    FastClassifier c(s.rules, FastClassifier::Options{.mergeTuples = false});
    state.counters["tables"] = static_cast<double>(c.tableCount());
    lookups(state, c, s.trace);
  })->Unit(benchmark::kMillisecond);
  // A revoke: one rule gone, the whole table rebuilt from the remaining boxes (target 4: < 1 ms at 1k).
  benchmark::RegisterBenchmark(("rebuild_after_revoke/" + s.name).c_str(), [&s](benchmark::State& state) {
    std::mt19937_64 rng(7);
    for (auto _ : state) {
      std::vector<RuleBox> boxes = s.rules;
      boxes.erase(boxes.begin() + static_cast<std::ptrdiff_t>(rng() % boxes.size()));
      FastClassifier c(std::move(boxes));
      benchmark::DoNotOptimize(c.tableCount());
    }
  })->Unit(benchmark::kMicrosecond);
  if (s.rules.size() <= kLinearAllHeadersUpTo) registerIpv6(s);
}

}  // namespace
}  // namespace sgsim

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  static const std::vector<sgsim::Set> sets = sgsim::loadSets();
  if (sets.empty()) std::fprintf(stderr, "no ClassBench sets under %s\n", sgsim::corpusDir().c_str());
  for (const auto& s : sets) sgsim::registerSet(s);
  if (std::getenv("SGSIM_CLASSIFY_VERIFY") != nullptr)
    for (const auto& s : sets) sgsim::registerVerify(s);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
