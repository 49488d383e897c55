// Checked standard output (sgsim/core/output.h): a full disk or a closed pipe on descriptor 1 is noticed, once,
// with its reason, and the stream goes bad so that a streaming command stops at its next batch.
#include "sgsim/core/output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iostream>
#include <string>
#include <thread>

namespace sgsim {
namespace {

// Points descriptor 1 somewhere else for the length of a test, then back.
class StdoutRedirect {
 public:
  explicit StdoutRedirect(int fd) : saved_(::dup(STDOUT_FILENO)) {
    std::cout.flush();
    ::dup2(fd, STDOUT_FILENO);
  }
  ~StdoutRedirect() {
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
  }
  StdoutRedirect(const StdoutRedirect&) = delete;
  StdoutRedirect& operator=(const StdoutRedirect&) = delete;

 private:
  int saved_;
};

TEST(CheckedStdout, FullDiskIsOneErrorNamingStandardOutput) {
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  std::optional<Error> err;
  bool badWhileStreaming = false;
  {
    StdoutRedirect redirect(full);
    CheckedStdout out;
    for (int i = 0; i < 100000 && std::cout.good(); ++i) std::cout << "a line of a report\n";
    badWhileStreaming = !std::cout.good();
    err = out.finish();
    EXPECT_FALSE(out.readerClosed());
  }
  ::close(full);
  EXPECT_TRUE(std::cout.good());  // std::cout has its own buffer and a clean state back
  EXPECT_TRUE(badWhileStreaming);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->toString(), "cannot write to standard output: No space left on device");
}

TEST(CheckedStdout, SmallOutputIsCheckedAtTheEnd) {
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  std::optional<Error> err;
  {
    StdoutRedirect redirect(full);
    CheckedStdout out;
    std::cout << "{\"RequestId\":\"x\"}\n";  // buffered: the failure shows when it is flushed
    err = out.finish();
  }
  ::close(full);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->toString(), "cannot write to standard output: No space left on device");
}

TEST(CheckedStdout, ClosedPipeIsSeenAsTheReaderLeaving) {
  auto* previous = std::signal(SIGPIPE, SIG_IGN);  // as sgsim's main() does
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  std::optional<Error> err;
  bool readerClosed = false;
  {
    StdoutRedirect redirect(fds[1]);
    CheckedStdout out;
    std::cout << "first line\n";
    err = out.finish();
    readerClosed = out.readerClosed();
  }
  ::close(fds[1]);
  std::signal(SIGPIPE, previous);
  ASSERT_TRUE(err);
  EXPECT_TRUE(readerClosed);
  EXPECT_EQ(err->toString(), "cannot write to standard output: Broken pipe");
}

TEST(CheckedStdout, EverythingArrivesWhenNothingFails) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::optional<Error> err;
  {
    StdoutRedirect redirect(fds[1]);
    CheckedStdout out;
    std::cout << "one\n" << 2 << '\n';
    err = out.finish();
  }
  ::close(fds[1]);
  char buf[64];
  const ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  EXPECT_FALSE(err);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n > 0 ? n : 0)), "one\n2\n");
}

TEST(FdWriteBuf, NonBlockingDescriptorWaitsInsteadOfFailing) {
  // A caller may hand sgsim a non-blocking pipe: a full pipe is EAGAIN, which is not an error to report.
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  std::size_t received = 0;
  std::thread reader([&] {
    char buf[4096];
    for (;;) {
      pollfd p{fds[0], POLLIN, 0};
      ::poll(&p, 1, 1000);
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n == 0) break;
      if (n > 0) received += static_cast<std::size_t>(n);
    }
  });
  {
    FdWriteBuf buf(fds[1]);
    std::ostream out(&buf);
    out << std::string(1 << 20, 'x');
    EXPECT_TRUE(buf.flushAll());
    EXPECT_FALSE(buf.failed());
  }
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_EQ(received, std::size_t{1} << 20);
}

TEST(FdWriteBuf, StopsWritingAfterTheFirstFailure) {
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  FdWriteBuf buf(full);
  std::ostream out(&buf);
  out << std::string(70000, 'x');  // more than the buffer: one write, which fails
  EXPECT_TRUE(buf.failed());
  EXPECT_EQ(buf.errorNumber(), ENOSPC);
  EXPECT_FALSE(out.good());
  EXPECT_FALSE(buf.flushAll());
  ::close(full);
}

}  // namespace
}  // namespace sgsim
