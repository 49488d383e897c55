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
  std::vector<OrderedRule> out;
  for (int gi = 0; gi < static_cast<int>(eni.groupIds.size()); ++gi) {
    const SecurityGroup* g = model.findGroup(eni.groupIds[gi]);
    if (g == nullptr) continue;
    for (int ri = 0; ri < static_cast<int>(g->rules.size()); ++ri)
      if (g->rules[ri].direction == direction) out.push_back({g, &g->rules[ri], gi, ri});
  }
  std::sort(out.begin(), out.end(), [](const OrderedRule& a, const OrderedRule& b) {
    return evaluationRank(*a.rule, a.groupIndex, a.ruleIndex) < evaluationRank(*b.rule, b.groupIndex, b.ruleIndex);
  });
  return out;
}

}  // namespace sgsim
