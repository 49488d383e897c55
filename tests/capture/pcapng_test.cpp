// The pcapng reader (capture/pcapng_reader.h) on files written block by block (tools/pcapng_build.h): every
// block kind, sections of both byte orders, interfaces with their own link types, snap lengths and timestamp
// units; every way a file can be broken, each with its message; files cut at every byte; random files against
// what their generator wrote; pipes; and the frames' link types through the merge, the read-ahead and the pcap
// writer. libpcap and tshark are the references where they read the file (corpus_test.cpp, and the Wireshark
// checks at the end).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../../tools/pcapng_build.h"
#include "../decode/frame_builder.h"
#include "../shared_corpus.h"
#include "../temp_files.h"
#include "sgsim/capture/capture_reader.h"
#include "sgsim/capture/pcapng_reader.h"
#include "sgsim/capture/read_ahead.h"
#include "sgsim/decode/decoder.h"
#include "sgsim/report/pcap_writer.h"

namespace sgsim {
namespace {

namespace fs = std::filesystem;
using pcapng::Builder;
using Bytes = std::vector<std::uint8_t>;

__extension__ typedef unsigned __int128 Uint128;      // the expected times, worked out exactly
constexpr std::uint64_t kT0Us = 1714554000000000ull;  // 2024-05-01T09:00:00Z in microseconds
constexpr std::int64_t kT0Ns = 1714554000LL * 1000000000LL;

// Everything one reading of a file gives.
struct Read {
  std::optional<Error> openError;
  std::vector<Frame> frames;
  std::vector<Bytes> data;
  std::optional<Error> error;
  std::vector<Error> warnings;
  std::map<std::string, std::uint64_t> skipped;
  int linkType = -2;
};

Read readPath(const std::string& path) {
  Read r;
  auto reader = CaptureReader::open(path, 7);
  if (!reader) {
    r.openError = reader.error();
    return r;
  }
  r.linkType = (*reader)->linkType();
  Frame f;
  while ((*reader)->next(f)) {
    r.frames.push_back(f);
    r.data.emplace_back(f.data, f.data + f.capLen);
  }
  EXPECT_FALSE((*reader)->next(f)) << "a reader that ended stays ended";
  r.error = (*reader)->error();
  r.warnings = (*reader)->warnings();
  r.skipped = (*reader)->skippedBlocks();
  return r;
}

Read readBytes(const Bytes& file, const std::string& name = "test.pcapng") {
  test::TempDir dir{"sgsim-pcapng"};
  test::writeFile(dir.file(name), file);
  Read r = readPath(dir.file(name));
  // Names are checked by the tests without the temporary folder.
  auto strip = [&](std::string& s) {
    const std::string prefix = dir.file("");
    if (s.rfind(prefix, 0) == 0) s.erase(0, prefix.size());
  };
  if (r.openError) strip(r.openError->where);
  if (r.error) strip(r.error->where);
  for (auto& w : r.warnings) strip(w.where);
  return r;
}

Bytes ethernetFrame(std::uint16_t sport) {
  return test::ethernet(0x0800, test::ipv4({}, test::tcpHeader(sport, 80, 0x02)));
}
Bytes sllFrame(std::uint16_t sport) { return test::sll(0x0800, test::ipv4({}, test::udpHeader(sport, 53))); }
Bytes rawFrame(std::uint16_t sport) { return test::ipv4({}, test::udpHeader(sport, 123)); }
Bytes cut(const Bytes& b, std::size_t n) { return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)); }

// ---- link types ----

// Frames carry DLT_ values, as libpcap's pcap_datalink() gives them: the mapping is compared with the linked
// libpcap's own for every 16-bit LINKTYPE_ value (a classic pcap header of each, read by libpcap).
TEST(PcapngLinkTypes, MappedToDltAsLibpcapDoesForEvery16BitValue) {
  int compared = 0;
  for (std::uint32_t lt = 0; lt <= 0xffff; ++lt) {
    std::uint8_t header[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
    header[20] = static_cast<std::uint8_t>(lt);
    header[21] = static_cast<std::uint8_t>(lt >> 8);
    std::FILE* f = fmemopen(header, sizeof header, "rb");
    ASSERT_NE(f, nullptr);
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_fopen_offline(f, errbuf);
    if (p == nullptr) {
      std::fclose(f);
      continue;
    }
    EXPECT_EQ(dltFromLinkType(static_cast<int>(lt)), pcap_datalink(p)) << "LINKTYPE " << lt;
    pcap_close(p);
    ++compared;
  }
  EXPECT_EQ(compared, 65536);
  EXPECT_EQ(dltFromLinkType(101), 12);  // LINKTYPE_RAW → DLT_RAW, which the decoder reads as raw IP
}

// ---- what a good file gives ----

// One file with every block kind: a little-endian section with Ethernet (µs) and Linux cooked (ns, snap length
// 40) interfaces, a big-endian section with a raw-IP interface in 2^-20 s units and an offset; packets in
// Enhanced, obsolete and Simple Packet Blocks; and blocks that are skipped.
struct EveryBlock {
  Bytes file;
  std::vector<Bytes> sent;  // what each frame must hold
  std::size_t customAt = 0;
};

EveryBlock everyBlock() {
  EveryBlock e;
  Builder b;
  b.section(false, {Builder::text(4, "sgsim test")});
  b.interface(1, 0, {Builder::text(2, "eth0")});
  e.customAt = b.custom(32473, {1, 2, 3, 4, 5});
  b.interface(113, 40, {Builder::tsresol(9), Builder::text(2, "any")});
  b.nameResolution({10, 0, 0, 1}, "web");
  e.sent.push_back(ethernetFrame(1));
  b.enhanced(0, kT0Us + 1, e.sent.back(), static_cast<std::uint32_t>(e.sent.back().size()));
  const Bytes cooked = sllFrame(2);  // 44 bytes on the wire, 40 captured
  e.sent.push_back(cut(cooked, 40));
  b.enhanced(1, static_cast<std::uint64_t>(kT0Ns) + 2500, e.sent.back(), static_cast<std::uint32_t>(cooked.size()));
  b.statistics(0, kT0Us + 3, 2, 0);
  e.sent.push_back(ethernetFrame(3));
  b.obsolete(0, kT0Us + 3, e.sent.back(), static_cast<std::uint32_t>(e.sent.back().size()));
  b.decryptionSecrets(0x544c534b, "CLIENT_RANDOM 00 11\n");
  b.section(true);
  b.interface(101, 0, {Builder::tsresol(0x80 | 20), b.tsoffset(1714554000)});
  e.sent.push_back(rawFrame(4));
  b.enhanced(0, (std::uint64_t{5} << 20) + 12345, e.sent.back(), static_cast<std::uint32_t>(e.sent.back().size()));
  e.sent.push_back(rawFrame(5));
  b.simple(e.sent.back(), static_cast<std::uint32_t>(e.sent.back().size()));
  b.block(0x80000001, {9, 9, 9, 9});
  b.block(0x123, {});
  b.custom(32473, {}, false);
  e.file = b.bytes();
  return e;
}

TEST(PcapngReader, ReadsEveryBlockKindAcrossSectionsAndByteOrders) {
  const EveryBlock e = everyBlock();
  const Read r = readBytes(e.file);
  ASSERT_FALSE(r.openError) << r.openError->toString();
  EXPECT_FALSE(r.error) << r.error->toString();
  EXPECT_EQ(r.linkType, 1);
  ASSERT_EQ(r.frames.size(), 5u);
  ASSERT_EQ(r.data, e.sent);
  const std::int64_t expectedNs[] = {kT0Ns + 1000, kT0Ns + 2500, kT0Ns + 3000, kT0Ns + 5000000000 + 11773109,
                                     kT0Ns + 5000000000 + 11773109};
  const int expectedLink[] = {1, 113, 1, 12, 12};
  const std::uint32_t expectedWire[] = {
      static_cast<std::uint32_t>(e.sent[0].size()), 44, static_cast<std::uint32_t>(e.sent[2].size()),
      static_cast<std::uint32_t>(e.sent[3].size()), static_cast<std::uint32_t>(e.sent[4].size())};
  for (std::size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(r.frames[i].number, i + 1);
    EXPECT_EQ(r.frames[i].fileIndex, 7);
    EXPECT_EQ(r.frames[i].tsNs, expectedNs[i]);
    EXPECT_EQ(r.frames[i].linkType, expectedLink[i]);
    EXPECT_EQ(r.frames[i].capLen, e.sent[i].size());
    EXPECT_EQ(r.frames[i].wireLen, expectedWire[i]);
    // Each frame decodes with its own interface's link type.
    EXPECT_NE(decodeFrame(r.frames[i].linkType, r.data[i].data(), r.frames[i].capLen).status,
              DecodeStatus::Undecodable);
  }
  const std::map<std::string, std::uint64_t> skipped = {{"Custom Block", 2},
                                                        {"Decryption Secrets Block", 1},
                                                        {"Interface Statistics Block", 1},
                                                        {"Name Resolution Block", 1},
                                                        {"block of type 0x00000123 (unknown)", 1},
                                                        {"block of type 0x80000001 (local use)", 1}};
  EXPECT_EQ(r.skipped, skipped);
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0].toString(),
            "test.pcapng: frame 5: 1 frame comes from a Simple Packet Block, which carries no timestamp: each was "
            "given the time of the last timestamped frame before it in the file");
  EXPECT_EQ(r.warnings[1].toString(),
            "test.pcapng: frame 1: frame numbers are tcpdump's (packet blocks only): Wireshark also numbers the "
            "file's 2 Custom, systemd Journal Export or Sysdig Event Blocks as frames, so from this frame on its "
            "numbers are higher than sgsim's");
}

TEST(PcapngReader, SimplePacketBlocksTakeTheSnapLengthAndThePreviousTime) {
  Builder b;
  b.section(false);
  b.interface(1, 50, {Builder::tsresol(3)});
  const Bytes frame = ethernetFrame(9);  // 54 bytes
  b.simple(cut(frame, 50), 54);          // before any timestamp: time 0, cut to the snap length
  b.enhanced(0, 1714554000123, cut(frame, 50), 54);
  b.simple(cut(frame, 50), 54);
  b.simple(cut(frame, 30), 30);  // shorter than the snap length: all of it
  const Read r = readBytes(b.bytes());
  ASSERT_FALSE(r.error) << r.error->toString();
  ASSERT_EQ(r.frames.size(), 4u);
  EXPECT_EQ(r.frames[0].tsNs, 0);
  EXPECT_EQ(r.frames[1].tsNs, 1714554000123000000);
  EXPECT_EQ(r.frames[2].tsNs, 1714554000123000000);
  EXPECT_EQ(r.frames[3].tsNs, 1714554000123000000);
  EXPECT_EQ(r.frames[0].capLen, 50u);
  EXPECT_EQ(r.frames[0].wireLen, 54u);
  EXPECT_EQ(r.frames[3].capLen, 30u);
  EXPECT_EQ(r.data[3], cut(frame, 30));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].message,
            "3 frames come from Simple Packet Blocks, which carry no timestamp: each was given the time of the last "
            "timestamped frame before it in the file (1 came before any and were given time 0, "
            "1970-01-01T00:00:00Z)");
}

// Timestamp units and offsets: the expected values are worked out by hand.
TEST(PcapngReader, TimestampResolutionsAndOffsets) {
  struct Case {
    std::uint8_t tsresol;
    std::int64_t offset;
    std::uint64_t units;
    std::int64_t ns;
  };
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const Case cases[] = {
      {0, 0, 1714554000, kT0Ns},                                          // seconds
      {3, 0, 1714554000123, kT0Ns + 123000000},                           // milliseconds
      {6, 0, 1714554000123456, kT0Ns + 123456000},                        // microseconds (the default)
      {9, 0, 1714554000123456789, kT0Ns + 123456789},                     // nanoseconds
      {12, 1714554000, 123456789123, kT0Ns + 123456789},                  // picoseconds: whole seconds in the offset
      {19, 1714554000, 1234567891234567891, kT0Ns + 123456789},           // 10^-19
      {30, 1714554000, 0xffffffffffffffff, kT0Ns},                        // finer than anything: below 1 ns
      {0x80, 0, 1714554000, kT0Ns},                                       // 2^0: seconds
      {0x80 | 20, 1714554000, (5ull << 20) + 12345, kT0Ns + 5011773109},  // 2^-20, 12345/2^20 s = 11773109.03 ns
      {0x80 | 32, 0, (1714554000ull << 32) | 0x80000000u, kT0Ns + 500000000},  // 2^-32 (NTP-like)
      {0x80 | 63, 0, 0x8000000000000000ull, 1000000000},                       // 2^63 units of 2^-63 s = 1 s
      {0x80 | 100, 0, 0xffffffffffffffff, 0},                                  // 2^64 units of 2^-100 s < 1 ns
      {6, -3600, 1714557600000000, kT0Ns},                                     // a negative offset
      {6, 0, 0xffffffffffffffff, max},                                         // beyond 2262: saturated
      {9, max, 1, max},                                                        // offset beyond: saturated
      {9, std::numeric_limits<std::int64_t>::min(), 0, std::numeric_limits<std::int64_t>::min()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "tsresol " << int{c.tsresol} << ", offset " << c.offset << ", units "
                                    << c.units);
    for (bool big : {false, true}) {
      Builder b;
      b.section(big);
      b.interface(1, 0, {Builder::tsresol(c.tsresol), b.tsoffset(c.offset)});
      b.enhanced(0, c.units, ethernetFrame(1), 54);
      const Read r = readBytes(b.bytes());
      ASSERT_FALSE(r.error) << r.error->toString();
      ASSERT_EQ(r.frames.size(), 1u);
      EXPECT_EQ(r.frames[0].tsNs, c.ns);
    }
  }
}

TEST(PcapngReader, InterfacesAreNumberedPerSectionAndSkippedBlocksOfAnySizeStreamPast) {
  Builder b;
  b.section(false);
  b.interface(1, 0);
  b.interface(113, 0);
  b.enhanced(1, kT0Us, sllFrame(1), 44);
  b.custom(32473, Bytes(3 << 20, 0xab));  // a 3 MiB block: more than the reader's buffer
  b.section(false);
  b.interface(101, 0);
  b.enhanced(0, kT0Us + 1, rawFrame(2), 28);  // interface 0 of the second section is raw IP
  const Read r = readBytes(b.bytes());
  ASSERT_FALSE(r.error) << r.error->toString();
  ASSERT_EQ(r.frames.size(), 2u);
  EXPECT_EQ(r.frames[0].linkType, 113);
  EXPECT_EQ(r.frames[1].linkType, 12);
  EXPECT_EQ(r.data[1], rawFrame(2));
  EXPECT_EQ(r.skipped.at("Custom Block"), 1u);
}

TEST(PcapngReader, PacketBlocksUpToTheLimitAreRead) {
  Builder b;
  b.section(false);
  b.interface(1, 0);
  const Bytes jumbo(PcapngReader::kMaxBlockBytes - 32, 0x5a);  // the block is exactly at the limit
  b.enhanced(0, kT0Us, jumbo, static_cast<std::uint32_t>(jumbo.size()));
  b.enhanced(0, kT0Us, ethernetFrame(1), 54);
  const Read r = readBytes(b.bytes());
  ASSERT_FALSE(r.error) << r.error->toString();
  ASSERT_EQ(r.frames.size(), 2u);
  EXPECT_EQ(r.frames[0].capLen, jumbo.size());
  EXPECT_EQ(r.data[0], jumbo);
  EXPECT_EQ(r.data[1], ethernetFrame(1));
}

TEST(PcapngReader, AFileWithoutInterfacesOrPacketsIsEmptyNotAnError) {
  Builder b;
  b.section(false);
  b.nameResolution({10, 0, 0, 1}, "web");
  const Read r = readBytes(b.bytes());
  ASSERT_FALSE(r.openError);
  EXPECT_FALSE(r.error);
  EXPECT_TRUE(r.frames.empty());
  EXPECT_EQ(r.linkType, -1);
}

// ---- broken files: what each error says ----

struct Broken {
  const char* what;
  Bytes file;
  std::size_t framesBefore;
  std::string where;    // "" for a failed open
  std::string message;  // exact
};

std::vector<Broken> brokenFiles() {
  std::vector<Broken> cases;
  const Bytes frame = ethernetFrame(1);  // 54 bytes: an EPB of 32 + 56 = 88
  auto start = [&](Builder& b) {
    b.section(false);                 // 28 bytes
    b.interface(1, 0);                // 20 bytes: the first packet block is at 48
    b.enhanced(0, kT0Us, frame, 54);  // 48..136
  };
  {
    Builder b;
    start(b);
    b.enhanced(0, kT0Us, frame, 54);
    Bytes f = b.bytes();
    f.resize(f.size() - 30);
    cases.push_back({"cut inside a packet block", f, 1, "test.pcapng: frame 2",
                     "truncated pcapng file: the Enhanced Packet Block at byte offset 136 is 88 bytes long, but the "
                     "file ends 58 bytes into it (the capture was cut short; the frames before it were read)"});
  }
  {
    Builder b;
    start(b);
    b.raw({6, 0, 0});
    cases.push_back({"cut inside a block header", b.bytes(), 1, "test.pcapng: frame 2",
                     "truncated pcapng file: the file ends 3 bytes into the block header at byte offset 136 (the "
                     "capture was cut short; the frames before it were read)"});
  }
  {
    Builder b;
    start(b);
    const std::size_t at = b.custom(32473, Bytes(100, 1));
    Bytes f = b.bytes();
    f.resize(at + 50);
    cases.push_back({"cut inside a skipped block", f, 1, "test.pcapng: frame 2",
                     "truncated pcapng file: the Custom Block at byte offset 136 is 116 bytes long, but the file ends "
                     "50 bytes into it (the capture was cut short; the frames before it were read)"});
  }
  {
    Builder b;
    start(b);
    const std::size_t at = b.enhanced(0, kT0Us, frame, 54);
    b.patch32(at + 4, 85);
    cases.push_back({"length not a multiple of 4", b.bytes(), 1, "test.pcapng: frame 2",
                     "bad pcapng block length: the block at byte offset 136 (Enhanced Packet Block) gives its length "
                     "as 85, which is not a multiple of 4 (the file is corrupt from here on)"});
  }
  {
    Builder b;
    start(b);
    const std::size_t at = b.block(0x123, {});
    b.patch32(at + 4, 8);
    cases.push_back({"length below 12", b.bytes(), 1, "test.pcapng: frame 2",
                     "bad pcapng block length: the block at byte offset 136 (block of type 0x00000123 (unknown)) gives "
                     "its length as 8, less than the 12 bytes of an empty block (the file is corrupt from here on)"});
  }
  {
    Builder b;
    start(b);
    const std::size_t at = b.enhanced(0, kT0Us, frame, 54);
    b.patch32(at + 84, 92);
    cases.push_back({"trailer differs", b.bytes(), 1, "test.pcapng: frame 2",
                     "bad pcapng block length: the Enhanced Packet Block at byte offset 136 gives its length as 88 at "
                     "its start and 92 at its end (the file is corrupt from here on)"});
  }
  {
    Builder b;
    start(b);
    b.enhanced(3, kT0Us, frame, 54);
    cases.push_back({"interface out of range", b.bytes(), 1, "test.pcapng: frame 2",
                     "the Enhanced Packet Block at byte offset 136 names interface 3, but its section (the Section "
                     "Header Block at byte offset 0) describes only interface 0 before it"});
  }
  {
    Builder b;
    start(b);
    b.section(true);
    b.obsolete(0, kT0Us, frame, 54);
    cases.push_back({"interfaces of an earlier section", b.bytes(), 1, "test.pcapng: frame 2",
                     "the Packet Block at byte offset 164 names interface 0, but its section (the Section Header Block "
                     "at byte offset 136) describes no interface before it"});
  }
  {
    Builder b;
    b.section(false);
    b.simple(frame, 54);
    cases.push_back({"simple packet before any interface", b.bytes(), 0, "test.pcapng: frame 1",
                     "the Simple Packet Block at byte offset 28 belongs to interface 0 (as every Simple Packet Block), "
                     "but its section (the Section Header Block at byte offset 0) describes no interface before it"});
  }
  {
    Builder b;
    start(b);
    const std::size_t at = b.section(false);
    b.patch32(at + 8, 0x1a2b3c4e);
    cases.push_back({"byte-order magic", b.bytes(), 1, "test.pcapng: frame 2",
                     "the Section Header Block at byte offset 136 has the byte-order magic 4E 3C 2B 1A, neither 1A 2B "
                     "3C 4D (a big-endian section) nor 4D 3C 2B 1A (a little-endian one): not a pcapng section sgsim "
                     "can read"});
  }
  {
    Builder b;
    start(b);
    b.section(true, {}, 1, 1);
    b.interface(1, 0);
    b.enhanced(0, kT0Us, frame, 54);
    cases.push_back({"version 1.1 section", b.bytes(), 1, "test.pcapng: frame 2",
                     "the Section Header Block at byte offset 136 starts a section of pcapng version 1.1; sgsim reads "
                     "version 1.0 (and 1.2, which is read as 1.0): this section and the rest of the file were not "
                     "read"});
  }
  {
    Builder b;
    b.section(false, {}, 2, 0);
    cases.push_back({"version 2.0 file", b.bytes(), 0, "",
                     "the Section Header Block at byte offset 0 starts a section of pcapng version 2.0; sgsim reads "
                     "version 1.0 (and 1.2, which is read as 1.0): this section and the rest of the file were not "
                     "read"});
  }
  {
    Builder b;
    const std::size_t at = b.section(false);
    b.patch32(at + 8, 0);
    cases.push_back({"first section's byte order", b.bytes(), 0, "",
                     "the Section Header Block at byte offset 0 has the byte-order magic 00 00 00 00, neither 1A 2B 3C "
                     "4D (a big-endian section) nor 4D 3C 2B 1A (a little-endian one): not a pcapng section sgsim can "
                     "read"});
  }
  {
    Builder b;
    b.raw({0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0});
    cases.push_back({"cut inside the first section header", b.bytes(), 0, "",
                     "truncated pcapng file: the Section Header Block at byte offset 0 is 28 bytes long, but the file "
                     "ends 14 bytes into it (the capture was cut short; the frames before it were read)"});
  }
  {
    Builder b;
    start(b);
    const std::size_t at = b.enhanced(0, kT0Us, frame, 54);
    b.patch32(at + 4, 32u << 20);
    cases.push_back({"block larger than the limit", b.bytes(), 1, "test.pcapng: frame 2",
                     "the Enhanced Packet Block at byte offset 136 is 33554432 bytes long; sgsim reads packet and "
                     "interface blocks of at most 16 MiB"});
  }
  {
    Builder b;
    start(b);
    const std::size_t at = b.enhanced(0, kT0Us, frame, 54);
    b.patch32(at + 20, 60);
    cases.push_back({"captured length beyond the block", b.bytes(), 1, "test.pcapng: frame 2",
                     "the Enhanced Packet Block at byte offset 136 says it holds 60 captured bytes, but its length of "
                     "88 leaves room for 56"});
  }
  {
    Builder b;
    start(b);
    b.block(6, Bytes(12, 0));
    cases.push_back({"packet block shorter than its fields", b.bytes(), 1, "test.pcapng: frame 2",
                     "the Enhanced Packet Block at byte offset 136 is 24 bytes long, too short for its 32 bytes of "
                     "fixed fields"});
  }
  {
    Builder b;
    b.section(false);
    b.interface(1, 40);
    b.simple(cut(frame, 20), 54);
    cases.push_back({"simple packet holding too little", b.bytes(), 0, "test.pcapng: frame 1",
                     "the Simple Packet Block at byte offset 48 holds 20 bytes of packet data, fewer than the 40 its "
                     "original length (54) cut to its interface's snap length (40) calls for"});
  }
  {
    Builder b;
    b.section(false);
    b.interface(1, 0, {{9, {6, 6}}});
    cases.push_back({"if_tsresol of 2 bytes", b.bytes(), 0, "test.pcapng: frame 1",
                     "the Interface Description Block at byte offset 28 (interface 0 of the section at byte offset 0): "
                     "its if_tsresol option is 2 bytes long, not 1"});
  }
  {
    Builder b;
    b.section(false);
    b.interface(1, 0, {b.tsoffset(1), b.tsoffset(2)});
    cases.push_back({"if_tsoffset twice", b.bytes(), 0, "test.pcapng: frame 1",
                     "the Interface Description Block at byte offset 28 (interface 0 of the section at byte offset 0): "
                     "its if_tsoffset option is given twice"});
  }
  {
    Builder b;
    b.section(false);
    b.interface(1, 0);
    const std::size_t at = b.interface(1, 0, {Builder::text(2, "eth0")});
    b.patch32(at + 16, 2 | (200u << 16));  // if_name, 200 bytes: past the block's end
    cases.push_back({"option past the block", b.bytes(), 0, "test.pcapng: frame 1",
                     "the Interface Description Block at byte offset 48 (interface 1 of the section at byte offset 0): "
                     "its option 2 at byte offset 64 is 200 bytes long and runs past the end of the block"});
  }
  return cases;
}

TEST(PcapngReader, BrokenFilesSayWhatIsWrongWhereAndKeepTheFramesBefore) {
  for (const Broken& c : brokenFiles()) {
    SCOPED_TRACE(c.what);
    const Read r = readBytes(c.file);
    if (c.where.empty()) {
      ASSERT_TRUE(r.openError);
      EXPECT_EQ(r.openError->where, "test.pcapng");
      EXPECT_EQ(r.openError->message, c.message);
      continue;
    }
    ASSERT_FALSE(r.openError) << r.openError->toString();
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->where, c.where);
    EXPECT_EQ(r.error->message, c.message);
    EXPECT_EQ(r.frames.size(), c.framesBefore);
  }
}

// ---- robustness ----

// Every prefix of a file with every block kind: no crash, the frames read are the first frames of the whole
// file, and a prefix that ends between blocks reads without an error.
TEST(PcapngReader, FileCutAtEveryByte) {
  const EveryBlock e = everyBlock();
  const Read whole = readBytes(e.file);
  ASSERT_EQ(whole.frames.size(), 5u);
  test::TempDir dir{"sgsim-pcapng"};
  const std::string path = dir.file("cut.pcapng");
  const std::size_t firstBlock = e.file[4] | e.file[5] << 8;  // the section header's length (little-endian)
  std::size_t clean = 0;
  for (std::size_t n = 0; n <= e.file.size(); ++n) {
    SCOPED_TRACE(n);
    test::writeFile(path, cut(e.file, n));
    const Read r = readPath(path);
    if (r.openError) {
      EXPECT_EQ(r.openError->where, path);
      EXPECT_LT(n, firstBlock) << "only a file cut inside its first section header fails to open";
      continue;
    }
    ASSERT_LE(r.frames.size(), whole.frames.size());
    for (std::size_t i = 0; i < r.frames.size(); ++i) {
      EXPECT_EQ(r.frames[i].tsNs, whole.frames[i].tsNs);
      EXPECT_EQ(r.data[i], whole.data[i]);
    }
    if (r.error) {
      EXPECT_EQ(r.error->where, path + ": frame " + std::to_string(r.frames.size() + 1));
    } else {
      ++clean;
    }
  }
  EXPECT_GE(clean, 14u) << "one clean end per block boundary";
}

// Random damage to a good file (seeded): any outcome but a crash or a read out of bounds (run under ASan), and
// frames numbered 1, 2, 3….
TEST(PcapngReader, RandomDamageNeverCrashes) {
  const EveryBlock e = everyBlock();
  std::mt19937_64 rng(20240501);
  test::TempDir dir{"sgsim-pcapng"};
  const std::string path = dir.file("damaged.pcapng");
  for (int round = 0; round < 3000; ++round) {
    Bytes f = e.file;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const std::size_t at = rng() % f.size();
      f[at] = static_cast<std::uint8_t>(rng() % 3 == 0 ? f[at] ^ (1u << (rng() % 8)) : rng());
    }
    if (rng() % 8 == 0) f.resize(rng() % f.size());
    test::writeFile(path, f);
    const Read r = readPath(path);
    for (std::size_t i = 0; i < r.frames.size(); ++i) ASSERT_EQ(r.frames[i].number, i + 1);
    if (r.error) {
      ASSERT_EQ(r.error->where.rfind(path + ": frame ", 0), 0u);
    }
  }
}

// Random valid files (seeded) read back as their generator wrote them: sections of either byte order,
// interfaces of several link types, snap lengths and timestamp units, packets of every kind between skipped
// blocks.
TEST(PcapngReader, RandomFilesReadBackAsWritten) {
  std::mt19937_64 rng(77);
  const std::uint16_t linkTypes[] = {1, 113, 101, 276, 0, 105, 65000};
  const std::uint8_t resolutions[] = {6, 9, 3, 0, 0x80 | 10, 0x80 | 30};
  test::TempDir dir{"sgsim-pcapng"};
  std::size_t total = 0;
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE(round);
    Builder b;
    struct Iface {
      int dlt;
      std::uint32_t snap;
      std::uint8_t res;
      std::int64_t offset;
    };
    std::vector<Iface> ifaces;
    struct Expected {
      std::int64_t ns;
      int dlt;
      Bytes data;
      std::uint32_t wire;
    };
    std::vector<Expected> expected;
    std::int64_t last = 0;
    bool timed = false;
    const int blocks = 1 + static_cast<int>(rng() % 40);
    for (int k = 0; k < blocks; ++k) {
      const unsigned what = ifaces.empty() || k == 0 ? (k == 0 ? 0u : 1u) : static_cast<unsigned>(rng() % 12);
      if (what == 0 || (what == 11 && rng() % 3 == 0)) {
        b.section(rng() % 2 == 0);
        ifaces.clear();
      } else if (what == 1 || what == 2) {
        const std::uint16_t lt = linkTypes[rng() % std::size(linkTypes)];
        const std::uint32_t snap = rng() % 3 == 0 ? static_cast<std::uint32_t>(20 + rng() % 80) : 0u;
        const std::uint8_t res = resolutions[rng() % std::size(resolutions)];
        const std::int64_t offset = rng() % 2 == 0 ? 0 : static_cast<std::int64_t>(rng() % 2000000000);
        std::vector<pcapng::Option> options;
        if (res != 6 || rng() % 2 == 0) options.push_back(Builder::tsresol(res));
        if (offset != 0) options.push_back(b.tsoffset(offset));
        b.interface(lt, snap, options);
        ifaces.push_back({dltFromLinkType(lt), snap, res, offset});
      } else if (what <= 7) {
        const std::size_t iface = what == 7 ? 0 : rng() % ifaces.size();
        const Iface& i = ifaces[iface];
        Bytes data(rng() % 200);
        for (auto& x : data) x = static_cast<std::uint8_t>(rng());
        const auto wire = static_cast<std::uint32_t>(data.size() + (rng() % 2 == 0 ? 0 : rng() % 100));
        if (what == 7) {  // simple packet: stored = min(wire, snap)
          std::uint32_t stored = wire;
          if (i.snap != 0) stored = std::min(stored, i.snap);
          data.resize(stored);
          for (auto& x : data) x = static_cast<std::uint8_t>(rng());
          b.simple(data, wire);
          expected.push_back({last, i.dlt, data, wire});
          continue;
        }
        const std::uint64_t units = rng() >> (rng() % 64);
        // Expected time, worked out independently of the reader with 128-bit arithmetic.
        Uint128 ns;
        if (i.res & 0x80) {
          ns = (static_cast<Uint128>(units) * 1000000000u) >> (i.res & 0x7f);
        } else {
          Uint128 scale = 1;
          for (int p = 0; p < i.res; ++p) scale *= 10;
          ns = static_cast<Uint128>(units) * 1000000000u / scale;
        }
        std::int64_t t = ns > static_cast<Uint128>(std::numeric_limits<std::int64_t>::max())
                             ? std::numeric_limits<std::int64_t>::max()
                             : static_cast<std::int64_t>(ns);
        if (__builtin_add_overflow(t, i.offset * 1000000000, &t)) t = std::numeric_limits<std::int64_t>::max();
        if (what <= 5) {
          b.enhanced(static_cast<std::uint32_t>(iface), units, data, wire);
        } else {
          if (iface > 0xffff) continue;
          b.obsolete(static_cast<std::uint16_t>(iface), units, data, wire);
        }
        expected.push_back({t, i.dlt, data, wire});
        last = t;
        timed = true;
      } else if (what == 8) {
        b.statistics(static_cast<std::uint32_t>(rng() % ifaces.size()), rng(), rng(), rng());
      } else if (what == 9) {
        b.nameResolution({10, 0, 0, static_cast<std::uint8_t>(rng())}, "host");
      } else {
        b.block(static_cast<std::uint32_t>(0x80000000u | rng()), Bytes(rng() % 64, 7));
      }
    }
    (void)timed;
    const std::string path = dir.file("random.pcapng");
    test::writeFile(path, b.bytes());
    const Read r = readPath(path);
    ASSERT_FALSE(r.openError) << r.openError->toString();
    ASSERT_FALSE(r.error) << r.error->toString();
    ASSERT_EQ(r.frames.size(), expected.size());
    total += expected.size();
    for (std::size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(r.frames[i].number, i + 1);
      EXPECT_EQ(r.frames[i].tsNs, expected[i].ns);
      EXPECT_EQ(r.frames[i].linkType, expected[i].dlt);
      EXPECT_EQ(r.frames[i].wireLen, expected[i].wire);
      EXPECT_EQ(r.data[i], expected[i].data);
    }
  }
  EXPECT_GT(total, 1000u) << "the random files hold frames";
}

// ---- how files reach the reader ----

// A capture handed over as a pipe (`<(zcat x.pcapng.gz)`) cannot be read twice: the bytes read to tell the
// format are handed back, to our reader for pcapng and to libpcap for pcap.
TEST(CaptureReader, PipesOfPcapngAndPcapReadLikeFiles) {
  const EveryBlock e = everyBlock();
  test::TempDir dir{"sgsim-pcapng"};
  // A classic pcap written by the pcap writer, read back from the file and from a pipe.
  const std::string pcapPath = dir.file("a.pcap");
  {
    auto w = PcapWriter::open(pcapPath, 1);
    ASSERT_TRUE(w);
    const Bytes frame = ethernetFrame(4);
    Frame f;
    f.tsNs = kT0Ns;
    f.linkType = 1;
    f.data = frame.data();
    f.capLen = f.wireLen = static_cast<std::uint32_t>(frame.size());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*w)->write(f));
    ASSERT_TRUE((*w)->close());
  }
  std::ifstream in(pcapPath, std::ios::binary);
  const Bytes pcapFile((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const Bytes* file : {&e.file, &pcapFile}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::thread writer([&, fd = fds[1]] {
      std::size_t at = 0;
      while (at < file->size()) {
        const ssize_t n = ::write(fd, file->data() + at, std::min<std::size_t>(file->size() - at, 7000));
        if (n <= 0) break;
        at += static_cast<std::size_t>(n);
      }
      ::close(fd);
    });
    const Read piped = readPath("/dev/fd/" + std::to_string(fds[0]));
    writer.join();
    ::close(fds[0]);
    const Read direct = readBytes(*file);
    ASSERT_FALSE(piped.openError) << piped.openError->toString();
    EXPECT_FALSE(piped.error);
    ASSERT_EQ(piped.frames.size(), direct.frames.size());
    EXPECT_EQ(piped.data, direct.data);
    for (std::size_t i = 0; i < piped.frames.size(); ++i) EXPECT_EQ(piped.frames[i].tsNs, direct.frames[i].tsNs);
  }
}

TEST(CaptureReader, ADirectoryIsNamedAsOne) {
  test::TempDir dir{"sgsim-pcapng"};
  const Read r = readPath(dir.file(""));
  ASSERT_TRUE(r.openError);
  EXPECT_EQ(r.openError->message, "is a directory, not a capture file");
}

// Per-frame link types survive the merge with another file, the read-ahead's batches (with and without copied
// bytes), and the pcap writer, which puts frames of another link type into a sibling file.
TEST(CaptureReader, PerFrameLinkTypesThroughMergeReadAheadAndWriter) {
  const EveryBlock e = everyBlock();
  test::TempDir dir{"sgsim-pcapng"};
  test::writeFile(dir.file("multi.pcapng"), e.file);
  Builder other;
  other.section(false);
  other.interface(1, 0);
  other.enhanced(0, kT0Us + 2, ethernetFrame(100), 54);
  test::writeFile(dir.file("other.pcapng"), other.bytes());
  for (bool thread : {false, true}) {
    for (bool copy : {false, true}) {
      auto merged = MergedCapture::open({dir.file("multi.pcapng"), dir.file("other.pcapng")});
      ASSERT_TRUE(merged);
      ReadAheadOptions o;
      o.thread = thread;
      o.copyBytes = copy;
      o.batchSize = 2;
      auto decode = [](const Frame& f, PacketKey& k, bool) { k = decodeFrame(f.linkType, f.data, f.capLen); };
      ReadAhead<PacketKey, decltype(decode)> ahead(**merged, decode, o);
      std::vector<std::pair<int, int>> seen;  // (fileIndex, linkType)
      std::vector<Frame> frames;
      std::vector<Bytes> bytes;
      for (auto batch = ahead.next(); !batch.empty(); batch = ahead.next()) {
        for (const auto& item : batch) {
          seen.emplace_back(item.frame.fileIndex, item.frame.linkType);
          EXPECT_EQ(item.extra.status, DecodeStatus::Ok) << item.frame.number;
          if (copy) {
            frames.push_back(item.frame);
            bytes.emplace_back(item.frame.data, item.frame.data + item.frame.capLen);
          }
        }
      }
      const std::vector<std::pair<int, int>> want = {{0, 1}, {1, 1}, {0, 113}, {0, 1}, {0, 12}, {0, 12}};
      EXPECT_EQ(seen, want);
      if (!copy) continue;
      // What --write-affected does with them: Ethernet into the file, the others into siblings.
      const std::string out = dir.file("out.pcap");
      auto w = PcapWriter::open(out, frames[0].linkType);
      ASSERT_TRUE(w);
      for (std::size_t i = 0; i < frames.size(); ++i) {
        frames[i].data = bytes[i].data();
        ASSERT_TRUE((*w)->write(frames[i]));
      }
      auto written = (*w)->close();
      ASSERT_TRUE(written) << written.error().toString();
      const std::vector<std::string> files = {out, dir.file("out.LINUX_SLL.pcap"), dir.file("out.RAW.pcap")};
      EXPECT_EQ(written.value(), files);
      const std::size_t counts[] = {3, 1, 2};
      for (std::size_t k = 0; k < files.size(); ++k) EXPECT_EQ(readPath(files[k]).frames.size(), counts[k]);
    }
  }
  auto merged = MergedCapture::open({dir.file("multi.pcapng"), dir.file("other.pcapng")});
  ASSERT_TRUE(merged);
  Frame f;
  while ((*merged)->next(f)) {
  }
  EXPECT_EQ((*merged)->warnings().size(), 2u);
  EXPECT_EQ((*merged)->skippedBlocks().at("Custom Block"), 2u);
}

// ---- Wireshark as the reference ----

bool haveTool(const char* path) { return fs::exists(path); }

// tshark's frame numbers, epoch times (empty for a frame without one), lengths and captured lengths.
struct SharkFrame {
  std::uint64_t number;
  std::string time;
  std::uint32_t len, capLen;
};

std::vector<SharkFrame> tshark(const std::string& path) {
  const std::string command = "/usr/bin/tshark -r '" + path +
                              "' -T fields -e frame.number -e frame.time_epoch -e frame.len -e frame.cap_len "
                              "-e frame.interface_id 2>/dev/null";
  std::vector<SharkFrame> out;
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::stringstream ss(line);
    std::string number, time, len, cap;
    std::getline(ss, number, '\t');
    std::getline(ss, time, '\t');
    std::getline(ss, len, '\t');
    std::getline(ss, cap, '\t');
    out.push_back({std::stoull(number), time, static_cast<std::uint32_t>(std::stoul(len)),
                   static_cast<std::uint32_t>(std::stoul(cap))});
  }
  ::pclose(p);
  return out;
}

std::string epoch(std::int64_t ns) {
  char text[40];
  std::snprintf(text, sizeof text, "%lld.%09lld", static_cast<long long>(ns / 1000000000),
                static_cast<long long>(ns % 1000000000));
  return text;
}

// What sgsim reads agrees with tshark: same frames, times (tshark shows none for a Simple Packet Block), lengths.
void expectSameAsTshark(const std::string& path) {
  SCOPED_TRACE(path);
  const Read r = readPath(path);
  ASSERT_FALSE(r.openError) << r.openError->toString();
  ASSERT_FALSE(r.error) << r.error->toString();
  const auto shark = tshark(path);
  ASSERT_EQ(r.frames.size(), shark.size());
  for (std::size_t i = 0; i < shark.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(r.frames[i].number, shark[i].number);
    if (!shark[i].time.empty()) {
      EXPECT_EQ(epoch(r.frames[i].tsNs), shark[i].time);
    }
    EXPECT_EQ(r.frames[i].wireLen, shark[i].len);
    EXPECT_EQ(r.frames[i].capLen, shark[i].capLen);
  }
}

#define SGSIM_NEED_TOOL(path)                                                            \
  do {                                                                                   \
    if (haveTool(path)) break;                                                           \
    if (::sgsim::test::corpusRequired())                                                 \
      GTEST_FAIL() << path << " not installed (scripts/deps.sh installs it); CI is set"; \
    GTEST_SKIP() << path << " not installed (scripts/deps.sh installs it)";              \
  } while (false)

// Files the project makes with its own builder, with everything Wireshark reads (no custom blocks here: tshark
// numbers those as frames).
TEST(PcapngVsWireshark, BuiltFilesReadAsTsharkReadsThem) {
  SGSIM_NEED_TOOL("/usr/bin/tshark");
  test::TempDir dir{"sgsim-pcapng"};
  Builder b;
  b.section(false, {Builder::text(4, "sgsim test")});
  b.interface(1, 0);
  b.interface(113, 40, {Builder::tsresol(9)});
  b.nameResolution({10, 0, 0, 1}, "web");
  b.enhanced(0, kT0Us + 1, ethernetFrame(1), 54);
  b.enhanced(1, static_cast<std::uint64_t>(kT0Ns) + 2500, cut(sllFrame(2), 40), 44);
  b.statistics(0, kT0Us + 3, 2, 0);
  b.obsolete(0, kT0Us + 3, ethernetFrame(3), 54);
  b.section(true);
  b.interface(101, 0, {Builder::tsresol(0x80 | 20), b.tsoffset(1714554000)});
  b.interface(276, 0, {Builder::tsresol(3), b.tsoffset(-3600)});
  b.enhanced(0, (std::uint64_t{5} << 20) + 12345, rawFrame(4), 28);
  b.simple(rawFrame(5), 28);
  const Bytes cooked2 = test::sll2(0x0800, test::ipv4({}, test::udpHeader(6, 53)));
  b.enhanced(1, 1714557600123, cooked2, static_cast<std::uint32_t>(cooked2.size()));
  test::writeFile(dir.file("built.pcapng"), b.bytes());
  expectSameAsTshark(dir.file("built.pcapng"));
}

// The project's pcapng samples (pcaps/README.md): the multi-interface one made by pcapgen, one converted by editcap
// and one recorded by dumpcap.
TEST(PcapngVsWireshark, ProjectSamplesReadAsTsharkReadsThem) {
  SGSIM_NEED_TOOL("/usr/bin/tshark");
  const char* source = std::getenv("SGSIM_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "SGSIM_SOURCE_DIR is set by meson";
  for (const char* name : {"interfaces_multi.pcapng", "linktypes_ethernet.pcapng", "loopback_http_tshark.pcapng"})
    expectSameAsTshark((fs::path(source) / "pcaps" / name).string());
}

// Files Wireshark's own tools make: mergecap puts the project's single-link-type samples into one pcapng with an
// interface per input (Ethernet, VLAN, Linux cooked v1 and v2, raw IP, BSD loopback; µs and ns), which libpcap
// 1.10 refuses at its second interface.
TEST(PcapngVsWireshark, MergecapFilesOfEveryLinkTypeReadAsTsharkReadsThem) {
  SGSIM_NEED_TOOL("/usr/bin/mergecap");
  SGSIM_NEED_TOOL("/usr/bin/tshark");
  const char* source = std::getenv("SGSIM_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "SGSIM_SOURCE_DIR is set by meson";
  const fs::path pcaps = fs::path(source) / "pcaps";
  test::TempDir dir{"sgsim-pcapng"};
  std::string inputs;
  for (const char* name :
       {"linktypes_ethernet.pcap", "linktypes_sll.pcap", "linktypes_sll2.pcap", "linktypes_raw.pcap",
        "linktypes_null.pcap", "format_nanosec.pcap", "linktypes_ethernet_vlan.pcap", "loopback_http_tshark.pcapng"})
    inputs += " '" + (pcaps / name).string() + "'";
  for (const char* mode : {"", "-a"}) {  // merged in time order, and appended one after the other
    const std::string out = dir.file(std::string("merged") + mode + ".pcapng");
    const std::string command =
        "/usr/bin/mergecap " + std::string(mode) + " -F pcapng -w '" + out + "'" + inputs + " > /dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    expectSameAsTshark(out);
    // Every frame decodes with its own interface's link type: 7 inputs × 26 frames, and 34 from loopback.
    const Read r = readPath(out);
    std::map<int, int> byLink;
    for (std::size_t i = 0; i < r.frames.size(); ++i) {
      ++byLink[r.frames[i].linkType];
      EXPECT_EQ(decodeFrame(r.frames[i].linkType, r.data[i].data(), r.frames[i].capLen).status, DecodeStatus::Ok)
          << "frame " << r.frames[i].number;
    }
    const std::map<int, int> want = {{0, 26}, {1, 26 * 3 + 34}, {12, 26}, {113, 26}, {276, 26}};
    EXPECT_EQ(byLink, want);
  }
  // editcap cuts every frame of one file to 64 bytes: another snap length, same interface set.
  const std::string snapped = dir.file("snapped.pcapng");
  const std::string merged = dir.file("merged.pcapng");
  const std::string command = "/usr/bin/editcap -s 64 '" + merged + "' '" + snapped + "' > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  expectSameAsTshark(snapped);
}

}  // namespace
}  // namespace sgsim
