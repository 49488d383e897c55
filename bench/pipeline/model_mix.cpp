// The rule mix of modelgen (see model_mix.h).

#include "model_mix.h"

#include <cstdio>
#include <iterator>
#include <string>

#include "bench_rng.h"

namespace sgsim {
namespace {

constexpr std::uint16_t kServicePorts[] = {22,   25,   53,   80,   123,  443,  445,  1433,
                                           3306, 3389, 5432, 6379, 8080, 8443, 9092, 27017};

std::string randomPeer(BenchRng& rng, bool& isAny) {
  const std::uint32_t roll = rng.below(100);
  int prefix = 32;
  if (roll < 30)
    prefix = 32;
  else if (roll < 60)
    prefix = 24;
  else if (roll < 80)
    prefix = 16;
  else if (roll < 95)
    prefix = 8 + static_cast<int>(rng.below(8));
  else
    prefix = 0;
  isAny = prefix == 0;
  // Remote space avoids 10.0.0.0/8, where the ENI lives.
  std::uint32_t base = static_cast<std::uint32_t>(rng.next());
  if ((base >> 24) == 10) base ^= 0x40000000u;
  return Cidr::of(IpAddr::v4(base), prefix).toString();
}

boost::json::object randomRule(BenchRng& rng, std::size_t index) {
  boost::json::object r;
  char id[32];
  std::snprintf(id, sizeof id, "sgr-bench%06zu", index);
  r["SecurityGroupRuleId"] = id;
  const bool ingress = rng.below(100) < 85;
  r["Direction"] = ingress ? "ingress" : "egress";
  bool anyPeer = false;
  const std::string peer = randomPeer(rng, anyPeer);
  r[ingress ? "SourceCidrIp" : "DestCidrIp"] = peer;
  std::uint32_t proto = rng.below(100);
  if (anyPeer && proto >= 90) proto = 0;  // no ALL from everywhere: that would decide every packet
  const char* name = proto < 60 ? "TCP" : proto < 85 ? "UDP" : proto < 90 ? "ICMP" : "ALL";
  r["IpProtocol"] = name;
  std::string ports = "-1/-1";
  if (proto < 85) {
    const std::uint32_t kind = rng.below(100);
    if (kind < 50) {
      const std::uint16_t p = kServicePorts[rng.below(std::size(kServicePorts))];
      ports = std::to_string(p) + "/" + std::to_string(p);
    } else if (kind < 80) {
      const std::uint32_t p = 1024 + rng.below(64000);
      ports = std::to_string(p) + "/" + std::to_string(p);
    } else {
      const std::uint32_t lo = 1024 + rng.below(63000);
      ports = std::to_string(lo) + "/" + std::to_string(lo + 1 + rng.below(1000));
    }
  }
  r["PortRange"] = ports;
  r["Policy"] = rng.below(100) < 20 ? "Drop" : "Accept";
  r["Priority"] = std::to_string(1 + rng.below(100));
  r["NicType"] = "intranet";
  return r;
}

}  // namespace

boost::json::object benchModel(std::size_t rules, const IpAddr& host, std::uint64_t seed) {
  BenchRng rng(seed);
  boost::json::array perms;
  for (std::size_t i = 0; i < rules; ++i) perms.push_back(randomRule(rng, i));
  boost::json::object group{{"SecurityGroupId", "sg-bench"},
                            {"SecurityGroupName", "bench"},
                            {"VpcId", "vpc-bench"},
                            {"RegionId", "cn-hangzhou"},
                            {"SecurityGroupType", "normal"},
                            {"InnerAccessPolicy", "Accept"},
                            {"Permissions", boost::json::object{{"Permission", std::move(perms)}}}};
  boost::json::object eni{
      {"NetworkInterfaceId", "eni-bench"},
      {"PrivateIpAddress", host.toString()},
      {"SecurityGroupIds", boost::json::object{{"SecurityGroupId", boost::json::array{"sg-bench"}}}}};
  boost::json::object model{{"SecurityGroups", boost::json::array{std::move(group)}},
                            {"NetworkInterfaces", boost::json::array{std::move(eni)}}};
  if (rules > 1000)
    model["Quotas"] =
        boost::json::object{{"RulesPerEni", rules}, {"GroupsPerEni", 10}, {"ReferencedGroupsPerGroup", 20}};
  return model;
}

}  // namespace sgsim
