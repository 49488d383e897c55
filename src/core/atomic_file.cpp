#include "sgsim/core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <utility>

namespace sgsim {

namespace {

std::string sysError(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Every fd we open is closed on every path; the destructor only covers early returns.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string directoryOf(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool writeAll(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<AtomicFile>> AtomicFile::create(const std::string& path) {
  if (path.empty()) return Error{path, "no file name given"};
  const std::string dir = directoryOf(path);
  const std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  if (base.empty()) return Error{path, "names a directory, not a file"};

  struct stat existing {};
  // A directory in the way is caught by rename() in commit(), after the temporary file exists, like any late
  // failure.
  const bool haveExisting = ::stat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode);

  // O_EXCL with a per-process counter instead of mkstemp: the file is created with the umask applied,
  // as a plain open() of the target would have been.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = dir;
    tmp += "/.";
    tmp += base;
    tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) return Error{path, sysError("cannot create a temporary file beside it")};
  }
  if (fd < 0) return Error{path, "cannot create a unique temporary file in " + dir};
  return std::unique_ptr<AtomicFile>(
      new AtomicFile(path, tmp, fd, haveExisting, static_cast<unsigned>(existing.st_mode & 07777)));
}

AtomicFile::AtomicFile(std::string path, std::string tmp, int fd, bool keepMode, unsigned mode)
    : path_(std::move(path)),
      tmp_(std::move(tmp)),
      fd_(fd),
      keepMode_(keepMode),
      mode_(mode),
      buf_(fd),
      stream_(&buf_) {}

AtomicFile::~AtomicFile() {
  if (done_) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

AtomicFile::Buf::Buf(int fd) : fd_(fd) { setp(buf_, buf_ + sizeof buf_); }

bool AtomicFile::Buf::flushAll() {
  if (!failed_ && !writeAll(fd_, std::string_view(pbase(), static_cast<std::size_t>(pptr() - pbase())))) failed_ = true;
  setp(buf_, buf_ + sizeof buf_);
  return !failed_;
}

AtomicFile::Buf::int_type AtomicFile::Buf::overflow(int_type c) {
  if (!flushAll()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

std::optional<Error> AtomicFile::commit() {
  if (done_) return Error{path_, "already written"};
  done_ = true;
  auto fail = [&](const std::string& why) -> std::optional<Error> {
    ::close(fd_);
    ::unlink(tmp_.c_str());
    return Error{path_, why};
  };
  stream_.flush();
  if (!buf_.flushAll() || buf_.failed()) return fail(sysError("cannot write"));
  if (keepMode_ && ::fchmod(fd_, mode_) != 0) return fail(sysError("cannot set permissions"));
  if (::fsync(fd_) != 0) return fail(sysError("cannot flush to disk"));
  if (::close(fd_) != 0) {
    const std::string why = sysError("cannot close");
    ::unlink(tmp_.c_str());
    return Error{path_, why};
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string why = sysError("cannot replace");
    ::unlink(tmp_.c_str());
    return Error{path_, why};
  }
  // Make the rename itself durable; failing here cannot undo it, so it is not reported.
  Fd dirFd(::open(directoryOf(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirFd.get() >= 0) ::fsync(dirFd.get());
  return std::nullopt;
}

std::optional<Error> writeFileAtomically(const std::string& path, std::string_view content) {
  auto file = AtomicFile::create(path);
  if (!file) return file.error();
  (*file)->stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  return (*file)->commit();
}

Result<std::string> readWholeFile(const std::string& path) {
  if (path == "-") {
    std::string all{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    if (std::cin.bad()) return Error{"<stdin>", "cannot read standard input"};
    return all;
  }
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Error{path, sysError("cannot open")};
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) return Error{path, "is a directory, not a file"};
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{path, sysError("cannot read")};
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace sgsim
