// Built into the capture library (src/capture/meson.build): with the reader, the only users of <pcap.h>.

#include "sgsim/report/pcap_writer.h"

#include <fcntl.h>
#include <pcap.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "sgsim/capture/capture_reader.h"
#include "sgsim/core/atomic_file.h"

namespace sgsim {

struct PcapWriter::Output {
  int linkType = 0;
  std::string path;
  std::unique_ptr<AtomicFile> file;  // decides how `path` is written (atomic_file.h) and commits it
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;  // writes through its own FILE* on a dup() of file->fd()

  // Without close() the dumper's descriptor is closed and `file` removes its temporary file.
  ~Output() {
    if (dumper != nullptr) pcap_dump_close(dumper);
    if (dead != nullptr) pcap_close(dead);
  }
};

namespace {

Error systemError(const std::string& path, const char* what) {
  return Error{path, std::string(what) + ": " + std::strerror(errno)};
}

}  // namespace

std::string PcapWriter::pathFor(const std::string& path, int primaryLinkType, int linkType) {
  if (linkType == primaryLinkType) return path;
  const std::filesystem::path p(path);
  const std::string extension = p.has_extension() ? p.extension().string() : ".pcap";
  return (p.parent_path() / (p.stem().string() + "." + linkTypeName(linkType) + extension)).string();
}

PcapWriter::PcapWriter(std::string path, int linkType, std::uint32_t snapLen)
    : path_(std::move(path)), linkType_(linkType), snapLen_(snapLen == 0 ? kDefaultSnapLen : snapLen) {}

PcapWriter::~PcapWriter() = default;

Result<std::unique_ptr<PcapWriter>> PcapWriter::open(const std::string& path, int linkType, std::uint32_t snapLen) {
  std::unique_ptr<PcapWriter> writer(new PcapWriter(path, linkType, snapLen));
  auto primary = writer->outputFor(linkType);
  if (!primary) return primary.error();
  return writer;
}

Result<PcapWriter::Output*> PcapWriter::outputFor(int linkType) {
  for (const auto& output : outputs_) {
    if (output->linkType == linkType) return output.get();
  }
  auto output = std::make_unique<Output>();
  output->linkType = linkType;
  output->path = pathFor(path_, linkType_, linkType);
  if (!outputs_.empty() && !outputs_.front()->file->replaces()) {
    // A pipe or a device holds one stream of one link type, and no sibling file belongs beside it.
    return Error{path_, "frames of link type " + linkTypeName(linkType) +
                            " cannot be written: this output is not a regular file, so it holds only link type " +
                            linkTypeName(linkType_) +
                            " and no sibling file can be made beside it (write to a regular file instead)"};
  }
  auto file = AtomicFile::create(output->path);
  if (!file) return file.error();
  output->file = std::move(*file);
  const int fd = ::fcntl(output->file->fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return systemError(output->path, "cannot write");
  std::FILE* stream = fdopen(fd, "wb");
  if (stream == nullptr) {
    ::close(fd);
    return systemError(output->path, "cannot write");
  }
  output->dead = pcap_open_dead_with_tstamp_precision(linkType, static_cast<int>(snapLen_), PCAP_TSTAMP_PRECISION_NANO);
  if (output->dead == nullptr) {
    std::fclose(stream);
    return Error{output->path, "libpcap cannot write link type " + std::to_string(linkType)};
  }
  output->dumper = pcap_dump_fopen(output->dead, stream);
  if (output->dumper == nullptr) {
    std::fclose(stream);
    return Error{output->path, std::string("cannot write pcap header (") + pcap_geterr(output->dead) + ")"};
  }
  outputs_.push_back(std::move(output));
  return outputs_.back().get();
}

Result<bool> PcapWriter::write(const Frame& frame) {
  if (closed_) return Error{path_, "write after close"};
  auto output = outputFor(frame.linkType);
  if (!output) return output.error();
  pcap_pkthdr header{};
  // Floor division keeps the fraction in [0, 1e9) for timestamps before 1970.
  std::int64_t seconds = frame.tsNs / 1000000000;
  std::int64_t nanos = frame.tsNs % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  header.ts.tv_sec = static_cast<time_t>(seconds);
  header.ts.tv_usec = static_cast<suseconds_t>(nanos);  // nanoseconds: the dumper is nanosecond-precision
  header.caplen = std::min(frame.capLen, snapLen_);
  // A decapsulated frame's wireLen is its inner frame's: the record written is the outer one, as read.
  header.len = std::max(frame.wireLen + frame.encapLen, header.caplen);
  pcap_dump(reinterpret_cast<u_char*>(output.value()->dumper), &header, frame.data);
  // A flag read, no system call: a full disk or a closed pipe stops the run at the frame that met it.
  if (std::ferror(pcap_dump_file(output.value()->dumper)) != 0)
    return systemError(output.value()->path, "cannot write");
  ++framesWritten_;
  return true;
}

Result<std::vector<std::string>> PcapWriter::close() {
  if (closed_) return Error{path_, "already closed"};
  closed_ = true;
  std::vector<std::string> written;
  for (const auto& output : outputs_) {
    std::FILE* file = pcap_dump_file(output->dumper);
    const bool failed = std::fflush(file) != 0 || std::ferror(file) != 0;
    const int savedErrno = errno;
    pcap_dump_close(output->dumper);  // closes the FILE and its descriptor (a dup of the AtomicFile's)
    output->dumper = nullptr;
    if (failed) {
      errno = savedErrno;
      return systemError(output->path, "cannot write");
    }
    if (auto err = output->file->commit()) return *err;
    written.push_back(output->path);
  }
  return written;
}

}  // namespace sgsim
