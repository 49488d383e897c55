// The JSON form, as the API pages print their request examples: `//` comments, often no outer braces,
// sometimes a trailing comma. Arrays and objects flatten to RPC names (Permissions.1.IpProtocol).

#include <boost/json.hpp>
#include <cctype>

#include "request_forms.h"
#include "sgsim/model/json_doc.h"

namespace sgsim::detail {

namespace {

std::string scalarText(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  return boost::json::serialize(v);  // numbers as written ("Priority": 1 → "1")
}

void flatten(const std::string& name, const boost::json::value& v, ParamList& out) {
  if (v.is_null()) return;
  if (v.is_array()) {
    std::size_t i = 0;
    for (const auto& e : v.get_array()) flatten(name + "." + std::to_string(++i), e, out);
  } else if (v.is_object()) {
    for (const auto& [k, e] : v.get_object())
      flatten(name.empty() ? std::string(k) : name + "." + std::string(k), e, out);
  } else {
    out.emplace_back(name, scalarText(v));
  }
}

std::string lineColumn(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

// Parses `text`; on error, `where` names the line and column in `text` (the user's own text). A key given twice
// in one object is refused: JSON readers keep one of the two silently, and the request would then be decided
// by a value the user may not have looked at.
// `prefix` names the value's place in the request (the parameter of an aliyun `--Permissions '[...]'`).
Result<boost::json::value> parseLenient(std::string_view text, std::string_view whereName,
                                        std::string_view prefix = "") {
  const std::size_t start = firstSignificantAt(text);
  // The API pages print only the members; a '{' prefix keeps line numbers and shifts columns of line 1 only.
  const bool wrap = start < text.size() && text[start] == '"';
  std::string buffer = wrap ? "{" + std::string(text) + "\n}" : std::string(text);
  auto v = readJsonStrict(buffer, JsonReadOptions{.allowComments = true, .allowTrailingCommas = true});
  if (v) return std::move(*v);
  const JsonReadError& e = v.error();
  // Back to an offset in the user's text.
  auto inText = [&](std::size_t offset) { return wrap ? (offset == 0 ? 0 : offset - 1) : offset; };
  std::string where = std::string(whereName) + ": ";
  const std::size_t at = inText(e.at.offset);
  where += at >= text.size() ? "end of input (" + lineColumn(text, text.size()) + ")" : lineColumn(text, at);
  if (e.kind == JsonReadError::Kind::Syntax) return Error{where, "JSON syntax error: " + e.message};
  const std::string object =
      e.objectPath.empty() || e.objectPath.front() == '[' ? std::string(prefix) + e.objectPath : e.objectPath;
  return Error{where, "duplicate key \"" + e.key + "\"" + (object.empty() ? "" : " in " + object) + " (first at " +
                          lineColumn(text, inText(e.first.offset)) + "); give each parameter once"};
}

}  // namespace

std::size_t firstSignificantAt(std::string_view t) {
  std::size_t i = 0;
  while (i < t.size()) {
    if (std::isspace(static_cast<unsigned char>(t[i]))) {
      ++i;
    } else if (t.substr(i, 2) == "//") {
      while (i < t.size() && t[i] != '\n') ++i;
    } else if (t.substr(i, 2) == "/*") {
      const auto end = t.find("*/", i + 2);
      i = end == std::string_view::npos ? t.size() : end + 2;
    } else {
      break;
    }
  }
  return i;
}

Result<ParamList> parseJsonParams(std::string_view text) {
  auto v = parseLenient(text, "request");
  if (!v.ok()) return v.error();
  if (!v->is_object()) return Error{"request", "the JSON request must be an object of parameters"};
  ParamList out;
  flatten("", *v, out);
  return out;
}

Result<ParamList> parseJsonValueParam(std::string_view name, std::string_view text) {
  auto v = parseLenient(text, "request: --" + std::string(name), name);
  if (!v.ok()) return v.error();
  ParamList out;
  flatten(std::string(name), *v, out);
  return out;
}

Result<ApiRequest> parseJsonRequest(std::string_view text) {
  auto params = parseJsonParams(text);
  if (!params.ok()) return params.error();
  // The API pages' examples carry only the operation's own parameters; the seed page is RevokeSecurityGroup.
  return buildRequest(std::move(*params), std::nullopt, "RevokeSecurityGroup");
}

}  // namespace sgsim::detail
