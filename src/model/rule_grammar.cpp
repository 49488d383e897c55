// The one rule grammar: see include/sgsim/model/rule_grammar.h. The checks run in the API's order (the order
// src/api/validate.cpp documents for a description): IpProtocol, Policy, Priority, NicType, Description,
// PortRange / PortRangeListId, SourcePortRange, the peer's and the narrowing's CIDRs, the peer itself, then
// the address family against the narrowing, the protocol and the product.

#include "sgsim/model/rule_grammar.h"

#include <algorithm>

#include "sgsim/core/text.h"

namespace sgsim {

namespace {

constexpr RuleWireNames kIngressNames{
    "SourceCidrIp",       "Ipv6SourceCidrIp",   "SourceGroupId", "SourceGroupOwnerAccount",
    "SourceGroupOwnerId", "SourcePrefixListId", "DestCidrIp",    "Ipv6DestCidrIp"};
constexpr RuleWireNames kEgressNames{"DestCidrIp",       "Ipv6DestCidrIp",   "DestGroupId",  "DestGroupOwnerAccount",
                                     "DestGroupOwnerId", "DestPrefixListId", "SourceCidrIp", "Ipv6SourceCidrIp"};

std::string quoted(std::string_view s) { return "\"" + jsonEscape(s) + "\""; }

bool hasPorts(Protocol p) { return p == Protocol::Tcp || p == Protocol::Udp; }

std::size_t utf8Length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

class Reader {
 public:
  Reader(const RuleFieldMap& fields, const RuleDialect& dialect) : fields_(fields), dialect_(dialect) {}

  // The value without surrounding whitespace; nullptr when absent or empty.
  const std::string* get(std::string_view name) {
    auto it = fields_.find(name);
    if (it == fields_.end()) return nullptr;
    auto [slot, fresh] = trimmed_.try_emplace(std::string(name));
    if (fresh) slot->second = std::string(trim(it->second));
    return slot->second.empty() ? nullptr : &slot->second;
  }
  const std::string* raw(std::string_view name) const {
    auto it = fields_.find(name);
    return it == fields_.end() || it->second.empty() ? nullptr : &it->second;
  }
  const RuleDialect& dialect() const { return dialect_; }
  bool document() const { return dialect_.source == RuleSource::Document; }
  bool ens() const { return dialect_.product == Product::Ens; }

 private:
  const RuleFieldMap& fields_;
  const RuleDialect& dialect_;
  std::map<std::string, std::string, std::less<>> trimmed_;
};

RuleProblem problem(RuleFault fault, std::string field, std::string message) {
  return RuleProblem{fault, std::move(field), std::move(message)};
}

const char* protocolList(bool ens) { return ens ? "tcp, udp, icmp, gre or all" : "TCP, UDP, ICMP, ICMPv6, GRE or ALL"; }

std::string portMessage(std::string_view text, Protocol protocol) {
  const auto pr = PortRange::parse(trim(text));
  if (!pr) return quoted(text) + " is not a port range (expected \"from/to\")";
  if (hasPorts(protocol) && pr->isAny())
    return quoted(text) + " is not valid for " + toString(protocol) +
           " (expected \"from/to\" with 1 <= from <= to <= 65535)";
  if (!hasPorts(protocol) && !pr->isAny())
    return quoted(text) + " is not valid for " + toString(protocol) +
           " (only TCP and UDP have ports; expected \"-1/-1\")";
  return quoted(text) + " is not a port range (expected \"from/to\" with 1 <= from <= to <= 65535)";
}

// Reads one CIDR field of the expected family.
std::optional<RuleProblem> readCidr(Reader& f, const char* field, Family family, std::optional<Cidr>& out) {
  out.reset();
  const std::string* text = f.get(field);
  if (!text) return std::nullopt;
  const auto c = Cidr::parse(*text);
  const char* fam = family == Family::V4 ? "an IPv4" : "an IPv6";
  if (!c) return problem(RuleFault::CidrMalformed, field, quoted(*text) + " is not " + fam + " CIDR block");
  if (c->family() != family)
    return problem(RuleFault::CidrWrongFamily, field,
                   quoted(*text) + " is not " + fam + " CIDR block (wrong address family)");
  out = *c;
  return std::nullopt;
}

// Reads an IPv4 / IPv6 pair of fields of which at most one may be set; `usedField` names the one read.
std::optional<RuleProblem> readCidrPair(Reader& f, const char* v4Field, const char* v6Field, std::optional<Cidr>& out,
                                        const char*& usedField) {
  std::optional<Cidr> v4, v6;
  if (auto p = readCidr(f, v4Field, Family::V4, v4)) return p;
  if (auto p = readCidr(f, v6Field, Family::V6, v6)) return p;
  if (v4 && v6)
    return problem(RuleFault::BothFamilies, v6Field,
                   std::string("both ") + v4Field + " and " + v6Field + " are set; a rule is either IPv4 or IPv6");
  out = v4 ? v4 : v6;
  usedField = v4 ? v4Field : v6Field;
  return std::nullopt;
}

}  // namespace

const RuleWireNames& ruleWireNames(Direction d) { return d == Direction::Ingress ? kIngressNames : kEgressNames; }

const std::vector<std::string_view>& ruleFieldNames() {
  static const std::vector<std::string_view> kNames{"IpProtocol",
                                                    "PortRange",
                                                    "PortRangeListId",
                                                    "SourcePortRange",
                                                    "SourceCidrIp",
                                                    "Ipv6SourceCidrIp",
                                                    "SourceGroupId",
                                                    "SourceGroupOwnerAccount",
                                                    "SourceGroupOwnerId",
                                                    "SourcePrefixListId",
                                                    "DestCidrIp",
                                                    "Ipv6DestCidrIp",
                                                    "DestGroupId",
                                                    "DestGroupOwnerAccount",
                                                    "DestGroupOwnerId",
                                                    "DestPrefixListId",
                                                    "Policy",
                                                    "Priority",
                                                    "NicType",
                                                    "Description"};
  return kNames;
}

std::optional<RuleFault> checkPortRange(std::string_view text, Protocol protocol, std::optional<PortRange>& out) {
  out = PortRange::parse(trim(text));
  if (!out) return RuleFault::PortRangeSyntax;
  const auto inRange = [](int p) { return p >= 1 && p <= 65535; };
  if (!(out->isAny() || (inRange(out->from) && inRange(out->to)))) return RuleFault::PortRangeSyntax;
  if (hasPorts(protocol) == out->isAny() || out->from > out->to) return RuleFault::PortRangeForProtocol;
  return std::nullopt;
}

Result<ReadRule, RuleProblem> readRule(const RuleFieldMap& fields, const RuleDialect& dialect) {
  Reader f(fields, dialect);
  ReadRule out;
  Rule& r = out.rule;
  r.direction = dialect.direction;

  // IpProtocol: any letter case, but an ENS request takes the lowercase names only, and ENS has no ICMPv6.
  const std::string* proto = f.get("IpProtocol");
  if (!proto)
    return problem(RuleFault::ProtocolMissing, "IpProtocol",
                   std::string("missing (required: ") + protocolList(f.ens()) + ")");
  const auto p = protocolFromName(*proto);
  const bool ensCase = f.ens() && !f.document() && *proto != toLower(*proto);
  if (!p || ensCase || (f.ens() && *p == Protocol::Icmpv6))
    return problem(RuleFault::ProtocolUnknown, "IpProtocol",
                   quoted(*proto) + " is not " + (f.ens() ? "an ENS protocol" : "a protocol") + " (expected " +
                       protocolList(f.ens()) + ")");
  r.protocol = *p;

  if (const std::string* v = f.get("Policy")) {
    if (iequals(*v, "accept"))
      r.policy = Policy::Accept;
    else if (iequals(*v, "drop"))
      r.policy = Policy::Drop;
    else
      return problem(RuleFault::PolicyInvalid, "Policy", quoted(*v) + " is not a policy (expected accept or drop)");
  }
  if (const std::string* v = f.get("Priority")) {
    const auto n = parseInt(*v);
    if (!n) return problem(RuleFault::PriorityNotInteger, "Priority", quoted(*v) + " is not an integer");
    if (*n < 1 || *n > 100)
      return problem(RuleFault::PriorityOutOfRange, "Priority", *v + " is not a priority (expected 1..100)");
    r.priority = static_cast<int>(*n);
  }
  if (const std::string* v = f.get("NicType")) {
    if (iequals(*v, "internet"))
      out.nicTypeInternet = true;
    else if (!iequals(*v, "intranet"))
      return problem(RuleFault::NicTypeInvalid, "NicType",
                     quoted(*v) + " is not a NIC type (expected intranet or internet)");
  }
  r.nicType = "intranet";  // SEMANTICS §5: internet is read as intranet (VPC groups; classic network is not modeled)
  if (const std::string* v = f.raw("Description")) {
    if (utf8Length(*v) > 512)
      return problem(RuleFault::DescriptionTooLong, "Description",
                     "is " + std::to_string(utf8Length(*v)) + " characters long (at most 512)");
    r.description = *v;
  }

  // PortRange wins over PortRangeListId (SEMANTICS §5). Describe output gives -1/-1 for protocols without ports;
  // a hand-written model may leave it out.
  const std::string* portRange = f.get("PortRange");
  const std::string* portList = f.get("PortRangeListId");
  if (portRange) {
    if (auto fault = checkPortRange(*portRange, r.protocol, r.portRange))
      return problem(*fault, "PortRange", portMessage(*portRange, r.protocol));
    if (portList) out.ignored.emplace_back("PortRangeListId", "PortRange takes precedence");
  } else if (portList) {
    if (!hasPorts(r.protocol))
      return problem(RuleFault::PortListForProtocol, "PortRangeListId",
                     std::string("a port range list needs TCP or UDP, not ") + toString(r.protocol));
    r.portRangeListId = *portList;
  } else if (f.document() && !hasPorts(r.protocol)) {
    r.portRange = PortRange::anyPort();
  } else {
    return problem(RuleFault::PortRangeMissing, "PortRange",
                   hasPorts(r.protocol)
                       ? std::string("missing (required for ") + toString(r.protocol) +
                             ", e.g. \"22/22\", unless PortRangeListId is given)"
                       : std::string("missing (required: \"-1/-1\" for ") + toString(r.protocol) + ")");
  }
  if (const std::string* v = f.get("SourcePortRange")) {
    std::optional<PortRange> spr;
    if (auto fault = checkPortRange(*v, r.protocol, spr))
      return problem(RuleFault::SourcePortRangeInvalid, "SourcePortRange", portMessage(*v, r.protocol));
    r.sourcePortRange = spr;
  }

  const RuleWireNames& k = ruleWireNames(dialect.direction);
  std::optional<Cidr> peerCidr, local;
  const char* peerField = nullptr;
  const char* localField = nullptr;
  if (auto e = readCidrPair(f, k.peerV4, k.peerV6, peerCidr, peerField)) return *e;
  if (auto e = readCidrPair(f, k.localV4, k.localV6, local, localField)) return *e;
  r.local = local;

  // Peer precedence (seed): a CIDR wins over a group (owner fields then unused); a prefix list counts only when
  // no other peer is given.
  const std::string* group = f.get(k.group);
  const std::string* prefixList = f.get(k.prefixList);
  const std::string side = dialect.direction == Direction::Ingress ? "Source" : "Dest";
  if (peerCidr) {
    r.peer.kind = Peer::Kind::Cidr;
    r.peer.cidr = *peerCidr;
    if (group) out.ignored.emplace_back(k.group, side + "CidrIp takes precedence");
  } else if (group) {
    r.peer.kind = Peer::Kind::Group;
    r.peer.groupId = *group;
    if (const std::string* v = f.get(k.groupOwnerAccount)) r.peer.groupOwnerAccount = *v;
    if (const std::string* v = f.get(k.groupOwnerId)) r.peer.groupOwnerId = *v;
  } else if (prefixList) {
    r.peer.kind = Peer::Kind::PrefixList;
    r.peer.prefixListId = *prefixList;
  } else {
    return problem(RuleFault::PeerMissing, "",
                   std::string(toString(dialect.direction)) + " rule has no peer (expected one of " + k.peerV4 + ", " +
                       k.peerV6 + ", " + k.group + ", " + k.prefixList + ")");
  }
  if (prefixList && r.peer.kind != Peer::Kind::PrefixList)
    out.ignored.emplace_back(k.prefixList, "another " + side + " peer is given");

  if (peerCidr && local && peerCidr->family() != local->family())
    return problem(RuleFault::NarrowingFamily, localField,
                   quoted(local->toString()) + " is " + (local->family() == Family::V4 ? "IPv4" : "IPv6") +
                       " but the peer " + peerField + " " + quoted(peerCidr->toString()) +
                       " is not: the narrowing and the peer are of different address families");
  const std::optional<Family> family = peerCidr ? std::optional(peerCidr->family())
                                       : local  ? std::optional(local->family())
                                                : std::nullopt;
  if (family == Family::V6 && r.protocol == Protocol::Icmp)
    return problem(RuleFault::IcmpWithIpv6, "IpProtocol",
                   "ICMP is IPv4 only but the rule's addresses are IPv6 (use ICMPv6)");
  if (family == Family::V4 && r.protocol == Protocol::Icmpv6)
    return problem(RuleFault::Icmpv6WithIpv4, "IpProtocol",
                   "ICMPv6 is IPv6 only but the rule's addresses are IPv4 (use ICMP)");
  if (f.ens() && family == Family::V6)
    return problem(RuleFault::EnsIpv6, peerCidr ? peerField : localField, "ENS security groups are IPv4 only");
  return out;
}

}  // namespace sgsim
