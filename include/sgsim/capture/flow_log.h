#pragma once
// Reading Alibaba Cloud VPC flow logs (issue 10): records as Simple Log Service exports them, CSV with a header
// line or JSON Lines, gzip-compressed or not (told apart by content: zlib's gzread reads both), each record turned
// into a Frame (capture/frame.h) whose `record` points at its fields, so that the evaluation stage takes a record
// as one observation of many packets (pipeline/record_stream.h).
//
// The fields, spelled as the documentation spells them (SLS "Log fields" of VPC flow logs:
// https://www.alibabacloud.com/help/en/sls/vpc, https://help.aliyun.com/zh/sls/vpc and
// https://help.aliyun.com/zh/sls/user-guide/log-fields, read 2026-12): version, vswitch-id, vm-id, vpc-id,
// account-id, eni-id, srcaddr, srcport, dstaddr, dstport, protocol (IANA number), direction (in | out), packets,
// bytes, start, end (Unix seconds), log-status (OK | NODATA | SKIPDATA), action (ACCEPT | REJECT), tcp-flags (the
// bitwise OR of the window's packets' flags, decimal), and the optional traffic_path, srctype, dsttype, region,
// __topic__. Names are compared case-insensitively with `_` and `-` alike; columns in any order; others ignored.
// Required: eni-id, srcaddr, srcport, dstaddr, dstport, protocol, direction, packets, bytes, start, end,
// log-status, action; tcp-flags may be absent (an older export): then no record settles who opened a connection
// and the start/port rules do (README, Semantics decisions).
//
// Errors. Fatal for the file (open(): Error{path, …}; while reading: error(), the records before it delivered):
// it cannot be opened or decompressed, it is empty, its CSV header lacks a required column (named), a line is
// longer than 1 MiB, or a JSON line is not an object. A record whose values are wrong (a port 70000, an action
// "DENY", an address that is no address, a CSV line with fewer fields than the header) is skipped and counted:
// badRecords(), with the first kMaxNamedBad named by line in warnings() ("flows.csv: line 7: dstport …").
// NODATA and SKIPDATA records carry no traffic: counted, not delivered; SKIPDATA adds a warning (records lost).
// Speed: the file is read in 1 MiB blocks, a record's fields are views into the block (no allocation per field
// or per record), numbers and dotted quads are parsed in place, ids are kept once per distinct value (FlowText).

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/core/ip.h"
#include "sgsim/core/mapped_file.h"
#include "sgsim/core/result.h"

namespace sgsim {

enum class FlowLogStatus : std::uint8_t { Ok, NoData, SkipData };

// A short text field of a record (an id: eni-id, vm-id, …): a view of the value interned by the reader that read it
// (FlowLogReader::intern), valid as long as that reader, so that a record held back or copied carries 16 bytes per id
// instead of the text (ids repeat: a log names a few ENIs, VMs, vSwitches, VPCs and accounts). Values longer than
// kCapacity are cut there and marked with a trailing '~' so that no output passes a cut id for a whole one.
struct FlowText {
  static constexpr std::size_t kCapacity = 31;
  // The reader's one copy of the value (FlowLogReader::intern), null when absent: one pointer, not a pointer and a
  // size (8 bytes less per id, 64 per record, in the reorder window's hundreds of thousands of records).
  const std::string* text = nullptr;
  std::string_view view() const { return text != nullptr ? std::string_view(*text) : std::string_view(); }
  std::size_t size() const { return text != nullptr ? text->size() : 0; }
};

struct FlowRecord {
  std::uint64_t line = 0;    // line in its file (the CSV header is line 1)
  std::uint64_t offset = 0;  // where the line starts in its file (in the decompressed text of a gzip file)
  // Read through a flow-log index (MergedFlowLog::openIndexed): its place among the records the whole input delivers
  // (1 = the first); 0 otherwise.
  std::uint64_t ordinal = 0;
  // With FlowLogReader::hashLines: a hash of the line's text (lineHash), which a flow-log index keeps so that a
  // shard can tell that the line at the offset is still the record indexed. 0 otherwise.
  std::uint32_t lineHash = 0;
  std::uint16_t fileIndex = 0;
  FlowLogStatus status = FlowLogStatus::Ok;
  bool accept = false;   // action: ACCEPT (true) or REJECT
  bool inbound = false;  // direction: in (true) or out
  bool hasTcpFlags = false;
  std::uint8_t proto = 0;
  std::uint8_t tcpFlags = 0;
  std::uint16_t sport = 0, dport = 0;
  IpAddr src, dst;
  std::uint64_t packets = 0, bytes = 0;
  std::int64_t startNs = 0, endNs = 0;
  std::int32_t version = -1;  // -1: absent
  std::int32_t trafficPath = -1;
  FlowText eni, vm, vswitch, vpc, account, region, srcType, dstType;
};

// What a frame stands for: a capture's frame one packet of wireLen bytes at tsNs, a record its own counts.
inline std::uint64_t packetsOf(const Frame& f) { return f.record != nullptr ? f.record->packets : 1; }
inline std::uint64_t bytesOf(const Frame& f) { return f.record != nullptr ? f.record->bytes : f.wireLen; }
inline std::int64_t endOf(const Frame& f) { return f.record != nullptr ? f.record->endNs : f.tsNs; }

enum class FlowLogFormat : std::uint8_t { Csv, Jsonl };

// One record of a flow-log index (pipeline/split.h, "Flow-log indexes"): its log (by position among the inputs), the
// offset of its line in that log, the line, and its ordinal (FlowRecord::ordinal). 32 bytes, as written to the
// index's files.
struct FlowLogIndexEntry {
  std::uint64_t offset = 0, line = 0, ordinal = 0;
  std::uint32_t file = 0;
  std::uint32_t lineHash = 0;  // FlowLogReader::lineHash of the line: the shard checks it before it parses the line
};
static_assert(sizeof(FlowLogIndexEntry) == 32);

// A shard's entries: the index's file of them mapped (map: read where the page cache holds them, with no copy and no
// memory of the process's own, which on a shard of millions of records was tens of MB written before the first
// record was read), or a list made in memory (tests, the fuzzer). Copies share the mapping. A file cut short while
// mapped reads as entries of zeros, which cutShort() tells (core/map_guard.h).
class FlowIndexEntries {
 public:
  FlowIndexEntries() = default;
  FlowIndexEntries(std::vector<FlowLogIndexEntry> entries);  // NOLINT: a list is entries
  // The file, which must hold exactly `count` entries. Errors name the file: it cannot be opened or mapped, or holds
  // fewer or more (`counted` says who counted them).
  static Result<FlowIndexEntries> map(const std::string& path, std::uint64_t count, const std::string& counted);
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const FlowLogIndexEntry& operator[](std::size_t i) const { return data_[i]; }
  const FlowLogIndexEntry* begin() const { return data_; }
  const FlowLogIndexEntry* end() const { return data_ + size_; }
  // Whether the mapped file was cut short since it was mapped (its pages read since then as zeros).
  bool cutShort() const;
  // The file mapped, or "flow-log index" for a list made in memory.
  const std::string& path() const;

 private:
  std::shared_ptr<const std::vector<FlowLogIndexEntry>> owned_;
  std::shared_ptr<const MappedFile> mapping_;
  const FlowLogIndexEntry* data_ = nullptr;
  std::size_t size_ = 0;
};

class FlowLogReader {
 public:
  static constexpr std::size_t kMaxNamedBad = 10;
  static constexpr std::size_t kMaxLine = std::size_t{1} << 20;

  // Opens a file ("-" is not accepted: the format is told from the first line, which a pipe cannot give back).
  // `name`, when given, stands for the path in messages: a shard reads a gzip log's plain copy in its index under
  // the log's own name (pipeline/split.h, "Flow-log indexes").
  static Result<std::unique_ptr<FlowLogReader>> open(const std::string& path, std::uint16_t fileIndex,
                                                     std::string name = {});
  // Reads from memory (tests, the fuzzer); `name` stands for the path in messages. Not gzip.
  static Result<std::unique_ptr<FlowLogReader>> fromText(std::string text, std::string name,
                                                         std::uint16_t fileIndex = 0);
  ~FlowLogReader();
  FlowLogReader(const FlowLogReader&) = delete;
  FlowLogReader& operator=(const FlowLogReader&) = delete;

  // The next record with log-status OK; false at the end or at a fatal error (error()).
  bool next(FlowRecord& out);
  // Parses the records on a thread of its own, up to 4,096 ahead of next(), which then copies each one out: for a
  // consumer as busy as the parsing (the index pass, whose merge window and entries take about as long as the
  // parsing). Before next(). Until next() has returned false, only next() may be called (the counts, warnings() and
  // error() are the thread's); the destructor stops the thread.
  void parseAhead();
  const std::optional<Error>& error() const { return error_; }
  const std::string& path() const { return path_; }
  FlowLogFormat format() const { return format_; }
  bool gzip() const { return gzip_; }
  std::uint64_t records() const { return records_; }  // delivered
  std::uint64_t noData() const { return noData_; }
  std::uint64_t skipData() const { return skipData_; }
  std::uint64_t badRecords() const { return bad_; }
  // The bad records named (at most kMaxNamedBad, then one line counting the rest) and SKIPDATA; complete at the end.
  std::vector<Error> warnings() const;
  // Reading a shard file `sgsim split` wrote (JSON Lines, issue 13): each record's fileIndex and line are its original
  // log's and line's (members sgsim-file and sgsim-line); a record without them is a bad record. Before next().
  void readSplitIds() { splitIds_ = true; }
  // Tests: read every CSV line the general way (parseCsv), to compare it with the one-pass reading of usual lines.
  void setFastCsv(bool on) { fastCsv_ = on; }
  // Sets FlowRecord::lineHash of the records next() reads (for an index). Before next().
  void hashLines() { hashLines_ = true; }
  // The hash of a record's line: the low 32 bits of std::hash (libstdc++'s murmur hash) of its text as parsed. Not
  // promised the same by other standard libraries: an index made by another build may then be refused by line,
  // never read wrong.
  static std::uint32_t lineHash(std::string_view text) {
    return static_cast<std::uint32_t>(std::hash<std::string_view>{}(text));
  }
  // Hands the log's text (decompressed), from its first byte, to `sink` as it is read, in order, on the thread
  // that reads (parseAhead's): an index keeps a plain copy of a gzip log for its shards to read by offsets. Before
  // next(); false, nothing handed, when the text before the first record is no longer all held (a header after
  // more blank lines than one read of the buffer, 2 MiB).
  bool copyText(std::function<void(std::string_view)> sink);
  // Why the file cannot be read through an index (not a regular file; gzip: no offsets into the file), or nothing.
  std::optional<Error> indexable() const;
  // Whether the file opened is a regular file (fromText: true).
  bool regularFile() const;
  // Reading through an index (pipeline/split.h, "Flow-log indexes"): the file mapped whole (an error when it is not
  // indexable()), then recordAt() parses the record whose line starts at `offset` (FlowRecord::offset as next() read
  // it) the way next() parses it. recordAt() fails (error()) when that line is not a record with log-status OK or
  // (`hash`) its text is not the text indexed: the file is not the one indexed.
  std::optional<Error> mapWhole();
  bool recordAt(std::uint64_t offset, std::uint64_t line, std::uint32_t hash, FlowRecord& out);
  // Lets go of the mapped pages wholly below `offset` (no record read later starts there): a shard's memory then holds
  // the part of the log it is reading, not every page it has read. The pages stay in the page cache.
  void dropBelow(std::uint64_t offset);
  // Asks for the first bytes of the line at `offset` (a record recordAt will read soon): the index's offsets are
  // known ahead, and each line is otherwise a cache miss in the mapped file.
  void prefetchAt(std::uint64_t offset) const {
    if (offset < whole_.size()) {
      __builtin_prefetch(whole_.data() + offset);
      __builtin_prefetch(whole_.data() + std::min<std::uint64_t>(offset + 64, whole_.size() - 1));
    }
  }

 private:
  struct Source;
  FlowLogReader(std::unique_ptr<Source> source, std::string path, std::uint16_t fileIndex);
  std::optional<Error> start();
  bool nextHere(FlowRecord& out);  // next() on this thread
  bool readLine(std::string_view& line);
  bool parseHeader(std::string_view line);
  // Parses one record; "" when it is good, else what is wrong.
  std::string parseCsv(std::string_view line, FlowRecord& out);
  // The usual line, read in one pass; false (nothing said) for any other, which parseCsv then reads.
  bool parseCsvFast(std::string_view line, FlowRecord& out);
  std::string parseJson(std::string_view line, FlowRecord& out);
  // One line as next() and recordAt() read it (the one-pass reading first, for CSV): "" when it is a record of any
  // log-status, else what is wrong.
  std::string parseLine(std::string_view line, FlowRecord& out);
  void badRecord(std::string what);
  // The interned copy of an id (cut at FlowText::kCapacity); `field` (0-7) picks the cache of the last value of each id
  // field.
  FlowText intern(std::string_view v, std::size_t field);

  std::unique_ptr<Source> source_;
  std::string path_;  // in messages
  std::string file_;  // the file opened (open(); "" for fromText): what indexable() and mapWhole() look at
  std::uint16_t fileIndex_;
  std::function<void(std::string_view)> copyText_;
  FlowLogFormat format_ = FlowLogFormat::Csv;
  bool gzip_ = false;
  std::optional<Error> error_;
  bool done_ = false;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;  // unread bytes of buf_
  bool eof_ = false;
  std::uint64_t line_ = 0;
  std::uint64_t consumed_ = 0;    // bytes of the text moved out of buf_ before begin_
  std::uint64_t lineOffset_ = 0;  // where the last line readLine() gave starts in the text
  std::uint64_t firstLineOffset_ = 0;
  bool hashLines_ = false;
  struct Ahead;
  std::unique_ptr<Ahead> ahead_;  // parseAhead()
  std::unique_ptr<MappedFile> mapping_;  // mapWhole()
  std::string_view whole_;               // the whole text, once mapped
  std::vector<std::int8_t> columns_;  // CSV: field id of each column, -1 ignored
  std::size_t maxColumn_ = 0;         // the last column holding a field we read
  bool defaultOrder_ = false;         // the columns are SLS's default ones, version … tcp-flags, in that order
  bool fastCsv_ = true;
  bool pendingFirst_ = false;  // JSONL: the first line was read to tell the format, not parsed yet
  std::string_view firstLine_;
  std::uint64_t records_ = 0, noData_ = 0, skipData_ = 0, bad_ = 0;
  std::uint64_t firstSkipLine_ = 0;
  bool splitIds_ = false;
  std::vector<std::pair<std::uint64_t, std::string>> named_;  // the first bad records: line, what is wrong
  // The ids read (FlowText): node-based, so a value's address never changes. Grows with the number of distinct ids.
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, TextHash, std::equal_to<>> texts_;
  static constexpr std::size_t kTextFields = 8;
  FlowText lastText_[kTextFields];
};

// A record as a flow-log index pass keeps it in the reorder window (MergedFlowLog's compact mode): what orders it,
// where its line is, and what the pass decided of it as it was read (its shard, whether it is placed at its
// interface). 48 bytes, where a FlowRecord is 192: the window holds hundreds of thousands of records (~560,000 over
// fl3m.csv), and on a VM that zeroes fresh pages slowly their memory was ~40% of the pass's reading thread.
struct CompactFlowRecord {
  std::int64_t startNs = 0;
  std::uint64_t line = 0, offset = 0;
  FlowText eni;  // the reader's copy of the eni-id
  std::uint32_t lineHash = 0;
  std::uint32_t shard = 0;  // set by the compactor
  std::uint16_t fileIndex = 0;
  std::uint8_t rank = 0;  // MergedFlowLog::openerRank
  bool placed = true;     // set by the compactor
};
static_assert(sizeof(CompactFlowRecord) == 48);

// Several flow logs read as one stream, in the order the session mapping needs (README, Semantics decisions): by
// start; among records of equal start, first a TCP record whose flags hold SYN without ACK, then a record sent to
// the conversation's server port (the well-known port below 1024 when only one is; else the lower), then the rest;
// then file and line. Logs are written about in time order but not exactly: records are held back in a window of
// kReorderNs behind the latest start read, and a record older than what has already been handed on is delivered
// anyway and counted (lateRecords(), a warning). The files are merged by their next record's start, so logs of
// different days or ENIs may be given in any order. Memory: the records of one window, not of the whole log, up
// to kMaxAhead records read ahead of it (readAhead()) and the records handed out that are kept (keepHandedOut),
// freed when every file has ended (or at releaseMemory()).
class MergedFlowLog {
 public:
  static constexpr std::int64_t kReorderNs = 120LL * 1'000'000'000;

  static Result<std::unique_ptr<MergedFlowLog>> open(const std::vector<std::string>& paths);
  // From readers already opened (tests); fileIndex of each as it was opened.
  explicit MergedFlowLog(std::vector<std::unique_ptr<FlowLogReader>> readers);
  // Compact mode (a flow-log index pass): the same order, the window holding CompactFlowRecords, each made from its
  // record as it is read (start, line, offset, eni-id, line hash, file, opener rank) and finished by `compact` (its
  // shard and placement), which sees the whole record. Read with nextCompact(), not next().
  using Compactor = std::function<void(const FlowRecord&, CompactFlowRecord&)>;
  MergedFlowLog(std::vector<std::unique_ptr<FlowLogReader>> readers, Compactor compact);
  // Compact mode: the next record in the order next() gives, valid until the next call; null at the end.
  const CompactFlowRecord* nextCompact();

  // The next record as a frame: number = its line, tsNs = its start, wireLen = its bytes (capped at 2^32 − 1: read
  // bytesOf()), record = its fields, valid until the next call (or longer: keepHandedOut).
  bool next(Frame& frame);
  // Keeps the records next() hands out valid for `n` further calls (n >= 1; before the first next()), and their memory
  // until releaseMemory(): so that a reading thread can hand its consumer the record where it lies instead of a copy
  // (pipeline/record_stream.h: n = the records its ring holds).
  void keepHandedOut(std::size_t n) { handedOut_.assign(std::max<std::size_t>(n, 1), kNone); }
  // Frees the window's memory once next() has returned false (records handed out are then no longer valid). Without
  // keepHandedOut, next() does it itself at the end.
  void releaseMemory();
  const std::vector<Error>& errors() const { return errors_; }
  // Reads records ahead of the window, up to kMaxAhead (false: nothing read): the reading thread's work while the
  // consumer is busy (capture/read_ahead.h). The window takes them in the order it would have read them, so nothing
  // else changes. Without it the window read nothing while it released the records of one start, and released
  // nothing while it read those of the next: the two threads of a run took turns.
  bool readAhead();
  // Every file's warnings (bad records, SKIPDATA) and the late records; complete once next() has returned false.
  std::vector<Error> warnings() const;
  const std::vector<std::unique_ptr<FlowLogReader>>& readers() const { return readers_; }
  std::uint64_t lateRecords() const { return late_; }

  // Reads the records an index lists (pipeline/split.h, "Flow-log indexes"), in the index's order, without a window:
  // the index holds them in the order the whole input delivers them, each with its ordinal (FlowRecord::ordinal).
  // The files must be plain (FlowLogReader::mapWhole).
  // `texts`, when given, holds for each log the file to read in its place (a gzip log's plain copy; "" for the log
  // itself), read under the log's name.
  static Result<std::unique_ptr<MergedFlowLog>> openIndexed(const std::vector<std::string>& paths,
                                                            FlowIndexEntries entries,
                                                            const std::vector<std::string>& texts = {});
  // The same from readers already mapped (FlowLogReader::mapWhole; tests and the fuzzer read text); every entry's file
  // must be one of them.
  static std::unique_ptr<MergedFlowLog> indexed(std::vector<std::unique_ptr<FlowLogReader>> readers,
                                                FlowIndexEntries entries);

  // The order of records of equal start (0 first): who most likely sent the conversation's first packet.
  static int openerRank(const FlowRecord& r);

 private:
  // The records held back, by start, then opener rank; each list in arrival order (sorted by file and line when
  // it is first released from). Records live in slots_ (reused through freeSlots_), read into their slot directly.
  struct Bucket {
    std::vector<std::uint32_t> byRank[3];
    std::size_t at[3] = {0, 0, 0};
    bool sorted[3] = {false, false, false};  // ordered by file and line (done when first released from)
    // Whether each list arrived in (file, line) order, kept as records arrive: checking it at the first release read
    // every record of the list from memory again. The file and line of each list's last record.
    bool inOrder[3] = {true, true, true};
    std::uint16_t lastFile[3] = {0, 0, 0};
    std::uint64_t lastLine[3] = {0, 0, 0};
  };
  std::uint32_t newSlot();
  // What the window reads of a slot, in either mode.
  std::int64_t startOf(std::uint32_t at) const { return compact_ ? compactSlot(at).startNs : slot(at).startNs; }
  std::uint16_t fileOf(std::uint32_t at) const { return compact_ ? compactSlot(at).fileIndex : slot(at).fileIndex; }
  std::uint64_t lineOf(std::uint32_t at) const { return compact_ ? compactSlot(at).line : slot(at).line; }
  int rankOf(std::uint32_t at) const { return compact_ ? compactSlot(at).rank : openerRank(slot(at)); }
  // The slot's first bytes, and in full mode the cache lines of its start and eni-id: fetched ahead of their use.
  void prefetchSlot(std::uint32_t at) const;
  // Reads the file's next record into slot `at` (compact mode: through the compactor); false at its end or error.
  bool readInto(FlowLogReader& r, std::uint32_t at);
  // The slot next in the window's order, or kNone at the end (next() and nextCompact() hand it out).
  std::uint32_t nextInOrder();
  void fill(std::size_t file);
  struct Indexed {};
  MergedFlowLog(std::vector<std::unique_ptr<FlowLogReader>> readers, FlowIndexEntries entries, Indexed);
  bool nextIndexed(Frame& frame);
  // Hands out the record in slot `out` as `frame` (kept valid as keepHandedOut asked).
  void handOut(std::uint32_t out, Frame& frame);

  std::vector<std::unique_ptr<FlowLogReader>> readers_;
  std::vector<std::uint32_t> pending_;  // each file's next record (a slot), or kNone
  std::map<std::int64_t, Bucket> held_;
  // The slots, in chunks that never move: growing the window neither copies the records held nor keeps an old and
  // a new array at once, as a vector's doubling did (the window of a busy log holds hundreds of thousands).
  // A chunk fills one 2 MiB page where the kernel gives huge pages on request (madvise): the window's records are
  // read in another order than written, and with 4 KiB pages nearly every one cost a TLB miss.
  static constexpr std::size_t kChunkBytes = std::size_t{2} << 20;
  static constexpr std::uint32_t kSlotChunk = kChunkBytes / sizeof(FlowRecord);
  static_assert(kSlotChunk * sizeof(FlowRecord) <= kChunkBytes);
  struct FreeChunk {
    void operator()(FlowRecord* p) const;
  };
  std::vector<std::unique_ptr<FlowRecord[], FreeChunk>> slotChunks_;
  std::uint32_t slotCount_ = 0;
  FlowRecord& slot(std::uint32_t i) { return slotChunks_[i / kSlotChunk][i % kSlotChunk]; }
  const FlowRecord& slot(std::uint32_t i) const { return slotChunks_[i / kSlotChunk][i % kSlotChunk]; }
  // Compact mode: the slots are CompactFlowRecords, in chunks of the same size; each record is read whole into
  // scratch_ first.
  static constexpr std::uint32_t kCompactChunk = kChunkBytes / sizeof(CompactFlowRecord);
  struct FreeCompactChunk {
    void operator()(CompactFlowRecord* p) const;
  };
  std::vector<std::unique_ptr<CompactFlowRecord[], FreeCompactChunk>> compactChunks_;
  CompactFlowRecord& compactSlot(std::uint32_t i) { return compactChunks_[i / kCompactChunk][i % kCompactChunk]; }
  const CompactFlowRecord& compactSlot(std::uint32_t i) const {
    return compactChunks_[i / kCompactChunk][i % kCompactChunk];
  }
  Compactor compact_;
  FlowRecord scratch_;
  std::vector<std::uint32_t> freeSlots_;
  static constexpr std::size_t kMaxAhead = std::size_t{1} << 17;
  std::vector<std::deque<std::uint32_t>> ahead_;  // each file's records read ahead (slots), oldest first
  std::size_t aheadCount_ = 0;
  static constexpr std::uint32_t kNone = UINT32_MAX;
  static constexpr std::size_t kPrefetchAhead = 8;  // records fetched ahead of their release
  // The slots of the records next() returned last, oldest freed as the next is handed out (a ring).
  std::vector<std::uint32_t> handedOut_ = std::vector<std::uint32_t>(1, kNone);
  std::size_t handedAt_ = 0;
  std::int64_t latestStart_ = std::numeric_limits<std::int64_t>::min();
  std::int64_t releasedStart_ = std::numeric_limits<std::int64_t>::min();
  std::vector<Error> errors_;
  std::uint64_t late_ = 0, firstLateLine_ = 0;
  std::uint16_t firstLateFile_ = 0;
  bool indexed_ = false;
  FlowIndexEntries entries_;
  std::size_t entryAt_ = 0;
  // Every kDropEvery entries: by file, the lowest offset of the entries from there on (UINT64_MAX: none), so that
  // the pages below it can be let go (FlowLogReader::dropBelow). Entries go about forward in each file, and back
  // only as far as the reorder window took a record.
  static constexpr std::size_t kDropEvery = 8192;
  std::vector<std::uint64_t> lowestAhead_;  // [checkpoint × files + file]
};

}  // namespace sgsim
