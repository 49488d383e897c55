#pragma once
// Small string helpers shared by the model loader, the request parser and the reports.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace sgsim {

std::string toLower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);
// Whole-string decimal integer (optional leading '-'); nullopt on anything else or overflow.
std::optional<std::int64_t> parseInt(std::string_view s);
// JSON string escaping for hand-written JSON Lines output.
std::string jsonEscape(std::string_view s);

// FNV-1a, 64 bits, from `seed` (the standard offset basis unless given): tiny, and the same on every platform and
// every run, which std::hash does not promise. For ids and digests written into files; byte by byte, so not for
// long texts on a hot path.
inline std::uint64_t fnv1a64(std::string_view s, std::uint64_t seed = 0xcbf29ce484222325ULL) {
  std::uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Levenshtein distance over letters compared case-insensitively (so "polcy" is 1 from "Policy").
std::size_t editDistance(std::string_view a, std::string_view b);
// The candidate closest to `word` when it is close enough to be a likely typo (distance at most 1 for short
// words, 2 from 5 letters, 3 from 10), the earliest candidate on ties; "" when none is. Used for "did you mean
// `Policy`?" on unknown model keys and request parameters.
std::string nearestName(std::string_view word, std::initializer_list<std::string_view> candidates);
template <class Range>
std::string nearestName(std::string_view word, const Range& candidates);

namespace detail {
std::size_t typoBudget(std::string_view word);
}

template <class Range>
std::string nearestName(std::string_view word, const Range& candidates) {
  std::string best;
  std::size_t bestDistance = detail::typoBudget(word) + 1;
  for (const auto& c : candidates) {
    const std::string_view name(c);
    const std::size_t d = editDistance(word, name);
    if (d < bestDistance) {
      bestDistance = d;
      best = std::string(name);
    }
  }
  return best;
}

}  // namespace sgsim
