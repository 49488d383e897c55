#pragma once
// Writes frames to a pcapng file (issue 13: the shard files of `sgsim split`), the reader's twin
// (capture/pcapng_reader.h reads what this writes): one section, little-endian; one Interface Description Block
// per interface the caller adds (a link type and a snap length each), with nanosecond timestamps (if_tsresol 9), so
// that every frame keeps its link type, its bytes and its timestamp to the nanosecond; one Enhanced Packet Block
// per frame, carrying the number the caller gives it as the epb_packetid option (code 5; `sgsim split`: the
// frame's number in its original capture, PcapngReader::readSplitIds). tcpdump, tshark and Wireshark read it.
//
// The file is written through AtomicFile (core/atomic_file.h): a regular file appears whole at close(), a FIFO
// or device is written through; without close() a replaced file is left as it was.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/core/atomic_file.h"
#include "sgsim/core/result.h"

namespace sgsim {

class PcapngWriter {
 public:
  // Opens `path` and writes the Section Header Block; the error names the path.
  static Result<std::unique_ptr<PcapngWriter>> open(const std::string& path);
  PcapngWriter(const PcapngWriter&) = delete;
  PcapngWriter& operator=(const PcapngWriter&) = delete;

  // Describes an interface: `dlt` as Frame::linkType has it (written as its LINKTYPE_ value), `snapLen` 0 for no
  // limit. Returns its number, from 0 in the order added.
  std::uint32_t addInterface(int dlt, std::uint32_t snapLen);
  // One frame (tsNs, capLen, wireLen, data) on `interface`, with `packetId` as its epb_packetid. A failed write is
  // kept and returned by close() (checked by the caller through failure() as it goes).
  void write(const Frame& frame, std::uint32_t interface, std::uint64_t packetId);
  std::optional<Error> failure() const { return file_->failure(); }
  // Flushes and commits (a rename into place for a regular file); the error names the path.
  std::optional<Error> close() { return file_->commit(); }

 private:
  explicit PcapngWriter(std::unique_ptr<AtomicFile> file) : file_(std::move(file)) {}
  void block(std::uint32_t type, const std::vector<std::uint8_t>& body);

  std::unique_ptr<AtomicFile> file_;
  std::uint32_t interfaces_ = 0;
  std::vector<std::uint8_t> scratch_;
};

}  // namespace sgsim
