#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include "request_forms.h"
#include "sgsim/api/request.h"
#include "sgsim/core/text.h"

namespace sgsim {

namespace {

constexpr const char* kNoForm = "not a JSON request, a query string (Action=…&…) or an aliyun command line";

constexpr std::pair<const char*, ApiAction> kActions[] = {
    {"RevokeSecurityGroup", ApiAction::RevokeIngress},
    {"RevokeSecurityGroupEgress", ApiAction::RevokeEgress},
    {"AuthorizeSecurityGroup", ApiAction::AuthorizeIngress},
    {"AuthorizeSecurityGroupEgress", ApiAction::AuthorizeEgress},
};

// RPC common parameters: they address or sign the call and say nothing about the rules.
bool isCommonParam(std::string_view name) {
  static constexpr std::string_view kCommon[] = {
      "RegionId",       "Format",        "AccessKeyId", "Signature",     "SignatureMethod", "SignatureVersion",
      "SignatureNonce", "SignatureType", "Timestamp",   "SecurityToken", "ResourceOwnerId", "ResourceOwnerAccount",
      "OwnerAccount",   "OwnerId"};
  return std::find(std::begin(kCommon), std::end(kCommon), name) != std::end(kCommon);
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), the set Boost.JSON accepts.
bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace

const std::string* ApiRequest::find(std::string_view name) const {
  const std::string* found = nullptr;
  for (const auto& [k, v] : params)
    if (k == name) found = &v;
  return found;
}

std::string ApiRequest::canonical(bool withoutClientToken) const {
  std::vector<std::pair<std::string, std::string>> sorted;
  for (const auto& [k, v] : params)
    if (!(withoutClientToken && k == "ClientToken")) sorted.emplace_back(k, v);
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out = std::string(product == Product::Ens ? "ens" : "ecs") + "\n" + action + "\n";
  for (const auto& [k, v] : sorted) {
    out += k;
    out += '=';
    out += v;
    out += '\n';
  }
  return out;
}

bool actionFromName(std::string_view name, ApiAction& out) {
  for (const auto& [n, a] : kActions)
    if (name == n) {
      out = a;
      return true;
    }
  return false;
}

Direction directionOf(ApiAction a) {
  return a == ApiAction::RevokeIngress || a == ApiAction::AuthorizeIngress ? Direction::Ingress : Direction::Egress;
}

bool isRevoke(ApiAction a) { return a == ApiAction::RevokeIngress || a == ApiAction::RevokeEgress; }

namespace detail {

Result<ApiRequest> buildRequest(const ParamList& raw, std::optional<Product> product, std::string_view defaultAction) {
  ApiRequest req;
  std::string action(defaultAction);
  std::map<std::string_view, std::string_view> seen;  // name → first value
  for (auto& [k, v] : raw) {
    // Names and values reach the model file and the JSON response: text that JSON cannot carry stops here
    // (a query string's %XX and a command line's raw bytes are the only ways in).
    if (!validUtf8(k)) return Error{"request", "a parameter name is not valid UTF-8"};
    if (!validUtf8(v)) return Error{"request", "the value of " + k + " is not valid UTF-8"};
    // A parameter given twice has no one meaning (the first? the last? a list?): taking either silently could
    // act on another group or rule than the user meant (`SecurityGroupId=sg-nope&SecurityGroupId=sg-web`).
    if (const auto [it, fresh] = seen.emplace(k, v); !fresh)
      return Error{
          "request",
          k + " is given twice ('" + std::string(it->second) + "', then '" + v + "'): give each parameter once" +
              (k == "SecurityGroupRuleId" || k == "Permissions" ? " (list values as " + k + ".1, " + k + ".2, …)"
                                                                : "")};
    if (k == "Action") {
      action = v;
    } else if (k == "Product") {
      if (iequals(v, "ens"))
        product = Product::Ens;
      else if (iequals(v, "ecs"))
        product = Product::Ecs;
      else
        return Error{"request", "Product must be ecs or ens, not '" + v + "'"};
    } else if (k == "Version") {
      // ENS's API version; ECS is 2014-05-26.
      if (v == "2017-11-10") product = Product::Ens;
    } else if (!isCommonParam(k)) {
      req.params.emplace_back(std::move(k), std::move(v));
    }
  }
  if (action.empty())
    return Error{"request",
                 "no Action (expected RevokeSecurityGroup, RevokeSecurityGroupEgress, "
                 "AuthorizeSecurityGroup or AuthorizeSecurityGroupEgress)"};
  ApiAction a;
  if (!actionFromName(action, a)) return Error{"request", "unsupported Action '" + action + "'"};
  req.action = action;
  req.product = product.value_or(Product::Ecs);
  return req;
}

Result<ApiRequest> parseQueryRequest(std::string_view text) {
  text = trim(text);
  if (const auto q = text.find('?'); q != std::string_view::npos) text.remove_prefix(q + 1);  // a pasted URL
  ParamList raw;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const auto part = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (trim(part).empty()) continue;
    const auto eq = part.find('=');
    if (eq == std::string_view::npos)
      return Error{"request", "query parameter without '=': '" + std::string(part) + "'"};
    raw.emplace_back(percentDecode(trim(part.substr(0, eq))), percentDecode(part.substr(eq + 1)));
  }
  return buildRequest(std::move(raw), std::nullopt);
}

}  // namespace detail

Result<ApiRequest> parseRequest(std::string_view text) {
  const auto t = trim(text);
  if (t.empty()) return Error{"request", "empty request"};
  if (t.substr(0, 7) == "aliyun " || t.substr(0, 7) == "aliyun\t" || t.substr(0, 7) == "aliyun\\")
    return detail::parseCliRequest(t);
  const auto at = detail::firstSignificantAt(t);
  if (at < t.size() && (t[at] == '{' || t[at] == '"')) return detail::parseJsonRequest(text);
  if (t.find('=') != std::string_view::npos) return detail::parseQueryRequest(t);
  return Error{"request", kNoForm};
}

namespace {

// No request form is one word without '=', braces, brackets or quotes: such an argument is meant as a path.
bool looksLikePath(std::string_view arg) {
  if (arg.empty()) return false;
  return std::none_of(arg.begin(), arg.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '=' || c == '{' || c == '}' || c == '[' || c == ']' ||
           c == '"';
  });
}

}  // namespace

Result<ApiRequest> loadRequestArg(std::string_view arg) {
  if (arg == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return parseRequest(text);
  }
  const std::string name(arg);
  std::error_code ec;
  const std::filesystem::path path{name};
  // Request text often contains '/' (CIDRs, port ranges): whatever exists is a file, else the text decides.
  const auto status = arg.size() < 4096 ? std::filesystem::status(path, ec) : std::filesystem::file_status{};
  if (std::filesystem::exists(status)) {
    if (std::filesystem::is_directory(status)) return Error{name, "is a directory, not a request file"};
    // Regular files, and pipes too (`--revoke <(…)`, /dev/stdin).
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{name, std::string("cannot read the request file (") + std::strerror(errno) + ")"};
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return Error{name, "cannot read the request file (read error)"};
    auto r = parseRequest(ss.str());
    if (!r.ok()) return Error{name + ": " + r.error().where, r.error().message};
    return r;
  }
  if (looksLikePath(arg)) {
    const bool missing = !ec || ec == std::errc::no_such_file_or_directory;
    return Error{name, missing ? "no such file" : "cannot read the request file (" + ec.message() + ")"};
  }
  auto r = parseRequest(arg);
  // Text of no form at all may still be a file name with a space in it.
  if (!r.ok() && r.error().message == kNoForm) return Error{r.error().where, r.error().message + ", nor a file"};
  return r;
}

}  // namespace sgsim
