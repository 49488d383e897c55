#pragma once
// The small web model the pipeline tests replay captures against.

#include <memory>
#include <utility>
#include <vector>

#include "../verdict/test_model.h"
#include "sgsim/verdict/network.h"

namespace sgsim::test {

// eni-web (10.0.0.5) accepts HTTP from anywhere and (withSsh) SSH from 203.0.113.0/24; egress: the basic default.
inline std::shared_ptr<const Network> webNet(bool withSsh) {
  using namespace testing;
  std::vector<Rule> rules{rule("sgr-http", Direction::Ingress, Protocol::Tcp, "80/80", "0.0.0.0/0")};
  if (withSsh) rules.push_back(rule("sgr-ssh", Direction::Ingress, Protocol::Tcp, "22/22", "203.0.113.0/24"));
  Model m;
  m.groups.push_back(group("sg-web", rules));
  m.enis.push_back(eni("eni-web", {"10.0.0.5"}, {"sg-web"}));
  return std::make_shared<Network>(std::move(m));
}

}  // namespace sgsim::test
