// How every file option writes to the node its path names (sgsim/core/atomic_file.h): regular files and new
// paths replaced atomically, keeping mode and owner; symbolic links followed and their targets replaced;
// FIFOs, devices, sockets and descriptor names written through and left as they were; directories, missing
// directories and files the user may not write refused with the path named. The suite runs as root in CI and
// as a user on a laptop: every test checks the same behaviour both ways (as root, "a user" is a forked child
// that has dropped to nobody).
#include "sgsim/core/atomic_file.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace sgsim {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct stat lstatOf(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

std::string readAllFd(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Reads a FIFO as `cat` would, up to `limit` bytes, without ever blocking for good: a writer that never comes
// (code that replaced the FIFO instead of opening it) ends the read after a few seconds with what arrived.
std::string readFifo(const std::string& path, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // does not wait for a writer
  if (fd < 0) return "";
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (out.size() < limit && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;  // POLLHUP comes only after a writer has come and gone
    char buf[4096];
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, limit - out.size()));
    if (n == 0) break;  // the writer closed its end
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// Content larger than one 64 KiB buffer, so that it goes out in several writes.
std::string bigContent() {
  std::string s;
  for (int i = 0; s.size() < 200000; ++i) s += "line " + std::to_string(i) + "\n";
  return s;
}

class AtomicFileNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sgsim_nodes_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);  // a child dropped to nobody must reach the files
  }
  void TearDown() override {
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir_, ec))
      if (e.symlink_status(ec).type() == fs::file_type::directory)
        fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add);
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }
  std::vector<std::string> entries(const fs::path& d) const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(d)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Runs `check` as an unprivileged user: this process when it is not root, else a child that became nobody.
// `check` returns "" on success or what went wrong.
void asUnprivilegedUser(const std::function<std::string()>& check) {
  if (::geteuid() != 0) {
    const std::string why = check();
    EXPECT_EQ(why, "");
    return;
  }
  int pipeFds[2];
  ASSERT_EQ(::pipe(pipeFds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipeFds[0]);
    std::string why;
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) why = "cannot drop to nobody";
    if (why.empty()) why = check();
    static_cast<void>(::write(pipeFds[1], why.data(), why.size()));
    ::_exit(0);
  }
  ::close(pipeFds[1]);
  const std::string why = readAllFd(pipeFds[0]);
  ::close(pipeFds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(why, "");
}

TEST_F(AtomicFileNodes, NewPathIsCreatedWithTheUmaskAndNoTemporaryLeft) {
  const std::string p = path("new.json");
  const mode_t mask = ::umask(022);
  auto err = writeFileAtomically(p, "hello");
  ::umask(mask);
  ASSERT_FALSE(err) << err->toString();
  EXPECT_EQ(slurp(p), "hello");
  EXPECT_EQ(lstatOf(p).st_mode & 07777, 0644u);
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"new.json"});
}

TEST_F(AtomicFileNodes, RegularFileIsReplacedKeepingItsModeAndOwner) {
  const std::string p = path("model.json");
  std::ofstream(p) << "old";
  ASSERT_EQ(::chmod(p.c_str(), 0640), 0);
  // As root, give the file to someone else: the new file must go back to them. As a user, the owner is the
  // user, and a supplementary group (when there is one) stands in for "someone else's" group.
  uid_t wantUid = ::getuid();
  gid_t wantGid = ::getgid();
  if (::geteuid() == 0) {
    wantUid = 4242;
    wantGid = 4343;
  } else {
    std::vector<gid_t> groups(static_cast<std::size_t>(::getgroups(0, nullptr)));
    if (!groups.empty()) ::getgroups(static_cast<int>(groups.size()), groups.data());
    for (gid_t g : groups)
      if (g != ::getgid()) wantGid = g;
  }
  ASSERT_EQ(::chown(p.c_str(), wantUid, wantGid), 0) << std::strerror(errno);
  ASSERT_EQ(::chmod(p.c_str(), 0640), 0);  // chown may clear bits
  const ino_t before = lstatOf(p).st_ino;

  auto err = writeFileAtomically(p, "new content");
  ASSERT_FALSE(err) << err->toString();
  EXPECT_EQ(slurp(p), "new content");
  const struct stat st = lstatOf(p);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_NE(st.st_ino, before);  // replaced by a rename, not rewritten in place
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, wantUid);
  EXPECT_EQ(st.st_gid, wantGid);
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"model.json"});
}

TEST_F(AtomicFileNodes, SymlinkTargetIsReplacedAndTheLinkStays) {
  const std::string real = path("real.json"), link = path("link.json");
  std::ofstream(real) << "old";
  ASSERT_EQ(::chmod(real.c_str(), 0600), 0);
  ASSERT_EQ(::symlink("real.json", link.c_str()), 0);  // relative, as `ln -s` makes them
  auto err = writeFileAtomically(link, "through the link");
  ASSERT_FALSE(err) << err->toString();
  EXPECT_TRUE(S_ISLNK(lstatOf(link).st_mode));
  EXPECT_EQ(fs::read_symlink(link), "real.json");
  EXPECT_EQ(slurp(real), "through the link");
  EXPECT_EQ(lstatOf(real).st_mode & 07777, 0600u);
  EXPECT_EQ(entries(dir_), (std::vector<std::string>{"link.json", "real.json"}));
}

TEST_F(AtomicFileNodes, TemporaryFileGoesBesideTheLinksTargetInAnotherDirectory) {
  fs::create_directory(dir_ / "a");
  fs::create_directory(dir_ / "b");
  std::ofstream(dir_ / "b" / "real.csv") << "old";
  const std::string link = (dir_ / "a" / "out.csv").string();
  ASSERT_EQ(::symlink("../b/real.csv", link.c_str()), 0);
  auto file = AtomicFile::create(link);
  ASSERT_TRUE(file) << file.error().toString();
  EXPECT_TRUE((*file)->replaces());
  (*file)->stream() << "new";
  // Same directory as the file it replaces, so that the rename is atomic on its file system.
  EXPECT_EQ(entries(dir_ / "a"), std::vector<std::string>{"out.csv"});
  ASSERT_EQ(entries(dir_ / "b").size(), 2u);
  EXPECT_EQ(entries(dir_ / "b")[0].rfind(".real.csv.tmp.", 0), 0u);
  ASSERT_FALSE((*file)->commit());
  EXPECT_EQ(entries(dir_ / "b"), std::vector<std::string>{"real.csv"});
  EXPECT_EQ(slurp(dir_ / "b" / "real.csv"), "new");
  EXPECT_TRUE(S_ISLNK(lstatOf(link).st_mode));
}

TEST_F(AtomicFileNodes, DanglingSymlinkCreatesItsTarget) {
  const std::string link = path("link.pcap");
  ASSERT_EQ(::symlink("made.pcap", link.c_str()), 0);
  auto err = writeFileAtomically(link, "created");
  ASSERT_FALSE(err) << err->toString();
  EXPECT_TRUE(S_ISLNK(lstatOf(link).st_mode));
  EXPECT_EQ(slurp(path("made.pcap")), "created");

  // A dangling link into a missing directory: an error that names the path and where the link leads.
  const std::string lost = path("lost.pcap");
  ASSERT_EQ(::symlink((dir_ / "gone" / "x.pcap").c_str(), lost.c_str()), 0);
  auto bad = writeFileAtomically(lost, "x");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->where, lost);
  EXPECT_EQ(bad->message, "the directory " + (dir_ / "gone").string() + " does not exist (symbolic link to " +
                              (dir_ / "gone" / "x.pcap").string() + ")");
}

TEST_F(AtomicFileNodes, ChainOfSymlinksIsFollowedToTheEnd) {
  fs::create_directory(dir_ / "deep");
  const std::string real = (dir_ / "deep" / "real.json").string();
  std::ofstream(real) << "old";
  ASSERT_EQ(::symlink(real.c_str(), path("l2").c_str()), 0);  // absolute
  ASSERT_EQ(::symlink("l2", path("l1").c_str()), 0);          // relative
  ASSERT_EQ(::symlink("l1", path("l0").c_str()), 0);
  auto err = writeFileAtomically(path("l0"), "end of the chain");
  ASSERT_FALSE(err) << err->toString();
  EXPECT_EQ(slurp(real), "end of the chain");
  for (const char* l : {"l0", "l1", "l2"}) EXPECT_TRUE(S_ISLNK(lstatOf(path(l)).st_mode)) << l;
  EXPECT_EQ(fs::read_symlink(path("l1")), "l2");

  ASSERT_EQ(::symlink("loop-b", path("loop-a").c_str()), 0);
  ASSERT_EQ(::symlink("loop-a", path("loop-b").c_str()), 0);
  auto loop = writeFileAtomically(path("loop-a"), "x");
  ASSERT_TRUE(loop);
  EXPECT_EQ(loop->where, path("loop-a"));
  EXPECT_EQ(loop->message, "too many levels of symbolic links");
}

TEST_F(AtomicFileNodes, FifoIsWrittenThroughToItsReaderAndStaysAFifo) {
  const std::string fifo = path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string content = bigContent();  // more than the pipe holds: the reader must be draining it
  std::string received;
  std::thread reader([&] { received = readFifo(fifo, content.size() + 1); });
  auto err = writeFileAtomically(fifo, content);
  reader.join();
  ASSERT_FALSE(err) << err->toString();
  EXPECT_EQ(received, content);
  EXPECT_TRUE(S_ISFIFO(lstatOf(fifo).st_mode));
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"fifo"});
}

TEST_F(AtomicFileNodes, FifoWhoseReaderLeftIsAWriteErrorNamingIt) {
  const std::string fifo = path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto* previous = std::signal(SIGPIPE, SIG_IGN);  // as sgsim's main() does
  std::thread reader([&] { readFifo(fifo, 1); });  // reads one byte and leaves, like `head -c1`
  auto file = AtomicFile::create(fifo);
  ASSERT_TRUE(file) << file.error().toString();
  EXPECT_FALSE((*file)->replaces());
  const std::string content = bigContent();
  for (int i = 0; i < 10 && (*file)->stream(); ++i) (*file)->stream() << content;
  reader.join();
  auto err = (*file)->commit();
  std::signal(SIGPIPE, previous);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->toString(), fifo + ": cannot write: Broken pipe");
  ASSERT_TRUE((*file)->failure());
  EXPECT_TRUE(S_ISFIFO(lstatOf(fifo).st_mode));
}

// A character device must stay the device: as root, a rename over /dev/null would replace it for the whole
// machine. First a device node of our own (root only: users cannot mknod), then /dev/null and /dev/full.
TEST_F(AtomicFileNodes, CharacterDevicesAreWrittenThroughAndStayDevices) {
  std::vector<std::string> devices;
  const std::string own = path("null");
  if (::mknod(own.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) == 0) devices.push_back(own);
  devices.push_back("/dev/null");
  for (const std::string& dev : devices) {
    SCOPED_TRACE(dev);
    const struct stat before = lstatOf(dev);
    ASSERT_TRUE(S_ISCHR(before.st_mode));
    auto file = AtomicFile::create(dev);
    ASSERT_TRUE(file) << file.error().toString();
    EXPECT_FALSE((*file)->replaces());
    (*file)->stream() << bigContent();
    auto err = (*file)->commit();
    EXPECT_FALSE(err) << err->toString();
    const struct stat after = lstatOf(dev);
    EXPECT_TRUE(S_ISCHR(after.st_mode));
    EXPECT_EQ(after.st_rdev, before.st_rdev);
    EXPECT_EQ(after.st_ino, before.st_ino);
    EXPECT_EQ(after.st_mode, before.st_mode);
  }
  EXPECT_LE(entries(dir_).size(), 1u);  // no temporary file beside our own node

  const struct stat fullBefore = lstatOf("/dev/full");
  auto full = writeFileAtomically("/dev/full", "x");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->toString(), "/dev/full: cannot write: No space left on device");
  const struct stat fullAfter = lstatOf("/dev/full");
  EXPECT_TRUE(S_ISCHR(fullAfter.st_mode));
  EXPECT_EQ(fullAfter.st_ino, fullBefore.st_ino);
}

TEST_F(AtomicFileNodes, FailureIsSeenWhileStreamingNotOnlyAtTheEnd) {
  auto file = AtomicFile::create("/dev/full");
  ASSERT_TRUE(file) << file.error().toString();
  EXPECT_FALSE((*file)->failure());
  std::ostream& out = (*file)->stream();
  const std::string line(100, 'x');
  int lines = 0;
  while (out.good() && lines < 100000) {
    out << line << '\n';
    ++lines;
  }
  EXPECT_FALSE(out.good());
  EXPECT_LT(lines, 1000);  // the first 64 KiB buffer that went out failed
  ASSERT_TRUE((*file)->failure());
  EXPECT_EQ((*file)->failure()->toString(), "/dev/full: cannot write: No space left on device");
}

TEST_F(AtomicFileNodes, DescriptorNamesAreWrittenThroughTheDescriptor) {
  for (const std::string prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    SCOPED_TRACE(prefix);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::string received;
    std::thread reader([&] { received = readAllFd(fds[0]); });
    const std::string name = prefix + std::to_string(fds[1]);
    auto file = AtomicFile::create(name);
    ASSERT_TRUE(file) << file.error().toString();
    EXPECT_FALSE((*file)->replaces());
    (*file)->stream() << "through the descriptor\n";
    auto err = (*file)->commit();
    EXPECT_FALSE(err) << err->toString();
    EXPECT_NE(::fcntl(fds[1], F_GETFD), -1);  // our descriptor is still open: sgsim wrote through a dup
    ASSERT_EQ(::write(fds[1], "and after\n", 10), 10);
    ::close(fds[1]);
    reader.join();
    ::close(fds[0]);
    EXPECT_EQ(received, "through the descriptor\nand after\n");
  }
  auto closed = AtomicFile::create("/dev/fd/987");
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().toString(), "/dev/fd/987: cannot write to descriptor 987: Bad file descriptor");
}

TEST_F(AtomicFileNodes, UnixSocketIsWrittenThroughAConnection) {
  const std::string sock = path("sock");
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(sock.size(), sizeof address.sun_path);
  std::memcpy(address.sun_path, sock.c_str(), sock.size() + 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  std::string received;
  std::thread server([&] {
    const int conn = ::accept(listener, nullptr, nullptr);
    if (conn < 0) return;
    received = readAllFd(conn);
    ::close(conn);
  });
  auto err = writeFileAtomically(sock, "over the socket");
  server.join();
  ::close(listener);
  ASSERT_FALSE(err) << err->toString();
  EXPECT_EQ(received, "over the socket");
  EXPECT_TRUE(S_ISSOCK(lstatOf(sock).st_mode));
}

TEST_F(AtomicFileNodes, DirectoryIsAnErrorAndIsLeftAlone) {
  const fs::path target = dir_ / "out";
  fs::create_directory(target);
  std::ofstream(target / "inside") << "keep";
  for (const std::string& p : {target.string(), target.string() + "/"}) {
    auto err = writeFileAtomically(p, "x");
    ASSERT_TRUE(err) << p;
    EXPECT_EQ(err->where, p);
    EXPECT_NE(err->message.find("directory"), std::string::npos) << err->message;
  }
  EXPECT_EQ(slurp(target / "inside"), "keep");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"out"});
  ASSERT_EQ(::symlink("out", path("to-dir").c_str()), 0);
  auto viaLink = writeFileAtomically(path("to-dir"), "x");
  ASSERT_TRUE(viaLink);
  EXPECT_EQ(viaLink->message, "is a directory, not a file (symbolic link to " + path("out") + ")");
}

TEST_F(AtomicFileNodes, MissingDirectoryIsAnErrorNamingIt) {
  const std::string p = (dir_ / "no" / "such" / "out.json").string();
  auto err = writeFileAtomically(p, "x");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->where, p);
  EXPECT_EQ(err->message, "the directory " + (dir_ / "no" / "such").string() + " does not exist");
  EXPECT_FALSE(fs::exists(dir_ / "no"));
  std::ofstream(dir_ / "plain") << "a file";
  auto notDir = writeFileAtomically((dir_ / "plain" / "out.json").string(), "x");
  ASSERT_TRUE(notDir);
  EXPECT_EQ(notDir->message, (dir_ / "plain").string() + " is not a directory");
}

TEST_F(AtomicFileNodes, UnwritableFileOrDirectoryIsAnErrorAndNothingChanges) {
  // A file the user may not write, in a directory the user may not write (as root, the child that dropped
  // to nobody owns neither; as a user, permissions take the rights away).
  const std::string locked = path("locked.json");
  std::ofstream(locked) << "old";
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(locked.c_str(), 0444), 0);
    ASSERT_EQ(::chmod(dir_.c_str(), 0555), 0);
  } else {
    ASSERT_EQ(::chmod(locked.c_str(), 0644), 0);
  }
  const std::string fresh = path("fresh.json");
  asUnprivilegedUser([&]() -> std::string {
    auto err = writeFileAtomically(locked, "new");
    if (!err) return "an unwritable file was replaced";
    if (err->toString() != locked + ": cannot write: Permission denied") return "unexpected: " + err->toString();
    auto err2 = writeFileAtomically(fresh, "new");
    if (!err2) return "a file was created in an unwritable directory";
    if (err2->toString() !=
        fresh + ": cannot create a temporary file in " + dir_.string() + " to replace it: Permission denied")
      return "unexpected: " + err2->toString();
    return "";
  });
  ::chmod(dir_.c_str(), 0755);
  EXPECT_EQ(slurp(locked), "old");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"locked.json"});
}

TEST_F(AtomicFileNodes, WithoutCommitAReplacedFileIsUntouched) {
  const std::string p = path("keep.json");
  std::ofstream(p) << "old";
  {
    auto file = AtomicFile::create(p);
    ASSERT_TRUE(file);
    (*file)->stream() << bigContent();
  }
  EXPECT_EQ(slurp(p), "old");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"keep.json"});
}

}  // namespace
}  // namespace sgsim
