#include "sgsim/classify/classbench.h"

#include <charconv>
#include <fstream>
#include <string_view>

#include "sgsim/core/text.h"

namespace sgsim {

namespace {

// A cursor over one line; every reader skips leading blanks and fails without moving on bad input.
class LineReader {
 public:
  explicit LineReader(std::string_view s) : s_(s) {}

  void skipBlanks() {
    while (!s_.empty() && (s_.front() == ' ' || s_.front() == '\t' || s_.front() == '\r')) s_.remove_prefix(1);
  }
  bool literal(char c) {
    skipBlanks();
    if (s_.empty() || s_.front() != c) return false;
    s_.remove_prefix(1);
    return true;
  }
  template <class T>
  bool number(T& out, int base = 10) {
    skipBlanks();
    auto [ptr, ec] = std::from_chars(s_.data(), s_.data() + s_.size(), out, base);
    if (ec != std::errc()) return false;
    s_.remove_prefix(static_cast<std::size_t>(ptr - s_.data()));
    return true;
  }
  bool hex(std::uint32_t& out) {
    skipBlanks();
    if (s_.size() < 2 || s_[0] != '0' || (s_[1] != 'x' && s_[1] != 'X')) return false;
    s_.remove_prefix(2);
    return number(out, 16);
  }
  // A token up to the next blank.
  std::string_view word() {
    skipBlanks();
    std::size_t n = 0;
    while (n < s_.size() && s_[n] != ' ' && s_[n] != '\t' && s_[n] != '\r') ++n;
    std::string_view w = s_.substr(0, n);
    s_.remove_prefix(n);
    return w;
  }

 private:
  std::string_view s_;
};

bool portRange(LineReader& in, std::uint16_t& lo, std::uint16_t& hi) {
  std::uint32_t a = 0, b = 0;
  if (!in.number(a) || !in.literal(':') || !in.number(b)) return false;
  if (a > 65535 || b > 65535 || a > b) return false;
  lo = static_cast<std::uint16_t>(a);
  hi = static_cast<std::uint16_t>(b);
  return true;
}

Error lineError(const std::string& path, std::size_t line, std::string message) {
  return Error{path + ":" + std::to_string(line), std::move(message)};
}

}  // namespace

Result<std::vector<RuleBox>> loadClassBenchRules(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Error{path, "cannot open ClassBench rule file"};
  std::vector<RuleBox> boxes;
  std::string text;
  for (std::size_t line = 1; std::getline(file, text); ++line) {
    if (trim(text).empty()) continue;
    LineReader in(text);
    if (!in.literal('@')) return lineError(path, line, "a rule starts with '@'");
    RuleBox b;
    auto src = Cidr::parse(in.word());
    auto dst = Cidr::parse(in.word());
    if (!src || !dst || !src->base.isV4() || !dst->base.isV4())
      return lineError(path, line, "source and destination must be IPv4 prefixes a.b.c.d/len");
    b.src = *src;
    b.dst = *dst;
    if (!portRange(in, b.sportLo, b.sportHi)) return lineError(path, line, "bad source port range (lo : hi)");
    if (!portRange(in, b.dportLo, b.dportHi)) return lineError(path, line, "bad destination port range (lo : hi)");
    std::uint32_t proto = 0, mask = 0;
    if (!in.hex(proto) || !in.literal('/') || !in.hex(mask)) return lineError(path, line, "bad protocol (0xPP/0xMM)");
    if (proto == 0 && mask == 0) {
      b.proto = -1;
    } else if (mask == 0xFF && proto <= 0xFF) {
      b.proto = static_cast<std::int16_t>(proto);
    } else {
      return lineError(path, line, "protocol must be 0x00/0x00 (any) or 0xPP/0xFF (exact)");
    }
    b.rank = b.ruleIndex = static_cast<std::uint32_t>(boxes.size());
    boxes.push_back(b);
  }
  return boxes;
}

Result<std::vector<ClassifyKey>> loadClassBenchTrace(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Error{path, "cannot open ClassBench trace file"};
  std::vector<ClassifyKey> keys;
  std::string text;
  for (std::size_t line = 1; std::getline(file, text); ++line) {
    if (trim(text).empty()) continue;
    LineReader in(text);
    std::uint32_t sa = 0, da = 0, sp = 0, dp = 0, proto = 0;
    if (!in.number(sa) || !in.number(da) || !in.number(sp) || !in.number(dp) || !in.number(proto) || sp > 65535 ||
        dp > 65535 || proto > 255)
      return lineError(path, line, "expected SA DA SP DP PROTO as unsigned integers");
    keys.push_back(ClassifyKey{Family::V4, static_cast<std::uint8_t>(proto), IpAddr::v4(sa), IpAddr::v4(da),
                               static_cast<std::uint16_t>(sp), static_cast<std::uint16_t>(dp)});
  }
  return keys;
}

namespace {

constexpr std::uint64_t kDocPrefix = 0x20010DB800000000ull;  // 2001:db8::/32

IpAddr mapAddress(IpAddr a, ClassBenchV6 mapping) {
  const std::uint32_t p = a.v4Value();
  if (mapping == ClassBenchV6::Fixed64) return IpAddr{Family::V6, kDocPrefix, static_cast<std::uint64_t>(p) << 32};
  return IpAddr{Family::V6, kDocPrefix | static_cast<std::uint64_t>(p >> 16) << 16,
                static_cast<std::uint64_t>(p & 0xFFFFu) << 48};
}

int mapLength(int len, ClassBenchV6 mapping) {
  if (mapping == ClassBenchV6::Fixed64) return 64 + len;
  return len <= 16 ? 32 + len : 48 + len;
}

}  // namespace

RuleBox toIpv6(const RuleBox& box, ClassBenchV6 mapping) {
  if (box.family != Family::V4 || !box.src.base.isV4() || !box.dst.base.isV4()) return box;
  RuleBox out = box;
  out.family = Family::V6;
  out.src = Cidr::of(mapAddress(box.src.base, mapping), mapLength(box.src.prefix, mapping));
  out.dst = Cidr::of(mapAddress(box.dst.base, mapping), mapLength(box.dst.prefix, mapping));
  return out;
}

ClassifyKey toIpv6(const ClassifyKey& key, ClassBenchV6 mapping) {
  if (key.family != Family::V4 || !key.src.isV4() || !key.dst.isV4()) return key;
  ClassifyKey out = key;
  out.family = Family::V6;
  out.src = mapAddress(key.src, mapping);
  out.dst = mapAddress(key.dst, mapping);
  return out;
}

}  // namespace sgsim
