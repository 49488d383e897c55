#include "sgsim/core/time_spec.h"

#include <cstdio>
#include <limits>

#include "sgsim/core/text.h"

namespace sgsim {

namespace {

constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::int64_t kMaxNs = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinNs = std::numeric_limits<std::int64_t>::min();
constexpr const char* kForms =
    "+SECONDS after the first frame (+30, +1.5s), @EPOCH seconds (@1714554105.5) or RFC 3339 "
    "(2024-05-01T09:01:45Z)";

bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's civil calendar algorithms).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

unsigned daysInMonth(std::int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

void splitNs(std::int64_t ns, std::int64_t& s, std::int64_t& frac) {
  s = ns / kNsPerSec;
  frac = ns % kNsPerSec;
  if (frac < 0) {
    frac += kNsPerSec;
    --s;
  }
}

// A decimal number at the start of `s`: digits, optionally '.' and more digits (at least one digit in all).
struct Decimal {
  std::string_view whole, frac;
  std::size_t length = 0;  // characters used; 0 when `s` does not start with a number
  bool hasPoint = false;
};

Decimal scanDecimal(std::string_view s) {
  Decimal d;
  std::size_t i = 0;
  while (i < s.size() && isDigit(s[i])) ++i;
  d.whole = s.substr(0, i);
  if (i < s.size() && s[i] == '.') {
    std::size_t j = i + 1;
    while (j < s.size() && isDigit(s[j])) ++j;
    if (j > i + 1) {
      d.hasPoint = true;
      d.frac = s.substr(i + 1, j - i - 1);
      i = j;
    }
  }
  d.length = d.whole.empty() && d.frac.empty() ? 0 : i;
  return d;
}

// Up to 9 decimal digits as nanoseconds (the caller refuses longer fractions).
std::int64_t fractionNs(std::string_view digits) {
  std::int64_t frac = 0;
  for (std::size_t i = 0; i < 9; ++i) frac = frac * 10 + (i < digits.size() ? digits[i] - '0' : 0);
  return frac;
}

// seconds + fraction as nanoseconds; nullopt when not representable.
std::optional<std::int64_t> secondsNs(std::int64_t seconds, std::string_view fracDigits) {
  std::int64_t frac = fractionNs(fracDigits);
  // Before 1970 the fraction goes up from a negative second: take it from the next one, so that the earliest
  // representable instant (whose whole second alone is not) still fits.
  if (seconds < 0 && frac > 0) {
    ++seconds;
    frac -= kNsPerSec;
  }
  std::int64_t ns = 0;
  if (__builtin_mul_overflow(seconds, kNsPerSec, &ns) || __builtin_add_overflow(ns, frac, &ns)) return std::nullopt;
  return ns;
}

// whole.frac seconds as nanoseconds; nullopt when not representable.
std::optional<std::int64_t> decimalNs(const Decimal& d) {
  std::int64_t s = 0;
  for (char c : d.whole)
    if (__builtin_mul_overflow(s, 10, &s) || __builtin_add_overflow(s, c - '0', &s)) return std::nullopt;
  return secondsNs(s, d.frac);
}

// The integer part as a (possibly huge) number, for hints.
long double approxSeconds(const Decimal& d) {
  long double v = 0;
  for (char c : d.whole) v = v * 10 + (c - '0');
  return v;
}

std::string rangeText() {
  return "sgsim represents times from " + formatRfc3339(kMinNs) + " to " + formatRfc3339(kMaxNs);
}

// "it looks like epoch milliseconds: @1714554000.000 is 2024-05-01T09:00:00.000000000Z" when a number too large
// for epoch seconds lands in a plausible range (1990..2100) once read as milli-, micro- or nanoseconds.
std::string epochUnitHint(const Decimal& d) {
  const long double v = approxSeconds(d);
  constexpr long double kPlausibleFrom = 631152000.0L;  // 1990-01-01
  constexpr long double kPlausibleTo = 4102444800.0L;   // 2100-01-01
  if (v < kPlausibleTo) return "";
  struct Unit {
    const char* name;
    std::size_t digits;
  };
  for (const Unit u : {Unit{"milliseconds", 3}, Unit{"microseconds", 6}, Unit{"nanoseconds", 9}}) {
    long double scaled = v;
    for (std::size_t i = 0; i < u.digits; ++i) scaled /= 10;
    if (scaled < kPlausibleFrom || scaled >= kPlausibleTo || d.whole.size() <= u.digits) continue;
    Decimal asSeconds;
    const std::string whole(d.whole.substr(0, d.whole.size() - u.digits));
    const std::string frac = std::string(d.whole.substr(d.whole.size() - u.digits)) + std::string(d.frac);
    asSeconds.whole = whole;
    asSeconds.frac = std::string_view(frac).substr(0, std::min<std::size_t>(frac.size(), 9));
    const auto ns = decimalNs(asSeconds);
    if (!ns) continue;
    return "; it looks like epoch " + std::string(u.name) + ": @" + whole + "." + frac + " is " + formatRfc3339(*ns);
  }
  return "";
}

Error fail(std::string_view option, std::string message) { return Error{std::string(option), std::move(message)}; }

Error notATime(std::string_view option, std::string_view text, std::string_view why = "") {
  std::string m = quoted(text) + " is not a time";
  if (!why.empty()) m += " (" + std::string(why) + ")";
  return fail(option, m + ": use " + kForms);
}

// +SECONDS or @EPOCH after the sign.
Result<TimeSpec> parseSeconds(std::string_view text, std::string_view option, TimeSpec::Base base) {
  const char sign = text[0];
  const std::string_view rest = text.substr(1);
  const Decimal d = scanDecimal(rest);
  if (d.length == 0) {
    if (rest.empty()) return notATime(option, text, std::string("no number after ") + sign);
    if (sign == '+' && rest[0] == '-')
      return fail(option, quoted(text) +
                              " is a negative offset: offsets count from the capture's first frame (+0 is that "
                              "frame); for an instant before it use @EPOCH or RFC 3339 with --at-outside-capture");
    return notATime(option, text, "unexpected " + quoted(rest) + " after " + quoted(text.substr(0, 1)));
  }
  std::string_view tail = rest.substr(d.length);
  if (base == TimeSpec::Base::FirstFrame && tail == "s") tail = {};
  if (!tail.empty())
    return notATime(option, text,
                    "unexpected " + quoted(tail) + " after " + quoted(text.substr(0, 1 + d.length)) +
                        (base == TimeSpec::Base::FirstFrame ? "; offsets are seconds, with an optional trailing s"
                                                            : "; epoch times are seconds"));
  if (d.frac.size() > 9) return fail(option, quoted(text) + " has more than 9 decimals: times are kept in nanoseconds");
  const auto ns = decimalNs(d);
  if (!ns) {
    if (base == TimeSpec::Base::FirstFrame)
      return fail(option, quoted(text) + " is out of range: an offset is at most +" + formatEpoch(kMaxNs) +
                              " seconds, and the instant no later than " + formatRfc3339(kMaxNs));
    return fail(option, quoted(text) + " is out of range (" + rangeText() + ")" + epochUnitHint(d));
  }
  TimeSpec t;
  t.base = base;
  t.ns = *ns;
  return t;
}

// A bare number: say what each reading would mean.
Error bareNumber(std::string_view option, std::string_view text) {
  std::string_view number = text;
  if (!number.empty() && number.back() == 's') number.remove_suffix(1);
  std::string m = quoted(text) + " is a bare number: use +" + std::string(number) +
                  " for seconds after the first frame or @" + std::string(number) + " for an epoch time";
  const Decimal d = scanDecimal(number);
  if (d.frac.size() <= 9) {
    if (const auto ns = decimalNs(d)) m += " (" + formatRfc3339(*ns) + ")";
  }
  return fail(option, m + epochUnitHint(d));
}

// Two digits at s[i], s[i+1] into v.
bool twoDigits(std::string_view s, std::size_t i, unsigned& v) {
  if (i + 1 >= s.size() || !isDigit(s[i]) || !isDigit(s[i + 1])) return false;
  v = static_cast<unsigned>((s[i] - '0') * 10 + (s[i + 1] - '0'));
  return true;
}

Result<TimeSpec> parseRfc3339(std::string_view text, std::string_view option) {
  const std::string expected =
      "expected YYYY-MM-DDTHH:MM:SS[.fraction] and Z or an offset such as +08:00, e.g. 2024-05-01T09:01:45Z";
  auto malformed = [&] { return fail(option, quoted(text) + " is not an RFC 3339 time: " + expected); };
  unsigned y1 = 0, y2 = 0, mo = 0, day = 0, h = 0, mi = 0, sec = 0;
  if (!twoDigits(text, 0, y1) || !twoDigits(text, 2, y2) || text.size() < 10 || text[4] != '-' ||
      !twoDigits(text, 5, mo) || text[7] != '-' || !twoDigits(text, 8, day))
    return malformed();
  const std::int64_t year = y1 * 100 + y2;
  const std::string date(text.substr(0, 10));
  if (text.size() == 10)
    return fail(option,
                quoted(text) + " is a date without a time of day: write " + date + "T00:00:00Z for midnight UTC");
  const char sep = text[10];
  if ((sep != 'T' && sep != 't' && sep != ' ') || !twoDigits(text, 11, h) || text.size() < 19 || text[13] != ':' ||
      !twoDigits(text, 14, mi) || text[16] != ':' || !twoDigits(text, 17, sec))
    return malformed();
  std::size_t i = 19;
  Decimal frac;
  if (i < text.size() && text[i] == '.') {
    const Decimal d = scanDecimal(text.substr(i));
    if (!d.whole.empty() || d.frac.empty()) return malformed();
    frac = d;
    i += d.length;
  }
  if (frac.frac.size() > 9)
    return fail(option, quoted(text) + " has more than 9 decimals: times are kept in nanoseconds");
  std::int64_t offsetSec = 0;
  if (i == text.size())
    return fail(option, quoted(text) + " has no time zone: add Z for UTC (" + std::string(text) +
                            "Z) or an offset such as +08:00");
  if (text[i] == 'Z' || text[i] == 'z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    unsigned oh = 0, om = 0;
    if (!twoDigits(text, i + 1, oh) || i + 3 >= text.size() || text[i + 3] != ':' || !twoDigits(text, i + 4, om))
      return malformed();
    if (oh > 23 || om > 59)
      return fail(option, quoted(text) + " has an invalid offset " + std::string(text.substr(i, 6)) +
                              " (hours 00-23, minutes 00-59)");
    offsetSec = (text[i] == '-' ? -1 : 1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
    i += 6;
  } else {
    return malformed();
  }
  if (i != text.size())
    return fail(option, quoted(text) + " is not an RFC 3339 time: unexpected " + quoted(text.substr(i)) +
                            " after the time zone");
  std::string bad;
  if (mo < 1 || mo > 12)
    bad = "month " + std::to_string(mo);
  else if (day < 1 || day > daysInMonth(year, mo))
    bad = "day " + std::to_string(day) + " of " + date.substr(0, 7);
  else if (h > 23)
    bad = "hour " + std::to_string(h);
  else if (mi > 59)
    bad = "minute " + std::to_string(mi);
  else if (sec > 60)  // 60: a leap second, read as the first second of the next minute (as POSIX time does)
    bad = "second " + std::to_string(sec);
  if (!bad.empty()) return fail(option, quoted(text) + " is not a valid date and time (" + bad + ")");
  const std::int64_t seconds = daysFromCivil(year, mo, day) * 86400 + h * 3600 + mi * 60 + sec - offsetSec;
  const auto ns = secondsNs(seconds, frac.frac);
  if (!ns) return fail(option, quoted(text) + " is out of range (" + rangeText() + ")");
  TimeSpec t;
  t.base = TimeSpec::Base::Epoch;
  t.ns = *ns;
  return t;
}

}  // namespace

Result<std::int64_t> TimeSpec::resolve(std::int64_t firstFrameNs) const {
  if (base == Base::Epoch) return ns;
  std::int64_t at = 0;
  if (__builtin_add_overflow(firstFrameNs, ns, &at))
    return fail(option, quoted(text) + " after the first frame (" + formatRfc3339(firstFrameNs) +
                            ") is out of range (" + rangeText() + ")");
  return at;
}

Result<TimeSpec> parseTimeSpec(std::string_view text, std::string_view option) {
  if (text.empty()) return fail(option, "the value is empty: use " + std::string(kForms));
  // strtod would take these; a time never is one.
  std::string_view word = text;
  while (!word.empty() && (word[0] == '+' || word[0] == '-' || word[0] == '@')) word.remove_prefix(1);
  const std::string lower = toLower(word);
  if (lower.starts_with("inf") || lower.starts_with("nan"))
    return fail(option, quoted(text) + " is not a finite number: use " + kForms);

  Result<TimeSpec> r = Error{};
  if (text[0] == '+') {
    r = parseSeconds(text, option, TimeSpec::Base::FirstFrame);
  } else if (text[0] == '@') {
    r = parseSeconds(text, option, TimeSpec::Base::Epoch);
  } else if (isDigit(text[0])) {
    const Decimal d = scanDecimal(text);
    const std::string_view tail = text.substr(d.length);
    if (tail.empty() || tail == "s") return bareNumber(option, text);
    if (d.length == 4 && !d.hasPoint && tail[0] == '-') {
      r = parseRfc3339(text, option);
    } else {
      return notATime(option, text);
    }
  } else {
    return notATime(option, text);
  }
  if (r) {
    r->text = std::string(text);
    r->option = std::string(option);
  }
  return r;
}

std::string formatRfc3339(std::int64_t ns) {
  std::int64_t s = 0, frac = 0;
  splitNs(ns, s, frac);
  std::int64_t days = s / 86400, rem = s % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60), static_cast<long long>(frac));
  return buf;
}

std::string formatEpoch(std::int64_t ns) {
  std::int64_t s = 0, frac = 0;
  splitNs(ns, s, frac);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(s), static_cast<long long>(frac));
  return buf;
}

std::string formatOffset(std::int64_t ns, std::int64_t originNs) {
  char buf[48];
  std::int64_t diff = 0;
  if (__builtin_sub_overflow(ns, originNs, &diff))  // two far-apart instants: their difference needs more bits
    std::snprintf(buf, sizeof buf, "%+.3Lfs",
                  (static_cast<long double>(ns) - static_cast<long double>(originNs)) / 1e9L);
  else
    std::snprintf(buf, sizeof buf, "%+.3fs", static_cast<double>(diff) / 1e9);
  return buf;
}

std::optional<Error> checkInstantInCapture(const TimeSpec& spec, std::int64_t atNs, std::int64_t firstNs,
                                           std::optional<std::int64_t> lastNs, std::string_view captures,
                                           std::string_view allowFlag) {
  const bool before = atNs < firstNs;
  const bool after = lastNs && atNs > *lastNs;
  if (!before && !after) return std::nullopt;
  std::string m = quoted(spec.text) + " is " + formatRfc3339(atNs) + " (@" + formatEpoch(atNs) + ", " +
                  formatOffset(atNs, firstNs) + "), " + (before ? "before the first" : "after the last") +
                  " frame of the capture (" + std::string(captures) + ": ";
  if (lastNs) {
    m += formatRfc3339(firstNs) + " .. " + formatRfc3339(*lastNs) + ", @" + formatEpoch(firstNs) + " .. @" +
         formatEpoch(*lastNs) + ", " + formatOffset(firstNs, firstNs) + " .. " + formatOffset(*lastNs, firstNs) + ")";
  } else {
    m += "from " + formatRfc3339(firstNs) + ", @" + formatEpoch(firstNs) + ", " + formatOffset(firstNs, firstNs) + ")";
  }
  m += before ? ": the change would apply before any packet, as if given without " + spec.option
              : ": the change would apply to no packet";
  m += ". Give an instant inside the capture, or add " + std::string(allowFlag) + " if that is meant";
  return Error{spec.option, m};
}

}  // namespace sgsim
