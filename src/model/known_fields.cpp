// The one table of the keys a model document may hold (docs/MODEL_FORMAT.md), and the walk that checks them.
//
// Each object kind lists first the keys sgsim reads, then the documented keys it keeps but does not use, with
// the API reference page each list comes from (Alibaba Cloud API reference, ECS 2014-05-26 and ENS 2017-11-10;
// the lists were checked against the response models of the SDKs generated from the same API metadata). The
// order matters only for "did you mean": on a tie the earlier key is suggested.

#include "known_fields.h"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <initializer_list>
#include <span>
#include <string_view>
#include <utility>

#include "sgsim/core/text.h"

namespace sgsim::detail {

namespace json = boost::json;

namespace {

struct ObjectKind {
  const char* what;  // "a security group rule": names the kind in a message
  std::vector<std::string_view> keys;
  boost::unordered_flat_set<std::string_view> set;

  ObjectKind(const char* w, std::initializer_list<std::span<const std::string_view>> lists) : what(w) {
    for (const auto& l : lists)
      for (std::string_view k : l)
        if (set.insert(k).second) keys.push_back(k);
  }
  bool knows(std::string_view key) const { return set.contains(key); }
  // What the message says after "unknown field of <what>": the known keys when they are few.
  std::string help() const {
    if (keys.size() > 7) return "docs/MODEL_FORMAT.md lists the fields sgsim knows";
    std::string out = "expected ";
    for (std::size_t i = 0; i < keys.size(); ++i)
      out += (i == 0 ? "" : i + 1 == keys.size() ? " or " : ", ") + std::string(keys[i]);
    return out;
  }
};

// ---- the table ---------------------------------------------------------------------------------------------

// A security group: one DescribeSecurityGroupAttribute response, or one item of DescribeSecurityGroups.
constexpr std::string_view kGroupRead[] = {
    "SecurityGroupId", "SecurityGroupName", "Description", "VpcId", "RegionId", "SecurityGroupType",
    "InnerAccessPolicy", "Product", "Permissions",
    // Older DescribeSecurityGroupAttribute output; read when InnerAccessPolicy is absent.
    "InnerAccessControlPolicy"};
// ECS DescribeSecurityGroupAttribute, response parameters
// (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describesecuritygroupattribute)
constexpr std::string_view kEcsAttributeUnused[] = {"RequestId", "NextToken", "SnapshotPolicyIds"};
// ECS DescribeSecurityGroups, SecurityGroups.SecurityGroup[]
// (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describesecuritygroups)
constexpr std::string_view kEcsGroupsUnused[] = {
    "CreationTime", "ResourceGroupId",         "Tags",      "ServiceManaged",       "ServiceID",
    "EcsCount",     "AvailableInstanceAmount", "RuleCount", "GroupToGroupRuleCount"};
// ENS DescribeSecurityGroupAttribute (RequestId, Description, SecurityGroupId, SecurityGroupName, Permissions)
// (https://www.alibabacloud.com/help/en/ens/developer-reference/api-ens-2017-11-10-describesecuritygroupattribute)
// and ENS DescribeSecurityGroups, SecurityGroups.SecurityGroup[]
// (https://www.alibabacloud.com/help/en/ens/developer-reference/api-ens-2017-11-10-describesecuritygroups)
constexpr std::string_view kEnsGroupsUnused[] = {"CreationTime", "InstanceCount", "InstanceIds", "NetworkInterfaceIds"};
// sgsim's own keys of a bare DescribeSecurityGroupAttribute document (MODEL_FORMAT.md).
constexpr std::string_view kBareExtras[] = {"Quotas", "ClientTokens", "RequestCounter"};

// A rule: ECS DescribeSecurityGroupAttribute Permissions.Permission[] (page above); ENS rules are a subset
// plus CreationTime.
constexpr std::string_view kRuleRead[] = {
    "SecurityGroupRuleId", "Direction", "IpProtocol", "PortRange", "PortRangeListId", "SourcePortRange", "SourceCidrIp",
    "Ipv6SourceCidrIp", "SourceGroupId", "SourceGroupOwnerAccount", "SourcePrefixListId", "DestCidrIp",
    "Ipv6DestCidrIp", "DestGroupId", "DestGroupOwnerAccount", "DestPrefixListId", "Policy", "Priority", "NicType",
    "Description", "CreateTime", "CreationTime",
    // Older Describe output names the owner of a group peer by id as well; read, informational.
    "SourceGroupOwnerId", "DestGroupOwnerId"};
constexpr std::string_view kRuleUnused[] = {"SourceGroupName", "DestGroupName", "SourcePrefixListName",
                                            "DestPrefixListName", "PortRangeListName"};

// A network interface: ECS DescribeNetworkInterfaces, NetworkInterfaceSets.NetworkInterfaceSet[]
// (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describenetworkinterfaces).
constexpr std::string_view kEniRead[] = {
    "NetworkInterfaceId", "PrivateIpAddress", "PrivateIpSets", "Ipv6Sets", "SecurityGroupIds",
    // DescribeNetworkInterfaceAttribute with Attribute=connectionTrackingConfiguration (+ sgsim's OtherTimeout).
    "ConnectionTrackingConfiguration"};
constexpr std::string_view kEcsEniUnused[] = {"AssociatedPublicIp",
                                              "Attachment",
                                              "CreationTime",
                                              "DeleteOnRelease",
                                              "Description",
                                              "InstanceId",
                                              "Ipv4PrefixSets",
                                              "Ipv6PrefixSets",
                                              "MacAddress",
                                              "NetworkInterfaceName",
                                              "NetworkInterfaceTrafficMode",
                                              "OwnerId",
                                              "QueueNumber",
                                              "QueuePairNumber",
                                              "ResourceGroupId",
                                              "ServiceID",
                                              "ServiceManaged",
                                              "SourceDestCheck",
                                              "Status",
                                              "Tags",
                                              "Type",
                                              "VSwitchId",
                                              "VpcId",
                                              "ZoneId"};
// ECS DescribeNetworkInterfaceAttribute, the keys it has beyond DescribeNetworkInterfaces
// (https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describenetworkinterfaceattribute)
constexpr std::string_view kEcsEniAttributeUnused[] = {
    "BondInterfaceSpecification",  "EnhancedNetwork",        "NetworkInterfaceTrafficConfig", "QoSConfig", "RequestId",
    "SlaveInterfaceSpecification", "TcpOptionAddressEnabled"};
// ENS DescribeNetworkInterfaces, NetworkInterfaceSets.NetworkInterfaceSet[], the keys it has beyond ECS's
// (https://www.alibabacloud.com/help/en/ens/developer-reference/api-ens-2017-11-10-describenetworkinterfaces)
constexpr std::string_view kEnsEniUnused[] = {"EnsRegionId", "NetworkId", "PrimaryIp", "PrimaryIpType"};

// A prefix list: ECS DescribePrefixListAttributes (with its Entries) and DescribePrefixLists,
// PrefixLists.PrefixList[] (ECS API reference, 2014-05-26).
constexpr std::string_view kPrefixListRead[] = {"PrefixListId", "PrefixListName", "AddressFamily", "Entries"};
constexpr std::string_view kPrefixListUnused[] = {"Description",     "CreationTime", "MaxEntries", "AssociationCount",
                                                  "ResourceGroupId", "Tags",         "RequestId"};

// A port range list: ECS DescribePortRangeLists, PortRangeLists[], with the Entries[] of
// DescribePortRangeListEntries (ECS API reference, 2014-05-26).
constexpr std::string_view kPortListRead[] = {"PortRangeListId", "PortRangeListName", "Entries"};
constexpr std::string_view kPortListUnused[] = {"Description",     "CreationTime", "MaxEntries", "AssociationCount",
                                                "ResourceGroupId", "Tags",         "RequestId"};

// sgsim's own objects (MODEL_FORMAT.md).
constexpr std::string_view kTopKeys[] = {"SecurityGroups", "NetworkInterfaces", "PrefixLists",   "PortRangeLists",
                                         "Quotas",         "ClientTokens",      "RequestCounter"};
constexpr std::string_view kQuotaKeys[] = {"RulesPerEni", "GroupsPerEni", "ReferencedGroupsPerGroup"};
constexpr std::string_view kTokenKeys[] = {"ParamsDigest", "Response", "HttpStatus"};

// PrivateIpSets.PrivateIpSet[] and Ipv6Sets.Ipv6Set[] items (DescribeNetworkInterfaces, page above).
constexpr std::string_view kPrivateIpKeys[] = {"PrivateIpAddress", "Primary", "PrivateDnsName", "AssociatedPublicIp"};
constexpr std::string_view kIpv6Keys[] = {"Ipv6Address"};
// ConnectionTrackingConfiguration (DescribeNetworkInterfaceAttribute, page above) and sgsim's OtherTimeout.
constexpr std::string_view kTrackingKeys[] = {"TcpEstablishedTimeout", "TcpClosedAndTimeWaitTimeout", "UdpTimeout",
                                              "OtherTimeout"};
// Entries.Entry[] of DescribePrefixListAttributes; Entries[] of DescribePortRangeListEntries.
constexpr std::string_view kPrefixEntryKeys[] = {"Cidr", "Description"};
constexpr std::string_view kPortEntryKeys[] = {"PortRange", "Description"};

struct Table {
  ObjectKind top{"the model", {kTopKeys}};
  ObjectKind bare{"a DescribeSecurityGroupAttribute document",
                  {kGroupRead, kEcsAttributeUnused, kEcsGroupsUnused, kEnsGroupsUnused, kBareExtras}};
  ObjectKind group{"a security group", {kGroupRead, kEcsAttributeUnused, kEcsGroupsUnused, kEnsGroupsUnused}};
  ObjectKind rule{"a security group rule", {kRuleRead, kRuleUnused}};
  ObjectKind eni{"a network interface", {kEniRead, kEcsEniUnused, kEcsEniAttributeUnused, kEnsEniUnused}};
  ObjectKind privateIp{"a PrivateIpSet entry", {kPrivateIpKeys}};
  ObjectKind ipv6{"an Ipv6Set entry", {kIpv6Keys}};
  ObjectKind tracking{"ConnectionTrackingConfiguration", {kTrackingKeys}};
  ObjectKind prefixList{"a prefix list", {kPrefixListRead, kPrefixListUnused}};
  ObjectKind prefixEntry{"a prefix list entry", {kPrefixEntryKeys}};
  ObjectKind portList{"a port range list", {kPortListRead, kPortListUnused}};
  ObjectKind portEntry{"a port range list entry", {kPortEntryKeys}};
  ObjectKind quotas{"Quotas", {kQuotaKeys}};
  ObjectKind token{"a ClientTokens record", {kTokenKeys}};
};

const Table& table() {
  static const Table t;
  return t;
}

// ---- the walk ----------------------------------------------------------------------------------------------

std::string member(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

class Walker {
 public:
  std::vector<FieldNote> notes;

  // Notes the unknown keys of `o` and calls descend(key, value) for the known ones, in document order.
  template <class Descend>
  void object(const json::object& o, const std::string& path, const ObjectKind& kind, Descend&& descend) {
    for (const auto& kv : o) {
      const std::string_view key(kv.key());
      if (kind.knows(key)) {
        descend(key, kv.value());
        continue;
      }
      if (&kind == &table().bare && table().top.knows(key)) {
        // A bare document is one group: the lists of a full model cannot sit beside it.
        notes.push_back({FieldNote::Kind::Unknown, member(path, key),
                         "not a field of a DescribeSecurityGroupAttribute document (one with \"SecurityGroupId\" "
                         "at the top is a single group; a full model lists its groups in \"SecurityGroups\" "
                         "beside \"" +
                             std::string(key) + "\", see docs/MODEL_FORMAT.md)"});
        continue;
      }
      const std::string near = nearestName(key, kind.keys);
      notes.push_back({FieldNote::Kind::Unknown, member(path, key),
                       near.empty() ? "unknown field of " + std::string(kind.what) + " (" + kind.help() + ")"
                                    : "unknown field (did you mean \"" + near + "\"?)"});
    }
  }
  void leaf(const json::object& o, const std::string& path, const ObjectKind& kind) {
    object(o, path, kind, [](std::string_view, const json::value&) {});
  }

  // The items of a list given as a plain array or (when `inners` is not empty) wrapped as {"<inner>": [...]},
  // as the loader reads it; unknown keys of the wrapper are noted.
  template <class Each>
  void list(const json::value& v, std::string_view key, std::initializer_list<std::string_view> inners,
            const std::string& at, Each&& each) {
    if (v.is_array()) {
      items(v.get_array(), at, each);
      return;
    }
    if (!v.is_object() || inners.size() == 0) return;
    const json::object& wrapper = v.get_object();
    for (const auto& kv : wrapper) {
      const std::string_view k(kv.key());
      if (std::find(inners.begin(), inners.end(), k) != inners.end()) {
        if (kv.value().is_array()) items(kv.value().get_array(), member(at, k), each);
        continue;
      }
      const std::string near = nearestName(k, inners);
      std::string expected;
      for (std::string_view in : inners) expected += (expected.empty() ? "" : " or ") + quoted(in);
      notes.push_back({FieldNote::Kind::Unknown, member(at, k),
                       near.empty() ? "unknown field of the " + std::string(key) + " list (expected " + expected + ")"
                                    : "unknown field (did you mean \"" + near + "\"?)"});
    }
  }

  void group(const json::object& o, const std::string& path, const ObjectKind& kind) {
    const Table& t = table();
    object(o, path, kind, [&](std::string_view key, const json::value& v) {
      const std::string at = member(path, key);
      if (key == "Permissions")
        list(v, key, {"Permission"}, at, [&](const json::object& r, const std::string& p) { leaf(r, p, t.rule); });
      else if (key == "Quotas" && v.is_object())
        leaf(v.get_object(), at, t.quotas);
      else if (key == "ClientTokens")
        tokens(v, at);
    });
  }

  void eni(const json::object& o, const std::string& path) {
    const Table& t = table();
    object(o, path, t.eni, [&](std::string_view key, const json::value& v) {
      const std::string at = member(path, key);
      if (key == "PrivateIpSets") {
        list(v, key, {"PrivateIpSet"}, at,
             [&](const json::object& s, const std::string& p) { leaf(s, p, t.privateIp); });
      } else if (key == "Ipv6Sets") {
        list(v, key, {"Ipv6Set"}, at, [&](const json::object& s, const std::string& p) { leaf(s, p, t.ipv6); });
      } else if (key == "SecurityGroupIds") {
        list(v, key, {"SecurityGroupId", "SecurityGroup"}, at, [](const json::object&, const std::string&) {});
      } else if (key == "ConnectionTrackingConfiguration" && v.is_object()) {
        leaf(v.get_object(), at, t.tracking);
      } else if (key == "Ipv4PrefixSets" || key == "Ipv6PrefixSets") {
        // Delegated prefixes give the interface more addresses than the ones sgsim reads.
        bool any = false;
        const bool v4 = key == "Ipv4PrefixSets";
        if (v.is_array()) any = !v.get_array().empty();
        if (const json::value* in =
                v.is_object() ? v.get_object().if_contains(v4 ? "Ipv4PrefixSet" : "Ipv6PrefixSet") : nullptr;
            in != nullptr && in->is_array())
          any = !in->get_array().empty();
        if (any)
          notes.push_back({FieldNote::Kind::NotModeled, at,
                           "the addresses of these prefixes are not taken as this interface's (sgsim reads "
                           "PrivateIpAddress, PrivateIpSets and Ipv6Sets): traffic to or from them is evaluated as "
                           "traffic of an address outside the model"});
      }
    });
  }

  void tokens(const json::value& v, const std::string& at) {
    if (!v.is_object()) return;
    for (const auto& kv : v.get_object())
      if (kv.value().is_object()) leaf(kv.value().get_object(), member(at, kv.key()), table().token);
  }

  void root(const json::object& o) {
    const Table& t = table();
    if (!o.contains("SecurityGroups") && o.contains("SecurityGroupId")) {
      group(o, "", t.bare);
      return;
    }
    object(o, "", t.top, [&](std::string_view key, const json::value& v) {
      const std::string at(key);
      if (key == "SecurityGroups") {
        list(v, key, {}, at, [&](const json::object& g, const std::string& p) { group(g, p, t.group); });
      } else if (key == "NetworkInterfaces") {
        list(v, key, {}, at, [&](const json::object& e, const std::string& p) { eni(e, p); });
      } else if (key == "PrefixLists") {
        list(v, key, {}, at, [&](const json::object& pl, const std::string& p) {
          object(pl, p, t.prefixList, [&](std::string_view k, const json::value& entries) {
            if (k == "Entries")
              list(entries, k, {"Entry"}, member(p, k),
                   [&](const json::object& e, const std::string& ep) { leaf(e, ep, t.prefixEntry); });
          });
        });
      } else if (key == "PortRangeLists") {
        list(v, key, {}, at, [&](const json::object& prl, const std::string& p) {
          object(prl, p, t.portList, [&](std::string_view k, const json::value& entries) {
            if (k == "Entries")
              list(entries, k, {"Entry"}, member(p, k),
                   [&](const json::object& e, const std::string& ep) { leaf(e, ep, t.portEntry); });
          });
        });
      } else if (key == "Quotas" && v.is_object()) {
        leaf(v.get_object(), at, t.quotas);
      } else if (key == "ClientTokens") {
        tokens(v, at);
      }
    });
  }

 private:
  template <class Each>
  static void items(const json::array& arr, const std::string& at, Each& each) {
    for (std::size_t i = 0; i < arr.size(); ++i)
      if (arr[i].is_object()) each(arr[i].get_object(), at + "[" + std::to_string(i) + "]");
  }
  static std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }
};

}  // namespace

std::vector<FieldNote> checkFields(const json::value& document) {
  Walker w;
  if (document.is_object()) w.root(document.get_object());
  return std::move(w.notes);
}

}  // namespace sgsim::detail
