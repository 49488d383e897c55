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
// Flow logs (splitFlowLogs below) likewise, into one JSON Lines file per shard.
//
// The manifest (DIR/manifest.json) names the inputs as given, N, the --decap and --mirror options, the whole stream's
// frame count, first observation (time origin and link type) and latest time, what the readers said (errors: a
// capture that ends on a bad record; warnings; skipped pcapng blocks), and each shard's file, interfaces and frame
// count. It is read strictly (readManifest): an unknown member is an error naming it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sgsim/core/result.h"
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

}  // namespace sgsim
