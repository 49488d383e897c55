#include "sgsim/report/issues.h"

#include <boost/json.hpp>

#include "sgsim/core/shard.h"
#include "sgsim/core/text.h"

namespace sgsim {

namespace {
const char* word(IssueKind kind) { return kind == IssueKind::Warning ? "warning" : "error"; }
}  // namespace

std::string issuesText(IssueKind kind, const std::vector<Error>& issues, const std::string& indent) {
  std::string out;
  for (const Error& e : issues) out += indent + word(kind) + ": " + e.toString() + "\n";
  return out;
}

boost::json::array issuesJson(const std::vector<Error>& issues) {
  boost::json::array a;
  for (const Error& e : issues) a.push_back(boost::json::object{{"where", e.where}, {"message", e.message}});
  return a;
}

std::string issuesJsonl(IssueKind kind, const std::vector<Error>& issues) {
  std::string out;
  for (const Error& e : issues)
    out += std::string("{\"") + word(kind) + "\":{\"where\":\"" + jsonEscape(e.where) + "\",\"message\":\"" +
           jsonEscape(e.message) + "\"}}\n";
  return out;
}

std::string issuesCsv(IssueKind kind, const std::vector<Error>& issues) {
  std::string out;
  for (const Error& e : issues) {
    std::string line = e.toString();
    for (char& c : line)
      if (c == '\n' || c == '\r') c = ' ';
    out += std::string("# ") + word(kind) + ": " + line + "\n";
  }
  return out;
}

void addShardJson(boost::json::object& root, const std::optional<Shard>& shard) {
  if (shard)
    root["shard"] = boost::json::object{{"index", shard->index}, {"count", shard->count}, {"hash", kShardHash}};
}

}  // namespace sgsim
