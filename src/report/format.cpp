#include "sgsim/report/format.h"

#include <cstdio>
#include <ctime>

namespace sgsim {

namespace {
void splitNs(std::int64_t ns, std::int64_t& s, std::int64_t& frac) {
  s = ns / 1'000'000'000;
  frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --s;
  }
}
}  // namespace

std::string isoTime(std::int64_t ns) {
  std::int64_t s = 0, frac = 0;
  splitNs(ns, s, frac);
  std::time_t t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

std::string epochSeconds(std::int64_t ns) {
  std::int64_t s = 0, frac = 0;
  splitNs(ns, s, frac);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(s), static_cast<long long>(frac));
  return buf;
}

std::string relativeSeconds(std::int64_t ns, std::int64_t originNs) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%+.3fs", static_cast<double>(ns - originNs) / 1e9);
  return buf;
}

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
