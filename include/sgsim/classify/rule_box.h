#pragma once
// What a classifier sees: rules flattened to boxes over the packet's own orientation
// (src, dst, sport, dport, protocol) with a strict rank (SEMANTICS §3 order folded into one integer:
// smaller wins). One API rule can become several boxes (a group peer with several member addresses,
// a prefix list, a port range list); all boxes of one rule share its rank.

#include <cstdint>
#include <vector>

#include "sgsim/core/ip.h"

namespace sgsim {

struct RuleBox {
  Family family = Family::V4;
  std::int16_t proto = -1;  // IANA number, -1 = any protocol
  Cidr src;                 // packet source must be inside
  Cidr dst;                 // packet destination must be inside
  std::uint16_t sportLo = 0, sportHi = 65535;
  std::uint16_t dportLo = 0, dportHi = 65535;
  std::uint32_t rank = 0;       // strict order: smaller wins; equal only for boxes of the same rule
  std::uint32_t ruleIndex = 0;  // caller's index of the rule this box came from
};

struct ClassifyKey {
  Family family = Family::V4;
  std::uint8_t proto = 0;
  IpAddr src;
  IpAddr dst;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
};

inline bool boxMatches(const RuleBox& b, const ClassifyKey& k) {
  return b.family == k.family && (b.proto < 0 || b.proto == k.proto) && k.sport >= b.sportLo && k.sport <= b.sportHi &&
         k.dport >= b.dportLo && k.dport <= b.dportHi && b.src.contains(k.src) && b.dst.contains(k.dst);
}

constexpr std::uint32_t kNoMatch = 0xFFFFFFFFu;

}  // namespace sgsim
