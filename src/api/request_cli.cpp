// The `aliyun` command-line form, as a user pastes it from a shell history or a runbook:
//   aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-1
//     --Permissions.1.IpProtocol TCP --Permissions.1.PortRange 22/22 --profile prod   (often split with \)
// API parameters are CamelCase (`--SecurityGroupId`); the CLI's own options are lowercase (`--profile`,
// `--region`, `--endpoint`) and are not parameters.
//
// The plugin form (aliyun CLI 3.3 and later, docs/en/usage.md of aliyun/aliyun-cli) is accepted beside it:
//   aliyun ecs revoke-security-group --biz-region-id cn-hangzhou --security-group-id sg-1
//     --permissions.1.ip-protocol TCP --permissions.1.port-range 22/22
// An all-lowercase subcommand is the kebab-case operation name (revoke-security-group → RevokeSecurityGroup) and
// its flags are the parameters in kebab-case, each dot-separated part converted (--permissions.1.ip-protocol →
// Permissions.1.IpProtocol); RegionId is `--biz-region-id` there, because `--region` is the CLI's own. The CLI's own
// flags of that form (`--region`, `--endpoint`, `--profile`, `--cli-query`, `--log-level`, `--pager`,
// `--cli-dry-run`, `--cli-ai-mode`, `--quiet`, `--yes`, …) are not parameters. As aliyun does, one command does not
// mix the spellings: `revoke-security-group --SecurityGroupId` and `RevokeSecurityGroup --security-group-id` are
// refused (aliyun answers "unknown parameter"), here with the spelling that fits.

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

// The plugin form's own flags (global flags of aliyun 3.3+, and the classic ones it still takes).
bool isPluginCliFlag(std::string_view name) {
  static constexpr std::string_view kFlags[] = {"region",
                                                "endpoint",
                                                "profile",
                                                "cli-query",
                                                "log-level",
                                                "pager",
                                                "all-pages",
                                                "cli-dry-run",
                                                "cli-ai-mode",
                                                "no-cli-ai-mode",
                                                "quiet",
                                                "yes",
                                                "help",
                                                "force",
                                                "version",
                                                "header",
                                                "secure",
                                                "insecure",
                                                "skip-secure-verify",
                                                "mode",
                                                "config-path",
                                                "language",
                                                "read-timeout",
                                                "connect-timeout",
                                                "retry-count",
                                                "output",
                                                "waiter",
                                                "accept-language"};
  return std::find(std::begin(kFlags), std::end(kFlags), name) != std::end(kFlags);
}

bool isPluginValuelessFlag(std::string_view name) {
  static constexpr std::string_view kFlags[] = {
      "cli-dry-run", "cli-ai-mode", "no-cli-ai-mode", "quiet",    "yes",
      "help",        "force",       "secure",         "insecure", "skip-secure-verify"};
  return std::find(std::begin(kFlags), std::end(kFlags), name) != std::end(kFlags);
}

// An all-lowercase subcommand names the operation in kebab-case (aliyun routes it to the plugin engine).
bool isKebabName(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// revoke-security-group → RevokeSecurityGroup; permissions.1.ip-protocol → Permissions.1.IpProtocol;
// biz-region-id → RegionId.
std::string pascalFromKebab(std::string_view kebab) {
  if (kebab == "biz-region-id") return "RegionId";
  std::string out;
  bool upper = true;
  for (const char c : kebab) {
    if (c == '-') {
      upper = true;
      continue;
    }
    if (c == '.') {
      out += c;
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

// A lowercase flag of the classic form that is one of the requests' parameters in the plugin form's spelling.
bool looksLikeKebabParam(std::string_view name) {
  static constexpr std::string_view kPrefixes[] = {
      "security-group-id", "security-group-rule-id", "permissions",  "ip-protocol",  "port-range",
      "source-cidr-ip",    "dest-cidr-ip",           "client-token", "biz-region-id"};
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes),
                     [&](std::string_view p) { return name.substr(0, p.size()) == p; });
}

// SecurityGroupId → security-group-id; Permissions.1.IpProtocol → permissions.1.ip-protocol (for hints).
std::string kebabFromPascal(std::string_view pascal) {
  std::string out;
  for (std::size_t i = 0; i < pascal.size(); ++i) {
    const char c = pascal[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (i > 0 && pascal[i - 1] != '.') out += '-';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Result<ApiRequest> parseCliRequest(std::string_view text) {
  auto words = shellWords(text);
  if (!words.ok()) return words.error();
  const auto& w = *words;
  // The form is the subcommand's: the first word after the product that is not a flag (flags come after it).
  bool plugin = false;
  {
    std::size_t seen = 0;
    for (std::size_t i = 1; i < w.size() && seen < 2; ++i) {
      if (w[i].rfind("--", 0) == 0) break;
      if (++seen == 2) plugin = isKebabName(w[i]);
    }
  }
  ParamList raw;
  std::vector<std::string> positional;
  for (std::size_t i = 1; i < w.size(); ++i) {  // w[0] is "aliyun"
    const std::string& word = w[i];
    if (word.rfind("--", 0) != 0 && !(plugin && (word == "-q" || word == "-h"))) {
      positional.push_back(word);
      continue;
    }
    if (word == "-q" || word == "-h") continue;
    std::string name = word.substr(2), value;
    bool hasValue = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      hasValue = true;
    }
    if (plugin) {
      if (isApiParamName(name))
        return Error{"request", "--" + name + " is the classic spelling; the plugin form (" +
                                    (positional.size() > 1 ? positional[1] : std::string("kebab-case")) + ") takes --" +
                                    kebabFromPascal(name) + " (aliyun refuses the two spellings in one command)"};
      if (isPluginCliFlag(name)) {
        if (!hasValue && !isPluginValuelessFlag(name) && i + 1 < w.size() && w[i + 1].rfind("--", 0) != 0) ++i;
        continue;
      }
      name = pascalFromKebab(name);
    } else if (!isApiParamName(name)) {
      // A CLI option: skip its value too, unless it is a flag. A kebab-case parameter is the plugin form's spelling.
      if (looksLikeKebabParam(name))
        return Error{"request", "--" + name + " is the plugin form's spelling; with " +
                                    (positional.size() > 1 ? positional[1] : std::string("a PascalCase action")) +
                                    " give --" + pascalFromKebab(name) +
                                    " (or write the action in kebab-case: aliyun refuses the two spellings in one "
                                    "command)"};
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
  if (positional.size() < 2)
    return Error{
        "request",
        "expected `aliyun <ecs|ens> <Action> --Name value …` or `aliyun <ecs|ens> <action-name> --name value …`"};
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
  raw.insert(raw.begin(), {"Action", plugin ? pascalFromKebab(positional[1]) : positional[1]});
  return buildRequest(std::move(raw), product);
}

}  // namespace sgsim::detail
