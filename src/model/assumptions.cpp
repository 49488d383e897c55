#include "sgsim/model/assumptions.h"

#include <boost/json.hpp>

#include "sgsim/core/text.h"

namespace sgsim {

namespace json = boost::json;

namespace {

// A field the loader reads as absent: missing, null or "".
bool absent(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() || (v->is_string() && v->as_string().empty());
}

const json::array* rulesOf(const json::object& g) {
  const json::value* p = g.if_contains("Permissions");
  if (p == nullptr) return nullptr;
  if (p->is_array()) return &p->as_array();
  if (p->is_object())
    if (const json::value* inner = p->as_object().if_contains("Permission"); inner && inner->is_array())
      return &inner->as_array();
  return nullptr;
}

void groupAssumptions(const Model& model, const json::object& o, std::vector<ModelAssumption>& out) {
  const json::value* idv = o.if_contains("SecurityGroupId");
  if (idv == nullptr || !idv->is_string()) return;
  const std::string id(idv->as_string());
  const SecurityGroup* g = model.findGroup(id);
  if (g == nullptr) return;
  if (absent(o, "SecurityGroupType"))
    out.push_back({id,
                   "SecurityGroupType is not given: taken as basic (normal), whose defaults are ingress drop, "
                   "egress accept, and members accept each other (add \"SecurityGroupType\": \"enterprise\" if "
                   "it is an enterprise group)"});
  if (g->type == GroupType::Normal && absent(o, "InnerAccessPolicy") && absent(o, "InnerAccessControlPolicy"))
    out.push_back({id,
                   "InnerAccessPolicy is not given: Accept, the default (its members accept each other's "
                   "traffic before any rule)"});
  std::size_t internet = 0;
  if (const json::array* rules = rulesOf(o))
    for (const json::value& r : *rules)
      if (r.is_object())
        if (const json::value* n = r.as_object().if_contains("NicType");
            n && n->is_string() && iequals(n->as_string(), "internet"))
          ++internet;
  if (internet > 0)
    out.push_back({id, std::to_string(internet) + (internet == 1 ? " rule gives" : " rules give") +
                           " NicType internet: read as intranet (a VPC group's rules apply to its private "
                           "interfaces; the classic network is not modeled)"});
}

}  // namespace

std::vector<ModelAssumption> modelAssumptions(const Model& model) {
  std::vector<ModelAssumption> out;
  const auto& doc = model.source.document;
  if (!doc || !doc->is_object()) return out;
  const json::object& root = doc->as_object();
  if (model.source.bare) {
    if (!model.enis.empty() && !model.groups.empty()) {
      const Eni& e = model.enis.front();
      out.push_back({"", "the model is a bare DescribeSecurityGroupAttribute document: one interface, " + e.id + " (" +
                             (e.addresses.empty() ? std::string("no address") : e.addresses.front().toString()) +
                             ", from --host), in group " + model.groups.front().id + " alone"});
    }
    groupAssumptions(model, root, out);
    return out;
  }
  if (const json::value* groups = root.if_contains("SecurityGroups"); groups && groups->is_array())
    for (const json::value& g : groups->as_array())
      if (g.is_object()) groupAssumptions(model, g.as_object(), out);
  return out;
}

}  // namespace sgsim
