// Pipeline benchmarks (issue 4, targets 2–4; docs/PERFORMANCE.md): decoding frames, connection tracking, the
// whole stateful evaluator on decoded keys, and what a revoke costs before classification can resume.
// Inputs come from traffic_mix.h and model_mix.h with fixed seeds, so every run sees the same frames and rules.
//
//   build-perf-rel/bench/pipeline/pipeline_bench [--benchmark_filter=Rebuild] [--benchmark_repetitions=5]

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "model_mix.h"
#include "sgsim/api/engine.h"
#include "sgsim/api/request.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/flow/conntrack.h"
#include "sgsim/model/model_json.h"
#include "sgsim/verdict/audit.h"
#include "sgsim/verdict/evaluator.h"
#include "sgsim/verdict/network.h"
#include "traffic_mix.h"

namespace sgsim {
namespace {

constexpr std::size_t kFrames = 1 << 20;  // ~21 s of capture at the mix's 50,000 frames/s
const IpAddr kHost = IpAddr::v4(0x0a000001);

[[noreturn]] void die(const Error& e) {
  std::cerr << "pipeline_bench: " << e.where << ": " << e.message << "\n";
  std::exit(2);
}

const Model& benchModelOf(std::size_t rules) {
  static std::map<std::size_t, Model> cache;
  auto it = cache.find(rules);
  if (it == cache.end()) {
    auto m = parseModel(boost::json::serialize(benchModel(rules, kHost, 1)), std::nullopt, "bench");
    if (!m) die(m.error());
    it = cache.emplace(rules, std::move(*m)).first;
  }
  return it->second;
}

struct Capture {
  std::vector<std::uint8_t> bytes;
  std::vector<std::pair<std::size_t, std::uint32_t>> frames;  // offset, capLen
  std::vector<std::int64_t> ts;
  std::vector<PacketKey> keys;
  std::uint64_t wireBytes = 0;
};

// kFrames frames of the 1,000-rule mix: `flows` live conversations, or a new flow per frame when flows == 0.
const Capture& captureOf(std::uint32_t flows) {
  static std::map<std::uint32_t, Capture> cache;
  auto it = cache.find(flows);
  if (it != cache.end()) return it->second;
  TrafficOptions o;
  o.flows = flows;
  o.newFlowEveryPacket = flows == 0;
  TrafficMix mix(o, trafficTargets(benchModelOf(1000), kHost));
  Capture c;
  GenFrame f;
  for (std::size_t i = 0; i < kFrames; ++i) {
    mix.next(f);
    c.frames.emplace_back(c.bytes.size(), f.capLen);
    c.bytes.insert(c.bytes.end(), f.data, f.data + f.capLen);
    c.ts.push_back(f.tsNs);
    c.wireBytes += f.wireLen;
  }
  for (const auto& [off, len] : c.frames) c.keys.push_back(decodeFrame(1, c.bytes.data() + off, len));
  return cache.emplace(flows, std::move(c)).first->second;
}

// Arg: how many distinct frames are cycled through. 1,024 frames (~0.5 MB) stay in the caches, as a frame
// libpcap has just copied does in the CLI; 1,048,576 (~540 MB) measure the first touch of frames from memory.
void BM_Decode(benchmark::State& state) {
  const Capture& c = captureOf(100'000);
  const auto frames = std::min<std::size_t>(static_cast<std::size_t>(state.range(0)), c.frames.size());
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const auto& [off, len] = c.frames[i];
    benchmark::DoNotOptimize(decodeFrame(1, c.bytes.data() + off, len));
    bytes += len;
    if (++i == frames) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_Decode)->ArgName("frames")->Arg(1024)->Arg(kFrames);

// The tracking path of one packet: canonical key, live lookup, then refresh or create. The time offset per
// pass over the frames keeps capture time moving forward, as in a long capture.
void trackAll(benchmark::State& state, std::uint32_t flows, bool resetEachPass) {
  const Capture& c = captureOf(flows);
  const std::int64_t span = c.ts.back() - c.ts.front() + 1;
  auto tracker = std::make_unique<ConnTracker>(std::vector<Timeouts>{Timeouts{}}, 4'000'000);
  std::size_t i = 0;
  std::int64_t offset = 0;
  for (auto _ : state) {
    const PacketKey& k = c.keys[i];
    const std::int64_t now = c.ts[i] + offset;
    bool srcIsA = false;
    const FlowKey key = FlowKey::make(0, k.proto, k.src, k.sport, k.dst, k.dport, srcIsA);
    FlowSlot<1>* slot = tracker->acquire(key, now);
    if (slot != nullptr) {
      FlowEntry& e = slot->side[0];
      if (!tracker->live(e, key, now)) {
        e = FlowEntry{};
        e.present = true;
        e.lastNs = now;
      }
      tracker->update(e, key, srcIsA, k.tcpFlags, now);
    }
    benchmark::DoNotOptimize(slot);
    if (++i == c.keys.size()) {
      i = 0;
      offset += span;
      if (resetEachPass) {
        state.PauseTiming();
        tracker = std::make_unique<ConnTracker>(std::vector<Timeouts>{Timeouts{}}, 4'000'000);
        offset = 0;
        state.ResumeTiming();
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["entries"] = static_cast<double>(tracker->size());
  state.counters["capacity"] = static_cast<double>(tracker->capacity());
}

// The same path, but the key of the packet `ahead` places later is made and hashed first and its slot prefetched
// (ConnTracker::prefetchHash), as a caller batching packets would: the cache misses of several packets overlap.
void trackAhead(benchmark::State& state, std::uint32_t flows, std::size_t ahead) {
  const Capture& c = captureOf(flows);
  const std::int64_t span = c.ts.back() - c.ts.front() + 1;
  auto tracker = std::make_unique<ConnTracker>(std::vector<Timeouts>{Timeouts{}}, 4'000'000);
  struct Pending {
    FlowKey key;
    std::size_t hash = 0;
    bool srcIsA = false;
  };
  std::array<Pending, 32> ring{};  // ahead < 32
  const std::size_t n = c.keys.size();
  const auto prepare = [&](std::size_t j) {
    const PacketKey& k = c.keys[j % n];
    Pending& p = ring[j % ring.size()];
    p.key = FlowKey::make(0, k.proto, k.src, k.sport, k.dst, k.dport, p.srcIsA);
    p.hash = ConnTracker::hashOf(p.key);
    tracker->prefetchHash(p.hash);
  };
  for (std::size_t j = 0; j < ahead; ++j) prepare(j);
  std::size_t i = 0, seq = 0;
  std::int64_t offset = 0;
  for (auto _ : state) {
    prepare(seq + ahead);
    const Pending& p = ring[seq++ % ring.size()];
    const std::int64_t now = c.ts[i] + offset;
    FlowSlot<1>* slot = tracker->acquire(p.key, p.hash, now);
    if (slot != nullptr) {
      FlowEntry& e = slot->side[0];
      if (!tracker->live(e, p.key, now)) {
        e = FlowEntry{};
        e.present = true;
        e.lastNs = now;
      }
      tracker->update(e, p.key, p.srcIsA, c.keys[i].tcpFlags, now);
    }
    benchmark::DoNotOptimize(slot);
    if (++i == n) {
      i = 0;
      offset += span;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["entries"] = static_cast<double>(tracker->size());
}

// Args: live flows, how many packets ahead the slot is prefetched (0: none). At 100,000 flows the table is ~19 MB
// (262,144 slots of 72 bytes) and nearly every packet hits a random slot: a cache miss unless prefetched.
void BM_ConnTrack_Established(benchmark::State& state) {
  const auto flows = static_cast<std::uint32_t>(state.range(0));
  const auto ahead = static_cast<std::size_t>(state.range(1));
  if (ahead == 0)
    trackAll(state, flows, false);
  else
    trackAhead(state, flows, ahead);
}
BENCHMARK(BM_ConnTrack_Established)
    ->ArgNames({"flows", "ahead"})
    ->Args({10'000, 0})
    ->Args({100'000, 0})
    ->Args({100'000, 4})
    ->Args({100'000, 8})
    ->Args({100'000, 16});
void BM_ConnTrack_NewFlowEveryPacket(benchmark::State& state) { trackAll(state, 0, true); }
BENCHMARK(BM_ConnTrack_NewFlowEveryPacket);

// Issue 11, target 2: the flow table with 2 million live flows. Keys are distinct random IPv4 (or IPv6) flows of one
// ENI, seeded. Insert: a fresh table takes every key (growth included), the next key's hash prefetched 8 ahead as
// the pipeline does; per key. Lookup: a table holding every key finds them again in a random order (as the replies
// of target 2's capture do), prefetched 8 ahead; per key. Counters: the table's entries, index slots and resident
// bytes per entry (entry arrays and index, from size × entry bytes and capacity × 4).
std::vector<FlowKey> distinctKeys(std::size_t n, bool v6, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<FlowKey> keys;
  keys.reserve(n);
  boost::unordered_flat_map<FlowKey, int, FlowKeyHash> seen;
  while (keys.size() < n) {
    const IpAddr local = v6 ? IpAddr{Family::V6, 0x20010db800000000ULL, 1} : kHost;
    const IpAddr peer = v6 ? IpAddr{Family::V6, 0x2001000000000000ULL | (rng() >> 16), rng()}
                           : IpAddr::v4(static_cast<std::uint32_t>(rng()) | 0x01000000u);
    bool srcIsA = false;
    const FlowKey k = FlowKey::make(0, rng() % 4 == 0 ? 17 : 6, peer, static_cast<std::uint16_t>(1024 + rng() % 64512),
                                    local, static_cast<std::uint16_t>(rng() % 1024), srcIsA);
    if (seen.emplace(k, 0).second) keys.push_back(k);
  }
  return keys;
}

template <class Tracker>
void flowTableCounters(benchmark::State& state, const Tracker& t, bool v6) {
  state.counters["entries"] = static_cast<double>(t.size());
  state.counters["index_slots"] = static_cast<double>(t.capacity());
  const double entryBytes = static_cast<double>(v6 ? Tracker::kV6EntryBytes : Tracker::kV4EntryBytes);
  state.counters["bytes_per_entry"] =
      entryBytes + 4.0 * static_cast<double>(t.capacity()) / static_cast<double>(std::max<std::size_t>(t.size(), 1));
}

template <int Sides>
void BM_FlowTable2M_Insert(benchmark::State& state) {
  const bool v6 = state.range(0) != 0;
  static std::map<bool, std::vector<FlowKey>> cache;
  auto& keys = cache.try_emplace(v6, distinctKeys(2'000'000, v6, 11)).first->second;
  std::vector<std::size_t> hashes;
  for (const FlowKey& k : keys) hashes.push_back(BasicConnTracker<Sides>::hashOf(k));
  std::unique_ptr<BasicConnTracker<Sides>> t;
  for (auto _ : state) {
    state.PauseTiming();
    t.reset();
    t = std::make_unique<BasicConnTracker<Sides>>(std::vector<Timeouts>{Timeouts{}}, 4'000'000);
    state.ResumeTiming();
    const std::int64_t now = 1'000'000'000;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i + 8 < keys.size()) t->prefetchHash(hashes[i + 8]);
      FlowSlot<Sides>* slot = t->acquire(keys[i], hashes[i], now);
      slot->side[0].present = true;
      t->update(slot->side[0], keys[i], true, 0x02, now);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * keys.size()));
  flowTableCounters(state, *t, v6);
}
BENCHMARK(BM_FlowTable2M_Insert<1>)->ArgName("v6")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_FlowTable2M_Insert<2>)->ArgName("v6")->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(3);

template <int Sides>
void BM_FlowTable2M_Lookup(benchmark::State& state) {
  const bool v6 = state.range(0) != 0;
  const std::vector<FlowKey> keys = distinctKeys(2'000'000, v6, 11);
  BasicConnTracker<Sides> t(std::vector<Timeouts>{Timeouts{}}, 4'000'000);
  const std::int64_t now = 1'000'000'000;
  for (const FlowKey& k : keys) {
    FlowSlot<Sides>* slot = t.acquire(k, now);
    slot->side[0].present = true;
    t.update(slot->side[0], k, true, 0x02, now);
  }
  std::vector<std::size_t> order(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(12));
  std::vector<std::size_t> hashes;
  for (std::size_t i : order) hashes.push_back(BasicConnTracker<Sides>::hashOf(keys[i]));
  std::size_t j = 0, live = 0;
  for (auto _ : state) {
    if (j + 8 < order.size()) t.prefetchHash(hashes[j + 8]);
    const FlowKey& k = keys[order[j]];
    FlowSlot<Sides>* slot = t.acquire(k, hashes[j], now);
    live += t.live(slot->side[0], k, now);
    t.update(slot->side[0], k, false, 0x12, now);
    if (++j == order.size()) j = 0;
  }
  if (live != static_cast<std::size_t>(state.iterations())) state.SkipWithError("a key was lost");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  flowTableCounters(state, t, v6);
}
BENCHMARK(BM_FlowTable2M_Lookup<1>)->ArgName("v6")->Arg(0)->Arg(1);
BENCHMARK(BM_FlowTable2M_Lookup<2>)->ArgName("v6")->Arg(0);

// The flow table's cost is dominated by cache misses once it outgrows the caches (100,000 flows × ~160-byte
// entries is 16 MB, twice that for whatif's two evaluators). This measures the same lookup stream on
// boost::unordered_flat_map with the tracker's FlowKey and values of different sizes, to show what a
// smaller entry (the cold FlowOrigin kept elsewhere) would save. Not sgsim code (the tracker has its own table
// since; BM_ConnTrack_Established measures that): an experiment for the lead.
template <std::size_t ValueBytes>
void BM_FlowTableEntrySize(benchmark::State& state) {
  struct Value {
    std::int64_t lastNs = 0;
    std::array<std::uint8_t, ValueBytes - 8> rest{};
  };
  const Capture& c = captureOf(100'000);
  std::vector<FlowKey> keys;
  for (const PacketKey& k : c.keys) {
    bool srcIsA = false;
    keys.push_back(FlowKey::make(0, k.proto, k.src, k.sport, k.dst, k.dport, srcIsA));
  }
  boost::unordered_flat_map<FlowKey, Value, FlowKeyHash> map;
  std::size_t i = 0;
  for (auto _ : state) {
    Value& v = map[keys[i]];
    v.lastNs = c.ts[i];
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["entry_bytes"] = static_cast<double>(sizeof(FlowKey) + sizeof(Value));
  state.counters["entries"] = static_cast<double>(map.size());
}
BENCHMARK(BM_FlowTableEntrySize<sizeof(FlowEntry)>);

BENCHMARK(BM_FlowTableEntrySize<24>);

// Evaluator::evaluate on decoded keys: arg 0 = rules on the ENI, arg 1 = live flows (0 = a new flow per packet).
void BM_Evaluate(benchmark::State& state) {
  const auto rules = static_cast<std::size_t>(state.range(0));
  const auto flows = static_cast<std::uint32_t>(state.range(1));
  const Capture& c = captureOf(flows);
  const auto network = std::make_shared<const Network>(benchModelOf(rules));
  auto evaluator = std::make_unique<Evaluator>(network, EvalOptions{});
  const std::int64_t span = c.ts.back() - c.ts.front() + 1;
  std::size_t i = 0, accepted = 0;
  std::int64_t offset = 0;
  for (auto _ : state) {
    const PacketVerdict v = evaluator->evaluate(c.keys[i], c.ts[i] + offset);
    accepted += v.verdict == Verdict::Accept;
    if (++i == c.keys.size()) {
      i = 0;
      offset += span;
      if (flows == 0) {  // every pass must start with an empty table, or the "new" flows would be known
        state.PauseTiming();
        evaluator = std::make_unique<Evaluator>(network, EvalOptions{});
        offset = 0;
        state.ResumeTiming();
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["accept%"] = 100.0 * static_cast<double>(accepted) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Evaluate)
    ->ArgNames({"rules", "flows"})
    ->Args({1000, 100'000})
    ->Args({1000, 0})
    ->Args({100, 100'000})
    ->Args({100, 0})
    ->Args({10'000, 100'000})
    ->Args({10'000, 0});

// TrafficAudit::process on the same keys, every rule of the ENI audited: what the audit adds to the evaluator
// (hits, fallbacks, shadows), to set against BM_Evaluate with the same arguments.
void BM_Audit(benchmark::State& state) {
  const auto rules = static_cast<std::size_t>(state.range(0));
  const auto flows = static_cast<std::uint32_t>(state.range(1));
  const Capture& c = captureOf(flows);
  const auto network = std::make_shared<const Network>(benchModelOf(rules));
  AuditOptions options;
  options.groups = *auditedGroups(network->model(), {}, {});
  auto audit = std::make_unique<TrafficAudit>(network, options);
  const std::int64_t span = c.ts.back() - c.ts.front() + 1;
  std::size_t i = 0;
  std::int64_t offset = 0;
  Frame f;
  for (auto _ : state) {
    f.number = i + 1;
    f.tsNs = c.ts[i] + offset;
    f.wireLen = c.frames[i].second;
    audit->process(f, c.keys[i]);
    if (++i == c.keys.size()) {
      i = 0;
      offset += span;
      if (flows == 0) {  // every pass must start with an empty table, as in BM_Evaluate
        state.PauseTiming();
        audit = std::make_unique<TrafficAudit>(network, options);
        offset = 0;
        state.ResumeTiming();
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["shadows"] = static_cast<double>(audit->shadowCount());
}
BENCHMARK(BM_Audit)->ArgNames({"rules", "flows"})->Args({1000, 100'000})->Args({1000, 0})->Args({10'000, 100'000});

ApiRequest revokeRequest(const char* text) {
  auto r = parseRequest(text);
  if (!r) die(r.error());
  return *r;
}
// A rule in the middle of the table, by id, and one described by its Permissions (matched field by field).
ApiRequest revokeById() {
  return revokeRequest(
      R"({"Action":"RevokeSecurityGroup","SecurityGroupId":"sg-bench","SecurityGroupRuleId":["sgr-bench000500"]})");
}
ApiRequest revokeByPermissions(const Model& m) {
  const Rule* r = nullptr;
  for (const Rule& x : m.groups[0].rules)
    if (x.direction == Direction::Ingress && x.peer.kind == Peer::Kind::Cidr && x.id >= "sgr-bench000500") {
      r = &x;
      break;
    }
  std::string text = "Action=RevokeSecurityGroup&SecurityGroupId=sg-bench&Permissions.1.IpProtocol=";
  text += toString(r->protocol);
  text += "&Permissions.1.PortRange=" + r->portRange->toString() +
          "&Permissions.1.SourceCidrIp=" + r->peer.cidr.toString() + "&Permissions.1.Policy=" + toString(r->policy) +
          "&Permissions.1.Priority=" + std::to_string(r->priority);
  return revokeRequest(text.c_str());
}

// Target 4: from a model with the 1,000-rule ENI to a Network ready to classify, after a revoke. The model copy
// that a caller keeps to apply the request on is made outside the timing (applyRequest changes it in place).
void rebuild(benchmark::State& state, const ApiRequest& req, bool apply, bool build) {
  const Model& base = benchModelOf(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    Model m = base;
    state.ResumeTiming();
    if (apply) {
      const ApiOutcome out = applyRequest(m, req);
      if (!out.ok() || out.removedRuleIds.size() != 1) {
        state.SkipWithError("the revoke did not remove exactly one rule");
        break;
      }
    }
    if (build) benchmark::DoNotOptimize(std::make_shared<const Network>(m));
  }
}
void BM_Rebuild_RevokeById(benchmark::State& state) { rebuild(state, revokeById(), true, true); }
void BM_Rebuild_RevokeByPermissions(benchmark::State& state) {
  rebuild(state, revokeByPermissions(benchModelOf(static_cast<std::size_t>(state.range(0)))), true, true);
}
void BM_Rebuild_ApplyOnly(benchmark::State& state) { rebuild(state, revokeById(), true, false); }
void BM_Rebuild_ApplyOnlyByPermissions(benchmark::State& state) {
  rebuild(state, revokeByPermissions(benchModelOf(static_cast<std::size_t>(state.range(0)))), true, false);
}
void BM_Rebuild_NetworkOnly(benchmark::State& state) { rebuild(state, revokeById(), false, true); }
BENCHMARK(BM_Rebuild_RevokeById)->ArgName("rules")->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Rebuild_RevokeByPermissions)->ArgName("rules")->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Rebuild_ApplyOnly)->ArgName("rules")->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Rebuild_ApplyOnlyByPermissions)->ArgName("rules")->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Rebuild_NetworkOnly)->ArgName("rules")->Arg(1000)->Arg(10'000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sgsim

BENCHMARK_MAIN();
