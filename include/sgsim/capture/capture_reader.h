#pragma once
// Reading capture files: classic pcap through libpcap (either byte order, micro- or nanosecond timestamps),
// pcapng through our own reader (capture/pcapng_reader.h: every interface with its own link type, snap length
// and timestamp resolution, several sections), told apart by the file's first four bytes. Streaming: a reader
// holds one record at a time, so memory does not grow with the capture's length. <pcap.h> stays in
// src/capture; callers see only Frame, whose linkType is the frame's own interface's.
//
// Why pcapng is not given to libpcap first: libpcap 1.10 refuses a file only when it reaches the interface it
// cannot handle, after delivering the frames before it; falling back then would read one file with two readers
// (two sets of rules for timestamps and errors, the switch in the middle of the file). One reader per format is
// simpler to trust, and ours is checked against libpcap on every pcapng file libpcap reads (the corpus test).
//
// Errors: open() fails with Error{path, "…"}; a record that cannot be read ends next() and leaves
// error() = Error{"path: frame N", "…"}, where N is the number the bad record would have had: for pcap
// "truncated record (…)" or "corrupt record (…)" with libpcap's words, for pcapng what is wrong with which
// block at which byte offset. Frames before it were delivered as usual.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/capture/pcapng_reader.h"
#include "sgsim/core/result.h"

struct pcap;  // libpcap's pcap_t

namespace sgsim {

// How a classic pcap file is read. libpcap reads through stdio: every frame's bytes are copied twice (the kernel's
// read into stdio's buffer, fread into libpcap's), which was half of the CPU a `--shard K/N` run spends (every shard
// reads the whole capture; docs/PERFORMANCE.md, "Scale-out"). A regular file whose header and link type are plain
// (version 2.4, micro- or nanosecond magic in either byte order, a snapshot length libpcap takes as it is, a link
// type libpcap hands on unchanged: Ethernet, raw IP, IPv4, IPv6, and Linux cooked v1 in the file's native order)
// is read mapped instead: frames point into a window of the file mapped read-only (kMappedWindow, moved on as the
// reading goes, so that memory does not grow with the capture), no copy. Each record is taken there only when
// libpcap would hand it on unchanged (caplen within the snapshot length and no larger than len, timestamp fields
// in range, the record whole in the file); at the first record that is not, the reading is handed to libpcap at
// that record's offset, for that record and the rest of the file, so a truncated or corrupt record, and anything
// unusual, reads exactly as through libpcap (the same frames, the same words in the error). tests/capture checks
// the two ways frame by frame on well-formed, corrupt and truncated files. A file another program cuts short while
// it is mapped would fault (SIGBUS) on the pages it no longer has: the reader catches that for its windows (a page of
// zeros put over the page, every record's pages touched before it is handed on) and ends on an error naming the
// frame; one that grows is read on by libpcap from where the mapped reading stopped.
// The window is 4 MiB: its pages count in the process's resident memory (a 64-MiB window took whatif's peak RSS on
// 2M live flows from 1.25x to 1.65x the flow table's entries; issue 11 target 2 asks for 1.5x), and 4 MiB costs
// ~5% on a one-thread whatif of cap2m against 64 (2026-12-07 02:33 UTC, 5 alternated rounds, noisy minutes).
inline constexpr std::size_t kMappedWindow = std::size_t{4} << 20;
struct CaptureReadOptions {
  bool mapped = true;                  // false: libpcap for the whole file
  std::size_t window = kMappedWindow;  // bytes mapped at a time (at least a record's; tests make it small)
  std::size_t scanLane = 16 << 10;     // scanRange: the fewest bytes a lane is given (tests make it small)
};

class CaptureReader {
 public:
  // fileIndex is copied into every Frame (the file's position on the command line).
  static Result<std::unique_ptr<CaptureReader>> open(const std::string& path, std::uint16_t fileIndex,
                                                     CaptureReadOptions options = {});
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  // The next frame; false at the end of the file or at an error (see error()). frame.data stays valid
  // until the next call.
  bool next(Frame& frame);
  const std::optional<Error>& error() const { return error_; }
  // The DLT value of the file's (first) interface, as libpcap reports it (LINKTYPE_RAW 101 reads as DLT_RAW 12);
  // a pcapng file's frames may have others (Frame::linkType). -1 for a pcapng file that describes no interface
  // before its first frame.
  int linkType() const { return pcapng_ ? pcapng_->firstLinkType() : linkType_; }
  bool isPcapng() const { return pcapng_ != nullptr; }
  const std::string& path() const { return path_; }
  std::uint16_t fileIndex() const { return fileIndex_; }
  std::uint64_t framesRead() const { return framesRead_; }
  // What the reading went on despite (pcapng: frames without a timestamp); complete once next() returned false.
  std::vector<Error> warnings() const;
  // pcapng blocks read past, by type ("Interface Statistics Block" → 2); empty for pcap.
  std::map<std::string, std::uint64_t> skippedBlocks() const;
  // A shard file of `sgsim split` (PcapngReader::readSplitIds): frames keep their original number and capture
  // (fileIndex). Before the first next(); false when the file is not pcapng (a split writes pcapng only).
  bool readSplitIds(std::vector<std::uint16_t> interfaceFiles);
  // Whether the records are being read mapped now (CaptureReadOptions); for tests.
  bool readingMapped() const { return mapped_.fd >= 0; }

  // Parts and indexes (`sgsim split --index`, pipeline/split.h, "Indexes"). Both need the mapped reading (false
  // otherwise) and are chosen before the first next(). readRange: the records that start in [from, to) and only those,
  // numbered 1.. within the part. The part starts at the file's first record when from <= 24, else at the first offset
  // at or after `from` where a chain of records the mapped reading takes starts (rangeStart(); the file's size when
  // none does): a guess that whoever reads the parts checks against the previous part's rangeEnd(). next() ends at the
  // first record at or after `to` (rangeEnd(): its offset, or the file's size), or at a record the mapped reading would
  // hand to libpcap (rangeRefused() says which: the part cannot be indexed).
  bool readRange(std::uint64_t from, std::uint64_t to);
  std::uint64_t rangeStart() const { return rangeStart_; }
  std::uint64_t rangeEnd() const { return rangeEnd_; }
  const std::optional<std::string>& rangeRefused() const { return rangeRefused_; }
  // scanRange: what readRange(from, to) and next() give (the same records in the same order, the same rangeStart(),
  // rangeEnd(), rangeRefused() and error()), read several records at a time for `sgsim split --index`. Reading a
  // part one record after the other waits on memory at every record header, since where the next record starts is
  // in this one's header, and asking for every byte ahead (as the whole reading does) reads the other shards' bytes
  // too. So each window of the part is cut into lanes; every lane but the first starts where a chain of records
  // starts (as a part after the first does), and the lanes are walked in turn, one record each, each asking for
  // its next header while the others are read. A lane's records are kept only when the reading before it ended
  // exactly where it starts; a lane started inside a frame's bytes (frames that carry pcap files hold chains of
  // records) is read again, record by record, from where that reading ended up to the next lane's start. So the
  // result is the record-by-record reading's whatever the bytes hold, and such frames cost at most about twice.
  // tag(frame) is called once for each record read (frame.number is 0; also for records of lanes then dropped, in
  // no particular order); sink(records) gets the kept records in file order, numbered 1.. by their order, several
  // calls per window. False, and nothing read, when readRange would refuse.
  struct ScannedRecord {
    std::uint64_t offset = 0;  // of the record in the file
    std::int64_t tsNs = 0;
    std::uint32_t capLen = 0;
    std::uint32_t tag = 0;  // what tag(frame) returned
  };
  bool scanRange(std::uint64_t from, std::uint64_t to, const std::function<std::uint32_t(const Frame&)>& tag,
                 const std::function<void(std::span<const ScannedRecord>)>& sink);
  // The file offset of the record of the frame next() gave last (mapped reading).
  std::uint64_t recordOffset() const { return recordOffset_; }
  std::uint64_t fileSize() const { return mapped_.fileSize; }
  // readIndexed: only the records `source` gives, in its order, each at its offset with its frame number. A record
  // that is not there ends the reading on an error naming the frame and the offset (the file changed since it was
  // indexed); so does the source's own error.
  struct IndexedRecord {
    std::uint64_t offset = 0;
    std::uint64_t number = 0;
  };
  class IndexSource {
   public:
    virtual ~IndexSource() = default;
    // Fills out with the next records (at most out.size()); 0 at the end or on an error (error() then says it).
    virtual std::size_t fill(std::vector<IndexedRecord>& out) = 0;
    virtual std::optional<Error> error() const = 0;
    // A pcapng file's skipped blocks, by name, as its whole reading counts them (skippedBlocks()).
    virtual std::map<std::string, std::uint64_t> skippedBlocks() const { return {}; }
  };
  bool readIndexed(std::unique_ptr<IndexSource> source);
  // pcapng through an index. mapPcapng maps the file for scanRange and readIndexed (which call it) and reads its blocks
  // up to its first packet block (PcapngReader::readToFirstPacket): the interface table every part and every indexed
  // record is read with, so a part refuses (rangeRefused()) any block that would change it or that the record-by-record
  // reading gives something the part cannot know alone: a Section Header or Interface Description Block after the
  // first packet, a Simple Packet Block (its time is the frame's before), a block Wireshark numbers as a frame, a block
  // that is truncated, corrupt or one the reader would end on an error at. A part after the first finds its first block
  // by a chain of eight blocks whose lengths agree at both ends, at 4-byte boundaries (as every block starts). What the
  // reader says about the file as a whole then comes from the parts: no warning (those shapes are refused), the skipped
  // blocks counted by type (rangeSkipped(); the part from 0 counts those before the first packet), which the shard's
  // reading gives back as the source says (IndexSource::skippedBlocks). The reason the file cannot be read so, or
  // nullopt.
  std::optional<std::string> mapPcapng();
  // The offset of the file's first record: 24 for classic pcap; for pcapng (after mapPcapng) its first packet block's.
  std::uint64_t firstRecord() const { return pcapng_ ? pcapngHead_ : 24; }
  const std::map<std::uint32_t, std::uint64_t>& rangeSkipped() const { return rangeSkipped_; }

 private:
  CaptureReader(pcap* handle, std::unique_ptr<PcapngReader> pcapng, std::string path, std::uint16_t fileIndex);
  void startMapped(int fd, const CaptureReadOptions& options);
  bool nextMapped(Frame& frame);
  bool mappedTakes(const std::uint8_t* h, std::uint64_t offset) const;
  void mappedFrame(const std::uint8_t* record, Frame& frame) const;
  const std::uint8_t* mappedAt(std::uint64_t offset, std::size_t size);
  void stopMapped(std::uint64_t offset);
  void endMapped();
  bool shrank(std::uint64_t size);  // the reading ends: the file has `size` bytes now
  bool positionMapped();            // readRange/readIndexed: where the next record is; false at the end
  bool mappedRefused();             // a record the mapped reading does not take, in a part or an index
  bool mapFaulted() const;  // core/map_guard.h: whether reading the mapping has faulted (the file was cut short)
  bool touchFaults(const std::uint8_t* p, std::size_t size) const;  // core/map_guard.h: every page read; a fault?
  void tookIndexed();  // Mode::Indexed: the index's next entry was read (its number; the next ones fetched)
  bool chainStartsAt(std::uint64_t offset);
  bool nextPcapngIndexed(Frame& frame);
  bool scanPcapng(std::uint64_t from, std::uint64_t to, const std::function<std::uint32_t(const Frame&)>& tag,
                  const std::function<void(std::span<const ScannedRecord>)>& sink);
  bool pcapngChainAt(std::uint64_t offset);
  template <class HeaderAt>
  bool chainOfRecords(std::uint64_t offset, HeaderAt headerAt) const;

  // The mapped reading of a plain pcap file (CaptureReadOptions): fd < 0 when not (or no longer) reading so.
  struct Mapped {
    int fd = -1;
    int guard = -1;  // its slot among the windows a SIGBUS is caught in (core/map_guard.h)
    // The last 512 records handed on: where each ended in the file and its frame number, the i-th at [i % 512].
    std::array<std::uint64_t, 512> ends{}, numbers{};
    std::uint64_t handed = 0;
    std::uint64_t fileSize = 0;
    std::uint64_t offset = 0;      // of the next record
    std::uint64_t prefetched = 0;  // the file is asked into the caches up to here
    bool swapped = false, nanos = false;
    std::uint32_t snapLen = 0;
    std::size_t windowWanted = kMappedWindow;
    std::size_t scanLane = 16 << 10;
    std::uint8_t* window = nullptr;  // the mapping of [windowStart, windowStart + windowSize)
    std::uint64_t windowStart = 0;
    std::size_t windowSize = 0;
  };
  Mapped mapped_;

  pcap* handle_;                          // classic pcap, or
  std::unique_ptr<PcapngReader> pcapng_;  // pcapng
  std::string path_;
  std::uint16_t fileIndex_;
  int linkType_;
  std::uint64_t framesRead_ = 0;
  bool done_ = false;
  bool splitIds_ = false;
  enum class Mode : std::uint8_t { Whole, Range, Indexed };
  Mode mode_ = Mode::Whole;
  std::uint64_t rangeStart_ = 0, rangeTo_ = 0, rangeEnd_ = 0, recordOffset_ = 0;
  std::optional<std::string> rangeRefused_;
  std::unique_ptr<IndexSource> indexSource_;
  static constexpr std::size_t kIndexChunk = 4096;
  std::vector<IndexedRecord> indexed_;  // the records read from indexSource_, up to kIndexChunk
  std::size_t indexedNext_ = 0;
  std::optional<Error> error_;
  CaptureReadOptions options_;
  std::uint64_t pcapngHead_ = 0;                         // mapPcapng: the first packet block's offset
  std::map<std::uint32_t, std::uint64_t> rangeSkipped_;  // scanRange of a pcapng file: blocks skipped, by type
};

// Several captures read as one, in timestamp order. Stable: frames with equal timestamps come in file
// order, and each file's own order is kept. Frames keep their per-file number and fileIndex. Holds one
// pending frame per file (its bytes copied), nothing more.
class MergedCapture {
 public:
  // Opens every file (fileIndex = position in `paths`); fails with the first file that cannot be opened.
  static Result<std::unique_ptr<MergedCapture>> open(const std::vector<std::string>& paths);
  // Each capture read through its index (CaptureReader::readIndexed; sources by capture, a null one: that capture read
  // whole; open() gives none).
  static Result<std::unique_ptr<MergedCapture>> openIndexed(
      const std::vector<std::string>& paths, std::vector<std::unique_ptr<CaptureReader::IndexSource>> sources);

  // frame.data stays valid until the next call.
  bool next(Frame& frame);
  // Errors of every file that ended on a bad record, in the order they happened.
  const std::vector<Error>& errors() const { return errors_; }
  // Every file's warnings, in file order; complete once next() has returned false.
  std::vector<Error> warnings() const;
  // pcapng blocks read past in all files, by type; complete once next() has returned false.
  std::map<std::string, std::uint64_t> skippedBlocks() const;
  const std::vector<std::unique_ptr<CaptureReader>>& readers() const { return readers_; }

 private:
  struct Pending {
    Frame frame;
    std::vector<std::uint8_t> bytes;
    bool valid = false;
  };
  explicit MergedCapture(std::vector<std::unique_ptr<CaptureReader>> readers);
  void refill(std::size_t file);

  std::vector<std::unique_ptr<CaptureReader>> readers_;
  std::vector<Pending> pending_;
  std::optional<std::size_t> lastDelivered_;  // refilled on the next call, so the caller's bytes stay valid
  std::vector<Error> errors_;
};

// libpcap's name for a DLT value ("EN10MB", "LINUX_SLL"), or "DLT 147" when it has none.
std::string linkTypeName(int dlt);
// libpcap's description ("Ethernet", "Linux cooked v1"), or "DLT 147".
std::string linkTypeDescription(int dlt);

}  // namespace sgsim
