// Flow-log indexes (pipeline/split.h, "Flow-log indexes"): each shard reads through the index exactly the records a
// shard in place keeps of the merged logs, in the same order, each with its place among the whole input's records;
// the index holds the whole input's span, warnings (late records, bad and SKIPDATA records, then the records not
// placed at their interface) and counts. Seeded random logs: several files, CSV in two column orders and JSON Lines,
// CRLF lines, a byte-order mark, blank lines, bad records, NODATA and SKIPDATA, equal starts (the opener ranks),
// records reordered within the window and records far behind it (late). And what an index refuses or finds changed.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "../temp_files.h"
#include "sgsim/capture/flow_log.h"
#include "sgsim/core/shard.h"
#include "sgsim/pipeline/record_stream.h"
#include "sgsim/pipeline/split.h"

namespace sgsim {
namespace {

constexpr const char* kDefaultHeader =
    "version,vswitch-id,vm-id,vpc-id,account-id,eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,packets,"
    "bytes,start,end,log-status,action,tcp-flags";
constexpr const char* kOtherHeader =
    "start,end,eni-id,direction,srcaddr,dstaddr,srcport,dstport,protocol,tcp-flags,packets,bytes,action,log-status";

// One random log of `n` lines as text: CSV (either header) or JSON Lines.
std::string randomLog(std::mt19937& rng, int n, std::int64_t base) {
  const int format = static_cast<int>(rng() % 3);  // 0 default CSV, 1 other CSV, 2 JSON Lines
  const char* eol = rng() % 3 == 0 ? "\r\n" : "\n";
  std::string text;
  if (format == 2 && rng() % 2 == 0) text += "\xEF\xBB\xBF";
  if (format == 0) text += std::string(kDefaultHeader) + eol;
  if (format == 1) text += std::string(kOtherHeader) + eol;
  std::int64_t t = base;
  for (int i = 0; i < n; ++i) {
    const unsigned kind = rng() % 100;
    if (kind < 2) {
      text += eol;  // blank
      continue;
    }
    t += rng() % 4 == 0 ? static_cast<std::int64_t>(rng() % 30) : 0;  // equal starts are common
    std::int64_t start = t;
    if (kind < 8)
      start -= 30 + rng() % 80;  // reordered within the window
    else if (kind < 11)
      start -= 200 + rng() % 400;  // late: far behind the window
    const std::string status = kind >= 11 && kind < 14 ? "NODATA" : kind == 14 ? "SKIPDATA" : "OK";
    // A few addresses, so that conversations repeat and both directions occur.
    const std::string a = "10.0.0." + std::to_string(1 + rng() % 6), b = "198.51.100." + std::to_string(rng() % 5);
    const bool in = rng() % 2 == 0;
    const std::string src = in ? b : a, dst = in ? a : b;
    const std::string proto = rng() % 4 == 0 ? "17" : "6";
    std::string sport = std::to_string(rng() % 3 == 0 ? 22 : 1024 + rng() % 40);
    const std::string dport = std::to_string(rng() % 3 == 0 ? 22 : 1024 + rng() % 40);
    if (kind == 15) sport = "70000";  // bad: not a port
    const std::string eni = rng() % 10 == 0 ? "eni-other" : "eni-" + std::to_string(rng() % 2);
    const std::string flags = std::to_string(rng() % 4 == 0 ? 2 : rng() % 32);
    const std::string packets = std::to_string(1 + rng() % 9), bytes = std::to_string(60 + rng() % 9000);
    const std::string s = std::to_string(start), e = std::to_string(start + static_cast<std::int64_t>(rng() % 60));
    const std::string action = rng() % 5 == 0 ? "REJECT" : "ACCEPT";
    const std::string dir = in ? "in" : "out";
    if (format == 0)
      text += "1,vsw,i-1,vpc,123," + eni + "," + src + "," + sport + "," + dst + "," + dport + "," + proto + "," + dir +
              "," + packets + "," + bytes + "," + s + "," + e + "," + status + "," + action + "," + flags;
    else if (format == 1)
      text += s + "," + e + "," + eni + "," + dir + "," + src + "," + dst + "," + sport + "," + dport + "," + proto +
              "," + flags + "," + packets + "," + bytes + "," + action + "," + status;
    else
      text += "{\"eni-id\":\"" + eni + "\",\"srcaddr\":\"" + src + "\",\"srcport\":" + sport + ",\"dstaddr\":\"" + dst +
              "\",\"dstport\":" + dport + ",\"protocol\":" + proto + ",\"direction\":\"" + dir +
              "\",\"packets\":" + packets + ",\"bytes\":" + bytes + ",\"start\":" + s + ",\"end\":" + e +
              ",\"log-status\":\"" + status + "\",\"action\":\"" + action + "\",\"tcp-flags\":" + flags + "}";
    text += eol;
  }
  return text;
}

void writeText(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
void writeGzip(const std::string& path, const std::string& text) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  if (!text.empty()) {
    ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  }
  ASSERT_EQ(gzclose(gz), Z_OK);
}
// The text with every action misspelled, at the same length (ACCEPX, REJECX): no line is a good record any more.
std::string actionsMisspelled(std::string text) {
  for (const auto& [from, to] : {std::pair{"ACCEPT", "ACCEPX"}, std::pair{"REJECT", "REJECX"}})
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) text.replace(at, 6, to);
  return text;
}
std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Stands for placeRecord: a record logged at eni-other, or an outbound record of eni-1, is not placed.
bool placed(const FlowRecord& r) {
  const std::string_view eni = r.eni.view();
  return eni != "eni-other" && !(eni == "eni-1" && !r.inbound);
}

std::vector<std::string> texts(const std::vector<Error>& errors) {
  std::vector<std::string> out;
  for (const Error& e : errors) out.push_back(e.toString());
  return out;
}

struct Seen {
  std::uint16_t file;
  std::uint64_t line, ordinal;
  std::int64_t start, end;
  std::uint16_t sport, dport;
  std::string src, dst, eni;
  std::uint64_t packets, bytes;
  bool accept, inbound;
  std::uint8_t flags;
  bool operator==(const Seen&) const = default;
};
Seen seen(const FlowRecord& r, std::uint64_t ordinal) {
  return Seen{r.fileIndex, r.line,  ordinal,          r.startNs,        r.endNs,
              r.sport,     r.dport, r.src.toString(), r.dst.toString(), std::string(r.eni.view()),
              r.packets,   r.bytes, r.accept,         r.inbound,        r.tcpFlags};
}

TEST(FlowLogIndex, ShardsReadTheirRecordsInTheWholeInputsOrder) {
  std::mt19937 rng(20261207);
  std::size_t worlds = 0, late = 0, unplacedSeen = 0, compared = 0;
  for (int world = 0; world < 40; ++world) {
    test::TempDir dir("sgsim-flowindex");
    std::vector<std::string> logs;
    const int files = 1 + static_cast<int>(rng() % 3);
    std::size_t copies = 0;
    for (int f = 0; f < files; ++f) {
      // A third of the logs gzip: the index holds a plain copy of each, which the shards read.
      const bool gzip = (world + f) % 3 == 1;
      copies += gzip ? 1 : 0;
      logs.push_back(dir.file("log" + std::to_string(f) + (gzip ? ".csv.gz" : ".csv")));
      // Worlds 0 and 1 (gzip) have a first log larger than the reader's 2 MiB buffer: line offsets across refills.
      const int lines = world <= 1 && f == 0 ? 30000 : 50 + static_cast<int>(rng() % 400);
      const std::string text = randomLog(rng, lines, 1714554000 + rng() % 300);
      if (gzip)
        writeGzip(logs.back(), text);
      else
        writeText(logs.back(), text);
    }
    // The reference: the merged logs as a run reads them, each record numbered as it is delivered.
    auto whole = MergedFlowLog::open(logs);
    ASSERT_TRUE(whole) << whole.error().toString();
    std::vector<std::pair<Seen, FlowRecord>> all;
    std::uint64_t unplaced = 0;
    Frame frame;
    while ((*whole)->next(frame)) {
      all.emplace_back(seen(*frame.record, all.size() + 1), *frame.record);
      if (!placed(*frame.record)) ++unplaced;
    }
    late += (*whole)->lateRecords();
    unplacedSeen += unplaced;
    for (std::uint32_t n : {1u, 2u, 3u}) {
      const std::string out = dir.file("index-" + std::to_string(n));
      FlowLogIndexOptions options;
      options.shards = n;
      options.outDir = out;
      options.placement = "test";
      options.placed = placed;
      auto x = indexFlowLogs(logs, options);
      ASSERT_TRUE(x) << x.error().toString();
      EXPECT_EQ(x->refused, "");
      std::size_t copied = 0;
      for (const FlowLogIndex::File& f : x->files) copied += f.text.empty() ? 0 : 1;
      EXPECT_EQ(copied, copies);
      EXPECT_EQ(x->whole.span.frames, all.size());
      if (!all.empty()) {
        EXPECT_EQ(x->whole.span.firstNs, all.front().first.start);
        std::int64_t last = all.front().first.start;
        for (const auto& [s, r] : all) last = std::max(last, s.start);
        EXPECT_EQ(x->whole.span.lastNs, last);
      }
      // The readers' warnings and the late records' as the run has them, then the records not placed.
      std::vector<Error> warnings = (*whole)->warnings();
      if (unplaced > 0) {
        ASSERT_FALSE(x->whole.warnings.empty());
        EXPECT_NE(x->whole.warnings.back().message.find(std::to_string(unplaced) + " record"), std::string::npos)
            << x->whole.warnings.back().message;
        warnings.push_back(x->whole.warnings.back());
      }
      EXPECT_EQ(texts(x->whole.warnings), texts(warnings));
      std::uint64_t noData = 0, skipData = 0, bad = 0;
      for (const auto& r : (*whole)->readers()) {
        noData += r->noData();
        skipData += r->skipData();
        bad += r->badRecords();
      }
      EXPECT_EQ(x->whole.noData, noData);
      EXPECT_EQ(x->whole.skipData, skipData);
      EXPECT_EQ(x->whole.badRecords, bad);
      std::uint64_t listed = 0;
      for (std::uint32_t k = 1; k <= n; ++k) {
        auto shard = readFlowLogIndex(out, Shard{k, n});
        ASSERT_TRUE(shard) << shard.error().toString();
        EXPECT_EQ(shard->inPlace, "");
        listed += shard->entries.size();
        ASSERT_EQ(shard->texts.size(), logs.size());
        for (std::size_t i = 0; i < logs.size(); ++i)
          EXPECT_EQ(shard->texts[i].empty(), logs[i].ends_with(".csv")) << logs[i];
        auto logsK = MergedFlowLog::openIndexed(logs, shard->entries, shard->texts);
        ASSERT_TRUE(logsK) << logsK.error().toString();
        (*logsK)->keepHandedOut(3);  // as a record stream asks: records stay valid for the calls after
        std::vector<Seen> got, want;
        while ((*logsK)->next(frame)) got.push_back(seen(*frame.record, frame.record->ordinal));
        EXPECT_TRUE((*logsK)->errors().empty());
        for (const auto& [s, r] : all)
          if (shardOf(keyOfRecord(r), n) == k) want.push_back(s);
        EXPECT_EQ(got, want) << "world " << world << ", shard " << k << "/" << n;
        compared += got.size();
      }
      EXPECT_EQ(listed, all.size());
    }
    ++worlds;
  }
  EXPECT_EQ(worlds, 40u);
  // The worlds hold what the test is about.
  EXPECT_GT(late, 20u);
  EXPECT_GT(unplacedSeen, 100u);
  EXPECT_GT(compared, 50000u);
}

TEST(FlowLogIndex, ALogChangedSinceIsReadInPlaceOrRefusedByLine) {
  std::mt19937 rng(7);
  test::TempDir dir("sgsim-flowindex");
  const std::string log = dir.file("a.csv");
  std::string text = randomLog(rng, 200, 1714554000);
  writeText(log, text);
  FlowLogIndexOptions options;
  options.shards = 2;
  options.outDir = dir.file("ix");
  auto x = indexFlowLogs({log}, options);
  ASSERT_TRUE(x) << x.error().toString();
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  // The same size and modification time, other bytes: the shard reads them, and the first line that is not the
  // record the index lists ends the run with an error naming it.
  const std::string changed = actionsMisspelled(text);
  writeText(log, changed);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, log.c_str(), times, 0), 0);
  auto shard = readFlowLogIndex(options.outDir, Shard{1, 2});
  ASSERT_TRUE(shard);
  EXPECT_EQ(shard->inPlace, "");
  ASSERT_FALSE(shard->entries.empty());
  auto logs = MergedFlowLog::openIndexed({log}, shard->entries);
  ASSERT_TRUE(logs);
  Frame frame;
  EXPECT_FALSE((*logs)->next(frame));
  ASSERT_EQ((*logs)->errors().size(), 1u);
  EXPECT_EQ((*logs)->errors()[0].where, log + ": line " + std::to_string(shard->entries[0].line));
  EXPECT_NE((*logs)->errors()[0].message.find("index it again"), std::string::npos);
  // Other bytes that still make a good record (a port 1024 made 1025, the same length): the line's hash tells.
  std::string other = text;
  const std::size_t port = other.find(",1024,");
  ASSERT_NE(port, std::string::npos);
  other[port + 4] = '5';
  writeText(log, other);
  ASSERT_EQ(::utimensat(AT_FDCWD, log.c_str(), times, 0), 0);
  bool caught = false;
  for (std::uint32_t k : {1u, 2u}) {
    auto s = readFlowLogIndex(options.outDir, Shard{k, 2});
    ASSERT_TRUE(s);
    auto l = MergedFlowLog::openIndexed({log}, s->entries);
    ASSERT_TRUE(l);
    while ((*l)->next(frame)) {
    }
    for (const Error& e : (*l)->errors())
      caught = caught || e.message.find("not the text indexed") != std::string::npos;
  }
  EXPECT_TRUE(caught);
  // Another size: read in place, said why.
  writeText(log, text + text);
  shard = readFlowLogIndex(options.outDir, Shard{2, 2});
  ASSERT_TRUE(shard);
  EXPECT_NE(shard->inPlace.find("not the size and modification time"), std::string::npos) << shard->inPlace;
  // --shard K/N that is not the index's N, and an entries file cut short, are errors.
  writeText(log, text);
  ASSERT_EQ(::utimensat(AT_FDCWD, log.c_str(), times, 0), 0);
  EXPECT_FALSE(readFlowLogIndex(options.outDir, Shard{1, 3}));
  const std::string entries = dir.file("ix/flowlog.shard-2.idx");
  std::filesystem::resize_file(entries, std::filesystem::file_size(entries) - 32);
  auto cut = readFlowLogIndex(options.outDir, Shard{2, 2});
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().toString().find("fewer"), std::string::npos) << cut.error().toString();
}

// A log, or the shard's entries, cut short by another program while a shard reads them mapped (logrotate's
// copytruncate): the pages past the new end would fault with SIGBUS and end the run without a word. The shard ends
// on an error naming the file instead (and the log's line), having handed on only records read whole.
TEST(FlowLogIndex, FilesCutShortWhileAShardReadsThemEndItWithAnError) {
  std::mt19937 rng(20261208);
  test::TempDir dir("sgsim-flowindex");
  const std::string log = dir.file("a.csv");
  const std::string text = randomLog(rng, 3000, 1714554000);
  ASSERT_GT(text.size(), 64u * 1024);
  writeText(log, text);
  FlowLogIndexOptions options;
  options.shards = 1;
  options.outDir = dir.file("ix");
  ASSERT_TRUE(indexFlowLogs({log}, options));
  const std::string entries = dir.file("ix/flowlog.shard-1.idx");
  for (const bool cutLog : {true, false}) {
    SCOPED_TRACE(cutLog ? "the log cut short" : "the entries cut short");
    writeText(log, text);
    auto shard = readFlowLogIndex(options.outDir, Shard{1, 1});
    if (!shard || !shard->inPlace.empty()) {  // the log rewritten: index it again
      std::filesystem::remove_all(options.outDir);
      ASSERT_TRUE(indexFlowLogs({log}, options));
      shard = readFlowLogIndex(options.outDir, Shard{1, 1});
    }
    ASSERT_TRUE(shard) << shard.error().toString();
    ASSERT_EQ(shard->inPlace, "");
    ASSERT_GT(shard->entries.size(), 1000u);
    auto logs = MergedFlowLog::openIndexed({log}, shard->entries);
    ASSERT_TRUE(logs) << logs.error().toString();
    Frame frame;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*logs)->next(frame));
    if (cutLog)
      std::filesystem::resize_file(log, 4096);
    else
      std::filesystem::resize_file(entries, 0);
    std::uint64_t more = 0;
    while ((*logs)->next(frame)) ++more;
    ASSERT_EQ((*logs)->errors().size(), 1u);
    const Error& e = (*logs)->errors()[0];
    EXPECT_NE(e.message.find("cut short while it was read"), std::string::npos) << e.toString();
    if (cutLog) {
      EXPECT_EQ(e.where.rfind(log + ": line ", 0), 0u) << e.toString();
      EXPECT_LT(more, shard->entries.size() - 10);  // the lines within the first page only
    } else {
      EXPECT_EQ(e.where, entries);
      EXPECT_EQ(more, 0u);
    }
  }
}

TEST(FlowLogIndex, GzipLogsAreReadThroughTheIndexsPlainCopy) {
  std::mt19937 rng(11);
  test::TempDir dir("sgsim-flowindex");
  const std::string log = dir.file("a.csv.gz");
  const std::string text = randomLog(rng, 100, 1714554000);
  writeGzip(log, text);
  FlowLogIndexOptions options;
  options.shards = 2;
  options.outDir = dir.file("ix");
  auto x = indexFlowLogs({log}, options);
  ASSERT_TRUE(x) << x.error().toString();
  EXPECT_EQ(x->refused, "");
  ASSERT_EQ(x->files.size(), 1u);
  EXPECT_EQ(x->files[0].text, "flowlog-text-1.txt");
  EXPECT_EQ(x->files[0].textSize, text.size());
  const std::string copy = dir.file("ix/flowlog-text-1.txt");
  EXPECT_EQ(readText(copy), text);  // the decompressed text, byte for byte
  auto shard = readFlowLogIndex(options.outDir, Shard{1, 2});
  ASSERT_TRUE(shard) << shard.error().toString();
  EXPECT_EQ(shard->inPlace, "");
  EXPECT_FALSE(shard->entries.empty());
  ASSERT_EQ(shard->texts.size(), 1u);
  EXPECT_EQ(shard->texts[0], copy);
  // Read under the log's name: a record's mistake names the gzip log, not the copy.
  const std::string changed = actionsMisspelled(text);
  writeText(copy, changed);
  auto logs = MergedFlowLog::openIndexed({log}, shard->entries, shard->texts);
  ASSERT_TRUE(logs) << logs.error().toString();
  Frame frame;
  EXPECT_FALSE((*logs)->next(frame));
  ASSERT_EQ((*logs)->errors().size(), 1u);
  EXPECT_EQ((*logs)->errors()[0].where, log + ": line " + std::to_string(shard->entries[0].line));
  // A copy of another size than written: read in place, said why, naming the copy.
  writeText(copy, text + "\n");
  shard = readFlowLogIndex(options.outDir, Shard{2, 2});
  ASSERT_TRUE(shard) << shard.error().toString();
  EXPECT_EQ(shard->inPlace, copy + ", the index's copy of " + log + ": not the size it was written");
  EXPECT_TRUE(shard->texts.empty());
  // A copy gone: the same.
  std::filesystem::remove(copy);
  shard = readFlowLogIndex(options.outDir, Shard{2, 2});
  ASSERT_TRUE(shard) << shard.error().toString();
  EXPECT_EQ(shard->inPlace, copy + ", the index's copy of " + log + ": cannot be looked at now");
  // An index naming another file as the copy is refused, by its JSON path.
  const std::string json = dir.file("ix/flowlog-index.json");
  std::string doc = readText(json);
  doc.replace(doc.find("flowlog-text-1.txt"), 18, "../../etc/passwd00");
  writeText(json, doc);
  auto bad = readFlowLogIndex(options.outDir, Shard{1, 2});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().toString().find("$.files[0].text"), std::string::npos) << bad.error().toString();
  // And a directory with an index is not taken for a split.
  auto split = readManifest(options.outDir);
  ASSERT_FALSE(split);
  EXPECT_NE(split.error().toString().find("flow-log index"), std::string::npos) << split.error().toString();
}

TEST(FlowLogIndex, AGzipLogWhoseHeaderIsPastTheFirstBufferIsRefusedAndReadInPlace) {
  test::TempDir dir("sgsim-flowindex");
  const std::string log = dir.file("a.csv.gz");
  std::mt19937 rng(12);
  // The reader starts on the first line that is not blank: 3 MiB of blank lines move its buffer on before the
  // header, so the text's first bytes are no longer held to copy.
  writeGzip(log, std::string(3 << 20, '\n') + randomLog(rng, 20, 1714554000));
  FlowLogIndexOptions options;
  options.shards = 2;
  options.outDir = dir.file("ix");
  auto x = indexFlowLogs({log}, options);
  ASSERT_TRUE(x) << x.error().toString();
  EXPECT_EQ(x->refused,
            log + ": its header comes after more blank lines than a read holds (2 MiB): not copied into the index");
  EXPECT_FALSE(std::filesystem::exists(dir.file("ix/flowlog-text-1.txt")));
  auto shard = readFlowLogIndex(options.outDir, Shard{1, 2});
  ASSERT_TRUE(shard) << shard.error().toString();
  EXPECT_EQ(shard->inPlace, x->refused);
  EXPECT_TRUE(shard->entries.empty());
}

}  // namespace
}  // namespace sgsim
