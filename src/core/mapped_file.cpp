#include "sgsim/core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sgsim/core/map_guard.h"

namespace sgsim {

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path, const std::string& notRegular) {
  // Not blocking: a FIFO is refused as not a regular file, not waited on for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Error{path, std::string("cannot open: ") + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{path, notRegular};
  }
  std::unique_ptr<MappedFile> m(new MappedFile);
  m->path_ = path;
  m->size_ = static_cast<std::size_t>(st.st_size);
  if (m->size_ > 0) {
    // Populated: the callers read it all, at once.
    void* at = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    const int err = errno;
    if (at == MAP_FAILED) {
      ::close(fd);
      return Error{path, std::string("cannot map: ") + std::strerror(err)};
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

bool MappedFile::cutShort() const { return mapguard::faulted(guard_); }

}  // namespace sgsim
