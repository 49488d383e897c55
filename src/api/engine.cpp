// Applying a validated request. A request either succeeds whole or leaves the model as it was, so one bad
// entry among a hundred changes nothing. Copying the model for that cost more than the revoke itself, so the
// group is changed in place: revokes only once every check has passed, authorize by appending and cutting
// back on failure.

#include "sgsim/api/engine.h"
#include "sgsim/model/model_json.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <iterator>
#include <set>

#include "sgsim/api/errors.h"
#include "sgsim/core/text.h"
#include "validate.h"

namespace sgsim {

namespace {

using E = ApiErrorCode;

std::uint64_t fnv1a(std::string_view s, std::uint64_t seed) {
  std::uint64_t h = fnv1a64(s, seed);
  // splitmix64 finaliser: FNV alone leaves the high bits of short inputs poorly mixed.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

// Deterministic so that a run can be reproduced: same counter and same request → same id.
std::string makeRequestId(std::uint64_t counter, const std::string& canonical) {
  const std::string in = std::to_string(counter) + "\n" + canonical;
  const std::uint64_t a = fnv1a(in, 0xcbf29ce484222325ULL), b = fnv1a(in, 0x84222325cbf29ce4ULL);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08X-%04X-%04X-%04X-%012llX", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

bool idInUse(const Model& m, const std::string& id) {
  for (const auto& g : m.groups)
    for (const auto& r : g.rules)
      if (r.id == id) return true;
  return false;
}

std::string newRuleId(const Model& m, const std::string& seed) {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  for (std::uint64_t salt = 0;; ++salt) {
    std::uint64_t h = fnv1a(seed + "#" + std::to_string(salt), 0xcbf29ce484222325ULL);
    std::uint64_t h2 = fnv1a(seed + "#" + std::to_string(salt), 0x9e3779b97f4a7c15ULL);
    std::string id = "sgr-";
    for (int i = 0; i < 20; ++i) {
      std::uint64_t& src = i < 10 ? h : h2;
      id += kAlphabet[src % 36];
      src /= 36;
    }
    if (!idInUse(m, id)) return id;
  }
}

ApiOutcome failure(ApiOutcome out, const ApiError& e) {
  out.httpStatus = e.httpStatus();
  out.code = e.codeString();
  out.message = e.message();
  return out;
}

// AuthorizationLimitExceed: the ENIs' pooled rule count and the distinct groups one basic group references
// (SEMANTICS §5 quotas). Only checked when the request added rules, so an already-full loaded model still
// accepts revokes.
std::optional<ApiError> checkQuotas(const Model& m, const SecurityGroup& target) {
  for (const Eni* eni : m.membersOf(target.id)) {
    int rules = 0;
    for (const auto& gid : eni->groupIds)
      if (const auto* g = m.findGroup(gid)) rules += static_cast<int>(g->rules.size());
    if (rules > m.quotas.rulesPerEni) return ApiError{E::AuthorizationLimitExceed, ""};
  }
  if (target.type == GroupType::Normal) {
    std::set<std::string> referenced;
    for (const auto& r : target.rules)
      if (r.peer.kind == Peer::Kind::Group) referenced.insert(r.peer.groupId);
    if (static_cast<int>(referenced.size()) > m.quotas.referencedGroupsPerGroup)
      return ApiError{E::AuthorizationLimitExceed, ""};
  }
  return std::nullopt;
}

// Near misses that differ in a field users tend to leave out (Priority, Policy, …) are the likelier typo,
// so they are named first; a different port or protocol is more often simply another rule.
int nearMissRank(const FieldDiff& d) {
  static constexpr std::string_view kOrder[] = {"Priority", "Policy", "NicType", "SourcePortRange", "PortRangeListId"};
  for (std::size_t i = 0; i < std::size(kOrder); ++i)
    if (d.field == kOrder[i]) return static_cast<int>(i);
  if (d.field == "PortRange") return 7;
  if (d.field == "IpProtocol") return 8;
  return 6;  // peer and five-tuple addresses
}

std::string labelOf(const detail::RuleDescription& d) { return detail::labelOrRequest(d.label); }

// Revoke by descriptions; nullopt on success. The group is only changed once nothing can fail any more.
std::optional<ApiError> revokeDescriptions(SecurityGroup& g, const detail::ValidatedRequest& v, ApiOutcome& out) {
  std::vector<bool> remove(g.rules.size(), false);
  std::vector<std::size_t> oneOff;  // rules one identity field away: described only when nothing matched
  for (const auto& d : v.descriptions) {
    std::size_t matched = 0;
    oneOff.clear();
    for (std::size_t i = 0; i < g.rules.size(); ++i) {
      const int n = countRuleDifferences(d.rule, g.rules[i], v.product, 2);
      if (n == 0) {
        remove[i] = true;
        ++matched;
      } else if (n == 1 && g.rules[i].direction == d.rule.direction) {
        oneOff.push_back(i);
      }
    }
    if (matched == 0) {
      if (v.product == Product::Ens) return ApiError{E::EnsRuleNotFound, ""};
      std::vector<NearMiss> near;
      near.reserve(oneOff.size());
      for (const std::size_t i : oneOff)
        near.push_back({labelOf(d), g.rules[i].id, ruleDifferences(d.rule, g.rules[i], v.product).front()});
      std::stable_sort(near.begin(), near.end(), [](const NearMiss& a, const NearMiss& b) {
        return nearMissRank(a.diff) < nearMissRank(b.diff);
      });
      std::string note = labelOf(d) + " matched 0 rules";
      for (std::size_t i = 0; i < near.size(); ++i)
        note += (i == 0 ? "; nearest: " : ", ") + near[i].ruleId + " (" + describeDiff(near[i].diff) + ")";
      out.notes.push_back(note);
      out.nearMisses.insert(out.nearMisses.end(), near.begin(), near.end());
      out.unchangedDescriptions.push_back(labelOf(d));
    } else if (matched > 1) {
      out.notes.push_back(labelOf(d) + " matched " + std::to_string(matched) + " rules");
    }
  }
  // Copy what goes first (the only step that can throw), then close the gaps by moving, which cannot.
  for (std::size_t i = 0; i < g.rules.size(); ++i) {
    if (!remove[i]) continue;
    out.removedRuleIds.push_back(g.rules[i].id);
    out.removedRules.push_back(g.rules[i]);
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < g.rules.size(); ++i)
    if (!remove[i]) {
      if (kept != i) g.rules[kept] = std::move(g.rules[i]);
      ++kept;
    }
  g.rules.erase(g.rules.begin() + static_cast<std::ptrdiff_t>(kept), g.rules.end());
  return std::nullopt;
}

// Validation guarantees that every id names a rule of this group and direction, once: nothing here can fail.
void revokeIds(SecurityGroup& g, const detail::ValidatedRequest& v, ApiOutcome& out) {
  for (const auto& id : v.ruleIds) {
    auto it = std::find_if(g.rules.begin(), g.rules.end(), [&](const Rule& r) { return r.id == id; });
    out.removedRuleIds.push_back(id);
    out.removedRules.push_back(*it);
    g.rules.erase(it);
  }
}

// Rules are only appended, so cutting the group back to its old size undoes a failed (or throwing) authorize.
std::optional<ApiError> authorize(Model& model, SecurityGroup& g, const detail::ValidatedRequest& v,
                                  const std::string& canonical, ApiOutcome& out) {
  const std::size_t before = g.rules.size();
  auto rollBack = [&] { g.rules.erase(g.rules.begin() + static_cast<std::ptrdiff_t>(before), g.rules.end()); };
  try {
    for (std::size_t i = 0; i < v.descriptions.size(); ++i) {
      const auto& d = v.descriptions[i];
      const auto it =
          std::find_if(g.rules.begin(), g.rules.end(), [&](const Rule& r) { return sameRule(d.rule, r, v.product); });
      if (it != g.rules.end()) {
        if (v.product == Product::Ens) {
          rollBack();
          return ApiError{E::EnsRuleDuplicated, ""};
        }
        out.notes.push_back(labelOf(d) + " already exists as " + it->id + "; nothing created");
        out.unchangedDescriptions.push_back(labelOf(d));
        continue;
      }
      Rule r = d.rule;
      if (v.product == Product::Ens) {
        // ENS Describe output has no rule ids: a new ENS rule gets the id the loader derives from its identity
        // (model_json.h), so that a written model needs no id in the rule's object and reloads to the same id.
        r.id = ensRuleBaseId(g.id, r);
        for (int n = 2; idInUse(model, r.id); ++n) r.id = ensRuleBaseId(g.id, r) + "-" + std::to_string(n);
      } else {
        r.id = newRuleId(model, std::to_string(model.requestCounter) + "\n" + canonical + "\n" + std::to_string(i));
      }
      out.addedRuleIds.push_back(r.id);
      g.rules.push_back(std::move(r));
    }
    if (!out.addedRuleIds.empty())
      if (auto e = checkQuotas(model, g)) {
        rollBack();
        return e;
      }
  } catch (...) {
    rollBack();
    throw;
  }
  return std::nullopt;
}

std::string tokenKey(const ApiRequest& req, const std::string& token) {
  return std::string(req.product == Product::Ens ? "ens" : "ecs") + ":" + req.action + ":" + token;
}

}  // namespace

std::string ApiOutcome::bodyJson() const {
  if (ok()) return "{\"RequestId\":\"" + jsonEscape(requestId) + "\"}";
  return "{\"RequestId\":\"" + jsonEscape(requestId) + "\",\"HostId\":\"" + jsonEscape(hostId) + "\",\"Code\":\"" +
         jsonEscape(code) + "\",\"Message\":\"" + jsonEscape(message) + "\"}";
}

std::string noopReason(const ApiOutcome& o) {
  if (!o.ok()) return "";
  if (o.replayed) return "is a ClientToken retry: nothing was done";
  if (o.removedRuleIds.empty() && o.addedRuleIds.empty()) return "changed no rule";
  if (o.unchangedDescriptions.empty()) return "";
  std::string parts;
  for (const auto& d : o.unchangedDescriptions) parts += (parts.empty() ? "" : ", ") + d;
  return "changed no rule in " + parts;
}

ApiOutcome applyRequest(Model& model, const ApiRequest& req) {
  ApiOutcome out;
  out.hostId = req.product == Product::Ens ? "ens.aliyuncs.com" : "ecs.aliyuncs.com";
  const std::string canonical = req.canonical();
  out.requestId = makeRequestId(model.requestCounter, canonical);

  ApiAction action;
  if (!actionFromName(req.action, action)) return failure(std::move(out), ApiError{E::ActionNotFound, ""});

  // A retry answers before validation: the first response again, even if the model changed since.
  const std::string* token = req.product == Product::Ecs ? req.find("ClientToken") : nullptr;
  if (token && !token->empty()) {
    if (!detail::validClientToken(*token)) return failure(std::move(out), ApiError{E::ClientTokenInvalid, ""});
    const auto it = model.clientTokens.find(tokenKey(req, *token));
    if (it != model.clientTokens.end()) {
      if (it->second.paramsDigest != req.canonical(true))
        return failure(std::move(out), ApiError{E::IdempotentParameterMismatch, ""});
      out.replayed = true;
      out.httpStatus = it->second.httpStatus;
      boost::system::error_code ec;
      const auto body = boost::json::parse(it->second.responseJson, ec);
      if (!ec && body.is_object() && body.as_object().contains("RequestId") && body.at("RequestId").is_string())
        out.requestId = std::string(body.at("RequestId").get_string());
      out.notes.push_back("ClientToken " + *token +
                          " was used before with the same parameters: "
                          "the first response again, nothing done");
      return out;
    }
  }

  auto validated = detail::validateRequest(model, req, action, out.notes);
  if (!validated.ok()) return failure(std::move(out), validated.error());
  const auto& v = *validated;

  // No copy of the model: each path changes the group only when it can no longer fail, or undoes its change.
  SecurityGroup& g = *model.findGroup(v.groupId);
  std::optional<ApiError> err;
  if (v.byRuleIds)
    revokeIds(g, v, out);
  else if (isRevoke(action))
    err = revokeDescriptions(g, v, out);
  else
    err = authorize(model, g, v, canonical, out);
  if (err) {
    ApiOutcome failed = failure(std::move(out), *err);
    failed.removedRuleIds.clear();
    failed.removedRules.clear();
    failed.addedRuleIds.clear();
    failed.nearMisses.clear();
    failed.unchangedDescriptions.clear();
    return failed;
  }

  ++model.requestCounter;
  if (token && !token->empty())
    model.clientTokens[tokenKey(req, *token)] = TokenRecord{req.canonical(true), out.bodyJson(), out.httpStatus};
  return out;
}

}  // namespace sgsim
