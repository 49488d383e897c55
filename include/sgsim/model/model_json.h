#pragma once
// Reading and writing the model file (docs/MODEL_FORMAT.md). The loader accepts Alibaba's own Describe
// shapes as real `aliyun` output writes them (empty string = absent, Priority as string or number, any
// letter case of values, `{"Permission": […]}` or a plain array) and refuses a broken model with the JSON
// path of the first problem, so that a user never simulates a model that is not the one they meant: a duplicate
// key, and a key that no documented Describe response and no sgsim field has (most often a typo that would
// otherwise become a default) are refused too, the latter unless LoadOptions::allowUnknownFields.
// The writer patches the user's own document (Model::source.document): every field sgsim does not change stays
// as the user wrote it, in the same order; a model built in code is written in the canonical form of the same
// shapes. parseModel(serializeModel(m)) == m for every model the loader produced (and every model the API layer
// derives from one).

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "sgsim/core/ip.h"
#include "sgsim/core/result.h"
#include "sgsim/model/model.h"

namespace boost::json {
class value;
class object;
}  // namespace boost::json

namespace sgsim {

struct LoadOptions {
  // With a bare DescribeSecurityGroupAttribute document, the address of the one ENI ("eni-host") put in that
  // group; ignored for a full model.
  std::optional<IpAddr> host;
  // Unknown keys are then warnings (Model::source.warnings) instead of an error.
  bool allowUnknownFields = false;
};

// `json`: the document. `sourceName` (a file name, "<stdin>") leads every Error's `where`, followed by the JSON
// path: "model.json: SecurityGroups[0].Permissions.Permission[3].PortRange". The model keeps the parsed document,
// `sourceName` and the load warnings in Model::source (warnings: unknown keys under allowUnknownFields, documented
// fields whose meaning sgsim does not model).
Result<Model> parseModel(std::string_view json, const LoadOptions& options, std::string_view sourceName);
Result<Model> parseModel(std::string_view json, const std::optional<IpAddr>& host, std::string_view sourceName);

// readWholeFile(path) ("-" = stdin) then parseModel.
Result<Model> loadModel(const std::string& path, const LoadOptions& options);
Result<Model> loadModel(const std::string& path, const std::optional<IpAddr>& host);

// Pretty JSON (two-space indent). With a source document: that document, changed only where the model differs
// from what the document says (rules removed, rules added in the shape the group's list already has, ClientTokens
// and RequestCounter updated); a bare DescribeSecurityGroupAttribute document stays bare. Without one: the
// MODEL_FORMAT.md shapes, including "Quotas", "ClientTokens" and "RequestCounter", ENS rules with their generated
// SecurityGroupRuleId so that ids survive a revoke and a reload. Comments of the source are not kept.
std::string serializeModel(const Model& model);

// serializeModel, written atomically (core/atomic_file.h): on failure the old file is untouched.
std::optional<Error> writeModel(const std::string& path, const Model& model);

// Two-space indented JSON, keys in insertion order, ending with a newline; shared by every JSON report.
std::string toPrettyJson(const boost::json::value& value, std::size_t reserve = 0);  // reserve: bytes expected
// The same layout for a value nested `indent` spaces deep, appended (no newline after it): a report writes its long
// lists one row at a time with it instead of building them into one tree.
void appendPrettyJson(std::string& out, const boost::json::value& value, int indent);

// A long list of a report's top level, written one row at a time: `count` rows, row i appended by `row(out, i,
// indent)` in the layout appendPrettyJson gives (a report's drift rows and flows: 100,000 of each over a day's flow
// log, whose tree cost more than the run that found them).
struct PrettyRows {
  std::string name;  // the member of the root it fills (an empty array there)
  std::size_t count = 0;
  std::function<void(std::string& out, std::size_t i, int indent)> row;
};
// toPrettyJson(root) written to `os` in pieces of about 1 MB as it is made, the members named in `rows` filled row by
// row: neither the tree of the rows nor the whole text is ever in memory.
void writePrettyJson(std::ostream& os, const boost::json::object& root, const std::vector<PrettyRows>& rows);

// The stable id of an ENS rule (ENS Describe output has none): "ensr-" + 8 hex digits of a hash of the group
// id and the rule's identity fields (SEMANTICS §5), without the "-2", "-3" suffix given to exact duplicates.
std::string ensRuleBaseId(const std::string& groupId, const Rule& rule);

}  // namespace sgsim
