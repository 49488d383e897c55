// pcapng, read by our own code: the design is at the top of include/sgsim/capture/pcapng_reader.h.

#include "sgsim/capture/pcapng_reader.h"

#include <pcap/dlt.h>  // DLT_ values only: this file does not call libpcap
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace sgsim {
namespace {

constexpr std::uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr std::uint32_t kInterfaceDescription = 1;
constexpr std::uint32_t kPacket = 2;  // obsolete
constexpr std::uint32_t kSimplePacket = 3;
constexpr std::uint32_t kEnhancedPacket = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;

constexpr std::size_t kChunk = std::size_t{1} << 20;  // what one read(2) asks for
constexpr std::int64_t kNsPerSecond = 1000000000;
__extension__ typedef unsigned __int128 Uint128;  // GCC and clang: timestamps of 2^-n s units, exactly

// Fixed parts, in bytes from the block's start, trailer (4 bytes) not included.
constexpr std::uint32_t kSectionFixed = 24;
constexpr std::uint32_t kInterfaceFixed = 16;
constexpr std::uint32_t kEnhancedFixed = 28;  // also the obsolete Packet Block's
constexpr std::uint32_t kSimpleFixed = 12;

std::uint16_t load16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint32_t load32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint64_t load64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The registry's names (draft-ietf-opsawg-pcapng, "Standardized Block Type Codes"); nullptr for other types.
const char* knownBlockName(std::uint32_t type) {
  switch (type) {
    case kSectionHeader:
      return "Section Header Block";
    case kInterfaceDescription:
      return "Interface Description Block";
    case kPacket:
      return "Packet Block";
    case kSimplePacket:
      return "Simple Packet Block";
    case 4:
      return "Name Resolution Block";
    case 5:
      return "Interface Statistics Block";
    case kEnhancedPacket:
      return "Enhanced Packet Block";
    case 7:
      return "IRIG Timestamp Block";
    case 8:
      return "ARINC 429 Block";
    case 9:
      return "systemd Journal Export Block";
    case 10:
      return "Decryption Secrets Block";
    case 0x101:
      return "Hone Machine Info Block";
    case 0x102:
      return "Hone Connection Event Block";
    case 0x204:
    case 0x208:
      return "Sysdig Event Block";
    case 0xBAD:
    case 0x40000BAD:
      return "Custom Block";
    default:
      if (type >= 0x201 && type <= 0x213) return "Sysdig Block";
      return nullptr;
  }
}

}  // namespace

std::string pcapngBlockName(std::uint32_t type) {
  if (const char* name = knownBlockName(type)) return name;
  char text[48];
  std::snprintf(text, sizeof text, "block of type 0x%08X (%s)", static_cast<unsigned>(type),
                (type & 0x80000000u) != 0 ? "local use" : "unknown");
  return text;
}

namespace {

std::string blockName(std::uint32_t type) { return pcapngBlockName(type); }

std::int64_t saturatedAdd(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b < 0 ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
}

std::int64_t secondsToNs(std::int64_t seconds) {
  std::int64_t ns = 0;
  if (!__builtin_mul_overflow(seconds, kNsPerSecond, &ns)) return ns;
  return seconds < 0 ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
}

}  // namespace

int dltFromLinkType(int linkType) {
  // The LINKTYPE_ values whose DLT_ differs, as libpcap maps them (pcap-common.c, linktype_to_dlt; checked
  // against the linked libpcap for every 16-bit value in tests/capture/pcapng_test.cpp).
  switch (linkType) {
    case 100:
      return DLT_ATM_RFC1483;
    case 101:
      return DLT_RAW;
    case 102:
      return DLT_SLIP_BSDOS;
    case 103:
      return DLT_PPP_BSDOS;
    case 106:
      return DLT_ATM_CLIP;
    case 246:
      return DLT_PFSYNC;
    case 258:
      return DLT_PKTAP;
    default:
      return linkType;
  }
}

int linkTypeFromDlt(int dlt) {
  for (const int linkType : {100, 101, 102, 103, 106, 246, 258})
    if (linkType != dlt && dltFromLinkType(linkType) == dlt) return linkType;
  return dlt;
}

bool looksLikePcapng(std::span<const std::uint8_t> head) {
  return head.size() >= 4 && load32(head.data()) == kSectionHeader;
}

PcapngReader::PcapngReader(int fd, std::string path)
    : fd_(fd), path_(std::move(path)), buffer_(new std::uint8_t[kChunk]), capacity_(kChunk) {}

PcapngReader::~PcapngReader() { ::close(fd_); }

Result<std::unique_ptr<PcapngReader>> PcapngReader::open(int fd, std::string path, std::span<const std::uint8_t> head) {
  std::unique_ptr<PcapngReader> r(new PcapngReader(fd, std::move(path)));
  const std::size_t n = std::min(head.size(), r->capacity_);
  std::memcpy(r->buffer_.get(), head.data(), n);
  r->end_ = n;
  // The first block must be a section header: without one the file is not pcapng, and nothing can be read.
  if (!looksLikePcapng(head) || !r->readSection(0)) {
    return Error{r->path_, r->error_ ? r->error_->message : "not a pcapng file (no Section Header Block)"};
  }
  // On to the first interface, so that the file's link type is known before its first frame is asked for; an
  // error on the way is next()'s to report.
  for (;;) {
    const Step s = r->step(nullptr, true);
    if (s == Step::Interface || s == Step::PacketNext || s == Step::End) break;
  }
  return r;
}

std::uint16_t PcapngReader::get16(const std::uint8_t* p) const {
  const std::uint16_t v = load16(p);
  return swapped_ ? __builtin_bswap16(v) : v;
}
std::uint32_t PcapngReader::get32(const std::uint8_t* p) const {
  const std::uint32_t v = load32(p);
  return swapped_ ? __builtin_bswap32(v) : v;
}
std::uint64_t PcapngReader::get64(const std::uint8_t* p) const {
  const std::uint64_t v = load64(p);
  return swapped_ ? __builtin_bswap64(v) : v;
}

std::size_t PcapngReader::fill(std::size_t need) {
  std::size_t have = end_ - pos_;
  if (have >= need || eof_ || readErrno_ != 0) return have;
  if (need > capacity_) {
    // A block larger than the buffer (callers bound it by kMaxBlockBytes): room for it and a chunk more.
    const std::size_t capacity = need + kChunk;
    std::unique_ptr<std::uint8_t[]> bigger(new std::uint8_t[capacity]);
    std::memcpy(bigger.get(), buffer_.get() + pos_, have);
    buffer_ = std::move(bigger);
    capacity_ = capacity;
  } else if (pos_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + pos_, have);
  }
  pos_ = 0;
  end_ = have;
  while (end_ < need) {
    const ssize_t n = ::read(fd_, buffer_.get() + end_, capacity_ - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
    } else if (n == 0) {
      eof_ = true;
      break;
    } else if (errno != EINTR) {
      readErrno_ = errno;
      break;
    }
  }
  return end_ - pos_;
}

bool PcapngReader::skip(std::uint64_t n) {
  while (n > 0) {
    std::size_t have = end_ - pos_;
    if (have == 0) {
      have = fill(std::min<std::uint64_t>(n, capacity_));
      if (have == 0) return false;
    }
    const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(have, n));
    consume(k);
    n -= k;
  }
  return true;
}

bool PcapngReader::fail(std::string message) {
  error_ = Error{path_ + ": frame " + std::to_string(framesRead_ + 1), std::move(message)};
  done_ = true;
  return false;
}

bool PcapngReader::truncated(const std::string& what, std::uint64_t at, std::uint64_t length, std::uint64_t present) {
  if (readErrno_ != 0) {
    return fail("cannot read the file at byte offset " + std::to_string(at + present) + " (" +
                std::strerror(readErrno_) + ")");
  }
  const std::string bytes = std::to_string(present) + (present == 1 ? " byte" : " bytes");
  const std::string place = what + " at byte offset " + std::to_string(at);
  return fail("truncated pcapng file: " +
              (length > 0 ? "the " + place + " is " + std::to_string(length) + " bytes long, but the file ends " +
                                bytes + " into it"
                          : "the file ends " + bytes + " into the " + place) +
              " (the capture was cut short; the frames before it were read)");
}

bool PcapngReader::checkTrailer(const std::uint8_t* end, std::uint32_t length, std::uint32_t type, std::uint64_t at) {
  const std::uint32_t trailer = get32(end);
  if (trailer == length) return true;
  return fail("bad pcapng block length: the " + blockName(type) + " at byte offset " + std::to_string(at) +
              " gives its length as " + std::to_string(length) + " at its start and " + std::to_string(trailer) +
              " at its end (the file is corrupt from here on)");
}

PcapngReader::Step PcapngReader::step(Frame* frame, bool stopBeforePackets) {
  const std::uint64_t at = offset_;
  const std::size_t have = fill(8);
  if (have < 8) {
    if (have == 0 && readErrno_ == 0) {
      done_ = true;  // the end of the file, between blocks
      return Step::End;
    }
    truncated("block header", at, 0, have);
    return Step::End;
  }
  const std::uint8_t* p = buffer_.get() + pos_;
  const std::uint32_t type = get32(p);
  if (type == kSectionHeader) return readSection(at) ? Step::Section : Step::End;
  const bool packet = type == kEnhancedPacket || type == kSimplePacket || type == kPacket;
  if (packet && stopBeforePackets) return Step::PacketNext;
  const std::uint32_t length = get32(p + 4);
  if (length < 12 || length % 4 != 0) {
    fail("bad pcapng block length: the block at byte offset " + std::to_string(at) + " (" + blockName(type) +
         ") gives its length as " + std::to_string(length) +
         (length < 12 ? ", less than the 12 bytes of an empty block" : ", which is not a multiple of 4") +
         " (the file is corrupt from here on)");
    return Step::End;
  }
  if (!packet && type != kInterfaceDescription) return skipBlock(type, length, at) ? Step::Skipped : Step::End;

  if (length > kMaxBlockBytes) {
    fail("the " + blockName(type) + " at byte offset " + std::to_string(at) + " is " + std::to_string(length) +
         " bytes long; sgsim reads packet and interface blocks of at most " + std::to_string(kMaxBlockBytes >> 20) +
         " MiB");
    return Step::End;
  }
  const std::size_t got = fill(length);
  if (got < length) {
    truncated(blockName(type), at, length, got);
    return Step::End;
  }
  p = buffer_.get() + pos_;
  if (!checkTrailer(p + length - 4, length, type, at)) return Step::End;
  if (type == kInterfaceDescription) {
    const bool ok = readInterface(p, length, at);
    consume(length);
    return ok ? Step::Interface : Step::End;
  }
  const bool ok = readPacket(type, p, length, at, *frame);
  consume(length);  // frame->data stays where it is until the next fill()
  return ok ? Step::Frame : Step::End;
}

bool PcapngReader::readSection(std::uint64_t at) {
  // The byte order is the section's own: read the byte-order magic before the length.
  std::size_t have = fill(kSectionFixed);
  if (have < 12) return truncated("Section Header Block", at, 0, have);
  const std::uint8_t* p = buffer_.get() + pos_;
  const std::uint32_t magic = load32(p + 8);
  if (magic != kByteOrderMagic && magic != __builtin_bswap32(kByteOrderMagic)) {
    char bytes[16];
    std::snprintf(bytes, sizeof bytes, "%02X %02X %02X %02X", p[8], p[9], p[10], p[11]);
    return fail("the Section Header Block at byte offset " + std::to_string(at) + " has the byte-order magic " + bytes +
                ", neither 1A 2B 3C 4D (a big-endian section) nor 4D 3C 2B 1A (a little-endian one): not a " +
                "pcapng section sgsim can read");
  }
  swapped_ = magic != kByteOrderMagic;
  const std::uint32_t length = get32(p + 4);
  if (length < kSectionFixed + 4 || length % 4 != 0) {
    return fail("bad pcapng block length: the Section Header Block at byte offset " + std::to_string(at) +
                " gives its length as " + std::to_string(length) +
                (length % 4 != 0 ? ", which is not a multiple of 4" : ", less than the 28 bytes of its fixed fields") +
                " (the file is corrupt from here on)");
  }
  if (have < kSectionFixed) return truncated("Section Header Block", at, length, have);
  const std::uint16_t major = get16(p + 12), minor = get16(p + 14);
  if (major != 1 || (minor != 0 && minor != 2)) {
    return fail("the Section Header Block at byte offset " + std::to_string(at) + " starts a section of pcapng " +
                "version " + std::to_string(major) + "." + std::to_string(minor) +
                "; sgsim reads version 1.0 (and 1.2, which is read as 1.0): this section and the rest of the file "
                "were not read");
  }
  // A new section: its interfaces are numbered from 0 again. The section length (often -1) is not needed.
  interfaces_.clear();
  sectionAt_ = at;
  ++sections_;
  consume(kSectionFixed);
  // Options (shb_hardware, shb_os, shb_userappl, comments) are not used: streamed past, whatever their size.
  if (!skip(length - kSectionFixed - 4)) return truncated("Section Header Block", at, length, offset_ - at);
  if (fill(4) < 4) return truncated("Section Header Block", at, length, offset_ - at + (end_ - pos_));
  if (!checkTrailer(buffer_.get() + pos_, length, kSectionHeader, at)) return false;
  consume(4);
  return true;
}

bool wiresharkNumbers(std::uint32_t type) { return type == 0xBAD || type == 0x40000BAD || type == 9 || type == 0x204; }

bool PcapngReader::skipBlock(std::uint32_t type, std::uint32_t length, std::uint64_t at) {
  if (wiresharkNumbers(type) && wiresharkRecords_++ == 0) firstRenumbered_ = framesRead_ + 1;
  if (skipped_.size() < kMaxSkippedTypes || skipped_.count(type) != 0)
    ++skipped_[type];
  else
    ++skippedOther_;
  consume(8);
  if (!skip(length - 12)) return truncated(blockName(type), at, length, offset_ - at);
  if (fill(4) < 4) return truncated(blockName(type), at, length, offset_ - at + (end_ - pos_));
  if (!checkTrailer(buffer_.get() + pos_, length, type, at)) return false;
  consume(4);
  return true;
}

bool PcapngReader::readInterface(const std::uint8_t* block, std::uint32_t length, std::uint64_t at) {
  const std::string place = "the Interface Description Block at byte offset " + std::to_string(at) + " (interface " +
                            std::to_string(interfaces_.size()) + " of the section at byte offset " +
                            std::to_string(sectionAt_) + ")";
  if (length < kInterfaceFixed + 4) {
    return fail(place + " is " + std::to_string(length) + " bytes long, too short for its " +
                std::to_string(kInterfaceFixed + 4) + " bytes of fixed fields");
  }
  if (interfaces_.size() >= kMaxInterfaces) {
    return fail(place + ": more than " + std::to_string(kMaxInterfaces) +
                " interfaces in one section, more than sgsim holds");
  }
  Interface i;
  const std::uint16_t linkType = get16(block + 8);
  i.dlt = dltFromLinkType(linkType);
  i.snapLen = get32(block + 12);
  std::uint8_t resolution = 6;  // if_tsresol's default: microseconds
  bool sawResolution = false, sawOffset = false;
  std::int64_t offsetSeconds = 0;
  const std::uint8_t* o = block + kInterfaceFixed;
  const std::uint8_t* const end = block + length - 4;
  while (end - o >= 4) {
    const std::uint16_t code = get16(o), size = get16(o + 2);
    const std::size_t padded = (std::size_t{size} + 3) / 4 * 4;
    if (padded > static_cast<std::size_t>(end - o - 4)) {
      return fail(place + ": its option " + std::to_string(code) + " at byte offset " +
                  std::to_string(at + static_cast<std::uint64_t>(o - block)) + " is " + std::to_string(size) +
                  " bytes long and runs past the end of the block");
    }
    if (code == 0) break;  // opt_endofopt
    if (code == 9 || code == 14) {
      const char* name = code == 9 ? "if_tsresol" : "if_tsoffset";
      const std::uint16_t expected = code == 9 ? 1 : 8;
      if (size != expected) {
        return fail(place + ": its " + name + " option is " + std::to_string(size) + " bytes long, not " +
                    std::to_string(expected));
      }
      bool& seen = code == 9 ? sawResolution : sawOffset;
      if (seen) return fail(place + ": its " + name + " option is given twice");
      seen = true;
      if (code == 9)
        resolution = o[4];
      else
        offsetSeconds = static_cast<std::int64_t>(get64(o + 4));
    }
    o += 4 + padded;
  }
  if ((resolution & 0x80) != 0) {
    i.scale = Interface::Scale::Binary;
    i.shift = resolution & 0x7f;
  } else if (resolution <= 9) {
    i.scale = Interface::Scale::Multiply;
    i.factor = 1;
    for (int k = resolution; k < 9; ++k) i.factor *= 10;
  } else {
    // Units finer than a nanosecond: divide (by 0 → "always below a nanosecond" beyond 10^-28).
    i.scale = Interface::Scale::Divide;
    i.factor = 1;
    for (int k = 9; k < resolution && i.factor != 0; ++k) {
      i.factor = i.factor > std::numeric_limits<std::uint64_t>::max() / 10 ? 0 : i.factor * 10;
    }
  }
  i.offsetNs = secondsToNs(offsetSeconds);
  interfaces_.push_back(i);
  if (firstLinkType_ < 0) firstLinkType_ = i.dlt;
  return true;
}

std::int64_t PcapngReader::toNanoseconds(const Interface& i, std::uint64_t units) const {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t ns = 0;
  switch (i.scale) {
    case Interface::Scale::Multiply:
      if (__builtin_mul_overflow(units, i.factor, &ns) || ns > kMax) ns = kMax;
      break;
    case Interface::Scale::Divide:
      ns = i.factor == 0 ? 0 : units / i.factor;
      break;
    case Interface::Scale::Binary: {
      const std::uint64_t whole = i.shift >= 64 ? 0 : units >> i.shift;
      const std::uint64_t fraction = i.shift >= 64 ? units : units & ((std::uint64_t{1} << i.shift) - 1);
      const auto fractionNs = static_cast<std::uint64_t>((static_cast<Uint128>(fraction) * kNsPerSecond) >> i.shift);
      if (__builtin_mul_overflow(whole, static_cast<std::uint64_t>(kNsPerSecond), &ns) ||
          __builtin_add_overflow(ns, fractionNs, &ns) || ns > kMax)
        ns = kMax;
      break;
    }
  }
  return saturatedAdd(static_cast<std::int64_t>(ns), i.offsetNs);
}

bool PcapngReader::readPacket(std::uint32_t type, const std::uint8_t* block, std::uint32_t length, std::uint64_t at,
                              Frame& frame) {
  const std::uint32_t fixed = type == kSimplePacket ? kSimpleFixed : kEnhancedFixed;
  if (length < fixed + 4) {
    return fail("the " + blockName(type) + " at byte offset " + std::to_string(at) + " is " + std::to_string(length) +
                " bytes long, too short for its " + std::to_string(fixed + 4) + " bytes of fixed fields");
  }
  const std::uint32_t room = length - fixed - 4;  // bytes the block holds for packet data (and options)
  std::uint32_t interface = 0, capLen = 0, wireLen = 0;
  std::uint64_t units = 0;
  if (type == kSimplePacket) {
    wireLen = get32(block + 8);
  } else {
    interface = type == kPacket ? get16(block + 8) : get32(block + 8);
    units = std::uint64_t{get32(block + 12)} << 32 | get32(block + 16);
    capLen = get32(block + 20);
    wireLen = get32(block + 24);
  }
  if (interface >= interfaces_.size()) {
    const std::string described = interfaces_.empty() ? "describes no interface"
                                  : interfaces_.size() == 1
                                      ? "describes only interface 0"
                                      : "describes only interfaces 0.." + std::to_string(interfaces_.size() - 1);
    return fail("the " + blockName(type) + " at byte offset " + std::to_string(at) +
                (type == kSimplePacket ? " belongs to interface 0 (as every Simple Packet Block)"
                                       : " names interface " + std::to_string(interface)) +
                ", but its section (the Section Header Block at byte offset " + std::to_string(sectionAt_) + ") " +
                described + " before it");
  }
  const Interface& i = interfaces_[interface];
  if (type == kSimplePacket) {
    // The captured length is not in the block: the original length cut to the snap length.
    capLen = wireLen;
    if (i.snapLen != 0) capLen = std::min(capLen, i.snapLen);
    if (capLen > room) {
      return fail("the Simple Packet Block at byte offset " + std::to_string(at) + " holds " + std::to_string(room) +
                  " bytes of packet data, fewer than the " + std::to_string(capLen) + " its original length (" +
                  std::to_string(wireLen) + ") cut to its interface's snap length (" +
                  (i.snapLen == 0 ? std::string("none") : std::to_string(i.snapLen)) + ") calls for");
    }
  } else if (capLen > room) {
    return fail("the " + blockName(type) + " at byte offset " + std::to_string(at) + " says it holds " +
                std::to_string(capLen) + " captured bytes, but its length of " + std::to_string(length) +
                " leaves room for " + std::to_string(room));
  }
  frame.number = ++framesRead_;
  if (splitIds_) {
    // A shard file of `sgsim split`: the frame's original number (epb_packetid) and capture (its interface's).
    std::optional<std::uint64_t> packetId;
    if (type == kEnhancedPacket) {
      std::uint32_t o = fixed + ((capLen + 3u) & ~3u);
      const std::uint32_t end = length - 4;
      while (o + 4 <= end) {
        const std::uint16_t code = get16(block + o), size = get16(block + o + 2);
        if (code == 0 || o + 4 + size > end) break;
        if (code == 5 && size == 8) packetId = get64(block + o + 4);
        o += 4 + ((size + 3u) & ~3u);
      }
    }
    if (!packetId || *packetId == 0 || interface >= interfaceFiles_.size()) {
      --framesRead_;
      return fail("the " + blockName(type) + " at byte offset " + std::to_string(at) +
                  (packetId && *packetId != 0
                       ? " names interface " + std::to_string(interface) + ", which the split's manifest does not list"
                       : " has no epb_packetid option (the frame's original number), which "
                         "every frame `sgsim split` writes carries") +
                  ": not a shard file of this split");
    }
    frame.number = *packetId;
    frame.fileIndex = interfaceFiles_[interface];
  }
  if (type == kSimplePacket) {
    frame.tsNs = lastTsNs_;
    if (simpleFrames_++ == 0) firstSimpleFrame_ = frame.number;
    if (!timestamped_) ++simpleFramesUntimed_;
  } else {
    frame.tsNs = toNanoseconds(i, units);
    lastTsNs_ = frame.tsNs;
    timestamped_ = true;
  }
  frame.capLen = capLen;
  frame.wireLen = wireLen;
  frame.linkType = i.dlt;
  frame.data = block + fixed;
  return true;
}

bool PcapngReader::readToFirstPacket() {
  if (framesRead_ != 0) return false;
  while (!done_) {
    const Step s = step(nullptr, true);
    if (s == Step::PacketNext) return true;
    if (s == Step::End) done_ = true;
  }
  return !error_;
}

// readPacket's reading of an Enhanced or obsolete Packet Block, without its effects: every check it makes, the same
// frame.
bool PcapngReader::packetAt(const std::uint8_t* block, std::uint32_t length, Frame& frame) const {
  const std::uint32_t type = get32(block);
  if ((type != kEnhancedPacket && type != kPacket) || length > kMaxBlockBytes || length < kEnhancedFixed + 4)
    return false;
  const std::uint32_t interface = type == kPacket ? get16(block + 8) : get32(block + 8);
  const std::uint32_t capLen = get32(block + 20);
  if (interface >= interfaces_.size() || capLen > length - kEnhancedFixed - 4) return false;
  const Interface& i = interfaces_[interface];
  frame.tsNs = toNanoseconds(i, std::uint64_t{get32(block + 12)} << 32 | get32(block + 16));
  frame.capLen = capLen;
  frame.wireLen = get32(block + 24);
  frame.linkType = i.dlt;
  frame.data = block + kEnhancedFixed;
  return true;
}

bool PcapngReader::next(Frame& frame) {
  while (!done_) {
    const Step s = step(&frame, false);
    if (s == Step::Frame) return true;
    if (s == Step::End) done_ = true;
  }
  return false;
}

std::vector<Error> PcapngReader::warnings() const {
  std::vector<Error> out;
  if (simpleFrames_ > 0) {
    std::string m = std::to_string(simpleFrames_) +
                    (simpleFrames_ == 1 ? " frame comes from a Simple Packet Block, which carries"
                                        : " frames come from Simple Packet Blocks, which carry") +
                    " no timestamp: each was given the time of the last timestamped frame before it in the file";
    if (simpleFramesUntimed_ > 0) {
      m +=
          " (" + std::to_string(simpleFramesUntimed_) + " came before any and were given time 0, 1970-01-01T00:00:00Z)";
    }
    out.push_back(Error{path_ + ": frame " + std::to_string(firstSimpleFrame_), std::move(m)});
  }
  if (wiresharkRecords_ > 0 && framesRead_ >= firstRenumbered_) {
    out.push_back(Error{path_ + ": frame " + std::to_string(firstRenumbered_),
                        "frame numbers are tcpdump's (packet blocks only): Wireshark also numbers the file's " +
                            std::to_string(wiresharkRecords_) +
                            " Custom, systemd Journal Export or Sysdig Event Blocks as frames, so from this frame "
                            "on its numbers are higher than sgsim's"});
  }
  return out;
}

std::map<std::string, std::uint64_t> PcapngReader::skippedBlocks() const {
  std::map<std::string, std::uint64_t> out;
  for (const auto& [type, n] : skipped_) out[blockName(type)] += n;
  if (skippedOther_ > 0) out["blocks of other types"] += skippedOther_;
  return out;
}

}  // namespace sgsim
