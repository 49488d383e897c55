#include "sgsim/pipeline/capture_stream.h"

namespace sgsim {

Result<std::unique_ptr<MergedCapture>> openCaptures(const std::vector<std::string>& paths) {
  if (paths.empty()) return Error{"", "no capture file given"};
  return MergedCapture::open(paths);
}

}  // namespace sgsim
