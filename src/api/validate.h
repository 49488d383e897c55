#pragma once
// Internal to the api library: a request checked against the model, ready to apply. What can only be decided
// while applying (ENS "no such rule" / "duplicate", quotas) is left to the engine.

#include <string>
#include <vector>

#include "sgsim/api/errors.h"
#include "sgsim/api/request.h"
#include "sgsim/core/result.h"
#include "sgsim/model/model.h"

namespace sgsim::detail {

struct RuleDescription {
  std::string label;  // "Permissions.1"; "" for the flat (deprecated or ENS) form
  Rule rule;
  bool nicTypeInternet = false;  // asked for internet: read as intranet, but conflicts with a group peer
};

struct ValidatedRequest {
  ApiAction action = ApiAction::RevokeIngress;
  Product product = Product::Ecs;
  std::string groupId;
  bool byRuleIds = false;
  std::vector<std::string> ruleIds;           // byRuleIds
  std::vector<RuleDescription> descriptions;  // otherwise
  std::string clientToken;                    // ECS, may be empty
};

// "Permissions.1" for a description, "the request" for the flat form: what "in %s" names.
std::string labelOrRequest(const std::string& label);

// ClientToken syntax (≤ 64 printable ASCII characters); checked before the token is looked up.
bool validClientToken(const std::string& token);

// `notes` gets the ignored parameters (with a "did you mean" when one is close) and precedence decisions, also
// when the request then fails: a typo that makes a request fail must still be named.
Result<ValidatedRequest, ApiError> validateRequest(const Model& model, const ApiRequest& req, ApiAction action,
                                                   std::vector<std::string>& notes);

}  // namespace sgsim::detail
