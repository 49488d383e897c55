#include "sgsim/capture/flow_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>

#include "sgsim/core/mapped_file.h"

namespace sgsim {

namespace {

enum Field : std::int8_t {
  kVersion,
  kVswitch,
  kVm,
  kVpc,
  kAccount,
  kEni,
  kSrcAddr,
  kSrcPort,
  kDstAddr,
  kDstPort,
  kProtocol,
  kDirection,
  kPackets,
  kBytes,
  kStart,
  kEnd,
  kLogStatus,
  kAction,
  kTcpFlags,
  kTrafficPath,
  kSrcType,
  kDstType,
  kRegion,
  kTopic,
  kSgsimFile,  // a shard file of `sgsim split`: the record's original log (index) and line; read only then
  kSgsimLine,
  kFieldCount
};

struct FieldName {
  const char* name;  // as documented
  bool required;
};
constexpr std::array<FieldName, kFieldCount> kFields{
    {{"version", false},   {"vswitch-id", false}, {"vm-id", false},  {"vpc-id", false},    {"account-id", false},
     {"eni-id", true},     {"srcaddr", true},     {"srcport", true}, {"dstaddr", true},    {"dstport", true},
     {"protocol", true},   {"direction", true},   {"packets", true}, {"bytes", true},      {"start", true},
     {"end", true},        {"log-status", true},  {"action", true},  {"tcp-flags", false}, {"traffic_path", false},
     {"srctype", false},   {"dsttype", false},    {"region", false}, {"__topic__", false}, {"sgsim-file", false},
     {"sgsim-line", false}}};

// Names compared case-insensitively, '_' and '-' alike ("eni_id", "ENI-ID" and "eni-id" are one column).
bool sameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x == '_') x = '-';
    if (y == '_') y = '-';
    if (x != y) return false;
  }
  return true;
}

int fieldOf(std::string_view name) {
  for (int i = 0; i < kFieldCount; ++i)
    if (sameName(name, kFields[static_cast<std::size_t>(i)].name)) return i;
  return -1;
}

// A UTF-8 byte-order mark at the start of the text, which some exporters write, is not part of its first line.
std::string_view withoutBom(std::string_view s) {
  return s.size() >= 3 && s.substr(0, 3) == "\xEF\xBB\xBF" ? s.substr(3) : s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string shown(std::string_view v) {
  std::string out = "\"";
  for (char ch : v.substr(0, 60)) out += (static_cast<unsigned char>(ch) < 0x20 || ch == '"') ? '?' : ch;
  if (v.size() > 60) out += "…";
  return out + "\"";
}

// A whole number of decimal digits only (no sign, no space), at most max: what std::from_chars took, digit by digit
// in place (from_chars cost a call and its set-up per field).
bool parseUnsigned(std::string_view v, std::uint64_t max, std::uint64_t& out) {
  if (v.empty()) return false;
  std::uint64_t x = 0;
  for (const char ch : v) {
    const unsigned d = static_cast<unsigned char>(ch) - static_cast<unsigned>('0');
    if (d > 9) return false;
    if (__builtin_mul_overflow(x, std::uint64_t{10}, &x) || __builtin_add_overflow(x, std::uint64_t{d}, &x))
      return false;
  }
  if (x > max) return false;
  out = x;
  return true;
}

// Unix seconds, with an optional fraction (SLS writes integers).
bool parseSeconds(std::string_view v, std::int64_t& ns) {
  const std::size_t dot = v.find('.');
  std::uint64_t s = 0;
  if (!parseUnsigned(v.substr(0, dot), 9'000'000'000ULL, s)) return false;
  std::int64_t frac = 0;
  if (dot != std::string_view::npos) {
    std::string_view f = v.substr(dot + 1);
    if (f.empty() || f.size() > 9) return false;
    std::uint64_t d = 0;
    if (!parseUnsigned(f, 999'999'999ULL, d)) return false;
    frac = static_cast<std::int64_t>(d);
    for (std::size_t i = f.size(); i < 9; ++i) frac *= 10;
  }
  ns = static_cast<std::int64_t>(s) * 1'000'000'000 + frac;
  return true;
}

// `b` is an upper-case word (OK, ACCEPT, …): the usual spelling is compared first, byte for byte.
bool equalsNoCase(std::string_view a, std::string_view b) { return a == b || sameName(a, b); }

// An address. The form flow logs write, a dotted quad of numbers 0-255 without leading zeros ("10.0.0.1"), is read
// here in place (IpAddr::parse copies the text to give inet_pton a C string); anything else goes to IpAddr::parse,
// which decides. inet_pton takes every quad read here, with the same value (tests/capture/flow_log_test.cpp compares
// the two on random text).
std::optional<IpAddr> parseAddr(std::string_view t) {
  const char* p = t.data();
  const char* const e = p + t.size();
  std::uint32_t a = 0;
  for (int part = 0; part < 4; ++part) {
    if (p == e || *p < '0' || *p > '9') return IpAddr::parse(t);
    std::uint32_t x = static_cast<std::uint32_t>(*p++ - '0');
    if (x != 0)
      for (int k = 0; k < 2 && p != e && *p >= '0' && *p <= '9'; ++k)
        x = x * 10 + static_cast<std::uint32_t>(*p++ - '0');
    if (x > 255) return IpAddr::parse(t);
    a = a << 8 | x;
    if (part < 3) {
      if (p == e || *p != '.') return IpAddr::parse(t);
      ++p;
    }
  }
  if (p != e) return IpAddr::parse(t);
  return IpAddr::v4(a);
}

// The values of one record by field (views into the line).
using Values = std::array<std::string_view, kFieldCount>;

// Turns the values into a record; "" when good, else what is wrong (naming the field and its value). intern(value,
// field) gives an id's FlowText (FlowLogReader::intern).
template <class Intern>
std::string fill(const Values& v, const std::array<bool, kFieldCount>& present, FlowRecord& r, Intern&& intern) {
  r.status = FlowLogStatus::Ok;
  const std::string_view status = v[kLogStatus];
  if (equalsNoCase(status, "OK"))
    r.status = FlowLogStatus::Ok;
  else if (equalsNoCase(status, "NODATA"))
    r.status = FlowLogStatus::NoData;
  else if (equalsNoCase(status, "SKIPDATA"))
    r.status = FlowLogStatus::SkipData;
  else
    return "log-status " + shown(status) + " is not OK, NODATA or SKIPDATA";
  r.eni = intern(v[kEni], 0);
  // NODATA and SKIPDATA records name a window, not traffic: their other fields may be "-" or empty.
  if (r.status != FlowLogStatus::Ok) {
    std::int64_t ns = 0;
    r.startNs = parseSeconds(v[kStart], ns) ? ns : 0;
    r.endNs = parseSeconds(v[kEnd], ns) ? ns : r.startNs;
    return "";
  }
  if (v[kEni].empty() || v[kEni] == "-") return "eni-id is empty";
  auto src = parseAddr(v[kSrcAddr]);
  if (!src) return "srcaddr " + shown(v[kSrcAddr]) + " is not an IP address";
  auto dst = parseAddr(v[kDstAddr]);
  if (!dst) return "dstaddr " + shown(v[kDstAddr]) + " is not an IP address";
  if (src->family != dst->family) return "srcaddr and dstaddr are of different address families";
  r.src = *src;
  r.dst = *dst;
  std::uint64_t n = 0;
  if (!parseUnsigned(v[kProtocol], 255, n)) return "protocol " + shown(v[kProtocol]) + " is not a number 0-255";
  r.proto = static_cast<std::uint8_t>(n);
  // Portless protocols may log "-" or nothing as their ports.
  auto port = [&](Field f, std::uint16_t& out) -> std::string {
    const std::string_view p = v[f];
    if (p.empty() || p == "-") {
      out = 0;
      return "";
    }
    if (!parseUnsigned(p, 65535, n)) return std::string(kFields[f].name) + " " + shown(p) + " is not a port 0-65535";
    out = static_cast<std::uint16_t>(n);
    return "";
  };
  if (auto e = port(kSrcPort, r.sport); !e.empty()) return e;
  if (auto e = port(kDstPort, r.dport); !e.empty()) return e;
  if (v[kDirection] == "in")
    r.inbound = true;
  else if (v[kDirection] == "out")
    r.inbound = false;
  else
    return "direction " + shown(v[kDirection]) + " is not in or out";
  if (equalsNoCase(v[kAction], "ACCEPT"))
    r.accept = true;
  else if (equalsNoCase(v[kAction], "REJECT"))
    r.accept = false;
  else
    return "action " + shown(v[kAction]) + " is not ACCEPT or REJECT";
  if (!parseUnsigned(v[kPackets], UINT64_MAX, r.packets))
    return "packets " + shown(v[kPackets]) + " is not a whole number";
  if (!parseUnsigned(v[kBytes], UINT64_MAX, r.bytes)) return "bytes " + shown(v[kBytes]) + " is not a whole number";
  if (!parseSeconds(v[kStart], r.startNs)) return "start " + shown(v[kStart]) + " is not a Unix time in seconds";
  if (!parseSeconds(v[kEnd], r.endNs)) return "end " + shown(v[kEnd]) + " is not a Unix time in seconds";
  if (r.endNs < r.startNs) return "end " + std::string(v[kEnd]) + " is before start " + std::string(v[kStart]);
  r.hasTcpFlags = present[kTcpFlags] && !v[kTcpFlags].empty() && v[kTcpFlags] != "-";
  r.tcpFlags = 0;
  if (r.hasTcpFlags) {
    if (!parseUnsigned(v[kTcpFlags], 255, n)) return "tcp-flags " + shown(v[kTcpFlags]) + " is not a number 0-255";
    r.tcpFlags = static_cast<std::uint8_t>(n);
  }
  r.version = -1;
  if (present[kVersion] && parseUnsigned(v[kVersion], INT32_MAX, n)) r.version = static_cast<std::int32_t>(n);
  r.trafficPath = -1;
  if (present[kTrafficPath] && parseUnsigned(v[kTrafficPath], INT32_MAX, n))
    r.trafficPath = static_cast<std::int32_t>(n);
  r.vm = intern(v[kVm], 1);
  r.vswitch = intern(v[kVswitch], 2);
  r.vpc = intern(v[kVpc], 3);
  r.account = intern(v[kAccount], 4);
  r.region = intern(v[kRegion], 5);
  r.srcType = intern(v[kSrcType], 6);
  r.dstType = intern(v[kDstType], 7);
  return "";
}

}  // namespace

namespace {

// zlib's message without the name it gives a descriptor opened with gzdopen ("<fd:3>: "): the number says nothing to
// a user, and differs between runs that open their files in another order (a shard's report and the index's).
std::string zlibMessage(const char* msg) {
  std::string_view m = msg != nullptr ? msg : "";
  if (m.starts_with("<fd:"))
    if (const std::size_t end = m.find(">: "); end != std::string_view::npos) m.remove_prefix(end + 3);
  return std::string(m);
}

// Reads up to n bytes of a gzFile; -1 on error (message in err). On the thread that calls it (errno is per thread).
long readGz(gzFile gz, char* into, std::size_t n, std::string& err) {
  const int got = gzread(gz, into, static_cast<unsigned>(n));
  if (got < 0) {
    int code = 0;
    const char* msg = gzerror(gz, &code);
    err = code == Z_ERRNO ? std::strerror(errno) : zlibMessage(msg);
    return -1;
  }
  if (got == 0 && n > 0) {
    int code = 0;
    const char* msg = gzerror(gz, &code);
    if (code != Z_OK && code != Z_STREAM_END) {
      err = zlibMessage(msg);
      return -1;
    }
  }
  return got;
}

// The gzip logs being decompressed on a thread of their own (Source::Inflate), in the whole process: past
// kMaxInflateThreads a log is decompressed by the thread that reads it, as before (a run over hundreds of logs opens
// them all at once).
std::atomic<int> inflateThreads{0};
constexpr int kMaxInflateThreads = 8;

}  // namespace

// Where the bytes come from: a gzFile (plain or gzip) or a string.
//
// A gzip log is decompressed on a thread of its own, ahead of the reader: inflating is about as slow as parsing the
// text it gives (fl3m.csv.gz: ~1 s of a run's ~2 s, docs/PERFORMANCE.md), and the reading thread did both. The thread
// fills a ring of kDepth blocks, each by one gzread of kBlock bytes, so where a damaged stream ends (zlib drops
// what the failing call had inflated) does not depend on the reader's timing: every reading of a file gets the same
// bytes and then the same error.
struct FlowLogReader::Source {
  gzFile gz = nullptr;
  std::string text;
  std::size_t at = 0;
  struct Inflate {
    static constexpr std::size_t kBlock = std::size_t{256} << 10, kDepth = 8;
    struct Block {
      std::vector<char> bytes = std::vector<char>(kBlock);
      long size = 0;    // bytes held, or -1: the error `err`
      std::string err;  // with size -1
    };
    Block blocks[kDepth];
    std::mutex mutex;
    std::condition_variable changed;
    std::uint64_t produced = 0, consumed = 0;  // blocks
    bool stop = false;
    std::thread thread;
  };
  std::unique_ptr<Inflate> inflate;

  // For a gzip file: decompress on a thread from now on (unless kMaxInflateThreads are running).
  void inflateAhead() {
    if (gz == nullptr || inflate) return;
    if (inflateThreads.fetch_add(1) >= kMaxInflateThreads) {
      inflateThreads.fetch_sub(1);
      return;
    }
    inflate = std::make_unique<Inflate>();
    inflate->thread = std::thread([this, in = inflate.get()] {
      for (;;) {
        {
          std::unique_lock lock(in->mutex);
          in->changed.wait(lock, [in] { return in->stop || in->produced - in->consumed < Inflate::kDepth; });
          if (in->stop) return;
        }
        Inflate::Block& b = in->blocks[in->produced % Inflate::kDepth];  // free: only this thread writes it now
        b.size = readGz(gz, b.bytes.data(), Inflate::kBlock, b.err);
        const bool last = b.size <= 0;  // the end, or an error: nothing more is read
        {
          std::lock_guard lock(in->mutex);
          ++in->produced;
        }
        in->changed.notify_all();
        if (last) return;
      }
    });
  }

  ~Source() {
    if (inflate) {
      {
        std::lock_guard lock(inflate->mutex);
        inflate->stop = true;
      }
      inflate->changed.notify_all();
      inflate->thread.join();
      inflateThreads.fetch_sub(1);
    }
    if (gz != nullptr) gzclose(gz);
  }
  // Reads up to n bytes; 0 at the end; -1 on error (message in err).
  long read(char* into, std::size_t n, std::string& err) {
    if (gz == nullptr) {
      const std::size_t k = std::min(n, text.size() - at);
      std::memcpy(into, text.data() + at, k);
      at += k;
      return static_cast<long>(k);
    }
    std::size_t done = 0;
    while (done < n) {
      const Inflate::Block& b = current();
      if (b.size <= 0) {  // the end or an error, after the bytes before it (and it stays so for later calls)
        if (done > 0) return static_cast<long>(done);
        if (b.size < 0) err = b.err;
        return b.size;
      }
      const std::size_t k = std::min(n - done, static_cast<std::size_t>(b.size) - blockAt);
      std::memcpy(into + done, b.bytes.data() + blockAt, k);
      done += k;
      blockAt += k;
      if (blockAt == static_cast<std::size_t>(b.size)) release();
    }
    return static_cast<long>(done);
  }

 private:
  // Past the cap of threads, the blocks are inflated here, one gzread of kBlock bytes each as on a thread: a damaged
  // stream then ends at the same byte either way.
  std::unique_ptr<Inflate::Block> here;
  bool hereFull = false;
  std::size_t blockAt = 0;  // bytes of the current block read

  // The block read now: the oldest one published (waiting for it), or one inflated here.
  const Inflate::Block& current() {
    if (!inflate) {
      if (!here) here = std::make_unique<Inflate::Block>();
      if (!hereFull) {
        here->size = readGz(gz, here->bytes.data(), Inflate::kBlock, here->err);
        hereFull = true;
      }
      return *here;
    }
    Inflate& in = *inflate;
    std::unique_lock lock(in.mutex);
    in.changed.wait(lock, [&in] { return in.produced > in.consumed; });
    return in.blocks[in.consumed % Inflate::kDepth];  // published: only this thread reads it until released
  }
  // The current block is read to its end.
  void release() {
    blockAt = 0;
    if (!inflate) {
      hereFull = false;
      return;
    }
    {
      std::lock_guard lock(inflate->mutex);
      ++inflate->consumed;
    }
    inflate->changed.notify_all();
  }
};

FlowLogReader::FlowLogReader(std::unique_ptr<Source> source, std::string path, std::uint16_t fileIndex)
    : source_(std::move(source)), path_(std::move(path)), fileIndex_(fileIndex) {
  buf_.resize(kMaxLine * 2);
}

// parseAhead(): a ring of kDepth batches of kBatch records, the thread filling the oldest free batch, next() copying
// records out of the oldest full one; one lock per batch.
struct FlowLogReader::Ahead {
  static constexpr std::size_t kBatch = 512, kDepth = 8;
  std::vector<FlowRecord> ring = std::vector<FlowRecord>(kBatch * kDepth);
  std::size_t count[kDepth] = {};  // records in each batch
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t produced = 0, consumed = 0;  // batches
  bool stop = false;
  // next()'s side
  bool holding = false;  // a batch (consumed % kDepth) is being read
  std::size_t at = 0;
  std::thread thread;
};

FlowLogReader::~FlowLogReader() {
  if (ahead_ && ahead_->thread.joinable()) {
    {
      std::lock_guard lock(ahead_->mutex);
      ahead_->stop = true;
    }
    ahead_->changed.notify_all();
    ahead_->thread.join();
  }
}

void FlowLogReader::parseAhead() {
  ahead_ = std::make_unique<Ahead>();
  ahead_->thread = std::thread([this] {
    Ahead& a = *ahead_;
    for (;;) {
      std::uint64_t batch = 0;
      {
        std::unique_lock lock(a.mutex);
        a.changed.wait(lock, [&] { return a.stop || a.produced - a.consumed < Ahead::kDepth; });
        if (a.stop) return;
        batch = a.produced % Ahead::kDepth;
      }
      std::size_t n = 0;
      FlowRecord* records = a.ring.data() + batch * Ahead::kBatch;
      while (n < Ahead::kBatch && nextHere(records[n])) ++n;
      {
        std::lock_guard lock(a.mutex);
        a.count[batch] = n;
        ++a.produced;
      }
      a.changed.notify_all();
      if (n < Ahead::kBatch) return;  // the end, or an error: a short batch is the last
    }
  });
}

Result<std::unique_ptr<FlowLogReader>> FlowLogReader::open(const std::string& path, std::uint16_t fileIndex,
                                                           std::string name) {
  if (path == "-") return Error{"--flow-log -", "standard input is not read as a flow log; give a file"};
  // Opened once: zlib reads a plain file as it is and tells gzip by its magic number (gzdirect), so a pipe or a
  // FIFO (`--flow-log <(zcat …)`) is read like a file; opening it twice lost its first bytes.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (name.empty()) name = path;
  if (fd < 0) return Error{name, std::string("cannot open flow log: ") + std::strerror(errno)};
  auto src = std::make_unique<Source>();
  src->gz = gzdopen(fd, "rb");
  if (src->gz == nullptr) {
    ::close(fd);
    return Error{name, "cannot open flow log: out of memory"};
  }
  gzbuffer(src->gz, 1 << 18);
  const bool gzip = gzdirect(src->gz) == 0;
  if (gzip) src->inflateAhead();
  std::unique_ptr<FlowLogReader> r(new FlowLogReader(std::move(src), std::move(name), fileIndex));
  r->file_ = path;
  r->gzip_ = gzip;
  if (auto err = r->start()) return *err;
  return r;
}

Result<std::unique_ptr<FlowLogReader>> FlowLogReader::fromText(std::string text, std::string name,
                                                               std::uint16_t fileIndex) {
  auto src = std::make_unique<Source>();
  src->text = std::move(text);
  std::unique_ptr<FlowLogReader> r(new FlowLogReader(std::move(src), std::move(name), fileIndex));
  if (auto err = r->start()) return *err;
  return r;
}

// Reads the first line: a '{' makes the file JSON Lines, else it is the CSV header.
std::optional<Error> FlowLogReader::start() {
  std::string_view first;
  for (;;) {
    if (!readLine(first)) {
      if (error_) return error_;
      return Error{path_, "the flow log is empty: expected a CSV header line (version,vswitch-id,…) or JSON Lines"};
    }
    if (line_ == 1) first = withoutBom(first);
    if (!trim(first).empty()) break;
  }
  first = trim(first);
  if (first.front() == '{') {
    format_ = FlowLogFormat::Jsonl;
    pendingFirst_ = true;
    firstLine_ = first;
    firstLineOffset_ = lineOffset_;
    return std::nullopt;
  }
  format_ = FlowLogFormat::Csv;
  if (!parseHeader(first)) return error_;
  return std::nullopt;
}

bool FlowLogReader::parseHeader(std::string_view line) {
  std::array<bool, kFieldCount> seen{};
  columns_.clear();
  std::size_t at = 0;
  for (;;) {
    std::size_t comma = line.find(',', at);
    std::string_view name =
        trim(line.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    const int f = fieldOf(name);
    if (f >= 0 && seen[static_cast<std::size_t>(f)]) {
      error_ = Error{path_ + ": line " + std::to_string(line_),
                     "the header names column " + std::string(kFields[static_cast<std::size_t>(f)].name) + " twice"};
      return false;
    }
    if (f >= 0) {
      seen[static_cast<std::size_t>(f)] = true;
      maxColumn_ = columns_.size();
    }
    columns_.push_back(static_cast<std::int8_t>(f));
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  defaultOrder_ = maxColumn_ == static_cast<std::size_t>(kTcpFlags);
  for (std::size_t i = 0; defaultOrder_ && i <= maxColumn_; ++i) defaultOrder_ = columns_[i] == static_cast<int>(i);
  std::string missing;
  for (std::size_t i = 0; i < kFieldCount; ++i)
    if (kFields[i].required && !seen[i]) missing += (missing.empty() ? "" : ", ") + std::string(kFields[i].name);
  if (!missing.empty()) {
    error_ = Error{path_ + ": line " + std::to_string(line_),
                   "the CSV header lacks the required column" +
                       std::string(missing.find(',') == std::string::npos ? " " : "s ") + missing +
                       " (a flow log's first line names its columns: version,vswitch-id,…,action,tcp-flags)"};
    return false;
  }
  return true;
}

bool FlowLogReader::readLine(std::string_view& line) {
  for (;;) {
    const char* from = buf_.data() + begin_;
    const void* nl = std::memchr(from, '\n', end_ - begin_);
    if (nl != nullptr) {
      const std::size_t len = static_cast<const char*>(nl) - from;
      line = std::string_view(from, len);
      lineOffset_ = consumed_ + begin_;
      begin_ += len + 1;
      ++line_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      return true;
    }
    if (eof_) {
      if (begin_ == end_) return false;
      line = std::string_view(from, end_ - begin_);  // the last line, without a newline
      lineOffset_ = consumed_ + begin_;
      begin_ = end_;
      ++line_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      return true;
    }
    if (end_ - begin_ >= kMaxLine) {
      error_ = Error{path_ + ": line " + std::to_string(line_ + 1), "a line longer than 1 MiB: not a flow log"};
      return false;
    }
    // Move what is left to the front and read more. A line handed out before stays valid: it is consumed before
    // the next call.
    std::memmove(buf_.data(), from, end_ - begin_);
    consumed_ += begin_;
    end_ -= begin_;
    begin_ = 0;
    std::string err;
    const long got = source_->read(buf_.data() + end_, buf_.size() - end_, err);
    if (got < 0) {
      error_ =
          Error{path_ + ": line " + std::to_string(line_ + 1), (gzip_ ? "cannot decompress: " : "cannot read: ") + err};
      return false;
    }
    if (got == 0) eof_ = true;
    if (copyText_ && got > 0) copyText_(std::string_view(buf_.data() + end_, static_cast<std::size_t>(got)));
    end_ += static_cast<std::size_t>(got);
  }
}

FlowText FlowLogReader::intern(std::string_view v, std::size_t field) {
  FlowText& last = lastText_[field];
  if (v.empty()) return FlowText{};  // an absent field's view may hold no pointer at all
  // Most records repeat the previous record's ids: compare before hashing. The cut keeps what fits and a '~'.
  const bool cut = v.size() > FlowText::kCapacity;
  if (!cut && v == last.view()) return last;
  std::string key(cut ? v.substr(0, FlowText::kCapacity - 1) : v);
  if (cut) key += '~';
  if (key == last.view()) return last;
  auto it = texts_.find(std::string_view(key));
  if (it == texts_.end()) it = texts_.insert(std::move(key)).first;
  last = FlowText{&*it};
  return last;
}

void FlowLogReader::badRecord(std::string what) {
  ++bad_;
  if (named_.size() < kMaxNamedBad) named_.push_back({line_, std::move(what)});
}

namespace {

// The first ',' in [p, e), or e: eight bytes at a time (a field is a few bytes long, too short for memchr's set-up).
inline __attribute__((always_inline)) const char* findComma(const char* p, const char* e) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL, kCommas = kOnes * ',';
  while (e - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t x = w ^ kCommas;  // a zero byte where w holds ','
    // The lowest flagged byte is the first zero byte (a borrow only flags bytes above a zero one).
    const std::uint64_t found = (x - kOnes) & ~x & kHigh;
    if (found != 0) {
      if constexpr (std::endian::native == std::endian::little) return p + (__builtin_ctzll(found) >> 3);
      while (*p != ',') ++p;
      return p;
    }
    p += 8;
  }
  while (p != e && *p != ',') ++p;
  return p;
}

// Whether eight bytes (read little-endian) are all ASCII digits, and their value as a decimal number (the first byte
// the most significant digit).
inline __attribute__((always_inline)) bool eightDigits(std::uint64_t w) {
  return (w & 0xF0F0F0F0F0F0F0F0ULL) == 0x3030303030303030ULL &&
         ((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) == 0x3030303030303030ULL;
}
inline __attribute__((always_inline)) std::uint64_t eightDigitsValue(std::uint64_t w) {
  w -= 0x3030303030303030ULL;
  w = w * 10 + (w >> 8);  // each byte pair: its two digits' value, in the low byte
  return (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
          (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
         32;
}

// Whether n bytes at a and b are equal (n at most FlowText::kCapacity): an id compared with the previous record's
// without a call to memcmp.
inline __attribute__((always_inline)) bool sameBytes(const char* a, const char* b, std::size_t n) {
  if (n >= 8) {
    std::uint64_t x, y;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return false;
    }
    std::memcpy(&x, a + n - 8, 8);  // the last eight (overlapping the ones compared)
    std::memcpy(&y, b + n - 8, 8);
    return x == y;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

// The line as flow logs write it, read in one pass that converts each value where it stands: numbers of digits only,
// dotted quads, OK / ACCEPT|REJECT / in|out as spelled, no quotes, no blank around a value. Anything else (and any
// value out of range) returns false without a word, and parseCsv reads the line again, deciding and naming what is
// wrong: the two agree on every line this one takes (tests/capture/flow_log_test.cpp compares them on random lines).
bool FlowLogReader::parseCsvFast(std::string_view line, FlowRecord& r) {
  const char* p = line.data();
  const char* const e = p + line.size();
  // Digits up to the next ',' (or the end), at most 19 of them (no overflow); eight at a time where there are eight
  // (a start or end time has ten).
  auto number = [&](std::uint64_t & x) __attribute__((always_inline)) {
    const char* const from = p;
    x = 0;
    if constexpr (std::endian::native == std::endian::little)
      while (e - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if (!eightDigits(w)) break;
        x = x * 100'000'000 + eightDigitsValue(w);
        p += 8;
      }
    while (p != e && static_cast<unsigned>(*p - '0') <= 9) x = x * 10 + static_cast<unsigned>(*p++ - '0');
    return p != from && p - from <= 19 && (p == e || *p == ',');
  };
  auto text = [&](std::string_view & v) __attribute__((always_inline)) {
    const char* const from = p;
    p = findComma(p, e);
    v = std::string_view(from, static_cast<std::size_t>(p - from));
    if (v.empty()) return true;
    const char a = v.front(), z = v.back();
    return a != '"' && a != ' ' && a != '\t' && z != ' ' && z != '\t' && z != '\r';
  };
  auto address = [&](IpAddr & out) __attribute__((always_inline)) {
    std::uint32_t a = 0;
    for (int part = 0; part < 4; ++part) {
      if (p == e || static_cast<unsigned>(*p - '0') > 9) return false;
      std::uint32_t x = static_cast<std::uint32_t>(*p++ - '0');
      if (x != 0)
        for (int k = 0; k < 2 && p != e && static_cast<unsigned>(*p - '0') <= 9; ++k)
          x = x * 10 + static_cast<std::uint32_t>(*p++ - '0');
      if (x > 255) return false;
      a = a << 8 | x;
      if (part < 3) {
        if (p == e || *p != '.') return false;
        ++p;
      }
    }
    out = IpAddr::v4(a);
    return p == e || *p == ',';
  };
  // A word as spelled (OK, in, out, ACCEPT, REJECT), the whole value: then past it.
  auto word = [&](const char* w, std::size_t n) __attribute__((always_inline)) {
    if (static_cast<std::size_t>(e - p) < n || (p + n != e && p[n] != ',')) return false;
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] != w[i]) return false;
    p += n;
    return true;
  };
  // The ids' values: eni, vm, vswitch, vpc, account, region, srctype, dsttype (intern's order), as pointers and sizes
  // (an array of string_views was stored in halves and read back whole: a stalled load per record).
  const char* idAt[kTextFields];
  std::size_t idSize[kTextFields] = {};
  unsigned same = 0;  // bit i: the value is the previous record's (lastText_[i])
  // An id: most records repeat the previous record's, compared in place before looking for the comma.
  auto id = [&](std::size_t i) __attribute__((always_inline)) {
    const std::string_view last = lastText_[i].view();
    const std::size_t k = last.size();
    if (k != 0 && static_cast<std::size_t>(e - p) >= k && (p + k == e || p[k] == ',') && sameBytes(p, last.data(), k)) {
      idAt[i] = p;
      idSize[i] = k;
      p += k;
      const char a = last[0], z = last[k - 1];  // as text() checks them
      same |= 1U << i;
      return a != '"' && a != ' ' && a != '\t' && z != ' ' && z != '\t' && z != '\r';
    }
    std::string_view v;
    const bool ok = text(v);
    idAt[i] = v.data();
    idSize[i] = v.size();
    return ok;
  };
  std::string_view ignored;
  bool statusOk = false;
  std::uint64_t n = 0, start = 0, end = 0;
  r.hasTcpFlags = false;
  r.tcpFlags = 0;
  r.version = -1;
  r.trafficPath = -1;
  // One column's value, by its field (any column not read, or __topic__: skipped).
  auto column = [&](int field) __attribute__((always_inline)) {
    bool ok = true;
    switch (field) {
      case kSrcAddr:
        ok = address(r.src);
        break;
      case kDstAddr:
        ok = address(r.dst);
        break;
      case kSrcPort:
        ok = number(n) && n <= 65535, r.sport = static_cast<std::uint16_t>(n);
        break;
      case kDstPort:
        ok = number(n) && n <= 65535, r.dport = static_cast<std::uint16_t>(n);
        break;
      case kProtocol:
        ok = number(n) && n <= 255, r.proto = static_cast<std::uint8_t>(n);
        break;
      case kPackets:
        ok = number(r.packets);
        break;
      case kBytes:
        ok = number(r.bytes);
        break;
      case kStart:
        ok = number(start) && start <= 9'000'000'000ULL;
        break;
      case kEnd:
        ok = number(end) && end <= 9'000'000'000ULL;
        break;
      case kTcpFlags:
        ok = number(n) && n <= 255, r.tcpFlags = static_cast<std::uint8_t>(n);
        r.hasTcpFlags = true;
        break;
      case kVersion:
        ok = number(n) && n <= INT32_MAX, r.version = static_cast<std::int32_t>(n);
        break;
      case kTrafficPath:
        ok = number(n) && n <= INT32_MAX, r.trafficPath = static_cast<std::int32_t>(n);
        break;
      case kLogStatus:
        ok = statusOk = word("OK", 2);
        break;
      case kDirection:
        if (word("in", 2))
          r.inbound = true;
        else if (word("out", 3))
          r.inbound = false;
        else
          return false;
        break;
      case kAction:
        if (word("ACCEPT", 6))
          r.accept = true;
        else if (word("REJECT", 6))
          r.accept = false;
        else
          return false;
        break;
      case kEni:
        ok = id(0);
        break;
      case kVm:
        ok = id(1);
        break;
      case kVswitch:
        ok = id(2);
        break;
      case kVpc:
        ok = id(3);
        break;
      case kAccount:
        ok = id(4);
        break;
      case kRegion:
        ok = id(5);
        break;
      case kSrcType:
        ok = id(6);
        break;
      case kDstType:
        ok = id(7);
        break;
      default:
        ok = text(ignored);
        break;  // a column not read, or __topic__
    }
    return ok;
  };
  if (defaultOrder_) {
    // The columns as SLS exports them by default (version … tcp-flags, nothing after): the same steps, in an order
    // known here, without a jump per column.
    const auto step = [&]<int F>(std::integral_constant<int, F>) __attribute__((always_inline)) {
      if (!column(F)) return false;
      if constexpr (F == kTcpFlags) return true;
      if (p == e) return false;
      ++p;
      return true;
    };
    const bool ok = [&]<int... F>(std::integer_sequence<int, F...>) __attribute__((always_inline)) {
      return (step(std::integral_constant<int, F>{}) && ...);
    }
    (std::make_integer_sequence<int, kTcpFlags + 1>{});
    if (!ok) return false;
  } else {
    for (std::size_t col = 0;; ++col) {
      if (!column(columns_[col])) return false;
      if (col == maxColumn_) break;
      if (p == e) return false;  // fewer fields than the header: parseCsv says so
      ++p;
    }
  }
  if (!statusOk || idSize[0] == 0 || (idSize[0] == 1 && idAt[0][0] == '-') || end < start) return false;
  r.status = FlowLogStatus::Ok;
  r.startNs = static_cast<std::int64_t>(start) * 1'000'000'000;
  r.endNs = static_cast<std::int64_t>(end) * 1'000'000'000;
  // Most records repeat the previous record's ids.
  FlowText* const to[kTextFields] = {&r.eni, &r.vm, &r.vswitch, &r.vpc, &r.account, &r.region, &r.srcType, &r.dstType};
  for (std::size_t i = 0; i < kTextFields; ++i) {
    if ((same & (1U << i)) != 0)
      *to[i] = lastText_[i];
    else if (idSize[i] == 0)
      *to[i] = FlowText{};
    else  // not the previous value (compared above)
      *to[i] = intern(std::string_view(idAt[i], idSize[i]), i);
  }
  return true;
}

// One pass over the line, column by column up to the last column read (the rest of the line is not looked at).
std::string FlowLogReader::parseCsv(std::string_view line, FlowRecord& out) {
  Values v{};
  std::array<bool, kFieldCount> present{};
  const char* const b = line.data();
  const char* const e = b + line.size();
  const char* p = b;
  for (std::size_t col = 0;; ++col) {
    std::string_view value;
    const char* next;           // the ',' after the value, or e
    if (p != e && *p == '"') {  // a quoted value: up to the closing quote ("" inside is kept as is)
      const std::size_t at = static_cast<std::size_t>(p - b);
      std::size_t q = at + 1;
      for (;;) {
        q = line.find('"', q);
        if (q == std::string_view::npos) return "column " + std::to_string(col + 1) + ": a quote is not closed";
        if (q + 1 < line.size() && line[q + 1] == '"') {
          q += 2;
          continue;
        }
        break;
      }
      value = line.substr(at + 1, q - at - 1);
      next = findComma(b + q, e);
    } else {
      next = findComma(p, e);
      value = std::string_view(p, static_cast<std::size_t>(next - p));
    }
    const std::int8_t f = columns_[col];
    if (f >= 0) {
      v[static_cast<std::size_t>(f)] = trim(value);
      present[static_cast<std::size_t>(f)] = true;
    }
    if (col == maxColumn_) break;
    if (next == e) return std::to_string(col + 1) + " fields where the header has " + std::to_string(columns_.size());
    p = next + 1;
  }
  return fill(v, present, out, [this](std::string_view t, std::size_t field) { return intern(t, field); });
}

// A JSON object of string or number values ({"srcport": 443, "eni-id": "eni-…"}), scanned in place.
std::string FlowLogReader::parseJson(std::string_view line, FlowRecord& out) {
  Values v{};
  std::array<bool, kFieldCount> present{};
  std::size_t i = 0;
  const std::size_t n = line.size();
  auto ws = [&] {
    while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
  };
  // A string starting at line[i] == '"'; its content (escapes left as they are; none of the fields read has any).
  auto str = [&](std::string_view& s) -> bool {
    const std::size_t b = ++i;
    while (i < n && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
    if (i >= n) return false;
    s = line.substr(b, i - b);
    ++i;
    return true;
  };
  ws();
  if (i >= n || line[i] != '{') return "not a JSON object";
  ++i;
  ws();
  if (i < n && line[i] == '}') {
    ++i;
  } else {
    for (;;) {
      ws();
      std::string_view key, value;
      if (i >= n || line[i] != '"' || !str(key)) return "a JSON key is not a string";
      ws();
      if (i >= n || line[i] != ':') return "JSON: expected ':' after \"" + std::string(key.substr(0, 40)) + "\"";
      ++i;
      ws();
      if (i < n && line[i] == '"') {
        if (!str(value)) return "JSON: a string is not closed";
      } else {
        const std::size_t b = i;
        while (i < n && line[i] != ',' && line[i] != '}' && line[i] != ' ' && line[i] != '\t') ++i;
        value = line.substr(b, i - b);
        if (value.empty() || value.front() == '{' || value.front() == '[')
          return "JSON: the value of \"" + std::string(key.substr(0, 40)) + "\" is not a string or a number";
        if (value == "null") value = {};
      }
      const int f = fieldOf(key);
      if (f >= 0) {
        v[static_cast<std::size_t>(f)] = value;
        present[static_cast<std::size_t>(f)] = true;
      }
      ws();
      if (i < n && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < n && line[i] == '}') {
        ++i;
        break;
      }
      return "JSON: expected ',' or '}'";
    }
  }
  ws();
  if (i != n) return "JSON: text after the object";
  std::string missing;
  for (std::size_t k = 0; k < kFieldCount; ++k)
    if (kFields[k].required && !present[k] &&
        !(k != kLogStatus && k != kEni && k != kStart && k != kEnd && present[kLogStatus] &&
          !equalsNoCase(v[kLogStatus], "OK")))
      missing += (missing.empty() ? "" : ", ") + std::string(kFields[k].name);
  if (!missing.empty()) return "lacks " + missing;
  std::string bad = fill(v, present, out, [this](std::string_view t, std::size_t field) { return intern(t, field); });
  if (bad.empty() && splitIds_) {
    // A shard file of `sgsim split`: the record keeps the log and line it came from.
    std::uint64_t file = 0, line = 0;
    if (!present[kSgsimFile] || !present[kSgsimLine] || !parseUnsigned(v[kSgsimFile], 65535, file) ||
        !parseUnsigned(v[kSgsimLine], UINT64_MAX, line) || line == 0)
      return "lacks sgsim-file and sgsim-line (the record's original log and line), which every record `sgsim split` "
             "writes carries: not a shard file of this split";
    out.fileIndex = static_cast<std::uint16_t>(file);
    out.line = line;
  }
  return bad;
}

std::string FlowLogReader::parseLine(std::string_view line, FlowRecord& out) {
  if (format_ == FlowLogFormat::Csv && fastCsv_ && parseCsvFast(line, out)) return {};
  return format_ == FlowLogFormat::Csv ? parseCsv(line, out) : parseJson(line, out);
}

bool FlowLogReader::next(FlowRecord& out) {
  if (!ahead_) return nextHere(out);
  Ahead& a = *ahead_;
  for (;;) {
    if (a.holding) {
      const std::size_t batch = a.consumed % Ahead::kDepth;
      if (a.at < a.count[batch]) {
        out = a.ring[batch * Ahead::kBatch + a.at++];
        return true;
      }
      if (a.count[batch] < Ahead::kBatch) {  // the last batch, read: the thread has ended
        if (a.thread.joinable()) a.thread.join();
        return false;
      }
      {
        std::lock_guard lock(a.mutex);
        ++a.consumed;
      }
      a.changed.notify_all();
      a.holding = false;
    }
    std::unique_lock lock(a.mutex);
    a.changed.wait(lock, [&] { return a.produced > a.consumed; });
    a.holding = true;
    a.at = 0;
  }
}

bool FlowLogReader::nextHere(FlowRecord& out) {
  if (done_) return false;
  for (;;) {
    std::string_view line;
    std::uint64_t offset = lineOffset_;
    if (pendingFirst_) {
      pendingFirst_ = false;
      line = firstLine_;
      offset = firstLineOffset_;
    } else if (!readLine(line)) {
      done_ = true;
      return false;
    } else {
      offset = lineOffset_;
    }
    if (trim(line).empty()) continue;
    out.line = line_;
    out.fileIndex = fileIndex_;
    out.offset = offset;
    if (hashLines_) out.lineHash = lineHash(line);
    std::string bad = parseLine(line, out);
    if (!bad.empty()) {
      badRecord(std::move(bad));
      continue;
    }
    if (out.status == FlowLogStatus::NoData) {
      ++noData_;
      continue;
    }
    if (out.status == FlowLogStatus::SkipData) {
      if (skipData_++ == 0) firstSkipLine_ = line_;
      continue;
    }
    ++records_;
    return true;
  }
}

bool FlowLogReader::copyText(std::function<void(std::string_view)> sink) {
  if (consumed_ != 0) return false;  // start() read past the first buffer: its first bytes are gone
  if (end_ > 0) sink(std::string_view(buf_.data(), end_));
  copyText_ = std::move(sink);
  return true;
}

bool FlowLogReader::regularFile() const {
  if (source_->gz == nullptr) return true;  // fromText
  struct stat st {};
  return ::stat(file_.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::optional<Error> FlowLogReader::indexable() const {
  if (source_->gz == nullptr) return std::nullopt;  // fromText
  if (!regularFile()) return Error{path_, "not a regular file: an index reads a flow log by offsets"};
  if (gzip_) return Error{path_, "compressed (gzip): an index lists where records start in a plain file"};
  return std::nullopt;
}

std::optional<Error> FlowLogReader::mapWhole() {
  if (auto why = indexable()) return why;
  if (source_->gz == nullptr) {  // fromText
    whole_ = source_->text;
    return std::nullopt;
  }
  // Not populated: a shard reads only its own lines. Guarded (core/map_guard.h): a log cut short while mapped is an
  // error (recordAt), not a SIGBUS. Errors name the log, not the file read in its place (a gzip log's copy).
  auto m = MappedFile::open(file_, "not a regular file: an index reads a flow log by offsets",  // replaced since
                            MappedFile::Populate::No, "flow log");                              // indexable() looked
  if (!m) return Error{path_, m.error().message};
  mapping_ = std::move(*m);
  whole_ = mapping_->text();
  return std::nullopt;
}

void FlowLogReader::dropBelow(std::uint64_t offset) {
  if (mapping_) mapping_->dropBelow(offset);  // not for text (tests)
}

bool FlowLogReader::recordAt(std::uint64_t offset, std::uint64_t line, std::uint32_t hash, FlowRecord& out) {
  // Named only when it goes wrong: a string per record was 2% of a shard's run.
  const auto where = [&] { return path_ + ": line " + std::to_string(line); };
  const char* changed = ": the flow log is not what was indexed (it changed since): index it again";
  if (offset >= whole_.size()) {
    error_ = Error{where(), std::string("the index lists a record past the end of the file") + changed};
    return false;
  }
  const char* from = whole_.data() + offset;
  const std::size_t avail = whole_.size() - offset;
  const void* nl = std::memchr(from, '\n', std::min(avail, kMaxLine + 1));
  // A page the file no longer has reads as zeros (core/map_guard.h): checked once the line is found, and again once
  // it is parsed.
  const auto cutShort = [&] {
    if (!mapping_ || !mapping_->cutShort()) return false;
    error_ = Error{where(), std::string("the file was cut short while it was read") + changed};
    return true;
  };
  if (cutShort()) return false;
  if (nl == nullptr && avail > kMaxLine) {
    error_ = Error{where(), std::string("a line longer than 1 MiB") + changed};
    return false;
  }
  std::string_view text(from, nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - from) : avail);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (format_ == FlowLogFormat::Jsonl && offset == firstLineOffset_) {  // as start() read the first line
    if (offset == 0) text = withoutBom(text);
    text = trim(text);
  }
  if (lineHash(text) != hash) {
    error_ = Error{where(), std::string("the line's text is not the text indexed") + changed};
    return false;
  }
  out.line = line;
  out.fileIndex = fileIndex_;
  out.offset = offset;
  std::string bad = parseLine(text, out);
  if (bad.empty() && out.status != FlowLogStatus::Ok) bad = "its log-status is not OK";
  if (cutShort()) return false;
  if (!bad.empty()) {
    error_ = Error{where(), "the index lists a record here, but " + bad + changed};
    return false;
  }
  ++records_;
  return true;
}

std::vector<Error> FlowLogReader::warnings() const {
  std::vector<Error> out;
  for (const auto& [line, what] : named_)
    out.push_back(Error{path_ + ": line " + std::to_string(line), "record skipped: " + what});
  if (bad_ > named_.size())
    out.push_back(Error{path_, std::to_string(bad_ - named_.size()) + " more bad records skipped (" +
                                   std::to_string(bad_) + " in all; the first " + std::to_string(named_.size()) +
                                   " are named above)"});
  if (skipData_ > 0)
    out.push_back(Error{path_ + ": line " + std::to_string(firstSkipLine_),
                        std::to_string(skipData_) + (skipData_ == 1 ? " SKIPDATA record" : " SKIPDATA records") +
                            ": the cloud skipped flow-log records in those windows, so traffic is missing from this "
                            "report"});
  return out;
}

// ---- a shard's entries ------------------------------------------------------------------------------------

FlowIndexEntries::FlowIndexEntries(std::vector<FlowLogIndexEntry> entries)
    : owned_(std::make_shared<const std::vector<FlowLogIndexEntry>>(std::move(entries))),
      data_(owned_->data()),
      size_(owned_->size()) {}

Result<FlowIndexEntries> FlowIndexEntries::map(const std::string& path, std::uint64_t count,
                                               const std::string& counted) {
  auto m = MappedFile::open(path, "not a regular file: index again");
  if (!m) return Error{m.error().where, m.error().message + ": index again"};
  const std::uint64_t want = count * sizeof(FlowLogIndexEntry);
  if ((*m)->size() != want)
    return Error{path, "holds " + std::string((*m)->size() < want ? "fewer" : "more") + " than the " +
                           std::to_string(count) + " records " + counted + " counts: index again"};
  FlowIndexEntries out;
  out.data_ = static_cast<const FlowLogIndexEntry*>((*m)->data());
  out.size_ = static_cast<std::size_t>(count);
  out.mapping_ = std::move(*m);
  return out;
}

bool FlowIndexEntries::cutShort() const { return mapping_ && mapping_->cutShort(); }

const std::string& FlowIndexEntries::path() const {
  static const std::string kInMemory = "flow-log index";
  return mapping_ ? mapping_->path() : kInMemory;
}

// ---- several files, in the mapping's order ----------------------------------------------------------------

int MergedFlowLog::openerRank(const FlowRecord& r) {
  if (r.proto == 6 && r.hasTcpFlags && (r.tcpFlags & 0x02) != 0 && (r.tcpFlags & 0x10) == 0) return 0;
  const bool wellS = r.sport < 1024, wellD = r.dport < 1024;
  bool toServer;
  if (wellS != wellD)
    toServer = wellD;
  else
    toServer = r.dport <= r.sport;
  return toServer ? 1 : 2;
}

Result<std::unique_ptr<MergedFlowLog>> MergedFlowLog::open(const std::vector<std::string>& paths) {
  std::vector<std::unique_ptr<FlowLogReader>> readers;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    auto r = FlowLogReader::open(paths[i], static_cast<std::uint16_t>(i));
    if (!r) return r.error();
    readers.push_back(std::move(*r));
  }
  return std::make_unique<MergedFlowLog>(std::move(readers));
}

MergedFlowLog::MergedFlowLog(std::vector<std::unique_ptr<FlowLogReader>> readers) : readers_(std::move(readers)) {
  pending_.assign(readers_.size(), kNone);
  ahead_.resize(readers_.size());
  for (std::size_t i = 0; i < readers_.size(); ++i) fill(i);
}

MergedFlowLog::MergedFlowLog(std::vector<std::unique_ptr<FlowLogReader>> readers, Compactor compact)
    : readers_(std::move(readers)), compact_(std::move(compact)) {
  pending_.assign(readers_.size(), kNone);
  ahead_.resize(readers_.size());
  for (std::size_t i = 0; i < readers_.size(); ++i) fill(i);
}

MergedFlowLog::MergedFlowLog(std::vector<std::unique_ptr<FlowLogReader>> readers, FlowIndexEntries entries, Indexed)
    : readers_(std::move(readers)), indexed_(true), entries_(std::move(entries)) {
  pending_.assign(readers_.size(), kNone);
  ahead_.resize(readers_.size());
  const std::size_t files = readers_.size(), checkpoints = entries_.size() / kDropEvery + 1;
  lowestAhead_.assign(checkpoints * files, UINT64_MAX);
  std::vector<std::uint64_t> lowest(files, UINT64_MAX);
  for (std::size_t i = entries_.size(); i-- > 0;) {
    const FlowLogIndexEntry& e = entries_[i];
    if (e.file < files) lowest[e.file] = std::min(lowest[e.file], e.offset);
    if (i % kDropEvery == 0) std::copy(lowest.begin(), lowest.end(), lowestAhead_.begin() + (i / kDropEvery) * files);
  }
}

Result<std::unique_ptr<MergedFlowLog>> MergedFlowLog::openIndexed(const std::vector<std::string>& paths,
                                                                  FlowIndexEntries entries,
                                                                  const std::vector<std::string>& texts) {
  std::vector<std::unique_ptr<FlowLogReader>> readers;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const bool copy = i < texts.size() && !texts[i].empty();
    auto r = copy ? FlowLogReader::open(texts[i], static_cast<std::uint16_t>(i), paths[i])
                  : FlowLogReader::open(paths[i], static_cast<std::uint16_t>(i));
    if (!r && copy) return Error{texts[i], "cannot read the index's copy of " + paths[i] + ": index again"};
    if (!r) return r.error();
    if (auto e = (*r)->mapWhole()) return *e;
    readers.push_back(std::move(*r));
  }
  for (const FlowLogIndexEntry& e : entries)
    if (e.file >= readers.size())
      return Error{"flow-log index", "an entry names log " + std::to_string(e.file + 1) + " of " +
                                         std::to_string(readers.size()) + ": not an index of these logs"};
  return indexed(std::move(readers), std::move(entries));
}

std::unique_ptr<MergedFlowLog> MergedFlowLog::indexed(std::vector<std::unique_ptr<FlowLogReader>> readers,
                                                      FlowIndexEntries entries) {
  return std::unique_ptr<MergedFlowLog>(new MergedFlowLog(std::move(readers), std::move(entries), Indexed{}));
}

bool MergedFlowLog::nextIndexed(Frame& frame) {
  if (entryAt_ == entries_.size()) {
    if (handedOut_.size() == 1) releaseMemory();
    return false;
  }
  if (entryAt_ % kDropEvery == 0 && entryAt_ > 0)
    for (std::size_t f = 0; f < readers_.size(); ++f)
      readers_[f]->dropBelow(lowestAhead_[(entryAt_ / kDropEvery) * readers_.size() + f]);
  constexpr std::size_t kLinesAhead = 8;  // measured: docs/PERFORMANCE.md, "Scale-out"
  if (entryAt_ + kLinesAhead < entries_.size()) {
    const FlowLogIndexEntry& ahead = entries_[entryAt_ + kLinesAhead];
    readers_[ahead.file]->prefetchAt(ahead.offset);
  }
  const FlowLogIndexEntry e = entries_[entryAt_++];
  if (entries_.cutShort()) {  // e may be zeros
    errors_.push_back(Error{entries_.path(), "cut short while it was read: index again"});
    entryAt_ = entries_.size();
    if (handedOut_.size() == 1) releaseMemory();
    return false;
  }
  FlowLogReader& r = *readers_[e.file];
  const std::uint32_t at = newSlot();
  if (!r.recordAt(e.offset, e.line, e.lineHash, slot(at))) {
    freeSlots_.push_back(at);
    errors_.push_back(*r.error());
    entryAt_ = entries_.size();  // the rest is not read: the run ends on the error, as at a log's bad line
    if (handedOut_.size() == 1) releaseMemory();
    return false;
  }
  slot(at).ordinal = e.ordinal;
  handOut(at, frame);
  return true;
}

void MergedFlowLog::FreeChunk::operator()(FlowRecord* p) const {
  std::destroy_n(p, kSlotChunk);
  std::free(p);
}

std::uint32_t MergedFlowLog::newSlot() {
  if (!freeSlots_.empty()) {
    const std::uint32_t s = freeSlots_.back();
    freeSlots_.pop_back();
    return s;
  }
  if (slotCount_ % (compact_ ? kCompactChunk : kSlotChunk) == 0) {
    void* mem = std::aligned_alloc(kChunkBytes, kChunkBytes);
    if (mem == nullptr) throw std::bad_alloc();
    ::madvise(mem, kChunkBytes, MADV_HUGEPAGE);  // a hint: without huge pages the chunk is 512 pages
    if (compact_) {
      auto* records = static_cast<CompactFlowRecord*>(mem);
      std::uninitialized_default_construct_n(records, kCompactChunk);
      compactChunks_.emplace_back(records);
    } else {
      auto* records = static_cast<FlowRecord*>(mem);
      std::uninitialized_default_construct_n(records, kSlotChunk);
      slotChunks_.emplace_back(records);
    }
  }
  return slotCount_++;
}

void MergedFlowLog::FreeCompactChunk::operator()(CompactFlowRecord* p) const {
  std::destroy_n(p, kCompactChunk);
  std::free(p);
}

void MergedFlowLog::fill(std::size_t file) {
  if (std::deque<std::uint32_t>& q = ahead_[file]; !q.empty()) {
    pending_[file] = q.front();
    q.pop_front();
    --aheadCount_;
    // Records read ahead were written up to kMaxAhead records ago: fetch the start, ports and flags (what next()
    // compares and ranks) of one a few places on before it is read.
    if (!q.empty()) prefetchSlot(q[std::min(q.size() - 1, kPrefetchAhead)]);
    return;
  }
  FlowLogReader& r = *readers_[file];
  const std::uint32_t at = newSlot();
  if (readInto(r, at)) {
    pending_[file] = at;
    return;
  }
  freeSlots_.push_back(at);
  pending_[file] = kNone;
  if (r.error()) errors_.push_back(*r.error());
}

bool MergedFlowLog::readAhead() {
  if (indexed_) return false;  // no window to fill
  bool read = false;
  for (std::size_t f = 0; f < readers_.size(); ++f) {
    if (pending_[f] == kNone) continue;  // ended
    FlowLogReader& r = *readers_[f];
    for (int i = 0; i < 256 && aheadCount_ < kMaxAhead; ++i) {
      const std::uint32_t at = newSlot();
      if (!readInto(r, at)) {  // the end or an error: fill() meets it once the records before it are taken
        freeSlots_.push_back(at);
        break;
      }
      ahead_[f].push_back(at);
      ++aheadCount_;
      read = true;
    }
  }
  return read;
}

void MergedFlowLog::releaseMemory() {
  slotChunks_.clear();
  slotChunks_.shrink_to_fit();
  compactChunks_.clear();
  compactChunks_.shrink_to_fit();
  freeSlots_.clear();
  freeSlots_.shrink_to_fit();
  slotCount_ = 0;
  std::fill(handedOut_.begin(), handedOut_.end(), kNone);
}

bool MergedFlowLog::next(Frame& frame) {
  if (handedOut_.size() == 1 && handedOut_[0] != kNone) {  // valid until this call
    freeSlots_.push_back(handedOut_[0]);
    handedOut_[0] = kNone;
  }
  if (indexed_) return nextIndexed(frame);
  const std::uint32_t out = nextInOrder();
  if (out == kNone) return false;
  handOut(out, frame);
  return true;
}

const CompactFlowRecord* MergedFlowLog::nextCompact() {
  if (handedOut_[0] != kNone) {  // valid until this call
    freeSlots_.push_back(handedOut_[0]);
    handedOut_[0] = kNone;
  }
  const std::uint32_t out = nextInOrder();
  if (out == kNone) return nullptr;
  handedOut_[0] = out;
  return &compactSlot(out);
}

std::uint32_t MergedFlowLog::nextInOrder() {
  // Take records in (roughly) start order until the oldest held start is a window behind the latest read.
  for (;;) {
    if (!held_.empty() && held_.begin()->first < latestStart_ - kReorderNs) break;
    std::size_t best = readers_.size();
    for (std::size_t i = 0; i < readers_.size(); ++i)
      if (pending_[i] != kNone && (best == readers_.size() || startOf(pending_[i]) < startOf(pending_[best]))) best = i;
    if (best == readers_.size()) break;
    const std::uint32_t at = pending_[best];
    const std::int64_t startNs = startOf(at);
    const std::uint16_t fileIndex = fileOf(at);
    const std::uint64_t line = lineOf(at);
    // Logs come about in start order: the newest bucket is the usual one.
    auto it =
        !held_.empty() && held_.rbegin()->first == startNs ? std::prev(held_.end()) : held_.try_emplace(startNs).first;
    Bucket& b = it->second;
    const int rank = rankOf(at);
    std::vector<std::uint32_t>& list = b.byRank[rank];
    if (!list.empty() && b.inOrder[rank] &&
        (fileIndex != b.lastFile[rank] ? fileIndex < b.lastFile[rank] : line < b.lastLine[rank]))
      b.inOrder[rank] = false;
    b.lastFile[rank] = fileIndex;
    b.lastLine[rank] = line;
    list.push_back(at);
    latestStart_ = std::max(latestStart_, startNs);
    fill(best);
  }
  if (held_.empty()) {
    // Every file has ended: the window's memory goes back before the reports are made (slots are chunks of ~1 MB,
    // which malloc maps and unmaps on their own), here unless records handed out are kept (keepHandedOut: the
    // consumer calls releaseMemory() once it is done with them). Their ids live in the readers.
    if (handedOut_.size() == 1) releaseMemory();
    return kNone;
  }
  auto first = held_.begin();
  Bucket& b = first->second;
  int rank = 0;
  while (b.at[rank] == b.byRank[rank].size()) ++rank;  // a bucket in held_ has a record left
  std::vector<std::uint32_t>& list = b.byRank[rank];
  if (!b.sorted[rank]) {
    // Arrival order is file order within a file; files merged at equal starts may interleave.
    const auto byFileLine = [&](std::uint32_t x, std::uint32_t y) {
      return fileOf(x) != fileOf(y) ? fileOf(x) < fileOf(y) : lineOf(x) < lineOf(y);
    };
    if (!b.inOrder[rank]) std::stable_sort(list.begin(), list.end(), byFileLine);
    b.sorted[rank] = true;
  }
  // The window's records were written a window ago (hundreds of thousands of records in a busy log, and slots are
  // reused in any order): fetch the ones next in line before they are read, or each costs a cache miss per line.
  if (b.at[rank] + kPrefetchAhead < list.size()) prefetchSlot(list[b.at[rank] + kPrefetchAhead]);
  const std::uint32_t out = list[b.at[rank]++];
  const std::int64_t start = first->first;
  if (b.at[0] == b.byRank[0].size() && b.at[1] == b.byRank[1].size() && b.at[2] == b.byRank[2].size())
    held_.erase(first);
  if (start < releasedStart_ && late_++ == 0) {
    firstLateLine_ = lineOf(out);
    firstLateFile_ = fileOf(out);
  }
  releasedStart_ = std::max(releasedStart_, start);
  return out;
}

void MergedFlowLog::prefetchSlot(std::uint32_t at) const {
  if (compact_) {
    __builtin_prefetch(&compactSlot(at));
    return;
  }
  // What the window reads of it (line, file, bytes and start), and the eni-id, which the consumer reads first (to
  // place the record at its interface: 6% of an index pass over fl3m.csv when it was not fetched).
  const char* p = reinterpret_cast<const char*>(&slot(at));
  __builtin_prefetch(p);
  __builtin_prefetch(p + offsetof(FlowRecord, startNs));
  __builtin_prefetch(p + offsetof(FlowRecord, eni));
}

bool MergedFlowLog::readInto(FlowLogReader& r, std::uint32_t at) {
  if (!compact_) return r.next(slot(at));
  if (!r.next(scratch_)) return false;
  CompactFlowRecord& c = compactSlot(at);
  c.startNs = scratch_.startNs;
  c.line = scratch_.line;
  c.offset = scratch_.offset;
  c.eni = scratch_.eni;
  c.lineHash = scratch_.lineHash;
  c.fileIndex = scratch_.fileIndex;
  c.rank = static_cast<std::uint8_t>(openerRank(scratch_));
  c.shard = 0;
  c.placed = true;
  compact_(scratch_, c);
  return true;
}

void MergedFlowLog::handOut(std::uint32_t out, Frame& frame) {
  if (handedOut_.size() > 1) {  // the oldest kept record is done with
    std::uint32_t& oldest = handedOut_[handedAt_];
    if (oldest != kNone) freeSlots_.push_back(oldest);
    oldest = out;
    if (++handedAt_ == handedOut_.size()) handedAt_ = 0;
  } else {
    handedOut_[0] = out;
  }
  const FlowRecord& r = slot(out);
  frame = Frame{};
  frame.number = r.line;
  frame.tsNs = r.startNs;
  frame.wireLen = static_cast<std::uint32_t>(std::min<std::uint64_t>(r.bytes, UINT32_MAX));
  frame.capLen = 0;
  frame.fileIndex = r.fileIndex;
  frame.record = &r;
}

std::vector<Error> MergedFlowLog::warnings() const {
  std::vector<Error> out;
  for (const auto& r : readers_) {
    auto w = r->warnings();
    out.insert(out.end(), w.begin(), w.end());
  }
  if (late_ > 0)
    out.push_back(Error{readers_[firstLateFile_]->path() + ": line " + std::to_string(firstLateLine_),
                        std::to_string(late_) + (late_ == 1 ? " record starts" : " records start") +
                            " more than 120 s before a record already evaluated: evaluated late, so the connection "
                            "state they met may differ (sort the log by start)"});
  return out;
}

}  // namespace sgsim
