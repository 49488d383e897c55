// Shards (issue 13; pipeline/stage.h, "Shards"; pipeline/split.h): a pass that counts one shard counts exactly its
// part of the whole run, keeps the whole stream's time origin and span, and gives the sources' own facts to shard 1;
// fragments and both directions of a conversation land in one shard; `sgsim split` writes each frame to its shard's
// file with its original number, capture, bytes and timestamp, and its manifest is read back strictly.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "../decode/frame_builder.h"
#include "sgsim/capture/capture_reader.h"
#include "sgsim/capture/flow_log.h"
#include "sgsim/capture/pcapng_writer.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/pipeline/split.h"
#include "sgsim/pipeline/stage.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;
using test::Bytes;

struct FakeItem {
  Frame frame;
  PacketKey key;
  BasicPacketPlan<1> plan;
};

struct FakeStream {
  using Item = FakeItem;
  std::vector<FakeItem> items;
  std::size_t at = 0;
  std::vector<Error> sourceErrors{Error{"a.pcap: frame 9", "truncated record"}};
  std::span<const Item> next() {
    const std::size_t n = std::min<std::size_t>(3, items.size() - at);
    std::span<const Item> out(items.data() + at, n);
    at += n;
    return out;
  }
  static Observation<1> observation(const Item& item) { return {item.frame, item.key, item.plan}; }
  std::vector<std::string> names() const { return {"a.pcap", "b.pcap"}; }
  const std::vector<Error>& errors() const { return sourceErrors; }
  void account(ReplayStats& stats) const {
    stats.warnings.push_back(Error{"a.pcap", "2 frames come from Simple Packet Blocks"});
    stats.skippedBlocks["Name Resolution"] = 3;
  }
};

// Accepts frames of even number, drops the others; remembers what it saw.
struct Evaluation {
  static constexpr int kSides = 1;
  BasicPlanner<1> planner_{nullptr, {nullptr}, {}};
  std::optional<std::int64_t> origin;
  bool begun = false;
  std::vector<std::uint64_t> observed;
  PacketVerdict verdict;
  const BasicPlanner<1>& planner() const { return planner_; }
  bool wantsFrameBytes() const { return false; }
  std::optional<Error> begin(const Observation<1>* first, const ReplayStats&) {
    begun = true;
    if (first) origin = first->frame.tsNs;
    return std::nullopt;
  }
  void prefetch(const BasicPacketPlan<1>&) const {}
  const PacketVerdict& observe(const Observation<1>& o) {
    observed.push_back(o.frame.number);
    verdict.verdict = o.frame.number % 2 == 0 ? Verdict::Accept : Verdict::Drop;
    verdict.reason = Reason::Rule;
    return verdict;
  }
  std::optional<Error> failure() const { return std::nullopt; }
  std::optional<Error> finish(ReplayStats&) { return std::nullopt; }
};

// A seeded stream of observations between a few addresses, with non-IP ones among them, in two sources.
FakeStream randomStream(unsigned seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  FakeStream s;
  for (std::size_t i = 0; i < n; ++i) {
    FakeItem it;
    it.frame.number = i + 1;
    it.frame.fileIndex = static_cast<std::uint16_t>(rng() % 2);
    it.frame.tsNs = 1'000'000'000LL + static_cast<std::int64_t>(rng() % 1'000'000);  // not in time order
    it.frame.wireLen = 60 + static_cast<std::uint32_t>(rng() % 1400);
    if (rng() % 7 == 0) {
      it.key.status = DecodeStatus::NotIp;
      it.key.detail = "ARP";
    } else {
      it.key.status = DecodeStatus::Ok;
      it.key.src = *IpAddr::parse("10.0.0." + std::to_string(rng() % 9));
      it.key.dst = *IpAddr::parse("192.0.2." + std::to_string(rng() % 9));
    }
    s.items.push_back(it);
  }
  return s;
}

struct ShardRun {
  ReplayStats stats;
  Evaluation ev;
};

ShardRun runShard(const FakeStream& source, std::optional<Shard> shard) {
  FakeStream s = source;
  ShardRun r;
  Pass pass(s, r.ev, PassScope{shard, std::nullopt});
  for (;;) {
    auto more = pass.step();
    EXPECT_TRUE(more.ok());
    if (!more || !*more) break;
  }
  EXPECT_FALSE(pass.finish().has_value());
  r.stats = pass.stats();
  return r;
}

TEST(Shard, TheShardsOfAStreamCountEachObservationExactlyOnceAndAddUpToTheWholeRun) {
  const FakeStream stream = randomStream(13, 500);
  const ShardRun whole = runShard(stream, std::nullopt);
  for (std::uint32_t n : {1u, 2u, 3u, 5u}) {
    std::uint64_t frames = 0, bytes = 0;
    std::map<std::pair<Verdict, Reason>, std::uint64_t> outcomes;
    std::map<std::string, std::uint64_t> notIp;
    std::vector<std::uint64_t> observed;
    std::vector<std::uint64_t> perCapture(2, 0);
    for (std::uint32_t k = 1; k <= n; ++k) {
      const ShardRun r = runShard(stream, Shard{k, n});
      frames += r.stats.frames;
      bytes += r.stats.bytes;
      for (const auto& [cell, count] : r.stats.byOutcome) outcomes[cell] += count;
      for (const auto& [what, count] : r.stats.notIp) notIp[what] += count;
      observed.insert(observed.end(), r.ev.observed.begin(), r.ev.observed.end());
      for (std::size_t c = 0; c < 2; ++c) perCapture[c] += r.stats.perCapture[c].frames;
      // Every shard begins at the whole stream's first observation and knows the whole stream's span.
      EXPECT_EQ(r.ev.origin, whole.ev.origin) << k << "/" << n;
      EXPECT_EQ(r.stats.stream.frames, whole.stats.frames);
      EXPECT_EQ(r.stats.stream.firstNs, whole.stats.firstNs);
      EXPECT_EQ(r.stats.stream.lastNs, whole.stats.lastNs);
      // Not IP: shard 1's.
      if (k != 1) EXPECT_TRUE(r.stats.notIp.empty()) << k << "/" << n;
    }
    EXPECT_EQ(frames, whole.stats.frames) << n;
    EXPECT_EQ(bytes, whole.stats.bytes) << n;
    EXPECT_EQ(outcomes, whole.stats.byOutcome) << n;
    EXPECT_EQ(notIp, whole.stats.notIp) << n;
    EXPECT_EQ(perCapture[0], whole.stats.perCapture[0].frames);
    EXPECT_EQ(perCapture[1], whole.stats.perCapture[1].frames);
    std::sort(observed.begin(), observed.end());
    EXPECT_EQ(observed, whole.ev.observed) << "every observation evaluated in exactly one shard, N=" << n;
  }
}

TEST(Shard, AShardWithoutTheFirstObservationStillBeginsAtItAndSpansOnlyItsOwnFrames) {
  FakeStream s;
  auto add = [&](std::uint64_t number, std::int64_t ts, const char* src, const char* dst) {
    FakeItem it;
    it.frame.number = number;
    it.frame.tsNs = ts;
    it.key.status = DecodeStatus::Ok;
    it.key.src = *IpAddr::parse(src);
    it.key.dst = *IpAddr::parse(dst);
    s.items.push_back(it);
  };
  // Two conversations; find which shard of 2 each is in.
  const std::uint32_t a = shardOfPair(*IpAddr::parse("10.0.0.1"), *IpAddr::parse("10.0.0.2"), 2);
  std::string other;
  for (int i = 3; i < 50 && other.empty(); ++i)
    if (shardOfPair(*IpAddr::parse("10.0.0.1"), *IpAddr::parse("10.0.0." + std::to_string(i)), 2) != a)
      other = "10.0.0." + std::to_string(i);
  ASSERT_FALSE(other.empty());
  add(1, 100, "10.0.0.1", "10.0.0.2");
  add(2, 200, other.c_str(), "10.0.0.1");
  add(3, 300, "10.0.0.2", "10.0.0.1");  // the reply: the same shard as frame 1
  add(4, 250, "10.0.0.1", other.c_str());
  const ShardRun mine = runShard(s, Shard{3 - a, 2});  // the shard of `other`, not of the first frame
  EXPECT_EQ(mine.ev.origin, 100);
  EXPECT_EQ(mine.ev.observed, (std::vector<std::uint64_t>{2, 4}));
  EXPECT_EQ(mine.stats.frames, 2u);
  EXPECT_EQ(mine.stats.firstNs, 200);
  EXPECT_EQ(mine.stats.lastNs, 250);
  EXPECT_EQ(mine.stats.perCapture[0].frames, 2u);
  EXPECT_EQ(mine.stats.perCapture[1].frames, 0u) << "a capture with no frame in the shard is still listed";
  EXPECT_EQ(mine.stats.stream.frames, 4u);
  EXPECT_EQ(mine.stats.stream.firstNs, 100);
  EXPECT_EQ(mine.stats.stream.lastNs, 300);
  const ShardRun first = runShard(s, Shard{a, 2});
  EXPECT_EQ(first.ev.observed, (std::vector<std::uint64_t>{1, 3})) << "both directions in one shard";
}

TEST(Shard, SourceWarningsAndSkippedBlocksAreShardOnesAndSourceErrorsEveryShards) {
  const FakeStream stream = randomStream(7, 20);
  for (std::uint32_t k = 1; k <= 3; ++k) {
    const ShardRun r = runShard(stream, Shard{k, 3});
    ASSERT_EQ(r.stats.captureErrors.size(), 1u) << k;
    EXPECT_EQ(r.stats.warnings.size(), k == 1 ? 1u : 0u) << k;
    EXPECT_EQ(r.stats.skippedBlocks.size(), k == 1 ? 1u : 0u) << k;
  }
}

TEST(Shard, AFragmentIsInItsFirstFragmentsShardAndNonIpInShardOne) {
  test::Ipv4 first;
  first.src = 0xc6336401;  // 198.51.100.1
  first.dst = 0x0a000005;
  first.proto = 17;
  first.moreFragments = true;
  test::Ipv4 later = first;
  later.moreFragments = false;
  later.fragOffset = 185;
  const Bytes f1 = test::ethernet(0x0800, test::ipv4(first, test::udpHeader(5000, 53, 1472)));
  const Bytes f2 = test::ethernet(0x0800, test::ipv4(later, Bytes(100, 0xab)));
  const PacketKey k1 = decodeFrame(1, f1.data(), static_cast<std::uint32_t>(f1.size()));
  const PacketKey k2 = decodeFrame(1, f2.data(), static_cast<std::uint32_t>(f2.size()));
  ASSERT_EQ(k1.status, DecodeStatus::Ok);
  ASSERT_EQ(k2.status, DecodeStatus::Ok);
  ASSERT_TRUE(k2.isFragment && !k2.firstFragment);
  for (std::uint32_t n = 1; n <= 64; ++n) EXPECT_EQ(shardOf(k1, n), shardOf(k2, n)) << n;
  const Bytes arp = test::ethernet(0x0806, Bytes(28, 0));
  const PacketKey ka = decodeFrame(1, arp.data(), static_cast<std::uint32_t>(arp.size()));
  ASSERT_EQ(ka.status, DecodeStatus::NotIp);
  for (std::uint32_t n = 1; n <= 64; ++n) EXPECT_EQ(shardOf(ka, n), 1u) << n;
}

// ---- split ----------------------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sgsim-shard-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// A pcapng of Ethernet frames (nanosecond timestamps) through the writer, numbered 1, 2, …
void writeCapture(const std::string& path, const std::vector<std::pair<std::int64_t, Bytes>>& frames) {
  auto w = PcapngWriter::open(path);
  ASSERT_TRUE(w.ok());
  const std::uint32_t i = (*w)->addInterface(1, 0);
  std::uint64_t n = 0;
  for (const auto& [ts, bytes] : frames) {
    Frame f;
    f.tsNs = ts;
    f.capLen = f.wireLen = static_cast<std::uint32_t>(bytes.size());
    f.data = bytes.data();
    (*w)->write(f, i, ++n);
  }
  ASSERT_FALSE((*w)->close().has_value());
}

Bytes udp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport) {
  test::Ipv4 h;
  h.src = src;
  h.dst = dst;
  h.proto = 17;
  return test::ethernet(0x0800, test::ipv4(h, test::udpHeader(sport, 53)));
}

struct ReadFrame {
  std::uint16_t file;
  std::uint64_t number;
  std::int64_t tsNs;
  Bytes bytes;
  bool operator==(const ReadFrame&) const = default;
};

std::vector<ReadFrame> readAll(MergedCapture& c) {
  std::vector<ReadFrame> out;
  Frame f;
  while (c.next(f)) out.push_back({f.fileIndex, f.number, f.tsNs, Bytes(f.data, f.data + f.capLen)});
  return out;
}

TEST(Split, EachFrameGoesToItsShardsFileInStreamOrderWithItsNumberCaptureBytesAndTimestamp) {
  TempDir dir;
  std::mt19937 rng(42);
  std::vector<std::pair<std::int64_t, Bytes>> a, b;
  for (int i = 0; i < 60; ++i) {
    const std::int64_t ts = 1'700'000'000'123'456'789LL + static_cast<std::int64_t>(rng() % 5'000'000);
    auto& into = i % 3 == 0 ? b : a;
    if (i % 11 == 0)
      into.push_back({ts, test::ethernet(0x0806, Bytes(28, 0))});
    else
      into.push_back({ts, udp(0x0a000000 + rng() % 8, 0xc0000200 + rng() % 8, static_cast<std::uint16_t>(i))});
  }
  writeCapture(dir.file("a.pcapng"), a);
  writeCapture(dir.file("b.pcapng"), b);
  const std::vector<std::string> inputs{dir.file("a.pcapng"), dir.file("b.pcapng")};
  auto whole = MergedCapture::open(inputs);
  ASSERT_TRUE(whole.ok());
  const std::vector<ReadFrame> all = readAll(**whole);

  SplitOptions o;
  o.shards = 3;
  o.outDir = dir.file("split");
  auto m = splitCaptures(inputs, o);
  ASSERT_TRUE(m.ok()) << m.error().toString();
  EXPECT_EQ(m->span.frames, all.size());
  auto back = readManifest(o.outDir);
  ASSERT_TRUE(back.ok()) << back.error().toString();
  EXPECT_EQ(manifestJson(*back), manifestJson(*m));

  std::size_t seen = 0;
  for (std::uint32_t k = 1; k <= 3; ++k) {
    const SplitManifest::File& f = back->files[k - 1];
    auto c = MergedCapture::open({(fs::path(o.outDir) / f.file).string()});
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->readers()[0]->readSplitIds(f.captures));
    const std::vector<ReadFrame> got = readAll(**c);
    EXPECT_TRUE((*c)->errors().empty());
    // The part of the whole stream in shard k, in the same order.
    std::vector<ReadFrame> expected;
    for (const ReadFrame& r : all)
      if (shardOf(decodeFrame(1, r.bytes.data(), static_cast<std::uint32_t>(r.bytes.size())), 3) == k)
        expected.push_back(r);
    EXPECT_EQ(got, expected) << "shard " << k;
    EXPECT_EQ(f.frames, got.size());
    seen += got.size();
  }
  EXPECT_EQ(seen, all.size());

  // The directory is not empty now: a second split into it is refused.
  auto again = splitCaptures(inputs, o);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("is not empty"), std::string::npos) << again.error().message;
}

TEST(Split, AManifestWithAnUnknownMemberOrAMissingOneIsRefusedNamingIt) {
  TempDir dir;
  writeCapture(dir.file("a.pcapng"), {{1, udp(0x0a000001, 0x0a000002, 1)}});
  SplitOptions o;
  o.shards = 2;
  o.outDir = dir.file("s");
  ASSERT_TRUE(splitCaptures({dir.file("a.pcapng")}, o).ok());
  const std::string manifest = (fs::path(o.outDir) / "manifest.json").string();
  std::string text = manifestJson(*readManifest(o.outDir));
  std::ofstream(manifest) << text.substr(0, text.size() - 2) << ",\"extra\":1}\n";
  auto r = readManifest(o.outDir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where, manifest + ": $.extra");
  EXPECT_NE(r.error().message.find("unknown member"), std::string::npos);
  std::string noFiles = text;
  noFiles.replace(noFiles.find("\"files\""), 7, "\"filez\"");
  std::ofstream(manifest) << noFiles;
  r = readManifest(o.outDir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where, manifest + ": $.filez");
  auto missing = readManifest(dir.file("nowhere"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no such directory"), std::string::npos);
}

TEST(Split, AFrameWithoutItsOriginalNumberIsAnErrorInSplitMode) {
  TempDir dir;
  // A pcapng written by something else: Enhanced Packet Blocks without epb_packetid. Our writer always adds it,
  // so write the blocks by hand.
  Bytes file;
  auto block = [&](std::uint32_t type, const Bytes& body) {
    test::putLe32(file, type);
    test::putLe32(file, static_cast<std::uint32_t>(body.size() + 12));
    file.insert(file.end(), body.begin(), body.end());
    test::putLe32(file, static_cast<std::uint32_t>(body.size() + 12));
  };
  Bytes shb;
  test::putLe32(shb, 0x1A2B3C4D);
  shb.insert(shb.end(), {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  block(0x0A0D0D0A, shb);
  block(1, Bytes{1, 0, 0, 0, 0, 0, 0, 0});
  Bytes epb(20, 0);
  epb[12] = epb[16] = 4;
  epb.insert(epb.end(), {1, 2, 3, 4});
  block(6, epb);
  std::ofstream(dir.file("x.pcapng"), std::ios::binary)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  auto c = MergedCapture::open({dir.file("x.pcapng")});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->readers()[0]->readSplitIds({0}));
  EXPECT_TRUE(readAll(**c).empty());
  ASSERT_EQ((*c)->errors().size(), 1u);
  EXPECT_NE((*c)->errors()[0].message.find("no epb_packetid"), std::string::npos) << (*c)->errors()[0].message;
}

struct ReadRecord {
  std::uint16_t file;
  std::uint64_t line;
  std::int64_t startNs, endNs;
  std::string src, dst;
  std::uint16_t sport, dport;
  std::uint64_t packets, bytes;
  bool accept, inbound;
  std::string eni;
  bool operator==(const ReadRecord&) const = default;
};

std::vector<ReadRecord> readAll(MergedFlowLog& logs) {
  std::vector<ReadRecord> out;
  Frame f;
  while (logs.next(f)) {
    const FlowRecord& r = *f.record;
    out.push_back({r.fileIndex, r.line, r.startNs, r.endNs, r.src.toString(), r.dst.toString(), r.sport, r.dport,
                   r.packets, r.bytes, r.accept, r.inbound, std::string(r.eni.view())});
  }
  return out;
}

TEST(Split, FlowLogRecordsGoToTheirShardsFileWithTheirLogLineAndFieldsAndTheOthersAreCounted) {
  TempDir dir;
  std::mt19937 rng(5);
  const std::string header =
      "version,vswitch-id,vm-id,vpc-id,account-id,eni-id,srcaddr,srcport,dstaddr,dstport,protocol,direction,packets,"
      "bytes,start,end,log-status,action,tcp-flags\n";
  std::string a = header, b = header;
  for (int i = 0; i < 80; ++i) {
    // Roughly in time order, as logs are (within the reorder window: no late record).
    const int start = 1714554000 + i * 3 + static_cast<int>(rng() % 50);
    std::string line = "1,vsw,i-1,vpc,123,eni-web,10.0.0." + std::to_string(rng() % 6) + "," +
                       std::to_string(1000 + i) + ",192.0.2." + std::to_string(rng() % 6) + ",443,6," +
                       (rng() % 2 ? "in" : "out") + "," + std::to_string(1 + rng() % 9) + "," +
                       std::to_string(60 + rng() % 900) + "," + std::to_string(start) + "," +
                       std::to_string(start + 5) + ",OK," + (rng() % 3 ? "ACCEPT" : "REJECT") + ",2\n";
    (i % 2 ? b : a) += line;
  }
  a += "1,vsw,i-1,vpc,123,eni-web,-,-,-,-,-,-,-,-,1714554100,1714554160,NODATA,-,-\n";
  b += "1,vsw,i-1,vpc,123,eni-web,10.0.0.1,70000,192.0.2.1,443,6,in,1,60,1714554100,1714554101,OK,ACCEPT,2\n";
  std::ofstream(dir.file("a.csv")) << a;
  std::ofstream(dir.file("b.csv")) << b;
  const std::vector<std::string> inputs{dir.file("a.csv"), dir.file("b.csv")};
  auto whole = MergedFlowLog::open(inputs);
  ASSERT_TRUE(whole.ok());
  const std::vector<ReadRecord> all = readAll(**whole);
  ASSERT_EQ(all.size(), 80u);

  SplitOptions o;
  o.shards = 3;
  o.outDir = dir.file("split");
  auto m = splitFlowLogs(inputs, o);
  ASSERT_TRUE(m.ok()) << m.error().toString();
  EXPECT_TRUE(m->flowLog);
  EXPECT_EQ(m->noData, 1u);
  EXPECT_EQ(m->badRecords, 1u);
  EXPECT_EQ(m->warnings.size(), 1u) << "the bad record, named by its original file and line";
  auto back = readManifest(o.outDir);
  ASSERT_TRUE(back.ok()) << back.error().toString();
  EXPECT_EQ(manifestJson(*back), manifestJson(*m));
  std::size_t seen = 0;
  for (std::uint32_t k = 1; k <= 3; ++k) {
    const SplitManifest::File& f = back->files[k - 1];
    auto reader = FlowLogReader::open((fs::path(o.outDir) / f.file).string(), 0);
    ASSERT_TRUE(reader.ok()) << reader.error().toString();
    (*reader)->readSplitIds();
    std::vector<std::unique_ptr<FlowLogReader>> readers;
    readers.push_back(std::move(*reader));
    MergedFlowLog logs(std::move(readers));
    const std::vector<ReadRecord> got = readAll(logs);
    EXPECT_EQ(logs.readers()[0]->badRecords(), 0u);
    std::vector<ReadRecord> expected;
    for (const ReadRecord& r : all)
      if (shardOfPair(*IpAddr::parse(r.src), *IpAddr::parse(r.dst), 3) == k) expected.push_back(r);
    EXPECT_EQ(got, expected) << "shard " << k;
    EXPECT_EQ(f.frames, got.size());
    seen += got.size();
  }
  EXPECT_EQ(seen, all.size());
}

}  // namespace
}  // namespace sgsim
