#include "sgsim/core/atomic_file.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
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

std::string baseOf(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// The descriptor that `path` names in this process (/dev/stdout, /dev/fd/3, /proc/self/fd/3 …), or -1.
// Opening such a name would start a new file description at offset 0 (or, followed as a link, replace the
// file the shell redirected to); a dup() writes where the descriptor writes.
int ownDescriptor(const std::string& path) {
  if (path == "/dev/stdin") return STDIN_FILENO;
  if (path == "/dev/stdout") return STDOUT_FILENO;
  if (path == "/dev/stderr") return STDERR_FILENO;
  for (const std::string& prefix :
       {std::string("/dev/fd/"), std::string("/proc/self/fd/"), std::string("/proc/thread-self/fd/"),
        "/proc/" + std::to_string(::getpid()) + "/fd/"}) {
    if (!startsWith(path, prefix)) continue;
    const std::string digits = path.substr(prefix.size());
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoi(digits);
  }
  return -1;
}

// A Unix socket is written through as a stream connection.
int connectSocket(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return -1;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return -1;
  return fd.release();
}

}  // namespace

Result<std::unique_ptr<AtomicFile>> AtomicFile::create(const std::string& path) {
  if (path.empty()) return Error{path, "no file name given"};
  if (path.back() == '/') return Error{path, "names a directory, not a file"};
  auto make = [&](const std::string& target, std::string tmp, int fd, Kept kept = {}) {
    return std::unique_ptr<AtomicFile>(new AtomicFile(path, target, std::move(tmp), fd, kept));
  };

  // Follow symbolic links one at a time, so that each name met on the way can be recognised.
  std::string target = path;
  struct stat st {};
  bool exists = true;
  for (int hops = 0;; ++hops) {
    const std::string linkNote = target == path ? "" : " (symbolic link to " + target + ")";
    if (const int own = ownDescriptor(target); own >= 0) {
      const int fd = ::fcntl(own, F_DUPFD_CLOEXEC, 0);
      if (fd < 0)
        return Error{path, sysError(("cannot write to descriptor " + std::to_string(own)).c_str()) + linkNote};
      return make(target, "", fd);
    }
    if (startsWith(target, "/proc/")) {  // another process's descriptor, or a kernel file: never replaced
      const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (fd < 0) return Error{path, sysError("cannot open for writing") + linkNote};
      return make(target, "", fd);
    }
    if (::lstat(target.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) return Error{path, sysError("cannot look it up") + linkNote};
      exists = false;
      break;
    }
    if (!S_ISLNK(st.st_mode)) break;
    if (hops == 40) return Error{path, "too many levels of symbolic links"};
    char link[PATH_MAX];
    const ssize_t n = ::readlink(target.c_str(), link, sizeof link - 1);
    if (n < 0) return Error{path, sysError("cannot read the symbolic link") + linkNote};
    const std::string next(link, static_cast<std::size_t>(n));
    target = !next.empty() && next[0] == '/' ? next : directoryOf(target) + "/" + next;
  }
  const std::string linkNote = target == path ? "" : " (symbolic link to " + target + ")";

  if (exists && S_ISDIR(st.st_mode)) return Error{path, "is a directory, not a file" + linkNote};
  if (exists && S_ISSOCK(st.st_mode)) {
    const int fd = connectSocket(target);
    if (fd < 0) return Error{path, sysError("cannot connect to the socket") + linkNote};
    return make(target, "", fd);
  }
  if (exists && !S_ISREG(st.st_mode)) {  // FIFO, character or block device: written through
    const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return Error{path, sysError("cannot open for writing") + linkNote};
    return make(target, "", fd);
  }

  // A regular file, or a new one: replaced atomically through a temporary file beside it.
  const std::string dir = directoryOf(target);
  struct stat dirSt {};
  if (::stat(dir.c_str(), &dirSt) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Error{path, "the directory " + dir + " does not exist" + linkNote};
    return Error{path, sysError(("cannot look up the directory " + dir).c_str()) + linkNote};
  }
  if (!S_ISDIR(dirSt.st_mode)) return Error{path, dir + " is not a directory" + linkNote};
  Kept kept;
  if (exists) {
    // As `>` would: a file the user may not write is not replaced (root may write any).
    if (::faccessat(AT_FDCWD, target.c_str(), W_OK, AT_EACCESS) != 0)
      return Error{path, sysError("cannot write") + linkNote};
    kept = {true, static_cast<unsigned>(st.st_mode & 07777), st.st_uid, st.st_gid};
  }
  // O_EXCL with a per-process counter instead of mkstemp: the file is created with the umask applied,
  // as a plain open() of the target would have been.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = dir + "/." + baseOf(target) + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST)
      return Error{path, sysError(("cannot create a temporary file in " + dir + " to replace it").c_str()) + linkNote};
  }
  if (fd < 0) return Error{path, "cannot create a unique temporary file in " + dir + linkNote};
  return make(target, tmp, fd, kept);
}

AtomicFile::AtomicFile(std::string path, std::string target, std::string tmp, int fd, Kept kept)
    : path_(std::move(path)),
      target_(std::move(target)),
      tmp_(std::move(tmp)),
      fd_(fd),
      kept_(kept),
      buf_(fd),
      stream_(&buf_) {}

AtomicFile::~AtomicFile() {
  if (done_) return;
  ::close(fd_);
  if (replaces()) ::unlink(tmp_.c_str());
}

std::string AtomicFile::via() const { return target_ == path_ ? "" : " (symbolic link to " + target_ + ")"; }

std::optional<Error> AtomicFile::failure() const {
  if (!buf_.failed()) return std::nullopt;
  return Error{path_, std::string("cannot write: ") + std::strerror(buf_.errorNumber()) + via()};
}

std::optional<Error> AtomicFile::commit(Sync sync) {
  if (done_) return Error{path_, "already written"};
  done_ = true;
  auto fail = [&](const std::string& why) -> std::optional<Error> {
    ::close(fd_);
    if (replaces()) ::unlink(tmp_.c_str());
    return Error{path_, why + via()};
  };
  stream_.flush();
  if (!buf_.flushAll()) return fail(std::string("cannot write: ") + std::strerror(buf_.errorNumber()));
  if (!replaces()) {
    if (::close(fd_) != 0) return Error{path_, sysError("cannot write") + via()};
    return std::nullopt;
  }
  if (kept_.exists) {
    // The owner first: chown clears the set-user-ID and set-group-ID bits that fchmod then restores. Only
    // root may give a file away, and a user only to a group they are in; otherwise the new file is the user's.
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && (st.st_uid != kept_.uid || st.st_gid != kept_.gid)) {
      if (::fchown(fd_, kept_.uid, kept_.gid) != 0) static_cast<void>(::fchown(fd_, static_cast<uid_t>(-1), kept_.gid));
    }
    if (::fchmod(fd_, kept_.mode) != 0) return fail(sysError("cannot set permissions"));
  }
  if (sync == Sync::Durable && ::fsync(fd_) != 0) return fail(sysError("cannot flush to disk"));
  if (::close(fd_) != 0) {
    const std::string why = sysError("cannot close");
    ::unlink(tmp_.c_str());
    return Error{path_, why + via()};
  }
  if (::rename(tmp_.c_str(), target_.c_str()) != 0) {
    const std::string why = sysError("cannot replace");
    ::unlink(tmp_.c_str());
    return Error{path_, why + via()};
  }
  // Make the rename itself durable; failing here cannot undo it, so it is not reported.
  if (sync == Sync::Scratch) return std::nullopt;
  Fd dirFd(::open(directoryOf(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirFd.get() >= 0) ::fsync(dirFd.get());
  return std::nullopt;
}

std::optional<Error> writeFileAtomically(const std::string& path, std::string_view content, AtomicFile::Sync sync) {
  auto file = AtomicFile::create(path);
  if (!file) return file.error();
  (*file)->stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  return (*file)->commit(sync);
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
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<std::size_t>(st.st_size));  // not grown by doubling
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
