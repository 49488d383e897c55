// libFuzzer target for reading capture files: any bytes as a pcap/pcapng file must open or be refused
// with an error, read to the end or to a named error, and every frame must decode. libpcap parses the
// file; this checks our wrapper (timestamps, error paths, the merge's copies) and the decoder behind it.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sgsim/capture/capture_reader.h"
#include "sgsim/decode/decoder.h"

namespace {

// One scratch file per fuzzing process, rewritten for every input: libpcap reads from files.
const std::string& scratchPath() {
  static const std::string path = [] {
    std::string pattern = "/tmp/sgsim-capture-fuzz-XXXXXX";
    const int fd = mkstemp(pattern.data());
    if (fd < 0) std::abort();
    close(fd);
    return pattern;
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratchPath();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size != 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
  auto merged = sgsim::MergedCapture::open({path});
  if (!merged) {
    if ((*merged.error().where.c_str()) == '\0') std::abort();  // an error names its file
    return 0;
  }
  sgsim::Frame frame;
  std::uint64_t last = 0;
  while ((*merged)->next(frame)) {
    if (frame.number != last + 1) std::abort();  // frames are numbered 1, 2, 3… within the file
    last = frame.number;
    const sgsim::PacketKey key = sgsim::decodeFrame(frame.linkType, frame.data, frame.capLen);
    if (key.detail == nullptr) std::abort();
  }
  return 0;
}
