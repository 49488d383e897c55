#pragma once
// Small formatting pieces every report shares, so that text, JSON Lines and CSV name things alike.

#include <cstdint>
#include <string>

#include "sgsim/core/ip.h"
#include "sgsim/core/proto_text.h"  // protoName, endpoint: shared with explain

namespace sgsim {

// RFC 3339 UTC with nanoseconds: "2026-11-23T10:00:00.123456789Z".
std::string isoTime(std::int64_t ns);
// Epoch seconds with nine decimals, as Wireshark's frame.time_epoch: "1700000000.123456789".
std::string epochSeconds(std::int64_t ns);
// Seconds since `originNs` with three decimals and a sign: "+12.345s".
std::string relativeSeconds(std::int64_t ns, std::int64_t originNs);
// 1234567 → "1.2 MB" (decimal units).
std::string humanBytes(std::uint64_t bytes);
// CSV field quoting (RFC 4180).
std::string csvField(const std::string& s);

}  // namespace sgsim
