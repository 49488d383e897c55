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

}  // namespace sgsim
