// BSD loopback (DLT_NULL, DLT_LOOP): a 4-byte address family, then IP.

#include "decode_internal.h"

namespace sgsim::decode {
namespace {

// AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS, iOS).
enum class LoopFamily { V4, V6, Other };

LoopFamily classify(std::uint32_t family) {
  if (family == 2) return LoopFamily::V4;
  if (family == 24 || family == 28 || family == 30) return LoopFamily::V6;
  return LoopFamily::Other;
}

}  // namespace

void loopback(ByteReader& r, PacketKey& key, bool networkOrderOnly) {
  const std::uint32_t bigEndian = r.be32();
  if (r.overflow()) return fail(key, DecodeStatus::Undecodable, "truncated loopback header");
  // DLT_NULL is in the capturing host's byte order, which the file does not record: try both.
  const std::uint32_t swapped =
      (bigEndian >> 24) | ((bigEndian >> 8) & 0xff00) | ((bigEndian << 8) & 0xff0000) | (bigEndian << 24);
  LoopFamily family = classify(bigEndian);
  if (family == LoopFamily::Other && !networkOrderOnly) family = classify(swapped);
  if (family == LoopFamily::Other) return fail(key, DecodeStatus::NotIp, "loopback family not IP");
  ip(r, key, family == LoopFamily::V4 ? 4 : 6);
}

}  // namespace sgsim::decode
