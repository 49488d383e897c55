#pragma once
// Internal to the api library: the three request forms share one builder, so that Action/Product/Version
// and the common parameters are handled the same way whatever the user pasted.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sgsim/api/request.h"

namespace sgsim::detail {

using ParamList = std::vector<std::pair<std::string, std::string>>;

// Takes Action, Product, Version and the common RPC fields out of `raw`; `product` is what the form itself
// said (the `aliyun ens` word), if anything. `defaultAction` answers for a missing Action ("" = required).
Result<ApiRequest> buildRequest(const ParamList& raw, std::optional<Product> product,
                                std::string_view defaultAction = "");

// Index of the first character that is neither whitespace nor a // or /* */ comment; text.size() if none.
std::size_t firstSignificantAt(std::string_view text);

// JSON text (comments, missing outer braces, trailing commas) flattened to RPC names.
Result<ParamList> parseJsonParams(std::string_view text);
// A JSON value given as one parameter's value (`--Permissions '[{…}]'`), flattened under `name`.
Result<ParamList> parseJsonValueParam(std::string_view name, std::string_view text);

Result<ApiRequest> parseJsonRequest(std::string_view text);
Result<ApiRequest> parseQueryRequest(std::string_view text);
Result<ApiRequest> parseCliRequest(std::string_view text);

}  // namespace sgsim::detail
