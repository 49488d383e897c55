#include "sgsim/verdict/evaluator.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace sgsim {

namespace {
constexpr std::int64_t kFragmentLifetimeNs = 30LL * 1'000'000'000;  // IP reassembly timeout

std::vector<Timeouts> timeoutsOf(const Network& n) {
  std::vector<Timeouts> t;
  for (std::size_t i = 0; i < n.eniCount(); ++i) t.push_back(n.eni(i).timeouts);
  return t;
}

PacketFields fieldsOf(const PacketKey& k) { return PacketFields{k.proto, k.src, k.dst, k.sport, k.dport}; }

Check fromDecision(std::int32_t eni, Direction d, const Decision& dec) {
  return Check{eni, d, dec.verdict, dec.reason, dec.ruleRef, dec.intraGroup};
}

// The packet that makes an entry: its sender is the flow's opener when it opens a connection (issue 10, openedBy).
FlowOrigin originOf(Direction d, std::int32_t peer, bool hairpin, bool srcIsA, const PacketKey& k) {
  FlowOrigin o;
  o.direction = d;
  o.hairpin = hairpin;
  o.initiatorIsA = srcIsA;
  o.firstFlags = static_cast<std::uint8_t>(k.tcpFlags | k.icmpType);  // one is 0 (decode/packet_key.h)
  o.peerEni = peer;
  return o;
}

// Starts a side's entry for a new flow at this ENI.
void startFlow(FlowEntry& e, std::int64_t tsNs, const Decision& dec, const FlowOrigin& origin) {
  e = FlowEntry{};
  e.present = true;
  e.lastNs = tsNs;
  e.fate = dec.verdict == Verdict::Accept ? FlowFate::Accepted : FlowFate::Blocked;
  e.origin = origin;
}

// Whether two sides' entries hold the same state: every field (the time and the origin, 16 bytes without padding,
// then the five flag bytes; FlowEntry's three bytes of padding are not compared).
bool sameState(const FlowEntry& a, const FlowEntry& b) {
  static_assert(offsetof(FlowEntry, origin) == 8 && sizeof(FlowOrigin) == 8 &&
                std::has_unique_object_representations_v<FlowOrigin> && offsetof(FlowEntry, fate) == 16 &&
                offsetof(FlowEntry, present) == 20);
  std::uint64_t x[3] = {}, y[3] = {};
  std::memcpy(x, &a, 16 + 5);
  std::memcpy(y, &b, 16 + 5);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2])) == 0;
}

Check stateCheck(std::int32_t eni, Direction d, const FlowEntry& e) {
  if (e.fate == FlowFate::Blocked) return Check{eni, d, Verdict::Drop, Reason::Blocked, -1, -1};
  return Check{eni, d, Verdict::Accept, Reason::Established, -1, -1};
}
}  // namespace

template <int Sides>
std::size_t BasicEvaluator<Sides>::FragKeyHash::operator()(const FragKey& k) const noexcept {
  return IpAddrHash{}(k.src) * 31 + IpAddrHash{}(k.dst) * 17 + (static_cast<std::size_t>(k.id) << 8) + k.proto;
}

template <int Sides>
typename BasicEvaluator<Sides>::FragKey BasicEvaluator<Sides>::fragKeyOf(const PacketKey& k) {
  // IPv6 identifies a packet by (source, destination, identification) alone (RFC 8200 §4.5), and a later
  // fragment only knows the header that follows the fragment header, not the transport the first fragment
  // decoded to: leave the protocol out for IPv6.
  return FragKey{k.src, k.dst, k.fragId, k.family == Family::V6 ? std::uint8_t{0} : k.proto};
}

template <int Sides>
BasicEvaluator<Sides>::BasicEvaluator(std::array<std::shared_ptr<const Network>, Sides> networks, EvalOptions options)
    : networks_(std::move(networks)),
      options_(options),
      planner_(networks_[0], {}, options),
      tracker_(timeoutsOf(*networks_[0]), options.maxFlows) {
  if constexpr (Sides == 2) change_ = std::make_shared<const NetworkChange>(*networks_[0], *networks_[1]);
}

template <int Sides>
BasicPlanner<Sides> BasicEvaluator<Sides>::planner(std::array<bool, Sides> changing) const {
  std::array<std::shared_ptr<const Network>, Sides> fixed;
  for (int s = 0; s < Sides; ++s)
    if (!changing[s]) fixed[s] = networks_[s];
  return BasicPlanner<Sides>(networks_[0], std::move(fixed), options_);
}

template <int Sides>
void BasicPlanner<Sides>::plan(const PacketKey& key, BasicPacketPlan<Sides>& out, bool decide) const {
  out.decided.fill(nullptr);
  out.checkSrc = out.checkDst = false;
  out.src = out.dst = -1;
  if (key.status != DecodeStatus::Ok || (key.isFragment && !key.firstFragment)) return;
  // src/dst identify the ENIs at both ends (also when only one end is checked: the other still counts
  // as a peer for the intra-group policy); checkSrc/checkDst say which checks are made.
  const auto [src, dst] = ends(key.src, key.dst);
  switch (options_.mode) {
    case DirectionMode::Auto:
      out.checkSrc = src >= 0 && (options_.eni < 0 || src == options_.eni);
      out.checkDst = dst >= 0 && (options_.eni < 0 || dst == options_.eni);
      break;
    case DirectionMode::Ingress:
      out.checkDst = true;
      break;
    case DirectionMode::Egress:
      out.checkSrc = true;
      break;
  }
  out.src = src;
  out.dst = dst;
  bool srcIsA = true;
  if (out.checkSrc)
    out.flowHash[0] = BasicConnTracker<Sides>::hashOf(
        FlowKey::make(static_cast<std::uint32_t>(src), key.proto, key.src, key.sport, key.dst, key.dport, srcIsA));
  if (out.checkDst)
    out.flowHash[1] = BasicConnTracker<Sides>::hashOf(
        FlowKey::make(static_cast<std::uint32_t>(dst), key.proto, key.src, key.sport, key.dst, key.dport, srcIsA));
  if (!decide) return;
  const PacketFields f = fieldsOf(key);
  const bool hairpin = out.checkSrc && out.checkDst && src == dst;
  for (int s = 0; s < Sides; ++s) {
    const Network* net = fixed_[s].get();
    if (net == nullptr) continue;
    auto& d = out.decisions[s];
    // Side 1 from side 0's decisions when both are made here (verdict/network_change.h).
    const auto& d0 = out.decisions[0];
    const bool derive = s == 1 && change_ && out.decided[0] != nullptr;
    if (out.checkSrc)
      d[0] = derive ? change_->decide(static_cast<std::size_t>(src), Direction::Egress, f, dst, d0[0])
                    : net->decide(static_cast<std::size_t>(src), Direction::Egress, f, dst);
    if (out.checkDst && (!hairpin || d[0].verdict == Verdict::Accept)) {
      // From an ENI to itself, side 0 decided the ingress check only when its egress check accepted.
      const bool have0 = !hairpin || d0[0].verdict == Verdict::Accept;
      d[1] = derive && have0 ? change_->decide(static_cast<std::size_t>(dst), Direction::Ingress, f, src, d0[1])
                             : net->decide(static_cast<std::size_t>(dst), Direction::Ingress, f, src);
    }
    out.decided[s] = net;
  }
}

template <int Sides>
void BasicEvaluator<Sides>::check(std::int32_t eni, Direction d, const PacketKey& key, std::int32_t peer,
                                  std::int64_t tsNs, const std::array<bool, Sides>& need, const Plan& plan,
                                  Verdicts& out) {
  bool srcIsA = true;
  const FlowKey fk =
      FlowKey::make(static_cast<std::uint32_t>(eni), key.proto, key.src, key.sport, key.dst, key.dport, srcIsA);
  FlowSlot<Sides>* slot = tracker_.acquire(fk, plan.flowHash[d == Direction::Egress ? 0 : 1], tsNs);
  // Two sides whose entries hold the same state (the change does not touch the flow, the usual case) take the same
  // steps with the same packet: side 1's entry ends as side 0's does when both are live, or when both are decided by
  // rules alike. update() reads nothing but the entry and the packet, so copying it is exact.
  bool same = false;
  if constexpr (Sides == 2) {
    same = slot != nullptr && need[0] && need[1] && sameState(slot->side[0], slot->side[1]);
    if (same && tracker_.live(slot->side[0], fk, tsNs)) {
      tracker_.update(slot->side[0], fk, srcIsA, key.tcpFlags, refreshNs_);
      slot->side[1] = slot->side[0];
      const Check c = stateCheck(eni, d, slot->side[0]);
      out[0].checks[out[0].checkCount++] = c;
      out[1].checks[out[1].checkCount++] = c;
      return;
    }
  }
  Decision dec0;  // side 0's decision by its rules in this check (decided0)
  bool decided0 = false;
  for (int s = 0; s < Sides; ++s) {
    if (!need[s]) continue;
    PacketVerdict& v = out[s];
    if (slot != nullptr && tracker_.live(slot->side[s], fk, tsNs)) {
      tracker_.update(slot->side[s], fk, srcIsA, key.tcpFlags, refreshNs_);
      v.checks[v.checkCount++] = stateCheck(eni, d, slot->side[s]);
      continue;
    }
    Decision dec;
    if (plan.decided[s] == networks_[s].get())
      dec = plan.decisions[s][d == Direction::Egress ? 0 : 1];
    else if (s == 1 && decided0)  // side 1's table from side 0's (verdict/network_change.h)
      dec = change_->decide(static_cast<std::size_t>(eni), d, fieldsOf(key), peer, dec0);
    else
      dec = networks_[s]->decide(static_cast<std::size_t>(eni), d, fieldsOf(key), peer);
    if (s == 0) {
      dec0 = dec;
      decided0 = true;
    } else if (same && dec.verdict == dec0.verdict) {  // the same fate from the same state: the same entry
      slot->side[1] = slot->side[0];
      v.checks[v.checkCount++] = fromDecision(eni, d, dec);
      continue;
    }
    if (slot != nullptr) {
      startFlow(slot->side[s], tsNs, dec, originOf(d, peer, false, srcIsA, key));
      tracker_.update(slot->side[s], fk, srcIsA, key.tcpFlags, refreshNs_);
    } else {
      v.untracked = true;
    }
    v.checks[v.checkCount++] = fromDecision(eni, d, dec);
  }
}

template <int Sides>
void BasicEvaluator<Sides>::checkHairpin(std::int32_t eni, const PacketKey& key, std::int64_t tsNs, const Plan& plan,
                                         Verdicts& out) {
  bool srcIsA = true;
  const FlowKey fk =
      FlowKey::make(static_cast<std::uint32_t>(eni), key.proto, key.src, key.sport, key.dst, key.dport, srcIsA);
  FlowSlot<Sides>* slot = tracker_.acquire(fk, plan.flowHash[0], tsNs);
  const auto u = static_cast<std::size_t>(eni);
  for (int s = 0; s < Sides; ++s) {
    PacketVerdict& v = out[s];
    if (slot != nullptr && tracker_.live(slot->side[s], fk, tsNs)) {
      FlowEntry& e = slot->side[s];
      tracker_.update(e, fk, srcIsA, key.tcpFlags, refreshNs_);
      const Check c = stateCheck(eni, Direction::Egress, e);
      v.checks[v.checkCount++] = c;
      if (c.verdict == Verdict::Accept) v.checks[v.checkCount++] = stateCheck(eni, Direction::Ingress, e);
      continue;
    }
    const Network& net = *networks_[s];
    const bool planned = plan.decided[s] == &net;
    const Decision eg = planned ? plan.decisions[s][0] : net.decide(u, Direction::Egress, fieldsOf(key), eni);
    v.checks[v.checkCount++] = fromDecision(eni, Direction::Egress, eg);
    Decision last = eg;
    if (eg.verdict == Verdict::Accept) {
      last = planned ? plan.decisions[s][1] : net.decide(u, Direction::Ingress, fieldsOf(key), eni);
      v.checks[v.checkCount++] = fromDecision(eni, Direction::Ingress, last);
    }
    if (slot != nullptr) {
      startFlow(slot->side[s], tsNs, last, originOf(Direction::Egress, eni, true, srcIsA, key));
      tracker_.update(slot->side[s], fk, srcIsA, key.tcpFlags, refreshNs_);
    } else {
      v.untracked = true;
    }
  }
}

template <int Sides>
void BasicEvaluator<Sides>::evaluate(const PacketKey& key, std::int64_t tsNs, Verdicts& out) {
  Plan plan;
  this->plan(key, plan);
  evaluate(key, plan, tsNs, out);
}

template <int Sides>
void BasicEvaluator<Sides>::evaluate(const PacketKey& key, const Plan& plan, std::int64_t tsNs, Verdicts& out,
                                     std::int64_t lastNs) {
  out = Verdicts{};
  refreshNs_ = std::max(tsNs, lastNs);
  if (key.status != DecodeStatus::Ok) {
    for (PacketVerdict& v : out) v.reason = key.status == DecodeStatus::NotIp ? Reason::NotIp : Reason::Undecodable;
    return;
  }
  if (key.isFragment && !key.firstFragment) {
    auto it = frags_.find(fragKeyOf(key));
    if (it != frags_.end() && tsNs - it->second.tsNs <= kFragmentLifetimeNs) {
      out = it->second.verdicts;
      return;
    }
    for (PacketVerdict& v : out) v.reason = Reason::UnmatchedFragment;
    return;
  }

  const std::int32_t src = plan.src, dst = plan.dst;
  const bool checkSrc = plan.checkSrc, checkDst = plan.checkDst;
  if (!checkSrc && !checkDst) {
    for (PacketVerdict& v : out) v.reason = Reason::Unmodeled;
    return;
  }

  if (checkSrc && checkDst && src == dst) {
    checkHairpin(src, key, tsNs, plan, out);
  } else {
    std::array<bool, Sides> need;
    need.fill(true);
    if (checkSrc) check(src, Direction::Egress, key, dst, tsNs, need, plan, out);
    if (checkDst) {
      // A packet dropped at the sender's egress never reaches the receiver: no check, state untouched.
      bool any = false;
      for (int s = 0; s < Sides; ++s) {
        need[s] = out[s].checkCount == 0 || out[s].checks[0].verdict == Verdict::Accept;
        any = any || need[s];
      }
      if (any) check(dst, Direction::Ingress, key, src, tsNs, need, plan, out);
    }
  }
  for (PacketVerdict& v : out) {
    v.deciding = static_cast<std::int8_t>(v.checkCount - 1);
    for (std::uint8_t i = 0; i < v.checkCount; ++i)
      if (v.checks[i].verdict == Verdict::Drop) {
        v.deciding = static_cast<std::int8_t>(i);
        break;
      }
    v.verdict = v.checks[v.deciding].verdict;
    v.reason = v.checks[v.deciding].reason;
  }

  if (key.isFragment && key.firstFragment) {
    if (frags_.size() >= nextFragSweep_) {
      boost::unordered::erase_if(frags_, [&](const auto& kv) { return tsNs - kv.second.tsNs > kFragmentLifetimeNs; });
      nextFragSweep_ = std::max<std::size_t>(1024, frags_.size() * 2);
    }
    frags_[fragKeyOf(key)] = FragEntry{tsNs, out, FragmentFlow{key.proto, key.sport, key.dport}};
  }
}

template <int Sides>
bool BasicEvaluator<Sides>::redecideDrops(const Network& net, const FlowKey& k, const FlowOrigin& o) const {
  const IpAddr a = k.a(), b = k.b();
  const PacketFields f =
      o.initiatorIsA ? PacketFields{k.proto, a, b, k.pa, k.pb} : PacketFields{k.proto, b, a, k.pb, k.pa};
  const std::size_t eni = k.eni;
  if (o.hairpin) {
    const auto self = static_cast<std::int32_t>(eni);
    return net.decide(eni, Direction::Egress, f, self).verdict != Verdict::Accept ||
           net.decide(eni, Direction::Ingress, f, self).verdict != Verdict::Accept;
  }
  return net.decide(eni, o.direction, f, o.peerEni).verdict != Verdict::Accept;
}

template <int Sides>
InstantChange BasicEvaluator<Sides>::replaceNetwork(int side, std::shared_ptr<const Network> network,
                                                    std::int64_t nowNs, bool keepEstablished) {
  networks_[side] = std::move(network);
  if constexpr (Sides == 2) change_ = std::make_shared<const NetworkChange>(*networks_[0], *networks_[1]);
  InstantChange change;
  const Network& net = *networks_[side];
  tracker_.forEachLive(side, nowNs, [&](const FlowKey& k, FlowEntry& e) {
    if (e.fate == FlowFate::Accepted) {
      if (!keepEstablished && redecideDrops(net, k, e.origin)) {
        e.fate = FlowFate::Blocked;
        ++change.cut;
      }
    } else if (!redecideDrops(net, k, e.origin)) {
      // The mirror of a cut (SEMANTICS §6): the dropped first packet made no session in the cloud, so under the new
      // table the flow's next packet, whichever way it goes, is a first packet.
      tracker_.forget(e, nowNs);
      ++change.released;
    }
  });
  return change;
}

template <int Sides>
std::optional<FragmentFlow> BasicEvaluator<Sides>::firstFragmentOf(const PacketKey& key, std::int64_t tsNs) const {
  if (key.status != DecodeStatus::Ok || !key.isFragment || key.firstFragment) return std::nullopt;
  auto it = frags_.find(fragKeyOf(key));
  if (it == frags_.end() || tsNs - it->second.tsNs > kFragmentLifetimeNs) return std::nullopt;
  return it->second.flow;
}

template class BasicPlanner<1>;
template class BasicPlanner<2>;
template class BasicEvaluator<1>;
template class BasicEvaluator<2>;

}  // namespace sgsim
