// Header-space analysis (design: include/sgsim/verdict/header_space.h; the diagram: hs_diagram.h).
#include "sgsim/verdict/header_space.h"

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>

#include "hs_diagram.h"
#include "sgsim/core/proto_text.h"

namespace sgsim {

using hs::Box;
using hs::Diagram;
using hs::Label;
using hs::NodeId;

// ----------------------------------------------------------------------------------------------------------------
// Values, sets, CIDRs.

bool contains(const HsSet& s, HsValue v) {
  // A few intervals (the usual set: whatif marks regions per rule-decided packet): scanned, in order.
  if (s.size() <= 4) {
    for (const HsInterval& i : s) {
      if (v < i.lo) return false;
      if (v <= i.hi) return true;
    }
    return false;
  }
  auto it = std::upper_bound(s.begin(), s.end(), v, [](HsValue x, const HsInterval& i) { return x < i.lo; });
  return it != s.begin() && std::prev(it)->hi >= v;
}

HsValue hsValueOf(const IpAddr& a) { return static_cast<HsValue>(a.hi) << 64 | a.lo; }

IpAddr hsAddrOf(Family f, HsValue v) {
  return IpAddr{f, static_cast<std::uint64_t>(v >> 64), static_cast<std::uint64_t>(v)};
}

std::vector<Cidr> cidrsOf(Family f, const HsSet& s) {
  const int bits = f == Family::V4 ? 32 : 128;
  std::vector<Cidr> out;
  for (const HsInterval& i : s) {
    HsValue lo = i.lo;
    for (;;) {
      // The largest block of 2^size addresses that starts at lo (aligned) and ends inside the interval.
      auto lowBits = [](int n) { return n >= 128 ? ~HsValue{0} : (HsValue{1} << n) - 1; };
      int size = 0;
      while (size < bits && (lo & lowBits(size + 1)) == 0 && lo + lowBits(size + 1) <= i.hi) ++size;
      out.push_back(Cidr::of(hsAddrOf(f, lo), bits - size));
      const HsValue last = lo + lowBits(size);  // no overflow: lo is aligned to the block
      if (last >= i.hi) break;
      lo = last + 1;
    }
  }
  return out;
}

namespace {

HsSet unite(const HsSet& a, const HsSet& b) {
  HsSet all;
  all.reserve(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(all),
             [](const HsInterval& x, const HsInterval& y) { return x.lo < y.lo; });
  HsSet out;
  for (const HsInterval& i : all) {
    if (!out.empty() && (out.back().hi >= i.lo || (i.lo != 0 && out.back().hi == i.lo - 1))) {
      out.back().hi = std::max(out.back().hi, i.hi);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

std::string portText(const HsSet& s, HsValue) {
  std::string out;
  for (const HsInterval& i : s) {
    if (!out.empty()) out += ',';
    out += std::to_string(static_cast<std::uint64_t>(i.lo));
    if (i.hi != i.lo) out.append("-").append(std::to_string(static_cast<std::uint64_t>(i.hi)));
  }
  return out;
}

std::string addrPort(const IpAddr& a, std::uint16_t port) {
  std::string out = a.isV4() ? a.toString() : std::string("[").append(a.toString()).append("]");
  return out.append(":").append(std::to_string(port));
}

}  // namespace

std::string HsPacket::toString() const {
  const PacketFields& p = fields;
  const std::string name = protoName(p.proto);
  const std::string proto = protoFromName(name) ? name : "proto " + name;
  if (hasPorts(p.proto) || (p.proto != 1 && p.proto != 58 && (p.sport != 0 || p.dport != 0)) ||
      ((p.proto == 1 || p.proto == 58) && p.sport != p.dport))
    return proto + " " + addrPort(p.src, p.sport) + " > " + addrPort(p.dst, p.dport);
  std::string out = proto + " " + p.src.toString() + " > " + p.dst.toString();
  if ((p.proto == 1 || p.proto == 58) && p.sport != 0) out.append(" id ").append(std::to_string(p.sport));
  return out;
}

std::string describe(const Network& net, std::size_t eni, Direction d, const HsDecider& who) {
  switch (who.kind) {
    case HsDecider::Kind::Rule:
      return "rule " + net.rules(eni, d)[static_cast<std::size_t>(who.ruleRef)].ruleId;
    case HsDecider::Kind::IntraGroup:
      return "intra-group " + net.model().groups[static_cast<std::size_t>(who.group)].id;
    case HsDecider::Kind::Default:
      return std::string("default ") + toString(who.verdict);
  }
  return "?";
}

bool contains(const HeaderRegion& r, Direction d, const PacketFields& p) {
  if (p.src.family != r.family || p.dst.family != r.family) return false;
  const IpAddr& peer = d == Direction::Ingress ? p.src : p.dst;
  const IpAddr& local = d == Direction::Ingress ? p.dst : p.src;
  // The narrow coordinates first: most packets leave the region on the protocol or a port.
  return contains(r.proto, p.proto) && contains(r.dport, p.dport) && contains(r.sport, p.sport) &&
         contains(r.peer, hsValueOf(peer)) && std::binary_search(r.local.begin(), r.local.end(), local);
}

namespace {

HsSet complementOf(const HsSet& s, HsValue max) {
  HsSet out;
  HsValue next = 0;
  bool open = true;  // `next` is still inside the domain
  for (const HsInterval& i : s) {
    if (i.lo > next) out.push_back(HsInterval{next, i.lo - 1});
    if (i.hi == max) {
      open = false;
      break;
    }
    next = i.hi + 1;
  }
  if (open) out.push_back(HsInterval{next, max});
  return out;
}

// A set, or "not" and its complement when that is shorter: "80", "not 80", "any".
template <class Render, class Count>
std::string setText(const HsSet& s, HsValue max, Render&& render, Count&& count) {
  if (s.size() == 1 && s[0].lo == 0 && s[0].hi == max) return "any";
  const HsSet c = complementOf(s, max);
  return count(c) < count(s) ? std::string("not ").append(render(c)) : render(s);
}

}  // namespace

std::string toString(const HeaderRegion& r) {
  auto intervals = [](const HsSet& s) { return s.size(); };
  auto protos = [](const HsSet& s) {
    std::string out;
    for (const HsInterval& i : s) {
      if (!out.empty()) out += ',';
      out += protoName(static_cast<std::uint8_t>(i.lo));
      if (i.hi != i.lo) out.append("-").append(protoName(static_cast<std::uint8_t>(i.hi)));
    }
    return out;
  };
  auto ports = [](const HsSet& s) { return portText(s, 65535); };
  const Family f = r.family;
  auto cidrs = [f](const HsSet& s) {
    std::string out;
    for (const Cidr& c : cidrsOf(f, s)) out.append(out.empty() ? "" : ",").append(c.toString());
    return out;
  };
  auto cidrCount = [f](const HsSet& s) { return cidrsOf(f, s).size(); };
  const HsValue peerMax = f == Family::V4 ? HsValue{0xFFFFFFFFu} : ~HsValue{0};
  std::string out = "proto ";
  out.append(setText(r.proto, 255, protos, intervals))
      .append(" peer ")
      .append(setText(r.peer, peerMax, cidrs, cidrCount));
  out += " local ";
  if (r.allLocal) {
    out += "any";
  } else {
    for (std::size_t i = 0; i < r.local.size(); ++i) out.append(i ? "," : "").append(r.local[i].toString());
  }
  out.append(" sport ").append(setText(r.sport, 65535, ports, intervals));
  out.append(" dport ").append(setText(r.dport, 65535, ports, intervals));
  return out;
}

// ----------------------------------------------------------------------------------------------------------------
// One ENI's space for one direction and family, and its entries in evaluation order.

namespace {

constexpr HsValue kMax32 = 0xFFFFFFFFu;
const HsValue kMax128 = ~static_cast<HsValue>(0);

struct Entry {
  HsDecider decider;
  std::string key;         // identity across two networks (labels of a shared diagram)
  std::vector<Box> boxes;  // in this family's space
};

struct Space {
  Family family = Family::V4;
  std::vector<IpAddr> local;  // the ENI's addresses of this family, sorted
  std::array<HsValue, hs::kDims> maxima{};
  std::vector<Entry> entries;  // intra-group entries, then the rules (entry intraCount + ruleRef), the default
  std::size_t intraCount = 0;
  std::size_t ruleEntry(std::size_t ruleRef) const { return intraCount + ruleRef; }
};

std::array<int, hs::kDims> orderOf(const HsOptions& o) {
  std::array<int, hs::kDims> out{};
  for (int i = 0; i < hs::kDims; ++i) out[i] = static_cast<int>(o.order[i]);
  return out;
}

Box fullBox(const Space& s) {
  Box b;
  for (int d = 0; d < hs::kDims; ++d) b[d] = HsInterval{0, s.maxima[d]};
  return b;
}

// The rule's boxes in this space (empty when it matches nothing here).
std::vector<Box> ruleSpaceBoxes(const Network& net, const Space& s, const Rule& rule, Direction d) {
  std::vector<Box> out;
  for (const RuleBox& rb : ruleBoxes(net.model(), rule, 0, 0)) {
    if (rb.family != s.family) continue;
    const Cidr& peer = d == Direction::Ingress ? rb.src : rb.dst;
    const Cidr& local = d == Direction::Ingress ? rb.dst : rb.src;
    const auto lo = std::lower_bound(s.local.begin(), s.local.end(), local.base);
    const auto hi = std::upper_bound(s.local.begin(), s.local.end(), local.last());
    if (lo >= hi) continue;
    Box b;
    b[hs::kProto] =
        rb.proto < 0 ? HsInterval{0, 255} : HsInterval{static_cast<HsValue>(rb.proto), static_cast<HsValue>(rb.proto)};
    b[hs::kPeer] = HsInterval{hsValueOf(peer.base), hsValueOf(peer.last())};
    b[hs::kLocal] =
        HsInterval{static_cast<HsValue>(lo - s.local.begin()), static_cast<HsValue>(hi - s.local.begin() - 1)};
    b[hs::kSport] = HsInterval{rb.sportLo, rb.sportHi};
    b[hs::kDport] = HsInterval{rb.dportLo, rb.dportHi};
    out.push_back(b);
  }
  return out;
}

Space makeSpace(const Network& net, std::size_t eni, Direction d, Family f) {
  Space s;
  s.family = f;
  for (const IpAddr& a : net.eni(eni).addresses)
    if (a.family == f) s.local.push_back(a);
  std::sort(s.local.begin(), s.local.end());
  s.local.erase(std::unique(s.local.begin(), s.local.end()), s.local.end());
  s.maxima = {255, f == Family::V4 ? kMax32 : kMax128, s.local.empty() ? 0 : static_cast<HsValue>(s.local.size() - 1),
              65535, 65535};
  const Box full = fullBox(s);

  // SEMANTICS §3 step 4: a peer address of another ENI sharing a basic Accept group is accepted first.
  std::map<std::int32_t, Entry> intra;
  for (std::size_t j = 0; j < net.eniCount(); ++j) {
    if (j == eni) continue;
    const std::int32_t g = net.sharedAcceptGroup(eni, j);
    if (g < 0) continue;
    for (const IpAddr& a : net.eni(j).addresses) {
      if (a.family != f || net.eniOf(a) != static_cast<std::int32_t>(j)) continue;
      Entry& e = intra[g];
      e.decider = HsDecider{HsDecider::Kind::IntraGroup, -1, g, Verdict::Accept};
      e.key = "intra\x1f" + net.model().groups[static_cast<std::size_t>(g)].id;
      Box b = full;
      b[hs::kPeer] = HsInterval{hsValueOf(a), hsValueOf(a)};
      e.boxes.push_back(b);
    }
  }
  for (auto& [g, e] : intra) s.entries.push_back(std::move(e));
  s.intraCount = s.entries.size();

  const auto& refs = net.rules(eni, d);
  std::map<std::string, int> seen;  // a repeated id (not expected) still gets its own label
  for (std::size_t k = 0; k < refs.size(); ++k) {
    Entry e;
    e.decider = HsDecider{HsDecider::Kind::Rule, static_cast<std::int32_t>(k), -1,
                          refs[k].policy == Policy::Drop ? Verdict::Drop : Verdict::Accept};
    e.key = "rule\x1f" + refs[k].groupId + "\x1f" + refs[k].ruleId + "\x1f" + toString(refs[k].policy);
    const int occurrence = seen[e.key]++;
    e.key.append("\x1f").append(std::to_string(occurrence));
    if (!s.local.empty()) e.boxes = ruleSpaceBoxes(net, s, *refs[k].rule, d);
    s.entries.push_back(std::move(e));
  }
  Entry def;
  def.decider = HsDecider{HsDecider::Kind::Default, -1, -1, net.defaultVerdict(eni, d)};
  def.key = std::string("default\x1f") + toString(def.decider.verdict);
  def.boxes.push_back(full);
  s.entries.push_back(std::move(def));
  return s;
}

// The item list of a space on a diagram, labels given by `labelOf(entry index)`.
template <class L>
std::vector<std::uint32_t> itemsOf(Diagram& diag, const Space& s, L&& labelOf) {
  std::vector<std::uint32_t> items;
  for (std::size_t e = 0; e < s.entries.size(); ++e)
    for (const Box& b : s.entries[e].boxes) items.push_back(diag.item(labelOf(e), b));
  return items;
}

// ----------------------------------------------------------------------------------------------------------------
// Choosing readable packets inside a cell or a region.

bool portProto(HsValue p) { return p == 6 || p == 17; }

// The peer of witnesses when any address will do (RFC 5737 TEST-NET-3, RFC 3849).
HsValue documentationAddress(Family f) {
  return hsValueOf(*IpAddr::parse(f == Family::V4 ? "203.0.113.7" : "2001:db8:ffff::7"));
}

HsValue pick(const HsSet& s, std::initializer_list<HsValue> preferred) {
  for (HsValue v : preferred)
    if (contains(s, v)) return v;
  return s.front().lo;
}

struct Point {
  std::array<HsValue, hs::kDims> v{};
};

Point pickPoint(const Space& s, const std::array<HsSet, hs::kDims>& sets) {
  Point p;
  const bool v4 = s.family == Family::V4;
  p.v[hs::kProto] = pick(sets[hs::kProto], {6, 17, static_cast<HsValue>(v4 ? 1 : 58), 47});
  // A documentation address when the peer may be anything; else a host address rather than a network address.
  const HsValue doc = documentationAddress(s.family);
  const HsSet& peer = sets[hs::kPeer];
  if (contains(peer, doc)) {
    p.v[hs::kPeer] = doc;
  } else {
    const HsInterval& i = peer.front();
    p.v[hs::kPeer] = i.hi > i.lo ? i.lo + 1 : i.lo;
  }
  p.v[hs::kLocal] = sets[hs::kLocal].front().lo;
  const HsSet& dp = sets[hs::kDport];
  const HsSet& sp = sets[hs::kSport];
  if (portProto(p.v[hs::kProto])) {
    p.v[hs::kDport] = dp.front().lo == 0 && dp.front().hi > 0 ? 1 : dp.front().lo;
    p.v[hs::kSport] = pick(sp, {40000, 50000, 1024});
    if (p.v[hs::kSport] == 0 && sp.front().hi > 0) p.v[hs::kSport] = 1;
  } else {
    p.v[hs::kDport] = pick(dp, {0});
    p.v[hs::kSport] = pick(sp, {p.v[hs::kDport], 0});
  }
  return p;
}

std::array<HsSet, hs::kDims> setsOf(const Box& b) {
  std::array<HsSet, hs::kDims> out;
  for (int d = 0; d < hs::kDims; ++d) out[d] = HsSet{b[d]};
  return out;
}

HsPacket packetAt(const Network& net, const Space& s, Direction d, const Point& p) {
  HsPacket out;
  const IpAddr peer = hsAddrOf(s.family, p.v[hs::kPeer]);
  const IpAddr local = s.local[static_cast<std::size_t>(p.v[hs::kLocal])];
  out.fields.proto = static_cast<std::uint8_t>(p.v[hs::kProto]);
  out.fields.src = d == Direction::Ingress ? peer : local;
  out.fields.dst = d == Direction::Ingress ? local : peer;
  out.fields.sport = static_cast<std::uint16_t>(p.v[hs::kSport]);
  out.fields.dport = static_cast<std::uint16_t>(p.v[hs::kDport]);
  out.peerEni = net.eniOf(peer);
  return out;
}

HsPacket packetIn(const Network& net, const Space& s, Direction d, const Box& cell) {
  return packetAt(net, s, d, pickPoint(s, setsOf(cell)));
}

// ----------------------------------------------------------------------------------------------------------------
// Regions: cells merged into few products of interval sets.

struct RawRegion {
  std::array<HsSet, hs::kDims> sets;
  std::uint64_t label = 0;
  bool dead = false;
};

struct SetsKeyHash {
  std::size_t operator()(const std::vector<std::uint64_t>& v) const noexcept {
    std::uint64_t h = v.size();
    for (std::uint64_t x : v) h = (h ^ (x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2))) * 0xbf58476d1ce4e5b9ULL;
    return static_cast<std::size_t>(h);
  }
};

// Greedy: two regions with the same label and equal sets on every coordinate but one become one region (their sets
// on that coordinate are disjoint, since regions are); repeated until nothing merges.
void mergeRegions(std::vector<RawRegion>& rs) {
  const int order[] = {hs::kPeer, hs::kLocal, hs::kDport, hs::kSport, hs::kProto};
  bool changed = true;
  while (changed) {
    changed = false;
    for (int d : order) {
      boost::unordered_flat_map<std::vector<std::uint64_t>, std::size_t, SetsKeyHash> groups;
      for (std::size_t i = 0; i < rs.size(); ++i) {
        std::vector<std::uint64_t> key{rs[i].label};
        for (int o = 0; o < hs::kDims; ++o) {
          if (o == d) continue;
          key.push_back(rs[i].sets[o].size());
          for (const HsInterval& iv : rs[i].sets[o]) {
            key.push_back(static_cast<std::uint64_t>(iv.lo >> 64));
            key.push_back(static_cast<std::uint64_t>(iv.lo));
            key.push_back(static_cast<std::uint64_t>(iv.hi >> 64));
            key.push_back(static_cast<std::uint64_t>(iv.hi));
          }
        }
        auto [it, fresh] = groups.try_emplace(std::move(key), i);
        if (fresh) continue;
        RawRegion& into = rs[it->second];
        into.sets[d] = unite(into.sets[d], rs[i].sets[d]);
        rs[i].dead = true;
        changed = true;
      }
      rs.erase(std::remove_if(rs.begin(), rs.end(), [](const RawRegion& r) { return r.dead; }), rs.end());
    }
  }
  // A stable order, whatever the diagram's coordinate order: by protocol, peer, local address, ports.
  std::sort(rs.begin(), rs.end(), [](const RawRegion& a, const RawRegion& b) {
    for (int d : {hs::kProto, hs::kPeer, hs::kLocal, hs::kDport, hs::kSport}) {
      const HsSet& x = a.sets[d];
      const HsSet& y = b.sets[d];
      for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
        if (x[i].lo != y[i].lo) return x[i].lo < y[i].lo;
        if (x[i].hi != y[i].hi) return x[i].hi < y[i].hi;
      }
      if (x.size() != y.size()) return x.size() < y.size();
    }
    return a.label < b.label;
  });
}

HeaderRegion regionOf(const Space& s, const std::array<HsSet, hs::kDims>& sets) {
  HeaderRegion r;
  r.family = s.family;
  r.proto = sets[hs::kProto];
  r.peer = sets[hs::kPeer];
  r.sport = sets[hs::kSport];
  r.dport = sets[hs::kDport];
  for (const HsInterval& i : sets[hs::kLocal])
    for (HsValue v = i.lo; v <= i.hi; ++v) r.local.push_back(s.local[static_cast<std::size_t>(v)]);
  r.allLocal = r.local.size() == s.local.size();
  return r;
}

// ----------------------------------------------------------------------------------------------------------------
// Audit findings.

std::optional<HsBroad> broadCriterion(const Network& net, const Rule& rule) {
  if (rule.direction != Direction::Ingress || rule.policy != Policy::Accept) return std::nullopt;
  if (rule.protocol != Protocol::Tcp && rule.protocol != Protocol::Udp && rule.protocol != Protocol::All)
    return std::nullopt;
  bool wholeFamily = false;
  if (rule.peer.kind == Peer::Kind::Cidr) {
    wholeFamily = rule.peer.cidr.prefix == 0;
  } else if (rule.peer.kind == Peer::Kind::PrefixList) {
    if (const PrefixList* pl = net.model().findPrefixList(rule.peer.prefixListId))
      for (const Cidr& c : pl->entries) wholeFamily = wholeFamily || c.prefix == 0;
  }
  if (!wholeFamily) return std::nullopt;
  std::vector<PortRange> ports;
  if (rule.portRange) {
    ports.push_back(*rule.portRange);
  } else if (const PortRangeList* pl = net.model().findPortRangeList(rule.portRangeListId)) {
    ports = pl->entries;
  }
  HsBroad b;
  for (const PortRange& pr : ports) b.allPorts = b.allPorts || (pr.low() <= 1 && pr.high() == 65535);
  if (rule.protocol == Protocol::All) b.allPorts = true;
  for (std::uint16_t p : kBroadPorts) {
    bool in = b.allPorts;
    for (const PortRange& pr : ports) in = in || pr.matches(p);
    if (in) b.ports.push_back(p);
  }
  if (b.ports.empty()) return std::nullopt;
  return b;
}

std::string referenceProblem(const Model& m, const Rule& rule) {
  switch (rule.peer.kind) {
    case Peer::Kind::Cidr:
      break;
    case Peer::Kind::Group: {
      if (m.findGroup(rule.peer.groupId) == nullptr && m.membersOf(rule.peer.groupId).empty())
        return "references nothing: security group " + rule.peer.groupId + " is not in the model";
      bool any = false;
      for (const Eni* e : m.membersOf(rule.peer.groupId)) any = any || !e->addresses.empty();
      if (!any) return "references nothing: security group " + rule.peer.groupId + " has no member ENI in the model";
      break;
    }
    case Peer::Kind::PrefixList: {
      const PrefixList* pl = m.findPrefixList(rule.peer.prefixListId);
      if (pl == nullptr) return "references nothing: prefix list " + rule.peer.prefixListId + " is not in the model";
      if (pl->entries.empty()) return "references nothing: prefix list " + rule.peer.prefixListId + " has no entries";
      break;
    }
  }
  if (!rule.portRange) {
    const PortRangeList* pl = m.findPortRangeList(rule.portRangeListId);
    if (pl == nullptr) return "references nothing: port range list " + rule.portRangeListId + " is not in the model";
    if (pl->entries.empty()) return "references nothing: port range list " + rule.portRangeListId + " has no entries";
  }
  return {};
}

std::string nothingReason(const Network& net, std::size_t eni, const Rule& rule) {
  std::string r = referenceProblem(net.model(), rule);
  if (!r.empty()) return r;
  const Eni& e = net.eni(eni);
  if (rule.local) {
    bool any = false;
    for (const IpAddr& a : e.addresses) any = any || rule.local->contains(a);
    if (!any)
      return "matches no packet at " + e.id + ": its five-tuple narrowing " + rule.local->toString() +
             " holds none of the ENI's addresses";
  }
  const auto boxes = ruleBoxes(net.model(), rule, 0, 0);
  if (boxes.empty())
    return std::string("matches no packet: none of its peer addresses is of the family its protocol (") +
           toString(rule.protocol) + ") needs";
  std::string families;
  for (Family f : {Family::V4, Family::V6})
    if (std::any_of(boxes.begin(), boxes.end(), [&](const RuleBox& b) { return b.family == f; }))
      families += families.empty() ? (f == Family::V4 ? "IPv4" : "IPv6") : (f == Family::V4 ? " or IPv4" : " or IPv6");
  return "matches no packet at " + e.id + ": its peers are " + families + " and the ENI has no " + families +
         " address" + (rule.local ? " inside its five-tuple narrowing " + rule.local->toString() : std::string());
}

// Reach sets (hs_diagram.h) speed up the searches for one rule; above this size they are skipped.
constexpr std::size_t kReachBytes = 64u << 20;

struct FamilyRun {
  Space space;
  std::unique_ptr<Diagram> diag;
  NodeId root = 0;
  std::vector<char> decided;  // per entry: first somewhere
};

std::uint64_t labelPair(Label a, Label b) { return static_cast<std::uint64_t>(a) << 32 | b; }

HsDecider deciderOf(const Space& s, Label l) { return s.entries[l].decider; }

void addUnique(std::vector<HsDecider>& v, const HsDecider& d) {
  if (std::find(v.begin(), v.end(), d) == v.end()) v.push_back(d);
}

}  // namespace

HsTableAnalysis analyzeTable(const Network& net, std::size_t eni, Direction d, const HsOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  HsTableAnalysis out;
  out.eni = eni;
  out.direction = d;
  const auto& refs = net.rules(eni, d);
  out.rules.resize(refs.size());
  for (std::size_t k = 0; k < refs.size(); ++k) {
    out.rules[k].ruleRef = static_cast<std::int32_t>(k);
    out.rules[k].broad = broadCriterion(net, *refs[k].rule);
  }

  std::vector<Space> spaces;  // the families with an address at this ENI (no other packet is checked here)
  for (Family f : {Family::V4, Family::V6}) {
    Space s = makeSpace(net, eni, d, f);
    if (!s.local.empty()) spaces.push_back(std::move(s));
  }
  std::vector<FamilyRun> runs;
  for (const Space& space : spaces) {
    FamilyRun run;
    run.space = space;
    const Space& s = run.space;
    run.diag = std::make_unique<Diagram>(s.maxima, orderOf(options), 2, options.maxWork);
    run.diag->prefer(hs::kPeer, documentationAddress(s.family));
    const auto root = run.diag->build(itemsOf(*run.diag, s, [](std::size_t e) { return static_cast<Label>(e); }));
    out.stats.work += run.diag->work();
    out.stats.nodes += run.diag->nodeCount();
    if (!root) {
      out.status = HsStatus::NotProven;
      out.notProven = std::string("the ") + (s.family == Family::V4 ? "IPv4" : "IPv6") + " table of " +
                      net.eni(eni).id + " " + toString(d) + " needs more than " + std::to_string(options.maxWork) +
                      " units of work to analyse exactly";
      break;
    }
    run.root = *root;
    run.decided.assign(s.entries.size(), 0);
    run.diag->forEachTerminal(run.root, [&](NodeId t) { run.decided[run.diag->first(t)] = 1; });
    run.diag->computeReach(s.entries.size(), kReachBytes);
    runs.push_back(std::move(run));
  }

  // A rule that has no box in any family's space matches nothing here, whatever the analysis proves.
  for (std::size_t k = 0; k < refs.size(); ++k) {
    const bool any = std::any_of(spaces.begin(), spaces.end(),
                                 [&](const Space& s) { return !s.entries[s.ruleEntry(k)].boxes.empty(); });
    if (any) continue;
    out.rules[k].matchesNothing = true;
    out.rules[k].nothingReason = nothingReason(net, eni, *refs[k].rule);
    out.rules[k].broad.reset();  // a rule that matches nothing exposes nothing
  }
  auto finish = [&]() {
    // Every list in evaluation order (intra-group, rules, default), whatever order the walks found them in.
    auto before = [](const HsDecider& a, const HsDecider& b) {
      return std::tie(a.kind, a.ruleRef, a.group) < std::tie(b.kind, b.ruleRef, b.group);
    };
    for (HsRuleFindings& rf : out.rules) {
      std::sort(rf.shadowedBy.begin(), rf.shadowedBy.end(), before);
      std::sort(rf.fallbacks.begin(), rf.fallbacks.end(),
                [&](const HsFallback& a, const HsFallback& b) { return before(a.decider, b.decider); });
      std::sort(rf.conflicts.begin(), rf.conflicts.end(),
                [&](const HsConflict& a, const HsConflict& b) { return before(a.other, b.other); });
    }
    for (const FamilyRun& r : runs) out.stats.work += r.diag->walkSteps();
    out.stats.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return out;
  };
  // NotProven: only what holds without the diagram stays: matchesNothing, and the broad criterion with a packet
  // from anywhere to a listed port that the rule matches (whether it decides it is not known).
  auto giveUp = [&](std::string why) {
    out.status = HsStatus::NotProven;
    out.notProven = std::move(why);
    for (std::size_t k = 0; k < refs.size(); ++k) {
      HsRuleFindings& rf = out.rules[k];
      auto broad = std::move(rf.broad);
      const bool nothing = rf.matchesNothing;
      std::string reason = std::move(rf.nothingReason);
      rf = HsRuleFindings{};
      rf.ruleRef = static_cast<std::int32_t>(k);
      rf.matchesNothing = nothing;
      rf.nothingReason = std::move(reason);
      if (!broad) continue;
      broad->decides.reset();
      bool have = false;
      for (const Space& s : spaces)
        for (const Box& b : s.entries[s.ruleEntry(k)].boxes) {
          if (have || b[hs::kPeer].lo != 0 || b[hs::kPeer].hi != s.maxima[hs::kPeer]) continue;
          for (std::uint16_t p : broad->ports)
            if (!have && b[hs::kDport].contains(p)) {
              Box q = b;
              q[hs::kDport] = HsInterval{p, p};
              broad->witness = packetIn(net, s, d, q);
              have = true;
            }
        }
      if (have) rf.broad = std::move(broad);
    }
    return finish();
  };
  if (out.status == HsStatus::NotProven) return giveUp(out.notProven);

  // The searches below are bounded by the same budget as the diagrams.
  const std::uint64_t walkBudget = options.maxWork;
  auto walked = [&]() {
    std::uint64_t w = 0;
    for (const FamilyRun& r : runs) w += r.diag->walkSteps();
    return w;
  };
  auto overBudget = [&](const char* what) {
    return "the " + std::string(what) + " of " + net.eni(eni).id + " " + toString(d) + " needs more than " +
           std::to_string(walkBudget) + " search steps";
  };

  for (std::size_t k = 0; k < refs.size(); ++k) {
    HsRuleFindings& rf = out.rules[k];
    if (rf.matchesNothing) continue;
    const Verdict mine = refs[k].policy == Policy::Drop ? Verdict::Drop : Verdict::Accept;
    for (FamilyRun& run : runs) {
      const Space& s = run.space;
      const Label me = static_cast<Label>(s.ruleEntry(k));
      if (!run.decided[me]) continue;
      rf.decides = true;
      // One walk over the part of the diagram where this rule can be first: each terminal (winner, runner-up) it
      // reaches gives a witness of what decides once the rule is revoked.
      run.diag->collect(run.root, fullBox(s), me, [&](const Box& cell, NodeId t) {
        if (run.diag->first(t) != me) return;
        const HsPacket w = packetIn(net, s, d, cell);
        if (!rf.decidesWitness) rf.decidesWitness = w;
        const HsDecider who = deciderOf(s, run.diag->second(t));
        if (std::none_of(rf.fallbacks.begin(), rf.fallbacks.end(),
                         [&](const HsFallback& x) { return x.decider == who; }))
          rf.fallbacks.push_back(HsFallback{who, who.verdict != mine, w});
      });
    }
    rf.redundant = rf.decides &&
                   std::none_of(rf.fallbacks.begin(), rf.fallbacks.end(), [](const HsFallback& x) { return x.flips; });
    if (!rf.decides) {
      rf.shadowed = true;
      for (FamilyRun& run : runs) {
        const Space& s = run.space;
        for (const Box& b : s.entries[s.ruleEntry(k)].boxes) {
          run.diag->forEachTerminalIn(run.root, b,
                                      [&](NodeId t) { addUnique(rf.shadowedBy, deciderOf(s, run.diag->first(t))); });
          if (!rf.shadowWitness) {
            auto f = run.diag->find(run.root, b, [](NodeId) { return true; });
            if (f) rf.shadowWitness = packetIn(net, s, d, f->first);
          }
        }
      }
    }
    if (rf.broad) {
      rf.broad->decides = false;
      bool haveWitness = false;
      for (FamilyRun& run : runs) {
        const Space& s = run.space;
        const Label me = static_cast<Label>(s.ruleEntry(k));
        for (const Box& b : s.entries[me].boxes) {
          if (b[hs::kPeer].lo != 0 || b[hs::kPeer].hi != s.maxima[hs::kPeer]) continue;
          for (std::uint16_t p : rf.broad->ports) {
            if (!b[hs::kDport].contains(p) || *rf.broad->decides) continue;
            Box q = b;
            q[hs::kDport] = HsInterval{p, p};
            if (run.decided[me]) {
              auto f = run.diag->find(
                  run.root, q, [&](NodeId t) { return run.diag->first(t) == me; }, me);
              if (f) {
                rf.broad->decides = true;
                rf.broad->witness = packetIn(net, s, d, f->first);
                haveWitness = true;
                continue;
              }
            }
            if (!haveWitness) {
              rf.broad->witness = packetIn(net, s, d, q);
              haveWitness = true;
            }
          }
        }
      }
      if (!haveWitness) rf.broad.reset();  // its whole-family boxes hold no address of this ENI
    }
    if (walked() > walkBudget) return giveUp(overBudget("per-rule search"));
  }

  // Conflicts: a rule and an entry of the other verdict (a rule, or the intra-group accept) whose boxes overlap,
  // where the earlier of the two decides some packet of the overlap. A pair found in one family is not searched
  // again in the other.
  if (options.conflicts) {
    for (FamilyRun& run : runs) {
      const Space& s = run.space;
      const std::size_t last = s.entries.size() - 1;  // the default is no party
      for (std::size_t a = 0; a < last; ++a) {
        if (!run.decided[a]) continue;
        const Entry& ea = s.entries[a];
        for (std::size_t b = std::max(a + 1, s.intraCount); b < last; ++b) {
          const Entry& eb = s.entries[b];
          if (ea.decider.verdict == eb.decider.verdict) continue;
          auto& later = out.rules[b - s.intraCount].conflicts;
          if (std::any_of(later.begin(), later.end(), [&](const HsConflict& c) { return c.other == ea.decider; }))
            continue;
          std::optional<HsPacket> witness;
          for (std::size_t i = 0; i < ea.boxes.size() && !witness; ++i)
            for (std::size_t j = 0; j < eb.boxes.size() && !witness; ++j) {
              if (!hs::overlaps(ea.boxes[i], eb.boxes[j])) continue;
              const auto la = static_cast<Label>(a);
              auto f = run.diag->find(
                  run.root, hs::intersect(ea.boxes[i], eb.boxes[j]), [&](NodeId t) { return run.diag->first(t) == la; },
                  la);
              if (f) witness = packetIn(net, s, d, f->first);
            }
          if (witness) {
            later.push_back(HsConflict{ea.decider, false, *witness});
            if (a >= s.intraCount)
              out.rules[a - s.intraCount].conflicts.push_back(HsConflict{eb.decider, true, *witness});
          }
          if (walked() > walkBudget) return giveUp(overBudget("conflict search"));
        }
      }
    }
  }
  return finish();
}

std::vector<HsTableAnalysis> analyzeNetwork(const Network& net, const HsOptions& options) {
  std::vector<HsTableAnalysis> out;
  for (std::size_t e = 0; e < net.eniCount(); ++e)
    for (Direction d : {Direction::Ingress, Direction::Egress}) out.push_back(analyzeTable(net, e, d, options));
  return out;
}

std::vector<HsRuleSummary> summarizeByRule(const Network& net, const std::vector<HsTableAnalysis>& tables) {
  const Model& m = net.model();
  std::vector<HsRuleSummary> out;
  std::map<const Rule*, std::size_t> index;
  for (std::size_t g = 0; g < m.groups.size(); ++g)
    for (std::size_t r = 0; r < m.groups[g].rules.size(); ++r) {
      index.emplace(&m.groups[g].rules[r], out.size());
      HsRuleSummary s;
      s.group = g;
      s.rule = r;
      out.push_back(s);
    }
  for (std::size_t t = 0; t < tables.size(); ++t) {
    const HsTableAnalysis& a = tables[t];
    const auto& refs = net.rules(a.eni, a.direction);
    for (std::size_t k = 0; k < a.rules.size() && k < refs.size(); ++k) {
      auto it = index.find(refs[k].rule);
      if (it != index.end()) out[it->second].tables.emplace_back(t, k);
    }
  }
  for (HsRuleSummary& s : out) {
    if (s.tables.empty()) continue;
    bool nothing = true, never = true, decidesSomewhere = false, redundantWhereItDecides = true;
    for (const auto& [t, k] : s.tables) {
      const HsRuleFindings& f = tables[t].rules[k];
      s.proven = s.proven && tables[t].status == HsStatus::Exact;
      nothing = nothing && f.matchesNothing;
      never = never && (f.matchesNothing || f.shadowed);
      if (f.decides) {
        decidesSomewhere = true;
        redundantWhereItDecides = redundantWhereItDecides && f.redundant;
      }
      s.broad = s.broad || f.broad.has_value();
      s.conflicts = s.conflicts || !f.conflicts.empty();
    }
    s.matchesNothing = nothing;
    s.neverDecides = s.proven && never;
    s.redundant = s.proven && decidesSomewhere && redundantWhereItDecides;
  }
  return out;
}

// ----------------------------------------------------------------------------------------------------------------
// The decision map.

HsDecisionMap decisionMap(const Network& net, std::size_t eni, Direction d, const HsOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  HsDecisionMap out;
  for (Family f : {Family::V4, Family::V6}) {
    const Space s = makeSpace(net, eni, d, f);
    if (s.local.empty()) continue;
    Diagram diag(s.maxima, orderOf(options), 1, options.maxWork);
    const auto root = diag.build(itemsOf(diag, s, [](std::size_t e) { return static_cast<Label>(e); }));
    out.stats.work += diag.work();
    out.stats.nodes += diag.nodeCount();
    if (!root) {
      out.status = HsStatus::NotProven;
      out.notProven = std::string("the ") + (f == Family::V4 ? "IPv4" : "IPv6") + " table of " + net.eni(eni).id + " " +
                      toString(d) + " needs more than " + std::to_string(options.maxWork) +
                      " units of work to map exactly";
      out.entries.clear();
      break;
    }
    std::vector<RawRegion> raw;
    const std::size_t room = options.maxBoxes > out.entries.size() ? options.maxBoxes - out.entries.size() : 0;
    if (!diag.enumerate(*root, diag.fullBox(), room, [&](const Box& cell, NodeId t) {
          raw.push_back(RawRegion{setsOf(cell), diag.first(t)});
        }))
      out.truncated = true;
    mergeRegions(raw);
    for (const RawRegion& r : raw) {
      const HsDecider who = s.entries[static_cast<std::size_t>(r.label)].decider;
      out.entries.push_back(HsMapEntry{regionOf(s, r.sets), who, packetAt(net, s, d, pickPoint(s, r.sets))});
    }
  }
  out.stats.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

// ----------------------------------------------------------------------------------------------------------------
// The space diff.

HsSpaceDiff diffSpace(const Network& before, const Network& after, const HsOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  HsSpaceDiff out;
  for (std::size_t e = 0; e < before.eniCount(); ++e) {
    const Eni& eb = before.eni(e);
    const bool same = e < after.eniCount() && after.eni(e).id == eb.id && after.eni(e).addresses == eb.addresses;
    for (Direction d : {Direction::Ingress, Direction::Egress}) {
      if (!same) {
        out.notProven.push_back(
            HsTableStatus{e, d, HsStatus::NotProven,
                          "ENI " + eb.id + " is not the same ENI with the same addresses after the change"});
        continue;
      }
      std::vector<HsFlipRegion> table;
      bool failed = false;
      for (Family f : {Family::V4, Family::V6}) {
        const Space sb = makeSpace(before, e, d, f);
        const Space sa = makeSpace(after, e, d, f);
        if (sb.local.empty()) continue;
        // A table the change does not touch (its group is elsewhere) flips nothing: no diagram needed.
        const bool sameEntries =
            sb.entries.size() == sa.entries.size() &&
            std::equal(sb.entries.begin(), sb.entries.end(), sa.entries.begin(), [](const Entry& x, const Entry& y) {
              return x.key == y.key && x.decider.verdict == y.decider.verdict && x.boxes == y.boxes;
            });
        if (sameEntries) continue;
        Diagram diag(sb.maxima, orderOf(options), 1, options.maxWork);
        // Labels by identity, so that what the two tables share is one sub-diagram.
        std::map<std::string, Label> labels;
        auto label = [&](const std::string& key) {
          return labels.try_emplace(key, static_cast<Label>(labels.size())).first->second;
        };
        auto itemsB = itemsOf(diag, sb, [&](std::size_t i) { return label(sb.entries[i].key); });
        auto itemsA = itemsOf(diag, sa, [&](std::size_t i) { return label(sa.entries[i].key); });
        // Per label, its decider on each side (a label absent from one side never appears in its terminals).
        std::vector<HsDecider> onBefore(labels.size()), onAfter(labels.size());
        for (const Entry& x : sb.entries)
          if (auto it = labels.find(x.key); it != labels.end()) onBefore[it->second] = x.decider;
        for (const Entry& x : sa.entries)
          if (auto it = labels.find(x.key); it != labels.end()) onAfter[it->second] = x.decider;
        const auto rb = diag.build(std::move(itemsB));
        const auto ra = rb ? diag.build(std::move(itemsA)) : std::nullopt;
        out.stats.work += diag.work();
        out.stats.nodes += diag.nodeCount();
        if (!rb || !ra) {
          out.notProven.push_back(HsTableStatus{
              e, d, HsStatus::NotProven,
              std::string("the ") + (f == Family::V4 ? "IPv4" : "IPv6") + " tables of " + eb.id + " " + toString(d) +
                  " need more than " + std::to_string(options.maxWork) + " units of work to compare exactly"});
          failed = true;
          break;
        }
        std::vector<RawRegion> raw;
        const bool complete = diag.diff(
            *rb, *ra, options.maxBoxes, [&](Label x, Label y) { return onBefore[x].verdict != onAfter[y].verdict; },
            [&](const Box& cell, NodeId x, NodeId y) {
              raw.push_back(RawRegion{setsOf(cell), labelPair(diag.first(x), diag.first(y))});
            });
        if (!complete) out.truncated = true;
        mergeRegions(raw);
        for (const RawRegion& r : raw) {
          HsFlipRegion fr;
          fr.eni = e;
          fr.direction = d;
          fr.region = regionOf(sb, r.sets);
          fr.before = onBefore[static_cast<Label>(r.label >> 32)];
          fr.after = onAfter[static_cast<Label>(r.label)];
          fr.example = packetAt(before, sb, d, pickPoint(sb, r.sets));
          table.push_back(std::move(fr));
        }
      }
      if (!failed) out.regions.insert(out.regions.end(), table.begin(), table.end());
    }
  }
  out.stats.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

std::int32_t findRegion(const HsSpaceDiff& diff, std::size_t eni, Direction d, const PacketFields& p) {
  for (std::size_t i = 0; i < diff.regions.size(); ++i) {
    const HsFlipRegion& r = diff.regions[i];
    if (r.eni == eni && r.direction == d && contains(r.region, d, p)) return static_cast<std::int32_t>(i);
  }
  return -1;
}

}  // namespace sgsim
