// libFuzzer target for decodeFrame: any bytes, any supported link type, must give a status and never read
// outside the frame (run under AddressSanitizer).

#include "decode_fuzz.h"

#include <cstdlib>
#include <cstring>

#include "sgsim/decode/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int linkType = sgsim::kFuzzLinkTypes[data[0] % std::size(sgsim::kFuzzLinkTypes)];
  const sgsim::PacketKey key = sgsim::decodeFrame(linkType, data + 1, static_cast<std::uint32_t>(size - 1));
  // The key's invariants, which every later stage relies on.
  if (key.detail == nullptr) std::abort();
  if (key.status == sgsim::DecodeStatus::Ok) {
    if (key.detail[0] != '\0' || key.src.family != key.family || key.dst.family != key.family) std::abort();
    if (key.isFragment && !key.firstFragment && (key.sport != 0 || key.dport != 0)) std::abort();
  } else if (std::strlen(key.detail) == 0) {
    std::abort();
  }
  return 0;
}
