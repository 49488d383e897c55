#include "sgsim/report/format.h"

#include <boost/json.hpp>
#include <charconv>
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

void appendJsonString(std::string& out, std::string_view s) {
  for (const char ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == '"' || ch == '\\') {
      out += boost::json::serialize(boost::json::value(boost::json::string_view(s.data(), s.size())));
      return;
    }
  out += '"';
  out += s;
  out += '"';
}

PrettyJsonObject& PrettyJsonObject::key(std::string_view key) {
  out_ += first_ ? "\n" : ",\n";
  first_ = false;
  out_.append(static_cast<std::size_t>(indent_ + 2), ' ');
  appendJsonString(out_, key);
  out_ += ": ";
  return *this;
}

PrettyJsonObject& PrettyJsonObject::text(std::string_view k, std::string_view value) {
  key(k);
  appendJsonString(out_, value);
  return *this;
}

PrettyJsonObject& PrettyJsonObject::textOrNull(std::string_view k, std::string_view value) {
  return value.empty() ? null(k) : text(k, value);
}

PrettyJsonObject& PrettyJsonObject::number(std::string_view k, std::uint64_t value) {
  key(k);
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
  return *this;
}

PrettyJsonObject& PrettyJsonObject::null(std::string_view k) {
  key(k);
  out_ += "null";
  return *this;
}

void PrettyJsonObject::end() {
  if (first_) {
    out_ += '}';  // an empty object: "{}"
    return;
  }
  out_ += '\n';
  out_.append(static_cast<std::size_t>(indent_), ' ');
  out_ += '}';
}

}  // namespace sgsim
