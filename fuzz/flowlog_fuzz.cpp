// libFuzzer target for the flow-log reader (capture/flow_log.h): any bytes as a CSV or JSON Lines flow log, read
// whole through FlowLogReader and MergedFlowLog. Checked: no crash, no read outside the buffer (under ASan); every
// record delivered is OK with end ≥ start, an address pair of one family and its line within the text; every
// warning and error names the file and a line; the merge hands out what the reader read, in start order except the
// records it counts as late.

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "sgsim/capture/flow_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::uint64_t lines = 1;
  for (char c : text) lines += c == '\n';
  auto reader = sgsim::FlowLogReader::fromText(text, "fuzz.csv");
  if (!reader) {
    if (reader.error().where.rfind("fuzz.csv", 0) != 0) std::abort();
    return 0;
  }
  std::vector<std::unique_ptr<sgsim::FlowLogReader>> readers;
  readers.push_back(std::move(*reader));
  sgsim::MergedFlowLog merged(std::move(readers));
  sgsim::Frame frame;
  std::uint64_t n = 0, late = 0;
  std::int64_t latest = INT64_MIN;
  while (merged.next(frame)) {
    const sgsim::FlowRecord& r = *frame.record;
    if (r.status != sgsim::FlowLogStatus::Ok || r.endNs < r.startNs || r.src.family != r.dst.family) std::abort();
    if (r.line == 0 || r.line > lines || frame.number != r.line || frame.tsNs != r.startNs) std::abort();
    if (r.startNs < latest) ++late;
    latest = std::max(latest, r.startNs);
    ++n;
  }
  const auto& rd = *merged.readers()[0];
  if (n != rd.records() || late > merged.lateRecords()) std::abort();
  for (const auto& w : merged.warnings())
    if (w.where.rfind("fuzz.csv", 0) != 0) std::abort();
  for (const auto& e : merged.errors())
    if (e.where.rfind("fuzz.csv: line ", 0) != 0) std::abort();
  return 0;
}
