#pragma once
// Files the tests write: a temporary directory removed with everything in it, whole files written at once, and a
// classic pcap built in memory (little-endian, nanosecond timestamps, Ethernet) from timestamped frames.

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "decode/frame_builder.h"

namespace sgsim::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "sgsim-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void writeFile(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

struct PcapRecord {
  std::int64_t tsNs;
  Bytes data;
};

// Classic little-endian pcap, nanosecond timestamps, Ethernet.
inline Bytes pcapFile(const std::vector<PcapRecord>& records) {
  Bytes b;
  auto u32 = [&](std::uint32_t v) { putLe32(b, v); };
  u32(0xa1b23c4d);
  b.insert(b.end(), {2, 0, 4, 0});
  u32(0);
  u32(0);
  u32(65535);
  u32(1);
  for (const auto& r : records) {
    u32(static_cast<std::uint32_t>(r.tsNs / 1000000000));
    u32(static_cast<std::uint32_t>(r.tsNs % 1000000000));
    u32(static_cast<std::uint32_t>(r.data.size()));
    u32(static_cast<std::uint32_t>(r.data.size()));
    b.insert(b.end(), r.data.begin(), r.data.end());
  }
  return b;
}

}  // namespace sgsim::test
