#pragma once
// When a rule description names an existing rule (SEMANTICS §5 "DECISION (rule identity)"). This is the one
// place that decides it: revoke by Permissions, authorize-duplicate detection, DuplicatePermissions and the
// near-miss report all go through the one walk over the identity fields in rule_identity.cpp, either counting
// differences on the typed values (no text, no allocation: the revoke scan over a 1,000-rule group) or
// describing them (only for the rules that are reported).

#include <string>
#include <vector>

#include "sgsim/model/describe.h"
#include "sgsim/model/model.h"

namespace sgsim {

// One identity field on which two rules disagree, named as the API names it ("Priority", "SourceCidrIp",
// "PortRange"), with both values as text ("" = not set). Peers of different kinds are one diff named "peer"
// whose values carry their field names ("SourceGroupId sg-1").
struct FieldDiff {
  std::string field;
  std::string wanted;    // the description's value
  std::string existing;  // the other rule's value
};

// Identity fields compared after normalisation: direction, protocol, PortRange, PortRangeListId,
// SourcePortRange, peer (CIDRs as networks, group id, prefix list id; owner fields do not take part),
// five-tuple narrowing, Policy, Priority, NicType ("" and "internet" read as "intranet").
// Description and CreateTime never take part.
std::vector<FieldDiff> ruleDifferences(const Rule& description, const Rule& existing, Product product);
// ruleDifferences(...).size(), but counting no further than `limit` (the walk stops there) and formatting
// nothing: countRuleDifferences(d, e, p, 2) == 1 tells a near miss without describing it.
int countRuleDifferences(const Rule& description, const Rule& existing, Product product, int limit);
// ruleDifferences(...).empty(), stopping at the first difference.
bool sameRule(const Rule& description, const Rule& existing, Product product);
// "Priority 2, not 1": the existing value first, then what the description asked for.
std::string describeDiff(const FieldDiff& diff);

// The API parameter name of the rule's peer field ("SourceCidrIp", "Ipv6DestCidrIp", "SourceGroupId", …).
std::string peerFieldName(const Rule& rule);

}  // namespace sgsim
