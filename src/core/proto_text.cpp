#include "sgsim/core/proto_text.h"

namespace sgsim {

namespace {
constexpr std::pair<const char*, std::uint8_t> kNames[] = {
    {"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"gre", 47}};
}  // namespace

std::string protoName(std::uint8_t proto) {
  for (const auto& [name, number] : kNames)
    if (number == proto) return name;
  return std::to_string(proto);
}

std::optional<std::uint8_t> protoFromName(std::string_view name) {
  for (const auto& [n, number] : kNames)
    if (name == n) return number;
  return std::nullopt;
}

bool hasPorts(std::uint8_t proto) { return proto == 6 || proto == 17; }

std::string endpoint(const IpAddr& a, std::uint16_t port, std::uint8_t proto) {
  if (!hasPorts(proto)) return a.toString();
  return (a.isV4() ? a.toString() : "[" + a.toString() + "]") + ":" + std::to_string(port);
}

}  // namespace sgsim
