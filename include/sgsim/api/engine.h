#pragma once
// The request engine: validates a revoke/authorize request against a Model and applies it atomically, the
// way the ECS and ENS APIs behave (SEMANTICS §5). A CLI needs three calls:
//   auto req = loadRequestArg(arg);  auto out = applyRequest(model, *req);
//   print out.bodyJson() (stdout) and renderOutcomeText(out, model) (stderr).

#include <string>
#include <vector>

#include "sgsim/api/request.h"
#include "sgsim/api/rule_identity.h"
#include "sgsim/model/model.h"

namespace sgsim {

// An existing rule that differs from an unmatched description in exactly one identity field.
struct NearMiss {
  std::string description;  // "Permissions.1" (or "request" for the flat form)
  std::string ruleId;
  FieldDiff diff;
};

struct ApiOutcome {
  int httpStatus = 200;
  std::string requestId;      // UUID-shaped, deterministic
  std::string hostId;         // "ecs.aliyuncs.com" / "ens.aliyuncs.com"
  std::string code, message;  // empty code = success
  std::vector<std::string> removedRuleIds, addedRuleIds;
  bool replayed = false;  // a ClientToken retry: the first response again, nothing done
  // "Permissions.1 matched 0 rules", ignored parameters (with "did you mean"), …; kept when the request fails,
  // since a typo is often what made it fail.
  std::vector<std::string> notes;
  std::vector<NearMiss> nearMisses;
  // Descriptions of a successful request that changed no rule ("Permissions.2" or, for the flat form, "the
  // request"): a revoke that matched nothing, an authorize of a rule that exists. For --fail-on-noop.
  std::vector<std::string> unchangedDescriptions;
  std::vector<Rule> removedRules;  // copies, so a report can describe what is gone from the model

  bool ok() const { return code.empty(); }
  // {"RequestId":…} on success; {"RequestId","HostId","Code","Message"} on error, as the API answers.
  std::string bodyJson() const;
};

// Validates, then applies in place, atomically: a failed request changes nothing (not even requestCounter).
// A success increments model.requestCounter and, with a ClientToken, records the response in model.clientTokens.
ApiOutcome applyRequest(Model& model, const ApiRequest& req);

// For --fail-on-noop: "" when the request succeeded and each of its rule descriptions changed a rule;
// otherwise why not, to follow "request 1 …": "changed no rule", "changed no rule in Permissions.2",
// "is a ClientToken retry: nothing was done". A failed request is not a no-op (it is an error).
std::string noopReason(const ApiOutcome& outcome);

// The human report for stderr: status, removed/added rules with one line each, notes and near misses.
std::string renderOutcomeText(const ApiOutcome& outcome, const Model& model);

}  // namespace sgsim
