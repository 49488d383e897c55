#include "sgsim/model/order.h"

#include <algorithm>

namespace sgsim {

std::uint64_t evaluationRank(const Rule& rule, int groupIndex, int ruleIndex) {
  // priority (1..100) | policy (drop=0, accept=1) | group index (<2^12) | rule index (<2^32)
  const std::uint64_t prio = static_cast<std::uint64_t>(std::clamp(rule.priority, 0, 255));
  const std::uint64_t pol = rule.policy == Policy::Drop ? 0 : 1;
  return (prio << 48) | (pol << 44) | (static_cast<std::uint64_t>(groupIndex & 0xFFF) << 32) |
         static_cast<std::uint32_t>(ruleIndex);
}

std::vector<OrderedRule> evaluationOrder(const Model& model, const Eni& eni, Direction direction) {
  // Ranks are computed once per rule, not in every comparison of the sort.
  std::vector<std::pair<std::uint64_t, OrderedRule>> ranked;
  for (int gi = 0; gi < static_cast<int>(eni.groupIds.size()); ++gi) {
    const SecurityGroup* g = model.findGroup(eni.groupIds[gi]);
    if (g == nullptr) continue;
    for (int ri = 0; ri < static_cast<int>(g->rules.size()); ++ri) {
      const Rule& r = g->rules[ri];
      if (r.direction == direction) ranked.push_back({evaluationRank(r, gi, ri), OrderedRule{g, &r, gi, ri}});
    }
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<OrderedRule> out;
  out.reserve(ranked.size());
  for (const auto& [rank, o] : ranked) out.push_back(o);
  return out;
}

}  // namespace sgsim
