#include "sgsim/core/time_spec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace sgsim {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kCapture = 1714554000LL * kSec;  // 2024-05-01T09:00:00Z, the sample captures' start

TimeSpec ok(const std::string& text) {
  auto r = parseTimeSpec(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().toString());
  return r.ok() ? *r : TimeSpec{};
}

std::string refused(const std::string& text) {
  auto r = parseTimeSpec(text);
  EXPECT_FALSE(r.ok()) << text << " was accepted";
  if (r.ok()) return "";
  EXPECT_EQ(r.error().where, "--at") << text;
  return r.error().message;
}

TEST(TimeSpec, OffsetsAfterTheFirstFrame) {
  EXPECT_EQ(ok("+30").base, TimeSpec::Base::FirstFrame);
  EXPECT_EQ(ok("+30").ns, 30 * kSec);
  EXPECT_EQ(ok("+30s").ns, 30 * kSec);
  EXPECT_EQ(ok("+1.5").ns, 1'500'000'000);
  EXPECT_EQ(ok("+.25").ns, 250'000'000);
  EXPECT_EQ(ok("+0").ns, 0);
  EXPECT_EQ(ok("+0.000000001").ns, 1);
  EXPECT_EQ(ok("+100").resolve(kCapture).value(), kCapture + 100 * kSec);
  EXPECT_EQ(ok("+100").text, "+100");
}

TEST(TimeSpec, EpochSecondsExactToTheNanosecond) {
  EXPECT_EQ(ok("@1714554105").base, TimeSpec::Base::Epoch);
  EXPECT_EQ(ok("@1714554105").ns, 1714554105LL * kSec);
  // No binary floating point on the way: .123456789 stays exact.
  EXPECT_EQ(ok("@1714554105.123456789").ns, 1714554105LL * kSec + 123456789);
  EXPECT_EQ(ok("@0").ns, 0);
  EXPECT_EQ(ok("@1714554105").resolve(42).value(), 1714554105LL * kSec);  // the first frame does not matter
}

TEST(TimeSpec, Rfc3339InUtcOrWithAnOffset) {
  EXPECT_EQ(ok("2024-05-01T09:01:45Z").ns, (1714554000LL + 105) * kSec);
  EXPECT_EQ(ok("2024-05-01t09:01:45z").ns, (1714554000LL + 105) * kSec);
  EXPECT_EQ(ok("2024-05-01 09:01:45Z").ns, (1714554000LL + 105) * kSec);
  EXPECT_EQ(ok("2024-05-01T09:01:45.5Z").ns, (1714554000LL + 105) * kSec + 500'000'000);
  EXPECT_EQ(ok("2024-05-01T09:01:45+00:00").ns, (1714554000LL + 105) * kSec);
  EXPECT_EQ(ok("2024-05-01T17:01:45+08:00").ns, (1714554000LL + 105) * kSec);
  EXPECT_EQ(ok("2024-05-01T04:31:45-04:30").ns, (1714554000LL + 105) * kSec);
  EXPECT_EQ(ok("1970-01-01T00:00:00Z").ns, 0);
  EXPECT_EQ(ok("1969-12-31T23:59:59.5Z").ns, -500'000'000);
  EXPECT_EQ(ok("2024-02-29T00:00:00Z").ns, 1709164800LL * kSec);  // a leap day
  EXPECT_EQ(ok("2024-05-01T09:01:45Z").base, TimeSpec::Base::Epoch);
}

TEST(TimeSpec, TheRepresentableRangeEndsExactly) {
  EXPECT_EQ(ok("@9223372036.854775807").ns, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(ok("2262-04-11T23:47:16.854775807Z").ns, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(ok("1677-09-21T00:12:43.145224192Z").ns, std::numeric_limits<std::int64_t>::min());
  EXPECT_NE(refused("@9223372036.854775808").find("is out of range"), std::string::npos);
  EXPECT_NE(refused("2262-04-11T23:47:16.854775808Z").find("is out of range"), std::string::npos);
  EXPECT_NE(refused("1677-09-21T00:12:43.145224191Z").find("is out of range"), std::string::npos);
  EXPECT_NE(refused("+9223372036.854775808").find("is out of range"), std::string::npos);
  // An offset that fits, but not once added to the first frame.
  auto r = ok("+9000000000").resolve(kCapture);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().toString(),
            "--at: \"+9000000000\" after the first frame (2024-05-01T09:00:00.000000000Z) is out of range (sgsim "
            "represents times from 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z)");
}

TEST(TimeSpec, RefusesWhatTheIssueSaw) {
  // issue 8: these overflowed into 1716 and cut every packet.
  EXPECT_EQ(refused("+10000000000"),
            "\"+10000000000\" is out of range: an offset is at most +9223372036.854775807 seconds, and the instant "
            "no later than 2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(refused("+inf"),
            "\"+inf\" is not a finite number: use +SECONDS after the first frame (+30, +1.5s), @EPOCH seconds "
            "(@1714554105.5) or RFC 3339 (2024-05-01T09:01:45Z)");
  EXPECT_NE(refused("nan").find("is not a finite number"), std::string::npos);
  EXPECT_NE(refused("@NaN").find("is not a finite number"), std::string::npos);
  EXPECT_NE(refused("-infinity").find("is not a finite number"), std::string::npos);
  // Epoch milliseconds (and finer) are named as such, with the instant they probably mean.
  EXPECT_EQ(refused("@1714554000000"),
            "\"@1714554000000\" is out of range (sgsim represents times from 1677-09-21T00:12:43.145224192Z to "
            "2262-04-11T23:47:16.854775807Z); it looks like epoch milliseconds: @1714554000.000 is "
            "2024-05-01T09:00:00.000000000Z");
  EXPECT_NE(refused("@1714554000000000")
                .find("it looks like epoch microseconds: @1714554000.000000 is "
                      "2024-05-01T09:00:00.000000000Z"),
            std::string::npos);
  EXPECT_NE(refused("@1714554000123456789")
                .find("it looks like epoch nanoseconds: @1714554000.123456789 is "
                      "2024-05-01T09:00:00.123456789Z"),
            std::string::npos);
  // A bare number: an epoch or an offset? Say both.
  EXPECT_EQ(refused("1714554000"),
            "\"1714554000\" is a bare number: use +1714554000 for seconds after the first frame or @1714554000 for "
            "an epoch time (2024-05-01T09:00:00.000000000Z)");
  EXPECT_EQ(refused("30"),
            "\"30\" is a bare number: use +30 for seconds after the first frame or @30 for an epoch time "
            "(1970-01-01T00:00:30.000000000Z)");
  EXPECT_NE(refused("30s").find("use +30 for seconds after the first frame or @30"), std::string::npos);
  EXPECT_NE(refused("1.5").find("is a bare number"), std::string::npos);
  EXPECT_NE(refused("1714554000000").find("it looks like epoch milliseconds"), std::string::npos);
}

TEST(TimeSpec, RefusesEmptyGarbageAndHalfTimes) {
  EXPECT_EQ(refused(""),
            "the value is empty: use +SECONDS after the first frame (+30, +1.5s), @EPOCH seconds (@1714554105.5) or "
            "RFC 3339 (2024-05-01T09:01:45Z)");
  EXPECT_NE(refused("+").find("no number after +"), std::string::npos);
  EXPECT_NE(refused("@").find("no number after @"), std::string::npos);
  EXPECT_NE(refused("+30x").find("unexpected \"x\" after \"+30\""), std::string::npos);
  EXPECT_NE(refused("+30 s").find("unexpected \" s\" after \"+30\""), std::string::npos);
  EXPECT_NE(refused("+1e3").find("unexpected \"e3\""), std::string::npos);
  EXPECT_NE(refused("+0x10").find("unexpected \"x10\""), std::string::npos);
  EXPECT_NE(refused(" +30").find("is not a time"), std::string::npos);
  EXPECT_NE(refused("@1714554105s").find("unexpected \"s\""), std::string::npos);
  EXPECT_NE(refused("@-5").find("unexpected \"-5\" after \"@\""), std::string::npos);
  EXPECT_NE(refused("+-5").find("is a negative offset"), std::string::npos);
  EXPECT_NE(refused("-5").find("is not a time"), std::string::npos);
  EXPECT_NE(refused("yesterday").find("is not a time"), std::string::npos);
  EXPECT_NE(refused("+1.0000000001").find("more than 9 decimals"), std::string::npos);
  EXPECT_EQ(refused("2024-05-01T09:01:45"),
            "\"2024-05-01T09:01:45\" has no time zone: add Z for UTC (2024-05-01T09:01:45Z) or an offset such as "
            "+08:00");
  EXPECT_EQ(refused("2024-05-01"),
            "\"2024-05-01\" is a date without a time of day: write 2024-05-01T00:00:00Z for midnight UTC");
  EXPECT_NE(refused("2024-05-01T9:01:45Z").find("is not an RFC 3339 time"), std::string::npos);
  EXPECT_NE(refused("2024-05-01T09:01:45Zjunk").find("unexpected \"junk\" after the time zone"), std::string::npos);
  EXPECT_NE(refused("2024-05-01T09:01:45+8:00").find("is not an RFC 3339 time"), std::string::npos);
  EXPECT_NE(refused("2024-05-01T09:01:45+24:00").find("invalid offset +24:00"), std::string::npos);
  EXPECT_NE(refused("2024-13-01T09:01:45Z").find("(month 13)"), std::string::npos);
  EXPECT_NE(refused("2023-02-29T09:01:45Z").find("(day 29 of 2023-02)"), std::string::npos);
  EXPECT_NE(refused("2024-05-01T24:00:00Z").find("(hour 24)"), std::string::npos);
  EXPECT_NE(refused("2024-05-01T09:60:00Z").find("(minute 60)"), std::string::npos);
  EXPECT_NE(refused("2024-05-01T09:01:61Z").find("(second 61)"), std::string::npos);
  EXPECT_NE(refused("2024-05-01T09:01:45.Z").find("is not an RFC 3339 time"), std::string::npos);
  EXPECT_NE(refused("2024-05-01T09:01:45.1234567891Z").find("more than 9 decimals"), std::string::npos);
}

TEST(TimeSpec, NamesTheOptionItCameFrom) {
  auto r = parseTimeSpec("x", "--until");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where, "--until");
  EXPECT_EQ(parseTimeSpec("+1", "--until")->option, "--until");
}

TEST(TimeSpec, FormatsAreExactAndRoundTrip) {
  EXPECT_EQ(formatRfc3339(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(formatRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(formatRfc3339(std::numeric_limits<std::int64_t>::max()), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(formatRfc3339(std::numeric_limits<std::int64_t>::min()), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(formatEpoch(1714554105LL * kSec + 5), "1714554105.000000005");
  EXPECT_EQ(formatEpoch(-1), "-1.999999999");  // floor: the second before, plus the fraction
  EXPECT_EQ(formatOffset(kCapture + 1500 * 1'000'000, kCapture), "+1.500s");
  EXPECT_EQ(formatOffset(kCapture - 5 * kSec, kCapture), "-5.000s");
  EXPECT_EQ(formatOffset(std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()),
            "+18446744073.710s");
  // Every formatted instant parses back to itself, in both forms (seeded).
  std::mt19937_64 rng(8);
  for (int i = 0; i < 2000; ++i) {
    const auto ns = static_cast<std::int64_t>(rng());
    EXPECT_EQ(ok(formatRfc3339(ns)).ns, ns) << formatRfc3339(ns);
    if (ns >= 0) {
      EXPECT_EQ(ok("@" + formatEpoch(ns)).ns, ns) << formatEpoch(ns);
    }
  }
}

// Bad input never crashes: strings made of the characters times are made of (seeded), each either accepted
// (then in range, and its +offset resolves or is refused) or refused naming --at.
TEST(TimeSpec, ArbitraryInputIsAcceptedOrRefusedNeverMisread) {
  std::mt19937 rng(88);
  const std::string alphabet = "0123456789+-@.:TZzs e";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const std::size_t n = rng() % 32;
    for (std::size_t k = 0; k < n; ++k) text += alphabet[rng() % alphabet.size()];
    if (rng() % 4 == 0) text = "2024-05-01T09:01:45" + text;
    auto r = parseTimeSpec(text);
    if (!r.ok()) {
      EXPECT_EQ(r.error().where, "--at");
      EXPECT_FALSE(r.error().message.empty());
      continue;
    }
    ++accepted;
    EXPECT_EQ(r->text, text);
    EXPECT_EQ(ok(formatRfc3339(r->ns)).ns, r->ns) << text;
    if (text[0] == '+' || text[0] == '@') {
      // Only digits and one point after the sign (and an offset's trailing s), and the value they say.
      std::string number = text.substr(1);
      if (text[0] == '+' && number.back() == 's') number.pop_back();
      EXPECT_EQ(number.find_first_not_of("0123456789."), std::string::npos) << text;
      const long double want = std::stold(number) * 1e9L;
      EXPECT_LE(std::abs(static_cast<long double>(r->ns) - want), 1 + want * 1e-15L) << text;
    }
  }
  EXPECT_GT(accepted, 30);
}

TEST(TimeSpec, InstantsOutsideTheCaptureAreRefusedWithTheSpan) {
  const TimeSpec at = ok("+700");
  const std::int64_t first = kCapture + 5 * kSec, last = kCapture + 586 * kSec + 1'000'000;
  EXPECT_FALSE(checkInstantInCapture(at, first, first, last, "a.pcap", "--at-outside-capture"));
  EXPECT_FALSE(checkInstantInCapture(at, last, first, last, "a.pcap", "--at-outside-capture"));
  auto after = checkInstantInCapture(at, first + 700 * kSec, first, last, "a.pcap", "--at-outside-capture");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->toString(),
            "--at: \"+700\" is 2024-05-01T09:11:45.000000000Z (@1714554705.000000000, +700.000s), after the last "
            "frame of the capture (a.pcap: 2024-05-01T09:00:05.000000000Z .. 2024-05-01T09:09:46.001000000Z, "
            "@1714554005.000000000 .. @1714554586.001000000, +0.000s .. +581.001s): the change would apply to no "
            "packet. Give an instant inside the capture, or add --at-outside-capture if that is meant");
  // Before the first frame, known before the last one is.
  const TimeSpec early = ok("@1714554000");
  auto before = checkInstantInCapture(early, early.ns, first, std::nullopt, "a.pcap", "--at-outside-capture");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->toString(),
            "--at: \"@1714554000\" is 2024-05-01T09:00:00.000000000Z (@1714554000.000000000, -5.000s), before the "
            "first frame of the capture (a.pcap: from 2024-05-01T09:00:05.000000000Z, @1714554005.000000000, "
            "+0.000s): the change would apply before any packet, as if given without --at. Give an instant inside "
            "the capture, or add --at-outside-capture if that is meant");
  EXPECT_FALSE(checkInstantInCapture(early, first + kSec, first, std::nullopt, "a.pcap", "--at-outside-capture"));
}

}  // namespace
}  // namespace sgsim
