#pragma once
// Small string helpers shared by the model loader, the request parser and the reports.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sgsim {

std::string toLower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);
// Whole-string decimal integer (optional leading '-'); nullopt on anything else or overflow.
std::optional<std::int64_t> parseInt(std::string_view s);
// JSON string escaping for hand-written JSON Lines output.
std::string jsonEscape(std::string_view s);

}  // namespace sgsim
