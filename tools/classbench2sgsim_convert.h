#pragma once
// The ClassBench → sgsim mapping behind tools/classbench2sgsim (documented at the top of
// classbench2sgsim.cpp and in docs/PERFORMANCE.md), kept apart from the command line so that the
// classify tests can check that a converted model decides like the ClassBench first match.

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "sgsim/classify/rule_box.h"

namespace sgsim {

enum class ConvertPolicy : std::uint8_t { Mixed, Accept, Drop };

struct ConvertOptions {
  bool ingress = true;
  ConvertPolicy policy = ConvertPolicy::Mixed;
};

struct ConvertStats {
  std::size_t written = 0;          // sgsim rules written
  std::size_t split = 0;            // any-protocol rules with ports, written as TCP + UDP
  std::size_t skippedProtocol = 0;  // protocol numbers sgsim rules cannot name
  std::size_t droppedPorts = 0;     // ICMP/GRE/ALL rules whose port restriction was dropped
};

// The sgsim rule id of ClassBench rule `index` (0-based); `suffix` is "" or "-tcp"/"-udp" for split rules.
std::string classBenchRuleId(std::size_t index, const std::string& suffix = "");
// Whether ClassBench rule `index` of `count` becomes a drop rule, and its sgsim priority (1..100).
bool classBenchIsDrop(std::size_t index, std::size_t count, ConvertPolicy policy);
int classBenchPriority(std::size_t index, std::size_t count);

// Distinct local-side addresses of a trace (destination for ingress, source for egress), in trace order.
std::vector<IpAddr> classBenchEniAddresses(const std::vector<ClassifyKey>& trace, bool ingress);

// The model document: one basic group with every rule, one ENI with `addresses` (at least one).
boost::json::object classBenchModel(const std::vector<RuleBox>& rules, const std::vector<IpAddr>& addresses,
                                    const ConvertOptions& options, ConvertStats& stats);

// One Ethernet/IPv4 frame for a trace header (port 0 written as 1).
std::vector<std::uint8_t> classBenchFrame(const ClassifyKey& header, std::uint16_t ipId);

}  // namespace sgsim
