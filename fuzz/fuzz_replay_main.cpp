// Runs the fuzz target without libFuzzer (any compiler): over crash reproducers and corpus files as raw
// inputs, and over every frame of each readable capture file with its own link type, so the tcpdump
// regression captures can be replayed:  decode_fuzz_replay ../shared/corpus/tcpdump
// Exit status 0 when everything ran; a failed invariant aborts, as under libFuzzer.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "decode_fuzz.h"
#include "sgsim/capture/capture_reader.h"

namespace {

namespace fs = std::filesystem;

struct Counts {
  long files = 0;
  long inputs = 0;
};

void runFile(const fs::path& path, Counts& counts) {
  ++counts.files;
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(raw.data(), raw.size());
  ++counts.inputs;
  auto reader = sgsim::CaptureReader::open(path.string(), 0);
  if (!reader) return;
  sgsim::Frame frame;
  std::vector<std::uint8_t> input;
  while ((*reader)->next(frame)) {
    // Each frame with its own link type (a pcapng file's interfaces may differ).
    const auto selector = sgsim::fuzzSelectorFor(frame.linkType);
    if (!selector) continue;
    input.assign(1, *selector);
    input.insert(input.end(), frame.data, frame.data + frame.capLen);
    input.shrink_to_fit();  // exact size, so a sanitizer sees a read past the frame
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++counts.inputs;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  Counts counts;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) runFile(entry.path(), counts);
      }
    } else if (fs::is_regular_file(arg, ec)) {
      runFile(arg, counts);
    } else {
      std::fprintf(stderr, "%s: not a file or directory\n", argv[i]);
      return 2;
    }
  }
  std::printf("%ld files, %ld inputs, no failure\n", counts.files, counts.inputs);
  return 0;
}
