#pragma once
// benchModel (and the modelgen tool): a model with one ENI holding N security-group rules, shaped like a large
// real group rather than a ClassBench set, so that end-to-end runs (docs/PERFORMANCE.md) see the mix users have:
//
// One basic group `sg-bench` (InnerAccessPolicy Accept) on `eni-bench` with address --host. 85% ingress rules
// (peer = SourceCidrIp), 15% egress (peer = DestCidrIp). Protocols TCP 60%, UDP 25%, ICMP 5%, ALL 10%. Ports: a
// well-known service port, a random single port, or a range of up to 1,000 ports. Peers: /32 30%, /24 30%,
// /16 20%, /8..15 15%, 0.0.0.0/0 5% (then never ALL, so the table is not one catch-all). 20% drop, priorities
// 1..100. Quotas.RulesPerEni is raised to N when N > 1,000. Deterministic for a given seed.
// trafficgen --model aims flows at these rules.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>

#include "sgsim/core/ip.h"

namespace sgsim {

// The model document (docs/MODEL_FORMAT.md shapes) with `rules` rules on one ENI at `host` (IPv4).
boost::json::object benchModel(std::size_t rules, const IpAddr& host, std::uint64_t seed);

}  // namespace sgsim
