#pragma once
// How the table after a change decides a check, from how the table before decided the same check (issue 11:
// whatif classified every new flow twice, once per table). The one place where whatif derives a decision of the
// "after" table from one of the "before" table; everything else asks Network::decide.
//
// Why it is exact. When the two models differ only in the rules of their groups (revoke, authorize, a modified
// rule: everything else equal — groups' types and inner policies, ENIs and their groups, prefix and port lists), a
// check's rules after the change are the rules before minus the removed ones R plus the added ones A (a modified
// rule is one of each), and a rule kept has the same boxes in both (its peers' members and lists are the same).
// Network::decide takes the intra-group accept first (unchanged: same groups and members), then the matching rule
// of lowest rank in the ENI's evaluation order (model/order.h, the one comparator: priority, drop before accept,
// group position, rule position), then the default (unchanged: same groups). So, with ranks taken in the after
// table's order:
// - intra-group before → the same decision after;
// - rule r before, r kept → the better (lower after-rank) of r and the best matching rule of A: every other kept
//   rule that matches ranked below r before, and removing or adding rules does not reorder the kept ones (checked
//   when this is built: where kept rules change order, the check is not derived);
// - default before → the best matching rule of A, else the same default;
// - rule r before, r removed → not derivable (rules that r hid may match): the after table decides in full.
// Only the rules of A are classified (nothing at all for a revoke), with the after table's own boxes and ranks.
// When the models differ in anything else, or a check's kept rules are ambiguous (two rules with one id in a
// group), every decision of that table (or check) is the after table's own, made in full.

#include <cstdint>
#include <memory>
#include <vector>

#include "sgsim/classify/fast_classifier.h"
#include "sgsim/verdict/network.h"

namespace sgsim {

class NetworkChange {
 public:
  // Both tables must outlive this. They have the same ENIs in the same order (a request never adds or removes one).
  NetworkChange(const Network& before, const Network& after);

  // The after table's decision of the check at `eni` in direction `d` of packet `p` with peer `peerEni`, where the
  // before table decided `before` (Network::decide of the same arguments). Equal to after.decide(eni, d, p, peerEni).
  Decision decide(std::size_t eni, Direction d, const PacketFields& p, std::int32_t peerEni,
                  const Decision& before) const;

  // Whether decisions at (eni, d) are derived rather than made in full (for tests and benchmarks).
  bool derives(std::size_t eni, Direction d) const {
    return !checks_.empty() && checks_[eni].dir[d == Direction::Ingress ? 0 : 1].derived;
  }

 private:
  struct CheckChange {
    bool derived = false;
    std::vector<std::int32_t> afterRef;     // by the before table's rule index: the rule's index after, or -1 (removed)
    std::unique_ptr<FastClassifier> added;  // the after table's boxes of the added rules (null: none)
  };
  struct EniChange {
    CheckChange dir[2];  // ingress, egress
  };

  const Network* after_;
  std::vector<EniChange> checks_;  // empty: nothing derived (the models differ beyond rules)
};

}  // namespace sgsim
