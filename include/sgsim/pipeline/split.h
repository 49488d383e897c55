#pragma once
// `sgsim split` (issue 13): one pass over a run's captures that writes each frame to the file of its shard
// (stage.h, "Shards"; core/shard.h), and the manifest that lets `replay|whatif|audit --split DIR --shard K/N` read a
// shard back as the part of the whole run it is.
//
// The frames are read as the commands read them (capture/capture_reader.h, MergedCapture: several captures merged
// in time order) and decoded as they decode them (decode/decoder.h, with --decap vxlan the inner packet's addresses
// decide), so a frame lands in the shard whose --shard K/N run would count it. Shard K's frames go, in stream order,
// to one pcapng file DIR/shard-K.pcapng (capture/pcapng_writer.h): one interface per original capture and link type
// (the manifest maps each back to its capture), every frame's bytes, lengths and nanosecond timestamp as read, its
// original number in epb_packetid. One file per shard, not one per capture and shard: reading a shard back is then a
// single file in the merged order, which a merge of per-capture files would not reproduce when a capture's frames
// are out of time order.
//
// Flow logs (splitFlowLogs below) likewise, into one JSON Lines file per shard; or indexed (indexFlowLogs, "Flow-log
// indexes" below), which copies no record and is exact where the split is not (late records, records not placed).
//
// The manifest (DIR/manifest.json) names the inputs as given, N, the --decap and --mirror options, the whole stream's
// frame count, first observation (time origin and link type) and latest time, what the readers said (errors: a
// capture that ends on a bad record; warnings; skipped pcapng blocks), and each shard's file, interfaces and frame
// count. It is read strictly (readManifest): an unknown member is an error naming it.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/capture/capture_reader.h"
#include "sgsim/capture/flow_log.h"
#include "sgsim/core/result.h"
#include "sgsim/core/shard.h"
#include "sgsim/report/replay_report.h"

namespace sgsim {

struct SplitManifest {
  static constexpr std::int64_t kVersion = 2;  // 2: kShardHash 2 (core/shard.h)
  std::uint32_t shards = 1;
  bool flowLog = false;             // the inputs are flow logs (--flow-log), the shard files JSON Lines
  std::vector<std::string> inputs;  // the captures or flow logs as given
  std::uint16_t vxlanPort = 0;      // --decap vxlan:PORT; 0 without
  std::vector<std::string> mirror;  // --mirror VNI=ENI as given
  ReplayStats::StreamSpan span;     // every frame read
  int firstLinkType = 0;            // the first frame's (Frame::linkType)
  std::vector<Error> errors;        // the captures that ended on a bad record, in the order it happened
  std::vector<Error> warnings;      // what the readers went on despite
  std::map<std::string, std::uint64_t> skippedBlocks;
  std::uint64_t noData = 0, skipData = 0, badRecords = 0;  // flow logs: the records no shard file holds
  struct File {
    std::string file;                     // relative to the directory
    std::vector<std::uint16_t> captures;  // by interface of the file: the original capture (index into inputs);
                                          // empty for flow logs (each record names its log)
    std::uint64_t frames = 0;
  };
  std::vector<File> files;  // by shard, 1..shards
};

std::string manifestJson(const SplitManifest& m);
// Reads DIR/manifest.json; errors name the file and the JSON path and say what is wrong.
Result<SplitManifest> readManifest(const std::string& dir);

struct SplitOptions {
  std::uint32_t shards = 1;
  std::string outDir;               // must be absent or empty
  std::uint16_t vxlanPort = 0;      // --decap
  std::vector<std::string> mirror;  // recorded only: a mirror session does not change an address pair
  bool progress = false;            // frames read, on stderr (a terminal)
};

// Splits the captures. Fails (nothing useful written) when the directory is not empty or cannot be made, a capture
// cannot be opened, or a file cannot be written; a capture that ends on a bad record is not a failure here: the
// split of what was read is complete and the manifest carries the error (each shard's run reports it, exit 2, as
// the unsharded run does).
Result<SplitManifest> splitCaptures(const std::vector<std::string>& captures, const SplitOptions& options);

// Splits flow logs (--flow-log): the records merged as the commands merge them (capture/flow_log.h, MergedFlowLog),
// each written to DIR/shard-K.jsonl by the address pair of its srcaddr and dstaddr, in stream order, as a JSON Lines
// record with the fields sgsim reads plus sgsim-file and sgsim-line (its original log and line). NODATA, SKIPDATA
// and bad records, which no evaluation sees, are not written: the manifest counts them (and the readers' warnings
// name them), for shard 1's report. A log that ends on an error is carried as for captures.
Result<SplitManifest> splitFlowLogs(const std::vector<std::string>& logs, const SplitOptions& options);

// ---- Indexes: a split that copies no frame (`sgsim split --index --part I/M`) --------------------------------------
//
// Every shard run in place reads the whole capture (a memory sweep of ~35 ns per frame on this machine even for the
// frames it drops); a split copies every frame once more. An index instead records, per shard, where its frames'
// records are in the original captures, and is made in M parts over byte ranges of the captures that run side by side:
// part I reads the records that start in [I-1, I) / M of each capture's bytes (CaptureReader::readRange: parts after
// the first find their first record by a chain of eight well-formed records), decodes each, and writes its offset and
// number into DIR/part-I.shard-K.idx for its shard K. A shard run (`--index DIR --shard K/N`) then reads only its own
// records (CaptureReader::readIndexed), numbered and timed as the whole run numbers them.
//
// A part reads its records in lanes (CaptureReader::scanRange: what readRange gives, several records at a time, each
// lane asking for its next header while the others are read), touches only the lines it decodes, and writes its
// files as scratch (renamed into place, no fsync: AtomicFile::Sync). On cap10m (10M frames, 5.5 GB, in the page
// cache) one part over the whole capture took 0.65 s (0.59 s of CPU) read record by record, 0.57 s in lanes, 0.46 s
// in lanes without touching every page of each record, and 0.39 s without the fsync (docs/PERFORMANCE.md, "Scale-out").
//
// Exact or not used: readShardIndex checks that the parts tile every capture (each part starts where the one before
// ended, the first at the first record, the last at the end of the file), that the captures are the size and age they
// were, and, for several captures, that each one's times never go back (the merge of a shard's records is then the
// whole merge's order). Where a check fails for a capture, or a part met a record of it the mapped reading does not
// take (truncated, corrupt, an unusual link type; for pcapng, a block CaptureReader::mapPcapng lists), the shard reads
// that capture whole and filters it as in place, the other captures still through the index: removing frames from
// captures whose times never go back keeps the merge's order of the rest, whatever the captures read whole hold
// (ShardIndex::inPlace). With --decap every
// capture is read in place. The report is the same either way, by the same filter. Every capture's first frame, and
// every UDP frame to port 4789 (counted by every shard for the mirrored-traffic warning), is in every shard's index;
// the stream drops those not its own as in place.
//
// pcapng (CaptureReader::mapPcapng): a capture's bytes are cut from its first packet block on (File::head; the blocks
// before it, the section header and the interfaces every packet is read with, are read by every part), each part
// walks the blocks of its range, and counts the blocks the reader skips by type (File::skipped; part 1 with those
// before the first packet); readShardIndex sums them (by name, as PcapngReader::skippedBlocks) for the shard's
// stream, so that shard 1 reports them as in place. The reader's warnings need no part: a part refuses the blocks
// that would give one (Simple Packet Blocks, blocks Wireshark numbers as frames).
struct IndexPart {
  // 2: pcapng captures indexed too (File::head, File::skipped); a part of version 1 is refused (index again).
  static constexpr std::int64_t kVersion = 2;
  std::uint32_t part = 1, parts = 1, shards = 1;
  std::vector<std::string> inputs;
  struct File {
    std::uint64_t size = 0;
    std::int64_t mtimeNs = 0;
    std::string refused;               // why this part of the capture cannot be indexed ("" when it can)
    std::uint64_t head = 24;           // the capture's first record's offset (pcapng: its first packet block's)
    std::uint64_t start = 0, end = 0;  // the part's first record's offset; the offset after its last record
    std::map<std::uint32_t, std::uint64_t> skipped;  // pcapng: the blocks the part skipped, by type (part 1: and
                                                     // those before the first packet)
    std::uint64_t frames = 0;
    std::int64_t firstNs = 0, lastNs = 0, maxNs = 0;  // the part's first and last frame's times, and the latest
    bool ordered = true;                              // every frame's time at or after the one before
    std::vector<std::uint64_t> entries;               // by shard: the records in DIR/part-I.shard-K.idx
  };
  std::vector<File> files;
  // indexPart found this part of these captures written already (same parts and shards, each capture the size and
  // modification time it had, every file whole) and kept it; not in the manifest.
  bool kept = false;
};

struct IndexOptions {
  std::uint32_t part = 1, parts = 1;  // --part I/M
  std::uint32_t shards = 1;
  std::string outDir;  // made when absent; other parts' files may be there, this part's must not
};

// Writes part I of M of the captures' index. Fails when a capture cannot be opened or a file cannot be written, or the
// part's files are there already for other captures, parts or shards, or for captures that changed since (the same
// part of the same unchanged captures, whole, is kept: `kept`); a capture that cannot be indexed is not a failure:
// the part says so.
Result<IndexPart> indexPart(const std::vector<std::string>& captures, const IndexOptions& options);

// What shard K reads of DIR: the captures, each with its records, and the span of their frames; or, in `inPlace`, why
// a capture cannot be read through the index (the shard then reads that capture whole, and filters it as in place).
// Errors: a part missing or not written by `sgsim split --index`, parts of different indexes, --shard's N not the
// index's.
struct ShardIndex {
  std::vector<std::string> inputs;
  // By capture: why it is read in place, or "" when it is read through the index. A capture that fails a check is
  // read whole and the others still through the index: removing frames from captures whose times never go back
  // keeps the merge's order of the rest, whatever the captures read whole hold.
  std::vector<std::string> inPlace;
  ReplayStats::StreamSpan span;  // the frames of the captures read through the index
  std::vector<std::unique_ptr<CaptureReader::IndexSource>> records;  // by capture; null for one read in place
  // Whether any capture is read through the index.
  bool used() const {
    for (const std::string& why : inPlace)
      if (why.empty()) return true;
    return false;
  }
  // By capture, whether it is read whole (CaptureStreamOptions::readWhole).
  std::vector<bool> readWhole() const {
    std::vector<bool> out;
    for (const std::string& why : inPlace) out.push_back(!why.empty());
    return out;
  }
};
Result<ShardIndex> readShardIndex(const std::string& dir, Shard shard);

// ---- Flow-log indexes: `sgsim split --index --flow-log F... --model M` -------------------------------------------
//
// A shard run in place over flow logs (`--shard K/N --flow-log F...`) parses every record, because the order of the
// whole input (the reorder window, late records), each record's place in it (the drift rows' firstRecord) and what
// shard 1 reports for the whole input (bad, NODATA and SKIPDATA records, late records, records not placed at their
// interface) need every record. An index reads the logs once, as the commands merge them (MergedFlowLog), and writes
// for each shard the records it holds, in the order the whole input delivers them, each as its log, the offset of
// its line, its line and its ordinal (FlowLogIndexEntry; DIR/flowlog.shard-K.idx); and DIR/flowlog-index.json with
// the whole input's span, the readers' errors, warnings and counts, and the records not placed at their interface,
// counted with the model's interfaces (`--model`, `--host`, `--direction`: placementDigest). A shard run (`--index
// DIR --shard K/N`) then parses only its own lines, hands them on in the index's order with no window, and reports
// what the run in place reports, byte for byte: the whole input's facts from the index (shard 1's), the rest from its
// records.
//
// A gzip log has no offsets to read a line at: the index keeps a plain copy of its text (DIR/flowlog-text-I.txt, I
// the log's place among the inputs, written as the pass reads it), and the shards read their lines there, under the
// log's name. So every shard parses only its own records of a gzip log too, instead of each decompressing and
// parsing all of it; the price is the copy's room on the shared storage (the log's decompressed size).
//
// Exact or not used: the shard reads the logs in place (said in a note; the same report) when the index refused them
// (a log that is not a regular file), when a log is not the size and age it was, when a copy is not the size it was
// written, or when the run's interfaces or direction are not those the index counted with (placementDigest).
struct FlowLogIndex {
  static constexpr std::int64_t kVersion = 1;
  SplitManifest whole;  // inputs, shards, span, errors, warnings (the placement warning last), counts; files: by shard
  struct File {
    std::uint64_t size = 0;
    std::int64_t mtimeNs = 0;
    // A gzip log: the index's plain copy of its text (a file name in DIR), which the shards read in its place, and
    // its size. "" for a plain log, read where it is.
    std::string text;
    std::uint64_t textSize = 0;
  };
  std::vector<File> files;  // by log
  std::string refused;      // why the logs cannot be read through an index ("" when they can)
  std::string placement;    // placementDigest of the interfaces the records not placed were counted with
};

struct FlowLogIndexOptions {
  std::uint32_t shards = 1;
  std::string outDir;  // must be absent or empty
  bool progress = false;
  std::string placement;                          // placementDigest
  std::function<bool(const FlowRecord&)> placed;  // placeRecord's answer for a record
};

// Indexes the flow logs. Fails when the directory is not new or empty, a log cannot be opened, or a file cannot be
// written (a gzip log's copy too); a log that cannot be indexed (not a regular file) is not a failure: the index
// says so (refused) and holds no entries.
Result<FlowLogIndex> indexFlowLogs(const std::vector<std::string>& logs, const FlowLogIndexOptions& options);

// Whether DIR holds a flow-log index (DIR/flowlog-index.json) rather than a capture index.
bool isFlowLogIndex(const std::string& dir);

// What shard K of a flow-log index reads: the index, and its entries; or, in `inPlace`, why the logs are read in place.
struct FlowLogShard {
  FlowLogIndex index;
  std::string inPlace;
  FlowIndexEntries entries;        // the shard's file of them, mapped
  std::vector<std::string> texts;  // by log: the path of its copy in DIR to read in its place, or "" (the log itself)
};
Result<FlowLogShard> readFlowLogIndex(const std::string& dir, Shard shard);

}  // namespace sgsim
