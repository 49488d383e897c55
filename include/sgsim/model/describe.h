#pragma once
// The one-line human summary of a rule that every report prints, so that a rule reads the same in
// `show`, `explain`, what-if reports and API messages.

#include <string>

#include "sgsim/model/model.h"

namespace sgsim {

// "sgr-ssh ingress TCP 22/22 from 203.0.113.0/24 accept prio 1". Egress says "to"; a source port range adds
// "sport 1024/65535"; a port range list prints its id ("ports prl-web"); the five-tuple narrowing adds
// "at 10.0.0.5/32"; group and prefix-list peers print "group sg-x" and "prefix list pl-x".
std::string describeRule(const Rule& rule, Product product);

// The peer alone, as describeRule prints it ("203.0.113.0/24", "group sg-x", "prefix list pl-x").
std::string describePeer(const Peer& peer);

// Destination ports alone ("22/22", "-1/-1", "ports prl-web").
std::string describePorts(const Rule& rule);

}  // namespace sgsim
