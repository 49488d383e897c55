#pragma once
// Whole-file reading, and the one place that decides how every file option (--write, --output,
// --write-affected and its sibling files) writes to the path it is given. What the path names decides:
//
// - a regular file, or nothing yet: replaced atomically. The new content goes to a temporary file in the
//   same directory (same file system, so rename() is atomic), is fsync'ed, then renamed over the target; a
//   failed or interrupted write leaves the old file (or no file) and removes the temporary one. A replaced
//   file keeps its permission bits and, where the system permits (root, or a group the user is in), its
//   owner and group. A model written back over its own input is never left half-written.
// - a symbolic link: followed to the end of its chain, and the file it finally names is replaced (or, for a
//   dangling link, created) as above, with the temporary file in that file's directory; the links stay.
// - a FIFO, a character or block device, a Unix socket, or a name of an open descriptor (/dev/stdout,
//   /dev/stderr, /dev/fd/N, /proc/self/fd/N): written through, as the shell's `>` would, never unlinked or
//   renamed over (as root, renaming over /dev/null would replace the device for the whole machine).
// - a directory, a path in a missing directory, a file the user may not write: an error naming the path.

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "sgsim/core/output.h"
#include "sgsim/core/result.h"

namespace sgsim {

// A file written as a stream and finished by commit(): output too large to hold in memory (a replay's JSON
// Lines) gets the same guarantee as a model. Without commit() (an error, an exception) a replaced file's
// temporary copy is removed and the target is untouched.
class AtomicFile {
 public:
  // Decides how `path` is written (see above) and opens it; a FIFO's open waits for its reader. Errors name
  // `path` (and the file a symbolic link leads to).
  static Result<std::unique_ptr<AtomicFile>> create(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return stream_; }
  // The descriptor the stream writes to, for writers that need their own FILE* (libpcap): write through a
  // dup() of it and close that before commit().
  int fd() const { return fd_; }
  // True when commit() renames a new regular file into place; false when the path is written through.
  bool replaces() const { return !tmp_.empty(); }
  const std::string& path() const { return path_; }
  // The first failed write to the stream, naming the path; std::nullopt while every write succeeded. Cheap
  // enough for a check per batch.
  std::optional<Error> failure() const;

  // Scratch: a file sgsim itself makes and reads back in the same run, and makes again from its inputs if it is
  // lost (the runner's shard indexes): renamed into place without waiting for the disk (fsync), which for an
  // index of 10M frames was most of the time its writing took. A machine that fails before the data reaches
  // the disk may leave it empty or short; its reader checks it (never a wrong answer from it).
  enum class Sync : std::uint8_t { Durable, Scratch };
  // Flushes; for a replaced file also fsyncs (Durable) and renames over the target. The Error names the path.
  std::optional<Error> commit(Sync sync = Sync::Durable);

 private:
  // What a replaced file had, given back to its successor.
  struct Kept {
    bool exists = false;
    unsigned mode = 0;
    unsigned uid = 0, gid = 0;
  };
  AtomicFile(std::string path, std::string target, std::string tmp, int fd, Kept kept);
  // " (symbolic link to TARGET)" when the path led elsewhere, for messages.
  std::string via() const;

  std::string path_;    // as the user gave it
  std::string target_;  // the file replaced (the end of a symbolic-link chain) or written through
  std::string tmp_;     // the temporary file; empty when written through
  int fd_;
  Kept kept_;
  bool done_ = false;
  FdWriteBuf buf_;
  std::ostream stream_;
};

// Writes `content` to `path` as AtomicFile does. On failure a replaced target is untouched, the temporary file
// is removed and the Error's `where` names `path`.
std::optional<Error> writeFileAtomically(const std::string& path, std::string_view content,
                                         AtomicFile::Sync sync = AtomicFile::Sync::Durable);

// The whole content of `path`; "-" reads standard input. Errors name the path and the system's reason.
Result<std::string> readWholeFile(const std::string& path);

}  // namespace sgsim
