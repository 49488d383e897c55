#pragma once
// A small network built in C++ (the JSON loader is a separate stage): one basic web group with rules of
// every peer kind, its neighbours in and out of its VPC, an enterprise group and an ENS group.

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "sgsim/api/engine.h"
#include "sgsim/api/request.h"
#include "sgsim/model/model.h"

namespace sgsim::test {

inline Rule cidrRule(std::string id, Direction dir, Protocol p, std::string ports, std::string peer, int priority = 1,
                     Policy policy = Policy::Accept) {
  Rule r;
  r.id = std::move(id);
  r.direction = dir;
  r.protocol = p;
  r.portRange = *PortRange::parse(ports);
  r.peer.kind = Peer::Kind::Cidr;
  r.peer.cidr = *Cidr::parse(peer);
  r.priority = priority;
  r.policy = policy;
  return r;
}

inline SecurityGroup group(std::string id, std::string vpc, GroupType type = GroupType::Normal,
                           Product product = Product::Ecs) {
  SecurityGroup g;
  g.id = std::move(id);
  g.vpcId = std::move(vpc);
  g.type = type;
  g.product = product;
  return g;
}

inline Model makeModel() {
  Model m;
  auto web = group("sg-web", "vpc-1");
  web.rules.push_back(cidrRule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "10.0.0.0/8"));
  web.rules.push_back(cidrRule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "10.0.0.0/8"));
  web.rules.push_back(cidrRule("sgr-tls2", Direction::Ingress, Protocol::Tcp, "443/443", "10.0.0.0/8", 2));
  web.rules.push_back(cidrRule("sgr-v6", Direction::Ingress, Protocol::Tcp, "22/22", "2001:db8::/32"));
  Rule grp = cidrRule("sgr-grp", Direction::Ingress, Protocol::All, "-1/-1", "0.0.0.0/0");
  grp.peer = Peer{};
  grp.peer.kind = Peer::Kind::Group;
  grp.peer.groupId = "sg-app";
  web.rules.push_back(grp);
  Rule pl = cidrRule("sgr-pl", Direction::Ingress, Protocol::Tcp, "8080/8080", "0.0.0.0/0");
  pl.peer = Peer{};
  pl.peer.kind = Peer::Kind::PrefixList;
  pl.peer.prefixListId = "pl-office";
  web.rules.push_back(pl);
  Rule prl = cidrRule("sgr-prl", Direction::Ingress, Protocol::Tcp, "1/1", "192.168.0.0/16");
  prl.portRange.reset();
  prl.portRangeListId = "prl-web";
  web.rules.push_back(prl);
  Rule ext = cidrRule("sgr-ext", Direction::Ingress, Protocol::Tcp, "5432/5432", "0.0.0.0/0");
  ext.peer = Peer{};
  ext.peer.kind = Peer::Kind::Group;
  ext.peer.groupId = "sg-elsewhere";  // named by a rule, not in the model (a bare Describe document)
  web.rules.push_back(ext);
  web.rules.push_back(cidrRule("sgr-out", Direction::Egress, Protocol::All, "-1/-1", "0.0.0.0/0"));
  web.rules.push_back(cidrRule("sgr-dns", Direction::Egress, Protocol::Udp, "53/53", "10.0.0.2/32"));
  m.groups.push_back(web);
  m.groups.push_back(group("sg-app", "vpc-1"));
  m.groups.push_back(group("sg-other", "vpc-2"));
  auto ent = group("sg-ent", "vpc-1", GroupType::Enterprise);
  ent.rules.push_back(cidrRule("sgr-ent", Direction::Ingress, Protocol::Tcp, "22/22", "10.0.0.0/8"));
  m.groups.push_back(ent);
  auto ens = group("sg-ens", "", GroupType::Normal, Product::Ens);
  ens.rules.push_back(cidrRule("sgr-ens-in", Direction::Ingress, Protocol::Tcp, "22/22", "10.0.0.0/8"));
  ens.rules.push_back(cidrRule("sgr-ens-out", Direction::Egress, Protocol::Tcp, "22/22", "10.0.0.0/8"));
  m.groups.push_back(ens);

  PrefixList office;
  office.id = "pl-office";
  office.entries.push_back(*Cidr::parse("198.51.100.0/24"));
  m.prefixLists.push_back(office);
  PortRangeList webPorts;
  webPorts.id = "prl-web";
  webPorts.entries = {*PortRange::parse("80/80"), *PortRange::parse("443/443")};
  m.portRangeLists.push_back(webPorts);

  Eni eni;
  eni.id = "eni-web";
  eni.addresses.push_back(*IpAddr::parse("10.0.0.5"));
  eni.groupIds = {"sg-web"};
  m.enis.push_back(eni);
  return m;
}

using Params = std::vector<std::pair<std::string, std::string>>;

inline ApiRequest request(std::string action, Params params, Product product = Product::Ecs) {
  ApiRequest r;
  r.product = product;
  r.action = std::move(action);
  r.params = std::move(params);
  return r;
}

inline const Rule* findRule(const Model& m, const std::string& id) {
  for (const auto& g : m.groups)
    for (const auto& r : g.rules)
      if (r.id == id) return &r;
  return nullptr;
}

// Parses a request the way a user would paste it and applies it.
inline ApiOutcome run(Model& m, const std::string& text) {
  auto req = parseRequest(text);
  EXPECT_TRUE(req.ok()) << req.error().toString();
  return req.ok() ? applyRequest(m, *req) : ApiOutcome{};
}

}  // namespace sgsim::test
