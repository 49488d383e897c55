#include "sgsim/report/format.h"

#include <cstdio>

#include "sgsim/core/time_spec.h"

namespace sgsim {

// The time formats live with the rest of time handling in core (core/time_spec.h), so that messages about
// instants and the reports write them alike.
std::string isoTime(std::int64_t ns) { return formatRfc3339(ns); }

std::string epochSeconds(std::int64_t ns) { return formatEpoch(ns); }

std::string relativeSeconds(std::int64_t ns, std::int64_t originNs) { return formatOffset(ns, originNs); }

std::string humanBytes(std::uint64_t bytes) {
  char buf[32];
  if (bytes < 1000) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1000ULL * 1000) {
    std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(bytes) / 1e3);
  } else if (bytes < 1000ULL * 1000 * 1000) {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(bytes) / 1e9);
  }
  return buf;
}

std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string r = "\"";
  for (char c : s) {
    if (c == '"') r += '"';
    r += c;
  }
  return r + "\"";
}

}  // namespace sgsim
