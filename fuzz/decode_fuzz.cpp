// libFuzzer target for decodeFrame and decodeVxlan: any bytes, any supported link type, must give a status and never
// read outside the frame (run under AddressSanitizer). Each input is decoded three ways:
// - as a frame of its link type (decodeFrame);
// - the same frame under --decap vxlan (decodeVxlan, port 4789, and the frame's own UDP destination port when it
//   has one): what is not decapsulated must be exactly decodeFrame's key;
// - the frame's bytes as the inner frame of a well-formed VXLAN packet (outer Ethernet, IPv4, UDP 4789, VXLAN with
//   the I flag): always decapsulated, and the key must be what decodeFrame gives for those bytes as Ethernet.

#include "decode_fuzz.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sgsim/decode/decoder.h"

namespace {

// The key's invariants, which every later stage relies on.
void checkKey(const sgsim::PacketKey& key) {
  if (key.detail == nullptr) std::abort();
  if (key.status == sgsim::DecodeStatus::Ok) {
    if (key.detail[0] != '\0' || key.src.family != key.family || key.dst.family != key.family) std::abort();
    if (key.isFragment && !key.firstFragment && (key.sport != 0 || key.dport != 0)) std::abort();
  } else if (std::strlen(key.detail) == 0) {
    std::abort();
  }
}

bool sameKey(const sgsim::PacketKey& a, const sgsim::PacketKey& b) {
  return a.status == b.status && std::strcmp(a.detail, b.detail) == 0 && a.family == b.family && a.src == b.src &&
         a.dst == b.dst && a.proto == b.proto && a.sport == b.sport && a.dport == b.dport && a.tcpFlags == b.tcpFlags &&
         a.isFragment == b.isFragment && a.firstFragment == b.firstFragment && a.fragId == b.fragId &&
         a.ipLength == b.ipLength && a.vlan == b.vlan;
}

void checkDecap(int linkType, const std::uint8_t* frame, std::uint32_t size, const sgsim::PacketKey& plain,
                std::uint16_t port) {
  const sgsim::DecapFrame d = sgsim::decodeVxlan(linkType, frame, size, port);
  checkKey(d.key);
  if (d.decap == sgsim::Decap::Inner) {
    if (d.key.vni < 0 || d.key.vni > 0xffffff || d.encapLen == 0 || d.encapLen > size) std::abort();
    if (plain.status != sgsim::DecodeStatus::Ok || plain.proto != 17 || plain.dport != port) std::abort();
  } else {
    if (d.key.vni != -1 || d.encapLen != 0 || !sameKey(d.key, plain)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int linkType = sgsim::kFuzzLinkTypes[data[0] % std::size(sgsim::kFuzzLinkTypes)];
  const std::uint8_t* frame = data + 1;
  const auto frameSize = static_cast<std::uint32_t>(size - 1);
  const sgsim::PacketKey key = sgsim::decodeFrame(linkType, frame, frameSize);
  checkKey(key);
  if (key.vni != -1) std::abort();

  checkDecap(linkType, frame, frameSize, key, sgsim::kVxlanPort);
  if (key.status == sgsim::DecodeStatus::Ok && key.proto == 17 && key.dport != 0 && key.dport != sgsim::kVxlanPort)
    checkDecap(linkType, frame, frameSize, key, key.dport);

  // The bytes as a mirrored frame. IPv4 total length 0: bounded by what was captured (decoder.h), whatever the size.
  static constexpr std::uint8_t kEnvelope[] = {
      0x02, 0,    0,    0,    0,    0x02, 0x02, 0, 0,  0,  0, 0x01, 0x08, 0x00,                       // Ethernet
      0x45, 0,    0,    0,    0,    0,    0x40, 0, 64, 17, 0, 0,    10,   0,    9, 1, 10, 0, 9, 100,  // IPv4, UDP
      0xc0, 0x00, 0x12, 0xb5, 0,    0,    0,    0,                                                    // UDP > 4789
      0x08, 0,    0,    0,    0x00, 0x00, 0x64, 0};                                                   // VXLAN 100
  std::vector<std::uint8_t> wrapped(kEnvelope, kEnvelope + sizeof kEnvelope);
  wrapped.insert(wrapped.end(), frame, frame + frameSize);
  const sgsim::DecapFrame inner =
      sgsim::decodeVxlan(1, wrapped.data(), static_cast<std::uint32_t>(wrapped.size()), sgsim::kVxlanPort);
  checkKey(inner.key);
  if (inner.decap != sgsim::Decap::Inner || inner.key.vni != 100 || inner.encapLen != sizeof kEnvelope) std::abort();
  const sgsim::PacketKey asEthernet = sgsim::decodeFrame(1, frame, frameSize);
  if (inner.key.status != asEthernet.status) std::abort();
  if (asEthernet.status == sgsim::DecodeStatus::Ok) {
    if (!sameKey(inner.key, asEthernet)) std::abort();
  } else if (std::strcmp(inner.key.detail, (std::string(asEthernet.detail) + " (inside VXLAN)").c_str()) != 0) {
    std::abort();
  }
  return 0;
}
