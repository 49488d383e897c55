#pragma once
// Boxes and keys written as text, for the classifier tests.

#include "sgsim/classify/rule_box.h"

namespace sgsim::test_util {

inline RuleBox box(const char* src, const char* dst, int proto, std::uint16_t dlo, std::uint16_t dhi,
                   std::uint32_t rank) {
  RuleBox b;
  b.src = *Cidr::parse(src);
  b.dst = *Cidr::parse(dst);
  b.family = b.src.family();
  b.proto = static_cast<std::int16_t>(proto);
  b.dportLo = dlo;
  b.dportHi = dhi;
  b.rank = rank;
  return b;
}

inline ClassifyKey key(const char* src, const char* dst, int proto, std::uint16_t sport, std::uint16_t dport) {
  auto s = *IpAddr::parse(src);
  return ClassifyKey{s.family, static_cast<std::uint8_t>(proto), s, *IpAddr::parse(dst), sport, dport};
}

}  // namespace sgsim::test_util
