#pragma once
// One rule grammar (STYLE.md "One grammar per concept"). A rule reaches sgsim three ways: as a Permission
// object of a model file (Describe output), as the description in an authorize request, and as the description
// in a revoke by Permissions. All three are read here, by the same checks in the same order, so that sgsim never
// writes a rule it then refuses to read, and never reads a rule that the API would refuse to create.
//
// The ways differ only in what the dialect says:
//   - product: ECS (any letter case; IPv4 and IPv6) or ENS (IPv4 only; requests take lowercase protocol names);
//   - direction: which wire names are the peer (ingress SourceCidrIp…, egress DestCidrIp…) and which the
//     five-tuple narrowing of the group's own side;
//   - source: a document (Describe output) reads an absent PortRange of a protocol without ports as -1/-1 and
//     ENS values in any letter case; a request is as strict as the API.
// A problem is a RuleFault plus the wire name of the field it concerns. The model loader shows it as
// "<json path>.<field>: <message>"; the API layer maps the fault to its error code (src/api/validate.cpp), so a
// rule the loader refuses is refused by authorize with the API's code (tests/model/rule_grammar_test.cpp).
//
// Not here: a rule's id, Direction and CreateTime (the document's business), and every check that needs the
// model (referenced objects exist, own group as peer, enterprise restrictions, VPCs), which the loader and the
// API make after the grammar.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sgsim/core/result.h"
#include "sgsim/model/model.h"

namespace sgsim {

enum class RuleSource : std::uint8_t { Document, Request };

struct RuleDialect {
  Product product = Product::Ecs;
  Direction direction = Direction::Ingress;
  RuleSource source = RuleSource::Request;
};

// The wire names of a rule's peer and narrowing fields, which depend on its direction (SEMANTICS §1).
struct RuleWireNames {
  const char* peerV4;
  const char* peerV6;
  const char* group;
  const char* groupOwnerAccount;
  const char* groupOwnerId;
  const char* prefixList;
  const char* localV4;
  const char* localV6;
};
const RuleWireNames& ruleWireNames(Direction d);

// Every field of one rule description the grammar reads (both directions), in the API's parameter order.
const std::vector<std::string_view>& ruleFieldNames();

enum class RuleFault : std::uint8_t {
  ProtocolMissing,
  ProtocolUnknown,
  PolicyInvalid,
  PriorityNotInteger,
  PriorityOutOfRange,
  NicTypeInvalid,
  DescriptionTooLong,
  PortRangeMissing,
  PortRangeSyntax,       // not "a/b" with both -1 or both in 1..65535
  PortRangeForProtocol,  // reversed, or not what the protocol takes (-1/-1 for TCP, ports for ICMP)
  PortListForProtocol,   // a PortRangeListId on a protocol without ports
  SourcePortRangeInvalid,
  CidrMalformed,
  CidrWrongFamily,  // an IPv6 value in an IPv4 field or the reverse
  BothFamilies,     // SourceCidrIp and Ipv6SourceCidrIp (or the Dest pair) both set
  PeerMissing,
  NarrowingFamily,  // the five-tuple narrowing is of the other address family than the peer
  IcmpWithIpv6,
  Icmpv6WithIpv4,
  EnsIpv6,
};

struct RuleProblem {
  RuleFault fault;
  std::string field;    // wire name of the field concerned ("PortRange", "Ipv6DestCidrIp"); "" for the rule
  std::string message;  // for a person: "\"22-80\" is not a port range (expected \"from/to\")"
};

// One rule description's fields: wire name → text. Absent, null and "" all mean absent (Describe output writes
// "" for every unused field). Values are read without surrounding whitespace, except Description.
using RuleFieldMap = std::map<std::string, std::string, std::less<>>;

struct ReadRule {
  Rule rule;  // id, CreateTime empty; direction from the dialect
  // NicType internet was given: read as intranet (a VPC group has only intranet rules; Describe does the same),
  // but the API refuses it beside a group peer (InvalidNicType.Mismatch).
  bool nicTypeInternet = false;
  // Fields set aside by the API's precedence (SEMANTICS §5), each with the reason: {"PortRangeListId",
  // "PortRange takes precedence"}.
  std::vector<std::pair<std::string, std::string>> ignored;
};

Result<ReadRule, RuleProblem> readRule(const RuleFieldMap& fields, const RuleDialect& dialect);

// The port-range check shared with port range lists: nullopt when `text` is a valid range for `protocol`.
std::optional<RuleFault> checkPortRange(std::string_view text, Protocol protocol, std::optional<PortRange>& out);

}  // namespace sgsim
