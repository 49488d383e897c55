// auditrun: the traffic audit (verdict/audit.h) over captures, read the way `sgsim replay` reads them (decoded and
// planned on a second thread, flow-table slots prefetched 8 packets ahead), so that its time compares with
// `sgsim replay --format summary` on the same capture (docs/PERFORMANCE.md, "Audit").
//
//   auditrun --model M.json [--host IP] [--threads 1|2] [--top N] [--check RULE_ID]... [--json OUT] CAPTURE...
//
// Audits every rule of every group some ENI holds and prints a summary: frames, rules, rules that decided traffic,
// rules whose revoke alone would change it, and the N rules whose revoke changes the most flows. --check prints one
// rule's figures in full (to compare by hand with `sgsim whatif --revoke … --format json`); it may be repeated.
// --json writes every rule's figures to OUT, for bench/pipeline/audit_vs_whatif.py.

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_tool.h"
#include "sgsim/capture/read_ahead.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/model/model_json.h"
#include "sgsim/verdict/audit.h"

namespace sgsim {
namespace {

struct Decoded {
  PacketKey key;
  BasicPacketPlan<1> plan;
};
struct DecodeAndPlan {
  const BasicPlanner<1>* planner;
  void operator()(const Frame& f, Decoded& d, bool spare) const {
    d.key = decodeFrame(f.linkType, f.data, f.capLen);
    planner->plan(d.key, d.plan, spare);
  }
};
constexpr std::size_t kPrefetchAhead = 8;  // as the CLI

int run(int argc, char** argv) {
  std::string modelPath;
  std::vector<std::string> checks;
  std::string jsonPath;
  std::optional<IpAddr> host;
  std::vector<std::string> captures;
  unsigned threads = 2;
  std::size_t top = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model") {
      modelPath = value();
    } else if (a == "--host") {
      const std::string h = value();
      host = IpAddr::parse(h);
      if (!host) throw std::runtime_error("--host: not an address: " + h);
    } else if (a == "--threads") {
      threads = static_cast<unsigned>(std::stoul(value()));
    } else if (a == "--top") {
      top = std::stoul(value());
    } else if (a == "--json") {
      jsonPath = value();
    } else if (a == "--check") {
      checks.push_back(value());
    } else if (a == "--help") {
      std::cout << "auditrun --model M.json [--host IP] [--threads 1|2] [--top N] [--check RULE_ID]... [--json OUT] "
                   "CAPTURE...\n";
      return 0;
    } else if (!a.empty() && a[0] != '-') {
      captures.push_back(a);
    } else {
      throw std::runtime_error("unknown argument " + a);
    }
  }
  if (modelPath.empty() || captures.empty()) throw std::runtime_error("needs --model and a capture");
  auto model = loadModel(modelPath, host);
  if (!model) throw std::runtime_error(model.error().toString());
  const auto start = std::chrono::steady_clock::now();
  auto net = std::make_shared<const Network>(std::move(*model));
  AuditOptions o;
  if (host) o.eval.eni = net->eniOf(*host);
  auto groups = auditedGroups(net->model(), {}, {});
  if (!groups) throw std::runtime_error(groups.error().toString());
  o.groups = *groups;
  TrafficAudit audit(net, o);
  auto cap = MergedCapture::open(captures);
  if (!cap) throw std::runtime_error(cap.error().toString());
  const BasicPlanner<1> planner = TrafficAudit::planner(net, o.eval);
  ReadAheadOptions ro;
  ro.thread = threads == 2;
  ReadAhead<Decoded, DecodeAndPlan> frames(**cap, DecodeAndPlan{&planner}, ro);
  for (auto batch = frames.next(); !batch.empty(); batch = frames.next())
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i + kPrefetchAhead < batch.size()) audit.prefetch(batch[i + kPrefetchAhead].extra.plan);
      audit.process(batch[i].frame, batch[i].extra.key, batch[i].extra.plan);
    }
  for (const Error& e : (*cap)->errors()) std::cerr << "auditrun: " << e.toString() << "\n";
  const std::vector<AuditedRule> rules = audit.results();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::size_t deciding = 0, changing = 0;
  std::uint64_t changedFlows = 0;
  for (const AuditedRule& r : rules) {
    deciding += r.hits.packets > 0;
    changing += r.ifRevoked.changedFlows > 0;
    changedFlows += r.ifRevoked.changedFlows;
  }
  std::printf("%" PRIu64
              " frames, %zu rules audited: %zu decided traffic, %zu would change it if revoked alone "
              "(%" PRIu64 " changed flows in all); %zu shadows live at the end; %.3f s\n",
              audit.frames(), rules.size(), deciding, changing, changedFlows, audit.shadowCount(), seconds);
  std::vector<const AuditedRule*> ranked;
  for (const AuditedRule& r : rules) ranked.push_back(&r);
  std::stable_sort(ranked.begin(), ranked.end(), [](const AuditedRule* a, const AuditedRule* b) {
    return a->ifRevoked.changedFlows > b->ifRevoked.changedFlows;
  });
  auto print = [](const AuditedRule& r) {
    std::printf("  %s (%s): hits %" PRIu64 " flows %" PRIu64 " packets; revoked: %" PRIu64 " flows change (%" PRIu64
                " cut, %" PRIu64 " opened), %" PRIu64 " packets, %" PRIu64 " bytes\n",
                r.ruleId.c_str(), r.groupId.c_str(), r.hits.flows, r.hits.packets, r.ifRevoked.changedFlows,
                r.ifRevoked.cutFlows, r.ifRevoked.openedFlows, r.ifRevoked.changedPackets, r.ifRevoked.changedBytes);
    for (const Fallback& f : r.fallback) {
      std::string who = std::string(toString(f.verdict)) + " " + toString(f.reason);
      if (!f.ruleId.empty()) who += " " + f.ruleId;
      std::printf("    then %s: %" PRIu64 " flows\n", who.c_str(), f.flows);
    }
  };
  for (std::size_t i = 0; i < std::min(top, ranked.size()); ++i) print(*ranked[i]);
  for (const std::string& id : checks)
    for (const AuditedRule& r : rules)
      if (r.ruleId == id) print(r);
  if (!jsonPath.empty()) {
    // Every rule's figures under whatif's JSON names (bench/pipeline/audit_vs_whatif.py compares them).
    boost::json::array out;
    for (const AuditedRule& r : rules) {
      boost::json::array fallback;
      for (const Fallback& f : r.fallback)  // as whatif's JSON writes it (report/whatif_report.cpp)
        fallback.push_back({{"verdict", toString(f.verdict)},
                            {"reason", toString(f.reason)},
                            {"rule", f.ruleId.empty() ? boost::json::value(nullptr) : boost::json::value(f.ruleId)},
                            {"group", f.groupId.empty() ? boost::json::value(nullptr) : boost::json::value(f.groupId)},
                            {"flows", f.flows}});
      out.push_back({{"rule", r.ruleId},
                     {"group", r.groupId},
                     {"hits", {{"flows", r.hits.flows}, {"packets", r.hits.packets}, {"bytes", r.hits.bytes}}},
                     {"ifRevoked",
                      {{"changedFlows", r.ifRevoked.changedFlows},
                       {"cutFlows", r.ifRevoked.cutFlows},
                       {"openedFlows", r.ifRevoked.openedFlows},
                       {"changedPackets", r.ifRevoked.changedPackets},
                       {"changedBytes", r.ifRevoked.changedBytes}}},
                     {"fallback", fallback}});
    }
    std::ofstream f(jsonPath);
    f << boost::json::serialize(out) << '\n';
    if (!f) throw std::runtime_error("cannot write " + jsonPath);
  }
  for (const Error& w : audit.warnings()) std::printf("warning: %s\n", w.toString().c_str());
  return (*cap)->errors().empty() ? 0 : 2;
}

}  // namespace
}  // namespace sgsim

int main(int argc, char** argv) { return sgsim::runTool("auditrun", sgsim::run, argc, argv); }
