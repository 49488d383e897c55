#pragma once
// A small, fast, seeded generator for the traffic and model mixes: SplitMix64. std::mt19937 would do, but
// its state is 2.5 kB and its output differs between standard libraries' distributions; this one is exact.

#include <cstdint>

namespace sgsim {

class BenchRng {
 public:
  explicit BenchRng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) for n > 0 (multiply-shift; the bias is below 2^-32 for the sizes used here).
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>(((next() >> 32) * static_cast<std::uint64_t>(n)) >> 32);
  }

 private:
  std::uint64_t state_;
};

}  // namespace sgsim
