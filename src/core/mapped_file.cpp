#include "sgsim/core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sgsim/core/map_guard.h"

namespace sgsim {

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path, const std::string& notRegular,
                                                     Populate populate, const std::string& what) {
  const std::string kind = what.empty() ? "" : " " + what;
  // Not blocking: a FIFO is refused as not a regular file, not waited on for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Error{path, "cannot open" + kind + ": " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{path, notRegular};
  }
  std::unique_ptr<MappedFile> m(new MappedFile);
  m->path_ = path;
  m->size_ = static_cast<std::size_t>(st.st_size);
  if (m->size_ > 0) {
    const int flags = MAP_PRIVATE | (populate == Populate::Yes ? MAP_POPULATE : 0);
    void* at = ::mmap(nullptr, m->size_, PROT_READ, flags, fd, 0);
    const int err = errno;
    if (at == MAP_FAILED) {
      ::close(fd);
      return Error{path, "cannot map" + kind + ": " + std::strerror(err)};
    }
    m->at_ = at;
    m->guard_ = mapguard::take();  // none free (1024 files mapped at once): read unguarded
    mapguard::watch(m->guard_, m->at_, m->size_);
  }
  ::close(fd);
  return m;
}

MappedFile::~MappedFile() {
  mapguard::release(guard_);
  if (at_ != nullptr) ::munmap(at_, size_);
}

void MappedFile::dropBelow(std::uint64_t offset) {
  const std::uint64_t page = mapguard::pageSize();
  const std::uint64_t upTo = std::min<std::uint64_t>(offset, size_) / page * page;
  if (at_ == nullptr || upTo <= dropped_) return;
  // A hint: if the kernel declines, the pages only stay.
  ::madvise(static_cast<char*>(at_) + dropped_, upTo - dropped_, MADV_DONTNEED);
  dropped_ = upTo;
}

}  // namespace sgsim
