// Classification speed on the ClassBench sets: linear scan vs the fast classifier (TupleMerge, and plain
// tuple-space search for comparison), ns per lookup over the trace headers with no flow cache, plus the
// time to build a table (a revoke rebuilds one). Sets missing from ../shared/corpus/classbench are skipped.
//
//   build-fast-rel/bench/classify_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// The linear scan runs over every header of the 1k and 10k sets, and over the first kLinearHeaders headers
// of the larger ones (a 50k-rule scan of 100k headers takes minutes); every run reports ns per header.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <random>
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

template <class Classifier>
void lookups(benchmark::State& state, const Classifier& c, const std::vector<ClassifyKey>& keys) {
  std::uint64_t sum = 0;
  for (auto _ : state) {
    for (const ClassifyKey& k : keys) sum += c.classify(k);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["ns/lookup"] =
      benchmark::Counter(static_cast<double>(keys.size()) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["headers"] = static_cast<double>(keys.size());
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
}

}  // namespace
}  // namespace sgsim

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  static const std::vector<sgsim::Set> sets = sgsim::loadSets();
  if (sets.empty()) std::fprintf(stderr, "no ClassBench sets under %s\n", sgsim::corpusDir().c_str());
  for (const auto& s : sets) sgsim::registerSet(s);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
