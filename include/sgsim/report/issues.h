#pragma once
// Warnings and input errors in every output format (issue 8: "silence is a bug"). A warning is something sgsim
// went on despite (a rule naming a prefix list the model lacks, an unknown field under --allow-unknown-fields, a
// full flow table); an error is input it could not read (a capture cut short), after which the report covers
// what was read and the exit status is 2. Both are `Error{where, message}` values and render alike everywhere:
//   text   "warning: <where>: <message>"            (reports also print them on stderr as they happen)
//   JSON   "warnings": [{"where", "message"}], "errors": [...] beside the report's own fields
//   JSONL  a {"warning": {"where", "message"}} line before the first record, {"error": {…}} lines after the last
//   CSV    "# warning: <where>: <message>" and "# error: …" lines after the rows (the header stays line 1)

#include <optional>
#include <string>
#include <vector>

#include "sgsim/core/result.h"

namespace boost::json {
class array;
class object;
}  // namespace boost::json

namespace sgsim {

enum class IssueKind { Warning, Error };

// One "warning: …" / "error: …" line per issue, each after `indent`.
std::string issuesText(IssueKind kind, const std::vector<Error>& issues, const std::string& indent = "");
// [{"where": …, "message": …}, …]
boost::json::array issuesJson(const std::vector<Error>& issues);
// {"warning":{"where":…,"message":…}} lines.
std::string issuesJsonl(IssueKind kind, const std::vector<Error>& issues);
// "# warning: <where>: <message>" lines.
std::string issuesCsv(IssueKind kind, const std::vector<Error>& issues);

struct Shard;
// The last member of a shard's JSON report (issue 13): "shard": {"index": K, "count": N}; nothing when unsharded.
void addShardJson(boost::json::object& root, const std::optional<Shard>& shard);

}  // namespace sgsim
