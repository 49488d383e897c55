// Header-space analysis timings (docs/PERFORMANCE.md, "Header-space analysis"): the audit analysis of every table of
// the bundled examples, and of ClassBench tables converted as tools/classbench2sgsim converts them (one ENI, the
// trace's destinations as its addresses, mixed policies), plus the decision map and the space diff of revoking one
// rule. Counters: `exact` (1, or 0 when the budget ran out: NotProven), diagram `nodes`, budget `work`, and the
// findings. SGSIM_HS_ORDER (e.g. "plrds": proto, local, peer (r), dport, sport) overrides the coordinate order,
// SGSIM_HS_WORK the work budget.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include "../tools/classbench2sgsim_convert.h"
#include "pipeline/model_mix.h"
#include "sgsim/classify/classbench.h"
#include "sgsim/model/model_json.h"
#include "sgsim/verdict/header_space.h"

#ifndef SGSIM_DEFAULT_SHARED_DIR
#define SGSIM_DEFAULT_SHARED_DIR "../shared"
#endif
#ifndef SGSIM_SOURCE_DIR
#define SGSIM_SOURCE_DIR "."
#endif

namespace sgsim {
namespace {

std::string sharedDir() {
  const char* s = std::getenv("SGSIM_SHARED_DIR");
  return s != nullptr && *s != '\0' ? s : SGSIM_DEFAULT_SHARED_DIR;
}

HsOptions options() {
  HsOptions o;
  if (const char* s = std::getenv("SGSIM_HS_ORDER"); s != nullptr && std::string(s).size() == 5) {
    for (int i = 0; i < 5; ++i) {
      switch (s[i]) {
        case 'p':
          o.order[i] = HsDim::Proto;
          break;
        case 'r':
          o.order[i] = HsDim::Peer;
          break;
        case 'l':
          o.order[i] = HsDim::Local;
          break;
        case 's':
          o.order[i] = HsDim::Sport;
          break;
        default:
          o.order[i] = HsDim::Dport;
      }
    }
  }
  if (const char* s = std::getenv("SGSIM_HS_WORK")) o.maxWork = std::stoull(s);
  return o;
}

std::shared_ptr<const Network> classBenchNetwork(const std::string& rulesPath, const std::string& tracePath) {
  auto rules = loadClassBenchRules(rulesPath);
  if (!rules) return nullptr;
  std::vector<IpAddr> addresses;
  if (!tracePath.empty() && std::filesystem::exists(tracePath)) {
    if (auto trace = loadClassBenchTrace(tracePath)) addresses = classBenchEniAddresses(*trace, true);
  }
  if (addresses.empty()) addresses.push_back(*IpAddr::parse("10.0.0.1"));
  ConvertStats stats;
  const auto doc = classBenchModel(*rules, addresses, ConvertOptions{}, stats);
  auto model = parseModel(boost::json::serialize(doc), LoadOptions{}, rulesPath);
  if (!model) return nullptr;
  return std::make_shared<const Network>(std::move(*model));
}

void count(benchmark::State& state, const std::vector<HsTableAnalysis>& tables) {
  double shadowed = 0, redundant = 0, conflicts = 0, nothing = 0, broad = 0, exact = 1, nodes = 0, work = 0;
  for (const HsTableAnalysis& t : tables) {
    exact = exact && t.status == HsStatus::Exact;
    nodes += static_cast<double>(t.stats.nodes);
    work += static_cast<double>(t.stats.work);
    for (const HsRuleFindings& f : t.rules) {
      shadowed += f.shadowed;
      redundant += f.redundant;
      conflicts += static_cast<double>(f.conflicts.size());
      nothing += f.matchesNothing;
      broad += f.broad.has_value();
    }
  }
  state.counters["exact"] = exact;
  state.counters["nodes"] = nodes;
  state.counters["work"] = work;
  state.counters["shadowed"] = shadowed;
  state.counters["redundant"] = redundant;
  state.counters["conflicts"] = conflicts;
  state.counters["nothing"] = nothing;
  state.counters["broad"] = broad;
}

void registerAll() {
  const std::string src = SGSIM_SOURCE_DIR;
  for (const char* name : {"web", "two_tier", "loopback", "ens"}) {
    const std::string path = src + "/examples/" + name + ".json";
    if (!std::filesystem::exists(path)) continue;
    auto model = loadModel(path, LoadOptions{});
    if (!model) continue;
    auto net = std::make_shared<const Network>(std::move(*model));
    benchmark::RegisterBenchmark((std::string("audit/examples/") + name).c_str(), [net](benchmark::State& state) {
      std::vector<HsTableAnalysis> tables;
      for (auto _ : state) tables = analyzeNetwork(*net, options());
      count(state, tables);
    })->Unit(benchmark::kMicrosecond);
  }
  // The 1,000-rule interface of the end-to-end benchmarks (bench/pipeline/model_mix.h), and bigger ones.
  for (const std::size_t n : {std::size_t{1000}, std::size_t{5000}}) {
    auto model = parseModel(boost::json::serialize(benchModel(n, *IpAddr::parse("10.0.0.1"), 1)), LoadOptions{}, "mix");
    if (!model) continue;
    auto net = std::make_shared<const Network>(std::move(*model));
    benchmark::RegisterBenchmark(("audit/model_mix/" + std::to_string(n)).c_str(), [net](benchmark::State& state) {
      std::vector<HsTableAnalysis> tables;
      for (auto _ : state) tables = analyzeNetwork(*net, options());
      count(state, tables);
    })->Unit(benchmark::kMillisecond);
    const auto& refs = net->rules(0, Direction::Ingress);
    Model revoked = net->model();
    auto& rs = revoked.groups[0].rules;
    const std::string target = refs[refs.size() / 2].ruleId;
    rs.erase(std::find_if(rs.begin(), rs.end(), [&](const Rule& r) { return r.id == target; }));
    auto after = std::make_shared<const Network>(std::move(revoked));
    benchmark::RegisterBenchmark(("diff-middle/model_mix/" + std::to_string(n)).c_str(), [net, after](
                                                                                             benchmark::State& state) {
      HsSpaceDiff diff;
      for (auto _ : state) diff = diffSpace(*net, *after, options());
      state.counters["exact"] = diff.notProven.empty();
      state.counters["regions"] = static_cast<double>(diff.regions.size());
    })->Unit(benchmark::kMillisecond);
  }
  const std::string cb = sharedDir() + "/corpus/classbench/";
  for (const char* set :
       {"1k/acl1_1k", "1k/fw1_1k", "1k/ipc1_1k", "10k/acl1_10k", "10k/acl2_10k", "10k/fw1_10k", "10k/ipc1_10k"}) {
    const std::string rules = cb + set;
    if (!std::filesystem::exists(rules)) continue;
    auto net = classBenchNetwork(rules, rules + "_trace");
    if (!net) continue;
    const std::size_t n = net->rules(0, Direction::Ingress).size();
    benchmark::RegisterBenchmark((std::string("audit/classbench/") + set).c_str(),
                                 [net](benchmark::State& state) {
                                   std::vector<HsTableAnalysis> tables;
                                   for (auto _ : state) tables = {analyzeTable(*net, 0, Direction::Ingress, options())};
                                   count(state, tables);
                                   state.counters["rules"] =
                                       static_cast<double>(net->rules(0, Direction::Ingress).size());
                                   state.counters["addresses"] = static_cast<double>(net->eni(0).addresses.size());
                                 })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
    benchmark::RegisterBenchmark((std::string("map/classbench/") + set).c_str(),
                                 [net](benchmark::State& state) {
                                   HsDecisionMap map;
                                   for (auto _ : state) map = decisionMap(*net, 0, Direction::Ingress, options());
                                   state.counters["exact"] = map.status == HsStatus::Exact;
                                   state.counters["regions"] = static_cast<double>(map.entries.size());
                                   state.counters["truncated"] = map.truncated;
                                   state.counters["nodes"] = static_cast<double>(map.stats.nodes);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
    // Revoking the first rule of the table, and the one in the middle.
    for (const std::size_t which : {std::size_t{0}, n / 2}) {
      Model revoked = net->model();
      auto& rs = revoked.groups[0].rules;
      const Rule* target = net->rules(0, Direction::Ingress)[which].rule;
      for (std::size_t i = 0; i < rs.size(); ++i)
        if (rs[i].id == target->id) {
          rs.erase(rs.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
      auto after = std::make_shared<const Network>(std::move(revoked));
      const std::string name = std::string(which == 0 ? "diff-first/classbench/" : "diff-middle/classbench/") + set;
      benchmark::RegisterBenchmark(name.c_str(),
                                   [net, after](benchmark::State& state) {
                                     HsSpaceDiff diff;
                                     for (auto _ : state) diff = diffSpace(*net, *after, options());
                                     state.counters["exact"] = diff.notProven.empty();
                                     state.counters["truncated"] = diff.truncated;
                                     state.counters["regions"] = static_cast<double>(diff.regions.size());
                                     state.counters["nodes"] = static_cast<double>(diff.stats.nodes);
                                   })
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1);
    }
  }
}

}  // namespace
}  // namespace sgsim

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  sgsim::registerAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
