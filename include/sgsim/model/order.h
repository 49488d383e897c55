#pragma once
// The one place that decides the order in which the rules of an ENI are evaluated (SEMANTICS §3):
// priority ascending, drop before accept at equal priority, then the group's position in the ENI's
// group list, then the rule's position in its group. `show`, `explain` and the classifiers all use it.

#include <cstdint>
#include <vector>

#include "sgsim/model/model.h"

namespace sgsim {

struct OrderedRule {
  const SecurityGroup* group = nullptr;
  const Rule* rule = nullptr;
  int groupIndex = 0;  // position of the group in the ENI's group list
  int ruleIndex = 0;   // position of the rule in its group's list
};

// Strict total order key: smaller is evaluated first.
std::uint64_t evaluationRank(const Rule& rule, int groupIndex, int ruleIndex);

// Rules of every group on `eni` for `direction`, in evaluation order. Groups the model does not contain
// are skipped (they contribute no rules).
std::vector<OrderedRule> evaluationOrder(const Model& model, const Eni& eni, Direction direction);

}  // namespace sgsim
