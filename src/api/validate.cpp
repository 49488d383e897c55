// Request validation for ECS and ENS revoke/authorize.
//
// When several checks fail, the first in this order is answered (the API documents no order; this is the
// plausible one: syntax before existence before conflicts before quotas):
//   1. request shape: ENS parameters ENS does not have; rule ids vs Permissions vs flat parameters never mixed
//      (InvalidParam.Permissions); Permissions.N / SecurityGroupRuleId.N indexes and counts (≤ 100); repeated
//      rule ids.
//   2. SecurityGroupId syntax (ENS: missing parameters).
//   3. each rule description, in index order, field by field: IpProtocol, Policy, Priority, NicType,
//      Description, PortRange / PortRangeListId, SourcePortRange, peer and five-tuple CIDRs, missing peer,
//      protocol vs address family.
//   4. existence: the security group, then per description the referenced group, prefix list and port list
//      ("not found" = not in the model and not referenced by any rule, SEMANTICS §5); rule ids.
//   5. conflicts per description: own group as peer, enterprise restrictions, VPC mismatch, NicType mismatch;
//      then duplicate descriptions (InvalidParam.DuplicatePermissions).
//   6. (engine) matching, ENS not-found / duplicate, quotas.

#include "validate.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "sgsim/api/rule_identity.h"
#include "sgsim/core/text.h"
#include "sgsim/model/rule_grammar.h"

namespace sgsim::detail {

namespace {

using E = ApiErrorCode;

// The parameters of one rule description (without any "Permissions.N." prefix): the rule grammar's fields.
bool isRuleField(std::string_view name) {
  const auto& names = ruleFieldNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// "Permissions.12.IpProtocol" → (12, "IpProtocol"); "SecurityGroupRuleId.3" → (3, "").
bool splitIndexed(std::string_view name, std::string_view prefix, int& index, std::string& rest, bool& badIndex) {
  if (name.substr(0, prefix.size()) != prefix || name.size() <= prefix.size() || name[prefix.size()] != '.')
    return false;
  auto tail = name.substr(prefix.size() + 1);
  const auto dot = tail.find('.');
  const auto num = parseInt(tail.substr(0, dot));
  badIndex = !num || *num < 1 || *num > 1000000;
  index = badIndex ? 0 : static_cast<int>(*num);
  rest = dot == std::string_view::npos ? "" : std::string(tail.substr(dot + 1));
  return true;
}

bool validGroupIdSyntax(std::string_view id) {
  if (id.size() < 4 || id.size() > 128 || id.substr(0, 3) != "sg-") return false;
  return std::all_of(id.begin() + 3, id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '*';
  });
}

// Reads one rule description's fields; an empty value is an absent field (Describe writes "" for unused ones).
struct FieldReader {
  const std::map<std::string, std::string>& fields;
  std::string label;

  const std::string* get(std::string_view name) const {
    auto it = fields.find(std::string(name));
    return it == fields.end() || it->second.empty() ? nullptr : &it->second;
  }
  std::string param(std::string_view name) const {
    return label.empty() ? std::string(name) : label + "." + std::string(name);
  }
};

struct CidrCodes {
  E malformed;
  E wrongFamily;
};

// v4 fields: unparseable → Invalid<Side>CidrIp.Malformed, an IPv6 value → InvalidParam.<Side>CidrIp.
// v6 fields: unparseable → InvalidParam.Ipv6<Side>CidrIp, an IPv4 value → InvalidParameter.Ipv6CidrIp.
CidrCodes cidrCodes(std::string_view field) {
  if (field == "SourceCidrIp") return {E::SourceCidrIpMalformed, E::ParamSourceCidrIp};
  if (field == "DestCidrIp") return {E::DestCidrIpMalformed, E::ParamDestCidrIp};
  if (field == "Ipv6SourceCidrIp") return {E::ParamIpv6SourceCidrIp, E::Ipv6CidrIpInvalid};
  return {E::ParamIpv6DestCidrIp, E::Ipv6CidrIpInvalid};
}

// The API's answer to a problem the rule grammar found (model/rule_grammar.h): one grammar, the API's codes.
ApiError ecsError(const RuleProblem& p, const FieldReader& f, Direction dir) {
  using F = RuleFault;
  switch (p.fault) {
    case F::ProtocolMissing:
    case F::ProtocolUnknown:
      return {E::IpProtocolNotSupported, f.param("IpProtocol")};
    case F::PolicyInvalid:
      return {E::PolicyMalformed, f.param("Policy")};
    case F::PriorityNotInteger:
      return {E::PriorityMalformed, f.param("Priority")};
    case F::PriorityOutOfRange:
      return {E::PriorityNotSupported, f.param("Priority")};
    case F::NicTypeInvalid:
      return {E::NicTypeNotSupported, f.param("NicType")};
    case F::DescriptionTooLong:
      return {E::DescriptionMalformed, f.param("Description")};
    case F::PortRangeMissing:
      return {E::PortRangeMustSet, f.param("PortRange")};
    case F::PortRangeSyntax:
      return {E::ParamPortRange, f.param("PortRange")};
    case F::PortRangeForProtocol:
      return {E::IpPortRangeMalformed, f.param("PortRange")};
    case F::PortListForProtocol:
      return {E::ProtocolNoPortRangeList, f.param("PortRangeListId")};
    case F::SourcePortRangeInvalid:
      return {E::SourcePortRangeMalformed, f.param("SourcePortRange")};
    case F::CidrMalformed:
      return {cidrCodes(p.field).malformed, f.param(p.field)};
    case F::CidrWrongFamily:
    // sgsim: a narrowing of the other family than the peer is that field's wrong-family answer (no table has a
    // code of its own for it).
    case F::NarrowingFamily:
      return {cidrCodes(p.field).wrongFamily, f.param(p.field)};
    case F::BothFamilies:
      return {p.field.find("Source") != std::string::npos ? E::ParamSourceIp : E::ParamDestIp, labelOrRequest(f.label)};
    case F::PeerMissing:
      if (f.label.empty()) return {dir == Direction::Ingress ? E::MissingSourceOrGroup : E::MissingDestOrGroup, ""};
      return {dir == Direction::Ingress ? E::MissingSource : E::MissingDest, f.label};
    case F::IcmpWithIpv6:
      return {E::Ipv4ProtocolWithIpv6, ""};
    case F::Icmpv6WithIpv4:
      return {E::Ipv6ProtocolWithIpv4, ""};
    case F::EnsIpv6:
      break;  // ENS only
  }
  return {E::InternalError, ""};
}

Result<RuleDescription, ApiError> readEcsDescription(const FieldReader& f, Direction dir,
                                                     std::vector<std::string>& notes) {
  RuleFieldMap fields(f.fields.begin(), f.fields.end());
  auto read = readRule(fields, RuleDialect{Product::Ecs, dir, RuleSource::Request});
  if (!read) return ecsError(read.error(), f, dir);
  for (const auto& [field, why] : read->ignored) notes.push_back(f.param(field) + " ignored: " + why);
  RuleDescription d;
  d.label = f.label;
  d.rule = std::move(read->rule);
  d.nicTypeInternet = read->nicTypeInternet;
  return d;
}

// ENS: one flat rule; a missing required field is MissingParameter, any other problem InvalidParameter.<Field>.
Result<RuleDescription, ApiError> readEnsDescription(const FieldReader& f, Direction dir) {
  const std::string peerField = dir == Direction::Ingress ? "SourceCidrIp" : "DestCidrIp";
  for (const char* required : {"IpProtocol", "PortRange"})
    if (!f.get(required)) return ApiError{E::EnsMissingParameter, required};
  if (!f.get(peerField)) return ApiError{E::EnsMissingParameter, peerField};
  RuleFieldMap fields(f.fields.begin(), f.fields.end());
  auto read = readRule(fields, RuleDialect{Product::Ens, dir, RuleSource::Request});
  if (!read) return ApiError{E::EnsInvalidField, read.error().field.empty() ? peerField : read.error().field};
  RuleDescription d;
  d.rule = std::move(read->rule);
  return d;
}

// Step 4 for one description: referenced objects exist (in the model, or named by some rule).
std::optional<ApiError> checkReferences(const Model& m, const RuleDescription& d) {
  const Rule& r = d.rule;
  const bool ingress = r.direction == Direction::Ingress;
  if (r.peer.kind == Peer::Kind::Group && !m.findGroup(r.peer.groupId) && !m.isReferencedGroup(r.peer.groupId))
    return ApiError{ingress ? E::SourceGroupNotFound : E::DestGroupNotFound, ""};
  if (r.peer.kind == Peer::Kind::PrefixList && !m.findPrefixList(r.peer.prefixListId) &&
      !m.isReferencedPrefixList(r.peer.prefixListId))
    return ApiError{E::PrefixListNotFound, ""};
  if (!r.portRangeListId.empty() && !m.findPortRangeList(r.portRangeListId) &&
      !m.isReferencedPortRangeList(r.portRangeListId))
    return ApiError{E::PortRangeListNotFound, ""};
  return std::nullopt;
}

// Step 5 for one description.
std::optional<ApiError> checkConflicts(const Model& m, const SecurityGroup& target, const RuleDescription& d) {
  const Rule& r = d.rule;
  const bool ingress = r.direction == Direction::Ingress;
  const bool groupPeer = r.peer.kind == Peer::Kind::Group;
  if (groupPeer && r.peer.groupId == target.id)
    return ApiError{ingress ? E::SourceGroupIsSelf : E::DestGroupIsSelf, ""};
  if (target.type == GroupType::Enterprise && (groupPeer || r.policy == Policy::Drop))
    return ApiError{E::GroupParameterDenied, ""};
  if (groupPeer) {
    if (const auto* peer = m.findGroup(r.peer.groupId)) {
      if (peer->type == GroupType::Enterprise) return ApiError{E::GroupAuthDenied, ""};
      if (!peer->vpcId.empty() && !target.vpcId.empty() && peer->vpcId != target.vpcId)
        return ApiError{ingress ? E::SourceGroupMismatch : E::DestGroupMismatch, ""};
    }
    if (d.nicTypeInternet) return ApiError{E::NicTypeMismatch, ""};
  }
  return std::nullopt;
}

struct Collected {
  std::map<int, std::map<std::string, std::string>> permissions;  // index → field → value
  std::map<int, std::string> ruleIds;
  std::map<std::string, std::string> flat;
  bool badPermissionIndex = false, badRuleIdIndex = false;
  std::vector<std::string> ignored;
};

Collected collect(const ApiRequest& req) {
  Collected c;
  for (const auto& [name, value] : req.params) {
    int index = 0;
    std::string rest;
    bool bad = false;
    if (splitIndexed(name, "Permissions", index, rest, bad)) {
      c.badPermissionIndex |= bad;
      if (!bad) c.permissions[index][rest] = value;
      if (!bad && !isRuleField(rest)) c.ignored.push_back(name);
    } else if (splitIndexed(name, "SecurityGroupRuleId", index, rest, bad)) {
      c.badRuleIdIndex |= bad || !rest.empty();
      if (!bad) c.ruleIds[index] = value;
    } else if (name == "SecurityGroupRuleId") {
      c.ruleIds[c.ruleIds.empty() ? 1 : c.ruleIds.rbegin()->first + 1] = value;
    } else if (isRuleField(name)) {
      c.flat[name] = value;
    } else if (name != "SecurityGroupId" && name != "ClientToken") {
      c.ignored.push_back(name);
    }
  }
  return c;
}

Result<ValidatedRequest, ApiError> validateEns(const Model& model, const ApiRequest& req, ValidatedRequest v) {
  const std::string peerField = directionOf(v.action) == Direction::Ingress ? "SourceCidrIp" : "DestCidrIp";
  std::map<std::string, std::string> fields;
  for (const auto& [name, value] : req.params) {
    const bool allowed = name == "SecurityGroupId" || name == "IpProtocol" || name == "PortRange" ||
                         name == "SourcePortRange" || name == "Policy" || name == "Priority" || name == peerField;
    if (!allowed)
      return ApiError{E::EnsInvalidParameter, "parameter " + name + " is not supported by ENS " + req.action};
    fields[name] = value;
  }
  FieldReader f{fields, ""};
  const auto* group = f.get("SecurityGroupId");
  if (!group) return ApiError{E::EnsMissingParameter, "SecurityGroupId"};
  v.groupId = *group;
  auto d = readEnsDescription(f, directionOf(v.action));
  if (!d.ok()) return d.error();
  const auto* sg = model.findGroup(v.groupId);
  if (!sg || sg->product != Product::Ens) return ApiError{E::EnsSecurityGroupNotFound, ""};
  v.descriptions.push_back(std::move(*d));
  return v;
}

}  // namespace

std::string labelOrRequest(const std::string& label) { return label.empty() ? "the request" : label; }

bool validClientToken(const std::string& token) {
  return !token.empty() && token.size() <= 64 &&
         std::all_of(token.begin(), token.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

Result<ValidatedRequest, ApiError> validateRequest(const Model& model, const ApiRequest& req, ApiAction action) {
  ValidatedRequest v;
  v.action = action;
  v.product = req.product;
  if (req.product == Product::Ens) return validateEns(model, req, std::move(v));

  const Direction dir = directionOf(action);
  Collected c = collect(req);
  if (const auto* token = req.find("ClientToken")) v.clientToken = *token;
  for (const auto& name : c.ignored) v.notes.push_back(name + " is not a parameter of " + req.action + "; ignored");

  // 1. Shape.
  const bool haveIds = !c.ruleIds.empty() && isRevoke(action);
  if (!c.ruleIds.empty() && !isRevoke(action))
    v.notes.push_back("SecurityGroupRuleId is not a parameter of " + req.action + "; ignored");
  if ((haveIds && (!c.permissions.empty() || !c.flat.empty())) || (!c.permissions.empty() && !c.flat.empty()))
    return ApiError{E::ParamPermissions, ""};
  if (c.badPermissionIndex || c.permissions.size() > 100) return ApiError{E::ParamPermissions, ""};
  if (haveIds) {
    if (c.badRuleIdIndex || c.ruleIds.size() > 100) return ApiError{E::ParamSecurityGroupRuleId, ""};
    std::set<std::string> seen;
    for (const auto& [index, id] : c.ruleIds) {
      if (trim(id).empty()) return ApiError{E::ParamSecurityGroupRuleId, ""};
      if (!seen.insert(id).second) return ApiError{E::RuleIdRepeated, ""};
      v.ruleIds.push_back(id);
    }
    v.byRuleIds = true;
  }

  // 2. The group id.
  const auto* group = req.find("SecurityGroupId");
  if (!group || !validGroupIdSyntax(*group)) return ApiError{E::SecurityGroupIdMalformed, ""};
  v.groupId = *group;

  // 3. Descriptions, syntax only.
  if (!v.byRuleIds) {
    if (c.permissions.empty()) {
      auto d = readEcsDescription(FieldReader{c.flat, ""}, dir, v.notes);
      if (!d.ok()) return d.error();
      v.descriptions.push_back(std::move(*d));
    }
    for (const auto& [index, fields] : c.permissions) {
      auto d = readEcsDescription(FieldReader{fields, "Permissions." + std::to_string(index)}, dir, v.notes);
      if (!d.ok()) return d.error();
      v.descriptions.push_back(std::move(*d));
    }
  }

  // 4. Existence.
  const auto* sg = model.findGroup(v.groupId);
  if (!sg || sg->product != Product::Ecs) return ApiError{E::SecurityGroupNotFound, ""};
  for (const auto& d : v.descriptions)
    if (auto e = checkReferences(model, d)) return *e;
  for (const auto& id : v.ruleIds) {
    const auto it = std::find_if(sg->rules.begin(), sg->rules.end(), [&](const Rule& r) { return r.id == id; });
    // SEMANTICS §5: a rule of the other direction is not a rule of this request. A missing egress id answers
    // with the code the RevokeSecurityGroupEgress page documents since 2024-07-08.
    if (it == sg->rules.end() && dir == Direction::Egress) return ApiError{E::RuleNotExist, ""};
    if (it == sg->rules.end() || it->direction != dir) return ApiError{E::ParamSecurityGroupRuleId, ""};
  }

  // 5. Conflicts.
  for (const auto& d : v.descriptions)
    if (auto e = checkConflicts(model, *sg, d)) return *e;
  for (std::size_t i = 0; i < v.descriptions.size(); ++i)
    for (std::size_t j = i + 1; j < v.descriptions.size(); ++j)
      if (sameRule(v.descriptions[i].rule, v.descriptions[j].rule, Product::Ecs))
        return ApiError{E::DuplicatePermissions, ""};
  return v;
}

}  // namespace sgsim::detail
