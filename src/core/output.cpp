#include "sgsim/core/output.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string_view>

namespace sgsim {

FdWriteBuf::FdWriteBuf(int fd) : fd_(fd) { setp(buf_, buf_ + sizeof buf_); }

bool FdWriteBuf::flushAll() {
  std::string_view pending(pbase(), static_cast<std::size_t>(pptr() - pbase()));
  setp(buf_, buf_ + sizeof buf_);
  while (errno_ == 0 && !pending.empty()) {
    const ssize_t n = ::write(fd_, pending.data(), pending.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // a non-blocking descriptor inherited from the caller
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, -1) >= 0 || errno == EINTR) continue;
      }
      errno_ = errno != 0 ? errno : EIO;
    } else {
      pending.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  return errno_ == 0;
}

FdWriteBuf::int_type FdWriteBuf::overflow(int_type c) {
  if (!flushAll()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

CheckedStdout::CheckedStdout() : buf_(STDOUT_FILENO), saved_(std::cout.rdbuf(&buf_)) {
  if (::isatty(STDOUT_FILENO) == 1) std::cout << std::unitbuf;
}

CheckedStdout::~CheckedStdout() {
  buf_.flushAll();
  std::cout.rdbuf(saved_);
}

std::optional<Error> CheckedStdout::finish() {
  std::cout.flush();
  if (buf_.flushAll()) return std::nullopt;
  return Error{"", std::string("cannot write to standard output: ") + std::strerror(buf_.errorNumber())};
}

bool CheckedStdout::readerClosed() const { return buf_.errorNumber() == EPIPE; }

}  // namespace sgsim
