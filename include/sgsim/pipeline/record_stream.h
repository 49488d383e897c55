#pragma once
// The stream of flow-log records (issue 10; stage.h, "Adding a source"): the logs merged in the order of the
// session mapping (capture/flow_log.h, MergedFlowLog), each record read, turned into a PacketKey and planned on the
// reading thread (the same ReadAhead ring as captures), handed to the evaluation as a Frame whose `record` points at
// its fields (packets, bytes, end, logged action), so that replay, whatif and audit take records without a loop of
// their own.
//
// A record is logged at one ENI, in one direction: it is checked there only (ingress at its ENI when `in`, egress
// when `out`), not at the other end even when the model holds that ENI too (its own records say what happened
// there: checking both would count the same packets twice). A record whose eni-id the model does not hold, or
// whose address at that ENI is not one of the ENI's, is checked as a packet would be (by its addresses) and counted
// (a warning names the first).

#include <boost/unordered/unordered_flat_map.hpp>
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
};

// Restricts a plan to the record's own check (see above). Returns false when the record could not be placed at its
// ENI (unknown eni-id, or the address is not the ENI's): the plan is then left as the addresses made it.
template <int Sides>
bool placeRecord(const FlowRecord& r, const EniIndex& enis, BasicPacketPlan<Sides>& plan) {
  const std::int32_t eni = enis.find(r.eni.view());
  if (eni < 0) return false;
  if (r.inbound) {
    if (plan.dst != eni) return false;
    plan.checkSrc = false;
  } else {
    if (plan.src != eni) return false;
    plan.checkDst = false;
  }
  return true;
}

template <int Sides>
struct PlannedRecord {
  PacketKey key;
  BasicPacketPlan<Sides> plan;
  FlowRecord record;
};

template <int Sides>
class RecordStream {
  struct Prepare {
    const BasicPlanner<Sides>* planner;
    const EniIndex* enis;
    RecordStream* stream;  // its counts, touched only by the reading thread until the end
    void operator()(Frame& f, PlannedRecord<Sides>& p, bool spare) const {
      p.record = *f.record;
      f.record = &p.record;
      p.key = keyOfRecord(p.record);
      planner->plan(p.key, p.plan, spare);
      // A record from an ENI to itself is one check at that ENI: decisions made ahead assumed both.
      if (p.plan.checkSrc && p.plan.checkDst && p.plan.src == p.plan.dst) planner->plan(p.key, p.plan, false);
      if (!placeRecord(p.record, *enis, p.plan)) stream->unplaced(p.record);
    }
  };

 public:
  using Item = AheadFrame<PlannedRecord<Sides>>;

  RecordStream(MergedFlowLog& logs, const Network& network, const BasicPlanner<Sides>& planner, bool thread)
      : logs_(logs),
        enis_(network),
        planner_(planner),
        // No rule decisions made ahead on the reading thread (spareAt 0): reading CSV is the slower side of a
        // flow-log run, and the batches it has ready come in bursts as the window releases a start's records, not
        // because it has time to spare (measured: docs/PERFORMANCE.md, "Flow logs").
        ahead_(logs, Prepare{&planner_, &enis_, this}, ReadAheadOptions{thread, false, 256, 16, 0}) {}
  RecordStream(const RecordStream&) = delete;
  RecordStream& operator=(const RecordStream&) = delete;

  std::span<const Item> next() { return ahead_.next(); }
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
  const std::vector<Error>& errors() const { return logs_.errors(); }
  // The logs' warnings (bad, SKIPDATA and late records, records not placed at their ENI) and counts.
  void account(ReplayStats& stats) const {
    stats.flowLog = true;
    const auto warnings = logs_.warnings();
    stats.warnings.insert(stats.warnings.end(), warnings.begin(), warnings.end());
    if (unplaced_ > 0)
      stats.warnings.push_back(
          Error{firstUnplaced_, std::to_string(unplaced_) + (unplaced_ == 1 ? " record was" : " records were") +
                                    " not logged at an interface of the model holding its address (this one: eni-id " +
                                    firstUnplacedEni_ +
                                    "): checked by its addresses instead, at every modeled interface they touch"});
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
  std::string firstUnplaced_, firstUnplacedEni_;
  std::vector<std::string> names_;
  ReadAhead<PlannedRecord<Sides>, Prepare, MergedFlowLog> ahead_;  // last: its thread uses the members above
};

}  // namespace sgsim
