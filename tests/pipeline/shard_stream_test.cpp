// --shard K/N's early filter (pipeline/capture_stream.h, CaptureStreamOptions::shard; stage.h, "Shards"): a capture
// stream that drops other shards' frames on its reading thread gives every shard the report the pass's own filter
// gives it (the same frames evaluated, the same verdicts, counts, spans, time origin and warnings), and the shards
// add up to the unsharded run. Seeded random captures mixing IPv4 and IPv6 conversations, both directions, VLAN tags,
// IPv4 and IPv6 fragments, ARP and other non-IP frames, frames cut short by the snapshot length, VXLAN mirror copies
// (read with and without --decap vxlan, with a --mirror session), over two captures merged in time order, with the
// reading on a second thread and on the calling one, with and without whatif's --at +N (counted from the whole
// stream's first frame, which the early filter hands on whatever its shard).

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "../../tools/pcapng_build.h"
#include "../decode/frame_builder.h"
#include "../shared_corpus.h"
#include "../temp_files.h"
#include "sample_net.h"
#include "sgsim/api/engine.h"
#include "sgsim/api/request.h"
#include "sgsim/core/time_spec.h"
#include "sgsim/model/model_json.h"
#include "sgsim/pipeline/capture_stream.h"
#include "sgsim/pipeline/split.h"
#include "sgsim/pipeline/stage.h"
#include "sgsim/pipeline/whatif_evaluation.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;
using test::Bytes;

using test::source;

std::shared_ptr<const Network> network(const char* revoke = nullptr) {
  return test::sampleNet("examples/web.json", revoke);
}

struct Record {
  std::int64_t tsNs;
  Bytes data;
  std::uint32_t capLen;  // may cut the frame short
};

void writePcap(const std::string& path, const std::vector<Record>& records) {
  Bytes b;
  test::putLe32(b, 0xa1b23c4d);  // nanoseconds
  b.insert(b.end(), {2, 0, 4, 0});
  test::putLe32(b, 0);
  test::putLe32(b, 0);
  test::putLe32(b, 65535);
  test::putLe32(b, 1);  // Ethernet
  for (const auto& r : records) {
    test::putLe32(b, static_cast<std::uint32_t>(r.tsNs / 1000000000));
    test::putLe32(b, static_cast<std::uint32_t>(r.tsNs % 1000000000));
    test::putLe32(b, r.capLen);
    test::putLe32(b, static_cast<std::uint32_t>(r.data.size()));
    b.insert(b.end(), r.data.begin(), r.data.begin() + r.capLen);
  }
  test::writeFile(path, b);
}

// One random frame: a conversation of eni-web (10.0.0.5) with a few peers (SSH, HTTP, other ports), over IPv4 or
// IPv6, either way round, or one of the odd kinds.
Bytes randomFrame(std::mt19937& rng) {
  auto pick = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  const std::uint32_t peers[] = {0xcb00710a, 0xcb007114, 0xc0000201, 0xc6336409, 0x0a000006};
  const std::uint16_t ports[] = {22, 80, 443, 5432};
  const std::uint32_t peer = peers[pick(5)];
  const std::uint16_t port = ports[pick(4)], client = static_cast<std::uint16_t>(40000 + pick(6));
  const bool in = pick(2) == 0;
  test::Ipv4 h;
  h.src = in ? peer : 0x0a000005;
  h.dst = in ? 0x0a000005 : peer;
  const std::uint8_t flags = pick(4) == 0 ? 0x02 : 0x10;
  const Bytes tcp = in ? test::tcpHeader(client, port, flags) : test::tcpHeader(port, client, flags | 0x02);
  switch (pick(12)) {
    case 0: {  // IPv4 fragments: the first with the ports, or a later one
      h.id = static_cast<std::uint16_t>(pick(4));
      h.moreFragments = pick(2) == 0;
      h.fragOffset = static_cast<std::uint16_t>(pick(2) == 0 ? 0 : 1 + pick(20));
      return test::ethernet(0x0800, test::ipv4(h, h.fragOffset == 0 ? tcp : Bytes(24, 0xab)));
    }
    case 1:  // IPv6, either way, sometimes a fragment
      if (pick(3) == 0)
        return test::ethernet(
            0x86dd, test::ipv6(44, test::cat({test::ipv6Fragment(6, pick(2) == 0 ? 0 : 8, true, pick(3)), tcp}),
                               static_cast<std::uint8_t>(1 + pick(3)), 5));
      return test::ethernet(0x86dd, test::ipv6(6, tcp, static_cast<std::uint8_t>(1 + pick(3)), 5));
    case 2:  // ARP
      return test::ethernet(0x0806, Bytes(28, 0x01));
    case 3:  // another ethertype
      return test::ethernet(0x88cc, Bytes(40, 0x02));
    case 4:  // VLAN-tagged
      return test::ethernet(0x0800, test::ipv4(h, tcp), {{0x8100, static_cast<std::uint16_t>(1 + pick(3))}});
    case 5: {  // a mirror copy: VXLAN to 4789 between two collector addresses, VNI 100 or 7
      test::Ipv4 outer;
      outer.src = 0xc0a80101;
      outer.dst = 0xc0a80102 + pick(2);
      outer.proto = 17;
      const Bytes inner = test::ethernet(0x0800, test::ipv4(h, tcp));
      return test::ethernet(0x0800,
                            test::ipv4(outer, test::udpCarrying(static_cast<std::uint16_t>(50000 + pick(9)), 4789,
                                                                test::vxlan(pick(3) == 0 ? 7 : 100, inner))));
    }
    case 6: {  // UDP to 4789 that is not VXLAN
      h.proto = 17;
      return test::ethernet(0x0800, test::ipv4(h, test::udpCarrying(client, 4789, Bytes(4, 0))));
    }
    default:
      return test::ethernet(0x0800, test::ipv4(h, tcp));
  }
}

// The what-if evaluation, and what its begin() was given: the time origin.
struct Recorded {
  static constexpr int kSides = 2;
  WhatIfEvaluation& whatif;
  std::optional<std::int64_t> origin;
  const BasicPlanner<2>& planner() const { return whatif.planner(); }
  bool wantsFrameBytes() const { return whatif.wantsFrameBytes(); }
  std::optional<Error> begin(const Observation<2>* first, const ReplayStats& stats) {
    if (first != nullptr) origin = first->frame.tsNs;
    return whatif.begin(first, stats);
  }
  void prefetch(const BasicPacketPlan<2>& plan) const { whatif.prefetch(plan); }
  const PacketVerdict& observe(const Observation<2>& o) { return whatif.observe(o); }
  std::optional<Error> failure() const { return whatif.failure(); }
  std::optional<Error> finish(ReplayStats& stats) { return whatif.finish(stats); }
};

// A run's outcome, as far as a report shows it.
struct Outcome {
  std::string stats;  // the replay JSON of the pass's accounting: totals, outcomes, spans, warnings, errors
  std::int64_t originNs = 0;
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t>> totals;
  std::vector<std::string> flows;
  std::tuple<std::uint64_t, std::int64_t, std::int64_t> stream;  // the whole stream's span: frames, first, last
};

// A shard read through an index gives what it gives in place: every figure of the pass, field by field (so that a
// failure names the one that differs).
void expectSameOutcome(const Outcome& indexed, const Outcome& inPlace) {
  EXPECT_EQ(indexed.stats, inPlace.stats);
  EXPECT_EQ(indexed.totals, inPlace.totals);
  EXPECT_EQ(indexed.flows, inPlace.flows);
  EXPECT_EQ(indexed.originNs, inPlace.originNs);
  EXPECT_EQ(indexed.stream, inPlace.stream);
}

// With `index`: the shard read through the index in that directory (sgsim --index DIR), in place where it cannot be
// used, as the command line does; `usable` says which.
Outcome run(const std::vector<std::string>& files, std::optional<Shard> shard, bool early, DecapOptions decap,
            bool thread, std::optional<TimeSpec> at, const std::string& index = "", std::string* unusable = nullptr) {
  std::optional<ReplayStats::StreamSpan> indexedWhole;
  std::vector<bool> readWhole;
  Result<std::unique_ptr<MergedCapture>> captures = Error{"", "not opened"};
  if (!index.empty()) {
    auto shardIndex = readShardIndex(index, *shard);
    EXPECT_TRUE(shardIndex) << shardIndex.error().toString();
    EXPECT_EQ(shardIndex->inputs, files);
    if (unusable) {
      unusable->clear();
      for (const std::string& why : shardIndex->inPlace) *unusable += why.empty() ? "indexed;" : why + ";";
    }
    if (shardIndex->used()) {
      captures = MergedCapture::openIndexed(files, std::move(shardIndex->records));
      indexedWhole = shardIndex->span;
      readWhole = shardIndex->readWhole();
    } else {
      captures = openCaptures(files);
    }
  } else {
    captures = openCaptures(files);
  }
  EXPECT_TRUE(captures);
  auto before = network(), after = network("examples/requests/revoke_ssh.json");
  WhatIfRunOptions whatifOptions;
  whatifOptions.at = at;  // an offset from the whole stream's first frame: from its origin, in every shard
  whatifOptions.atOutsideCapture = true;  // a short capture may end before it
  WhatIfEvaluation whatif(before, after, whatifOptions);
  CaptureStreamOptions options{thread, false, std::move(decap), early ? shard : std::nullopt, indexedWhole, readWhole};
  CaptureStream<2> stream(**captures, whatif.planner(), options);
  Recorded recorded{whatif, std::nullopt};
  Pass pass(stream, recorded, PassScope{shard, std::nullopt});
  for (;;) {
    auto more = pass.step();
    EXPECT_TRUE(more);
    if (!more || !*more) break;
  }
  EXPECT_FALSE(pass.finish());
  Outcome o;
  o.stats = renderReplayJson(pass.stats(), stream.names(), *before, shard);
  o.originNs = recorded.origin.value_or(-1);
  o.stream = {pass.stats().stream.frames, pass.stats().stream.firstNs, pass.stats().stream.lastNs};
  EXPECT_EQ(o.originNs, pass.stats().stream.firstNs);
  const WhatIfTotals& t = whatif.totals();
  o.totals.emplace_back(t.frames, t.changedPackets, t.changedBytes, t.cut);
  for (const ChangedFlow& f : whatif.ranked())
    o.flows.push_back(f.src.toString() + " " + std::to_string(f.sport) + " " + f.dst.toString() + " " +
                      std::to_string(f.dport) + " " + std::to_string(f.packets) + " " + std::to_string(f.firstNs));
  return o;
}

TEST(ShardEarlyFilter, GivesEachShardThePassFiltersReportAndTheShardsAddUpToTheWholeRun) {
  test::TempDir dir{"sgsim-shard-stream"};
  std::mt19937 rng(20261207);
  int checked = 0;
  std::uint64_t changedByMode[3] = {};  // without --decap, with it, with a --mirror session
  for (int round = 0; round < 12; ++round) {
    SCOPED_TRACE(round);
    std::vector<std::string> files;
    for (int f = 0; f < 2; ++f) {
      std::vector<Record> records;
      std::int64_t t = 1714554000LL * 1000000000LL + static_cast<std::int64_t>(rng() % 1000);
      const std::size_t n = 50 + rng() % 300;
      for (std::size_t i = 0; i < n; ++i) {
        t += static_cast<std::int64_t>(rng() % 50000000);
        Bytes data = randomFrame(rng);
        const auto size = static_cast<std::uint32_t>(data.size());
        const std::uint32_t capLen = rng() % 15 == 0 ? static_cast<std::uint32_t>(rng() % size) : size;
        records.push_back({t, std::move(data), capLen});
      }
      files.push_back(dir.file("r" + std::to_string(round) + "_" + std::to_string(f) + ".pcap"));
      writePcap(files.back(), records);
    }
    DecapOptions decap;
    if (round % 3 == 1) decap.vxlanPort = 4789;
    if (round % 3 == 2) {
      decap.vxlanPort = 4789;
      decap.mirror.push_back(MirrorSession{100, 0, "eni-web"});
    }
    const bool thread = round % 2 == 0;
    std::optional<TimeSpec> at;
    if (round % 4 >= 2)
      at = TimeSpec{TimeSpec::Base::FirstFrame, static_cast<std::int64_t>(2000000000LL + rng() % 3000000000LL), "+2s",
                    "--at"};
    const Outcome whole = run(files, std::nullopt, false, decap, thread, at);
    for (std::uint32_t n : {2u, 3u}) {
      std::uint64_t frames = 0, changed = 0;
      std::vector<std::string> flows;
      for (std::uint32_t k = 1; k <= n; ++k) {
        SCOPED_TRACE(std::to_string(k) + "/" + std::to_string(n));
        const Outcome early = run(files, Shard{k, n}, true, decap, thread, at);
        const Outcome late = run(files, Shard{k, n}, false, decap, thread, at);
        EXPECT_EQ(early.stats, late.stats);
        EXPECT_EQ(early.totals, late.totals);
        EXPECT_EQ(early.flows, late.flows);
        EXPECT_EQ(early.originNs, whole.originNs);  // the whole stream's origin in every shard
        frames += std::get<0>(early.totals[0]);
        changed += std::get<1>(early.totals[0]);
        flows.insert(flows.end(), early.flows.begin(), early.flows.end());
        ++checked;
      }
      EXPECT_EQ(frames, std::get<0>(whole.totals[0]));
      EXPECT_EQ(changed, std::get<1>(whole.totals[0]));
      std::vector<std::string> all = whole.flows;
      std::sort(all.begin(), all.end());
      std::sort(flows.begin(), flows.end());
      EXPECT_EQ(flows, all);
    }
    changedByMode[round % 3] += std::get<1>(whole.totals[0]);
  }
  EXPECT_EQ(checked, 12 * 5);
  // In each way of reading, the change changed something: the comparisons mean something.
  for (std::uint64_t changed : changedByMode) EXPECT_GT(changed, 0u);
}

// A UDP frame whose payload is a chain of records that look like pcap records (a capture of someone moving a capture):
// where a part of an index starts inside it, the part's first record is found wrong.
Bytes fakeRecordsFrame(std::mt19937& rng) {
  Bytes payload;
  for (int i = 0; i < 12; ++i) {
    const std::uint32_t len = 1 + rng() % 24;
    test::putLe32(payload, 1714554000 + i);
    test::putLe32(payload, rng() % 1000000);
    test::putLe32(payload, len);
    test::putLe32(payload, len);
    payload.insert(payload.end(), len, static_cast<std::uint8_t>(rng()));
  }
  test::Ipv4 h;
  h.src = 0xcb00710a;
  h.dst = 0x0a000005;
  h.proto = 17;
  return test::ethernet(0x0800, test::ipv4(h, test::udpCarrying(40000, 9999, payload)));
}

// --index DIR --shard K/N (pipeline/split.h, "Indexes"): indexed in M parts, every shard reads the report it reads in
// place, whether the index is used or, where it cannot be (a capture's times going back beside another capture, a
// part's first record found inside a frame, a truncated capture), the shard falls back to reading in place. Seeded
// random captures as above, some with frames that hold fake pcap records, some with times going back, some cut short.
TEST(ShardIndex, GivesEachShardTheReportItReadsInPlaceOrIsNotUsed) {
  test::TempDir dir{"sgsim-shard-index"};
  std::mt19937 rng(20261208);
  int usable = 0, mixed = 0, falseStarts = 0, timesBack = 0, refused = 0, checked = 0;
  for (int round = 0; round < 16; ++round) {
    SCOPED_TRACE(round);
    std::vector<std::string> files;
    const int fileCount = round % 4 == 3 ? 2 : 1;
    for (int f = 0; f < fileCount; ++f) {
      std::vector<Record> records;
      std::int64_t t = 1714554000LL * 1000000000LL + static_cast<std::int64_t>(rng() % 1000);
      const std::size_t n = 200 + rng() % 400;
      for (std::size_t i = 0; i < n; ++i) {
        t += static_cast<std::int64_t>(rng() % 50000000);
        if (round % 8 == 7 && f == 0 && rng() % 20 == 0) t -= 200000000;  // times going back, in the first capture
        Bytes data = round % 2 == 1 && rng() % 3 == 0 ? fakeRecordsFrame(rng) : randomFrame(rng);
        const auto size = static_cast<std::uint32_t>(data.size());
        const std::uint32_t capLen = rng() % 15 == 0 ? static_cast<std::uint32_t>(rng() % size) : size;
        records.push_back({t, std::move(data), capLen});
      }
      files.push_back(dir.file("i" + std::to_string(round) + "_" + std::to_string(f) + ".pcap"));
      writePcap(files.back(), records);
      if ((round % 8 == 5 || round == 11) && f == 0)
        fs::resize_file(files.back(), fs::file_size(files.back()) - 7);  // the last record cut
    }
    const bool thread = round % 2 == 0;
    for (std::uint32_t n : {2u, 3u}) {
      for (std::uint32_t parts : {1u, 3u, 7u}) {
        const std::string index =
            dir.file("idx" + std::to_string(round) + "_" + std::to_string(n) + "_" + std::to_string(parts));
        for (std::uint32_t part = 1; part <= parts; ++part) {
          auto written = indexPart(files, IndexOptions{part, parts, n, index});
          ASSERT_TRUE(written) << written.error().toString();
        }
        for (std::uint32_t k = 1; k <= n; ++k) {
          SCOPED_TRACE(std::to_string(k) + "/" + std::to_string(n) + " in " + std::to_string(parts) + " parts");
          std::string why;
          const Outcome indexed = run(files, Shard{k, n}, true, {}, thread, std::nullopt, index, &why);
          const Outcome inPlace = run(files, Shard{k, n}, true, {}, thread, std::nullopt);
          expectSameOutcome(indexed, inPlace);
          // `why`: "indexed;" or why not, for each capture.
          if (round % 8 == 5 || round == 11) {
            EXPECT_EQ(why.rfind("indexed;", 0), std::string::npos);  // a capture cut short is never indexed
          }
          const bool some = why.find("indexed;") != std::string::npos;
          std::string rest = why;
          for (std::size_t at; (at = rest.find("indexed;")) != std::string::npos;) rest.erase(at, 8);
          if (rest.empty()) ++usable;
          if (some && !rest.empty()) ++mixed;  // one capture read whole, the other through the index
          if (why.find("starts at byte") != std::string::npos) ++falseStarts;
          if (why.find("times go back") != std::string::npos) ++timesBack;
          if (why.find("not one sgsim reads mapped") != std::string::npos) ++refused;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 16 * 3 * 5);
  // Every way the index is used or not was met: the comparisons cover them all.
  EXPECT_GT(usable, checked / 2);
  EXPECT_GT(mixed, 0);
  EXPECT_GT(falseStarts, 0);
  EXPECT_GT(timesBack, 0);
  EXPECT_GT(refused, 0);
}

// How a random pcapng world is shaped: what dumpcap, tshark and editcap write (read through the index), or one thing
// more that the index refuses (read in place).
enum class NgShape {
  Plain,           // SHB, IDBs, EPBs (obsolete PBs), NRB, DSB, ISBs: read through the index
  InterfaceLater,  // an IDB between packets
  SecondSection,   // a second section (maybe of the other byte order) after packets
  Simple,          // Simple Packet Blocks
  Custom,          // a Custom Block (Wireshark numbers it)
  Truncated,       // the last block cut short
  CorruptTrailer,  // a block whose length differs at its end
  NoInterface,     // an EPB naming an interface not described
  kCount
};

// Units of an interface's timestamp for a time in ns: tsresol 6 (us), 9 (ns) or 2^-20 s, after its tsoffset (s).
struct NgInterface {
  std::uint16_t linkType;  // 1 Ethernet, 101 raw IP
  std::uint8_t tsresol;
  std::int64_t offsetS;
  std::uint64_t units(std::int64_t ns) const {
    const std::int64_t rel = ns - offsetS * 1000000000LL;
    if (tsresol == 6) return static_cast<std::uint64_t>(rel / 1000);
    if (tsresol == 9) return static_cast<std::uint64_t>(rel);
    __extension__ typedef unsigned __int128 U128;
    return static_cast<std::uint64_t>((static_cast<U128>(rel) << 20) / 1000000000u);
  }
};

// A frame whose payload holds a chain of well-formed pcapng blocks (a capture of someone moving a pcapng file).
Bytes fakeBlocksFrame(std::mt19937& rng) {
  pcapng::Builder fake;
  if (rng() % 2 == 0) fake.raw({0, 0});  // at a 4-byte boundary of the file in an Ethernet frame, else in a raw one
  for (int i = 0; i < 10; ++i) fake.block(0x80000001u, Bytes(rng() % 24, static_cast<std::uint8_t>(rng())));
  test::Ipv4 h;
  h.src = 0xcb00710a;
  h.dst = 0x0a000005;
  h.proto = 17;
  return test::ethernet(0x0800, test::ipv4(h, test::udpCarrying(40000, 9999, fake.bytes())));
}

// A random pcapng capture of `shape`.
void writeNg(const std::string& path, NgShape shape, std::mt19937& rng) {
  pcapng::Builder b;
  auto pick = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  b.section(pick(2) == 0);
  if (pick(2) == 0) b.decryptionSecrets(0x544c534b, "CLIENT_RANDOM 00 11");
  std::vector<NgInterface> ifs;
  auto addInterface = [&] {
    const std::uint8_t resolutions[] = {6, 9, 0x80 | 20};
    NgInterface i{pick(3) == 0 ? std::uint16_t{101} : std::uint16_t{1}, resolutions[pick(3)],
                  pick(4) == 0 ? std::int64_t{1714000000} : 0};
    std::vector<pcapng::Option> options{pcapng::Builder::text(2, "eth" + std::to_string(ifs.size()))};
    if (i.tsresol != 6 || pick(2) == 0) options.push_back(pcapng::Builder::tsresol(i.tsresol));
    if (i.offsetS != 0) options.push_back(b.tsoffset(i.offsetS));
    b.interface(i.linkType, 65535, options);
    ifs.push_back(i);
  };
  for (std::uint32_t n = 1 + pick(3); n > 0; --n) addInterface();
  if (pick(3) == 0) b.nameResolution({10, 0, 0, 5}, "web");
  std::int64_t t = 1714554000LL * 1000000000LL + pick(1000) * 1000;
  const std::size_t n = 150 + pick(350), odd = 20 + pick(static_cast<std::uint32_t>(n - 40));
  std::size_t unused = 0;  // the last interfaces, which no packet names
  for (std::size_t k = 0; k < n; ++k) {
    t += 1000 * static_cast<std::int64_t>(pick(50000));
    if (k == odd) {
      switch (shape) {
        case NgShape::InterfaceLater:
          addInterface();
          if (pick(2) == 0) unused = 1;  // an interface no packet names (its block alone must refuse the index)
          break;
        case NgShape::SecondSection:
          b.section(pick(2) == 0);
          ifs.clear();
          addInterface();
          break;
        case NgShape::Simple:
          b.simple(randomFrame(rng), 0);
          break;
        case NgShape::Custom:
          b.custom(32473, {1, 2, 3});
          break;
        case NgShape::NoInterface:
          b.enhanced(static_cast<std::uint32_t>(ifs.size()), 0, randomFrame(rng), 60);
          break;
        default:
          break;
      }
    }
    const std::uint32_t i = pick(static_cast<std::uint32_t>(ifs.size() - unused));
    Bytes data = pick(9) == 0 ? fakeBlocksFrame(rng) : randomFrame(rng);
    if (ifs[i].linkType == 101) data.erase(data.begin(), data.begin() + 14);  // raw IP: no Ethernet header
    const auto wire = static_cast<std::uint32_t>(data.size());
    if (pick(15) == 0) data.resize(pick(wire));  // cut short by the snapshot length
    if (shape == NgShape::Simple && k == odd + 1) {
      b.simple(data, wire);
      continue;
    }
    if (pick(10) == 0)
      b.obsolete(static_cast<std::uint16_t>(i), ifs[i].units(t), data, wire);
    else
      b.enhanced(i, ifs[i].units(t), data, wire);
    if (shape == NgShape::CorruptTrailer && k == odd) b.patch32(b.bytes().size() - 4, 8);
    if (pick(40) == 0) b.statistics(i, ifs[i].units(t), k, 0);
  }
  for (std::uint32_t i = 0; i < ifs.size() - unused; ++i)
    if (pick(2) == 0) b.statistics(i, ifs[i].units(t), n, 0);
  Bytes bytes = b.bytes();
  if (shape == NgShape::Truncated) bytes.resize(bytes.size() - 1 - pick(40));
  test::writeFile(path, bytes);
}

// pcapng worlds (pipeline/split.h, "Indexes"; CaptureReader::mapPcapng): random pcapng captures, some beside a
// classic pcap, indexed in 1-5 parts for 1-4 shards; every shard's report through the index is its report in place.
// The plain shapes (what dumpcap, tshark and editcap write: either byte order, several interfaces and link types,
// tsresol and tsoffset, obsolete Packet Blocks, NRB, DSB, ISBs, frames holding fake blocks) are read through the
// index; each odd shape (an interface or a section declared after packets, Simple Packet Blocks, a Custom Block, a
// truncated or corrupt block, a packet of no interface) is read in place, with its reason.
TEST(ShardIndex, PcapngWorldsGiveEachShardItsInPlaceReport) {
  test::TempDir dir{"sgsim-shard-index-ng"};
  std::mt19937 rng(20261209);
  int checked = 0, ngIndexed = 0, ngPlain = 0, ngRefused = 0, pcapIndexed = 0, skippedShown = 0, falseStarts = 0;
  std::array<int, static_cast<int>(NgShape::kCount)> refusedByShape{};
  for (int round = 0; round < 48; ++round) {
    SCOPED_TRACE(round);
    std::vector<std::string> files;
    std::vector<int> shapes;  // by file: its NgShape, -1 for a classic pcap
    const int fileCount = round % 3 == 2 ? 2 : 1;
    for (int f = 0; f < fileCount; ++f) {
      if (f == 1 && round % 2 == 0) {  // a classic pcap beside the pcapng
        std::vector<Record> records;
        std::int64_t t = 1714554000LL * 1000000000LL + static_cast<std::int64_t>(rng() % 1000);
        for (std::size_t i = 0, n = 100 + rng() % 200; i < n; ++i) {
          t += static_cast<std::int64_t>(rng() % 50000000);
          Bytes data = randomFrame(rng);
          const auto size = static_cast<std::uint32_t>(data.size());
          records.push_back({t, std::move(data), size});
        }
        files.push_back(dir.file("w" + std::to_string(round) + "_" + std::to_string(f) + ".pcap"));
        writePcap(files.back(), records);
        shapes.push_back(-1);
        continue;
      }
      // Half the worlds plain, the others each odd shape in turn.
      const auto shape = round % 2 == 0
                             ? NgShape::Plain
                             : static_cast<NgShape>(1 + (round / 2) % (static_cast<int>(NgShape::kCount) - 1));
      files.push_back(dir.file("w" + std::to_string(round) + "_" + std::to_string(f) + ".pcapng"));
      writeNg(files.back(), shape, rng);
      shapes.push_back(static_cast<int>(shape));
    }
    const bool thread = round % 2 == 0;
    for (int combo = 0; combo < 2; ++combo) {
      const std::uint32_t n = 1 + rng() % 4, parts = 1 + rng() % 5;
      const std::string index = dir.file("idx" + std::to_string(round) + "_" + std::to_string(combo));
      for (std::uint32_t part = 1; part <= parts; ++part) {
        auto written = indexPart(files, IndexOptions{part, parts, n, index});
        ASSERT_TRUE(written) << written.error().toString();
      }
      for (std::uint32_t k = 1; k <= n; ++k) {
        SCOPED_TRACE(std::to_string(k) + "/" + std::to_string(n) + " in " + std::to_string(parts) + " parts");
        std::string why;
        const Outcome indexed = run(files, Shard{k, n}, true, {}, thread, std::nullopt, index, &why);
        const Outcome inPlace = run(files, Shard{k, n}, true, {}, thread, std::nullopt);
        expectSameOutcome(indexed, inPlace);
        ++checked;
        // `why`: "indexed;" or the reason, for each capture in turn.
        std::size_t from = 0;
        for (std::size_t f = 0; f < files.size(); ++f) {
          const std::size_t end = why.find(';', from);
          const std::string one = why.substr(from, end - from);
          from = end + 1;
          if (shapes[f] < 0) {
            pcapIndexed += one == "indexed";
            continue;
          }
          if (shapes[f] == static_cast<int>(NgShape::Plain)) {
            ++ngPlain;
            // A plain pcapng is refused only where a part's start was found inside a frame holding fake blocks:
            // the part then fails the check of where the part before ended, or meets bytes no block has.
            falseStarts += one != "indexed";
          } else {
            EXPECT_NE(one, "indexed") << "shape " << shapes[f];
          }
          if (one == "indexed") {
            ++ngIndexed;
            if (k == 1 && indexed.stats.find("Statistics Block") != std::string::npos) ++skippedShown;
          } else {
            ++ngRefused;
            ++refusedByShape[static_cast<std::size_t>(shapes[f])];
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 150);
  // The comparisons are not passed by refusing: most plain pcapng captures were read through the index, the classic
  // pcap ones beside them too, and shard 1's skipped blocks came from the index parts.
  EXPECT_GT(ngIndexed, ngPlain * 3 / 4);
  EXPECT_GT(pcapIndexed, 0);
  EXPECT_GT(skippedShown, 0);
  EXPECT_GT(ngRefused, 0);
  // Every odd shape was met and refused.
  for (int shape = 1; shape < static_cast<int>(NgShape::kCount); ++shape) EXPECT_GT(refusedByShape[shape], 0) << shape;
  std::printf(
      "[pcapng worlds] %d shard runs; pcapng read through the index %d times (%d plain), in place %d; "
      "classic pcap through the index %d; false starts %d\n",
      checked, ngIndexed, ngPlain, ngRefused, pcapIndexed, falseStarts);
}

// A pcapng of one packet indexed in more parts than it has bytes after its first packet: the parts after the first
// start at or before that packet, and the blocks before it (here a Name Resolution and a Decryption Secrets Block)
// are still counted once, by part 1, as the reading in place counts them.
TEST(ShardIndex, ATinyPcapngInManyPartsCountsTheBlocksBeforeItsFirstPacketOnce) {
  test::TempDir dir{"sgsim-shard-index-tiny"};
  pcapng::Builder b;
  b.section(false);
  b.nameResolution({10, 0, 0, 5}, "web");
  b.decryptionSecrets(0x544c534b, "CLIENT_RANDOM 00 11");
  b.interface(1, 65535);
  const Bytes frame = test::ethernet(0x0806, Bytes(2, 0x01));  // ARP, cut: 16 bytes
  b.enhanced(0, 1714554000000000ull, frame, static_cast<std::uint32_t>(frame.size()));
  const std::vector<std::string> files{dir.file("tiny.pcapng")};
  test::writeFile(files[0], b.bytes());
  const std::string index = dir.file("idx");
  for (std::uint32_t part = 1; part <= 60; ++part) ASSERT_TRUE(indexPart(files, IndexOptions{part, 60, 2, index}));
  std::string why;
  const Outcome indexed = run(files, Shard{1, 2}, true, {}, false, std::nullopt, index, &why);
  const Outcome inPlace = run(files, Shard{1, 2}, true, {}, false, std::nullopt);
  EXPECT_EQ(why, "indexed;");
  EXPECT_EQ(indexed.stats, inPlace.stats);
  EXPECT_NE(inPlace.stats.find("\"Name Resolution Block\": 1"), std::string::npos) << inPlace.stats;
}

// A pcapng index whose entry points at a block that is not a packet (an index damaged, or a capture rewritten with the
// same size and time): the shard's reading ends there on an error naming the frame and the byte, never reading the
// block as a frame.
TEST(ShardIndex, APcapngEntryThatIsNotAPacketBlockEndsTheReadingOnAnError) {
  test::TempDir dir{"sgsim-shard-index-ngbad"};
  pcapng::Builder b;
  b.section(true);
  b.interface(1, 65535);
  std::mt19937 rng(3);
  for (int i = 0; i < 3; ++i) b.enhanced(0, 1714554000000000ull + i, randomFrame(rng), 60);
  const std::size_t nrb = b.nameResolution({10, 0, 0, 5}, "web");
  for (int i = 3; i < 6; ++i) b.enhanced(0, 1714554000000000ull + i, randomFrame(rng), 60);
  const std::vector<std::string> files{dir.file("c.pcapng")};
  test::writeFile(files[0], b.bytes());
  const std::string index = dir.file("idx");
  ASSERT_TRUE(indexPart(files, IndexOptions{1, 1, 1, index}));
  // The fourth entry (frame 4, after the Name Resolution Block) made to point at that block.
  const std::string idx = index + "/part-1.shard-1.idx";
  std::fstream f(idx, std::ios::in | std::ios::out | std::ios::binary);
  CaptureReader::IndexedRecord r;
  f.seekg(3 * sizeof r);
  f.read(reinterpret_cast<char*>(&r), sizeof r);
  ASSERT_EQ(r.number, 4u);
  r.offset = nrb;
  f.seekp(3 * sizeof r);
  f.write(reinterpret_cast<const char*>(&r), sizeof r);
  f.close();
  auto s = readShardIndex(index, Shard{1, 1});
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->used());
  auto c = MergedCapture::openIndexed(files, std::move(s->records));
  ASSERT_TRUE(c);
  Frame frame;
  std::vector<std::uint64_t> numbers;
  while ((*c)->next(frame)) numbers.push_back(frame.number);
  EXPECT_EQ(numbers, (std::vector<std::uint64_t>{1, 2, 3}));
  ASSERT_EQ((*c)->errors().size(), 1u);
  EXPECT_EQ((*c)->errors()[0].where, files[0] + ": frame 4");
  EXPECT_NE((*c)->errors()[0].message.find("at byte " + std::to_string(nrb) + ", but there is none there"),
            std::string::npos)
      << (*c)->errors()[0].message;
}

// The public captures of the shared corpus (the tcpdump project's: many link types, many deliberately truncated or
// corrupt) indexed in three parts for two shards: each shard's report through the index is its report in place, or
// the index is not used and says why. Captures sgsim cannot open, or without a frame, are left out (the corpus test
// covers them).
TEST(ShardIndex, PublicCapturesReadThroughAnIndexAsInPlace) {
  SGSIM_NEED_CORPUS("tcpdump");
  test::TempDir dir{"sgsim-shard-index-corpus"};
  int files = 0, usable = 0, pcapngFiles = 0, pcapngUsable = 0;
  std::map<std::string, int> pcapngReasons;  // why a pcapng capture is read in place: how many runs
  for (const auto& entry : fs::directory_iterator(test::corpusPath("tcpdump"))) {
    const std::vector<std::string> capture{entry.path().string()};
    auto opened = openCaptures(capture);
    Frame first;
    if (!opened || !(*opened)->next(first)) continue;  // run() expects a first frame (the time origin)
    const bool pcapng = (*opened)->readers()[0]->isPcapng();
    pcapngFiles += pcapng;
    SCOPED_TRACE(capture.front());
    ++files;
    const std::string index = dir.file("idx" + std::to_string(files));
    for (std::uint32_t part = 1; part <= 3; ++part) {
      auto written = indexPart(capture, IndexOptions{part, 3, 2, index});
      ASSERT_TRUE(written) << written.error().toString();
    }
    for (std::uint32_t k = 1; k <= 2; ++k) {
      std::string why;
      const Outcome indexed = run(capture, Shard{k, 2}, true, {}, false, std::nullopt, index, &why);
      const Outcome inPlace = run(capture, Shard{k, 2}, true, {}, false, std::nullopt);
      expectSameOutcome(indexed, inPlace);
      if (why == "indexed;") ++usable;
      if (pcapng && why == "indexed;") ++pcapngUsable;
      if (pcapng && why != "indexed;") ++pcapngReasons[why.substr(0, why.find(" at byte"))];
    }
  }
  std::printf("[corpus] %d captures, %d runs through the index; %d pcapng captures, %d runs through the index\n", files,
              usable, pcapngFiles, pcapngUsable);
  for (const auto& [why, n] : pcapngReasons) std::printf("  pcapng in place %d: %s\n", n, why.c_str());
  EXPECT_GT(files, 500);
  EXPECT_GT(usable, files / 2);  // most captures are plain pcap, read through their index (986 of 1,656 runs here)
  // Every pcapng capture of the corpus that has a frame (44, dumpcap's, tshark's, editcap's, tcpdump's) is written as
  // an index reads it: each of its 88 runs read through the index, with the report it has in place.
  EXPECT_GE(pcapngFiles, 40);
  EXPECT_EQ(pcapngUsable, 2 * pcapngFiles);
}

}  // namespace
}  // namespace sgsim
