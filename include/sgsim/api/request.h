#pragma once
// A revoke/authorize request as the cloud API receives it: a product, an action and flat RPC parameters
// ("SecurityGroupId", "SecurityGroupRuleId.1", "Permissions.2.IpProtocol", deprecated flat "IpProtocol").
// Users paste requests in three shapes (the JSON of the API pages, an RPC query string, an `aliyun` command
// line); all three parse to this one value so that validation never cares where a request came from.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sgsim/core/result.h"
#include "sgsim/model/model.h"

namespace sgsim {

enum class ApiAction : std::uint8_t { RevokeIngress, RevokeEgress, AuthorizeIngress, AuthorizeEgress };

struct ApiRequest {
  Product product = Product::Ecs;
  std::string action;  // "RevokeSecurityGroup", "RevokeSecurityGroupEgress", "AuthorizeSecurityGroup", …
  // In input order. "Action", "Product", "Version", "RegionId" and the signature fields are not params.
  std::vector<std::pair<std::string, std::string>> params;

  // The last value given for `name`, or nullptr.
  const std::string* find(std::string_view name) const;
  // Product, action and the params sorted by name: equal for requests that mean the same thing.
  // `withoutClientToken` leaves ClientToken out (the idempotency digest).
  std::string canonical(bool withoutClientToken = false) const;
};

// The four supported actions; false for anything else.
bool actionFromName(std::string_view name, ApiAction& out);
Direction directionOf(ApiAction a);
bool isRevoke(ApiAction a);

// Detects the form: JSON (comments, a missing outer {}, trailing commas allowed), an RPC query string
// (`Action=…&…`, percent-decoded, '+' is a space), or an `aliyun <product> <Action> --Name value …` line with
// shell quoting. Unparseable input is an Error whose `where` is "request" or "request: line L, column C";
// it is not an API error. A JSON request without "Action" is a RevokeSecurityGroup, as the examples on that
// API page are printed without one; the query and command-line forms always name their action. A parameter
// given twice, in any form (`SecurityGroupId=a&SecurityGroupId=b`, `--SecurityGroupId a --SecurityGroupId b`,
// `Permissions.1.IpProtocol` both in a JSON list and by name) is refused naming it, whichever value it has.
Result<ApiRequest> parseRequest(std::string_view text);

// `arg` is "-" (read stdin), the path of an existing file (or pipe), or the request text itself. One word
// with no '=', braces, brackets, quotes or spaces is no request text, so it is taken as a path: when nothing
// is there the error says "no such file". A directory or an unreadable file is an error naming the path.
Result<ApiRequest> loadRequestArg(std::string_view arg);

}  // namespace sgsim
