#pragma once
// The input encoding shared by the libFuzzer target and the replay program: byte 0 picks the link type
// (an index into kFuzzLinkTypes, modulo its size), the rest is the frame.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>

namespace sgsim {

// Every link type decodeFrame reads, plus one it does not (IEEE802_11) to exercise that path.
inline constexpr int kFuzzLinkTypes[] = {1, 0, 108, 113, 276, 12, 14, 101, 228, 229, 105};

// The selector byte that makes a frame of `linkType` replay as itself; nullopt for others.
inline std::optional<std::uint8_t> fuzzSelectorFor(int linkType) {
  for (std::size_t i = 0; i < std::size(kFuzzLinkTypes); ++i) {
    if (kFuzzLinkTypes[i] == linkType) return static_cast<std::uint8_t>(i);
  }
  return std::nullopt;
}

}  // namespace sgsim

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
