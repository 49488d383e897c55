#pragma once
// `sgsim explain`: one packet walked through the evaluation, for teaching. Stateless: the packet is taken
// as the first of its flow.

#include <optional>
#include <string>

#include "sgsim/core/result.h"
#include "sgsim/verdict/network.h"

namespace sgsim {

// "tcp 203.0.113.7:51514 > 10.0.0.5:22", "udp [2001:db8::1]:53 > [2001:db8::5]:5353",
// "icmp 192.0.2.10 > 10.0.0.5" (optional echo id: "icmp 192.0.2.10 > 10.0.0.5 id 7"), "gre a > b", "proto 132 a > b".
Result<PacketFields> parsePacketSpec(std::string_view text);

struct ExplainOptions {
  std::int32_t eni = -1;            // only this ENI (--host), else every modeled ENI the packet touches
  std::optional<Direction> forced;  // --direction ingress|egress at `eni`
};

// The walk as text; an Error when the packet touches no modeled ENI.
Result<std::string> explainPacket(const Network& net, const PacketFields& p, const ExplainOptions& opt);

}  // namespace sgsim
