// The `aliyun` command-line form, as a user pastes it from a shell history or a runbook:
//   aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-1
//     --Permissions.1.IpProtocol TCP --Permissions.1.PortRange 22/22 --profile prod   (often split with \)
// API parameters are CamelCase (`--SecurityGroupId`); the CLI's own options are lowercase (`--profile`,
// `--region`, `--endpoint`) and are not parameters.

#include <algorithm>
#include <cctype>
#include <iterator>

#include "request_forms.h"
#include "sgsim/core/text.h"

namespace sgsim::detail {

namespace {

// POSIX-shell words: '…' literal, "…" with \" \\ \$ \` escapes, backslash escapes outside quotes,
// backslash-newline joins lines.
Result<std::vector<std::string>> shellWords(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  bool inWord = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      if (i + 1 < s.size() && (s[i + 1] == '\n' || (s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n'))) {
        i += s[i + 1] == '\r' ? 2 : 1;  // line continuation
        continue;
      }
      if (i + 1 < s.size()) cur += s[++i];
      inWord = true;
    } else if (c == '\'') {
      const auto end = s.find('\'', i + 1);
      if (end == std::string_view::npos) return Error{"request", "unterminated ' quote in the command line"};
      cur += s.substr(i + 1, end - i - 1);
      i = end;
      inWord = true;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < s.size() && s[j] != '"'; ++j) {
        if (s[j] == '\\' && j + 1 < s.size() && std::string_view("\"\\$`\n").find(s[j + 1]) != std::string_view::npos) {
          if (s[j + 1] != '\n') cur += s[j + 1];
          ++j;
        } else {
          cur += s[j];
        }
      }
      if (j >= s.size()) return Error{"request", "unterminated \" quote in the command line"};
      i = j;
      inWord = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (inWord) words.push_back(std::move(cur));
      cur.clear();
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push_back(std::move(cur));
  return words;
}

// aliyun CLI flags that take no value.
bool isValuelessFlag(std::string_view name) {
  static constexpr std::string_view kFlags[] = {"force", "dryrun", "quiet", "secure", "insecure", "skip-secure-verify",
                                                "help",  "pager"};
  return std::find(std::begin(kFlags), std::end(kFlags), name) != std::end(kFlags);
}

bool isApiParamName(std::string_view name) {
  return !name.empty() && std::isupper(static_cast<unsigned char>(name[0]));
}

}  // namespace

Result<ApiRequest> parseCliRequest(std::string_view text) {
  auto words = shellWords(text);
  if (!words.ok()) return words.error();
  const auto& w = *words;
  ParamList raw;
  std::vector<std::string> positional;
  for (std::size_t i = 1; i < w.size(); ++i) {  // w[0] is "aliyun"
    const std::string& word = w[i];
    if (word.rfind("--", 0) != 0) {
      positional.push_back(word);
      continue;
    }
    std::string name = word.substr(2), value;
    bool hasValue = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      hasValue = true;
    }
    if (!isApiParamName(name)) {
      // A CLI option: skip its value too, unless it is a flag.
      if (!hasValue && !isValuelessFlag(name) && i + 1 < w.size() && w[i + 1].rfind("--", 0) != 0) ++i;
      continue;
    }
    if (!hasValue) {
      if (i + 1 >= w.size()) return Error{"request", "--" + name + " has no value"};
      value = w[++i];
    }
    const auto first = trim(value);
    if ((name == "Permissions" || name == "SecurityGroupRuleId") && !first.empty() && first.front() == '[') {
      // aliyun also takes list parameters as one JSON value.
      auto flat = parseJsonValueParam(name, value);
      if (!flat.ok()) return flat.error();
      raw.insert(raw.end(), flat->begin(), flat->end());
    } else {
      raw.emplace_back(std::move(name), std::move(value));
    }
  }
  if (positional.size() < 2) return Error{"request", "expected `aliyun <ecs|ens> <Action> --Name value …`"};
  // A stray word is usually a second list value (`--SecurityGroupRuleId a b`): dropping it would revoke less.
  if (positional.size() > 2)
    return Error{"request", "unexpected word '" + positional[2] + "' (give list values as --Name.1 a --Name.2 b)"};
  std::optional<Product> product;
  if (iequals(positional[0], "ecs"))
    product = Product::Ecs;
  else if (iequals(positional[0], "ens"))
    product = Product::Ens;
  else
    return Error{"request", "aliyun product must be ecs or ens, not '" + positional[0] + "'"};
  raw.insert(raw.begin(), {"Action", positional[1]});
  return buildRequest(std::move(raw), product);
}

}  // namespace sgsim::detail
