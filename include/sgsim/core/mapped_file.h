#pragma once
// A regular file mapped read-only, whole: read where the page cache holds it, with no copy and no memory of the
// process's own (on the VM of docs/PERFORMANCE.md, the kernel's zeroing of fresh pages for a copy cost more than
// reading it). Guarded (core/map_guard.h): a file cut short while mapped reads as zeros past its new end, which
// cutShort() tells, instead of ending the process with SIGBUS.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "sgsim/core/result.h"

namespace sgsim {

class MappedFile {
 public:
  // Errors name the path: it cannot be opened or mapped, or is not a regular file (`notRegular` says what of it).
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path, const std::string& notRegular);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::string_view text() const { return {static_cast<const char*>(at_), size_}; }
  const void* data() const { return at_; }
  std::size_t size() const { return size_; }
  // Whether a page was read past the file's end since it was mapped (the file was cut short).
  bool cutShort() const;

 private:
  MappedFile() = default;
  std::string path_;
  void* at_ = nullptr;
  std::size_t size_ = 0;
  int guard_ = -1;
};

}  // namespace sgsim
