#pragma once
// The in-memory network: security groups and their rules, network interfaces (ENIs), prefix lists and
// port range lists, plus the ClientToken record that makes retries idempotent (SEMANTICS §1, §5).
// Plain values: the API layer copies a Model, changes the copy and swaps it in only on success, which
// is how a failed request changes nothing.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/core/ip.h"
#include "sgsim/core/result.h"

namespace boost::json {
class value;
}  // namespace boost::json

namespace sgsim {

enum class Product : std::uint8_t { Ecs, Ens };
enum class Direction : std::uint8_t { Ingress, Egress };
enum class Policy : std::uint8_t { Accept, Drop };
enum class GroupType : std::uint8_t { Normal, Enterprise };
// IANA numbers: TCP 6, UDP 17, ICMP 1, ICMPv6 58, GRE 47; All matches any protocol.
enum class Protocol : std::uint8_t { Tcp, Udp, Icmp, Icmpv6, Gre, All };

const char* toString(Direction d);  // "ingress" / "egress"
const char* toString(Policy p);     // "accept" / "drop"
const char* toString(GroupType t);  // "normal" / "enterprise"
// ECS spelling ("TCP", "ICMPv6", "ALL") or ENS spelling (lowercase).
const char* toString(Protocol p, Product product = Product::Ecs);
// Case-insensitive; nullopt for unknown names.
std::optional<Protocol> protocolFromName(std::string_view name);
// IANA protocol number, or -1 for All.
int protocolNumber(Protocol p);

// The peer of a rule: the remote side (ingress: source; egress: destination).
struct Peer {
  enum class Kind : std::uint8_t { Cidr, Group, PrefixList };
  Kind kind = Kind::Cidr;
  Cidr cidr;                      // Kind::Cidr (IPv4 or IPv6 family tells SourceCidrIp from Ipv6SourceCidrIp)
  std::string groupId;            // Kind::Group
  std::string groupOwnerAccount;  // Kind::Group, informational
  std::string groupOwnerId;       // Kind::Group, informational
  std::string prefixListId;       // Kind::PrefixList

  bool operator==(const Peer&) const = default;
};

struct Rule {
  std::string id;  // "sgr-…"; ENS rules get a stable generated id (see model/ids)
  Direction direction = Direction::Ingress;
  Protocol protocol = Protocol::All;
  // Destination ports. Exactly one of portRange / portRangeListId is set.
  std::optional<PortRange> portRange;
  std::string portRangeListId;
  std::optional<PortRange> sourcePortRange;  // absent = any
  Peer peer;
  // Five-tuple narrowing of the group's own side: ingress DestCidrIp/Ipv6DestCidrIp,
  // egress SourceCidrIp/Ipv6SourceCidrIp.
  std::optional<Cidr> local;
  Policy policy = Policy::Accept;
  int priority = 1;  // 1..100, smaller wins
  std::string nicType = "intranet";
  std::string description;
  std::string createTime;

  bool operator==(const Rule&) const = default;
};

struct SecurityGroup {
  std::string id;
  std::string name;
  std::string description;
  std::string vpcId;
  std::string regionId;
  GroupType type = GroupType::Normal;
  Product product = Product::Ecs;
  Policy innerAccessPolicy = Policy::Accept;  // basic groups only
  std::vector<Rule> rules;                    // both directions, in the group's list order

  bool operator==(const SecurityGroup&) const = default;
};

// Connection-tracking timeouts in seconds (CreateNetworkInterface ConnectionTrackingConfiguration;
// SEMANTICS §4). `other` covers ICMP and every protocol that is neither TCP nor UDP.
struct Timeouts {
  std::uint32_t tcpEstablished = 910;
  std::uint32_t tcpClosing = 3;  // after RST, or after a FIN from each side
  std::uint32_t udp = 30;
  std::uint32_t other = 30;
  bool operator==(const Timeouts&) const = default;
};

struct Eni {
  std::string id;
  std::vector<IpAddr> addresses;      // IPv4 then IPv6, as listed
  std::vector<std::string> groupIds;  // evaluation tie order (SEMANTICS §3)
  Timeouts timeouts;

  bool operator==(const Eni&) const = default;
};

struct PrefixList {
  std::string id;
  std::string name;
  Family family = Family::V4;
  std::vector<Cidr> entries;
  bool operator==(const PrefixList&) const = default;
};

struct PortRangeList {
  std::string id;
  std::string name;
  std::vector<PortRange> entries;
  bool operator==(const PortRangeList&) const = default;
};

// Documented limits, as settings (SEMANTICS §5, issue 2).
struct Quotas {
  int rulesPerEni = 1000;
  int groupsPerEni = 10;
  int referencedGroupsPerGroup = 20;
  bool operator==(const Quotas&) const = default;
};

// A remembered ClientToken: the canonical parameters of the first request and its response.
struct TokenRecord {
  std::string paramsDigest;  // canonical form of the request's parameters (everything but ClientToken)
  std::string responseJson;  // the response body returned the first time
  int httpStatus = 200;
  bool operator==(const TokenRecord&) const = default;
};

// Where a model came from, kept beside its meaning: the user's own JSON document (so that a written model keeps
// every field sgsim does not change, in the user's order), the name errors and warnings lead with, and the
// warnings the loader gave (unknown fields under --allow-unknown-fields, …). Provenance does not take part in
// a model's equality: two models that decide every packet and request alike are equal.
struct ModelSource {
  std::shared_ptr<const boost::json::value> document;  // null for a model built in code
  std::string name;                                    // "model.json", "<stdin>"
  bool bare = false;                                   // a single DescribeSecurityGroupAttribute document (+ --host)
  std::vector<Error> warnings;                         // from loading, in document order
  bool operator==(const ModelSource&) const { return true; }
};

struct Model {
  std::vector<SecurityGroup> groups;
  std::vector<Eni> enis;
  std::vector<PrefixList> prefixLists;
  std::vector<PortRangeList> portRangeLists;
  Quotas quotas;
  std::map<std::string, TokenRecord> clientTokens;  // key: Product + action + token
  std::uint64_t requestCounter = 0;                 // feeds deterministic RequestIds
  ModelSource source;

  SecurityGroup* findGroup(std::string_view id);
  const SecurityGroup* findGroup(std::string_view id) const;
  const Eni* findEni(std::string_view id) const;
  const PrefixList* findPrefixList(std::string_view id) const;
  const PortRangeList* findPortRangeList(std::string_view id) const;
  // Ids referenced by any rule (SourceGroupId/DestGroupId, prefix lists, port lists): a bare Describe
  // document names groups it does not contain, and those exist for "not found" purposes (SEMANTICS §5).
  bool isReferencedGroup(std::string_view id) const;
  bool isReferencedPrefixList(std::string_view id) const;
  bool isReferencedPortRangeList(std::string_view id) const;
  // ENIs that are members of a group, in model order.
  std::vector<const Eni*> membersOf(std::string_view groupId) const;

  bool operator==(const Model&) const = default;
};

// A rule that names something the model does not hold: a group peer, a prefix list or a port range list. Such a
// rule matches no traffic (its peer has no known members or entries), which the cloud would not do: the loader and
// every command warn about each one (issue 8), and `--strict` refuses them.
struct DanglingReference {
  std::size_t group = 0, rule = 0;  // indexes into Model::groups and that group's rules
  const char* field = "";           // wire name of the rule field ("SourceGroupId", "DestPrefixListId", …)
  std::string id;                   // the missing object's id
  std::string message;              // "prefix list pl-office is not in the model: …"
};
std::vector<DanglingReference> danglingReferences(const Model& model);

}  // namespace sgsim
