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

std::optional<Error> writeFileAtomically(const std::string& path, std::string_view content) {
  if (path.empty()) return Error{path, "no file name given"};
  const std::string dir = directoryOf(path);
  const std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  if (base.empty()) return Error{path, "names a directory, not a file"};

  struct stat existing {};
  // A directory in the way is caught by rename() below, after the temporary file exists, like any late failure.
  const bool haveExisting = ::stat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode);

  // O_EXCL with a per-process counter instead of mkstemp: the file is created with the umask applied,
  // as a plain open() of the target would have been.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int rawFd = -1;
  for (int attempt = 0; attempt < 100 && rawFd < 0; ++attempt) {
    tmp = dir;
    tmp += "/.";
    tmp += base;
    tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    rawFd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (rawFd < 0 && errno != EEXIST) return Error{path, sysError("cannot create a temporary file beside it")};
  }
  if (rawFd < 0) return Error{path, "cannot create a unique temporary file in " + dir};
  Fd fd(rawFd);

  auto fail = [&](const std::string& why) -> std::optional<Error> {
    ::close(fd.release());
    ::unlink(tmp.c_str());
    return Error{path, why};
  };
  if (haveExisting && ::fchmod(fd.get(), existing.st_mode & 07777) != 0)
    return fail(sysError("cannot set permissions"));
  if (!writeAll(fd.get(), content)) return fail(sysError("cannot write"));
  if (::fsync(fd.get()) != 0) return fail(sysError("cannot flush to disk"));
  if (::close(fd.release()) != 0) {
    ::unlink(tmp.c_str());
    return Error{path, sysError("cannot close")};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = sysError("cannot replace");
    ::unlink(tmp.c_str());
    return Error{path, why};
  }
  // Make the rename itself durable; failing here cannot undo it, so it is not reported.
  Fd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirFd.get() >= 0) ::fsync(dirFd.get());
  return std::nullopt;
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
