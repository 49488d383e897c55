#pragma once
// The traffic half of `sgsim audit` (issue 9): in one pass over a capture, for every rule of the audited groups,
// the traffic it decided (hits) and exactly what `whatif --revoke <that rule by id>` would report (ifRevoked, and
// which rule or default decides the changed flows instead: the fallback).
//
// What it answers. For a rule table T (one Network) and the options of a run (EvalOptions: --host, --direction,
// --max-flows), and for every audited rule R:
// - hits: the packets at one of whose checks R was the deciding rule (a decision by the rules, as `replay` shows
//   it: the first packet of a flow at an ENI, or the first after its entry expired; not the packets that pass as
//   `established` or drop as `blocked`; a later fragment counts with its first fragment), their bytes on the
//   wire, first and last time, and the flows they belong to. At any ENI that holds R's group, in both roles of a
//   packet between two modeled ENIs (egress at the sender, ingress at the receiver).
// - ifRevoked and fallback: WhatIf(before = T, after = T without R) over the same frames (src/verdict/whatif.cpp):
//   changed flows, of which cut (accept → drop) and opened (drop → accept), the packets and bytes whose verdict
//   changes, every changed flow as WhatIf::ranked() gives it, and the fallback as whatif reports it
//   (fallbackOf: the changed flows counted by what decides their first changed packet under T without R).
// A flow is WhatIf's: a conversation, protocol and both endpoints either way (FlowKey::make with ENI 0), a later
// fragment in its first fragment's flow. An unmatched later fragment is in no flow and changes nothing.
//
// How, in one pass. The base is T's own evaluation, the evaluator's algorithm (verdict/evaluator.h) run here over
// a flow table of ours (BasicConnTracker<1>, the same probes, plans and prefetches as `replay`), because forking a
// shadow needs the state a packet found, before the packet changed it. Two facts make the rest exact and cheap:
// 1. T and T without R decide a packet at a check alike unless R wins that decision in T: intra-group acceptance
//    comes before the rules (so R cannot have decided it), and removing R keeps the other rules in the same
//    relative order (model/order.h ranks by priority, policy, group position, rule position). When R wins, T
//    without R decides by the first matching rule after R in the evaluation order, else by the default. Only
//    boxes of later rules that overlap one of R's boxes can match a packet R matched, and none after a box that
//    covers all of R's boxes (it matches every such packet): that candidate list is made once per (ENI,
//    direction, rule), when the rule first wins, and scanned in order (first match wins).
// 2. Connection state is per conversation (the flow table's key is ENI + conversation): a conversation's entries
//    under T without R evolve exactly as under T as long as every decision made for it gets the same verdict
//    (an entry records the fate and the timers, not the deciding rule). So for conversation C and rule R nothing
//    is kept until R wins one of C's decisions with a fallback whose verdict differs; then a shadow of C's state
//    is forked from the entries C had at its ENIs just before that packet, and from then on every packet of C is
//    also evaluated under T without R in that shadow, on the shadow's own entries, with the shadow's own
//    decisions (T's decision, or the fallback where R wins). A packet whose shadow verdict differs from the base
//    verdict is a changed packet of (R, C); the first one classifies the flow (cut, opened, other) and names the
//    fallback, as WhatIf does. A first fragment records the shadows' verdicts that differ, so that its later
//    fragments change with it.
// A shadow is dropped when it holds nothing the base does not: its entries equal the base's at every ENI of C
// (both expired, or live and alike), checked after each packet that touched them all, and in a sweep of every
// shadow (AuditOptions::sweepShadowsFrom; amortised O(1) per new shadow) against the base's table. Being
// "expired" in the shadow is not enough: the base may still hold a live entry the shadow lacks (tested). A later
// win of R forks it again, and its changes go on counting in the same flow.
//
// What is exact. hits equal what `replay` shows, frame for frame; ifRevoked and fallback equal
// `whatif --revoke` (without --at) for every audited rule, statefulness included: blocked and established
// entries, the two checks between modeled ENIs (a drop at the sender's egress that the revoke turns into an
// accept now reaches the receiver, whose entry the shadow takes from the base as it was), a packet from an ENI to
// itself, a group shared by several ENIs (one rule, several tables: R is found by its group and position, at each
// ENI's own index), fragments, expiry and re-decisions, TCP FIN/RST timers. tests/verdict/audit_test.cpp checks
// it against a WhatIf per rule on random models and streams and on the bundled samples.
// What is not: the flow-table cap (--max-flows). At the cap the evaluator decides new flows without state, and
// WhatIf's one table holds both sides' entries, so it reaches the cap at a moment that depends on the revoked
// rule. The base is still exactly `replay`'s (same table, same cap), but the shadows keep their entries
// whatever the cap. When the base table plus every shadow entry could have reached the cap (a bound that covers
// any single WhatIf's table), warnings() says that ifRevoked may differ from whatif's.
//
// Costs. Per packet: the base evaluation (one flow-table probe per check, as `replay`), one probe of the shadow
// table while any shadow lives, and per shadow of the packet's conversation one more evaluation of the packet
// (nearly always a lookup in the shadow's own two entries, no classification). The shadow table is keyed by the
// conversation at its anchor ENI (the lower of the ENIs it is checked at) and hashed as the flow table hashes
// that key, so the plan's hash lets prefetch() load its slot with the flow table's; a slot holds the first shadow
// inline. Changed packets are counted in the shadow (in cache) and settled into their record when the shadow goes
// or results() is read. Per decision won by an audited rule: the fallback, a scan of that rule's candidates that
// stops at the first match; the candidate list itself costs one pass over the later boxes, once per winning rule
// and ENI direction (on a 10,000-rule table, the largest item of the evaluating thread's profile). Why a table of
// our own, on transparent huge pages: a boost::unordered_flat_map probed by conversation on 4 KiB pages missed
// the TLB on nearly every packet and took the flow table's prefetched slots down with it (the evaluating thread's
// samples on the 2M-packet capture: 5,443 with it, 2,195 now, replay's 1,822). Memory: the shadows follow the
// live conversations whose fate some single revoke would change (usually one shadow each, for the rule that
// decided them), and the fragments' recorded verdicts expire with the fragments; what grows with the capture are
// the distinct (rule, flow) pairs of hits and of changed flows (one set entry, resp. one ChangedRecord, each), as
// WhatIf keeps every changed flow. docs/PERFORMANCE.md ("Audit") has the measurements.
// Threads: none; one TrafficAudit belongs to one thread. planner() may be used on another (read_ahead.h).

#include <sys/mman.h>

#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/core/result.h"
#include "sgsim/verdict/evaluator.h"
#include "sgsim/verdict/whatif.h"

namespace sgsim {

// Large arrays on transparent huge pages (as the flow table's slots, flow/conntrack.h): the audit's maps are
// probed at random once per packet, and on 4 KiB pages nearly every probe also misses the TLB.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(std::size_t n) {
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    const std::size_t bytes = n * sizeof(T);
    void* p = nullptr;
    if (bytes >= kHuge) {
      const std::size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
      p = std::aligned_alloc(kHuge, rounded);
      if (p != nullptr) madvise(p, rounded, MADV_HUGEPAGE);
    } else {
      p = std::malloc(bytes);
    }
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

// The groups an audit covers (indexes into model.groups, model order): the groups named by `groupIds` together
// with the groups on the ENIs named by `eniIds`; with neither, every group that some ENI holds. An unknown id is
// an error naming the option (`--eni`, `--group`) with a "did you mean" hint; a group no ENI holds is audited
// with zero figures.
Result<std::vector<std::size_t>> auditedGroups(const Model& model, const std::vector<std::string>& eniIds,
                                               const std::vector<std::string>& groupIds);

struct AuditOptions {
  EvalOptions eval;
  // Indexes into the network's model.groups (auditedGroups()), in the order results() lists them; every rule of
  // each is audited. An index given twice counts once; one the model lacks is ignored.
  std::vector<std::size_t> groups;
  // Sweep the shadows when the conversations holding them reach this many, then each time they reach this many
  // plus twice as many as the last sweep kept; 0: after every packet. Tests lower it to sweep often: it changes
  // no figure, only memory and time.
  std::size_t sweepShadowsFrom = 1024;
};

struct RuleHits {
  std::uint64_t flows = 0;               // distinct flows with at least one such packet
  std::uint64_t packets = 0;             // packets at one of whose checks the rule was the deciding rule
  std::uint64_t bytes = 0;               // their length on the wire
  std::int64_t firstNs = 0, lastNs = 0;  // capture timestamps; 0 when packets == 0
};

// The figures of `whatif --revoke <rule>`'s JSON totals.
struct RevokeImpact {
  std::uint64_t changedFlows = 0;
  std::uint64_t cutFlows = 0;     // accepted before, dropped after (first changed packet)
  std::uint64_t openedFlows = 0;  // dropped before, accepted after
  std::uint64_t otherFlows = 0;   // WhatIfTotals::other (cannot happen with a revoke alone: kept for honesty)
  std::uint64_t changedPackets = 0;
  std::uint64_t changedBytes = 0;
};

struct AuditedRule {
  std::size_t group = 0, rule = 0;  // indexes into model.groups and that group's rules
  std::string ruleId, groupId;
  Direction direction = Direction::Ingress;
  int priority = 1;
  Policy policy = Policy::Accept;
  std::vector<std::string> enis;  // ids of the ENIs that hold the group, model order
  RuleHits hits;
  RevokeImpact ifRevoked;
  // Who decides the changed flows once the rule is revoked: exactly whatif's `fallback` for that revoke
  // (fallbackOf(changedFlows(i)): per deciding rule, default, intra-group or state, most flows first).
  std::vector<Fallback> fallback;
};

class TrafficAudit {
 public:
  TrafficAudit(std::shared_ptr<const Network> network, AuditOptions options);
  ~TrafficAudit();
  TrafficAudit(const TrafficAudit&) = delete;
  TrafficAudit& operator=(const TrafficAudit&) = delete;

  // The planner for this audit's evaluator, for plans made ahead on a reading thread (capture/read_ahead.h).
  static BasicPlanner<1> planner(const std::shared_ptr<const Network>& network, const EvalOptions& eval) {
    return BasicPlanner<1>(network, {network}, eval);
  }

  // Evaluates one frame under the table and, for the audited rules whose shadows the frame's conversation has,
  // under the table without each. Frames must come in capture order.
  void process(const Frame& frame, const PacketKey& key);
  // The same with a plan made ahead by planner().
  void process(const Frame& frame, const PacketKey& key, const BasicPacketPlan<1>& plan);
  // Starts loading the flow-table and shadow-table slots a planned packet will touch (issue it a few packets
  // ahead, as the CLI does for the evaluator).
  void prefetch(const BasicPacketPlan<1>& plan) const;

  // The table's verdict on the last frame: what `replay` reports for it (feed ReplayStats with it).
  const PacketVerdict& lastVerdict() const { return last_; }
  std::uint64_t frames() const { return frames_; }
  // Every audited rule, group by group in AuditOptions::groups' order, each group's rules in its list order. Not
  // const: it first adds the changed packets the live shadows still hold to their flows (frames may follow: they
  // count on).
  std::vector<AuditedRule> results();
  // The changed flows of revoking results()[i] alone, ranked as WhatIf::ranked() ranks them (the same flows, in the
  // same order, with the same figures).
  std::vector<ChangedFlow> changedFlows(std::size_t i);
  // What the caller must pass on (report/issues.h): today only the flow-table cap (see the essay above).
  std::vector<Error> warnings() const;
  // The base's flow table (capHits() for ReplayStats, as `replay` reports it).
  const ConnTracker& tracker() const { return tracker_; }
  const Network& network() const { return *network_; }
  // Live shadows (for the tests and the benchmarks).
  std::size_t shadowCount() const { return shadowCount_; }

 private:
  // A conversation's state under the table without one rule, from the first decision that rule won with another
  // verdict: its own entry at each of the conversation's ENIs (eni −1: unused).
  struct Shadow {
    std::int32_t rule = -1;    // audited rule index
    std::int32_t record = -1;  // records_ index once the flow has changed
    std::array<std::int32_t, 2> eni{-1, -1};
    std::array<FlowEntry, 2> entry{};
    // Changed packets of the record not yet added to it and to the rule's totals (settle()): the shadow is in
    // cache when a packet changes, the record and the rule usually are not.
    std::uint64_t packets = 0, bytes = 0;
    std::int64_t lastNs = 0;
  };
  class ShadowTable;  // the conversations that have shadows (audit.cpp)
  // A changed (rule, flow): WhatIf's ChangedFlow, with the decisions kept as checks until reported.
  struct ChangedRecord {
    std::int32_t rule = -1;
    std::uint8_t proto = 0;
    bool openerSeen = false;  // as WhatIf orients its flows (orientationOf)
    Direction direction = Direction::Ingress;
    IpAddr src, dst;
    std::uint16_t sport = 0, dport = 0;
    std::uint64_t packets = 0, bytes = 0;
    std::int64_t firstNs = 0, lastNs = 0;
    std::uint64_t firstFrame = 0;
    std::uint16_t firstFile = 0;
    Check before, after;  // eni −1: no check (verdict and reason only)
  };
  struct RuleState {
    std::size_t group = 0, rule = 0;
    RuleHits hits;
    RevokeImpact impact;
    std::vector<std::uint32_t> records;  // records_ indexes
  };
  // A first fragment: its verdict under the table, the flow its later fragments belong to, and the verdicts of
  // the shadows under which it fared differently.
  struct FragRecord {
    std::int64_t tsNs = 0;
    PacketVerdict base;
    FragmentFlow flow;
    std::vector<std::pair<std::int32_t, PacketVerdict>> shadows;
  };
  struct RuleFlow {  // an IPv4 conversation and a rule index below 2^24
    std::uint64_t hi = 0, lo = 0;
    bool operator==(const RuleFlow&) const = default;
  };
  struct RuleFlowHash {
    std::size_t operator()(const RuleFlow& k) const noexcept {
      std::uint64_t h = k.hi * 0x9e3779b97f4a7c15ULL ^ k.lo;
      h ^= h >> 29;
      h *= 0xbf58476d1ce4e5b9ULL;
      return static_cast<std::size_t>(h ^ (h >> 32));
    }
  };
  struct Packet;
  struct BaseEnv;
  struct ShadowEnv;
  struct FragKey {
    IpAddr src, dst;
    std::uint32_t id = 0;
    std::uint8_t proto = 0;
    bool operator==(const FragKey&) const = default;
  };
  struct FragKeyHash {
    std::size_t operator()(const FragKey& k) const noexcept;
  };
  // A classifier box as the fallback scans it: IPv4 addresses as 32-bit base and mask, compared inline (an IPv6
  // box is matched from boxes(), the general way).
  struct ScanBox {
    std::uint32_t srcBase = 0, srcMask = 0, dstBase = 0, dstMask = 0;
    std::uint16_t sportLo = 0, sportHi = 0, dportLo = 0, dportHi = 0;
    std::int16_t proto = -1;
    bool v6 = false;
    std::uint32_t rule = 0;  // rules(eni, d) index
  };
  struct DirTables {
    std::vector<std::int32_t> audited;                   // per rules(eni, d) index: audited rule index, or -1
    std::vector<std::vector<std::uint32_t>> candidates;  // per rules(eni, d) index: boxes() positions (lazy)
    std::vector<bool> haveCandidates;
    std::vector<ScanBox> scan;  // per boxes() position, made with the first candidate list
  };

  static FragKey fragKeyOf(const PacketKey& k);
  DirTables& tables(std::int32_t eni, Direction d) {
    return dirs_[static_cast<std::size_t>(eni) * 2 + (d == Direction::Ingress ? 0 : 1)];
  }
  // The decision of the table without rules(eni, d)[ruleRef], for a packet that rule matched first.
  Decision fallback(std::int32_t eni, Direction d, std::int32_t ruleRef, const PacketFields& f);
  const std::vector<std::uint32_t>& candidates(std::int32_t eni, Direction d, std::int32_t ruleRef);
  void countHits(const PacketVerdict& v, const FlowKey& conv, const Frame& frame);
  // A packet whose verdict differs under the table without `rule`. `flow` is the packet's protocol and ports (a
  // later fragment's first fragment's); *cached, when given, caches the record's index.
  void recordChange(std::int32_t rule, std::int32_t* cached, const FlowKey& conv, const Frame& frame,
                    const PacketKey& key, const FragmentFlow& flow, const PacketVerdict& after);
  void processLaterFragment(const Frame& frame, const PacketKey& key);
  // A new (rule, conversation) hit pair?
  bool firstHit(const FlowKey& conv, std::int32_t rule);
  // The record index of a changed (rule, conversation) pair, made `next` (and true) when it is new.
  std::pair<std::uint32_t, bool> changedIndex(const FlowKey& conv, std::int32_t rule, std::uint32_t next);
  const std::uint32_t* findChanged(const FlowKey& conv, std::int32_t rule) const;
  // The table's decision at check slot i of the packet (0: egress at the sender, 1: ingress at the receiver),
  // and the decision without the rule that won it; each made once per packet.
  Decision tableDecision(Packet& p, int i);
  Decision fallbackDecision(Packet& p, int i);
  // Whether a shadow's entries equal the base's (both expired, or live and alike) at each of its ENIs; base[k]
  // is the base's entry at the shadow's ENI k (null: none).
  bool sameAsBase(const Shadow& s, const std::array<const FlowEntry*, 2>& base, const FlowKey& conv,
                  std::int64_t nowNs) const;
  void sweepShadows(std::int64_t nowNs);
  void settle(Shadow& s);
  void settleAll();
  SideDecision describe(const Check& c) const;
  std::vector<ChangedFlow> settledChangedFlows(std::size_t i) const;  // after settleAll()

  std::shared_ptr<const Network> network_;
  AuditOptions options_;
  std::vector<DirTables> dirs_;  // per ENI: ingress, egress
  std::vector<RuleState> rules_;
  BasicPlanner<1> planner_;  // for process() without a plan: decides nothing ahead
  ConnTracker tracker_;
  PacketVerdict last_;
  std::uint64_t frames_ = 0;
  std::unique_ptr<ShadowTable> shadows_;
  std::size_t shadowCount_ = 0;
  std::size_t shadowSweepAt_;
  // (rule, conversation) pairs that hit, and that changed (→ records_): one entry per distinct pair of the whole
  // capture. An IPv4 conversation packs with its rule into 16 bytes (RuleFlow); IPv6 ones are a FlowKey whose ENI
  // field holds the rule.
  template <class K>
  using PairSet =
      boost::unordered_flat_set<K, std::conditional_t<std::is_same_v<K, FlowKey>, FlowKeyHash, RuleFlowHash>,
                                std::equal_to<K>, HugePageAllocator<K>>;
  template <class K>
  using PairMap = boost::unordered_flat_map<K, std::uint32_t,
                                            std::conditional_t<std::is_same_v<K, FlowKey>, FlowKeyHash, RuleFlowHash>,
                                            std::equal_to<K>, HugePageAllocator<std::pair<const K, std::uint32_t>>>;
  PairSet<RuleFlow> hitFlows4_;
  PairSet<FlowKey> hitFlows6_;
  PairMap<RuleFlow> changed4_;
  PairMap<FlowKey> changed6_;
  std::deque<ChangedRecord> records_;  // grows in chunks: never copied whole, as a vector would when it doubles
  boost::unordered_flat_map<FragKey, FragRecord, FragKeyHash> frags_;
  std::size_t nextFragSweep_ = 1024;
  bool nearCap_ = false;
};

}  // namespace sgsim
