#pragma once
// The reference classifier: a first-match scan over boxes sorted by rank. It is the oracle every fast
// classifier is tested against; keep it obviously correct, not fast.

#include <vector>

#include "sgsim/classify/rule_box.h"

namespace sgsim {

class LinearClassifier {
 public:
  explicit LinearClassifier(std::vector<RuleBox> boxes);
  // Index into boxes() of the lowest-rank matching box, or kNoMatch.
  std::uint32_t classify(const ClassifyKey& key) const;
  const std::vector<RuleBox>& boxes() const { return boxes_; }

 private:
  std::vector<RuleBox> boxes_;  // sorted by rank (stable)
};

}  // namespace sgsim
