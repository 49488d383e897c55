#include "sgsim/verdict/whatif.h"

#include <algorithm>

#include "sgsim/capture/flow_log.h"

namespace sgsim {

std::vector<Fallback> fallbackOf(const std::vector<ChangedFlow>& flows) {
  std::vector<Fallback> out;
  for (const ChangedFlow& f : flows) {
    const SideDecision& a = f.after;
    auto it = std::find_if(out.begin(), out.end(), [&](const Fallback& x) {
      return x.verdict == a.verdict && x.reason == a.reason && x.ruleId == a.ruleId && x.groupId == a.groupId;
    });
    if (it == out.end()) it = out.insert(out.end(), Fallback{a.verdict, a.reason, a.ruleId, a.groupId, 0});
    ++it->flows;
  }
  std::sort(out.begin(), out.end(), [](const Fallback& x, const Fallback& y) {
    if (x.flows != y.flows) return x.flows > y.flows;
    if (x.ruleId != y.ruleId) return x.ruleId < y.ruleId;
    if (x.groupId != y.groupId) return x.groupId < y.groupId;
    if (x.verdict != y.verdict) return x.verdict < y.verdict;
    return x.reason < y.reason;
  });
  return out;
}

bool rankedBefore(const ChangedFlow& a, const ChangedFlow& b) {
  if (a.bytes != b.bytes) return a.bytes > b.bytes;
  if (a.packets != b.packets) return a.packets > b.packets;
  if (a.firstNs != b.firstNs) return a.firstNs < b.firstNs;
  if (a.firstFile != b.firstFile) return a.firstFile < b.firstFile;
  if (a.firstFrame != b.firstFrame) return a.firstFrame < b.firstFrame;
  if (a.proto != b.proto) return a.proto < b.proto;
  if (a.src != b.src) return a.src < b.src;
  if (a.sport != b.sport) return a.sport < b.sport;
  if (a.dst != b.dst) return a.dst < b.dst;
  if (a.dport != b.dport) return a.dport < b.dport;
  if (a.before.eniId != b.before.eniId) return a.before.eniId < b.before.eniId;
  return a.after.eniId < b.after.eniId;
}

FlowOrientation orientationOf(const PacketVerdict& before, const FlowKey& key, const FlowEntry* entry, bool srcIsA,
                              bool packetOpens) {
  FlowOrientation o;
  const Check* c = before.decidingCheck();
  if (c == nullptr) return o;
  // No entry (the flow table was full): the packet was decided as a first packet, and is all there is to go by.
  o.reversed = entry != nullptr && entry->origin.initiatorIsA != srcIsA;
  o.openerSeen = entry != nullptr ? openedBy(key, *entry) : packetOpens;
  o.direction = c->direction;
  // A packet from an ENI to itself is egress and ingress there: its deciding check's direction stays.
  const bool hairpin = before.checkCount == 2 && before.checks[0].eni == before.checks[1].eni;
  if (o.reversed && !hairpin) o.direction = c->direction == Direction::Ingress ? Direction::Egress : Direction::Ingress;
  return o;
}

WhatIf::WhatIf(const std::shared_ptr<const Network>& before, const std::shared_ptr<const Network>& after,
               WhatIfOptions options)
    : evaluator_({before, options.atNs ? before : after}, options.eval),
      pending_(options.atNs ? after : nullptr),
      options_(options) {}

BasicPlanner<2> WhatIf::planner(const std::shared_ptr<const Network>& before,
                                const std::shared_ptr<const Network>& after, const EvalOptions& eval, bool atInstant) {
  return BasicPlanner<2>(before, {before, atInstant ? nullptr : after}, eval);
}

SideDecision WhatIf::describe(int side, const PacketVerdict& v) const {
  SideDecision s;
  s.verdict = v.verdict;
  s.reason = v.reason;
  if (const Check* c = v.decidingCheck()) {
    const Network& n = evaluator_.network(side);
    s.eniId = n.eni(static_cast<std::size_t>(c->eni)).id;
    s.direction = c->direction;
    if (c->ruleRef >= 0) {
      const RuleRef& r = n.rules(static_cast<std::size_t>(c->eni), c->direction)[static_cast<std::size_t>(c->ruleRef)];
      s.ruleId = r.ruleId;
      s.groupId = r.groupId;
    } else if (c->intraGroup >= 0) {
      s.groupId = n.model().groups[static_cast<std::size_t>(c->intraGroup)].id;
    }
  }
  return s;
}

bool WhatIf::process(const Frame& frame, const PacketKey& key) {
  BasicPacketPlan<2> plan;
  evaluator_.plan(key, plan);
  return process(frame, key, plan);
}

void WhatIf::reachInstant() {
  if (!pending_) return;
  const InstantChange change =
      evaluator_.replaceNetwork(1, std::move(pending_), *options_.atNs, options_.keepEstablished);
  totals_.flowsCutAtInstant += change.cut;
  totals_.flowsReleasedAtInstant += change.released;
  pending_.reset();
}

bool WhatIf::process(const Frame& frame, const PacketKey& key, const BasicPacketPlan<2>& plan) {
  ++totals_.frames;
  if (pending_ && frame.tsNs >= *options_.atNs) reachInstant();
  evaluator_.evaluate(key, plan, frame.tsNs, last_, endOf(frame));
  // Matched or not is the same on both sides (one fragment table); unmatched ones are `none` on both.
  if (last_[0].reason == Reason::UnmatchedFragment) ++totals_.unmatchedFragments;
  if (last_[0].verdict == last_[1].verdict) return false;
  record(frame, key);
  return true;
}

void WhatIf::record(const Frame& frame, const PacketKey& key) {
  totals_.changedPackets += packetsOf(frame);
  totals_.changedBytes += bytesOf(frame);
  // A later fragment has no ports of its own: it belongs to its first fragment's flow.
  std::uint8_t proto = key.proto;
  std::uint16_t sport = key.sport, dport = key.dport;
  if (key.isFragment && !key.firstFragment) {
    if (const auto first = evaluator_.firstFragmentOf(key, frame.tsNs)) {
      proto = first->proto;
      sport = first->sport;
      dport = first->dport;
    }
  }
  bool srcIsA = true;
  const FlowKey fk = FlowKey::make(0, proto, key.src, sport, key.dst, dport, srcIsA);
  auto [it, inserted] = index_.try_emplace(fk, flows_.size());
  if (inserted) {
    ChangedFlow f;
    f.proto = proto;
    // The before table's entry at the deciding check's ENI, as this packet left it: who made it, and with what.
    const Check* d = last_[0].decidingCheck();
    bool srcIsA = true;
    const FlowKey k = FlowKey::make(d != nullptr ? static_cast<std::uint32_t>(d->eni) : 0, proto, key.src, sport,
                                    key.dst, dport, srcIsA);
    const FlowOrientation orient =
        orientationOf(last_[0], k, d != nullptr ? evaluator_.tracker().findLive(k, frame.tsNs, 0) : nullptr, srcIsA,
                      opensConnection(proto, key.tcpFlags, key.icmpType, sport, dport));
    f.src = orient.reversed ? key.dst : key.src;
    f.dst = orient.reversed ? key.src : key.dst;
    f.sport = orient.reversed ? dport : sport;
    f.dport = orient.reversed ? sport : dport;
    f.openerSeen = orient.openerSeen;
    f.direction = orient.direction;
    f.firstNs = frame.tsNs;
    f.firstFrame = frame.number;
    f.firstFile = frame.fileIndex;
    f.before = describe(0, last_[0]);
    f.after = describe(1, last_[1]);
    if (f.before.verdict == Verdict::Accept && f.after.verdict == Verdict::Drop)
      ++totals_.cut;
    else if (f.before.verdict == Verdict::Drop && f.after.verdict == Verdict::Accept)
      ++totals_.opened;
    else
      ++totals_.other;
    flows_.push_back(std::move(f));
  }
  ChangedFlow& f = flows_[it->second];
  f.packets += packetsOf(frame);
  f.lastNs = std::max(f.lastNs, endOf(frame));
  f.bytes += bytesOf(frame);
  f.lastNs = std::max(f.lastNs, frame.tsNs);
}

std::vector<ChangedFlow> WhatIf::ranked() const {
  std::vector<ChangedFlow> out = flows_;
  std::sort(out.begin(), out.end(), rankedBefore);
  return out;
}

}  // namespace sgsim
