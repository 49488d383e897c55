#pragma once
// `show`: the teaching view of a model. For each ENI and direction it lists what is evaluated, in the order
// it is evaluated (model/order.h, SEMANTICS §3): the intra-group accept of basic groups first, then the
// custom rules pooled over all the ENI's groups, then the implicit default, so that a reader sees at a glance
// why order matters. Rules that can never decide because one earlier rule covers them entirely are marked
// "shadowed by #N" (only for CIDR peers with explicit ports, conservatively: no mark means "not proven").

#include <optional>
#include <string>
#include <vector>

#include "sgsim/core/result.h"
#include "sgsim/model/model.h"

namespace sgsim {

// Every ENI of the model, or only `eniId`; an unknown id is an Error that lists the known ones.
// `warnings` (report/issues.h) are printed after the order line.
Result<std::string> renderShowText(const Model& model, const std::optional<std::string>& eniId,
                                   const std::vector<Error>& warnings = {});

// The same information as pretty JSON: {"order", "enis": [{"eni", "addresses", "groups", "groupType",
// "directions": [{"direction", "entries": [{"rank", "kind": "rule"|"intra-group"|"default", "policy", …}],
// "notes"}], "references": [{"kind": "group"|"prefix-list"|"port-range-list", "id", "inModel", "members"|"entries"}]}],
// "unattachedGroups", "warnings": [{"where", "message"}], "assumptions": [{"group", "text"}]} (what the model's
// document left to a default: model/assumptions.h; a rule entry whose group peer the model lacks has
// "peerMissing": true). The text view prints the references under "where" after
// each ENI's tables.
Result<std::string> renderShowJson(const Model& model, const std::optional<std::string>& eniId,
                                   const std::vector<Error>& warnings = {});

}  // namespace sgsim
