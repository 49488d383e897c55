#pragma once
// Small formatting pieces every report shares, so that text, JSON Lines and CSV name things alike.

#include <cstdint>
#include <string>
#include <string_view>

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

// One JSON object of scalars written as toPrettyJson lays it out (model/model_json.h: a member per line, `indent`
// spaces deep; strings escaped as Boost.JSON escapes them), member by member, for a report that writes a long list
// one row at a time instead of building a tree of it. The object's first member must follow; end() closes it.
class PrettyJsonObject {
 public:
  PrettyJsonObject(std::string& out, int indent) : out_(out), indent_(indent) { out_ += '{'; }
  PrettyJsonObject& text(std::string_view key, std::string_view value);
  PrettyJsonObject& textOrNull(std::string_view key, std::string_view value);  // null when empty
  PrettyJsonObject& number(std::string_view key, std::uint64_t value);
  PrettyJsonObject& null(std::string_view key);
  // A member whose value the caller writes next (a nested PrettyJsonObject at indent() + 2).
  PrettyJsonObject& key(std::string_view key);
  int indent() const { return indent_; }
  void end();

 private:
  std::string& out_;
  int indent_;
  bool first_ = true;
};
// A JSON string as Boost.JSON serializes it (only '"', '\\' and control characters escaped).
void appendJsonString(std::string& out, std::string_view s);

}  // namespace sgsim
