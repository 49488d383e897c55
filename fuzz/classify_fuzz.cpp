// libFuzzer target for the fast classifier: any bytes become a list of rule boxes (IPv4, IPv6 or both;
// addresses from a few crowded networks, so that boxes nest, repeat and fill long buckets) and the keys on
// their corners; every FastClassifier configuration, the large-partition path included, must give the linear
// scan's answer for every key, one key at a time. A mismatch aborts.
//
// Input layout: byte 0 picks the configuration (mod 6) and the families ((byte 0 / 6) mod 3: IPv4, IPv6,
// both); then 8 bytes per box:
//   b0 source network (2 bits) and prefix length (6 bits, mod 33), b1 the source's last byte,
//   b2 and b3 the same for the destination, b4 protocol (mod 5: any, TCP, UDP, ICMP, GRE; with both families,
//   b4 >= 128 makes the box IPv6), b5 destination port range (two 4-bit indexes into a port table; equal: one
//   port, 0xFF: any), b6 source port range (the same; 0: any), b7 rank.
// An IPv6 box is the IPv4 box's 32 bits placed into a 128-bit network at a bit offset that depends on the
// network (0: the last 32 bits; 60: across the two 64-bit words; 32), its prefix length moved with them.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "sgsim/classify/fast_classifier.h"
#include "sgsim/classify/linear_classifier.h"

namespace {

using sgsim::Cidr;
using sgsim::ClassifyKey;
using sgsim::FastClassifier;
using sgsim::IpAddr;
using sgsim::RuleBox;

constexpr std::uint32_t kNets[4] = {0x0A000000u, 0x0A000100u, 0xC0A80500u, 0xC0A80400u};
constexpr std::uint16_t kPorts[16] = {0,    1,    22,   53,   80,    443,   1024,  1025,
                                      1600, 1649, 5001, 8080, 32767, 32768, 65534, 65535};
constexpr std::int16_t kProtos[5] = {-1, 6, 17, 1, 47};

__extension__ typedef unsigned __int128 Uint128;

// IPv6 networks (high word, low word) and where the IPv4 bits go in them (bit offset from the low end).
struct Net6 {
  std::uint64_t hi, lo;
  int shift;
};
constexpr Net6 kNets6[4] = {{0x20010DB800000000ull, 0, 0},
                            {0x20010DB800000000ull, 0xFEDCBA9876543210ull, 60},
                            {0x20010DB8000A0000ull, 0x0000000100000000ull, 0},
                            {0xFD00000000000001ull, 0x1122334455667788ull, 32}};

IpAddr place(const Net6& net, std::uint32_t v4) {
  const Uint128 a =
      ((static_cast<Uint128>(net.hi) << 64 | net.lo) & ~(static_cast<Uint128>(0xFFFFFFFFu) << net.shift)) |
      static_cast<Uint128>(v4) << net.shift;
  return IpAddr{sgsim::Family::V6, static_cast<std::uint64_t>(a >> 64), static_cast<std::uint64_t>(a)};
}

// The v4 address of network `n` with last byte `last` and prefix length `len`, in the box's family.
Cidr prefix(bool v6, std::uint8_t n, std::uint8_t last, int len) {
  const std::uint32_t v4 = kNets[n & 3] | last;
  if (!v6) return Cidr::of(IpAddr::v4(v4), len);
  const Net6& net = kNets6[n & 3];
  return Cidr::of(place(net, v4), 96 - net.shift + len);
}

const FastClassifier::Options kConfigs[] = {
    {},
    {.mergeTuples = false, .collisionLimit = 64, .lengthStep = 16},
    {.mergeTuples = true, .collisionLimit = 1, .lengthStep = 1},
    {.mergeTuples = true, .collisionLimit = 2, .lengthStep = 8, .portKeyFirst = true},
    {.mergeTuples = true, .collisionLimit = 128, .lengthStep = 16, .portKeyFirst = false, .tuneFrom = 1},
    {.mergeTuples = true, .collisionLimit = 128, .lengthStep = 16, .portKeyFirst = false, .tuneFrom = 64},
};

void portRange(std::uint8_t b, std::uint16_t& lo, std::uint16_t& hi) {
  const std::uint16_t a = kPorts[b & 15], c = kPorts[b >> 4];
  lo = std::min(a, c);
  hi = std::max(a, c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const FastClassifier::Options& options = kConfigs[data[0] % std::size(kConfigs)];
  const int families = data[0] / std::size(kConfigs) % 3;  // 0 IPv4, 1 IPv6, 2 both
  std::vector<RuleBox> boxes;
  for (std::size_t i = 1; i + 8 <= size && boxes.size() < 4096; i += 8) {
    const std::uint8_t* b = data + i;
    RuleBox r;
    const bool v6 = families == 1 || (families == 2 && b[4] >= 128);
    r.family = v6 ? sgsim::Family::V6 : sgsim::Family::V4;
    r.src = prefix(v6, b[0], b[1], (b[0] >> 2) % 33);
    r.dst = prefix(v6, b[2], b[3], (b[2] >> 2) % 33);
    r.proto = kProtos[b[4] % 5];
    if (b[5] != 0xFF) portRange(b[5], r.dportLo, r.dportHi);
    if (b[6] != 0) portRange(b[6], r.sportLo, r.sportHi);
    r.rank = b[7];
    r.ruleIndex = static_cast<std::uint32_t>(boxes.size());
    boxes.push_back(r);
  }
  const sgsim::LinearClassifier linear(boxes);
  const FastClassifier fast(boxes, options);
  // Keys on each box's corners (and one step past them), with each protocol the box can see.
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const RuleBox& r = boxes[i];
    for (int corner = 0; corner < 4; ++corner) {
      ClassifyKey k;
      k.family = r.family;
      k.src = corner & 1 ? r.src.last() : r.src.base;
      k.dst = corner & 2 ? r.dst.last() : r.dst.base;
      k.proto = static_cast<std::uint8_t>(r.proto >= 0 ? r.proto : kProtos[1 + (i + corner) % 4]);
      k.sport = corner & 1 ? r.sportHi : r.sportLo;
      k.dport = corner & 2 ? r.dportLo : r.dportHi;
      if ((i + corner) % 3 == 0) k.dport = static_cast<std::uint16_t>(k.dport + 1);
      if ((i + corner) % 5 == 0) {
        if (k.family == sgsim::Family::V4)
          k.src = IpAddr::v4(k.src.v4Value() + 1);
        else if (++k.src.lo == 0)
          ++k.src.hi;
      }
      if (fast.classify(k) != linear.classify(k)) std::abort();
    }
  }
  return 0;
}
