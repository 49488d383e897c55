#include "sgsim/verdict/network_change.h"

#include <string>
#include <unordered_map>

namespace sgsim {

namespace {

// The models decide alike but for their groups' rules: everything a decision reads besides the rules is equal.
bool sameButRules(const Model& a, const Model& b) {
  if (a.enis != b.enis || a.prefixLists != b.prefixLists || a.portRangeLists != b.portRangeLists ||
      a.groups.size() != b.groups.size())
    return false;
  for (std::size_t i = 0; i < a.groups.size(); ++i) {
    SecurityGroup x = a.groups[i], y = b.groups[i];
    x.rules.clear();
    y.rules.clear();
    if (x != y) return false;
  }
  return true;
}

std::string keyOf(const RuleRef& r) { return r.groupId + '\n' + r.ruleId; }

Decision ruleDecision(const Network& net, std::size_t eni, Direction d, std::int32_t ref) {
  Decision out;
  out.verdict =
      net.rules(eni, d)[static_cast<std::size_t>(ref)].policy == Policy::Drop ? Verdict::Drop : Verdict::Accept;
  out.reason = Reason::Rule;
  out.ruleRef = ref;
  return out;
}

}  // namespace

NetworkChange::NetworkChange(const Network& before, const Network& after) : after_(&after) {
  if (before.eniCount() != after.eniCount() || !sameButRules(before.model(), after.model())) return;
  checks_.resize(after.eniCount());
  for (std::size_t eni = 0; eni < after.eniCount(); ++eni) {
    for (Direction d : {Direction::Ingress, Direction::Egress}) {
      CheckChange& c = checks_[eni].dir[d == Direction::Ingress ? 0 : 1];
      const std::vector<RuleRef>& was = before.rules(eni, d);
      const std::vector<RuleRef>& now = after.rules(eni, d);
      // Rules are the same rule when they have the same group, id and content; a rule whose content changed is
      // removed and added. Two rules with one group and id make the pairing ambiguous: not derived.
      std::unordered_map<std::string, std::int32_t> afterByKey;
      bool unique = true;
      for (std::size_t j = 0; j < now.size(); ++j)
        unique = afterByKey.emplace(keyOf(now[j]), static_cast<std::int32_t>(j)).second && unique;
      std::unordered_map<std::string, int> beforeKeys;
      for (const RuleRef& r : was) unique = beforeKeys.emplace(keyOf(r), 0).second && unique;
      if (!unique) continue;
      std::vector<char> kept(now.size(), 0);
      c.afterRef.assign(was.size(), -1);
      std::int32_t last = -1;
      bool ordered = true;
      for (std::size_t i = 0; i < was.size(); ++i) {
        auto it = afterByKey.find(keyOf(was[i]));
        if (it == afterByKey.end() || !(*was[i].rule == *now[static_cast<std::size_t>(it->second)].rule)) continue;
        c.afterRef[i] = it->second;
        kept[static_cast<std::size_t>(it->second)] = 1;
        // The kept rules must keep their relative order (model/order.h ranks by priority, policy and positions, and
        // removing or adding rules moves none of them past another; checked, not assumed).
        ordered = ordered && it->second > last;
        last = it->second;
      }
      if (!ordered) {
        c.afterRef.clear();
        continue;
      }
      std::vector<RuleBox> added;
      for (const RuleBox& b : after.boxes(eni, d))
        if (!kept[b.ruleIndex]) added.push_back(b);
      if (!added.empty()) c.added = std::make_unique<FastClassifier>(std::move(added));
      c.derived = true;
    }
  }
}

Decision NetworkChange::decide(std::size_t eni, Direction d, const PacketFields& p, std::int32_t peerEni,
                               const Decision& before) const {
  if (checks_.empty()) return after_->decide(eni, d, p, peerEni);
  const CheckChange& c = checks_[eni].dir[d == Direction::Ingress ? 0 : 1];
  if (!c.derived) return after_->decide(eni, d, p, peerEni);
  Decision out;
  switch (before.reason) {
    case Reason::IntraGroup:
      return before;  // the same groups and members: intra-group comes first in both
    case Reason::Default:
      out = before;  // the same groups: the same default, unless an added rule matches
      break;
    case Reason::Rule: {
      const auto i = static_cast<std::size_t>(before.ruleRef);
      if (before.ruleRef < 0 || i >= c.afterRef.size() || c.afterRef[i] < 0)
        return after_->decide(eni, d, p, peerEni);  // removed: rules it hid may match now
      out = ruleDecision(*after_, eni, d, c.afterRef[i]);
      break;
    }
    default:
      return after_->decide(eni, d, p, peerEni);  // not a decision of a table
  }
  if (c.added) {
    const std::uint32_t hit = c.added->classify(p.key());
    if (hit != kNoMatch) {
      const auto ref = static_cast<std::int32_t>(c.added->boxes()[hit].ruleIndex);
      if (out.reason != Reason::Rule || ref < out.ruleRef) out = ruleDecision(*after_, eni, d, ref);
    }
  }
  return out;
}

}  // namespace sgsim
