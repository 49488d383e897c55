// The model file reader and writer (docs/MODEL_FORMAT.md). The reader is a small recursive descent over a
// Boost.JSON DOM with a sticky first error (like a bounds-checked byte reader): every parse step returns
// false once something is wrong, and the error keeps the JSON path of the first problem.

#include "sgsim/model/model_json.h"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "known_fields.h"
#include "sgsim/core/atomic_file.h"
#include "sgsim/core/text.h"
#include "sgsim/model/json_doc.h"
#include "sgsim/model/rule_grammar.h"

namespace sgsim {

namespace json = boost::json;

namespace {

std::string quoted(std::string_view s) { return "\"" + jsonEscape(s) + "\""; }
std::string member(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string item(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

// A group without "Product" is ENS when its rules look like ENS Describe output: no rule ids, and CreationTime
// or Priority written as a number. The writer asks the same question of the rules it writes.
Product productByShape(const std::vector<const json::object*>& rules) {
  auto hasId = [](const json::object* r) {
    const json::value* v = r->if_contains("SecurityGroupRuleId");
    return v != nullptr && !(v->is_string() && v->get_string().empty()) && !v->is_null();
  };
  auto ensShaped = [](const json::object* r) {
    const json::value* prio = r->if_contains("Priority");
    return r->contains("CreationTime") || (prio != nullptr && (prio->is_int64() || prio->is_uint64()));
  };
  const bool ens = !rules.empty() && std::none_of(rules.begin(), rules.end(), hasId) &&
                   std::any_of(rules.begin(), rules.end(), ensShaped);
  return ens ? Product::Ens : Product::Ecs;
}

struct ListItem {
  const json::value* value;
  std::string path;
};

class Loader {
 public:
  explicit Loader(std::string_view source) : source_(source) {}

  Result<Model> load(const json::value& root, const std::optional<IpAddr>& host);

 private:
  bool fail(const std::string& path, std::string message) {
    // The document as a whole has no path: the error then names the source alone.
    if (!error_)
      error_ = Error{source_.empty() || path.empty() ? source_ + path : source_ + ": " + path, std::move(message)};
    return false;
  }

  // Scalar fields. Missing, null and "" are all "absent" (real Describe output writes unused fields as "").
  bool str(const json::object& o, std::string_view key, const std::string& path, std::optional<std::string>& out);
  bool str(const json::object& o, std::string_view key, const std::string& path, std::string& out);
  // A rule field as the grammar reads it: a string, or a number as written (`"Priority": 1`, `1.5`).
  bool scalarText(const json::object& o, std::string_view key, const std::string& path,
                  std::optional<std::string>& out);
  bool integer(const json::object& o, std::string_view key, const std::string& path, std::optional<std::int64_t>& out);
  bool positive(const json::object& o, std::string_view key, const std::string& path, std::uint32_t& out);
  const json::object* object(const json::value& v, const std::string& path);
  // An enumerated value, any letter case. `fallback` is used when absent; without one the field is required.
  template <class E>
  bool choice(const json::object& o, std::string_view key, const std::string& path, const char* what,
              std::initializer_list<std::pair<const char*, E>> names, std::optional<E> fallback, E& out);
  // A list given as a plain array or wrapped as {"<inner>": [...]}, the shape aliyun prints.
  bool list(const json::object& o, std::string_view key, std::string_view inner, const std::string& path,
            std::vector<ListItem>& out);

  bool cidr(const json::object& o, const char* key, Family family, const std::string& path, std::optional<Cidr>& out);

  bool parseQuotas(const json::object& root);
  bool parseGroup(const json::object& o, const std::string& path, SecurityGroup& g);
  bool parseRule(const json::object& o, const std::string& path, const SecurityGroup& g, Rule& r);
  bool parseEni(const json::object& o, const std::string& path, Eni& e);
  bool parseEniGroups(const json::object& o, const std::string& path, Eni& e);
  bool parsePrefixList(const json::object& o, const std::string& path, PrefixList& pl);
  bool parsePortRangeList(const json::object& o, const std::string& path, PortRangeList& prl);
  bool parseClientTokens(const json::object& root);
  bool parseTop(const json::object& root);
  void assignEnsIds();
  bool checkUniqueIds();
  bool checkEnis();
  bool checkReferences();

  std::string source_;
  std::optional<Error> error_;
  std::vector<Error> warnings_;
  Model model_;
  std::vector<std::string> groupPaths_;
  std::vector<std::vector<std::string>> rulePaths_;  // per group, per rule
  std::vector<std::string> eniPaths_;
  std::vector<std::string> prefixListPaths_;
  std::vector<std::string> portRangeListPaths_;
};

bool Loader::str(const json::object& o, std::string_view key, const std::string& path,
                 std::optional<std::string>& out) {
  out.reset();
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return true;
  if (v->is_string()) {
    if (!v->get_string().empty()) out = std::string(v->get_string());
    return true;
  }
  // Owner ids and similar sometimes arrive as numbers.
  if (v->is_int64()) {
    out = std::to_string(v->get_int64());
    return true;
  }
  if (v->is_uint64()) {
    out = std::to_string(v->get_uint64());
    return true;
  }
  return fail(member(path, key), "expected a string, found " + json::serialize(*v));
}

bool Loader::str(const json::object& o, std::string_view key, const std::string& path, std::string& out) {
  std::optional<std::string> s;
  if (!str(o, key, path, s)) return false;
  out = s.value_or("");
  return true;
}

bool Loader::scalarText(const json::object& o, std::string_view key, const std::string& path,
                        std::optional<std::string>& out) {
  const json::value* v = o.if_contains(key);
  if (v != nullptr && v->is_double()) {
    out = json::serialize(*v);
    return true;
  }
  return str(o, key, path, out);
}

bool Loader::integer(const json::object& o, std::string_view key, const std::string& path,
                     std::optional<std::int64_t>& out) {
  out.reset();
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return true;
  if (v->is_int64()) {
    out = v->get_int64();
    return true;
  }
  if (v->is_uint64()) {
    if (v->get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return fail(member(path, key), "number too large");
    out = static_cast<std::int64_t>(v->get_uint64());
    return true;
  }
  if (v->is_string()) {
    const std::string_view text = trim(v->get_string());
    if (text.empty()) return true;
    if (auto n = parseInt(text)) {
      out = *n;
      return true;
    }
  }
  return fail(member(path, key), json::serialize(*v) + " is not an integer");
}

bool Loader::positive(const json::object& o, std::string_view key, const std::string& path, std::uint32_t& out) {
  std::optional<std::int64_t> n;
  if (!integer(o, key, path, n)) return false;
  if (!n) return true;  // keep the default
  if (*n < 1 || *n > 0x7fffffff) return fail(member(path, key), std::to_string(*n) + " is not a positive integer");
  out = static_cast<std::uint32_t>(*n);
  return true;
}

const json::object* Loader::object(const json::value& v, const std::string& path) {
  if (v.is_object()) return &v.get_object();
  fail(path, "expected an object, found " + json::serialize(v));
  return nullptr;
}

template <class E>
bool Loader::choice(const json::object& o, std::string_view key, const std::string& path, const char* what,
                    std::initializer_list<std::pair<const char*, E>> names, std::optional<E> fallback, E& out) {
  std::optional<std::string> text;
  if (!str(o, key, path, text)) return false;
  std::string expected;
  for (const auto& [name, value] : names) {
    if (text && iequals(trim(*text), name)) {
      out = value;
      return true;
    }
    expected += (expected.empty() ? "" : " or ") + std::string(name);
  }
  if (!text && fallback) {
    out = *fallback;
    return true;
  }
  if (!text) return fail(member(path, key), "missing (required: " + expected + ")");
  return fail(member(path, key), quoted(*text) + " is not " + what + " (expected " + expected + ")");
}

bool Loader::list(const json::object& o, std::string_view key, std::string_view inner, const std::string& path,
                  std::vector<ListItem>& out) {
  out.clear();
  const json::value* v = o.if_contains(key);
  const std::string at = member(path, key);
  if (v == nullptr || v->is_null() || (v->is_string() && v->get_string().empty())) return true;
  const json::array* arr = nullptr;
  std::string itemPath = at;
  if (v->is_array()) {
    arr = &v->get_array();
  } else if (v->is_object() && !inner.empty()) {
    const json::object& wrapper = v->get_object();
    if (wrapper.empty()) return true;
    const json::value* in = wrapper.if_contains(inner);
    itemPath = member(at, inner);
    if (in == nullptr || in->is_null()) return true;
    if (!in->is_array()) return fail(itemPath, "expected an array, found " + json::serialize(*in));
    arr = &in->get_array();
  } else {
    const std::string shapes = inner.empty() ? "an array" : "an array or {" + quoted(inner) + ": [...]}";
    return fail(at, "expected " + shapes + ", found " + json::serialize(*v));
  }
  for (std::size_t i = 0; i < arr->size(); ++i) out.push_back({&(*arr)[i], item(itemPath, i)});
  return true;
}

bool Loader::cidr(const json::object& o, const char* key, Family family, const std::string& path,
                  std::optional<Cidr>& out) {
  std::optional<std::string> text;
  if (!str(o, key, path, text)) return false;
  out.reset();
  if (!text) return true;
  const auto c = Cidr::parse(trim(*text));
  const char* fam = family == Family::V4 ? "IPv4" : "IPv6";
  if (!c) return fail(member(path, key), quoted(*text) + " is not an " + fam + " CIDR block");
  if (c->family() != family)
    return fail(member(path, key), quoted(*text) + " is not an " + fam + " CIDR block (wrong address family)");
  out = *c;
  return true;
}

bool Loader::parseRule(const json::object& o, const std::string& path, const SecurityGroup& g, Rule& r) {
  std::string id;
  if (!str(o, "SecurityGroupRuleId", path, id)) return false;
  if (id.empty() && g.product == Product::Ecs)
    return fail(member(path, "SecurityGroupRuleId"),
                "missing (required for ECS rules; an ENS group says \"Product\": \"ens\")");

  Direction direction{};
  if (!choice<Direction>(o, "Direction", path, "a direction",
                         {{"ingress", Direction::Ingress}, {"egress", Direction::Egress}}, std::nullopt, direction))
    return false;

  // The rule's own fields go through the one rule grammar (model/rule_grammar.h), as requests do.
  RuleFieldMap fields;
  for (std::string_view name : ruleFieldNames()) {
    std::optional<std::string> text;
    if (!scalarText(o, name, path, text)) return false;
    if (text) fields.emplace(std::string(name), std::move(*text));
  }
  auto read = readRule(fields, RuleDialect{g.product, direction, RuleSource::Document});
  if (!read) return fail(read.error().field.empty() ? path : member(path, read.error().field), read.error().message);
  r = std::move(read->rule);
  r.id = std::move(id);

  if (!str(o, "CreateTime", path, r.createTime)) return false;
  if (r.createTime.empty() && !str(o, "CreationTime", path, r.createTime)) return false;
  return true;
}

bool Loader::parseGroup(const json::object& o, const std::string& path, SecurityGroup& g) {
  if (!str(o, "SecurityGroupId", path, g.id)) return false;
  if (g.id.empty()) return fail(member(path, "SecurityGroupId"), "missing (required)");
  if (!str(o, "SecurityGroupName", path, g.name) || !str(o, "Description", path, g.description) ||
      !str(o, "VpcId", path, g.vpcId) || !str(o, "RegionId", path, g.regionId))
    return false;

  if (!choice<GroupType>(o, "SecurityGroupType", path, "a group type",
                         {{"normal", GroupType::Normal}, {"enterprise", GroupType::Enterprise}}, GroupType::Normal,
                         g.type) ||
      !choice<Policy>(o, "InnerAccessPolicy", path, "a policy", {{"Accept", Policy::Accept}, {"Drop", Policy::Drop}},
                      Policy::Accept, g.innerAccessPolicy))
    return false;
  // Older DescribeSecurityGroupAttribute output names the same field InnerAccessControlPolicy (and some
  // versions print both): read it when InnerAccessPolicy is absent; when both are given they must agree.
  std::optional<std::string> current, legacy;
  if (!str(o, "InnerAccessPolicy", path, current) || !str(o, "InnerAccessControlPolicy", path, legacy)) return false;
  if (legacy) {
    Policy old = Policy::Accept;
    if (!choice<Policy>(o, "InnerAccessControlPolicy", path, "a policy",
                        {{"Accept", Policy::Accept}, {"Drop", Policy::Drop}}, std::nullopt, old))
      return false;
    if (!current)
      g.innerAccessPolicy = old;
    else if (old != g.innerAccessPolicy)
      return fail(member(path, "InnerAccessControlPolicy"),
                  quoted(*legacy) + " disagrees with InnerAccessPolicy " + quoted(*current) +
                      " (the older name of the same field; keep one of the two)");
  }

  std::vector<ListItem> items;
  if (!list(o, "Permissions", "Permission", path, items)) return false;
  std::vector<const json::object*> rules;
  for (const auto& it : items) {
    const json::object* r = object(*it.value, it.path);
    if (r == nullptr) return false;
    rules.push_back(r);
  }

  std::optional<std::string> product;
  if (!str(o, "Product", path, product)) return false;
  if (product) {
    if (!choice<Product>(o, "Product", path, "a product", {{"ecs", Product::Ecs}, {"ens", Product::Ens}}, std::nullopt,
                         g.product))
      return false;
  } else {
    g.product = productByShape(rules);
  }

  rulePaths_.emplace_back();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    Rule r;
    if (!parseRule(*rules[i], items[i].path, g, r)) return false;
    g.rules.push_back(std::move(r));
    rulePaths_.back().push_back(items[i].path);
  }
  groupPaths_.push_back(path);
  return true;
}

bool Loader::parseEniGroups(const json::object& o, const std::string& path, Eni& e) {
  std::vector<ListItem> items;
  const std::string at = member(path, "SecurityGroupIds");
  // ECS DescribeNetworkInterfaces wraps the ids as {"SecurityGroupId": [...]}, ENS as {"SecurityGroup": [...]}.
  const char* inner = "SecurityGroupId";
  if (const json::value* ids = o.if_contains("SecurityGroupIds"); ids != nullptr && ids->is_object()) {
    const json::object& wrapper = ids->get_object();
    if (wrapper.contains("SecurityGroup") && wrapper.contains("SecurityGroupId"))
      return fail(member(at, "SecurityGroup"),
                  "both SecurityGroupId (ECS) and SecurityGroup (ENS) are given; keep one");
    if (wrapper.contains("SecurityGroup")) inner = "SecurityGroup";
  }
  if (!list(o, "SecurityGroupIds", inner, path, items)) return false;
  if (items.empty()) return fail(at, "missing (an ENI is in at least one security group)");
  if (static_cast<int>(items.size()) > model_.quotas.groupsPerEni)
    return fail(at, std::to_string(items.size()) + " groups, more than Quotas.GroupsPerEni (" +
                        std::to_string(model_.quotas.groupsPerEni) + ")");
  const SecurityGroup* first = nullptr;
  // An ENI is in one VPC, and so are all its groups (SEMANTICS §2): the ENI's own VpcId when Describe gives it,
  // else the first group that names one.
  std::optional<std::string> vpc;
  if (!str(o, "VpcId", path, vpc)) return false;
  std::string vpcOwner = vpc ? "the ENI's VpcId" : "";
  for (const auto& it : items) {
    if (!it.value->is_string() || it.value->get_string().empty())
      return fail(it.path, "expected a security group id, found " + json::serialize(*it.value));
    std::string id(it.value->get_string());
    if (std::find(e.groupIds.begin(), e.groupIds.end(), id) != e.groupIds.end())
      return fail(it.path, id + " is listed twice");
    // A group whose rules are missing would silently change every verdict at this ENI.
    const SecurityGroup* g = model_.findGroup(id);
    if (g == nullptr) return fail(it.path, id + " is not in SecurityGroups (add its DescribeSecurityGroupAttribute)");
    if (first == nullptr) first = g;
    if (g->type != first->type)
      return fail(it.path, id + " is " + toString(g->type) + " but " + first->id + " is " + toString(first->type) +
                               "; the groups of one ENI are all of one type");
    if (!g->vpcId.empty()) {
      if (!vpc) {
        vpc = g->vpcId;
        vpcOwner = g->id;
      } else if (*vpc != g->vpcId) {
        return fail(it.path, id + " is in " + g->vpcId + " but " + vpcOwner + " is in " + *vpc +
                                 "; an ENI and all its security groups are in one VPC");
      }
    }
    e.groupIds.push_back(std::move(id));
  }
  return true;
}

bool Loader::parseEni(const json::object& o, const std::string& path, Eni& e) {
  if (!str(o, "NetworkInterfaceId", path, e.id)) return false;
  if (e.id.empty()) return fail(member(path, "NetworkInterfaceId"), "missing (required)");

  std::vector<IpAddr> v4, v6;
  // Duplicates are dropped keeping the first; a set, since converted benchmark ENIs carry thousands of addresses.
  boost::unordered_flat_set<IpAddr, IpAddrHash> seen;
  auto add = [&](const json::object& from, const char* key, const std::string& at, Family family) {
    std::optional<std::string> text;
    if (!str(from, key, at, text)) return false;
    if (!text) return true;
    const auto a = IpAddr::parse(trim(*text));
    const char* fam = family == Family::V4 ? "IPv4" : "IPv6";
    if (!a || a->family != family) return fail(member(at, key), quoted(*text) + " is not an " + fam + " address");
    auto& into = family == Family::V4 ? v4 : v6;
    if (seen.insert(*a).second) into.push_back(*a);
    return true;
  };
  if (!add(o, "PrivateIpAddress", path, Family::V4)) return false;
  std::vector<ListItem> items;
  if (!list(o, "PrivateIpSets", "PrivateIpSet", path, items)) return false;
  for (const auto& it : items) {
    const json::object* s = object(*it.value, it.path);
    if (s == nullptr || !add(*s, "PrivateIpAddress", it.path, Family::V4)) return false;
  }
  if (!list(o, "Ipv6Sets", "Ipv6Set", path, items)) return false;
  for (const auto& it : items) {
    const json::object* s = object(*it.value, it.path);
    if (s == nullptr || !add(*s, "Ipv6Address", it.path, Family::V6)) return false;
  }
  if (v4.empty() && v6.empty())
    return fail(path, "ENI " + e.id + " has no address (expected PrivateIpAddress, PrivateIpSets or Ipv6Sets)");
  e.addresses = std::move(v4);
  e.addresses.insert(e.addresses.end(), v6.begin(), v6.end());

  if (!parseEniGroups(o, path, e)) return false;

  if (const json::value* ct = o.if_contains("ConnectionTrackingConfiguration"); ct != nullptr && !ct->is_null()) {
    const std::string at = member(path, "ConnectionTrackingConfiguration");
    const json::object* c = object(*ct, at);
    if (c == nullptr) return false;
    if (!positive(*c, "TcpEstablishedTimeout", at, e.timeouts.tcpEstablished) ||
        !positive(*c, "TcpClosedAndTimeWaitTimeout", at, e.timeouts.tcpClosing) ||
        !positive(*c, "UdpTimeout", at, e.timeouts.udp) || !positive(*c, "OtherTimeout", at, e.timeouts.other))
      return false;
  }
  eniPaths_.push_back(path);
  return true;
}

bool Loader::parsePrefixList(const json::object& o, const std::string& path, PrefixList& pl) {
  if (!str(o, "PrefixListId", path, pl.id)) return false;
  if (pl.id.empty()) return fail(member(path, "PrefixListId"), "missing (required)");
  if (!str(o, "PrefixListName", path, pl.name)) return false;
  if (!choice<Family>(o, "AddressFamily", path, "an address family", {{"IPv4", Family::V4}, {"IPv6", Family::V6}},
                      Family::V4, pl.family))
    return false;
  std::vector<ListItem> items;
  if (!list(o, "Entries", "Entry", path, items)) return false;
  for (const auto& it : items) {
    const json::object* entry = object(*it.value, it.path);
    std::optional<Cidr> c;
    if (entry == nullptr || !cidr(*entry, "Cidr", pl.family, it.path, c)) return false;
    if (!c) return fail(member(it.path, "Cidr"), "missing (required)");
    pl.entries.push_back(*c);
  }
  prefixListPaths_.push_back(path);
  return true;
}

bool Loader::parsePortRangeList(const json::object& o, const std::string& path, PortRangeList& prl) {
  if (!str(o, "PortRangeListId", path, prl.id)) return false;
  if (prl.id.empty()) return fail(member(path, "PortRangeListId"), "missing (required)");
  if (!str(o, "PortRangeListName", path, prl.name)) return false;
  std::vector<ListItem> items;
  if (!list(o, "Entries", "Entry", path, items)) return false;
  for (const auto& it : items) {
    const json::object* entry = object(*it.value, it.path);
    std::optional<std::string> text;
    if (entry == nullptr || !str(*entry, "PortRange", it.path, text)) return false;
    if (!text) return fail(member(it.path, "PortRange"), "missing (required)");
    std::optional<PortRange> pr;
    if (checkPortRange(*text, Protocol::Tcp, pr))
      return fail(member(it.path, "PortRange"),
                  quoted(*text) + " is not a port range (expected \"from/to\" with 1 <= from <= to <= 65535)");
    prl.entries.push_back(*pr);
  }
  portRangeListPaths_.push_back(path);
  return true;
}

bool Loader::parseQuotas(const json::object& root) {
  const json::value* q = root.if_contains("Quotas");
  if (q == nullptr || q->is_null()) return true;
  const json::object* o = object(*q, "Quotas");
  if (o == nullptr) return false;
  std::uint32_t rules = model_.quotas.rulesPerEni, groups = model_.quotas.groupsPerEni,
                referenced = model_.quotas.referencedGroupsPerGroup;
  if (!positive(*o, "RulesPerEni", "Quotas", rules) || !positive(*o, "GroupsPerEni", "Quotas", groups) ||
      !positive(*o, "ReferencedGroupsPerGroup", "Quotas", referenced))
    return false;
  model_.quotas = Quotas{static_cast<int>(rules), static_cast<int>(groups), static_cast<int>(referenced)};
  return true;
}

bool Loader::parseClientTokens(const json::object& root) {
  // RequestCounter is read whether or not ClientTokens is there (a written model may have either alone).
  const json::value* t = root.if_contains("ClientTokens");
  const json::object* o = nullptr;
  if (t != nullptr && !t->is_null() && (o = object(*t, "ClientTokens")) == nullptr) return false;
  if (o != nullptr) {
    for (const auto& kv : *o) {
      const std::string at = member("ClientTokens", kv.key());
      const json::object* rec = object(kv.value(), at);
      if (rec == nullptr) return false;
      TokenRecord tr;
      std::optional<std::int64_t> status;
      if (!str(*rec, "ParamsDigest", at, tr.paramsDigest) || !str(*rec, "Response", at, tr.responseJson) ||
          !integer(*rec, "HttpStatus", at, status))
        return false;
      if (status && (*status < 100 || *status > 599))
        return fail(member(at, "HttpStatus"), std::to_string(*status) + " is not an HTTP status");
      tr.httpStatus = static_cast<int>(status.value_or(200));
      model_.clientTokens.emplace(std::string(kv.key()), std::move(tr));
    }
  }
  const json::value* c = root.if_contains("RequestCounter");
  if (c == nullptr || c->is_null()) return true;
  if (c->is_uint64()) {
    model_.requestCounter = c->get_uint64();
    return true;
  }
  if (c->is_int64() && c->get_int64() >= 0) {
    model_.requestCounter = static_cast<std::uint64_t>(c->get_int64());
    return true;
  }
  return fail("RequestCounter", json::serialize(*c) + " is not a non-negative integer");
}

bool Loader::parseTop(const json::object& root) {
  if (!parseQuotas(root)) return false;
  std::vector<ListItem> items;
  if (!list(root, "SecurityGroups", "", "", items)) return false;
  for (const auto& it : items) {
    const json::object* o = object(*it.value, it.path);
    SecurityGroup g;
    if (o == nullptr || !parseGroup(*o, it.path, g)) return false;
    model_.groups.push_back(std::move(g));
  }
  assignEnsIds();
  if (!list(root, "PrefixLists", "", "", items)) return false;
  for (const auto& it : items) {
    const json::object* o = object(*it.value, it.path);
    PrefixList pl;
    if (o == nullptr || !parsePrefixList(*o, it.path, pl)) return false;
    model_.prefixLists.push_back(std::move(pl));
  }
  if (!list(root, "PortRangeLists", "", "", items)) return false;
  for (const auto& it : items) {
    const json::object* o = object(*it.value, it.path);
    PortRangeList prl;
    if (o == nullptr || !parsePortRangeList(*o, it.path, prl)) return false;
    model_.portRangeLists.push_back(std::move(prl));
  }
  // Groups are checked for duplicates before ENIs look them up by id.
  if (!checkUniqueIds()) return false;
  if (!list(root, "NetworkInterfaces", "", "", items)) return false;
  for (const auto& it : items) {
    const json::object* o = object(*it.value, it.path);
    Eni e;
    if (o == nullptr || !parseEni(*o, it.path, e)) return false;
    model_.enis.push_back(std::move(e));
  }
  if (!checkEnis()) return false;
  return parseClientTokens(root);
}

void Loader::assignEnsIds() {
  std::map<std::string, int> seen;
  for (auto& g : model_.groups) {
    if (g.product != Product::Ens) continue;
    for (auto& r : g.rules) {
      if (!r.id.empty()) continue;
      const std::string base = ensRuleBaseId(g.id, r);
      const int n = ++seen[base];
      r.id = n == 1 ? base : base + "-" + std::to_string(n);
    }
  }
}

bool Loader::checkUniqueIds() {
  auto unique = [&](std::map<std::string, std::string>& seen, const std::string& id, const std::string& path,
                    const char* field) {
    auto [it, inserted] = seen.emplace(id, path);
    if (inserted) return true;
    return fail(member(path, field), "duplicate id " + quoted(id) + " (also at " + it->second + ")");
  };
  std::map<std::string, std::string> groups, rules, prefixLists, portLists;
  for (std::size_t gi = 0; gi < model_.groups.size(); ++gi) {
    const auto& g = model_.groups[gi];
    if (!unique(groups, g.id, groupPaths_[gi], "SecurityGroupId")) return false;
    for (std::size_t ri = 0; ri < g.rules.size(); ++ri)
      if (!unique(rules, g.rules[ri].id, rulePaths_[gi][ri], "SecurityGroupRuleId")) return false;
  }
  for (std::size_t i = 0; i < model_.prefixLists.size(); ++i)
    if (!unique(prefixLists, model_.prefixLists[i].id, prefixListPaths_[i], "PrefixListId")) return false;
  for (std::size_t i = 0; i < model_.portRangeLists.size(); ++i)
    if (!unique(portLists, model_.portRangeLists[i].id, portRangeListPaths_[i], "PortRangeListId")) return false;
  return true;
}

// The verdict stage maps an address to its ENI: an address on two ENIs would make that ambiguous.
bool Loader::checkEnis() {
  std::map<std::string, std::string> ids;
  std::map<IpAddr, std::string> owners;
  for (std::size_t i = 0; i < model_.enis.size(); ++i) {
    const Eni& e = model_.enis[i];
    auto [it, inserted] = ids.emplace(e.id, eniPaths_[i]);
    if (!inserted)
      return fail(member(eniPaths_[i], "NetworkInterfaceId"),
                  "duplicate id " + quoted(e.id) + " (also at " + it->second + ")");
    for (const IpAddr& a : e.addresses) {
      auto [owner, fresh] = owners.emplace(a, e.id);
      if (!fresh) return fail(eniPaths_[i], "address " + a.toString() + " is also on " + owner->second);
    }
  }
  return true;
}

// A group peer matches members of the same VPC only (SEMANTICS §2): a peer group in another VPC is refused. A rule
// naming a group, prefix list or port range list that the model lacks matches nothing: a warning with its path.
bool Loader::checkReferences() {
  for (std::size_t gi = 0; gi < model_.groups.size(); ++gi) {
    const SecurityGroup& g = model_.groups[gi];
    for (std::size_t ri = 0; ri < g.rules.size(); ++ri) {
      const Rule& r = g.rules[ri];
      if (r.peer.kind != Peer::Kind::Group) continue;
      const SecurityGroup* peer = model_.findGroup(r.peer.groupId);
      if (peer == nullptr || peer->vpcId.empty() || g.vpcId.empty() || peer->vpcId == g.vpcId) continue;
      return fail(member(rulePaths_[gi][ri], ruleWireNames(r.direction).group),
                  r.peer.groupId + " is in " + peer->vpcId + " but this rule's group " + g.id + " is in " + g.vpcId +
                      "; a group peer matches members of the same VPC only");
    }
  }
  for (const DanglingReference& d : danglingReferences(model_))
    warnings_.push_back(Error{source_ + ": " + member(rulePaths_[d.group][d.rule], d.field), d.message});
  return true;
}

Result<Model> Loader::load(const json::value& root, const std::optional<IpAddr>& host) {
  const json::object* o = object(root, "");
  if (o == nullptr) return *error_;
  const bool bare = !o->contains("SecurityGroups") && o->contains("SecurityGroupId");
  if (bare) {
    // One DescribeSecurityGroupAttribute response: the group, plus one ENI for the host (SEMANTICS §1).
    if (!host) {
      fail("", "this is a single DescribeSecurityGroupAttribute document; give --host IP to place one ENI in it");
      return *error_;
    }
    if (!parseQuotas(*o)) return *error_;
    SecurityGroup g;
    if (!parseGroup(*o, "", g)) return *error_;
    model_.groups.push_back(std::move(g));
    assignEnsIds();
    if (!checkUniqueIds()) return *error_;
    model_.enis.push_back(Eni{"eni-host", {*host}, {model_.groups.front().id}, Timeouts{}});
    // sgsim's --write keeps a bare document bare, with its ClientTokens and RequestCounter beside the group.
    if (!parseClientTokens(*o)) return *error_;
    model_.source.bare = true;
    if (!checkReferences()) return *error_;
    model_.source.warnings = std::move(warnings_);
    return std::move(model_);
  }
  if (!o->contains("SecurityGroups")) {
    fail("",
         "neither a sgsim model (no \"SecurityGroups\") nor a DescribeSecurityGroupAttribute document "
         "(no \"SecurityGroupId\")");
    return *error_;
  }
  if (!parseTop(*o) || !checkReferences()) return *error_;
  model_.source.warnings = std::move(warnings_);
  return std::move(model_);
}

}  // namespace

std::string ensRuleBaseId(const std::string& groupId, const Rule& r) {
  // The identity fields of SEMANTICS §5, in a fixed text form; Description and CreateTime do not take part.
  std::string key = groupId;
  key += '|';
  key += toString(r.direction);
  key += '|' + std::to_string(protocolNumber(r.protocol));
  key += '|' + (r.portRange ? r.portRange->toString() : "list:" + r.portRangeListId);
  key += '|' + (r.sourcePortRange ? r.sourcePortRange->toString() : std::string("-"));
  switch (r.peer.kind) {
    case Peer::Kind::Cidr:
      key += "|cidr:" + r.peer.cidr.toString();
      break;
    case Peer::Kind::Group:
      key += "|group:" + r.peer.groupId;
      break;
    case Peer::Kind::PrefixList:
      key += "|pl:" + r.peer.prefixListId;
      break;
  }
  key += '|' + (r.local ? r.local->toString() : std::string("-"));
  key += '|';
  key += toString(r.policy);
  key += '|' + std::to_string(r.priority);
  const std::uint64_t h = fnv1a64(key);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>((h >> 32) ^ (h & 0xffffffffULL)));
  return std::string("ensr-") + buf;
}

Result<Model> parseModel(std::string_view text, const LoadOptions& options, std::string_view sourceName) {
  const std::string source(sourceName);
  auto at = [&](const std::string& path) {
    return source.empty() || path.empty() ? source + path : source + ": " + path;
  };
  // Comments: hand-written teaching models carry notes, as MODEL_FORMAT.md does.
  auto doc = readJsonStrict(text, JsonReadOptions{.allowComments = true});
  if (!doc) {
    const JsonReadError& e = doc.error();
    if (e.kind == JsonReadError::Kind::Syntax)
      return Error{source + ":" + std::to_string(e.at.line) + ":" + std::to_string(e.at.column),
                   "invalid JSON: " + e.message};
    return Error{at(e.path), "duplicate key at line " + std::to_string(e.at.line) + ", column " +
                                 std::to_string(e.at.column) + " (first at line " + std::to_string(e.first.line) +
                                 ", column " + std::to_string(e.first.column) +
                                 "): JSON keeps only one of the two values; remove the other"};
  }
  std::vector<Error> warnings;
  for (const auto& note : detail::checkFields(*doc)) {
    if (note.kind == detail::FieldNote::Kind::Unknown && !options.allowUnknownFields) {
      // A typo's nearest name says what to do; otherwise say how to read the model anyway.
      const bool hinted = note.message.find("did you mean") != std::string::npos;
      return Error{at(note.path),
                   hinted ? note.message : note.message + "; --allow-unknown-fields reads the model without it"};
    }
    warnings.push_back(Error{at(note.path), note.kind == detail::FieldNote::Kind::Unknown
                                                ? note.message + "; ignored (--allow-unknown-fields)"
                                                : note.message});
  }
  auto model = Loader(sourceName).load(*doc, options.host);
  if (!model) return model;
  model->source.document = std::make_shared<const json::value>(std::move(*doc));
  model->source.name = source;
  // The key check's warnings first (document order), then the loader's (references the model lacks).
  warnings.insert(warnings.end(), model->source.warnings.begin(), model->source.warnings.end());
  model->source.warnings = std::move(warnings);
  return model;
}

Result<Model> parseModel(std::string_view text, const std::optional<IpAddr>& host, std::string_view sourceName) {
  return parseModel(text, LoadOptions{host, false}, sourceName);
}

Result<Model> loadModel(const std::string& path, const LoadOptions& options) {
  auto text = readWholeFile(path);
  if (!text) return text.error();
  return parseModel(*text, options, path == "-" ? "<stdin>" : path);
}

Result<Model> loadModel(const std::string& path, const std::optional<IpAddr>& host) {
  return loadModel(path, LoadOptions{host, false});
}

namespace {

void setIf(json::object& o, std::string_view key, const std::string& value) {
  if (!value.empty()) o[key] = value;
}

// How a group's own rules spell what the model does not record, so that a rule the writer adds to a user's
// document reads like its neighbours ("Priority": "1" as aliyun prints ECS rules, "accept" as ENS samples do).
struct RuleStyle {
  bool priorityAsString = false;
  bool lowercasePolicy = false;
};

json::object ruleJson(const Rule& r, Product product, const RuleStyle& style = {}) {
  json::object o;
  setIf(o, "SecurityGroupRuleId", r.id);
  o["Direction"] = toString(r.direction);
  o["IpProtocol"] = toString(r.protocol, product);
  if (r.portRange) {
    o["PortRange"] = r.portRange->toString();
  } else {
    setIf(o, "PortRangeListId", r.portRangeListId);
  }
  if (r.sourcePortRange) o["SourcePortRange"] = r.sourcePortRange->toString();
  const RuleWireNames& k = ruleWireNames(r.direction);
  switch (r.peer.kind) {
    case Peer::Kind::Cidr:
      o[r.peer.cidr.family() == Family::V4 ? k.peerV4 : k.peerV6] = r.peer.cidr.toString();
      break;
    case Peer::Kind::Group:
      o[k.group] = r.peer.groupId;
      setIf(o, k.groupOwnerAccount, r.peer.groupOwnerAccount);
      setIf(o, k.groupOwnerId, r.peer.groupOwnerId);
      break;
    case Peer::Kind::PrefixList:
      o[k.prefixList] = r.peer.prefixListId;
      break;
  }
  if (r.local) o[r.local->family() == Family::V4 ? k.localV4 : k.localV6] = r.local->toString();
  if (style.lowercasePolicy)
    o["Policy"] = toString(r.policy);
  else
    o["Policy"] = r.policy == Policy::Accept ? "Accept" : "Drop";
  if (style.priorityAsString)
    o["Priority"] = std::to_string(r.priority);
  else
    o["Priority"] = r.priority;
  if (product == Product::Ecs || r.nicType != "intranet") setIf(o, "NicType", r.nicType);
  setIf(o, "Description", r.description);
  setIf(o, product == Product::Ens ? "CreationTime" : "CreateTime", r.createTime);
  return o;
}

json::object groupJson(const SecurityGroup& g) {
  json::object o;
  o["SecurityGroupId"] = g.id;
  setIf(o, "SecurityGroupName", g.name);
  setIf(o, "Description", g.description);
  setIf(o, "VpcId", g.vpcId);
  setIf(o, "RegionId", g.regionId);
  o["SecurityGroupType"] = toString(g.type);
  o["InnerAccessPolicy"] = g.innerAccessPolicy == Policy::Accept ? "Accept" : "Drop";
  o["Product"] = g.product == Product::Ens ? "ens" : "ecs";
  json::array rules;
  for (const auto& r : g.rules) rules.push_back(ruleJson(r, g.product));
  o["Permissions"] = json::object{{"Permission", std::move(rules)}};
  return o;
}

json::object eniJson(const Eni& e) {
  json::object o;
  o["NetworkInterfaceId"] = e.id;
  json::array v4, v6;
  for (const auto& a : e.addresses) {
    if (a.isV4()) {
      if (v4.empty()) o["PrivateIpAddress"] = a.toString();
      v4.push_back(json::object{{"PrivateIpAddress", a.toString()}, {"Primary", v4.empty()}});
    } else {
      v6.push_back(json::object{{"Ipv6Address", a.toString()}});
    }
  }
  if (!v4.empty()) o["PrivateIpSets"] = json::object{{"PrivateIpSet", std::move(v4)}};
  if (!v6.empty()) o["Ipv6Sets"] = json::object{{"Ipv6Set", std::move(v6)}};
  json::array groups;
  for (const auto& id : e.groupIds) groups.push_back(json::string(id));
  o["SecurityGroupIds"] = json::object{{"SecurityGroupId", std::move(groups)}};
  o["ConnectionTrackingConfiguration"] = json::object{{"TcpEstablishedTimeout", e.timeouts.tcpEstablished},
                                                      {"TcpClosedAndTimeWaitTimeout", e.timeouts.tcpClosing},
                                                      {"UdpTimeout", e.timeouts.udp},
                                                      {"OtherTimeout", e.timeouts.other}};
  return o;
}

json::object prefixListJson(const PrefixList& pl) {
  json::array entries;
  for (const auto& c : pl.entries) entries.push_back(json::object{{"Cidr", c.toString()}});
  json::object o{{"PrefixListId", pl.id}};
  setIf(o, "PrefixListName", pl.name);
  o["AddressFamily"] = pl.family == Family::V4 ? "IPv4" : "IPv6";
  o["Entries"] = json::object{{"Entry", std::move(entries)}};
  return o;
}

json::object portRangeListJson(const PortRangeList& prl) {
  json::array entries;
  for (const auto& p : prl.entries) entries.push_back(json::object{{"PortRange", p.toString()}});
  json::object o{{"PortRangeListId", prl.id}};
  setIf(o, "PortRangeListName", prl.name);
  o["Entries"] = json::object{{"Entry", std::move(entries)}};
  return o;
}

json::object quotasJson(const Quotas& q) {
  return json::object{{"RulesPerEni", q.rulesPerEni},
                      {"GroupsPerEni", q.groupsPerEni},
                      {"ReferencedGroupsPerGroup", q.referencedGroupsPerGroup}};
}

json::object tokenJson(const TokenRecord& rec) {
  return json::object{
      {"ParamsDigest", rec.paramsDigest}, {"Response", rec.responseJson}, {"HttpStatus", rec.httpStatus}};
}

// The canonical document of a model built in code.
json::object canonicalDocument(const Model& m) {
  json::object root;
  json::array groups, enis, prefixLists, portLists;
  for (const auto& g : m.groups) groups.push_back(groupJson(g));
  for (const auto& e : m.enis) enis.push_back(eniJson(e));
  for (const auto& pl : m.prefixLists) prefixLists.push_back(prefixListJson(pl));
  for (const auto& prl : m.portRangeLists) portLists.push_back(portRangeListJson(prl));
  root["SecurityGroups"] = std::move(groups);
  root["NetworkInterfaces"] = std::move(enis);
  root["PrefixLists"] = std::move(prefixLists);
  root["PortRangeLists"] = std::move(portLists);
  root["Quotas"] = quotasJson(m.quotas);
  json::object tokens;
  for (const auto& [key, rec] : m.clientTokens) tokens[key] = tokenJson(rec);
  root["ClientTokens"] = std::move(tokens);
  root["RequestCounter"] = m.requestCounter;
  return root;
}

// ---- patching the user's document ----------------------------------------------------------------------------
//
// The document is read again (the loader is deterministic: same groups, rules and ENS ids in document order), so
// that each object of the document can be paired with the model value it was read into. An object whose value
// the model still holds, unchanged, is written as the user wrote it (same keys, order and spellings); a value the
// model no longer holds is dropped; a changed or new value is written in the canonical shape. Through the API
// only rules are removed or added and only ClientTokens and RequestCounter change; the rest serves models
// changed in code, so that parseModel(serializeModel(m)) == m holds for every model.

bool absentValue(const json::value* v) {
  return v == nullptr || v->is_null() || (v->is_string() && v->get_string().empty());
}

// The array of a list field, given plainly or wrapped as {"<inner>": [...]} (as Loader::list reads it).
json::array* listItems(json::object& o, std::string_view key, std::string_view inner) {
  json::value* v = o.if_contains(key);
  if (v == nullptr) return nullptr;
  if (v->is_array()) return &v->get_array();
  if (!inner.empty() && v->is_object())
    if (json::value* in = v->get_object().if_contains(inner); in != nullptr && in->is_array()) return &in->get_array();
  return nullptr;
}

// Writes `items` into a list field in the shape it already has; a list the document lacks becomes
// {"<inner>": [...]} (the aliyun shape) or, without an inner name, a plain array. An empty list is not added.
void setList(json::object& o, std::string_view key, std::string_view inner, json::array items) {
  if (json::array* a = listItems(o, key, inner)) {
    *a = std::move(items);
    return;
  }
  json::value* v = o.if_contains(key);
  if (items.empty()) return;
  if (v != nullptr && v->is_object() && !inner.empty()) {  // {} or {"Permission": null}
    v->get_object()[inner] = std::move(items);
    return;
  }
  json::value list =
      inner.empty() ? json::value(std::move(items)) : json::value(json::object{{inner, std::move(items)}});
  if (v != nullptr)
    *v = std::move(list);
  else
    o[key] = std::move(list);
}

RuleStyle styleOf(const json::array* rules) {
  RuleStyle s;
  if (rules == nullptr) return s;
  for (const auto& r : *rules) {
    if (!r.is_object()) continue;
    if (const json::value* p = r.get_object().if_contains("Priority"); p != nullptr && !p->is_null()) {
      s.priorityAsString = p->is_string();
      break;
    }
  }
  for (const auto& r : *rules) {
    if (!r.is_object()) continue;
    if (const json::value* p = r.get_object().if_contains("Policy");
        p != nullptr && p->is_string() && !p->get_string().empty()) {
      const std::string_view text(p->get_string());
      s.lowercasePolicy = toLower(text) == text;
      break;
    }
  }
  return s;
}

bool hasRuleId(const json::object& o) { return !absentValue(o.if_contains("SecurityGroupRuleId")); }

SecurityGroup withoutRules(const SecurityGroup& g) {
  SecurityGroup copy = g;
  copy.rules.clear();
  return copy;
}

class Patcher {
 public:
  Patcher(const Model& now, const Model& loaded) : now_(now), loaded_(loaded) {}

  // The rules of one group, written into its object `o` (the document's group object or a bare document's root).
  void rules(json::object& o, const SecurityGroup& g, const SecurityGroup& was) {
    const json::array* docRules = listItems(o, "Permissions", "Permission");
    std::map<std::string, std::size_t> byId;
    if (docRules != nullptr && docRules->size() == was.rules.size())
      for (std::size_t i = 0; i < was.rules.size(); ++i) byId.emplace(was.rules[i].id, i);
    const RuleStyle style = styleOf(docRules);
    json::array out;
    for (const Rule& r : g.rules) {
      const auto it = byId.find(r.id);
      if (it != byId.end() && was.rules[it->second] == r) {
        out.push_back((*docRules)[it->second]);
        continue;
      }
      json::object added = ruleJson(r, g.product, style);
      // ENS Describe output has no rule ids: the id is written only when a reload would not derive it.
      if (g.product == Product::Ens) added.erase("SecurityGroupRuleId");
      out.push_back(std::move(added));
    }
    if (g.product == Product::Ens) keepEnsIds(out, g);
    // A group without "Product" is recognised by its rules' shape: say it when the written rules would not.
    if (absentValue(o.if_contains("Product"))) {
      std::vector<const json::object*> written;
      for (const auto& r : out) written.push_back(&r.get_object());
      if (productByShape(written) != g.product) o["Product"] = g.product == Product::Ens ? "ens" : "ecs";
    }
    setList(o, "Permissions", "Permission", std::move(out));
  }

  // The loader derives the id of an ENS rule without one from its identity, numbering exact duplicates in
  // document order (Loader::assignEnsIds). Where that would not give the rule its id (an added rule, whose id
  // the API made; a duplicate whose twin is gone), the id is written into the object.
  void keepEnsIds(json::array& out, const SecurityGroup& g) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      json::object& o = out[i].get_object();
      if (hasRuleId(o)) continue;
      const Rule& r = g.rules[i];
      const std::string base = ensRuleBaseId(g.id, r);
      const int n = ensSeen_[base] + 1;
      if ((n == 1 ? base : base + "-" + std::to_string(n)) == r.id)
        ensSeen_[base] = n;
      else
        o["SecurityGroupRuleId"] = r.id;
    }
  }

  // Pairs the model's values with the document's objects of one list by id, in the model's order.
  template <class T, class IdOf, class Same, class Canonical, class Patch>
  json::array pair(const json::array* doc, const std::vector<T>& now, const std::vector<T>& was, IdOf idOf, Same same,
                   Canonical canonical, Patch patch) {
    std::map<std::string, std::size_t> byId;
    if (doc != nullptr && doc->size() == was.size())
      for (std::size_t i = 0; i < was.size(); ++i) byId.emplace(idOf(was[i]), i);
    json::array out;
    for (const T& v : now) {
      const auto it = byId.find(idOf(v));
      if (it != byId.end() && (*doc)[it->second].is_object() && same(v, was[it->second])) {
        json::object o = (*doc)[it->second].get_object();
        patch(o, v, was[it->second]);
        out.push_back(std::move(o));
      } else {
        out.push_back(canonical(v));
      }
    }
    return out;
  }

  void top(json::object& root) {
    const auto idOfGroup = [](const SecurityGroup& g) { return g.id; };
    setList(
        root, "SecurityGroups", "",
        pair(
            listItems(root, "SecurityGroups", ""), now_.groups, loaded_.groups, idOfGroup,
            [](const SecurityGroup& a, const SecurityGroup& b) { return withoutRules(a) == withoutRules(b); },
            groupJson, [&](json::object& o, const SecurityGroup& g, const SecurityGroup& was) { rules(o, g, was); }));
    const auto keep = [](auto&, const auto&, const auto&) {};
    const auto equal = [](const auto& a, const auto& b) { return a == b; };
    setList(root, "NetworkInterfaces", "",
            pair(
                listItems(root, "NetworkInterfaces", ""), now_.enis, loaded_.enis, [](const Eni& e) { return e.id; },
                equal, eniJson, keep));
    setList(root, "PrefixLists", "",
            pair(
                listItems(root, "PrefixLists", ""), now_.prefixLists, loaded_.prefixLists,
                [](const PrefixList& p) { return p.id; }, equal, prefixListJson, keep));
    setList(root, "PortRangeLists", "",
            pair(
                listItems(root, "PortRangeLists", ""), now_.portRangeLists, loaded_.portRangeLists,
                [](const PortRangeList& p) { return p.id; }, equal, portRangeListJson, keep));
    state(root);
  }

  // A bare document: the root is the group.
  void bare(json::object& root) {
    const SecurityGroup& g = now_.groups.front();
    const SecurityGroup& was = loaded_.groups.front();
    if (withoutRules(g) == withoutRules(was)) {
      rules(root, g, was);
    } else {
      // Only a model changed in code gets here: the group's own fields are written anew, sgsim's keys kept.
      json::object fresh = groupJson(g);
      for (const char* key : {"Quotas", "ClientTokens", "RequestCounter"})
        if (const json::value* v = root.if_contains(key)) fresh[key] = *v;
      root = std::move(fresh);
    }
    state(root);
  }

 private:
  // Quotas, ClientTokens and RequestCounter: sgsim's own keys, written when they changed.
  void state(json::object& root) {
    if (now_.quotas != loaded_.quotas) root["Quotas"] = quotasJson(now_.quotas);
    if (now_.clientTokens != loaded_.clientTokens) {
      json::object tokens;
      if (const json::value* t = root.if_contains("ClientTokens"); t != nullptr && t->is_object())
        for (const auto& kv : t->get_object()) {
          const std::string key(kv.key());
          const auto rec = now_.clientTokens.find(key);
          if (rec == now_.clientTokens.end()) continue;
          const auto old = loaded_.clientTokens.find(key);
          tokens[key] = old != loaded_.clientTokens.end() && old->second == rec->second
                            ? kv.value()
                            : json::value(tokenJson(rec->second));
        }
      for (const auto& [key, rec] : now_.clientTokens)
        if (!tokens.contains(key)) tokens[key] = tokenJson(rec);
      root["ClientTokens"] = std::move(tokens);
    }
    if (now_.requestCounter != loaded_.requestCounter) root["RequestCounter"] = now_.requestCounter;
  }

  const Model& now_;
  const Model& loaded_;
  std::map<std::string, int> ensSeen_;  // shared by all groups, as in Loader::assignEnsIds
};

// The user's document with the model's changes, or nothing when the model cannot be written into it (then the
// canonical form is written).
std::optional<json::value> patchedDocument(const Model& m) {
  const json::value& doc = *m.source.document;
  if (!doc.is_object()) return std::nullopt;
  // A bare document's one ENI comes from --host; any address reads its group alike.
  auto loaded = Loader(m.source.name).load(doc, IpAddr::v4(0x0a000001));
  if (!loaded) return std::nullopt;
  json::value out = doc;
  Patcher patcher(m, *loaded);
  if (m.source.bare) {
    // Only one group, its --host ENI and no lists fit a bare document (a model changed in code may hold more).
    if (m.groups.size() != 1 || loaded->groups.size() != 1 || m.groups[0].id != loaded->groups[0].id ||
        !m.prefixLists.empty() || !m.portRangeLists.empty() || m.enis.size() != 1)
      return std::nullopt;
    const Eni& host = m.enis[0];
    if (host.id != "eni-host" || host.addresses.size() != 1 ||
        host.groupIds != std::vector<std::string>{m.groups[0].id} || host.timeouts != Timeouts{})
      return std::nullopt;
    patcher.bare(out.get_object());
  } else {
    patcher.top(out.get_object());
  }
  return out;
}

// Doubles appear in a model only in fields sgsim does not read; Boost.JSON would print 1.5 as 1.5E0. The writer
// prints the shortest form that reads back as the same double (an integral value keeps a ".0").
void appendDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += d < 0 ? "-1e999" : "1e999";  // what Boost.JSON read as an infinity (JSON has no literal for it)
    return;
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  std::string text(buf, res.ptr);
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  out += text;
}

// Text that both jsonEscape and json::serialize leave as it is (neither escapes anything else).
bool plainText(std::string_view s) {
  for (const char ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == '"' || ch == '\\') return false;
  return true;
}

void pretty(std::string& out, const json::value& v, int indent, bool plainDoubles) {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      if (plainText(kv.key())) {
        out += '"';
        out.append(kv.key().data(), kv.key().size());
        out += "\": ";
      } else {
        out += quoted(kv.key()) + ": ";
      }
      pretty(out, kv.value(), indent + 2, plainDoubles);
    }
    out += "\n" + std::string(static_cast<std::size_t>(indent), ' ') + "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    // Short lists of scalars (group ids, addresses) stay on one line.
    const auto& arr = v.get_array();
    const bool scalars = std::none_of(arr.begin(), arr.end(), [&](const json::value& x) {
      return x.is_object() || x.is_array() || (plainDoubles && x.is_double());
    });
    // Only a list of scalars can stay on one line: serializing a long list of objects (a report's 100,000 flows)
    // only to measure it cost as much as printing it.
    if (scalars) {
      const std::string flat = json::serialize(v);
      if (flat.size() + static_cast<std::size_t>(indent) < 100) {
        out += flat;
        return;
      }
    }
    out += "[\n";
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (i > 0) out += ",\n";
      out += pad;
      pretty(out, arr[i], indent + 2, plainDoubles);
    }
    out += "\n" + std::string(static_cast<std::size_t>(indent), ' ') + "]";
  } else if (plainDoubles && v.is_double()) {
    appendDouble(out, v.get_double());
  } else if (v.is_string() && plainText(v.get_string())) {
    // As json::serialize writes them, without a string per value (reports print hundreds of thousands).
    out += '"';
    out.append(v.get_string().data(), v.get_string().size());
    out += '"';
  } else if (v.is_bool()) {
    out += v.get_bool() ? "true" : "false";
  } else if (v.is_null()) {
    out += "null";
  } else if (v.is_int64() || v.is_uint64()) {
    // As json::serialize writes them (decimal digits), without a string per number.
    char buf[24];
    const auto res = v.is_int64() ? std::to_chars(buf, buf + sizeof buf, v.get_int64())
                                  : std::to_chars(buf, buf + sizeof buf, v.get_uint64());
    out.append(buf, res.ptr);
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

void appendPrettyJson(std::string& out, const json::value& value, int indent) { pretty(out, value, indent, false); }

std::string toPrettyJson(const json::value& value, std::size_t reserve) {
  std::string out;
  out.reserve(reserve);
  pretty(out, value, 0, false);
  out += '\n';
  return out;
}

void writePrettyJson(std::ostream& os, const json::object& root, const std::vector<PrettyRows>& rows) {
  // Grown by doubling to the whole report and then copied out, the text of a shard's report of 27 MB was twice that
  // in fresh pages: one buffer, written out and reused.
  constexpr std::size_t kFlushBytes = std::size_t{1} << 20;
  std::string out = "{\n";
  out.reserve(2 * kFlushBytes);
  const auto flush = [&] {
    os.write(out.data(), static_cast<std::streamsize>(out.size()));
    out.clear();
  };
  bool first = true;
  for (const auto& kv : root) {
    out += first ? "  " : ",\n  ";
    first = false;
    out += plainText(kv.key()) ? "\"" + std::string(kv.key()) + "\"" : quoted(kv.key());  // as pretty() writes keys
    out += ": ";
    const auto list = std::find_if(rows.begin(), rows.end(), [&](const PrettyRows& r) { return r.name == kv.key(); });
    if (list == rows.end()) {
      appendPrettyJson(out, kv.value(), 2);
      continue;
    }
    if (list->count == 0) {
      out += "[]";
      continue;
    }
    out += "[\n";
    for (std::size_t i = 0; i < list->count; ++i) {
      out += i > 0 ? ",\n    " : "    ";
      list->row(out, i, 4);
      if (out.size() >= kFlushBytes) flush();
    }
    out += "\n  ]";
  }
  out += "\n}\n";
  flush();
}

std::string serializeModel(const Model& m) {
  std::optional<json::value> doc;
  if (m.source.document) doc = patchedDocument(m);
  if (!doc) doc = canonicalDocument(m);
  std::string out;
  pretty(out, *doc, 0, true);
  out += '\n';
  return out;
}

std::optional<Error> writeModel(const std::string& path, const Model& model) {
  return writeFileAtomically(path, serializeModel(model));
}

}  // namespace sgsim
