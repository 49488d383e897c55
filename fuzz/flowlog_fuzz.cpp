// libFuzzer target for the flow-log reader (capture/flow_log.h): any bytes as a CSV or JSON Lines flow log, read
// whole through FlowLogReader and MergedFlowLog. Checked: no crash, no read outside the buffer (under ASan); every
// record delivered is OK with end ≥ start, an address pair of one family and its line within the text; every
// warning and error names the file and a line; the merge hands out what the reader read, in start order except the
// records it counts as late, and each record stays as it was for the calls asked (MergedFlowLog::keepHandedOut, as
// the reading thread hands records on); a second reading, the general way (FlowLogReader::setFastCsv(false)) and with
// records read ahead of the window between records (MergedFlowLog::readAhead), delivers the same; the text a reader
// copies out (copyText) is the text read, and a shard reads its records back from that copy; the window in compact
// mode (an index pass's) delivers the same records in the same order.

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
  std::vector<std::string> seen;  // what each record delivered holds, compared with a second reading below
  auto describe = [](const sgsim::FlowRecord& r) {
    std::string s = std::to_string(r.line) + "|" + std::to_string(r.startNs) + "|" + std::to_string(r.endNs) + "|" +
                    r.src.toString() + ">" + r.dst.toString() + "|" + std::to_string(r.sport) + "|" +
                    std::to_string(r.dport) + "|" + std::to_string(r.proto) + "|" + std::to_string(r.packets) + "|" +
                    std::to_string(r.bytes) + "|" + std::to_string(r.accept) + std::to_string(r.inbound) +
                    std::to_string(r.hasTcpFlags) + "|" + std::to_string(r.tcpFlags) + "|" + std::to_string(r.version) +
                    "|" + std::to_string(r.trafficPath);
    for (const sgsim::FlowText* t : {&r.eni, &r.vm, &r.vswitch, &r.vpc, &r.account, &r.region, &r.srcType, &r.dstType})
      s += "|" + std::string(t->view());
    return s;
  };
  constexpr std::size_t kKeep = 4;
  merged.keepHandedOut(kKeep);
  std::vector<const sgsim::FlowRecord*> handed;
  while (merged.next(frame)) {
    const sgsim::FlowRecord& r = *frame.record;
    seen.push_back(describe(r));
    handed.push_back(frame.record);
    for (std::size_t j = handed.size() > kKeep ? handed.size() - kKeep : 0; j < handed.size(); ++j)
      if (describe(*handed[j]) != seen[j]) std::abort();
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
  // The same text read the general way (no one-pass reading of usual CSV lines) and with records read ahead of the
  // window between records (as the reading thread does while the consumer is busy) delivers the same records, in the
  // same order, with the same counts, warnings and errors.
  auto again = sgsim::FlowLogReader::fromText(text, "fuzz.csv");
  if (!again) std::abort();
  (*again)->setFastCsv(false);
  std::vector<std::unique_ptr<sgsim::FlowLogReader>> more;
  more.push_back(std::move(*again));
  sgsim::MergedFlowLog second(std::move(more));
  std::size_t k = 0;
  for (;;) {
    if (k % 3 == 0) second.readAhead();
    if (!second.next(frame)) break;
    if (k >= seen.size() || describe(*frame.record) != seen[k]) std::abort();
    ++k;
  }
  const auto& rd2 = *second.readers()[0];
  if (k != seen.size() || second.lateRecords() != merged.lateRecords() || rd2.badRecords() != rd.badRecords() ||
      rd2.noData() != rd.noData() || rd2.skipData() != rd.skipData())
    std::abort();
  const auto w1 = merged.warnings(), w2 = second.warnings();
  if (w1.size() != w2.size()) std::abort();
  for (std::size_t i = 0; i < w1.size(); ++i)
    if (w1[i].toString() != w2[i].toString()) std::abort();
  if (merged.errors().size() != second.errors().size()) std::abort();
  for (std::size_t i = 0; i < merged.errors().size(); ++i)
    if (merged.errors()[i].toString() != second.errors()[i].toString()) std::abort();
  // Through an index (pipeline/split.h, "Flow-log indexes"): each record's offset, line, ordinal and line hash as a
  // reading that hashes its lines gives them; every other record read back by offset (a shard's share) is the record
  // delivered there, with its ordinal, and no error.
  // The index's copy of the text (FlowLogReader::copyText, as for a gzip log) is the text, or the part of it read
  // before a fatal line; the shard reads its records back from the copy.
  auto third = sgsim::FlowLogReader::fromText(text, "fuzz.csv");
  if (!third) std::abort();
  (*third)->hashLines();
  std::string copy;
  const bool copied = (*third)->copyText([&copy](std::string_view t) { copy.append(t); });
  std::vector<std::unique_ptr<sgsim::FlowLogReader>> hashed;
  hashed.push_back(std::move(*third));
  sgsim::MergedFlowLog index(std::move(hashed));
  std::vector<sgsim::FlowLogIndexEntry> entries;
  std::vector<sgsim::CompactFlowRecord> whole;  // every record as a compact window keeps it, for the check below
  while (index.next(frame)) {
    const sgsim::FlowRecord& r = *frame.record;
    whole.push_back({r.startNs, r.line, r.offset, r.eni, r.lineHash, r.sport, r.fileIndex,
                     static_cast<std::uint8_t>(sgsim::MergedFlowLog::openerRank(r)), r.inbound});
    if (entries.size() % 2 == 0 || entries.size() + 1 == seen.size())
      entries.push_back({r.offset, r.line, entries.size() + 1, 0, r.lineHash});
    else
      entries.push_back({});  // not this shard's: left out below
  }
  if (entries.size() != seen.size()) std::abort();
  if (copied && (copy.size() > text.size() || text.compare(0, copy.size(), copy) != 0 ||
                 (index.errors().empty() && copy.size() != text.size())))
    std::abort();
  // The window in compact mode (a flow-log index pass's) delivers the same records in the same order, as compact
  // records (start, line, offset, eni-id, line hash, file, opener rank) with what the compactor set from each record
  // whole, and counts the same late records and errors.
  auto fifth = sgsim::FlowLogReader::fromText(text, "fuzz.csv");
  if (!fifth) std::abort();
  (*fifth)->hashLines();
  std::vector<std::unique_ptr<sgsim::FlowLogReader>> compactReaders;
  compactReaders.push_back(std::move(*fifth));
  sgsim::MergedFlowLog compact(std::move(compactReaders), [](const sgsim::FlowRecord& r, sgsim::CompactFlowRecord& c) {
    c.shard = r.sport;
    c.placed = r.inbound;
  });
  std::size_t delivered = 0;
  for (const sgsim::CompactFlowRecord* c; (c = compact.nextCompact()) != nullptr; ++delivered) {
    if (delivered >= whole.size()) std::abort();
    const sgsim::CompactFlowRecord& w = whole[delivered];
    if (c->startNs != w.startNs || c->line != w.line || c->offset != w.offset || c->eni.view() != w.eni.view() ||
        c->lineHash != w.lineHash || c->shard != w.shard || c->fileIndex != w.fileIndex || c->rank != w.rank ||
        c->placed != w.placed)
      std::abort();
  }
  if (delivered != whole.size() || compact.lateRecords() != index.lateRecords() ||
      compact.errors().size() != index.errors().size())
    std::abort();
  std::vector<sgsim::FlowLogIndexEntry> mine;
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (entries[i].ordinal != 0) {
      mine.push_back(entries[i]);
      at.push_back(i);
    }
  auto fourth = sgsim::FlowLogReader::fromText(copied ? copy : text, "fuzz.csv");
  if (!fourth || (*fourth)->mapWhole()) std::abort();
  std::vector<std::unique_ptr<sgsim::FlowLogReader>> mapped;
  mapped.push_back(std::move(*fourth));
  auto shard = sgsim::MergedFlowLog::indexed(std::move(mapped), mine);
  shard->keepHandedOut(kKeep);
  std::size_t j = 0;
  while (shard->next(frame)) {
    if (j >= at.size() || describe(*frame.record) != seen[at[j]] || frame.record->ordinal != at[j] + 1) std::abort();
    ++j;
  }
  if (j != at.size() || !shard->errors().empty()) std::abort();
  return 0;
}
