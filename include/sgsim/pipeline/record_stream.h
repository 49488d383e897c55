#pragma once
// The stream of flow-log records (issue 10; stage.h, "Adding a source"): the logs merged in the order of the
// session mapping (capture/flow_log.h, MergedFlowLog), each record read on the reading thread (the same ReadAhead
// ring as captures) and handed on where it lies in the window (not copied: the window keeps the records the ring
// can hold, MergedFlowLog::keepHandedOut), turned into a PacketKey and planned on the evaluating thread as its batch
// arrives (reading CSV is the slower side of a flow-log run, and the evaluation had time to spare:
// docs/PERFORMANCE.md, "Flow logs"), handed to the evaluation as a Frame whose `record` points at its fields
// (packets, bytes, end, logged action), so that replay, whatif and audit take records without a loop of their own.
//
// A record is logged at one ENI, in one direction: it is checked there only (ingress at its ENI when `in`, egress
// when `out`), not at the other end even when the model holds that ENI too (its own records say what happened
// there: checking both would count the same packets twice). A record whose eni-id the model does not hold, or
// whose address at that ENI is not one of the ENI's, is checked as a packet would be (by its addresses) and counted
// (a warning names the first).

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sgsim/capture/flow_log.h"
#include "sgsim/capture/read_ahead.h"
#include "sgsim/decode/packet_key.h"
#include "sgsim/pipeline/stage.h"
#include "sgsim/verdict/network.h"

namespace sgsim {

// The key a record is evaluated under: its 5-tuple and its tcp-flags (the OR of its window's).
PacketKey keyOfRecord(const FlowRecord& r);

// Which ENI ids the model holds, for the records' eni-id (heterogeneous lookup: no string per record).
class EniIndex {
 public:
  explicit EniIndex(const Network& network);
  std::int32_t find(std::string_view id) const {
    auto it = ids_.find(id);
    return it == ids_.end() ? -1 : it->second;
  }
  // The same for a record's eni-id, remembering the last one: a reader keeps one copy of each id (FlowText), so the
  // same pointer is the same id, and a log's records name few ENIs (no hash of the id per record). One thread only.
  std::int32_t find(const FlowText& id) {
    if (id.text == nullptr || id.text != lastText_) {
      lastEni_ = find(id.view());
      lastText_ = id.text;
    }
    return lastEni_;
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  boost::unordered_flat_map<std::string, std::int32_t, Hash, Eq> ids_;
  const std::string* lastText_ = nullptr;
  std::int32_t lastEni_ = -1;
};

// Restricts a plan to the record's own check (see above). Returns false when the record could not be placed at its
// ENI (unknown eni-id, or the address is not the ENI's): the plan is then left as the addresses made it.
// Whether a record whose packets' ends are the ENIs src and dst (BasicPlanner::ends) is placed at its ENI.
inline bool placedAt(const FlowRecord& r, EniIndex& enis, std::int32_t src, std::int32_t dst) {
  const std::int32_t eni = enis.find(r.eni);
  return eni >= 0 && (r.inbound ? dst : src) == eni;
}
template <int Sides>
bool placeRecord(const FlowRecord& r, EniIndex& enis, BasicPacketPlan<Sides>& plan) {
  if (!placedAt(r, enis, plan.src, plan.dst)) return false;
  (r.inbound ? plan.checkSrc : plan.checkDst) = false;
  return true;
}

// The warning of records not placed at their ENI (placeRecord false): how many, the first (its log and line) and its
// eni-id. One text for a run and for a flow-log index, which counts them for the whole input (pipeline/split.h).
Error unplacedWarning(std::uint64_t count, std::string where, std::string_view eni);

// What placeRecord's answers depend on besides the record: the model's interfaces (ids and addresses, in order) and
// the planner's direction and interface (--direction, --host). A digest, so that a run can tell that a flow-log
// index counted the records not placed as it would.
std::string placementDigest(const Network& network, const EvalOptions& options);

template <int Sides>
struct PlannedRecord {
  PacketKey key;
  BasicPacketPlan<Sides> plan;
};

template <int Sides>
class RecordStream {
  // On the reading thread: nothing (the frame points at the record in the window).
  struct Prepare {
    void operator()(Frame&, PlannedRecord<Sides>&, bool) const {}
  };
  static constexpr std::size_t kBatch = 256, kDepth = 16;
  // On the evaluating thread: the record's key and plan, checked at its ENI only. No rule decision is made ahead
  // (the evaluation makes them).
  void plan(const FlowRecord& r, PlannedRecord<Sides>& p) {
    p.key = keyOfRecord(r);
    planner_.plan(p.key, p.plan, false);
    if (!placeRecord(r, enis_, p.plan) && countUnplaced_) unplaced(r);
  }

 public:
  using Item = AheadFrame<PlannedRecord<Sides>>;

  RecordStream(MergedFlowLog& logs, const Network& network, const BasicPlanner<Sides>& planner, bool thread)
      : logs_(logs),
        enis_(network),
        planner_(planner),
        // Planning on the evaluating thread (next()), no rule decisions on the reading thread (spareAt 0): reading
        // CSV is the slower side of a flow-log run, and the batches it has ready come in bursts as the window
        // releases a start's records, not because it has time to spare (docs/PERFORMANCE.md, "Flow logs").
        ahead_((logs.keepHandedOut(kBatch * kDepth + kBatch), logs), Prepare{},
               ReadAheadOptions{thread, false, kBatch, kDepth, 0}) {}
  RecordStream(const RecordStream&) = delete;
  RecordStream& operator=(const RecordStream&) = delete;

  std::span<const Item> next() {
    const std::span<const Item> batch = ahead_.next();
    if (batch.empty()) logs_.releaseMemory();  // the reading thread has ended; the last batch is done with
    // The batch is this thread's until the next call (capture/read_ahead.h), and its items are elements of a vector,
    // not const objects: planned in place. The records were written on the other thread: fetched a few ahead.
    constexpr std::size_t kFetchAhead = 4;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i + kFetchAhead < batch.size()) {
        const char* r = reinterpret_cast<const char*>(batch[i + kFetchAhead].frame.record);
        __builtin_prefetch(r);
        __builtin_prefetch(r + 64);
        __builtin_prefetch(r + offsetof(FlowRecord, eni) + sizeof(FlowText) - 1);
      }
      plan(*batch[i].frame.record, const_cast<Item&>(batch[i]).extra);
    }
    return batch;
  }
  static Observation<Sides> observation(const Item& item) { return {item.frame, item.extra.key, item.extra.plan}; }
  std::vector<std::string> names() const {
    if (!names_.empty()) return names_;
    std::vector<std::string> out;
    for (const auto& r : logs_.readers()) out.push_back(r->path());
    return out;
  }
  // The logs the records' fileIndex names, when they are not the files read (`--split`: a shard file's records keep
  // their original log). Before the first next().
  void setNames(std::vector<std::string> names) { names_ = std::move(names); }
  // Whether records not placed at their ENI are counted (a warning): not when a flow-log index counted them for the
  // whole input (the shard's run then has that count; pipeline/split.h). Before the first next().
  void setCountUnplaced(bool on) { countUnplaced_ = on; }
  const std::vector<Error>& errors() const { return logs_.errors(); }
  // The logs' warnings (bad, SKIPDATA and late records, records not placed at their ENI) and counts.
  void account(ReplayStats& stats) const {
    stats.flowLog = true;
    const auto warnings = logs_.warnings();
    stats.warnings.insert(stats.warnings.end(), warnings.begin(), warnings.end());
    if (unplaced_ > 0) stats.warnings.push_back(unplacedWarning(unplaced_, firstUnplaced_, firstUnplacedEni_));
    for (const auto& r : logs_.readers()) {
      stats.flowLogCounts.noData += r->noData();
      stats.flowLogCounts.skipData += r->skipData();
      stats.flowLogCounts.bad += r->badRecords();
    }
  }

 private:
  void unplaced(const FlowRecord& r) {
    if (unplaced_++ == 0) {
      const std::vector<std::string> files = names();
      firstUnplaced_ =
          (r.fileIndex < files.size() ? files[r.fileIndex] : "flow log") + ": line " + std::to_string(r.line);
      firstUnplacedEni_ = std::string(r.eni.view());
    }
  }

  MergedFlowLog& logs_;
  EniIndex enis_;
  const BasicPlanner<Sides> planner_;
  std::uint64_t unplaced_ = 0;
  bool countUnplaced_ = true;
  std::string firstUnplaced_, firstUnplacedEni_;
  std::vector<std::string> names_;
  ReadAhead<PlannedRecord<Sides>, Prepare, MergedFlowLog> ahead_;  // last: its thread uses the members above
};

}  // namespace sgsim
