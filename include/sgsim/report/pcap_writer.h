#pragma once
// Writes frames to a classic pcap file (nanosecond timestamps) that tcpdump and tshark read.
//
// The file is written through AtomicFile (sgsim/core/atomic_file.h), which decides how the path is written:
// a regular file (or a symbolic link's target) is written under a temporary name in its directory and renamed
// into place by close(), so a reader never sees half a file; a FIFO, a device or /dev/stdout is written
// through. A pcap file has a single link type: frames of the link type given to open() go to `path`; a frame
// of another link type goes to a sibling file named after that link type ("out.pcap" → "out.LINUX_SLL.pcap"),
// opened on first use, which only a regular file can have (a pipe or device refuses the frame). Nothing is
// converted. Frames longer than the snapshot length are cut to it (wireLen is kept).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sgsim/capture/frame.h"
#include "sgsim/core/result.h"

namespace sgsim {

class PcapWriter {
 public:
  static constexpr std::uint32_t kDefaultSnapLen = 262144;  // libpcap's MAXIMUM_SNAPLEN

  // Opens `path` through AtomicFile (a FIFO waits for its reader); the error names the path.
  static Result<std::unique_ptr<PcapWriter>> open(const std::string& path, int linkType,
                                                  std::uint32_t snapLen = kDefaultSnapLen);
  // Without close(), the temporary files are removed and a regular file at `path` is left untouched.
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Uses the frame's tsNs, capLen, wireLen, linkType and data. Fails, naming the file: when a file for a new
  // link type cannot be created (or the output is not a regular file), when a write failed (a full disk, a
  // closed pipe: noticed at the frame whose buffered write failed), or after close().
  Result<bool> write(const Frame& frame);
  // Flushes, checks for write errors and commits every file (a rename into place for regular files). Returns the paths
  // written, the primary first. Calling it again returns an error.
  Result<std::vector<std::string>> close();

  // The file name used for frames of `linkType` when the primary is `path` with `primaryLinkType`.
  static std::string pathFor(const std::string& path, int primaryLinkType, int linkType);
  std::uint64_t framesWritten() const { return framesWritten_; }

 private:
  struct Output;
  PcapWriter(std::string path, int linkType, std::uint32_t snapLen);
  Result<Output*> outputFor(int linkType);

  std::string path_;
  int linkType_;
  std::uint32_t snapLen_;
  std::vector<std::unique_ptr<Output>> outputs_;
  std::uint64_t framesWritten_ = 0;
  bool closed_ = false;
};

}  // namespace sgsim
