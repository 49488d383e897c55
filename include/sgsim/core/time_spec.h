#pragma once
// Instants named on the command line (`whatif --at`), and the capture-time formats every report shares.
//
// Times are int64 nanoseconds since the Unix epoch, as capture timestamps are (capture/frame.h): that covers
// 1677-09-21T00:12:43.145224192Z .. 2262-04-11T23:47:16.854775807Z. A value outside that range, a value
// that is not a finite number, an empty value or one with anything after the time is refused, naming the
// option and the value and saying what to write instead: a wrong instant would give a confident wrong
// what-if (issue 8), so nothing here guesses, rounds or saturates.
//
// Accepted forms:
//   +SECONDS     after the capture's first frame: +30, +1.5, +30s (at most 9 decimals)
//   @EPOCH       seconds since the Unix epoch: @1714554105, @1714554105.25
//   RFC 3339     2024-05-01T09:01:45Z, 2024-05-01T09:01:45.5Z, 2024-05-01T17:01:45+08:00 (any offset, 'T' or a
//                space between date and time, letters in either case)
// A bare number (30, 1714554000) is refused: it could mean either of the first two.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sgsim/core/result.h"

namespace sgsim {

struct TimeSpec {
  enum class Base : std::uint8_t { FirstFrame, Epoch };
  Base base = Base::Epoch;
  std::int64_t ns = 0;  // FirstFrame: the offset (≥ 0); Epoch: nanoseconds since the Unix epoch
  std::string text;     // as the user wrote it (for messages)
  std::string option;   // the option it came from ("--at")

  // The instant it names in a capture whose first frame is at firstFrameNs. Fails when an offset takes it past
  // the representable range.
  Result<std::int64_t> resolve(std::int64_t firstFrameNs) const;
};

// Parses one of the forms above. `option` names the flag in errors: Error{option, "…"}.
Result<TimeSpec> parseTimeSpec(std::string_view text, std::string_view option = "--at");

// RFC 3339 UTC with nanoseconds: "2024-05-01T09:01:45.000000000Z".
std::string formatRfc3339(std::int64_t ns);
// Epoch seconds with nine decimals, as Wireshark's frame.time_epoch: "1714554105.000000000".
std::string formatEpoch(std::int64_t ns);
// Seconds after `originNs` with three decimals and a sign: "+12.345s".
std::string formatOffset(std::int64_t ns, std::int64_t originNs);

// Refuses an instant outside the capture: before its first frame (firstNs, also the origin of offsets) or,
// when lastNs is known, after its last frame. `captures` names the capture files for the message, and
// `allowFlag` the option that says an instant outside is meant. nullopt when the instant is inside.
std::optional<Error> checkInstantInCapture(const TimeSpec& spec, std::int64_t atNs, std::int64_t firstNs,
                                           std::optional<std::int64_t> lastNs, std::string_view captures,
                                           std::string_view allowFlag);

}  // namespace sgsim
