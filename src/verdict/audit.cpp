#include "sgsim/verdict/audit.h"

#include <algorithm>
#include <bit>
#include <boost/container/small_vector.hpp>
#include <unordered_map>

#include "sgsim/capture/flow_log.h"
#include "sgsim/core/text.h"

namespace sgsim {

namespace {
constexpr std::int64_t kFragmentLifetimeNs = 30LL * 1'000'000'000;  // IP reassembly timeout (as the evaluator)

// The evaluator's own helpers (src/verdict/evaluator.cpp), for the same entries and checks.
Check fromDecision(std::int32_t eni, Direction d, const Decision& dec) {
  return Check{eni, d, dec.verdict, dec.reason, dec.ruleRef, dec.intraGroup};
}

Check stateCheck(std::int32_t eni, Direction d, const FlowEntry& e) {
  if (e.fate == FlowFate::Blocked) return Check{eni, d, Verdict::Drop, Reason::Blocked, -1, -1};
  return Check{eni, d, Verdict::Accept, Reason::Established, -1, -1};
}

FlowOrigin originOf(Direction d, std::int32_t peer, bool hairpin, bool srcIsA, const PacketKey& k) {
  FlowOrigin o;
  o.direction = d;
  o.hairpin = hairpin;
  o.initiatorIsA = srcIsA;
  o.firstFlags = static_cast<std::uint8_t>(k.tcpFlags | k.icmpType);  // one is 0 (decode/packet_key.h)
  o.peerEni = peer;
  return o;
}

void startFlow(FlowEntry& e, std::int64_t tsNs, const Decision& dec, const FlowOrigin& origin) {
  e = FlowEntry{};
  e.present = true;
  e.lastNs = tsNs;
  e.fate = dec.verdict == Verdict::Accept ? FlowFate::Accepted : FlowFate::Blocked;
  e.origin = origin;
}

bool sameEntry(const FlowEntry& a, const FlowEntry& b) {
  return a.lastNs == b.lastNs && a.origin.peerEni == b.origin.peerEni && a.origin.direction == b.origin.direction &&
         a.origin.hairpin == b.origin.hairpin && a.origin.initiatorIsA == b.origin.initiatorIsA &&
         a.origin.firstFlags == b.origin.firstFlags && a.fate == b.fate && a.finA == b.finA && a.finB == b.finB &&
         a.rst == b.rst && a.present == b.present;
}

// The deciding check of a verdict, or (eni −1) its verdict and reason alone.
Check summaryOf(const PacketVerdict& v) {
  if (const Check* c = v.decidingCheck()) return *c;
  return Check{-1, Direction::Ingress, v.verdict, v.reason, -1, -1};
}

bool rangesOverlap(std::uint16_t alo, std::uint16_t ahi, std::uint16_t blo, std::uint16_t bhi) {
  return alo <= bhi && blo <= ahi;
}

bool cidrsOverlap(const Cidr& a, const Cidr& b) { return a.contains(b) || b.contains(a); }

// Every packet `inner` matches, `outer` matches.
bool boxCovers(const RuleBox& outer, const RuleBox& inner) {
  return outer.family == inner.family && (outer.proto < 0 || outer.proto == inner.proto) &&
         outer.sportLo <= inner.sportLo && inner.sportHi <= outer.sportHi && outer.dportLo <= inner.dportLo &&
         inner.dportHi <= outer.dportHi && outer.src.contains(inner.src) && outer.dst.contains(inner.dst);
}

// Some packet matches both boxes.
bool boxesOverlap(const RuleBox& a, const RuleBox& b) {
  return a.family == b.family && (a.proto < 0 || b.proto < 0 || a.proto == b.proto) &&
         rangesOverlap(a.sportLo, a.sportHi, b.sportLo, b.sportHi) &&
         rangesOverlap(a.dportLo, a.dportHi, b.dportLo, b.dportHi) && cidrsOverlap(a.src, b.src) &&
         cidrsOverlap(a.dst, b.dst);
}

// The checks of one packet under one table, exactly as BasicEvaluator::evaluate makes them once the packet is
// planned (decoded, not a later fragment, checked at one ENI at least), over the state and decisions an Env
// gives. Check slot i: 0 is the egress check at the sender's ENI, 1 the ingress check at the receiver's; a packet
// from an ENI to itself keeps one entry, slot 0, and makes its egress (0) then ingress (1) decisions.
//   FlowEntry* entry(int i)            the entry of slot i (null: untracked, the flow table is full)
//   bool live(const FlowEntry&, int i) / void update(FlowEntry&, int i)
//   Decision decide(int i)             the table's decision for check i
//   void done(int i, FlowEntry* e)     after slot i's entry has taken the packet
template <class Env>
void runChecks(Env& env, const BasicPacketPlan<1>& plan, const PacketKey& key, bool srcIsA, std::int64_t tsNs,
               PacketVerdict& v) {
  v = PacketVerdict{};
  if (plan.checkSrc && plan.checkDst && plan.src == plan.dst) {
    const std::int32_t eni = plan.src;
    FlowEntry* e = env.entry(0);
    if (e != nullptr && env.live(*e, 0)) {
      env.update(*e, 0);
      const Check c = stateCheck(eni, Direction::Egress, *e);
      v.checks[v.checkCount++] = c;
      if (c.verdict == Verdict::Accept) v.checks[v.checkCount++] = stateCheck(eni, Direction::Ingress, *e);
    } else {
      const Decision eg = env.decide(0);
      v.checks[v.checkCount++] = fromDecision(eni, Direction::Egress, eg);
      Decision last = eg;
      if (eg.verdict == Verdict::Accept) {
        last = env.decide(1);
        v.checks[v.checkCount++] = fromDecision(eni, Direction::Ingress, last);
      }
      if (e != nullptr) {
        startFlow(*e, tsNs, last, originOf(Direction::Egress, eni, true, srcIsA, key));
        env.update(*e, 0);
      } else {
        v.untracked = true;
      }
    }
    env.done(0, e);
  } else {
    auto check = [&](int i, std::int32_t eni, Direction d, std::int32_t peer) {
      FlowEntry* e = env.entry(i);
      if (e != nullptr && env.live(*e, i)) {
        env.update(*e, i);
        v.checks[v.checkCount++] = stateCheck(eni, d, *e);
      } else {
        const Decision dec = env.decide(i);
        if (e != nullptr) {
          startFlow(*e, tsNs, dec, originOf(d, peer, false, srcIsA, key));
          env.update(*e, i);
        } else {
          v.untracked = true;
        }
        v.checks[v.checkCount++] = fromDecision(eni, d, dec);
      }
      env.done(i, e);
    };
    if (plan.checkSrc) check(0, plan.src, Direction::Egress, plan.dst);
    // A packet dropped at the sender's egress never reaches the receiver: no check, state untouched.
    if (plan.checkDst && (v.checkCount == 0 || v.checks[0].verdict == Verdict::Accept))
      check(1, plan.dst, Direction::Ingress, plan.src);
  }
  v.deciding = static_cast<std::int8_t>(v.checkCount - 1);
  for (std::uint8_t i = 0; i < v.checkCount; ++i)
    if (v.checks[i].verdict == Verdict::Drop) {
      v.deciding = static_cast<std::int8_t>(i);
      break;
    }
  v.verdict = v.checks[v.deciding].verdict;
  v.reason = v.checks[v.deciding].reason;
}
}  // namespace

// ---- scope ---------------------------------------------------------------------------------------------------

Result<std::vector<std::size_t>> auditedGroups(const Model& model, const std::vector<std::string>& eniIds,
                                               const std::vector<std::string>& groupIds) {
  std::vector<bool> chosen(model.groups.size(), false);
  auto groupIndex = [&](std::string_view id) -> std::int64_t {
    for (std::size_t g = 0; g < model.groups.size(); ++g)
      if (model.groups[g].id == id) return static_cast<std::int64_t>(g);
    return -1;
  };
  for (const std::string& id : groupIds) {
    const std::int64_t g = groupIndex(id);
    if (g < 0) {
      std::vector<std::string> names;
      for (const SecurityGroup& sg : model.groups) names.push_back(sg.id);
      const std::string near = nearestName(id, names);
      return Error{"--group " + id, "the model holds no security group \"" + id + "\"" +
                                        (near.empty() ? "; `sgsim show` lists the groups of each interface"
                                                      : "; did you mean `" + near + "`?")};
    }
    chosen[static_cast<std::size_t>(g)] = true;
  }
  auto chooseGroupsOf = [&](const Eni& e) {
    for (const std::string& gid : e.groupIds)
      if (const std::int64_t g = groupIndex(gid); g >= 0) chosen[static_cast<std::size_t>(g)] = true;
  };
  for (const std::string& id : eniIds) {
    const Eni* e = model.findEni(id);
    if (e == nullptr) {
      std::vector<std::string> names;
      for (const Eni& en : model.enis) names.push_back(en.id);
      const std::string near = nearestName(id, names);
      return Error{"--eni " + id, "the model holds no network interface \"" + id + "\"" +
                                      (near.empty() ? "; `sgsim show` lists them" : "; did you mean `" + near + "`?")};
    }
    chooseGroupsOf(*e);
  }
  if (eniIds.empty() && groupIds.empty())
    for (const Eni& e : model.enis) chooseGroupsOf(e);
  std::vector<std::size_t> out;
  for (std::size_t g = 0; g < chosen.size(); ++g)
    if (chosen[g]) out.push_back(g);
  return out;
}

// ---- the shadow table ----------------------------------------------------------------------------------------

// The conversations that have shadows, by the conversation's flow key at its anchor ENI (the lower of the ENIs it is
// checked at), hashed as the flow table hashes that key: a packet's plan already holds the hash, so the slot is
// prefetched with the flow table's, and one probe finds the conversation's first shadow inline (rarely more, in an
// overflow list). Open addressing with linear probing at most half full, one tag byte per slot, backward-shift
// deletion (no tombstones); slot arrays of 2 MiB or more on transparent huge pages, as the flow table's.
class TrafficAudit::ShadowTable {
 public:
  struct Slot {
    FlowKey key;
    Shadow first;
    std::uint32_t more = kNone;  // overflow_ index of the further shadows
    std::uint32_t count = 0;     // shadows, first included
  };
  static constexpr std::uint32_t kNone = ~0u;

  ShadowTable() { rehash(16); }
  std::size_t size() const { return size_; }
  void prefetch(std::size_t hash) const {
    const std::size_t i = hash >> shift_;
    const char* p = reinterpret_cast<const char*>(&slots_[i]);
    __builtin_prefetch(&ctrl_[i]);
    for (std::size_t b = 0; b < sizeof(Slot); b += 64) __builtin_prefetch(p + b, 1);
  }
  Slot* find(const FlowKey& key, std::size_t hash) {
    const std::uint8_t tag = tagOf(hash);
    for (std::size_t i = hash >> shift_;; i = (i + 1) & mask_) {
      if (ctrl_[i] == 0) return nullptr;
      if (ctrl_[i] == tag && slots_[i].key == key) return &slots_[i];
    }
  }
  // A new slot for a key the table does not hold (invalidates every Slot pointer).
  Slot& insert(const FlowKey& key, std::size_t hash) {
    if ((size_ + 1) * 2 > mask_ + 1) rehash((mask_ + 1) * 2);
    std::size_t i = hash >> shift_;
    while (ctrl_[i] != 0) i = (i + 1) & mask_;
    ctrl_[i] = tagOf(hash);
    slots_[i] = Slot{};
    slots_[i].key = key;
    ++size_;
    return slots_[i];
  }
  Shadow& at(Slot& s, std::uint32_t k) { return k == 0 ? s.first : overflow_[s.more][k - 1]; }
  void add(Slot& s, const Shadow& shadow) {
    if (s.count++ == 0) {
      s.first = shadow;
      return;
    }
    if (s.more == kNone) {
      if (free_.empty()) {
        s.more = static_cast<std::uint32_t>(overflow_.size());
        overflow_.emplace_back();
      } else {
        s.more = free_.back();
        free_.pop_back();
      }
    }
    overflow_[s.more].push_back(shadow);
  }
  // Removes shadow k (the last one takes its place).
  void removeAt(Slot& s, std::uint32_t k) {
    if (s.count > 1) {
      std::vector<Shadow>& more = overflow_[s.more];
      at(s, k) = more.back();
      more.pop_back();
      if (more.empty()) {
        free_.push_back(s.more);
        s.more = kNone;
      }
    }
    --s.count;
  }
  // Erases a slot with no shadow left (invalidates every Slot pointer).
  void erase(Slot& s) { eraseAt(static_cast<std::size_t>(&s - slots_.get())); }
  // Removes every shadow drop(key, shadow) returns true for, and the slots left empty.
  template <class Drop>
  void eraseIf(Drop&& drop) {
    // As the flow table's sweep: start just after an empty slot (there is one: the table is at most half full), so
    // entries only ever shift back into the slot being looked at or into slots not reached yet.
    std::size_t i = 0;
    while (ctrl_[i] != 0) ++i;
    for (std::size_t n = 0; n <= mask_; ++n) {
      i = (i + 1) & mask_;
      while (ctrl_[i] != 0) {
        Slot& s = slots_[i];
        for (std::uint32_t k = 0; k < s.count;)
          if (drop(s.key, at(s, k)))
            removeAt(s, k);
          else
            ++k;
        if (s.count != 0) break;
        eraseAt(i);
      }
    }
  }
  template <class F>
  void forEach(F&& f) {
    for (std::size_t i = 0; i <= mask_; ++i)
      if (ctrl_[i] != 0)
        for (std::uint32_t k = 0; k < slots_[i].count; ++k) f(at(slots_[i], k));
  }

 private:
  struct Free {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  static std::uint8_t tagOf(std::size_t hash) { return static_cast<std::uint8_t>(0x80 | (hash & 0x7f)); }
  std::size_t homeOf(const FlowKey& key) const { return ConnTracker::hashOf(key) >> shift_; }

  void eraseAt(std::size_t hole) {
    if (slots_[hole].more != kNone) {
      overflow_[slots_[hole].more].clear();
      free_.push_back(slots_[hole].more);
    }
    for (std::size_t j = (hole + 1) & mask_; ctrl_[j] != 0; j = (j + 1) & mask_) {
      const std::size_t home = homeOf(slots_[j].key);
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        ctrl_[hole] = ctrl_[j];
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    ctrl_[hole] = 0;
    --size_;
  }
  void rehash(std::size_t capacity) {
    std::unique_ptr<std::uint8_t[], Free> ctrl(static_cast<std::uint8_t*>(std::calloc(capacity, 1)));
    HugePageAllocator<Slot> alloc;
    std::unique_ptr<Slot[], Free> slots(alloc.allocate(capacity));
    if (!ctrl) throw std::bad_alloc();
    std::swap(ctrl, ctrl_);
    std::swap(slots, slots_);
    const std::size_t old = ctrl ? mask_ + 1 : 0;
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
    for (std::size_t i = 0; i < old; ++i) {
      if (ctrl[i] == 0) continue;
      std::size_t j = homeOf(slots[i].key);
      while (ctrl_[j] != 0) j = (j + 1) & mask_;
      ctrl_[j] = ctrl[i];
      slots_[j] = slots[i];
    }
  }

  std::unique_ptr<std::uint8_t[], Free> ctrl_;  // 0 empty, else 0x80 | 7 bits of the hash
  std::unique_ptr<Slot[], Free> slots_;         // uninitialised where ctrl_ is 0
  std::size_t mask_ = 0, size_ = 0;
  unsigned shift_ = 64;
  std::vector<std::vector<Shadow>> overflow_;
  std::vector<std::uint32_t> free_;
};

// ---- one packet ----------------------------------------------------------------------------------------------

// What the base and the shadows share about the packet being processed: its fields, conversation and the
// table's decisions at its checks (made once, on demand) with the fallbacks where an audited rule wins them.
struct TrafficAudit::Packet {
  const Frame& frame;
  const PacketKey& key;
  const BasicPacketPlan<1>& plan;
  PacketFields fields;
  FlowKey conv;  // ENI 0
  bool srcIsA = true;
  bool hairpin = false;
  std::array<bool, 2> haveT{}, haveF{};
  std::array<Decision, 2> t{}, f{};
  // The base's entry of each slot as the packet found it and left it (seen: the base touched that slot).
  std::array<bool, 2> seen{};
  std::array<FlowEntry, 2> pre{}, post{};

  Packet(const Frame& fr, const PacketKey& k, const BasicPacketPlan<1>& p)
      : frame(fr), key(k), plan(p), fields{k.proto, k.src, k.dst, k.sport, k.dport} {
    conv = FlowKey::make(0, k.proto, k.src, k.sport, k.dst, k.dport, srcIsA);
    hairpin = p.checkSrc && p.checkDst && p.src == p.dst;
  }
  std::int32_t eniOf(int i) const { return hairpin || i == 0 ? plan.src : plan.dst; }
  static Direction dirOf(int i) { return i == 0 ? Direction::Egress : Direction::Ingress; }
  std::int32_t peerOf(int i) const { return hairpin ? plan.src : (i == 0 ? plan.dst : plan.src); }
  FlowKey keyAt(std::int32_t eni) const {
    FlowKey k = conv;
    k.eni = static_cast<std::uint32_t>(eni);
    return k;
  }
  // Slot of check j of a verdict.
  int slotOfCheck(int j) const { return !hairpin && !plan.checkSrc ? 1 : j; }
  // The conversation's key in the shadow table and its hash: at the lower of the ENIs it is checked at, the same
  // whichever way the packet goes.
  int anchor() const { return anchorOf(plan); }
  static int anchorOf(const BasicPacketPlan<1>& pl) {
    if (!pl.checkDst) return 0;
    if (!pl.checkSrc) return 1;
    return pl.src <= pl.dst ? 0 : 1;
  }
};

// The table itself over the base's flow table.
struct TrafficAudit::BaseEnv {
  TrafficAudit& a;
  Packet& p;
  FlowEntry* entry(int i) {
    const std::int32_t eni = p.eniOf(i);
    FlowSlot<1>* slot = a.tracker_.acquire(p.keyAt(eni), p.plan.flowHash[i], p.frame.tsNs);
    p.pre[i] = slot != nullptr ? slot->side[0] : FlowEntry{};
    return slot != nullptr ? &slot->side[0] : nullptr;
  }
  bool live(const FlowEntry& e, int i) const { return a.tracker_.live(e, p.keyAt(p.eniOf(i)), p.frame.tsNs); }
  void update(FlowEntry& e, int i) {
    a.tracker_.update(e, p.keyAt(p.eniOf(i)), p.srcIsA, p.key.tcpFlags, endOf(p.frame));
  }
  Decision decide(int i) { return a.tableDecision(p, i); }
  void done(int i, FlowEntry* e) {
    p.seen[i] = true;
    p.post[i] = e != nullptr ? *e : FlowEntry{};
  }
};

// The table without one rule over one shadow's entries.
struct TrafficAudit::ShadowEnv {
  TrafficAudit& a;
  Packet& p;
  Shadow& s;
  FlowEntry* entry(int i) {
    const std::int32_t eni = p.eniOf(i);
    for (std::size_t k = 0; k < 2; ++k)
      if (s.eni[k] == eni) return &s.entry[k];
    // A conversation's ENIs are fixed by its endpoints and the options, and its shadow was made for them: not
    // reached. Kept total: a fresh entry.
    for (std::size_t k = 0; k < 2; ++k)
      if (s.eni[k] < 0) {
        s.eni[k] = eni;
        s.entry[k] = FlowEntry{};
        return &s.entry[k];
      }
    return nullptr;
  }
  bool live(const FlowEntry& e, int i) const { return a.tracker_.live(e, p.keyAt(p.eniOf(i)), p.frame.tsNs); }
  // The tracker's update only touches the entry (and lowers a bound that stays a bound).
  void update(FlowEntry& e, int i) {
    a.tracker_.update(e, p.keyAt(p.eniOf(i)), p.srcIsA, p.key.tcpFlags, endOf(p.frame));
  }
  Decision decide(int i) {
    const Decision t = a.tableDecision(p, i);
    if (t.reason != Reason::Rule ||
        a.tables(p.eniOf(i), Packet::dirOf(i)).audited[static_cast<std::size_t>(t.ruleRef)] != s.rule)
      return t;
    return a.fallbackDecision(p, i);
  }
  void done(int, FlowEntry*) {}
};

Decision TrafficAudit::tableDecision(Packet& p, int i) {
  if (p.haveT[i]) return p.t[i];
  const BasicPacketPlan<1>& plan = p.plan;
  // The planner decides the ingress check of a packet from an ENI to itself only after an accepted egress.
  const bool planned =
      plan.decided[0] == network_.get() &&
      (i == 0 ? plan.checkSrc : plan.checkDst && (!p.hairpin || plan.decisions[0][0].verdict == Verdict::Accept));
  p.t[i] = planned ? plan.decisions[0][i]
                   : network_->decide(static_cast<std::size_t>(p.eniOf(i)), Packet::dirOf(i), p.fields, p.peerOf(i));
  p.haveT[i] = true;
  return p.t[i];
}

Decision TrafficAudit::fallbackDecision(Packet& p, int i) {
  if (p.haveF[i]) return p.f[i];
  const Decision t = tableDecision(p, i);
  p.f[i] = fallback(p.eniOf(i), Packet::dirOf(i), t.ruleRef, p.fields);
  p.haveF[i] = true;
  return p.f[i];
}

// ---- the audit -----------------------------------------------------------------------------------------------

TrafficAudit::TrafficAudit(std::shared_ptr<const Network> network, AuditOptions options)
    : network_(std::move(network)),
      options_(std::move(options)),
      planner_(network_, {}, options_.eval),
      tracker_(
          [&] {
            std::vector<Timeouts> t;
            for (std::size_t i = 0; i < network_->eniCount(); ++i) t.push_back(network_->eni(i).timeouts);
            return t;
          }(),
          options_.eval.maxFlows),
      shadows_(std::make_unique<ShadowTable>()),
      shadowSweepAt_(options_.sweepShadowsFrom) {
  const Model& m = network_->model();
  std::unordered_map<const Rule*, std::int32_t> indexOf;
  std::vector<bool> seen(m.groups.size(), false);
  for (std::size_t g : options_.groups) {
    if (g >= m.groups.size() || seen[g]) continue;  // an index the model lacks, or given twice: audited once
    seen[g] = true;
    for (std::size_t r = 0; r < m.groups[g].rules.size(); ++r) {
      indexOf[&m.groups[g].rules[r]] = static_cast<std::int32_t>(rules_.size());
      RuleState s;
      s.group = g;
      s.rule = r;
      rules_.push_back(std::move(s));
    }
  }
  dirs_.resize(network_->eniCount() * 2);
  for (std::size_t e = 0; e < network_->eniCount(); ++e)
    for (Direction d : {Direction::Ingress, Direction::Egress}) {
      DirTables& t = tables(static_cast<std::int32_t>(e), d);
      const auto& refs = network_->rules(e, d);
      t.audited.assign(refs.size(), -1);
      t.candidates.resize(refs.size());
      t.haveCandidates.assign(refs.size(), false);
      for (std::size_t k = 0; k < refs.size(); ++k)
        if (auto it = indexOf.find(refs[k].rule); it != indexOf.end()) t.audited[k] = it->second;
    }
}

TrafficAudit::~TrafficAudit() = default;

void TrafficAudit::prefetch(const BasicPacketPlan<1>& plan) const {
  if (plan.checkSrc) tracker_.prefetchHash(plan.flowHash[0]);
  if (plan.checkDst && !(plan.checkSrc && plan.src == plan.dst)) tracker_.prefetchHash(plan.flowHash[1]);
  if ((plan.checkSrc || plan.checkDst) && shadows_->size() != 0)
    shadows_->prefetch(plan.flowHash[static_cast<std::size_t>(Packet::anchorOf(plan))]);
}

std::size_t TrafficAudit::FragKeyHash::operator()(const FragKey& k) const noexcept {
  return IpAddrHash{}(k.src) * 31 + IpAddrHash{}(k.dst) * 17 + (static_cast<std::size_t>(k.id) << 8) + k.proto;
}

TrafficAudit::FragKey TrafficAudit::fragKeyOf(const PacketKey& k) {
  // As the evaluator: IPv6 identifies a packet by (source, destination, identification) alone.
  return FragKey{k.src, k.dst, k.fragId, k.family == Family::V6 ? std::uint8_t{0} : k.proto};
}

namespace {
std::uint32_t maskOf(std::uint8_t prefix) { return prefix == 0 ? 0 : ~0u << (32 - std::min<int>(prefix, 32)); }
}  // namespace

const std::vector<std::uint32_t>& TrafficAudit::candidates(std::int32_t eni, Direction d, std::int32_t ruleRef) {
  DirTables& t = tables(eni, d);
  const auto k = static_cast<std::size_t>(ruleRef);
  if (t.haveCandidates[k]) return t.candidates[k];
  const std::vector<RuleBox>& boxes = network_->boxes(static_cast<std::size_t>(eni), d);
  if (t.scan.size() != boxes.size()) {
    t.scan.resize(boxes.size());
    for (std::size_t i = 0; i < boxes.size(); ++i) {
      const RuleBox& b = boxes[i];
      ScanBox& x = t.scan[i];
      x.v6 = b.family == Family::V6;
      if (!x.v6) {
        x.srcMask = maskOf(b.src.prefix);
        x.srcBase = b.src.base.v4Value() & x.srcMask;
        x.dstMask = maskOf(b.dst.prefix);
        x.dstBase = b.dst.base.v4Value() & x.dstMask;
      }
      x.sportLo = b.sportLo;
      x.sportHi = b.sportHi;
      x.dportLo = b.dportLo;
      x.dportHi = b.dportHi;
      x.proto = b.proto;
      x.rule = b.ruleIndex;
    }
  }
  // Boxes are sorted by rank, and a rule's boxes all have its index as rank: the rule's own boxes are one run,
  // and only later boxes that overlap one of them can match a packet the rule matched first. A later box that
  // covers all of them matches every such packet: nothing after it is ever reached.
  const auto rank = static_cast<std::uint32_t>(ruleRef);
  const auto lo = static_cast<std::size_t>(
      std::partition_point(boxes.begin(), boxes.end(), [&](const RuleBox& b) { return b.rank < rank; }) -
      boxes.begin());
  std::size_t hi = lo;
  while (hi < boxes.size() && boxes[hi].rank == rank) ++hi;
  auto scanOverlap = [](const ScanBox& a, const ScanBox& b) {
    return (a.proto < 0 || b.proto < 0 || a.proto == b.proto) && a.sportLo <= b.sportHi && b.sportLo <= a.sportHi &&
           a.dportLo <= b.dportHi && b.dportLo <= a.dportHi && ((a.srcBase ^ b.srcBase) & a.srcMask & b.srcMask) == 0 &&
           ((a.dstBase ^ b.dstBase) & a.dstMask & b.dstMask) == 0;
  };
  auto scanCovers = [](const ScanBox& outer, const ScanBox& inner) {
    return (outer.proto < 0 || outer.proto == inner.proto) && outer.sportLo <= inner.sportLo &&
           inner.sportHi <= outer.sportHi && outer.dportLo <= inner.dportLo && inner.dportHi <= outer.dportHi &&
           (outer.srcMask & ~inner.srcMask) == 0 && ((inner.srcBase ^ outer.srcBase) & outer.srcMask) == 0 &&
           (outer.dstMask & ~inner.dstMask) == 0 && ((inner.dstBase ^ outer.dstBase) & outer.dstMask) == 0;
  };
  auto overlap = [&](std::size_t own, std::size_t other) {
    const ScanBox &a = t.scan[own], &b = t.scan[other];
    if (a.v6 != b.v6) return false;
    return a.v6 ? boxesOverlap(boxes[own], boxes[other]) : scanOverlap(a, b);
  };
  auto covers = [&](std::size_t outer, std::size_t own) {
    const ScanBox &a = t.scan[outer], &b = t.scan[own];
    if (a.v6 != b.v6) return false;
    return a.v6 ? boxCovers(boxes[outer], boxes[own]) : scanCovers(a, b);
  };
  std::vector<std::uint32_t>& out = t.candidates[k];
  for (std::size_t i = hi; i < boxes.size(); ++i) {
    bool any = false, all = true;
    for (std::size_t own = lo; own < hi; ++own) {
      any = any || overlap(own, i);
      all = all && covers(i, own);
    }
    if (!any) continue;
    out.push_back(static_cast<std::uint32_t>(i));
    if (all) break;
  }
  out.shrink_to_fit();
  t.haveCandidates[k] = true;
  return out;
}

Decision TrafficAudit::fallback(std::int32_t eni, Direction d, std::int32_t ruleRef, const PacketFields& f) {
  // Intra-group acceptance comes before the rules, so it did not apply where a rule won: the rules after this one,
  // then the default.
  const std::vector<std::uint32_t>& cand = candidates(eni, d, ruleRef);
  const DirTables& t = tables(eni, d);
  std::int64_t hit = -1;
  if (f.src.isV4()) {
    const std::uint32_t src = f.src.v4Value(), dst = f.dst.v4Value();
    for (std::uint32_t pos : cand) {
      const ScanBox& b = t.scan[pos];
      if (!b.v6 && (src & b.srcMask) == b.srcBase && (dst & b.dstMask) == b.dstBase && f.sport >= b.sportLo &&
          f.sport <= b.sportHi && f.dport >= b.dportLo && f.dport <= b.dportHi && (b.proto < 0 || b.proto == f.proto)) {
        hit = b.rule;
        break;
      }
    }
  } else {
    const std::vector<RuleBox>& boxes = network_->boxes(static_cast<std::size_t>(eni), d);
    const ClassifyKey key = f.key();
    for (std::uint32_t pos : cand)
      if (boxMatches(boxes[pos], key)) {
        hit = boxes[pos].ruleIndex;
        break;
      }
  }
  Decision out;
  if (hit >= 0) {
    out.ruleRef = static_cast<std::int32_t>(hit);
    out.reason = Reason::Rule;
    out.verdict =
        network_->rules(static_cast<std::size_t>(eni), d)[static_cast<std::size_t>(hit)].policy == Policy::Drop
            ? Verdict::Drop
            : Verdict::Accept;
    return out;
  }
  out.verdict = network_->defaultVerdict(static_cast<std::size_t>(eni), d);
  out.reason = Reason::Default;
  return out;
}

void TrafficAudit::countHits(const PacketVerdict& v, const FlowKey& conv, const Frame& frame) {
  for (std::uint8_t j = 0; j < v.checkCount; ++j) {
    const Check& c = v.checks[j];
    if (c.reason != Reason::Rule) continue;
    const std::int32_t r = tables(c.eni, c.direction).audited[static_cast<std::size_t>(c.ruleRef)];
    if (r < 0) continue;
    RuleHits& h = rules_[static_cast<std::size_t>(r)].hits;
    if (h.packets == 0) h.firstNs = h.lastNs = frame.tsNs;
    h.packets += packetsOf(frame);
    h.bytes += bytesOf(frame);
    h.firstNs = std::min(h.firstNs, frame.tsNs);
    h.lastNs = std::max(h.lastNs, frame.tsNs);
    if (firstHit(conv, r)) ++h.flows;
  }
}

namespace {
// Packs an IPv4 conversation and a rule index into 16 bytes (see RuleFlow); false when it does not fit.
template <class RuleFlow>
bool pack(const FlowKey& conv, std::int32_t rule, RuleFlow& out) {
  if (conv.family != Family::V4 || rule < 0 || rule >= (1 << 24)) return false;
  out.hi = conv.alo << 32 | (conv.blo & 0xFFFFFFFFu);
  out.lo = static_cast<std::uint64_t>(conv.pa) << 48 | static_cast<std::uint64_t>(conv.pb) << 32 |
           static_cast<std::uint64_t>(conv.proto) << 24 | static_cast<std::uint64_t>(rule);
  return true;
}

FlowKey withRule(FlowKey conv, std::int32_t rule) {
  conv.eni = static_cast<std::uint32_t>(rule);
  return conv;
}
}  // namespace

bool TrafficAudit::firstHit(const FlowKey& conv, std::int32_t rule) {
  RuleFlow k;
  return pack(conv, rule, k) ? hitFlows4_.insert(k).second : hitFlows6_.insert(withRule(conv, rule)).second;
}

std::pair<std::uint32_t, bool> TrafficAudit::changedIndex(const FlowKey& conv, std::int32_t rule, std::uint32_t next) {
  RuleFlow k;
  if (pack(conv, rule, k)) {
    auto [it, inserted] = changed4_.try_emplace(k, next);
    return {it->second, inserted};
  }
  auto [it, inserted] = changed6_.try_emplace(withRule(conv, rule), next);
  return {it->second, inserted};
}

const std::uint32_t* TrafficAudit::findChanged(const FlowKey& conv, std::int32_t rule) const {
  RuleFlow k;
  if (pack(conv, rule, k)) {
    auto it = changed4_.find(k);
    return it == changed4_.end() ? nullptr : &it->second;
  }
  auto it = changed6_.find(withRule(conv, rule));
  return it == changed6_.end() ? nullptr : &it->second;
}

void TrafficAudit::recordChange(std::int32_t rule, std::int32_t* cached, const FlowKey& conv, const Frame& frame,
                                const PacketKey& key, const FragmentFlow& flow, const PacketVerdict& after) {
  RuleState& rs = rules_[static_cast<std::size_t>(rule)];
  std::uint32_t index = 0;
  if (cached != nullptr && *cached >= 0) {
    index = static_cast<std::uint32_t>(*cached);
  } else {
    const auto [found, inserted] = changedIndex(conv, rule, static_cast<std::uint32_t>(records_.size()));
    index = found;
    if (cached != nullptr) *cached = static_cast<std::int32_t>(index);
    if (inserted) {
      ChangedRecord c;
      c.rule = rule;
      c.proto = flow.proto;
      // As WhatIf: the table's entry at the deciding check's ENI, after this packet.
      const Check* d = last_.decidingCheck();
      bool srcIsA = true;
      const FlowKey k = FlowKey::make(d != nullptr ? static_cast<std::uint32_t>(d->eni) : 0, flow.proto, key.src,
                                      flow.sport, key.dst, flow.dport, srcIsA);
      const FlowOrientation orient =
          orientationOf(last_, k, d != nullptr ? tracker_.findLive(k, frame.tsNs) : nullptr, srcIsA,
                        opensConnection(flow.proto, key.tcpFlags, key.icmpType, flow.sport, flow.dport));
      c.src = orient.reversed ? key.dst : key.src;
      c.dst = orient.reversed ? key.src : key.dst;
      c.sport = orient.reversed ? flow.dport : flow.sport;
      c.dport = orient.reversed ? flow.sport : flow.dport;
      c.openerSeen = orient.openerSeen;
      c.direction = orient.direction;
      c.firstNs = frame.tsNs;
      c.firstFrame = frame.number;
      c.firstFile = frame.fileIndex;
      c.before = summaryOf(last_);
      c.after = summaryOf(after);
      ++rs.impact.changedFlows;
      if (last_.verdict == Verdict::Accept && after.verdict == Verdict::Drop)
        ++rs.impact.cutFlows;
      else if (last_.verdict == Verdict::Drop && after.verdict == Verdict::Accept)
        ++rs.impact.openedFlows;
      else
        ++rs.impact.otherFlows;
      rs.records.push_back(index);
      records_.push_back(c);
    }
  }
  ChangedRecord& c = records_[index];
  c.packets += packetsOf(frame);
  c.bytes += bytesOf(frame);
  c.lastNs = std::max(c.lastNs, frame.tsNs);
  rs.impact.changedPackets += packetsOf(frame);
  rs.impact.changedBytes += bytesOf(frame);
}

bool TrafficAudit::sameAsBase(const Shadow& s, const std::array<const FlowEntry*, 2>& base, const FlowKey& conv,
                              std::int64_t nowNs) const {
  for (std::size_t k = 0; k < 2; ++k) {
    if (s.eni[k] < 0) continue;
    FlowKey key = conv;
    key.eni = static_cast<std::uint32_t>(s.eni[k]);
    const bool shadowLive = tracker_.live(s.entry[k], key, nowNs);
    const bool baseLive = base[k] != nullptr && tracker_.live(*base[k], key, nowNs);
    if (shadowLive != baseLive) return false;
    if (shadowLive && !sameEntry(s.entry[k], *base[k])) return false;
  }
  return true;
}

void TrafficAudit::process(const Frame& frame, const PacketKey& key) {
  BasicPacketPlan<1> plan;
  planner_.plan(key, plan, false);
  process(frame, key, plan);
}

void TrafficAudit::process(const Frame& frame, const PacketKey& key, const BasicPacketPlan<1>& plan) {
  ++frames_;
  if (key.status != DecodeStatus::Ok) {
    last_ = PacketVerdict{};
    last_.reason = key.status == DecodeStatus::NotIp ? Reason::NotIp : Reason::Undecodable;
    return;
  }
  if (key.isFragment && !key.firstFragment) return processLaterFragment(frame, key);
  if (!plan.checkSrc && !plan.checkDst) {
    last_ = PacketVerdict{};
    last_.reason = Reason::Unmodeled;
    return;
  }

  Packet p(frame, key, plan);
  BaseEnv base{*this, p};
  runChecks(base, plan, key, p.srcIsA, frame.tsNs, last_);
  countHits(last_, p.conv, frame);
  const FragmentFlow flow{key.proto, key.sport, key.dport};
  const bool firstFragment = key.isFragment && key.firstFragment;
  FragRecord* frag = nullptr;
  if (firstFragment) {
    if (frags_.size() >= nextFragSweep_) {
      boost::unordered::erase_if(frags_,
                                 [&](const auto& kv) { return frame.tsNs - kv.second.tsNs > kFragmentLifetimeNs; });
      nextFragSweep_ = std::max<std::size_t>(1024, frags_.size() * 2);
    }
    frag = &frags_[fragKeyOf(key)];
    *frag = FragRecord{frame.tsNs, last_, flow, {}};
  }

  // The base's entries after the packet, per ENI, where the packet touched them.
  std::array<const FlowEntry*, 2> baseAfter{};
  auto baseEntriesOf = [&](const Shadow& s) {
    for (std::size_t k = 0; k < 2; ++k) {
      baseAfter[k] = nullptr;
      if (s.eni[k] < 0) continue;
      bool found = false;
      for (int i = 0; i < 2; ++i)
        if (p.seen[static_cast<std::size_t>(i)] && p.eniOf(i) == s.eni[k]) {
          baseAfter[k] = &p.post[static_cast<std::size_t>(i)];
          found = true;
        }
      if (!found) return false;
    }
    return true;
  };

  const FlowKey anchorKey = p.keyAt(p.eniOf(p.anchor()));
  const std::size_t anchorHash = plan.flowHash[static_cast<std::size_t>(p.anchor())];
  ShadowTable::Slot* list = shadows_->size() != 0 ? shadows_->find(anchorKey, anchorHash) : nullptr;
  // The rules whose shadows took this packet, merged back or not: none of them forks again on it.
  boost::container::small_vector<std::int32_t, 4> followed;
  if (list != nullptr) {
    for (std::uint32_t n = 0; n < list->count;) {
      Shadow& s = shadows_->at(*list, n);
      followed.push_back(s.rule);
      ShadowEnv env{*this, p, s};
      PacketVerdict v;
      runChecks(env, plan, key, p.srcIsA, frame.tsNs, v);
      if (v.verdict != last_.verdict) {
        if (s.record >= 0) {
          s.packets += packetsOf(frame);
          s.bytes += bytesOf(frame);
          s.lastNs = std::max(s.lastNs, frame.tsNs);
        } else {
          recordChange(s.rule, &s.record, p.conv, frame, key, flow, v);
        }
        if (frag != nullptr) frag->shadows.emplace_back(s.rule, v);
      }
      // Nothing left to follow: the table without the rule holds what the table holds.
      if (baseEntriesOf(s) && sameAsBase(s, baseAfter, p.conv, frame.tsNs)) {
        settle(s);
        shadows_->removeAt(*list, n);
        --shadowCount_;
      } else {
        ++n;
      }
    }
    if (list->count == 0) shadows_->erase(*list);
  }

  // Forks: a decision an audited rule won, whose fallback has the other verdict, in a conversation with no shadow
  // for that rule yet (so its state without the rule is the base's as the packet found it).
  for (std::uint8_t j = 0; j < last_.checkCount; ++j) {
    const Check& c = last_.checks[j];
    if (c.reason != Reason::Rule) continue;
    const std::int32_t r = tables(c.eni, c.direction).audited[static_cast<std::size_t>(c.ruleRef)];
    if (r < 0) continue;
    const int i = p.slotOfCheck(j);
    if (fallbackDecision(p, i).verdict == c.verdict) continue;
    if (std::find(followed.begin(), followed.end(), r) != followed.end()) continue;
    followed.push_back(r);
    Shadow s;
    s.rule = r;
    for (int slot = 0; slot < (p.hairpin ? 1 : 2); ++slot) {
      if (!(slot == 0 ? plan.checkSrc : plan.checkDst)) continue;
      const auto k = static_cast<std::size_t>(slot);
      s.eni[k] = p.eniOf(slot);
      if (p.seen[k]) {
        s.entry[k] = p.pre[k];
      } else if (const FlowEntry* e = tracker_.findLive(p.keyAt(s.eni[k]), frame.tsNs)) {
        s.entry[k] = *e;
      }
    }
    // The flow's earlier changes (before the shadow last merged back) go on in the same record.
    if (!records_.empty())
      if (const std::uint32_t* found = findChanged(p.conv, r)) s.record = static_cast<std::int32_t>(*found);
    ShadowEnv env{*this, p, s};
    PacketVerdict v;
    runChecks(env, plan, key, p.srcIsA, frame.tsNs, v);
    if (v.verdict != last_.verdict) {
      recordChange(s.rule, &s.record, p.conv, frame, key, flow, v);
      if (frag != nullptr) frag->shadows.emplace_back(s.rule, v);
    }
    if (baseEntriesOf(s) && sameAsBase(s, baseAfter, p.conv, frame.tsNs)) continue;
    ShadowTable::Slot* slot = shadows_->find(anchorKey, anchorHash);
    shadows_->add(slot != nullptr ? *slot : shadows_->insert(anchorKey, anchorHash), s);
    ++shadowCount_;
  }

  if (shadows_->size() != 0 && (options_.sweepShadowsFrom == 0 || shadows_->size() >= shadowSweepAt_)) {
    sweepShadows(frame.tsNs);
    shadowSweepAt_ = options_.sweepShadowsFrom + shadows_->size() * 2;
  }
  // Any one WhatIf's table holds at most the base's entries and that rule's shadows' (two per shadow).
  if (!nearCap_ && (tracker_.capHits() > 0 || tracker_.size() + 2 * shadowCount_ >= tracker_.maxFlows()))
    nearCap_ = true;
}

void TrafficAudit::processLaterFragment(const Frame& frame, const PacketKey& key) {
  auto it = frags_.find(fragKeyOf(key));
  if (it == frags_.end() || frame.tsNs - it->second.tsNs > kFragmentLifetimeNs) {
    last_ = PacketVerdict{};
    last_.reason = Reason::UnmatchedFragment;
    return;
  }
  const FragRecord& f = it->second;
  last_ = f.base;
  bool srcIsA = true;
  const FlowKey conv = FlowKey::make(0, f.flow.proto, key.src, f.flow.sport, key.dst, f.flow.dport, srcIsA);
  countHits(last_, conv, frame);
  // A shadow forked after the first fragment saw it fare as under the table: only the recorded ones differ.
  for (const auto& [rule, v] : f.shadows) recordChange(rule, nullptr, conv, frame, key, f.flow, v);
}

void TrafficAudit::sweepShadows(std::int64_t nowNs) {
  shadows_->eraseIf([&](const FlowKey& conv, Shadow& s) {
    std::array<const FlowEntry*, 2> base{};
    for (std::size_t k = 0; k < 2; ++k) {
      if (s.eni[k] < 0) continue;
      FlowKey key = conv;
      key.eni = static_cast<std::uint32_t>(s.eni[k]);
      base[k] = tracker_.findLive(key, nowNs);
    }
    if (!sameAsBase(s, base, conv, nowNs)) return false;
    settle(s);
    --shadowCount_;
    return true;
  });
}

// ---- results -------------------------------------------------------------------------------------------------

void TrafficAudit::settle(Shadow& s) {
  if (s.packets == 0) return;
  ChangedRecord& c = records_[static_cast<std::size_t>(s.record)];
  c.packets += s.packets;
  c.bytes += s.bytes;
  c.lastNs = std::max(c.lastNs, s.lastNs);
  RevokeImpact& r = rules_[static_cast<std::size_t>(s.rule)].impact;
  r.changedPackets += s.packets;
  r.changedBytes += s.bytes;
  s.packets = s.bytes = 0;
}

void TrafficAudit::settleAll() {
  shadows_->forEach([&](Shadow& s) { settle(s); });
}

SideDecision TrafficAudit::describe(const Check& c) const {
  SideDecision s;
  s.verdict = c.verdict;
  s.reason = c.reason;
  if (c.eni < 0) return s;
  const Network& n = *network_;
  s.eniId = n.eni(static_cast<std::size_t>(c.eni)).id;
  s.direction = c.direction;
  if (c.ruleRef >= 0) {
    const RuleRef& r = n.rules(static_cast<std::size_t>(c.eni), c.direction)[static_cast<std::size_t>(c.ruleRef)];
    s.ruleId = r.ruleId;
    s.groupId = r.groupId;
  } else if (c.intraGroup >= 0) {
    s.groupId = n.model().groups[static_cast<std::size_t>(c.intraGroup)].id;
  }
  return s;
}

std::vector<AuditedRule> TrafficAudit::results() {
  settleAll();
  const Model& m = network_->model();
  std::vector<AuditedRule> out;
  out.reserve(rules_.size());
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const RuleState& rs = rules_[i];
    const SecurityGroup& g = m.groups[rs.group];
    const Rule& r = g.rules[rs.rule];
    AuditedRule a;
    a.group = rs.group;
    a.rule = rs.rule;
    a.ruleId = r.id;
    a.groupId = g.id;
    a.direction = r.direction;
    a.priority = r.priority;
    a.policy = r.policy;
    for (const Eni& e : m.enis)
      if (std::find(e.groupIds.begin(), e.groupIds.end(), g.id) != e.groupIds.end()) a.enis.push_back(e.id);
    a.hits = rs.hits;
    a.ifRevoked = rs.impact;
    a.fallback = fallbackOf(settledChangedFlows(i));
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<ChangedFlow> TrafficAudit::changedFlows(std::size_t i) {
  settleAll();
  return settledChangedFlows(i);
}

std::vector<ChangedFlow> TrafficAudit::settledChangedFlows(std::size_t i) const {
  std::vector<ChangedFlow> out;
  if (i >= rules_.size()) return out;
  for (std::uint32_t index : rules_[i].records) {
    const ChangedRecord& c = records_[index];
    ChangedFlow f;
    f.proto = c.proto;
    f.src = c.src;
    f.dst = c.dst;
    f.sport = c.sport;
    f.dport = c.dport;
    f.openerSeen = c.openerSeen;
    f.direction = c.direction;
    f.packets = c.packets;
    f.bytes = c.bytes;
    f.firstNs = c.firstNs;
    f.lastNs = c.lastNs;
    f.firstFrame = c.firstFrame;
    f.firstFile = c.firstFile;
    f.before = describe(c.before);
    f.after = describe(c.after);
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), rankedBefore);
  return out;
}

std::vector<Error> TrafficAudit::warnings() const {
  std::vector<Error> out;
  if (nearCap_)
    out.push_back(Error{"--max-flows " + std::to_string(tracker_.maxFlows()),
                        "the flow table came within reach of its cap, where new flows are decided without "
                        "connection state: ifRevoked figures may differ from what `whatif --revoke` reports "
                        "for the same rule (raise --max-flows)"});
  return out;
}

}  // namespace sgsim
