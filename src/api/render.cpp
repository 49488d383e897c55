#include <algorithm>

#include "sgsim/api/engine.h"

namespace sgsim {

namespace {

const Rule* findRule(const Model& m, const std::string& id, Product& product) {
  for (const auto& g : m.groups)
    for (const auto& r : g.rules)
      if (r.id == id) {
        product = g.product;
        return &r;
      }
  return nullptr;
}

}  // namespace

std::string renderOutcomeText(const ApiOutcome& o, const Model& model) {
  const Product product = o.hostId.rfind("ens", 0) == 0 ? Product::Ens : Product::Ecs;
  std::string s = "HTTP " + std::to_string(o.httpStatus) + " RequestId " + o.requestId;
  if (o.replayed) s += " (ClientToken retry)";
  s += "\n";
  if (!o.ok()) s += "error " + o.code + ": " + o.message + "\n";
  for (std::size_t i = 0; i < o.removedRuleIds.size(); ++i) {
    s += "removed " + (i < o.removedRules.size() ? describeRule(o.removedRules[i], product) : o.removedRuleIds[i]);
    s += "\n";
  }
  for (const auto& id : o.addedRuleIds) {
    Product p = product;
    const Rule* r = findRule(model, id, p);
    s += "added " + (r ? describeRule(*r, p) : id) + "\n";
  }
  for (const auto& n : o.notes) s += "note: " + n + "\n";
  if (o.ok() && o.removedRuleIds.empty() && o.addedRuleIds.empty() && !o.replayed) s += "no rule changed\n";
  return s;
}

}  // namespace sgsim
