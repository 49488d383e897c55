#pragma once
// Reading ClassBench filter sets and header traces (format: ../shared/corpus/classbench/README.md), the
// standard inputs of the packet-classification literature, for the differential tests, the benchmarks and
// the classbench2sgsim converter.

#include <cstdint>
#include <string>
#include <vector>

#include "sgsim/classify/rule_box.h"
#include "sgsim/core/result.h"

namespace sgsim {

// One IPv4 box per line ("@SA/len  DA/len  lo : hi  lo : hi  0xPP/0xMM  flags"), rank and ruleIndex = the
// 0-based rule number (first line wins). Protocol 0x00/0x00 is any, 0xPP/0xFF is exact; any other mask, a
// malformed field or an inverted port range is an error naming "path:line". The TCP-flags column is ignored.
// Blank lines are skipped and do not count as rules.
Result<std::vector<RuleBox>> loadClassBenchRules(const std::string& path);

// One key per line ("SA DA SP DP PROTO FLAGS FILTER", SA/DA host-order integers); only the first five
// columns are read. Errors name "path:line".
Result<std::vector<ClassifyKey>> loadClassBenchTrace(const std::string& path);

// ClassBench's IPv4 sets placed into IPv6 for the IPv6 benchmarks and tests. Both mappings send an IPv4 prefix
// p/len and an IPv4 address to an IPv6 prefix and address so that the address is inside the prefix exactly
// when it was in IPv4: every header keeps its matching rules, and the set keeps its nesting and its spread
// of prefix lengths.
//   Fixed64:  all under 2001:db8::/64, p in bits 64-95: p/len -> 2001:db8::PPPP:PPPP:0:0/(64+len)
//             (10.1.2.0/24 -> 2001:db8::a01:200:0:0/88).
//   Spread48: the first 16 bits of p choose one of 65,536 /48s under 2001:db8::/32, subnet 0 of it, the
//             other 16 bits in bits 64-79: p/len -> 2001:db8:AAAA:0:BBBB::/(32+len) for len <= 16,
//             /(48+len) above (10.1.2.0/24 -> 2001:db8:a01:0:200::/72, 10.0.0.0/8 -> 2001:db8:a00::/40).
//             Prefix lengths then cross the 64-bit word boundary, and 0.0.0.0/0 becomes 2001:db8::/32.
// Ports, protocol, rank and ruleIndex are kept. Boxes and keys that are not IPv4 come back unchanged.
enum class ClassBenchV6 { Fixed64, Spread48 };
RuleBox toIpv6(const RuleBox& box, ClassBenchV6 mapping);
ClassifyKey toIpv6(const ClassifyKey& key, ClassBenchV6 mapping);

}  // namespace sgsim
