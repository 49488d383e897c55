#pragma once
// Checked output: every byte sgsim writes (a file, a pipe, standard output) goes through an FdWriteBuf, which
// remembers the first failed write and its errno. After a failure the stream is bad and later writes are
// dropped, so a closed pipe or a full disk costs one failed write() instead of one per record, and a command
// that streams records can notice it once per batch (an `std::ostream` state check, no system call) and stop.

#include <optional>
#include <streambuf>
#include <string>

#include "sgsim/core/result.h"

namespace sgsim {

// A 64 KiB buffer in front of a file descriptor it does not own.
class FdWriteBuf : public std::streambuf {
 public:
  explicit FdWriteBuf(int fd);
  FdWriteBuf(const FdWriteBuf&) = delete;
  FdWriteBuf& operator=(const FdWriteBuf&) = delete;

  // Writes out everything buffered; false once any write has failed.
  bool flushAll();
  bool failed() const { return errno_ != 0; }
  // errno of the first failed write (0: none).
  int errorNumber() const { return errno_; }

 protected:
  int_type overflow(int_type c) override;
  int sync() override { return flushAll() ? 0 : -1; }

 private:
  int fd_;
  int errno_ = 0;
  char buf_[1 << 16];
};

// While alive, std::cout writes through an FdWriteBuf on descriptor 1 (and no longer through C stdio, which
// nothing in sgsim uses for standard output). On a terminal every output operation is flushed, as the
// line-buffered stdio would have done; elsewhere output goes out in 64 KiB writes.
class CheckedStdout {
 public:
  CheckedStdout();
  // Flushes and gives std::cout its own buffer back.
  ~CheckedStdout();
  CheckedStdout(const CheckedStdout&) = delete;
  CheckedStdout& operator=(const CheckedStdout&) = delete;

  // Flushes; the error when any write to standard output failed: "cannot write to standard output: <reason>".
  std::optional<Error> finish();
  // The failure was EPIPE: the reader closed its end (`sgsim … | head`).
  bool readerClosed() const;

 private:
  FdWriteBuf buf_;
  std::streambuf* saved_;
};

}  // namespace sgsim
