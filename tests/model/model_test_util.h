#pragma once
// A small valid model the model tests mutate one field at a time, so that each test names only what it
// breaks.

#include <boost/json.hpp>
#include <functional>
#include <string>

namespace sgsim::testing {

inline const char* kBaseModel = R"({
  "SecurityGroups": [
    { "SecurityGroupId": "sg-web", "VpcId": "vpc-1", "SecurityGroupType": "normal", "InnerAccessPolicy": "Accept",
      "Permissions": { "Permission": [
        { "SecurityGroupRuleId": "sgr-ssh", "Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22",
          "SourceCidrIp": "203.0.113.0/24", "Policy": "Accept", "Priority": "1", "NicType": "intranet",
          "Description": "office ssh", "CreateTime": "2024-05-01T08:00:00Z" },
        { "SecurityGroupRuleId": "sgr-out", "Direction": "egress", "IpProtocol": "ALL", "PortRange": "-1/-1",
          "DestCidrIp": "0.0.0.0/0", "Policy": "Accept", "Priority": 100 }
      ]}
    },
    { "SecurityGroupId": "sg-ent", "SecurityGroupType": "enterprise", "Permissions": [] }
  ],
  "NetworkInterfaces": [
    { "NetworkInterfaceId": "eni-web", "PrivateIpAddress": "10.0.0.5",
      "Ipv6Sets": { "Ipv6Set": [ { "Ipv6Address": "2001:db8::5" } ] },
      "SecurityGroupIds": { "SecurityGroupId": [ "sg-web" ] } }
  ]
})";

// The base model with `edit` applied to its parsed form, printed back to text.
inline std::string editedModel(const std::function<void(boost::json::object&)>& edit) {
  boost::json::value v = boost::json::parse(kBaseModel);
  edit(v.as_object());
  return boost::json::serialize(v);
}

inline boost::json::object& ruleOf(boost::json::object& root, std::size_t group, std::size_t rule) {
  auto& g = root["SecurityGroups"].as_array()[group].as_object();
  auto& perms = g["Permissions"];
  auto& list = perms.is_object() ? perms.as_object()["Permission"].as_array() : perms.as_array();
  return list[rule].as_object();
}

}  // namespace sgsim::testing
