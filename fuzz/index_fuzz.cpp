// libFuzzer target for shard indexes (pipeline/split.h, "Indexes"): any bytes as a capture, indexed in M parts for N
// shards (M and N from the first two bytes). Where readShardIndex says the index can be used, each shard's frames read
// through it must be exactly the frames the whole reading gives that shard plus the capture's first frame and every UDP
// frame to port 4789 (what a shard in place reads), with the same numbers, times and bytes, and the index's span must
// be the whole reading's; a capture whose reading ends on an error must not be usable. Where the index cannot be used,
// it must say why. Never a frame the whole reading does not have. And each part read in lanes (scanRange) must be
// what reading it record by record gives. A pcapng capture (CaptureReader::mapPcapng) likewise, and its indexed
// reading must also say what the whole reading says about the file: the same skipped blocks, the same (no) warnings,
// each frame's link type. Seeds: fuzz/corpus_index (two bytes of M and N, then a pcapng of 30 frames over an Ethernet
// and a raw-IP interface, either byte order, tsresol 10^-6, 10^-9 or 2^-20, some with NRB and ISBs, which the index
// serves), besides pcaps:
//   build-fuzz/fuzz/index_fuzz -max_total_time=300 -max_len=4096 CORPUS fuzz/corpus_index pcaps

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "sgsim/capture/capture_reader.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/pipeline/split.h"
#include "sgsim/pipeline/stage.h"

namespace {

namespace fs = std::filesystem;

const std::string& scratchDir() {
  static const std::string dir = [] {
    std::string pattern = "/tmp/sgsim-index-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    return pattern;
  }();
  return dir;
}

struct Seen {
  std::uint64_t number;
  std::int64_t tsNs;
  int linkType;
  std::vector<std::uint8_t> bytes;
  std::uint32_t shard;
  bool everyShard;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint32_t parts = 1 + data[0] % 5, shards = 1 + data[1] % 3;
  const std::string path = scratchDir() + "/c.pcap", index = scratchDir() + "/index";
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size > 2 && std::fwrite(data + 2, 1, size - 2, file) != size - 2) std::abort();
  std::fclose(file);
  std::error_code ec;
  fs::remove_all(index, ec);

  auto whole = sgsim::MergedCapture::open({path});
  if (!whole) return 0;
  std::vector<Seen> all;
  sgsim::Frame frame;
  while ((*whole)->next(frame)) {
    const sgsim::PacketKey key = sgsim::decodeFrame(frame.linkType, frame.data, frame.capLen);
    all.push_back({frame.number, frame.tsNs, frame.linkType,
                   std::vector<std::uint8_t>(frame.data, frame.data + frame.capLen), sgsim::shardOf(key, shards),
                   all.empty() || sgsim::toVxlanPort(key)});
  }
  const bool cleanEnd = (*whole)->errors().empty();
  const bool pcapng = (*whole)->readers()[0]->isPcapng();

  // The lanes' reading (CaptureReader::scanRange, lanes of a few dozen bytes here so that inputs this small have many)
  // gives each part exactly what the record-by-record reading gives it.
  // (pcapng parts are read block by block: no lanes to compare.)
  for (std::uint32_t part = 1; part <= parts && !pcapng; ++part) {
    const sgsim::CaptureReadOptions options{true, std::size_t{64} << (data[0] % 8), std::size_t{8} + data[1] % 64};
    auto plain = sgsim::CaptureReader::open(path, 0, options);
    auto lanes = sgsim::CaptureReader::open(path, 0, options);
    if (!plain || !lanes) std::abort();  // MergedCapture opened it
    const std::uint64_t body = (*plain)->fileSize() > 24 ? (*plain)->fileSize() - 24 : 0;
    const std::uint64_t from = 24 + body * (part - 1) / parts, to = 24 + body * part / parts;
    const bool planned = (*plain)->readRange(part == 1 ? 0 : from, part == parts ? (*plain)->fileSize() : to);
    std::vector<sgsim::CaptureReader::ScannedRecord> want, got;
    while (planned && (*plain)->next(frame))
      want.push_back({(*plain)->recordOffset(), frame.tsNs, frame.capLen, frame.capLen > 0 ? frame.data[0] : 256U});
    auto tag = [](const sgsim::Frame& f) { return f.capLen > 0 ? std::uint32_t{f.data[0]} : 256U; };
    auto sink = [&](std::span<const sgsim::CaptureReader::ScannedRecord> records) {
      got.insert(got.end(), records.begin(), records.end());
    };
    if ((*lanes)->scanRange(part == 1 ? 0 : from, part == parts ? (*lanes)->fileSize() : to, tag, sink) != planned)
      std::abort();
    if (got.size() != want.size()) std::abort();
    for (std::size_t i = 0; i < got.size(); ++i)
      if (got[i].offset != want[i].offset || got[i].tsNs != want[i].tsNs || got[i].capLen != want[i].capLen ||
          got[i].tag != want[i].tag)
        std::abort();
    if ((*lanes)->rangeStart() != (*plain)->rangeStart() || (*lanes)->rangeEnd() != (*plain)->rangeEnd() ||
        (*lanes)->rangeRefused() != (*plain)->rangeRefused() ||
        (*lanes)->error().has_value() != (*plain)->error().has_value())
      std::abort();
  }

  for (std::uint32_t part = 1; part <= parts; ++part) {
    auto written = sgsim::indexPart({path}, sgsim::IndexOptions{part, parts, shards, index});
    if (!written) std::abort();  // the capture opened above: a part must be written
  }
  for (std::uint32_t k = 1; k <= shards; ++k) {
    auto s = sgsim::readShardIndex(index, sgsim::Shard{k, shards});
    if (!s) std::abort();  // every part is there, written by this sgsim
    if (!s->used()) continue;
    if (!cleanEnd) std::abort();  // an index of a capture that ends on an error must not be used
    if (s->span.frames != all.size()) std::abort();
    auto captures = sgsim::MergedCapture::openIndexed({path}, std::move(s->records));
    if (!captures) std::abort();
    std::size_t next = 0;  // the next frame of the whole reading this shard should read
    while ((*captures)->next(frame)) {
      while (next < all.size() && all[next].shard != k && !all[next].everyShard) ++next;
      if (next == all.size()) std::abort();  // a frame the whole reading does not give this shard
      const Seen& want = all[next++];
      if (frame.number != want.number || frame.tsNs != want.tsNs || frame.linkType != want.linkType ||
          frame.capLen != want.bytes.size() ||
          (!want.bytes.empty() && std::memcmp(frame.data, want.bytes.data(), want.bytes.size()) != 0))
        std::abort();
    }
    if (!(*captures)->errors().empty()) std::abort();
    while (next < all.size() && all[next].shard != k && !all[next].everyShard) ++next;
    if (next != all.size()) std::abort();  // a frame of this shard missing
    // What the reader says about the file as a whole, as the whole reading says it.
    if ((*captures)->skippedBlocks() != (*whole)->skippedBlocks()) std::abort();
    if ((*captures)->warnings().size() != (*whole)->warnings().size()) std::abort();
  }
  return 0;
}
