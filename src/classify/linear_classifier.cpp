#include "sgsim/classify/linear_classifier.h"

#include <algorithm>

namespace sgsim {

LinearClassifier::LinearClassifier(std::vector<RuleBox> boxes) : boxes_(std::move(boxes)) {
  std::stable_sort(boxes_.begin(), boxes_.end(), [](const RuleBox& a, const RuleBox& b) { return a.rank < b.rank; });
}

std::uint32_t LinearClassifier::classify(const ClassifyKey& key) const {
  for (std::uint32_t i = 0; i < boxes_.size(); ++i)
    if (boxMatches(boxes_[i], key)) return i;
  return kNoMatch;
}

}  // namespace sgsim
