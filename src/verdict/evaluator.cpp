#include "sgsim/verdict/evaluator.h"

#include <algorithm>

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

FlowOrigin originOf(Direction d, std::int32_t peer, bool hairpin, bool srcIsA, const Decision& dec) {
  FlowOrigin o;
  o.reason = static_cast<std::uint8_t>(dec.reason);
  o.direction = d;
  o.hairpin = hairpin;
  o.initiatorIsA = srcIsA;
  o.peerEni = peer;
  return o;
}
}  // namespace

std::size_t Evaluator::FragKeyHash::operator()(const FragKey& k) const noexcept {
  return IpAddrHash{}(k.src) * 31 + IpAddrHash{}(k.dst) * 17 + (static_cast<std::size_t>(k.id) << 8) + k.proto;
}

Evaluator::FragKey Evaluator::fragKeyOf(const PacketKey& k) {
  // IPv6 identifies a packet by (source, destination, identification) alone (RFC 8200 §4.5), and a later
  // fragment only knows the header that follows the fragment header, not the transport the first fragment
  // decoded to: leave the protocol out for IPv6.
  return FragKey{k.src, k.dst, k.fragId, k.family == Family::V6 ? std::uint8_t{0} : k.proto};
}

Evaluator::Evaluator(std::shared_ptr<const Network> network, EvalOptions options)
    : network_(std::move(network)), options_(options), tracker_(timeoutsOf(*network_), options.maxFlows) {}

Evaluator::Tracked Evaluator::track(std::int32_t eni, const PacketKey& key, std::int64_t tsNs) {
  Tracked t;
  t.key = FlowKey::make(static_cast<std::uint32_t>(eni), key.proto, key.src, key.sport, key.dst, key.dport, t.srcIsA);
  t.slot = tracker_.acquire(t.key, tsNs);
  if (t.slot.live) tracker_.update(*t.slot.entry, t.key, t.srcIsA, key.tcpFlags, tsNs);
  return t;
}

bool Evaluator::remember(const Tracked& t, const PacketKey& key, std::int64_t tsNs, const Decision& dec, Direction d,
                         std::int32_t peer, bool hairpin) {
  if (t.slot.entry == nullptr) return false;
  FlowEntry& e = *t.slot.entry;
  e.lastNs = tsNs;
  e.fate = dec.verdict == Verdict::Accept ? FlowFate::Accepted : FlowFate::Blocked;
  e.origin = originOf(d, peer, hairpin, t.srcIsA, dec);
  tracker_.update(e, t.key, t.srcIsA, key.tcpFlags, tsNs);
  return true;
}

Check Evaluator::check(std::int32_t eni, Direction d, const PacketKey& key, std::int32_t peer, std::int64_t tsNs,
                       bool& untracked) {
  const Tracked t = track(eni, key, tsNs);
  if (t.slot.live) {
    if (t.slot.entry->fate == FlowFate::Blocked) return Check{eni, d, Verdict::Drop, Reason::Blocked, -1, -1};
    return Check{eni, d, Verdict::Accept, Reason::Established, -1, -1};
  }
  const Decision dec = network_->decide(static_cast<std::size_t>(eni), d, fieldsOf(key), peer);
  if (!remember(t, key, tsNs, dec, d, peer, false)) untracked = true;
  return fromDecision(eni, d, dec);
}

void Evaluator::checkHairpin(std::int32_t eni, const PacketKey& key, std::int64_t tsNs, PacketVerdict& out) {
  const Tracked t = track(eni, key, tsNs);
  if (t.slot.live) {
    const bool ok = t.slot.entry->fate == FlowFate::Accepted;
    const Check c{
        eni, Direction::Egress, ok ? Verdict::Accept : Verdict::Drop, ok ? Reason::Established : Reason::Blocked, -1,
        -1};
    out.checks[out.checkCount++] = c;
    if (ok) {
      Check in = c;
      in.direction = Direction::Ingress;
      out.checks[out.checkCount++] = in;
    }
    return;
  }
  const auto u = static_cast<std::size_t>(eni);
  const Decision eg = network_->decide(u, Direction::Egress, fieldsOf(key), eni);
  out.checks[out.checkCount++] = fromDecision(eni, Direction::Egress, eg);
  Decision last = eg;
  if (eg.verdict == Verdict::Accept) {
    last = network_->decide(u, Direction::Ingress, fieldsOf(key), eni);
    out.checks[out.checkCount++] = fromDecision(eni, Direction::Ingress, last);
  }
  if (!remember(t, key, tsNs, last, Direction::Egress, eni, true)) out.untracked = true;
}

PacketVerdict Evaluator::evaluate(const PacketKey& key, std::int64_t tsNs) {
  PacketVerdict out;
  if (key.status != DecodeStatus::Ok) {
    out.reason = key.status == DecodeStatus::NotIp ? Reason::NotIp : Reason::Undecodable;
    return out;
  }
  if (key.isFragment && !key.firstFragment) {
    auto it = frags_.find(fragKeyOf(key));
    if (it != frags_.end() && tsNs - it->second.tsNs <= kFragmentLifetimeNs) return it->second.verdict;
    out.reason = Reason::UnmatchedFragment;
    return out;
  }

  // src/dst identify the ENIs at both ends (also when only one end is checked: the other still counts
  // as a peer for the intra-group policy); checkSrc/checkDst say which checks are made.
  std::int32_t src = network_->eniOf(key.src), dst = network_->eniOf(key.dst);
  bool checkSrc = false, checkDst = false;
  switch (options_.mode) {
    case DirectionMode::Auto:
      checkSrc = src >= 0 && (options_.eni < 0 || src == options_.eni);
      checkDst = dst >= 0 && (options_.eni < 0 || dst == options_.eni);
      break;
    case DirectionMode::Ingress:
      dst = options_.eni;
      checkDst = true;
      break;
    case DirectionMode::Egress:
      src = options_.eni;
      checkSrc = true;
      break;
  }
  if (!checkSrc && !checkDst) {
    out.reason = Reason::Unmodeled;
    return out;
  }

  if (checkSrc && checkDst && src == dst) {
    checkHairpin(src, key, tsNs, out);
  } else {
    if (checkSrc) out.checks[out.checkCount++] = check(src, Direction::Egress, key, dst, tsNs, out.untracked);
    if (checkDst && (out.checkCount == 0 || out.checks[0].verdict == Verdict::Accept))
      out.checks[out.checkCount++] = check(dst, Direction::Ingress, key, src, tsNs, out.untracked);
  }
  out.deciding = static_cast<std::int8_t>(out.checkCount - 1);
  for (std::uint8_t i = 0; i < out.checkCount; ++i)
    if (out.checks[i].verdict == Verdict::Drop) {
      out.deciding = static_cast<std::int8_t>(i);
      break;
    }
  out.verdict = out.checks[out.deciding].verdict;
  out.reason = out.checks[out.deciding].reason;

  if (key.isFragment && key.firstFragment) {
    if (frags_.size() >= nextFragSweep_) {
      boost::unordered::erase_if(frags_, [&](const auto& kv) { return tsNs - kv.second.tsNs > kFragmentLifetimeNs; });
      nextFragSweep_ = std::max<std::size_t>(1024, frags_.size() * 2);
    }
    frags_[fragKeyOf(key)] = FragEntry{tsNs, out};
  }
  return out;
}

bool Evaluator::redecideDrops(const FlowKey& k, const FlowOrigin& o) const {
  const IpAddr a = k.a(), b = k.b();
  const PacketFields f =
      o.initiatorIsA ? PacketFields{k.proto, a, b, k.pa, k.pb} : PacketFields{k.proto, b, a, k.pb, k.pa};
  const std::size_t eni = k.eni;
  if (o.hairpin) {
    const auto self = static_cast<std::int32_t>(eni);
    return network_->decide(eni, Direction::Egress, f, self).verdict != Verdict::Accept ||
           network_->decide(eni, Direction::Ingress, f, self).verdict != Verdict::Accept;
  }
  return network_->decide(eni, o.direction, f, o.peerEni).verdict != Verdict::Accept;
}

std::size_t Evaluator::replaceNetwork(std::shared_ptr<const Network> network, std::int64_t nowNs,
                                      bool keepEstablished) {
  network_ = std::move(network);
  std::size_t cut = 0;
  if (keepEstablished) return cut;
  tracker_.forEachLive(nowNs, [&](const FlowKey& k, FlowEntry& e) {
    if (e.fate == FlowFate::Accepted && redecideDrops(k, e.origin)) {
      e.fate = FlowFate::Blocked;
      ++cut;
    }
  });
  return cut;
}

}  // namespace sgsim
