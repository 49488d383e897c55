#pragma once
// A regular file mapped read-only, whole: read where the page cache holds it, with no copy and no memory of the
// process's own (on the VM of docs/PERFORMANCE.md, the kernel's zeroing of fresh pages for a copy cost more than
// reading it). Guarded (core/map_guard.h): a file cut short while mapped reads as zeros past its new end, which
// cutShort() tells, instead of ending the process with SIGBUS.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sgsim/core/map_guard.h"
#include "sgsim/core/result.h"

namespace sgsim {

class MappedFile {
 public:
  // Populate: every page mapped at once, for a reader that reads it all (a shard's entries, a report); a flow log a
  // shard reads only its lines of is not.
  enum class Populate : bool { No, Yes };
  // Errors name the path: it cannot be opened or mapped ("cannot open WHAT: …", "cannot map WHAT: …", `what` the
  // kind of file, or nothing), or is not a regular file (`notRegular` says what of it).
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path, const std::string& notRegular,
                                                  Populate populate = Populate::Yes, const std::string& what = "");
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::string_view text() const { return {static_cast<const char*>(at_), size_}; }
  const void* data() const { return at_; }
  std::size_t size() const { return size_; }
  // Whether a page was read past the file's end since it was mapped (the file was cut short).
  bool cutShort() const { return mapguard::faulted(guard_); }
  // Lets the pages below `offset` go (a hint: read again, they come back from the page cache), as a reader that goes
  // forward no longer needs them.
  void dropBelow(std::uint64_t offset);

 private:
  MappedFile() = default;
  std::string path_;
  void* at_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t dropped_ = 0;  // dropBelow: the pages below were let go
  int guard_ = -1;
};

}  // namespace sgsim
