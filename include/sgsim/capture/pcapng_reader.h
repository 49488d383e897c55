#pragma once
// Reading pcapng files with our own code: every file Wireshark writes, also those libpcap 1.10 refuses.
//
// Why our own: libpcap 1.10 reads a pcapng file as if it were a classic pcap, with one link type and one snap
// length for the whole file; it stops with an error at the first interface whose link type or snap length
// differs from the first one's, and at a section of the other byte order. Wireshark's reader (wiretap) is GPL
// and sgsim is Apache-2.0, so this one is written from the format's description (draft-ietf-opsawg-pcapng)
// and checked against libpcap and tshark on real files (tests/capture/pcapng_test.cpp, corpus_test.cpp).
//
// What it reads:
// - Section Header Blocks: any number of sections, each in its own byte order; version 1.0 (and 1.2, which the
//   format says to read as 1.0); the section length is not used (-1 is common). Interfaces are numbered per
//   section, as the format says.
// - Interface Description Blocks: link type (LINKTYPE_, turned into the DLT_ value libpcap would hand out, so
//   that a frame's linkType means the same whichever reader read it), snap length, if_tsresol (10^-n or 2^-n,
//   any n) and if_tsoffset (seconds). Other options are not parsed.
// - Enhanced Packet Blocks and obsolete Packet Blocks (type 2): interface, timestamp, captured and original
//   length, data. Their options are not parsed.
// - Simple Packet Blocks: interface 0 of the section; captured length = the original length cut to the
//   interface's snap length (0: no limit); a block holding fewer bytes is an error, as for libpcap and
//   Wireshark. They carry no timestamp: a frame from one gets the time of the file's last timestamped frame
//   before it (0, the Unix epoch, before any; libpcap gives 0, Wireshark none), and warnings() says how many
//   frames that concerns. A captured length above the snap length or the original length is delivered as it
//   is (Wireshark does; libpcap refuses the first).
// - Every other block (Name Resolution, Interface Statistics, Decryption Secrets, Custom, systemd journal,
//   Sysdig, local-use and unknown types) is skipped, checked only for its length, and counted by type
//   (skippedBlocks()).
// Frames are numbered 1, 2, 3… over the packet blocks of the whole file (all sections), as tcpdump numbers
// them. Wireshark numbers them alike unless the file also holds Custom, systemd Journal Export or Sysdig Event
// Blocks, which Wireshark 4.0 shows as records with frame numbers of their own; warnings() then says from which
// frame on the numbers differ.
//
// How: one buffer (1 MiB, larger only for a larger packet or interface block, at most kMaxBlockBytes) filled by
// read(2); a packet block is parsed where it lies and Frame::data points into the buffer until the next call.
// Blocks that are skipped are streamed past, whatever their size, so memory does not grow with the file. Every
// field is bounds-checked against the block's length before it is read; lengths come from the file and are
// never trusted.
//
// Errors stop the reading, name the file, the frame (the number the next frame would have had) and the byte
// offset of the block, and say what is wrong: a block cut short by the end of the file, a block length that is
// not a multiple of 4, shorter than the block's fixed fields or different at the block's end, a packet block
// naming an interface its section has not described, a section whose byte-order magic is neither value or whose
// version is not 1.0/1.2, an interface option of the wrong size. Frames before the error were delivered.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/core/result.h"

namespace sgsim {

// The DLT_ value libpcap hands out for a LINKTYPE_ value read from a file (LINKTYPE_RAW 101 → DLT_RAW 12, …);
// the same number for most.
int dltFromLinkType(int linkType);

// The LINKTYPE_ value a file records for a DLT_ value (the inverse of dltFromLinkType: DLT_RAW 12 → 101, …).
int linkTypeFromDlt(int dlt);

// True when `head` (the first bytes of a file, at least 4) is the start of a pcapng file.
bool looksLikePcapng(std::span<const std::uint8_t> head);

// The name skippedBlocks() gives a block type ("Name Resolution Block", "block of type 0x80000001 (local use)", …).
std::string pcapngBlockName(std::uint32_t type);
// Blocks that Wireshark (4.0) shows as records with frame numbers of their own, though they hold no packet (Custom,
// systemd Journal Export, Sysdig Event): warnings() names the frame from which its numbers differ from sgsim's.
bool wiresharkNumbers(std::uint32_t type);

class PcapngReader {
 public:
  // The largest packet or interface block read (a packet of 16 MiB is 64 times libpcap's largest snap length
  // for Ethernet). Blocks that are skipped may be of any size.
  static constexpr std::uint32_t kMaxBlockBytes = 16u << 20;
  // Interfaces one section may describe (each costs a few dozen bytes of memory).
  static constexpr std::size_t kMaxInterfaces = 1u << 20;
  // Skipped block types counted one by one (skippedBlocks()); blocks of types met after as many others are counted
  // together as "blocks of other types".
  static constexpr std::size_t kMaxSkippedTypes = 32;

  // Reads from `fd` (owned: closed by the reader), whose first bytes `head` were already read from it. Fails,
  // naming `path`, when the file does not start with a Section Header Block sgsim can read; otherwise reads on
  // to the first Interface Description Block (so that firstLinkType() is known), keeping an error for next().
  static Result<std::unique_ptr<PcapngReader>> open(int fd, std::string path, std::span<const std::uint8_t> head);
  ~PcapngReader();
  PcapngReader(const PcapngReader&) = delete;
  PcapngReader& operator=(const PcapngReader&) = delete;

  // The next frame (number, tsNs, capLen, wireLen, linkType, data; fileIndex is left as it is); false at the
  // end of the file or at an error (error()). frame.data stays valid until the next call.
  bool next(Frame& frame);
  const std::optional<Error>& error() const { return error_; }
  // What the reading went on despite: frames of Simple Packet Blocks, which have no timestamp; blocks that
  // Wireshark numbers as frames though they hold no packet, which make its frame numbers differ from ours.
  std::vector<Error> warnings() const;
  // Blocks read past, by type ("Interface Statistics", "Name Resolution", "type 0x80000001 (local use)", …).
  std::map<std::string, std::uint64_t> skippedBlocks() const;
  // The DLT_ value of the file's first interface; -1 when none has been read (yet).
  int firstLinkType() const { return firstLinkType_; }
  std::uint64_t framesRead() const { return framesRead_; }
  std::uint64_t sections() const { return sections_; }
  const std::string& path() const { return path_; }

  // Reading a shard file that `sgsim split` wrote (issue 13): each frame's number is its Enhanced Packet Block's
  // epb_packetid option (the frame's number in its original capture) and its fileIndex the original capture of its
  // interface (`interfaceFiles`, by interface of the file's single section, from the split's manifest). A packet
  // block without that option, or of an interface not in the list, is an error naming the block.
  void readSplitIds(std::vector<std::uint16_t> interfaceFiles) {
    splitIds_ = true;
    interfaceFiles_ = std::move(interfaceFiles);
  }

  // Reading through an index (`sgsim split --index`, pipeline/split.h, "Indexes"; CaptureReader::mapPcapng): the
  // blocks are read from a mapping of the file by offset, with the interface table in force at the file's first
  // packet block, which readToFirstPacket reads the blocks up to (none read: offset() is its offset, or the file's
  // size when it has none). False when a block on the way is not read (error()). Before the first next().
  bool readToFirstPacket();
  std::uint64_t offset() const { return offset_; }
  int fd() const { return fd_; }
  // A 32-bit field of the current section, in its byte order.
  std::uint32_t word(const std::uint8_t* p) const { return get32(p); }
  // The blocks skipped so far, by type (at most kMaxSkippedTypes), and those of other types; Wireshark's records.
  const std::map<std::uint32_t, std::uint64_t>& skippedTypes() const { return skipped_; }
  std::uint64_t skippedOfOtherTypes() const { return skippedOther_; }
  std::uint64_t wiresharkRecords() const { return wiresharkRecords_; }
  // The frame of the Enhanced Packet Block or obsolete Packet Block of `length` bytes at `block` (whole in memory,
  // its length and trailer checked by the caller) as next() gives it with the interfaces of now, its number and
  // fileIndex apart; false when the block is of another type or next() would end on it with an error.
  bool packetAt(const std::uint8_t* block, std::uint32_t length, Frame& frame) const;

 private:
  struct Interface {
    int dlt = 0;
    std::uint32_t snapLen = 0;  // 0: no limit
    // Timestamp units → nanoseconds: units * mul, or units / div (10^-n), or a binary fraction (2^-shift).
    enum class Scale : std::uint8_t { Multiply, Divide, Binary } scale = Scale::Multiply;
    std::uint64_t factor = 1000;  // Multiply, Divide; 0 for Divide means "every timestamp is below 1 ns"
    unsigned shift = 0;           // Binary
    std::int64_t offsetNs = 0;    // if_tsoffset, in nanoseconds (saturated)
  };
  enum class Step { Frame, PacketNext, Interface, Skipped, Section, End };

  PcapngReader(int fd, std::string path);
  // Bytes available from the read position, reading more until `need` are (or the file ends): the count.
  std::size_t fill(std::size_t need);
  // Drops `n` bytes that are in the buffer.
  void consume(std::size_t n) {
    pos_ += n;
    offset_ += n;
  }
  // Streams past `n` bytes, which need not be in the buffer; false at the end of the file.
  bool skip(std::uint64_t n);
  // Reads one block; with `stopBeforePackets` a packet block is left unread (Step::PacketNext). Step::End: the
  // end of the file or an error (error_).
  Step step(Frame* frame, bool stopBeforePackets);
  bool readSection(std::uint64_t at);
  bool readInterface(const std::uint8_t* block, std::uint32_t length, std::uint64_t at);
  bool readPacket(std::uint32_t type, const std::uint8_t* block, std::uint32_t length, std::uint64_t at, Frame& frame);
  bool skipBlock(std::uint32_t type, std::uint32_t length, std::uint64_t at);
  bool checkTrailer(const std::uint8_t* end, std::uint32_t length, std::uint32_t type, std::uint64_t at);
  std::int64_t toNanoseconds(const Interface& i, std::uint64_t units) const;
  std::uint16_t get16(const std::uint8_t* p) const;
  std::uint32_t get32(const std::uint8_t* p) const;
  std::uint64_t get64(const std::uint8_t* p) const;
  // Ends the reading with an error at the next frame's number.
  bool fail(std::string message);
  bool truncated(const std::string& what, std::uint64_t at, std::uint64_t length, std::uint64_t present);

  int fd_;
  std::string path_;
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t pos_ = 0, end_ = 0;  // unread bytes: buffer_[pos_, end_)
  std::uint64_t offset_ = 0;       // file offset of buffer_[pos_]
  bool eof_ = false;
  int readErrno_ = 0;

  bool swapped_ = false;  // this section's byte order is not the host's
  std::uint64_t sectionAt_ = 0;
  std::uint64_t sections_ = 0;
  std::vector<Interface> interfaces_;
  int firstLinkType_ = -1;

  std::uint64_t framesRead_ = 0;
  std::int64_t lastTsNs_ = 0;  // of the last timestamped frame, for Simple Packet Blocks
  bool timestamped_ = false;   // a timestamped frame has been read
  std::uint64_t simpleFrames_ = 0, simpleFramesUntimed_ = 0, firstSimpleFrame_ = 0;
  std::map<std::uint32_t, std::uint64_t> skipped_;  // by block type, at most kMaxSkippedTypes types
  std::uint64_t skippedOther_ = 0;                  // of types beyond those
  std::uint64_t wiresharkRecords_ = 0;              // skipped blocks Wireshark gives frame numbers to
  std::uint64_t firstRenumbered_ = 0;               // the first frame after one of them
  bool done_ = false;
  std::optional<Error> error_;
  bool splitIds_ = false;
  std::vector<std::uint16_t> interfaceFiles_;
};

}  // namespace sgsim
