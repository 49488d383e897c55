// Runs a text fuzz target (model_fuzz, request_fuzz) without libFuzzer (any compiler): every file named,
// and every regular file under every directory named, is one input, as libFuzzer would pass it.
//   model_fuzz_replay ../examples fuzz/corpus_model crash-1234
// Exit status 0 when everything ran; a failed invariant aborts, as under libFuzzer.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

void runFile(const fs::path& path, long& files) {
  ++files;
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  raw.shrink_to_fit();  // exact size, so a sanitizer sees a read past the input
  LLVMFuzzerTestOneInput(raw.data(), raw.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  long files = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) runFile(entry.path(), files);
      }
    } else if (fs::is_regular_file(arg, ec)) {
      runFile(arg, files);
    } else {
      std::fprintf(stderr, "%s: not a file or directory\n", argv[i]);
      return 2;
    }
  }
  std::printf("%ld inputs, no failure\n", files);
  return 0;
}
