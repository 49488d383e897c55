#pragma once
// How packets name their protocol and endpoints in every report and in `explain`'s packet syntax.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sgsim/core/ip.h"

namespace sgsim {

// "tcp", "udp", "icmp", "icmpv6", "gre", else the number ("132").
std::string protoName(std::uint8_t proto);
// The inverse for those five names (lowercase); nullopt for anything else.
std::optional<std::uint8_t> protoFromName(std::string_view name);
// TCP and UDP are shown with ports.
bool hasPorts(std::uint8_t proto);
// "10.0.0.5:22", "[2001:db8::5]:22"; for portless protocols the bare address.
std::string endpoint(const IpAddr& a, std::uint16_t port, std::uint8_t proto);

}  // namespace sgsim
