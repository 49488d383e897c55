// The only place, with the pcap writer, that includes <pcap.h>.

#include "sgsim/capture/capture_reader.h"

#include <fcntl.h>
#include <pcap.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>

#include "sgsim/core/map_guard.h"

namespace sgsim {
namespace {

// Timestamps of corrupt records can be anything (pcapng units, negative seconds): saturate rather than
// overflow.
std::int64_t toNanoseconds(const timeval& ts) {
  std::int64_t ns = 0;
  if (__builtin_mul_overflow(static_cast<std::int64_t>(ts.tv_sec), std::int64_t{1000000000}, &ns) ||
      __builtin_add_overflow(ns, static_cast<std::int64_t>(ts.tv_usec), &ns)) {
    return ts.tv_sec < 0 ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
  }
  return ns;
}

// A stream that cannot seek back (a pipe, `<(…)`) whose first bytes were read to tell the format: a FILE that
// hands them out again before the rest, for libpcap.
struct HeadThenFd {
  int fd;
  std::uint8_t head[4];
  std::size_t size, at = 0;
};

ssize_t headThenFdRead(void* cookie, char* out, std::size_t n) {
  auto* c = static_cast<HeadThenFd*>(cookie);
  if (c->at < c->size) {
    const std::size_t k = std::min(n, c->size - c->at);
    std::memcpy(out, c->head + c->at, k);
    c->at += k;
    return static_cast<ssize_t>(k);
  }
  for (;;) {
    const ssize_t r = ::read(c->fd, out, n);
    if (r >= 0 || errno != EINTR) return r;
  }
}

int headThenFdClose(void* cookie) {
  auto* c = static_cast<HeadThenFd*>(cookie);
  const int rc = ::close(c->fd);
  delete c;
  return rc;
}

std::FILE* fileFrom(int fd, const std::uint8_t* head, std::size_t size) {
  if (::lseek(fd, 0, SEEK_SET) == 0) return ::fdopen(fd, "rb");
  auto* cookie = new HeadThenFd{fd, {}, size};
  std::memcpy(cookie->head, head, size);
  std::FILE* file =
      ::fopencookie(cookie, "rb", cookie_io_functions_t{headThenFdRead, nullptr, nullptr, headThenFdClose});
  if (file == nullptr) delete cookie;
  return file;
}

}  // namespace

Result<std::unique_ptr<CaptureReader>> CaptureReader::open(const std::string& path, std::uint16_t fileIndex,
                                                           CaptureReadOptions options) {
  // open(2) first so that "cannot open" and "not a capture" are told apart.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{path, std::string("cannot open (") + std::strerror(errno) + ")"};
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Error{path, "is a directory, not a capture file"};
  }
  // The first four bytes tell pcapng (a Section Header Block) from anything else, which libpcap is given.
  std::uint8_t head[4];
  std::size_t size = 0;
  while (size < sizeof head) {
    const ssize_t n = ::read(fd, head + size, sizeof head - size);
    if (n > 0) {
      size += static_cast<std::size_t>(n);
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int e = errno;
      ::close(fd);
      return Error{path, std::string("cannot read (") + std::strerror(e) + ")"};
    }
  }
  if (looksLikePcapng({head, size})) {
    auto pcapng = PcapngReader::open(fd, path, {head, size});  // closes fd, also when it fails
    if (!pcapng) return pcapng.error();
    std::unique_ptr<CaptureReader> reader(new CaptureReader(nullptr, std::move(*pcapng), path, fileIndex));
    reader->options_ = options;
    if (!S_ISREG(st.st_mode)) reader->options_.mapped = false;  // a pipe: never through an index
    return reader;
  }
  std::FILE* file = fileFrom(fd, head, size);
  if (file == nullptr) {
    const int e = errno;
    ::close(fd);
    return Error{path, std::string("cannot open (") + std::strerror(e) + ")"};
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (handle == nullptr) {
    std::fclose(file);  // libpcap closes it only on success (at pcap_close)
    return Error{path, std::string("not a pcap or pcapng file (") + errbuf + ")"};
  }
  std::unique_ptr<CaptureReader> reader(new CaptureReader(handle, nullptr, path, fileIndex));
  if (options.mapped && S_ISREG(st.st_mode)) reader->startMapped(fd, options);
  return reader;
}

namespace {

std::uint32_t load32(const std::uint8_t* p, bool swapped) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped ? __builtin_bswap32(v) : v;
}

std::uint16_t load16(const std::uint8_t* p, bool swapped) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped ? __builtin_bswap16(v) : v;
}

// libpcap's largest snapshot length for the link types read mapped (MAXIMUM_SNAPLEN).
constexpr std::uint32_t kPcapMaxSnapLen = 262144;
// How far ahead of the record being read the mapped file is fetched into the caches.
constexpr std::uint64_t kPrefetchBytes = 4096;

// A record header the mapped reading takes as libpcap would hand it on unchanged (the record whole in the file is
// checked apart).
inline bool takesRecord(std::uint32_t snapLen, bool nanos, std::uint32_t sec, std::uint32_t frac, std::uint32_t capLen,
                        std::uint32_t wireLen) {
  return capLen <= snapLen && capLen <= wireLen && sec <= 0x7fffffffU && frac < (nanos ? 1000000000U : 1000000U);
}

// The file's size now; `otherwise` when it cannot be asked.
std::uint64_t fileSizeNow(int fd, std::uint64_t otherwise) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : otherwise;
}

}  // namespace

// The file's header decides whether its records can be read mapped (CaptureReadOptions); libpcap has read and
// accepted it already. fd belongs to libpcap's FILE (closed by pcap_close); mapping it does not move its offset.
void CaptureReader::startMapped(int fd, const CaptureReadOptions& options) {
  const std::uint64_t size = fileSizeNow(fd, 0);
  if (size < 24) return;
  mapped_.guard = mapguard::take();
  if (mapped_.guard < 0) return;
  mapped_.fd = fd;
  mapped_.windowWanted = std::max<std::size_t>(options.window, 1);
  mapped_.scanLane = std::max<std::size_t>(options.scanLane, 1);
  mapped_.fileSize = size;
  const std::uint8_t* h = mappedAt(0, 24);
  if (h == nullptr) return stopMapped(0);
  std::uint32_t magic;
  std::memcpy(&magic, h, sizeof magic);
  switch (magic) {
    case 0xa1b2c3d4:
      break;
    case 0xa1b23c4d:
      mapped_.nanos = true;
      break;
    case 0xd4c3b2a1:
      mapped_.swapped = true;
      break;
    case 0x4d3cb2a1:
      mapped_.swapped = mapped_.nanos = true;
      break;
    default:
      return stopMapped(0);  // a variant of the format (Kuznetzov's, …): libpcap's own business
  }
  mapped_.snapLen = load32(h + 16, mapped_.swapped);
  // Link types whose bytes libpcap hands on as the file has them (it fixes up some others' headers, e.g. USB, and in
  // a file of the other byte order Linux cooked headers of CAN frames).
  const bool plainLink = linkType_ == 1 || linkType_ == 12 || linkType_ == 228 || linkType_ == 229 ||
                         (linkType_ == 113 && !mapped_.swapped);
  if (load16(h + 4, mapped_.swapped) != 2 || load16(h + 6, mapped_.swapped) != 4 || !plainLink ||
      mapped_.snapLen == 0 || mapped_.snapLen > kPcapMaxSnapLen)
    return stopMapped(0);
  mapped_.offset = 24;
}

// `size` bytes of the file from `offset`, mapped; null when the mapping fails.
const std::uint8_t* CaptureReader::mappedAt(std::uint64_t offset, std::size_t size) {
  Mapped& m = mapped_;
  if (m.window != nullptr && offset >= m.windowStart && offset + size <= m.windowStart + m.windowSize)
    return m.window + (offset - m.windowStart);
  mapguard::watch(m.guard, nullptr, 0);
  if (m.window != nullptr) ::munmap(m.window, m.windowSize);
  m.window = nullptr;
  const std::uint64_t start = offset / mapguard::pageSize() * mapguard::pageSize();
  const std::uint64_t want = std::max<std::uint64_t>(m.windowWanted, offset - start + size);
  const std::uint64_t length = std::min(want, m.fileSize - start);
  if (length < offset - start + size) return nullptr;
  void* p = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, m.fd, static_cast<off_t>(start));
  if (p == MAP_FAILED) return nullptr;
  m.window = static_cast<std::uint8_t*>(p);
  m.windowStart = start;
  m.windowSize = length;
  mapguard::watch(m.guard, m.window, length);
  return m.window + (offset - start);
}

// The mapped reading ends: the window unmapped, its guard free.
void CaptureReader::endMapped() {
  mapguard::release(mapped_.guard);
  if (mapped_.window != nullptr) ::munmap(mapped_.window, mapped_.windowSize);
  mapped_ = Mapped{};
}

// From the record at `offset` on, libpcap reads the file.
void CaptureReader::stopMapped(std::uint64_t offset) {
  endMapped();
  if (offset == 0) return;  // libpcap's FILE is where it was, after the header
  if (std::fseek(pcap_file(handle_), static_cast<long>(offset), SEEK_SET) != 0) {
    done_ = true;
    error_ = Error{path_ + ": frame " + std::to_string(framesRead_ + 1),
                   std::string("cannot read (") + std::strerror(errno) + ")"};
  }
}

// Whether the mapped reading takes the record whose header (16 bytes, in the file) is at h: libpcap would hand it on
// unchanged, and it is whole in the file.
bool CaptureReader::mappedTakes(const std::uint8_t* h, std::uint64_t offset) const {
  const Mapped& m = mapped_;
  const std::uint32_t capLen = load32(h + 8, m.swapped);
  return takesRecord(m.snapLen, m.nanos, load32(h, m.swapped), load32(h + 4, m.swapped), capLen,
                     load32(h + 12, m.swapped)) &&
         m.fileSize - offset - 16 >= capLen;
}

// The frame of a record the mapped reading takes (its number apart).
void CaptureReader::mappedFrame(const std::uint8_t* record, Frame& frame) const {
  const Mapped& m = mapped_;
  const std::uint32_t sec = load32(record, m.swapped), frac = load32(record + 4, m.swapped);
  frame.tsNs = static_cast<std::int64_t>(sec) * 1000000000 + static_cast<std::int64_t>(frac) * (m.nanos ? 1 : 1000);
  frame.capLen = load32(record + 8, m.swapped);
  frame.wireLen = load32(record + 12, m.swapped);
  frame.linkType = linkType_;
  frame.fileIndex = fileIndex_;
  frame.data = record + 16;
}

inline __attribute__((always_inline)) bool CaptureReader::mapFaulted() const {
  return mapguard::faulted(mapped_.guard);
}

// Every page of the `size` bytes at `p` read once, so that a page the file no longer has (cut short since it was
// mapped) faults now, before the record is handed on (core/map_guard.h); whether the window's guard saw a fault. The
// first page has been read (the header); the others at their first byte (a record within one page costs nothing more:
// reading its last byte was a cache miss per record where an index skips the bytes between records).
inline __attribute__((always_inline)) bool CaptureReader::touchFaults(const std::uint8_t* p, std::size_t size) const {
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t last = begin + size - 1;
  for (std::uintptr_t page = (begin | (mapguard::pageSize() - 1)) + 1; page <= last; page += mapguard::pageSize())
    static_cast<void>(*reinterpret_cast<const volatile std::uint8_t*>(page));
  return mapFaulted();
}

// Mode::Indexed, a record of the index read: its number, and the first lines of the one four entries ahead asked for,
// not the bytes between (the other shards' frames). Both are inlined into the per-record readers: as calls they cost
// 2.4% of a shard's time over cap10m.
inline __attribute__((always_inline)) void CaptureReader::tookIndexed() {
  const Mapped& m = mapped_;
  framesRead_ = indexed_[indexedNext_++].number;
  if (indexedNext_ + 4 < indexed_.size()) {
    const std::uint64_t ahead = indexed_[indexedNext_ + 4].offset;
    if (ahead >= m.windowStart && ahead + 128 <= m.windowStart + m.windowSize) {
      __builtin_prefetch(m.window + (ahead - m.windowStart));
      __builtin_prefetch(m.window + (ahead - m.windowStart) + 64);
    }
  }
}

// The next record, mapped, when libpcap would hand it on unchanged; else libpcap reads it and the rest.
bool CaptureReader::nextMapped(Frame& frame) {
  Mapped& m = mapped_;
  if (mode_ != Mode::Whole && !positionMapped()) return false;
  const std::uint8_t* h = m.fileSize - m.offset >= 16 ? mappedAt(m.offset, 16) : nullptr;
  if (h != nullptr) {
    const std::uint32_t capLen = load32(h + 8, m.swapped);
    if (mappedTakes(h, m.offset)) {
      const std::uint8_t* record = mappedAt(m.offset, 16 + std::size_t{capLen});
      if (record != nullptr) {
        if (touchFaults(record, 16 + std::size_t{capLen})) return shrank(fileSizeNow(m.fd, m.offset));
        recordOffset_ = m.offset;
        m.offset += 16 + std::uint64_t{capLen};
        if (mode_ == Mode::Indexed) {
          tookIndexed();
        } else {
          ++framesRead_;
          // The file's bytes are not in the CPU's caches: a miss per record header was a quarter of a --shard run's
          // CPU time. Every cache line up to kPrefetchBytes ahead is asked for, a few records before it is read.
          const std::uint64_t windowEnd = m.windowStart + m.windowSize;
          const std::uint64_t until = std::min(m.offset + kPrefetchBytes, windowEnd);
          for (m.prefetched = std::max(m.prefetched, m.offset); m.prefetched < until; m.prefetched += 64)
            __builtin_prefetch(m.window + (m.prefetched - m.windowStart));
        }
        m.ends[m.handed % m.ends.size()] = m.offset;
        m.numbers[m.handed++ % m.numbers.size()] = framesRead_;
        mappedFrame(record, frame);
        frame.number = framesRead_;
        return true;
      }
    }
  }
  // The end of the file as it was opened (libpcap reads on, should it have grown since), or a record libpcap would
  // not hand on as it is. A file cut short since: said, with the frames read from the zeros its last page's lost
  // bytes read as without a fault (core/map_guard.h).
  if (const std::uint64_t now = fileSizeNow(m.fd, m.fileSize); now < m.fileSize) return shrank(now);
  if (mode_ != Mode::Whole) return mappedRefused();
  stopMapped(m.offset);
  return false;
}

bool CaptureReader::readRange(std::uint64_t from, std::uint64_t to) {
  if (mapped_.fd < 0 || framesRead_ != 0) return false;
  mode_ = Mode::Range;
  rangeTo_ = std::min(to, mapped_.fileSize);
  std::uint64_t start = std::max<std::uint64_t>(from, 24);
  if (from > 24)
    while (start < mapped_.fileSize && !chainStartsAt(start)) ++start;
  rangeStart_ = rangeEnd_ = mapped_.offset = std::min(start, mapped_.fileSize);
  return true;
}

// Eight records in a row (or fewer ending exactly at the end of the file) that the mapped reading takes, none of them
// empty: where a part other than the first starts. Bytes inside a frame rarely pass (zeros would, as records of
// nothing: hence "none empty"); a start found wrong is caught by the check of the parts' ends and starts, and the
// shards then read in place (pipeline/split.h, "Indexes").
bool CaptureReader::chainStartsAt(std::uint64_t offset) {
  return chainOfRecords(offset, [this](std::uint64_t o) { return mappedAt(o, 16); });
}

// The test of chainStartsAt, with the header at an offset given by headerAt (nullptr: none there to read).
template <class HeaderAt>
bool CaptureReader::chainOfRecords(std::uint64_t offset, HeaderAt headerAt) const {
  const Mapped& m = mapped_;
  for (int i = 0; i < 8; ++i) {
    if (offset == m.fileSize) return i > 0;
    if (m.fileSize - offset < 16) return false;
    const std::uint8_t* h = headerAt(offset);
    if (h == nullptr) return false;
    const std::uint32_t capLen = load32(h + 8, m.swapped);
    if (capLen == 0 || !mappedTakes(h, offset)) return false;
    offset += 16 + std::uint64_t{capLen};
  }
  return true;
}

namespace {
// scanRange's lanes per window (a window smaller than as many lanes of CaptureReadOptions::scanLane has fewer).
constexpr std::size_t kScanLanes = 16;
constexpr std::uint64_t kScanSearch = 4096;
}  // namespace

bool CaptureReader::scanRange(std::uint64_t from, std::uint64_t to,
                              const std::function<std::uint32_t(const Frame&)>& tag,
                              const std::function<void(std::span<const ScannedRecord>)>& sink) {
  if (pcapng_) return scanPcapng(from, to, tag, sink);
  if (!readRange(from, to)) return false;
  Mapped& m = mapped_;
  // A record that starts before a window's end ends at most this far past it.
  const std::uint64_t slack = 16 + std::uint64_t{m.snapLen};
  const std::uint64_t windowBytes = std::max<std::uint64_t>(
      m.windowWanted > slack + mapguard::pageSize() ? m.windowWanted - slack - mapguard::pageSize() : 0,
      kScanLanes * m.scanLane);
  const std::uint64_t stop = std::min(rangeTo_, m.fileSize);
  std::array<std::uint64_t, kScanLanes + 1> starts{};
  std::array<std::uint64_t, kScanLanes> at{}, ends{};
  std::array<bool, kScanLanes> walking{}, refused{};
  std::array<std::vector<ScannedRecord>, kScanLanes> kept;
  std::uint64_t next = m.offset;  // a record's start, found by the record-by-record reading's rules
  while (next < stop) {
    const std::uint64_t windowEnd = std::min(stop, next + windowBytes);
    const std::uint64_t mappedEnd = std::min(windowEnd + slack, m.fileSize);
    const std::uint8_t* base = mappedAt(next, mappedEnd - next);
    if (base == nullptr) {  // cannot be mapped: the record at `next` is refused, as nextMapped would
      m.offset = next;
      mappedRefused();
      return true;
    }
    auto header = [&](std::uint64_t offset) { return base + (offset - next); };
    // A chain of eight records (chainStartsAt's test, within what is mapped).
    auto chainAt = [&](std::uint64_t offset) {
      return chainOfRecords(offset, [&](std::uint64_t o) { return o + 16 > mappedEnd ? nullptr : header(o); });
    };
    const std::uint64_t span = windowEnd - next;
    const std::size_t lanes = static_cast<std::size_t>(std::clamp<std::uint64_t>(span / m.scanLane, 1, kScanLanes));
    std::size_t n = 0;
    starts[n++] = next;
    // A lane's start is looked for in its first kScanSearch bytes only: where frames are larger (a host's capture
    // with GRO holds frames of 64 KB) the search ran through the whole lane byte by byte, 22 us a frame, and found a
    // chain of eight records rarely anyway; such a lane is left to the lane before it.
    for (std::size_t j = 1; j < lanes; ++j) {
      const std::uint64_t from = std::max(next + span * j / lanes, starts[n - 1] + 1);
      const std::uint64_t laneEnd = std::min(next + span * (j + 1) / lanes, from + kScanSearch);
      for (std::uint64_t c = from; c < laneEnd; ++c)
        if (chainAt(c)) {
          starts[n++] = c;
          break;
        }
    }
    starts[n] = windowEnd;
    for (std::size_t i = 0; i < n; ++i) {
      at[i] = starts[i];
      walking[i] = true;
      refused[i] = false;
      kept[i].clear();
      __builtin_prefetch(header(at[i]));
    }
    // The record at o read into `into`: the offset after it, or nothing when the mapped reading does not take it.
    auto step = [&](std::uint64_t o, std::vector<ScannedRecord>& into) -> std::optional<std::uint64_t> {
      const std::uint8_t* h = header(o);
      if (m.fileSize - o < 16 || !mappedTakes(h, o)) return std::nullopt;
      // A record's later pages are not touched as nextMapped touches them: the records go to the sink only after the
      // whole window was read without a fault (core/map_guard.h), and tag() reads the bytes it needs (touching every
      // page was a cache miss per page, a fifth of the scan's time).
      Frame frame;
      mappedFrame(h, frame);
      into.push_back(ScannedRecord{o, frame.tsNs, frame.capLen, tag(frame)});
      return o + 16 + std::uint64_t{frame.capLen};
    };
    // The lanes in turn, a record each, until every lane has passed the next one's start.
    for (std::size_t active = n; active > 0;) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!walking[i]) continue;
        const auto after = step(at[i], kept[i]);
        if (!after || *after >= starts[i + 1]) {
          walking[i] = false;
          refused[i] = !after;
          ends[i] = after.value_or(at[i]);
          --active;
          continue;
        }
        at[i] = *after;
        __builtin_prefetch(header(at[i]));
        __builtin_prefetch(header(at[i]) + 64);
      }
    }
    // The lanes in file order, made the record-by-record reading's: a lane the reading reaches the start of is that
    // reading; a lane that started inside a frame (the lane before it ended past its start) is read again from where
    // the reading is, record by record, up to the next lane's start. (Dropping the lanes after it instead cost a
    // capture whose frames carry pcap files seven times the time of one whose frames do not.)
    std::size_t used = n;
    std::uint64_t reading = next;
    for (std::size_t i = 0; i < n; ++i) {
      if (reading != starts[i]) {
        kept[i].clear();
        refused[i] = false;
        while (reading < starts[i + 1]) {
          const auto after = step(reading, kept[i]);
          if (!after) {
            refused[i] = true;
            break;
          }
          reading = *after;
        }
        ends[i] = reading;
      }
      reading = ends[i];
      if (refused[i]) {
        used = i + 1;
        break;
      }
    }
    if (mapFaulted()) {
      shrank(fileSizeNow(m.fd, next));
      return true;
    }
    for (std::size_t i = 0; i < used; ++i) {
      for (const ScannedRecord& r : kept[i]) {
        m.ends[m.handed % m.ends.size()] = r.offset + 16 + r.capLen;
        m.numbers[m.handed++ % m.numbers.size()] = ++framesRead_;
        recordOffset_ = r.offset;
      }
      sink(kept[i]);
    }
    next = ends[used - 1];
    if (refused[used - 1]) {
      if (const std::uint64_t now = fileSizeNow(m.fd, m.fileSize); now < m.fileSize) {
        shrank(now);
        return true;
      }
      m.offset = next;
      mappedRefused();
      return true;
    }
  }
  // The end of the part, as the record-by-record reading ends it (rangeEnd(), a file cut short since it was opened).
  m.offset = next;
  positionMapped();
  return true;
}

bool CaptureReader::readIndexed(std::unique_ptr<IndexSource> source) {
  if (pcapng_ && mapPcapng()) return false;
  if (mapped_.fd < 0 || framesRead_ != 0 || source == nullptr) return false;
  mode_ = Mode::Indexed;
  indexSource_ = std::move(source);
  indexed_.clear();
  indexedNext_ = 0;
  return true;
}

bool CaptureReader::positionMapped() {
  Mapped& m = mapped_;
  if (mode_ == Mode::Range) {
    if (m.offset < rangeTo_ && m.offset < m.fileSize) return true;
    rangeEnd_ = m.offset;
  } else {
    if (indexedNext_ == indexed_.size()) {
      indexed_.resize(kIndexChunk);
      indexed_.resize(indexSource_->fill(indexed_));
      indexedNext_ = 0;
    }
    if (indexedNext_ < indexed_.size()) {
      m.offset = indexed_[indexedNext_].offset;
      if (m.offset >= 24 && m.offset < m.fileSize) return true;
      return mappedRefused();
    }
    if (auto e = indexSource_->error()) error_ = *e;
  }
  // The end of the part or of the index: a file cut short since it was opened is said, with the frames read from the
  // zeros its last page's lost bytes read as, as at the end of a whole reading (they fault only beyond that page).
  if (!error_)
    if (const std::uint64_t now = fileSizeNow(m.fd, m.fileSize); now < m.fileSize) return shrank(now);
  done_ = true;
  return false;
}

bool CaptureReader::mappedRefused() {
  done_ = true;
  if (mode_ == Mode::Range) {
    rangeEnd_ = mapped_.offset;
    rangeRefused_ = "the record at byte " + std::to_string(mapped_.offset) +
                    " is not one sgsim reads mapped (truncated, corrupt or unusual: libpcap reads it)";
  } else {
    const IndexedRecord& r = indexed_[indexedNext_];
    error_ = Error{path_ + ": frame " + std::to_string(r.number),
                   "the index puts a record at byte " + std::to_string(r.offset) +
                       ", but there is none there: the capture changed since it was indexed; index it again"};
  }
  return false;
}

// The file was cut short while being read (a capture still being rotated or rewritten): the reading ends on an
// error naming the first frame not read. libpcap, set past the new end, would report a clean end and the frames
// after this one would be lost without a word.
// The bytes of a page cut off but still mapped read as zeros, so the frames read since the new end (at most the
// records of one page, whose end ends[] keeps) are named as such.
bool CaptureReader::shrank(std::uint64_t size) {
  const Mapped& m = mapped_;
  // The records handed on from `cut` on ended past the file's end now: they were read from zeros.
  std::uint64_t cut = m.handed;
  const std::uint64_t kept = std::min<std::uint64_t>(m.handed, m.ends.size() - 1);
  while (cut > m.handed - kept && m.ends[(cut - 1) % m.ends.size()] > size) --cut;
  // The first frame not whole in the file now: the first read from zeros, or the one being read.
  const std::uint64_t current =
      mode_ == Mode::Indexed && indexedNext_ < indexed_.size() ? indexed_[indexedNext_].number : framesRead_ + 1;
  const std::uint64_t first = cut < m.handed ? m.numbers[cut % m.numbers.size()] : current;
  std::string message = "the file shrank while being read (" + std::to_string(m.fileSize) + " bytes when opened, " +
                        std::to_string(size) + " now): the frames from here on are missing";
  if (cut < m.handed) {
    // An index's frame numbers have gaps: the frames are counted, not given as a range.
    const std::string frames = mode_ == Mode::Indexed
                                   ? "the " + std::to_string(m.handed - cut) + " frames of the index from frame " +
                                         std::to_string(first) + " to frame " + std::to_string(framesRead_)
                                   : "frames " + std::to_string(first) + "-" + std::to_string(framesRead_);
    message += " (" + frames + ", read after the cut, held zeros where their bytes were: the counts include them)";
  }
  message += "; read a copy that no other program writes";
  done_ = true;
  error_ = Error{path_ + ": frame " + std::to_string(first), std::move(message)};
  endMapped();
  return false;
}

// ---- pcapng through an index (capture_reader.h, mapPcapng) ----

std::optional<std::string> CaptureReader::mapPcapng() {
  if (!pcapng_) return "not a pcapng file";
  if (mapped_.fd >= 0) return std::nullopt;
  if (framesRead_ != 0 || mode_ != Mode::Whole) return "read already";
  if (!options_.mapped) return "not a regular file";
  if (!pcapng_->readToFirstPacket())
    return pcapng_->error() ? "before its first packet: " + pcapng_->error()->message
                            : "its blocks before the first packet cannot be read";
  const int fd = pcapng_->fd();
  const std::uint64_t size = fileSizeNow(fd, 0);
  pcapngHead_ = pcapng_->offset();
  if (pcapngHead_ > size) return "changed while it was being opened";
  mapped_.guard = mapguard::take();
  if (mapped_.guard < 0) return "cannot be read mapped now (too many files mapped at once)";
  mapped_.fd = fd;  // the pcapng reader's: closed by it, not by endMapped()
  mapped_.windowWanted = std::max<std::size_t>(options_.window, 1);
  mapped_.scanLane = std::max<std::size_t>(options_.scanLane, 1);
  mapped_.fileSize = size;
  mapped_.offset = pcapngHead_;
  return std::nullopt;
}

// A chain of eight blocks from `offset` (or fewer ending exactly at the end of the file) whose lengths are whole, at
// least a block's 12 bytes, and the same at both ends: where a part after the first starts (chainStartsAt's test).
bool CaptureReader::pcapngChainAt(std::uint64_t offset) {
  const Mapped& m = mapped_;
  for (int i = 0; i < 8; ++i) {
    if (offset == m.fileSize) return i > 0;
    if (m.fileSize - offset < 12) return false;
    const std::uint8_t* h = mappedAt(offset, 8);
    if (h == nullptr) return false;
    const std::uint32_t length = pcapng_->word(h + 4);
    if (length < 12 || length % 4 != 0 || length > m.fileSize - offset) return false;
    const std::uint8_t* t = mappedAt(offset + length - 4, 4);
    if (t == nullptr || pcapng_->word(t) != length) return false;
    offset += length;
  }
  return true;
}

bool CaptureReader::scanPcapng(std::uint64_t from, std::uint64_t to,
                               const std::function<std::uint32_t(const Frame&)>& tag,
                               const std::function<void(std::span<const ScannedRecord>)>& sink) {
  if (mapPcapng() || framesRead_ != 0 || mode_ != Mode::Whole) return false;
  Mapped& m = mapped_;
  mode_ = Mode::Range;
  rangeTo_ = std::min(to, m.fileSize);
  std::uint64_t start = pcapngHead_;
  if (from > pcapngHead_) {
    start = (from + 3) / 4 * 4;
    while (start < m.fileSize && !pcapngChainAt(start)) start += 4;
    start = std::min(start, m.fileSize);
  }
  rangeStart_ = rangeEnd_ = m.offset = start;
  std::uint64_t o = start;
  auto refuse = [&](const std::string& what) {
    rangeRefused_ = what;
    done_ = true;
  };
  if (from == 0) {
    // The first part (from 0): the blocks before the first packet are its (the reader has skipped them); a later part
    // whose range starts at or before the first packet (a capture of a few bytes) does not count them again.
    if (pcapng_->wiresharkRecords() > 0)
      refuse(
          "a block before the first packet that Wireshark numbers as a frame (Custom, systemd Journal Export or "
          "Sysdig Event)");
    else if (pcapng_->skippedOfOtherTypes() > 0)
      refuse("blocks of more than " + std::to_string(PcapngReader::kMaxSkippedTypes) + " types");
    rangeSkipped_ = pcapng_->skippedTypes();
  }
  std::uint64_t prefetched = 0;  // the file is asked into the caches up to here
  std::vector<ScannedRecord> kept;
  std::vector<std::uint64_t> keptEnds;  // where each kept block ends, for shrank()
  kept.reserve(4096);
  keptEnds.reserve(4096);
  auto flush = [&] {
    for (std::size_t i = 0; i < kept.size(); ++i) {
      m.ends[m.handed % m.ends.size()] = keptEnds[i];
      m.numbers[m.handed++ % m.numbers.size()] = ++framesRead_;
      recordOffset_ = kept[i].offset;
    }
    sink(kept);
    kept.clear();
    keptEnds.clear();
  };
  // A file cut short while mapped: pages of zeros where its bytes were (core/map_guard.h); nothing of this window is
  // kept.
  while (!rangeRefused_ && o < rangeTo_) {
    const auto at = [o] { return " at byte " + std::to_string(o); };  // for a refusal's words only
    if (m.fileSize - o < 12) {
      refuse("the file ends inside the block" + at());
      break;
    }
    const std::uint8_t* h = mappedAt(o, 8);
    if (h == nullptr) {
      refuse("the block" + at() + " cannot be mapped");
      break;
    }
    const std::uint32_t type = pcapng_->word(h), length = pcapng_->word(h + 4);
    if (type == 0x0A0D0D0A || type == 1) {
      refuse("a " + pcapngBlockName(type) + at() +
             " after the first packet (an index reads every packet with the interfaces declared before the first)");
      break;
    }
    if (type == 3 || wiresharkNumbers(type)) {
      refuse("a " + pcapngBlockName(type) + at() +
             (type == 3 ? " (its frame takes the time of the frame before it)" : " (Wireshark numbers it as a frame)"));
      break;
    }
    if (length < 12 || length % 4 != 0 || length > m.fileSize - o) {
      refuse("the " + pcapngBlockName(type) + at() + " is truncated or corrupt");
      break;
    }
    const bool packet = type == 6 || type == 2;
    if (packet && length > PcapngReader::kMaxBlockBytes) {
      refuse("the " + pcapngBlockName(type) + at() + " is larger than sgsim reads");
      break;
    }
    // A packet block whole (its bytes are decoded), another only its trailer (streamed past, whatever its size).
    const std::uint8_t* block = packet ? mappedAt(o, length) : nullptr;
    const std::uint8_t* trailer =
        packet ? (block == nullptr ? nullptr : block + length - 4) : mappedAt(o + length - 4, 4);
    if (trailer == nullptr) {
      refuse("the block" + at() + " cannot be mapped");
      break;
    }
    if (pcapng_->word(trailer) != length) {
      refuse("the " + pcapngBlockName(type) + at() + " is corrupt (its length differs at its end)");
      break;
    }
    if (packet) {
      // Where the next block starts is known only from this one's length: walking block by block waited on memory
      // at every header (the loads of headers and trailers were 44% of a part's samples on cap2m.pcapng). Every line up
      // to kPrefetchBytes ahead is asked for instead, as the whole reading does (nextMapped).
      const std::uint64_t until = std::min(o + kPrefetchBytes, m.windowStart + m.windowSize);
      for (prefetched = std::max(prefetched, o + 64); prefetched < until; prefetched += 64)
        __builtin_prefetch(m.window + (prefetched - m.windowStart));
      Frame frame;
      if (!pcapng_->packetAt(block, length, frame)) {
        refuse("the " + pcapngBlockName(type) + at() + " is not one sgsim reads (corrupt, or of no interface)");
        break;
      }
      kept.push_back(ScannedRecord{o, frame.tsNs, frame.capLen, tag(frame)});
      keptEnds.push_back(o + length);
    } else {
      ++rangeSkipped_[type];
    }
    o += length;
    if (kept.size() == 4096) {
      if (mapFaulted()) {
        shrank(fileSizeNow(m.fd, o));
        return true;
      }
      flush();
    }
  }
  if (mapFaulted()) {
    shrank(fileSizeNow(m.fd, o));
    return true;
  }
  flush();
  m.offset = rangeEnd_ = o;
  if (!rangeRefused_)
    if (const std::uint64_t now = fileSizeNow(m.fd, m.fileSize); now < m.fileSize) shrank(now);
  done_ = true;
  return true;
}

// The next record of the index, read where it lies in the mapping with the interfaces declared before the first
// packet; a block there that is not the packet block the index says ends the reading on an error.
bool CaptureReader::nextPcapngIndexed(Frame& frame) {
  Mapped& m = mapped_;
  if (done_ || !positionMapped()) return false;
  const std::uint8_t* h = m.fileSize - m.offset >= 12 ? mappedAt(m.offset, 8) : nullptr;
  if (h != nullptr) {
    const std::uint32_t length = pcapng_->word(h + 4);
    if (length >= 12 && length % 4 == 0 && length <= PcapngReader::kMaxBlockBytes && length <= m.fileSize - m.offset) {
      if (const std::uint8_t* block = mappedAt(m.offset, length)) {
        // Its trailer is not read again: the part checked it, and the capture is the size and age it was then
        // (readShardIndex); reading it was a cache miss per frame (shard 1/2 of whatif over cap2m.pcapng: 0.29 s of
        // CPU with it, 0.27 s without).
        if (touchFaults(block, length)) return shrank(fileSizeNow(m.fd, m.offset));
        if (pcapng_->packetAt(block, length, frame)) {
          recordOffset_ = m.offset;
          m.offset += length;
          tookIndexed();
          m.ends[m.handed % m.ends.size()] = m.offset;
          m.numbers[m.handed++ % m.numbers.size()] = framesRead_;
          frame.number = framesRead_;
          frame.fileIndex = fileIndex_;
          return true;
        }
      }
    }
  }
  if (const std::uint64_t now = fileSizeNow(m.fd, m.fileSize); now < m.fileSize) return shrank(now);
  return mappedRefused();
}

CaptureReader::CaptureReader(pcap* handle, std::unique_ptr<PcapngReader> pcapng, std::string path,
                             std::uint16_t fileIndex)
    : handle_(handle),
      pcapng_(std::move(pcapng)),
      path_(std::move(path)),
      fileIndex_(fileIndex),
      linkType_(handle != nullptr ? pcap_datalink(handle) : -1) {}

CaptureReader::~CaptureReader() {
  endMapped();
  if (handle_ != nullptr) pcap_close(handle_);
}

std::vector<Error> CaptureReader::warnings() const { return pcapng_ ? pcapng_->warnings() : std::vector<Error>{}; }

bool CaptureReader::readSplitIds(std::vector<std::uint16_t> interfaceFiles) {
  if (!pcapng_) return false;
  pcapng_->readSplitIds(std::move(interfaceFiles));
  splitIds_ = true;
  return true;
}

std::map<std::string, std::uint64_t> CaptureReader::skippedBlocks() const {
  if (pcapng_ && mode_ == Mode::Indexed) return indexSource_->skippedBlocks();
  return pcapng_ ? pcapng_->skippedBlocks() : std::map<std::string, std::uint64_t>{};
}

bool CaptureReader::next(Frame& frame) {
  if (done_) return false;
  if (pcapng_) {
    if (mode_ == Mode::Indexed) return nextPcapngIndexed(frame);
    if (pcapng_->next(frame)) {
      if (splitIds_) {
        ++framesRead_;  // the frame keeps its original number and capture
        return true;
      }
      framesRead_ = frame.number;
      frame.fileIndex = fileIndex_;
      return true;
    }
    done_ = true;
    error_ = pcapng_->error();
    return false;
  }
  if (mapped_.fd >= 0) {
    if (nextMapped(frame)) return true;
    if (done_) return false;  // the end of the file, or libpcap could not be set where the mapped reading stopped
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(handle_, &header, &data);
  if (rc == 1) {
    ++framesRead_;
    frame.number = framesRead_;
    frame.tsNs = toNanoseconds(header->ts);  // the handle was opened with nanosecond precision
    frame.capLen = header->caplen;
    frame.wireLen = header->len;
    frame.linkType = linkType_;
    frame.fileIndex = fileIndex_;
    frame.data = data;
    return true;
  }
  done_ = true;
  if (rc != PCAP_ERROR_BREAK) {  // PCAP_ERROR_BREAK is the clean end of a savefile
    const std::string message = pcap_geterr(handle_);
    const bool truncated = std::string_view(message).starts_with("truncated");
    error_ = Error{path_ + ": frame " + std::to_string(framesRead_ + 1),
                   std::string(truncated ? "truncated record (" : "corrupt record (") + message + ")"};
  }
  return false;
}

MergedCapture::MergedCapture(std::vector<std::unique_ptr<CaptureReader>> readers)
    : readers_(std::move(readers)), pending_(readers_.size()) {
  // One file needs no merge: its frames are handed on from the reader's own buffer, without a copy.
  if (readers_.size() == 1) return;
  for (std::size_t i = 0; i < readers_.size(); ++i) refill(i);
}

Result<std::unique_ptr<MergedCapture>> MergedCapture::open(const std::vector<std::string>& paths) {
  return openIndexed(paths, {});
}

Result<std::unique_ptr<MergedCapture>> MergedCapture::openIndexed(
    const std::vector<std::string>& paths, std::vector<std::unique_ptr<CaptureReader::IndexSource>> sources) {
  if (paths.size() > std::numeric_limits<std::uint16_t>::max()) {
    return Error{"", "too many capture files (at most 65535)"};
  }
  if (!sources.empty() && sources.size() != paths.size())
    return Error{"", "an index for " + std::to_string(sources.size()) + " captures, but " +
                         std::to_string(paths.size()) + " captures to read: index them again"};
  std::vector<std::unique_ptr<CaptureReader>> readers;
  readers.reserve(paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    auto reader = CaptureReader::open(paths[i], static_cast<std::uint16_t>(i));
    if (!reader) return reader.error();
    // Chosen before the merge below reads any frame.
    if (i < sources.size() && sources[i] != nullptr && !(*reader)->readIndexed(std::move(sources[i])))
      return Error{paths[i], "cannot be read mapped now, as it was when it was indexed: index it again"};
    readers.push_back(std::move(reader.value()));
  }
  return std::unique_ptr<MergedCapture>(new MergedCapture(std::move(readers)));
}

void MergedCapture::refill(std::size_t file) {
  Pending& p = pending_[file];
  p.valid = readers_[file]->next(p.frame);
  if (p.valid) {
    // The reader's buffer is overwritten by its next read: keep our own copy (reused capacity).
    p.bytes.assign(p.frame.data, p.frame.data + p.frame.capLen);
    p.frame.data = p.bytes.data();
  } else if (readers_[file]->error()) {
    errors_.push_back(*readers_[file]->error());
  }
}

bool MergedCapture::next(Frame& frame) {
  if (readers_.size() == 1) {
    if (readers_[0]->next(frame)) return true;
    if (readers_[0]->error() && errors_.empty()) errors_.push_back(*readers_[0]->error());
    return false;
  }
  if (lastDelivered_) refill(*lastDelivered_);
  lastDelivered_.reset();
  // A linear scan: merges are of a handful of files, and the first minimum found keeps ties in file order.
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    if (pending_[i].valid && (!best || pending_[i].frame.tsNs < pending_[*best].frame.tsNs)) best = i;
  }
  if (!best) return false;
  frame = pending_[*best].frame;
  lastDelivered_ = best;
  return true;
}

std::vector<Error> MergedCapture::warnings() const {
  std::vector<Error> all;
  for (const auto& r : readers_) {
    const auto w = r->warnings();
    all.insert(all.end(), w.begin(), w.end());
  }
  return all;
}

std::map<std::string, std::uint64_t> MergedCapture::skippedBlocks() const {
  std::map<std::string, std::uint64_t> all;
  for (const auto& r : readers_)
    for (const auto& [type, n] : r->skippedBlocks()) all[type] += n;
  return all;
}

std::string linkTypeName(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  return name != nullptr ? name : "DLT " + std::to_string(dlt);
}

std::string linkTypeDescription(int dlt) {
  const char* description = pcap_datalink_val_to_description(dlt);
  return description != nullptr ? description : "DLT " + std::to_string(dlt);
}

}  // namespace sgsim
