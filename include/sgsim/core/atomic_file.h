#pragma once
// Whole-file reading and crash-safe writing for the model file and reports. A model that a command writes
// back over its own input must never be left half-written: the new content goes to a temporary file in the
// same directory (same file system, so rename() is atomic), is fsync'ed, then renamed over the target.

#include <memory>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

#include "sgsim/core/result.h"

namespace sgsim {

// A file written as a stream and put in place only by commit(): output that is too large to hold in memory
// (a replay's JSON Lines) gets the same guarantee as a model. Without commit() (an error, an exception) the
// temporary file is removed and `path` is untouched.
class AtomicFile {
 public:
  static Result<std::unique_ptr<AtomicFile>> create(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return stream_; }
  // Flushes, fsyncs and renames over the target; the Error names the target.
  std::optional<Error> commit();

 private:
  class Buf : public std::streambuf {
   public:
    explicit Buf(int fd);
    bool failed() const { return failed_; }
    bool flushAll();

   protected:
    int_type overflow(int_type c) override;
    int sync() override { return flushAll() ? 0 : -1; }

   private:
    int fd_;
    bool failed_ = false;
    char buf_[1 << 16];
  };
  AtomicFile(std::string path, std::string tmp, int fd, bool keepMode, unsigned mode);

  std::string path_, tmp_;
  int fd_;
  bool keepMode_;
  unsigned mode_;
  bool done_ = false;
  Buf buf_;
  std::ostream stream_;
};

// Replaces `path` with `content`. On failure the target is untouched, the temporary file is removed and the
// Error's `where` names `path`. An existing target keeps its permission bits.
std::optional<Error> writeFileAtomically(const std::string& path, std::string_view content);

// The whole content of `path`; "-" reads standard input. Errors name the path and the system's reason.
Result<std::string> readWholeFile(const std::string& path);

}  // namespace sgsim
