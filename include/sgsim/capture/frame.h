#pragma once
// One frame as read from a capture file, before decoding; or one flow-log record read as an observation of many
// packets (capture/flow_log.h: packetsOf, bytesOf and endOf read either).

#include <cstdint>

namespace sgsim {

struct FlowRecord;  // capture/flow_log.h

struct Frame {
  std::uint64_t number = 0;     // 1-based within its file, as tcpdump and Wireshark number frames
  std::int64_t tsNs = 0;        // capture timestamp, nanoseconds since the Unix epoch
  std::uint32_t capLen = 0;     // bytes present in `data`
  std::uint32_t wireLen = 0;    // original length on the wire
  int linkType = 0;             // DLT_/LINKTYPE_ value of the interface the frame came from
  std::uint16_t fileIndex = 0;  // which input file (order given on the command line)
  // Bytes of outer headers a decapsulating step took off wireLen (--decap vxlan: wireLen is then the inner
  // frame's, what the mirrored interface carried; capLen and data stay the record's). 0 for a frame as read.
  std::uint16_t encapLen = 0;
  const std::uint8_t* data = nullptr;  // valid until the next read from the same reader
  // A flow-log record: its fields (packets, bytes, its window's end, the logged action), valid as long as the
  // frame; `number` is then the record's line in its file, tsNs its start. Null for a frame of a capture.
  const FlowRecord* record = nullptr;
};

}  // namespace sgsim
